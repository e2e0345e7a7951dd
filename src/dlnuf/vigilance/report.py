"""The change report as JSON, CSV and a readable HTML page (every value escaped)."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Sequence

from .model import Change, DuePiece

__all__ = ["changes_csv", "changes_html", "changes_json"]

_LABELS = {
    "establishment_closed": "Establishment closed",
    "company_closed": "Company closed",
    "reopened": "Establishment reopened",
    "company_reopened": "Company reopened",
    "legal_form": "Legal form changed",
    "address": "Address changed",
    "name": "Name changed",
    "vat_number": "VAT number changed",
    "attestation_refused": "Attestation refused",
    "no_longer_delivered": "Attestation no longer delivered",
    "delivered_again": "Attestation delivered again",
}
_COLUMNS = ("subject", "what", "old", "new", "severity", "detected_at", "run_id")


def label(what: str) -> str:
    """The change in words."""
    return _LABELS.get(what, what.replace("_", " ").capitalize())


def changes_json(changes: Sequence[Change], due: Sequence[DuePiece] = ()) -> str:
    """``{"changes": [...], "due": [...]}`` as indented JSON."""
    return json.dumps(
        {"changes": [c.as_dict() for c in changes], "due": [d.as_dict() for d in due]},
        ensure_ascii=False, indent=2,
    )


def changes_csv(changes: Sequence[Change]) -> str:
    """One CSV line per change."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for c in changes:
        row = c.as_dict()
        writer.writerow(["" if row[k] is None else row[k] for k in _COLUMNS])
    return out.getvalue()


def changes_html(changes: Sequence[Change], due: Sequence[DuePiece] = (),
                 title: str = "Supplier vigilance") -> str:
    """A standalone HTML page: the changes (alerts first), then the pieces due."""
    e = html.escape
    ordered = sorted(changes, key=lambda c: (c.severity != "alert", c.subject, c.id))
    rows = "".join(
        f"<tr class='{e(c.severity)}'><td>{e(c.subject)}</td><td>{e(label(c.what))}</td>"
        f"<td>{e(c.old or '')}</td><td>{e(c.new or '')}</td>"
        f"<td>{e(c.detected_at.strftime('%Y-%m-%d %H:%M'))}</td></tr>"
        for c in ordered
    ) or "<tr><td colspan='5'>No change since the previous run.</td></tr>"
    due_rows = "".join(
        f"<tr><td>{e(str(d.supplier.siret))}</td><td>{e(d.supplier.contract)}</td>"
        f"<td>{e(d.kind)}</td><td>{e(d.detail)}</td></tr>"
        for d in due
    ) or "<tr><td colspan='4'>Nothing due.</td></tr>"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:left}tr.alert td:nth-child(2){color:#b00;"
        "font-weight:bold}</style></head><body>"
        f"<h1>{e(title)}</h1><h2>Changes ({len(changes)})</h2><table><tr><th>SIRET / SIREN"
        "</th><th>Change</th><th>Before</th><th>Now</th><th>Detected</th></tr>"
        f"{rows}</table><h2>Pieces due ({len(due)})</h2><table><tr><th>SIRET</th>"
        f"<th>Contract</th><th>Piece</th><th>Why</th></tr>{due_rows}</table></body></html>\n"
    )
