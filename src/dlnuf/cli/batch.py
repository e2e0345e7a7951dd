"""``dlnuf batch INPUT -o OUTPUT``: many SIRETs from a file, answers to a file, resumable.

Input: a CSV file or one SIRET per line, a path or ``-`` for standard input (see
:mod:`dlnuf.cli.batch_input`). Every non-blank line after the header gets
exactly one output row, bad SIRETs included: rows in = rows out.

Output: CSV or JSON Lines (``.jsonl``/``.ndjson``/``.json``, or ``--format``), a
path or ``-`` for standard output, one row per input line with the line's
``index`` (0 for the first line after the header), in input order (a bounded
reorder window; ``--completion-order`` writes each row as soon as it is
answered). Rows are flushed as they are written.

Resuming: beside OUTPUT, OUTPUT.dlnuf.json keeps a fingerprint of the input (its
SHA-256) and the kinds. A re-run with the same input and output skips the lines
already answered and retries those that failed for a passing reason (upstream
down, quota); a row cut by a crash is dropped; the file ends sorted in input
order. An output written for another input (or not by dlnuf batch) is refused:
choose another output, or pass --overwrite to start again.

Progress: on a terminal, a bar with the total and the time left on stderr (needs
rich; without it, no bar); --no-progress hides it, --progress forces it.

Exit status: 0 when every line has a final answer (a fact, or an error such as
NotFound or InvalidSiret that a retry would not change), 3 when some lines failed
for a passing reason (run the command again later), 2 on bad arguments or input,
4 on a configuration error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .. import errors as errors_module
from .. import facts as facts_module
from ..batch import BatchResult, record_columns
from ..facts.base import Fact
from ..facts.identity import Identity
from ._common import add_common, documented_parser, make_client
from .batch_input import STDIO, InputFile, open_input, read_sirets
from .exits import OK, TRANSIENT, UsageError

__all__ = ["SIDECAR_SUFFIX", "parse_kinds", "read_sirets", "register"]

SIDECAR_SUFFIX = ".dlnuf.json"
"""OUTPUT + this suffix: the fingerprint of the input OUTPUT was written for."""
_IDENTITY = ("sha256", "kinds", "format")
"""What must match to resume (the input's name may be spelt another way)."""

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
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
            raise UsageError(
                f"unknown kind {name!r}; known kinds: "
                + ", ".join(sorted(k.__name__ for k in known.values()))
            )
        kinds.append(known[name.lower()])
    if not kinds:
        raise UsageError("--kinds names no kind of fact")
    return tuple(dict.fromkeys(kinds))


# -- output --------------------------------------------------------------------------------


class _Output:
    """The output file: what earlier runs wrote, the input fingerprint kept beside it, and
    appending new rows."""

    def __init__(
        self, name: str, fmt: str, kinds: tuple[type[Fact], ...], source: InputFile
    ) -> None:
        self.stdout = name == STDIO
        self.path = Path(name)
        self.fmt = fmt
        self.columns = record_columns(kinds)
        self.done: set[int] = set()
        self.retried = 0
        self._stamp = {
            "input": source.name,
            "sha256": source.fingerprint,
            "kinds": [k.__name__ for k in kinds],
            "format": fmt,
        }
        self._source = source
        self.sidecar = self.path.with_name(self.path.name + SIDECAR_SUFFIX)

    def prepare(self, overwrite: bool) -> None:
        """Start afresh (``overwrite``), resume a run on the same input, or refuse."""
        if self.stdout:
            return
        written = self.path.exists() and self.path.stat().st_size > 0
        if overwrite or not written:
            self._start()
            return
        if self._source.fingerprint is None:
            raise UsageError(
                f"{self.path} already holds rows and standard input cannot be checked to be "
                "the same input: pass --overwrite to start again, or choose another output"
            )
        kept = self._kept_stamp() or {}
        if any(kept.get(key) != self._stamp[key] for key in _IDENTITY):
            raise UsageError(
                f"{self.path} was not written by dlnuf batch for this input "
                f"({self._source.name}) with these --kinds: choose another output file, or "
                "pass --overwrite to start again"
            )
        self._resume()

    def _kept_stamp(self) -> dict[str, Any] | None:
        try:
            kept = json.loads(self.sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return kept if isinstance(kept, dict) else None

    def _start(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")
            _write_atomically(self.sidecar, json.dumps(self._stamp, indent=2) + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _resume(self) -> None:
        """Read what is already written: final rows are done, rows with a transient error
        are dropped (they will be redone), a row cut by a crash is dropped."""
        _drop_partial_line(self.path)
        with self.path.open(encoding="utf-8", newline="") as handle:
            if self.fmt == "csv" and next(csv.reader([handle.readline()]), []) != self.columns:
                raise UsageError(
                    f"{self.path} was not written by dlnuf batch with these --kinds "
                    "(other columns): choose another output file, or pass --overwrite"
                )
            for line in handle:
                index, transient = self._read_row(line)
                if transient:
                    self.retried += 1
                else:
                    self.done.add(index)
        if self.retried:
            self._rewrite(keep=lambda line: not self._read_row(line)[1])

    def _rewrite(self, keep: Callable[[str], bool] = bool, sort: bool = False) -> None:
        """Rewrite the file with the rows ``keep`` accepts, sorted by index with ``sort``
        (atomically: a copy, then a rename)."""
        with self.path.open(encoding="utf-8", newline="") as old:
            header = old.readline() if self.fmt == "csv" else ""
            rows = [line for line in old if keep(line)]
        if sort:
            rows.sort(key=lambda line: self._read_row(line)[0])
        _write_atomically(self.path, header + "".join(rows))

    def finish(self) -> None:
        """After a resumed run: put the rows back in input order."""
        if self.stdout or not (self.done or self.retried):
            return
        with self.path.open(encoding="utf-8", newline="") as handle:
            if self.fmt == "csv":
                handle.readline()
            indexes = [self._read_row(line)[0] for line in handle]
        if indexes != sorted(indexes):
            self._rewrite(sort=True)

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
            raise UsageError(
                f"{self.path} holds a line dlnuf batch did not write: choose another output "
                "file, or pass --overwrite"
            ) from None

    @contextmanager
    def open(self, out: TextIO) -> Iterator[TextIO]:
        """The stream rows go to (the CSV header written when it is new)."""
        if self.stdout:
            if self.fmt == "csv":
                csv.writer(out, lineterminator="\n").writerow(self.columns)
            yield out
            return
        try:
            handle = self.path.open("a", encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        with handle:
            if self.fmt == "csv" and handle.tell() == 0:
                csv.writer(handle, lineterminator="\n").writerow(self.columns)
            yield handle

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


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".dlnuf-tmp")
    with temp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


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


def _show_progress(choice: bool | None) -> bool:
    """``--progress``/``--no-progress``, else a bar when stderr is a terminal; never
    without rich (the run goes on without a bar)."""
    if not (sys.stderr.isatty() if choice is None else choice):
        return False
    try:
        import rich.progress  # noqa: F401
    except ImportError:
        return False
    return True


def cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf batch INPUT -o OUTPUT``: look up every SIRET of INPUT, resumably."""
    kinds = parse_kinds(args.kinds)
    source = open_input(args.input, args.column)
    output = _Output(args.output, _format(args), kinds, source)
    output.prepare(args.overwrite)
    counts: Counter[str] = Counter()
    lines = ok = transient = 0
    values: Iterable[str] = source if source.count is not None else iter(source)
    with make_client(args) as client, output.open(out) as handle:
        results = client.many(
            values,
            kinds,
            concurrency=args.concurrency,
            progress=_show_progress(args.progress),
            ordered=not args.completion_order,
            skip=output.done,
        )
        for result in results:
            handle.write(output.line(result))
            handle.flush()
            lines += 1
            ok += result.ok
            transient += result.transient
            counts.update(type(e).__name__ for e in result.errors.values())
    output.finish()
    _summary(lines, ok, counts, transient, len(output.done), output.retried)
    return TRANSIENT if transient else OK


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
            "quota): run the same command again later to retry just those",
            file=sys.stderr,
        )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub: Any) -> None:
    """Add ``batch`` to the subcommands."""
    batch = documented_parser(
        sub, "batch", "look up every SIRET of a file (CSV or one per line), resumably", __doc__
    )
    add_common(batch)
    batch.add_argument("input", help="CSV file, or one SIRET per line; - for standard input")
    batch.add_argument(
        "-o", "--output", required=True,
        help="output file (.csv or .jsonl); - for standard output",
    )
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
    batch.add_argument(
        "--completion-order", action="store_true",
        help="write each row as soon as it is answered (default: input order)",
    )
    batch.add_argument(
        "--overwrite", action="store_true",
        help="start again: empty OUTPUT instead of resuming it",
    )
    batch.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="progress bar on stderr (default: on a terminal, when rich is installed)",
    )
    batch.set_defaults(func=cmd_batch)
