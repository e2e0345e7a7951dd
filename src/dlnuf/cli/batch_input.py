"""The input of ``dlnuf batch``: one value per physical line, never one more, never one less.

A CSV file (comma, semicolon, tab or | separated, with or without a header,
UTF-8 with or without BOM, any line ends) or one SIRET per line, from a file or
standard input (``-``). Each physical line is split on its own: a stray quote
(``C;"31931807700017``) cannot swallow the lines after it, a line separated
differently from the first one is split on its own separator, a field of any
size is read. Blank lines are skipped; every other line after the header gives
exactly one value, so that output row ``index`` *n* is the *n*-th such line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .exits import UsageError

__all__ = ["STDIO", "InputFile", "open_input", "read_sirets"]

STDIO = "-"
"""The file name that means standard input (or output)."""

_DELIMITERS = (",", ";", "\t", "|")
_LONGEST_CELL = 64
"""A cell longer than this is no SIRET: it is cut (and so reported invalid) at this size."""


@dataclass
class _Layout:
    """How the lines are split: the separator, the SIRET column, whether line 1 is a header."""

    delimiter: str
    column: int
    header: bool


class InputFile:
    """An input opened for ``dlnuf batch``: its lines' values, lazily, and for a real file
    its fingerprint and its number of values (known before the run starts)."""

    def __init__(self, name: str, column: str | None) -> None:
        self.name = name
        self._column = column
        self.fingerprint: str | None = None
        """SHA-256 of the file's bytes (``None`` for standard input)."""
        self.count: int | None = None
        """How many values the file gives (``None`` for standard input)."""
        self._stdin = name == STDIO
        if not self._stdin:
            self._survey()

    def _open(self) -> IO[str]:
        if self._stdin:
            return io.TextIOWrapper(
                sys.stdin.buffer, encoding="utf-8-sig", errors="replace", newline=""
            )
        try:
            return Path(self.name).open(encoding="utf-8-sig", errors="replace", newline="")
        except OSError as exc:
            raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None

    def _survey(self) -> None:
        """Check the file now (missing file or column: an error before any output), and
        count its values and fingerprint its bytes in one pass."""
        digest = hashlib.sha256()
        try:
            with Path(self.name).open("rb") as raw:
                while chunk := raw.read(1 << 20):
                    digest.update(chunk)
        except OSError as exc:
            raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None
        self.fingerprint = digest.hexdigest()
        self.count = sum(1 for _ in self)

    def __len__(self) -> int:
        return self.count or 0

    def __iter__(self) -> Iterator[str]:
        handle = self._open()
        try:
            lines = _physical_lines(handle)
            layout: _Layout | None = None
            for number, line in lines:
                if layout is None:
                    layout = self._layout(line, number)
                    if layout.header:
                        continue
                yield _cell(_split(line, layout.delimiter), layout.column)
        finally:
            if not self._stdin:
                handle.close()

    def _layout(self, first: str, number: int) -> _Layout:
        counts = {d: first.count(d) for d in _DELIMITERS}
        delimiter = max(_DELIMITERS, key=counts.__getitem__)
        if not counts[delimiter]:
            delimiter = ","
        head = _split(first, delimiter)
        column, header = _siret_column(head, self._column, f"{self.name}, line {number}")
        return _Layout(delimiter, column, header)


def open_input(name: str, column: str | None = None) -> InputFile:
    """The input ``name`` (a path, or ``-`` for standard input), checked now."""
    return InputFile(name, column)


def read_sirets(path: Path | str, column: str | None = None) -> Iterator[str]:
    """The SIRET of each non-blank line of ``path`` (a CSV or one SIRET per line).

    A missing file or column raises :class:`~dlnuf.ConfigurationError` at once; the
    lines are read lazily. Bytes that are not UTF-8 (a CSV saved in Windows-1252) are
    replaced: SIRETs are digits.
    """
    return iter(open_input(str(path), column))


def _physical_lines(handle: IO[str]) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every non-blank line: ``\\n``, ``\\r\\n`` and ``\\r`` end
    a line; a BOM anywhere (files pasted together) is dropped."""
    for number, line in enumerate(handle, start=1):
        text = line.rstrip("\r\n").replace("\ufeff", "")
        if text.strip():
            yield number, text


def _split(line: str, delimiter: str) -> list[str]:
    """The cells of one line, split on its own: quotes honoured when they pair up."""
    if delimiter not in line:
        present = [d for d in _DELIMITERS if d in line]
        if present:  # a line separated differently from the first one
            delimiter = max(present, key=line.count)
    if '"' not in line:
        return line.split(delimiter)
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error:  # an unpaired quote, a huge quoted field: split, drop the quotes
        return [cell.strip().strip('"') for cell in line.split(delimiter)]


def _siret_column(head: list[str], column: str | None, where: str) -> tuple[int, bool]:
    """Which column holds the SIRET, and whether ``head`` is a header row."""
    names = [c.strip().lower() for c in head]
    if column is not None:
        if column.strip().lower() not in names:
            raise UsageError(
                f"{where} has no column {column!r}; it has: "
                + ", ".join(repr(c.strip()) for c in head)
            )
        return names.index(column.strip().lower()), True
    if "siret" in names:
        return names.index("siret"), True
    if not any(ch.isdigit() for cell in head for ch in cell):
        if len(head) == 1:
            return 0, True
        raise UsageError(
            f"{where} has several columns and none is named 'siret': say which with --column"
        )
    for i, cell in enumerate(head):
        if sum(ch.isdigit() for ch in cell) >= 9:
            return i, False
    return 0, False


def _cell(row: list[str], index: int) -> str:
    value = row[index].strip() if index < len(row) else ""
    return value if len(value) <= _LONGEST_CELL else value[:_LONGEST_CELL] + "…"
