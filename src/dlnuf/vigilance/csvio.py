"""Suppliers to and from CSV: ``siret,contract,start,end,kinds,name``.

``kinds`` lists the required pieces separated by ``;`` or ``|`` (empty: the
defaults); dates are ISO (``2026-01-31``) or French (``31/01/2026``). A file is
read whole before anything is stored: a bad line fails the import with its line
number, and nothing of the file is kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import date, datetime

from ..errors import DlnufError
from ..identifiers import Siret
from .errors import InvalidPortfolioFile
from .model import Supplier, kinds_named

__all__ = ["COLUMNS", "read_suppliers", "write_suppliers"]

COLUMNS = ("siret", "contract", "start", "end", "kinds", "name")
"""The columns, in the order written (only ``siret`` is required when reading)."""
_SEPARATORS = re.compile(r"[;|]")


def _date(text: str, line: int, column: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidPortfolioFile(
        f"line {line}, column {column}: {text!r} is not a date; write 2026-01-31 or 31/01/2026"
    )


def read_suppliers(text: str) -> list[Supplier]:
    """The suppliers of a CSV text (header line required, comma or semicolon separated)."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or ()]
    if "siret" not in header:
        raise InvalidPortfolioFile(
            "the supplier file has no 'siret' column: its first line must name the columns "
            f"({','.join(COLUMNS)}; only siret is required)"
        )
    suppliers: list[Supplier] = []
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str)}
        if not any(row.values()):
            continue
        try:
            siret = Siret(row.get("siret", ""))
            kinds_text = row.get("kinds", "")
            kinds = kinds_named(
                [k for k in _SEPARATORS.split(kinds_text) if k.strip()] if kinds_text else None
            )
        except DlnufError as exc:
            raise InvalidPortfolioFile(f"line {line}: {exc}") from None
        start = _date(row.get("start", ""), line, "start")
        end = _date(row.get("end", ""), line, "end")
        if start and end and end < start:
            raise InvalidPortfolioFile(f"line {line}: the contract ends ({end}) before it "
                                       f"starts ({start})")
        suppliers.append(Supplier(siret, row.get("contract", ""), start, end, kinds,
                                  row.get("name", "")))
    return suppliers


def write_suppliers(suppliers: Iterable[Supplier]) -> str:
    """The CSV text of ``suppliers`` (what :func:`read_suppliers` reads back)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for s in suppliers:
        writer.writerow([
            str(s.siret), s.contract, s.start.isoformat() if s.start else "",
            s.end.isoformat() if s.end else "", ";".join(s.kinds), s.name,
        ])
    return out.getvalue()
