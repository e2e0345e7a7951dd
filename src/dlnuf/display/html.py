"""Notebook HTML (``_repr_html_``) of facts, dossiers, drafts and batch results.

Self-contained: inline styles only, no script, no stylesheet, image or font to load;
every text from a fact or a user is escaped. A withheld (non-diffusible) value is
shown as withheld, never as a value; a draft shows its missing fields highlighted
with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..facts.base import Fact, Provenance
from ..facts.evidence import Document
from ..facts.identity import Address, Identity
from ..forms.reasons import WITHHELD
from ..forms.specs import field_specs
from .summary import summarise, validity_text

if TYPE_CHECKING:
    from ..batch import BatchResult
    from ..dossier import Dossier
    from ..forms.draft import Draft

__all__ = ["batch_results_html", "dossier_html", "draft_html", "fact_html"]

_BOX = "font-family:sans-serif;font-size:13px;border:1px solid #ccc;border-radius:4px;" \
       "padding:6px 10px;margin:4px 0;max-width:60em"
_TABLE = "border-collapse:collapse;font-size:13px"
_TD = "text-align:left;vertical-align:top;padding:2px 8px;border-bottom:1px solid #eee"
_TH = _TD + ";font-weight:bold;white-space:nowrap"
_MUTED = "color:#666;font-size:12px"
_WITHHELD = '<em class="dlnuf-withheld" style="color:#8a6d3b">withheld (not diffusible)</em>'
_MISSING = "background:#fff3cd"
_STATE = {True: "color:#1a7f37", False: "color:#b42318"}


def _text(value: Any) -> str:
    """A value as escaped text: dates ISO, models by their main text, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return escape(f"{value:%Y-%m-%d %H:%M} UTC")
    if isinstance(value, date):
        return escape(value.isoformat())
    if isinstance(value, Document):
        return escape(f"document {value.filename} ({value.media_type})")
    if isinstance(value, Address):
        return escape(value.one_line)
    if isinstance(value, BaseModel):
        name = getattr(value, "name", None) or getattr(value, "label", None)
        if name:
            return escape(str(name))
        fields = value.model_dump(exclude_none=True)
        return escape(", ".join(f"{k} {v}" for k, v in fields.items())) or "—"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else list(value)
        return "; ".join(_text(v) for v in items) or "—"
    if isinstance(value, dict):
        return escape(", ".join(f"{k}: {v}" for k, v in value.items())) or "—"
    return escape(str(value))


def _rows(rows: Iterable[tuple[str, str]], style: Mapping[int, str] | None = None) -> str:
    """A two-column table; ``rows`` hold an escaped label and escaped HTML."""
    out = []
    for number, (label, cell) in enumerate(rows):
        extra = f' style="{style[number]}"' if style and number in style else ""
        out.append(f'<tr{extra}><th style="{_TH}">{label}</th><td style="{_TD}">{cell}</td></tr>')
    return f'<table style="{_TABLE}">{"".join(out)}</table>'


def _grid(header: Sequence[str], rows: Iterable[Sequence[str]],
          highlight: Iterable[bool] = (), mark_class: str = "dlnuf-missing") -> str:
    """A table with a header row; cells are escaped HTML already; highlighted rows get
    ``mark_class``."""
    marks = list(highlight)
    head = "".join(f'<th style="{_TH}">{escape(h)}</th>' for h in header)
    body = []
    for number, row in enumerate(rows):
        mark = number < len(marks) and marks[number]
        attrs = f' class="{mark_class}" style="{_MISSING}"' if mark else ""
        body.append(f"<tr{attrs}>" + "".join(f'<td style="{_TD}">{c}</td>' for c in row) + "</tr>")
    return (f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _state(text: str | None, good: bool | None) -> str:
    if text is None:
        return "—"
    colour = _STATE.get(good) if good is not None else None
    return f'<span style="{colour}">{escape(text)}</span>' if colour else escape(text)


def _provenance(prov: Provenance) -> str:
    parts = [f"source <b>{escape(prov.source)}</b> <code>{escape(prov.endpoint)}</code>",
             f"fetched {_text(prov.fetched_at)}"]
    if prov.updated_at:
        parts.append(f"updated upstream {_text(prov.updated_at)}")
    if prov.expires_at:
        parts.append(f"fresh until {_text(prov.expires_at)}")
    if prov.from_cache:
        parts.append("from the cache, stale" if prov.stale else "from the cache")
    if not prov.public:
        parts.append("protected: not for an anonymous form")
    return f'<div style="{_MUTED}">{" · ".join(parts)}</div>'


def _good(status: str | None) -> bool | None:
    if status is None:
        return None
    return status in ("active", "delivered", "compliant")


def _value(fact: Fact, field: str) -> str:
    value = getattr(fact, field, None)
    if fact.is_withheld(field) or (
        isinstance(value, BaseModel) and any(w.startswith(field + ".") for w in fact.withheld)
    ):
        shown = _text(value) if isinstance(value, Address) and value.one_line else ""
        return f"{shown} {_WITHHELD}".strip() if shown else _WITHHELD
    return _text(value)


_IDENTITY_ROWS = (
    ("trade_name", "Trade name"),
    ("sigle", "Sigle"),
    ("legal_form_label", "Legal form"),
    ("naf_code", "Activity (NAF)"),
    ("company_category", "Category"),
    ("headcount_bracket_label", "Headcount"),
    ("creation_date", "Created"),
    ("address", "Address"),
    ("is_head_office", "Head office"),
    ("diffusion", "Diffusion"),
    ("redirected_from", "Asked as"),
)


def _identity_html(fact: Identity) -> str:
    s = summarise(fact)
    name = _WITHHELD if fact.name is None and fact.is_withheld("legal_name") else _text(s.title)
    rows = [("SIRET", escape(fact.siret.formatted)),
            ("Status", _state(s.status, _good(s.status)))]
    for field, label in _IDENTITY_ROWS:
        value = getattr(fact, field)
        if value is None and not fact.is_withheld(field):
            continue
        cell = _value(fact, field)
        if field == "naf_code" and fact.naf_label:
            cell += f" {escape(fact.naf_label)}"
        if field == "legal_form_label" and fact.legal_form_code:
            cell += f" ({escape(fact.legal_form_code)})"
        rows.append((escape(label), cell))
    return (
        f'<div class="dlnuf-identity" style="{_BOX}"><div style="font-size:15px">'
        f"<b>{name}</b> <span style=\"{_MUTED}\">Identity</span></div>"
        f"{_rows(rows)}{_provenance(fact.provenance)}</div>"
    )


def fact_html(fact: Fact) -> str:
    """A fact as a card: an identity card for :class:`Identity`, else its headline
    (status, validity) and its fields."""
    if isinstance(fact, Identity):
        return _identity_html(fact)
    s = summarise(fact)
    rows: list[tuple[str, str]] = []
    if s.status:
        rows.append(("Status", _state(s.status, _good(s.status))))
    validity = validity_text(s.valid_from, s.valid_until)
    if validity:
        rows.append(("Validity", escape(validity)))
    for field in type(fact).model_fields:
        if field in ("provenance", "withheld", "valid_from", "valid_until", "status"):
            continue
        value = getattr(fact, field)
        if value in (None, (), "") and not fact.is_withheld(field):
            continue
        rows.append((escape(field.replace("_", " ")), _value(fact, field)))
    title = f"<b>{escape(s.title)}</b> " if s.title else ""
    return (
        f'<div class="dlnuf-fact" style="{_BOX}"><div style="font-size:15px">{title}'
        f'<span style="{_MUTED}">{escape(s.kind)}</span></div>'
        f"{_rows(rows)}{_provenance(fact.provenance)}</div>"
    )


def _kind_rows(facts: Mapping[type[Fact], Fact],
               errors: Mapping[type[Fact], Any]) -> list[list[str]]:
    rows = []
    for kind, fact in facts.items():
        s = summarise(fact)
        status = s.status or "ok"
        rows.append([
            escape(kind.__name__),
            _state(status, _good(status) if s.status else True),
            escape(validity_text(s.valid_from, s.valid_until) or "—"),
            _text(s.title),
            escape(s.source),
        ])
    for kind, error in errors.items():
        rows.append([
            escape(kind.__name__),
            _state(type(error).__name__, False),
            "—",
            escape(str(error).split(" [", 1)[0]),
            "—",
        ])
    return rows


def dossier_html(dossier: Dossier) -> str:
    """A dossier as a table of kinds: status, validity, main value and source."""
    identity = dossier.get(Identity)
    who = ""
    if identity is not None:
        title = summarise(identity).title
        who = f" <b>{escape(title)}</b>" if title else ""
    table = _grid(["kind", "status", "validity", "value", "source"],
                  _kind_rows(dossier.facts, dossier.errors))
    return (
        f'<div class="dlnuf-dossier" style="{_BOX}"><div style="font-size:15px">'
        f"Dossier {escape(str(dossier.ident))}{who}</div>{table}</div>"
    )


def draft_html(draft: Draft[Any]) -> str:
    """A draft as the form: found values with their source, missing fields highlighted
    with the reason, warnings and fetch errors above."""
    missing = {m.name: m for m in draft.missing}
    rows: list[list[str]] = []
    marks: list[bool] = []
    for spec in field_specs(draft.form):
        if spec.name in draft.values:
            rows.append([escape(spec.label), _text(draft.values[spec.name]),
                         escape(draft.origins.get(spec.name, "fact")),
                         escape(draft.describe(spec.name))])
            marks.append(False)
        elif spec.name in missing:
            item = missing[spec.name]
            shown = _WITHHELD if item.reason == WITHHELD else "<b>missing</b>"
            rows.append([escape(spec.label) + (" *" if item.required else ""), shown,
                         escape(item.origin), escape(item.reason)])
            marks.append(True)
    notes = "".join(f"<li>{escape(w)}</li>" for w in draft.warnings)
    notes += "".join(
        f"<li>{escape(kind.__name__)} not fetched ({escape(type(err.error).__name__)}): "
        f"{escape(', '.join(err.fields)) or 'no field left empty'}</li>"
        for kind, err in draft.errors.items()
    )
    notes_html = f'<ul style="color:#b42318;margin:4px 0">{notes}</ul>' if notes else ""
    title = escape(draft.form.title or draft.form.form_name)
    summary = (f"{len(draft.values)} pre-filled, {len(draft.missing)} to ask"
               + (" (authenticated form)" if draft.form.authenticated else ""))
    return (
        f'<div class="dlnuf-draft" style="{_BOX}"><div style="font-size:15px"><b>{title}</b> '
        f"{escape(str(draft.ident))} <span style=\"{_MUTED}\">{escape(summary)}</span></div>"
        f"{notes_html}{_grid(['field', 'value', 'origin', 'source or reason'], rows, marks)}"
        "</div>"
    )


def batch_results_html(results: Iterable[BatchResult]) -> str:
    """Batch results as a table: one row per input, its kinds' status, errors highlighted."""
    rows: list[list[str]] = []
    marks: list[bool] = []
    for r in results:
        identity = r.facts.get(Identity)
        name = "—"
        if identity is not None:
            s = summarise(identity)
            closed = s.status is not None and s.status != "active"
            name = _text(s.title) + (f" ({escape(s.status or '')})" if closed else "")
        kinds = "; ".join(
            [escape(k.__name__) for k in r.facts]
            + [f"{escape(k.__name__)} {_state(type(e).__name__, False)}"
               for k, e in r.errors.items()]
        )
        rows.append([str(r.index), escape(str(r.input)), escape(str(r.siret or "—")), name,
                     _state("ok" if r.ok else "errors", r.ok), kinds])
        marks.append(not r.ok)
    table = _grid(["#", "input", "SIRET", "name", "state", "kinds"], rows, marks, "dlnuf-error")
    return f'<div class="dlnuf-batch" style="{_BOX}">{table}</div>'
