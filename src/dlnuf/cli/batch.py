"""``dlnuf batch INPUT -o OUTPUT``: many SIRETs from a file, answers to a file, resumable.

Input: a CSV file (comma, semicolon, tab or | separated, with or without a header,
UTF-8 with or without BOM, any line ends) or one SIRET per line. The SIRET column is
the one named by --column, else the one named siret, else the only column, else the
first whose first value has digits. Blank lines are skipped; every other line gets
one output row, bad SIRETs included.

Output: CSV or JSON Lines (``.jsonl``/``.ndjson``/``.json``, or ``--format``), one
row per input line, written (and flushed) as answers arrive, with the line's
``index``. A re-run with the same input and output skips the lines already answered
and retries those that failed for a passing reason (upstream down, quota): their
rows are dropped first, then appended again. A row cut by a crash is dropped.

Exit status: 0 when every line has a final answer (a fact, or an error such as
``NotFound`` or ``InvalidSiret`` that a retry would not change), 1 when some lines
failed for a passing reason (run the command again), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TextIO

from .. import errors as errors_module
from .. import facts as facts_module
from ..batch import BatchResult, record_columns
from ..errors import ConfigurationError
from ..facts.base import Fact
from ..facts.identity import Identity
from ._common import add_common, make_client

__all__ = ["parse_kinds", "read_sirets", "register"]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_DELIMITERS = (",", ";", "\t", "|")
_TRANSIENT = frozenset(
    name
    for name in errors_module.__all__
    if getattr(getattr(errors_module, name), "transient", False)
)


def parse_kinds(text: str) -> tuple[type[Fact], ...]:
    """``"Identity,TaxCertificate"`` to the fact classes (case-insensitive)."""
    known = {
        name.lower(): obj
        for name in facts_module.__all__
        if isinstance(obj := getattr(facts_module, name), type)
        and issubclass(obj, Fact)
        and obj is not Fact
    }
    kinds: list[type[Fact]] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        if name.lower() not in known:
            raise ConfigurationError(
                f"unknown kind {name!r}; known kinds: "
                + ", ".join(sorted(k.__name__ for k in known.values()))
            )
        kinds.append(known[name.lower()])
    if not kinds:
        raise ConfigurationError("--kinds names no kind of fact")
    return tuple(dict.fromkeys(kinds))


# -- input ---------------------------------------------------------------------------------


def read_sirets(path: Path, column: str | None = None) -> Iterator[str]:
    """The SIRET of each non-blank line of ``path`` (a CSV or one SIRET per line).

    The file is opened and its first line read now (a missing file or column raises
    :class:`ConfigurationError` at once); the lines are read lazily. Bytes that are not
    UTF-8 (a CSV saved in Windows-1252) are replaced: SIRETs are digits.
    """
    try:
        handle = path.open(encoding="utf-8-sig", errors="replace", newline="")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        sample = handle.read(65536)
        handle.seek(0)
        first = next((line for line in sample.splitlines() if line.strip()), "")
        delimiter = max(_DELIMITERS, key=first.count)
        reader = csv.reader(handle, delimiter=delimiter if delimiter in first else ",")
        rows = (row for row in reader if any(cell.strip() for cell in row))
        head = next(rows, None)
        index, is_header = _siret_column(head, column, path) if head else (0, True)
    except BaseException:
        handle.close()
        raise
    return _values(handle, rows, head if head and not is_header else None, index)


def _values(
    handle: IO[str], rows: Iterator[list[str]], first: list[str] | None, index: int
) -> Iterator[str]:
    with handle:
        if first is not None:
            yield _cell(first, index)
        for row in rows:
            yield _cell(row, index)


def _siret_column(head: list[str], column: str | None, path: Path) -> tuple[int, bool]:
    """Which column holds the SIRET, and whether ``head`` is a header row."""
    names = [c.strip().lower() for c in head]
    if column is not None:
        if column.strip().lower() not in names:
            raise ConfigurationError(
                f"{path} has no column {column!r}; its first line has: "
                + ", ".join(repr(c.strip()) for c in head)
            )
        return names.index(column.strip().lower()), True
    if "siret" in names:
        return names.index("siret"), True
    if not any(ch.isdigit() for cell in head for ch in cell):
        if len(head) == 1:
            return 0, True
        raise ConfigurationError(
            f"{path} has several columns and none is named 'siret': say which with --column"
        )
    for i, cell in enumerate(head):
        if sum(ch.isdigit() for ch in cell) >= 9:
            return i, False
    return 0, False


def _cell(row: list[str], index: int) -> str:
    return row[index].strip() if index < len(row) else ""


# -- output --------------------------------------------------------------------------------


class _Output:
    """The output file: what earlier runs wrote, and appending new rows."""

    def __init__(self, path: Path, fmt: str, kinds: tuple[type[Fact], ...]) -> None:
        self.path = path
        self.fmt = fmt
        self.columns = record_columns(kinds)
        self.done: set[int] = set()
        self.retried = 0

    def resume(self) -> None:
        """Read what is already written: final rows are done, rows with a transient error
        are dropped (they will be redone), a row cut by a crash is dropped."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        _drop_partial_line(self.path)
        with self.path.open(encoding="utf-8", newline="") as handle:
            if self.fmt == "csv" and next(csv.reader([handle.readline()]), []) != self.columns:
                raise ConfigurationError(
                    f"{self.path} was not written by dlnuf batch with these --kinds "
                    "(other columns): choose another output file, or remove it"
                )
            for line in handle:
                index, transient = self._read_row(line)
                if transient:
                    self.retried += 1
                else:
                    self.done.add(index)
        if self.retried:
            self._drop_transient_rows()

    def _drop_transient_rows(self) -> None:
        """Rewrite the file without its transient rows (atomically: a copy, then a rename)."""
        temp = self.path.with_name(self.path.name + ".dlnuf-tmp")
        with self.path.open(encoding="utf-8", newline="") as old, temp.open(
            "w", encoding="utf-8", newline=""
        ) as new:
            if self.fmt == "csv":
                new.write(old.readline())
            new.writelines(line for line in old if not self._read_row(line)[1])
            new.flush()
            os.fsync(new.fileno())
        os.replace(temp, self.path)

    def _read_row(self, line: str) -> tuple[int, bool]:
        try:
            if self.fmt == "jsonl":
                row = json.loads(line)
                errs = row.get("errors") or {}
                return int(row["index"]), any(e.get("transient") for e in errs.values())
            cells = next(csv.reader([line]))
            record = dict(zip(self.columns, cells, strict=False))
            types = (v for k, v in record.items() if k.endswith("error_type"))
            return int(record["index"]), any(t in _TRANSIENT for t in types)
        except (ValueError, KeyError, TypeError, AttributeError, StopIteration):
            raise ConfigurationError(
                f"{self.path} holds a line dlnuf batch did not write: choose another output "
                "file, or remove it"
            ) from None

    def open(self) -> IO[str]:
        """The file, opened for appending (the CSV header written when it is new)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a", encoding="utf-8", newline="")
        except OSError as exc:
            raise ConfigurationError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        if self.fmt == "csv" and handle.tell() == 0:
            csv.writer(handle, lineterminator="\n").writerow(self.columns)
        return handle

    def line(self, result: BatchResult) -> str:
        """One output line for ``result`` (newline included)."""
        if self.fmt == "jsonl":
            return json.dumps(result.to_json(), ensure_ascii=False) + "\n"
        record = result.to_record()
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            _csv_value(record.get(c)) for c in self.columns
        )
        return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return " ".join(str(value).splitlines())  # one row is always one line


def _drop_partial_line(path: Path) -> None:
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        end = size
        while end > 0:
            step = min(65536, end)
            handle.seek(end - step)
            chunk = handle.read(step)
            found = chunk.rfind(b"\n")
            if found != -1:
                end = end - step + found + 1
                break
            end -= step
        if end != size:
            handle.truncate(end)


# -- the command ---------------------------------------------------------------------------


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    return "jsonl" if Path(args.output).suffix.lower() in _JSONL_SUFFIXES else "csv"


def cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf batch INPUT -o OUTPUT``: look up every SIRET of INPUT, resumably."""
    kinds = parse_kinds(args.kinds)
    values = read_sirets(Path(args.input), args.column)
    output = _Output(Path(args.output), _format(args), kinds)
    output.resume()
    counts: Counter[str] = Counter()
    lines = ok = transient = 0
    with make_client(args) as client:
        results = client.many(
            values,
            kinds,
            concurrency=args.concurrency,
            progress=args.progress,
            skip=output.done,
        )
        handle = output.open()
        with handle:
            for result in results:
                handle.write(output.line(result))
                handle.flush()
                lines += 1
                ok += result.ok
                transient += result.transient
                counts.update(type(e).__name__ for e in result.errors.values())
    _summary(lines, ok, counts, transient, len(output.done), output.retried)
    return 1 if transient else 0


def _summary(
    lines: int, ok: int, counts: Counter[str], transient: int, skipped: int, retried: int
) -> None:
    done = f" ({skipped} already done" + (f", {retried} retried" if retried else "") + ")"
    text = f"dlnuf batch: {lines} lines answered{done if skipped or retried else ''}: {ok} ok"
    if counts:
        text += "; errors: " + ", ".join(f"{name} {n}" for name, n in counts.most_common())
    print(text, file=sys.stderr)
    if transient:
        print(
            f"dlnuf batch: {transient} lines failed for a passing reason (upstream down or "
            "quota): run the same command again to retry just those",
            file=sys.stderr,
        )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub: Any) -> None:
    """Add ``batch`` to the subcommands."""
    batch = sub.add_parser(
        "batch",
        help="look up every SIRET of a file (CSV or one per line), resumably",
        description=(__doc__ or "").split("\n\n", 1)[-1].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(batch)
    batch.add_argument("input", help="CSV file, or one SIRET per line")
    batch.add_argument("-o", "--output", required=True, help="output file (.csv or .jsonl)")
    batch.add_argument(
        "--kinds",
        default=Identity.__name__,
        help="kinds of facts, comma-separated (default: Identity)",
    )
    batch.add_argument(
        "--column", help="name of the SIRET column (default: 'siret', or the only one)"
    )
    batch.add_argument(
        "--format", choices=["csv", "jsonl"], help="output format (default: by extension)"
    )
    batch.add_argument(
        "--concurrency", type=_positive, default=8, help="lookups at once (default: 8)"
    )
    batch.add_argument("--progress", action="store_true", help="show a progress bar (needs rich)")
    batch.set_defaults(func=cmd_batch)

