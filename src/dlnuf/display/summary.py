"""What a person wants to see first about a fact: its name, status, validity, source.

Shared by the short ``repr`` (:mod:`dlnuf.display.text`) and the notebook HTML
(:mod:`dlnuf.display.html`), so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..facts import evidence as ev
from ..facts.base import Fact, Provenance
from ..facts.identity import Identity

__all__ = ["WITHHELD_TEXT", "Summary", "source_text", "summarise", "validity_text"]

WITHHELD_TEXT = "[withheld]"
"""How a value the upstream withheld (non-diffusible) is shown: never as a value."""


@dataclass(frozen=True)
class Summary:
    """The headline of a fact: what it is about, its state, its validity, its source."""

    kind: str
    ident: str | None
    """The SIRET or SIREN the fact carries, if it carries one."""
    title: str | None
    """Its main value: a name, a number, an amount."""
    status: str | None
    """``active``, ``closed since ...``, ``delivered``, ``refused``, ``compliant``..."""
    valid_from: date | None
    valid_until: date | None
    source: str


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _name(fact: Fact, field: str, value: str | None) -> str | None:
    if value is None and fact.is_withheld(field):
        return WITHHELD_TEXT
    return value


def _title(fact: Fact) -> str | None:
    if isinstance(fact, Identity):
        return _name(fact, "legal_name", fact.name)
    if isinstance(fact, ev.RegistryExtract):
        return fact.registration_number or fact.company_name
    if isinstance(fact, ev.RneExtract):
        return fact.legal_name
    if isinstance(fact, ev.TaxCertificate):
        return f"issued {fact.issued_on}" if fact.issued_on else None
    if isinstance(fact, ev.Turnover):
        latest = fact.latest
        if latest is None:
            return "no year declared"
        return f"{latest.amount:,} € ({latest.closing_date:%Y})".replace(",", " ")
    if isinstance(fact, ev.Headcount):
        figure = "unknown" if fact.headcount is None else f"{fact.headcount:g}"
        return f"{figure} in {fact.year}"
    if isinstance(fact, ev.VatNumber):
        return fact.number if fact.matches_computed else f"{fact.number} (not the computed one)"
    if isinstance(fact, ev.Association):
        return fact.title
    if isinstance(fact, ev.Directors):
        return f"{len(fact.directors)} director(s)"
    if isinstance(fact, ev.Certification):
        return fact.reference or fact.holder
    return None


def _status(fact: Fact) -> str | None:
    if isinstance(fact, Identity):
        if not fact.active:
            return f"closed since {fact.closing_date}" if fact.closing_date else "closed"
        return "active" if fact.legal_unit_active else "company ceased"
    if isinstance(fact, ev.SocialCertificate):
        return fact.status
    if isinstance(fact, ev.RegistryExtract) and fact.struck_off_on is not None:
        return f"struck off on {fact.struck_off_on}"
    if isinstance(fact, ev.RneExtract) and fact.dissolved_on is not None:
        return f"dissolved on {fact.dissolved_on}"
    if isinstance(fact, ev.Association):
        if fact.active is False or fact.dissolution_date is not None:
            return f"dissolved on {fact.dissolution_date}" if fact.dissolution_date else "dissolved"
        return "active" if fact.active else None
    if isinstance(fact, ev.Certification):
        return fact.status
    return None


def _ident(fact: Fact) -> str | None:
    for field in ("siret", "siren", "rna"):
        value = getattr(fact, field, None)
        if value:
            return str(value)
    return None


def summarise(fact: Fact) -> Summary:
    """The :class:`Summary` of ``fact``."""
    return Summary(
        kind=type(fact).__name__,
        ident=_ident(fact),
        title=_title(fact),
        status=_status(fact),
        valid_from=_day(getattr(fact, "valid_from", None)),
        valid_until=_day(getattr(fact, "valid_until", None)),
        source=source_text(fact.provenance),
    )


def validity_text(valid_from: date | None, valid_until: date | None) -> str | None:
    """``valid 2026-01-01 to 2026-06-30``, ``valid until ...``, or ``None`` when unknown."""
    if valid_until is None:
        return f"valid from {valid_from}" if valid_from else None
    if valid_from is None:
        return f"valid until {valid_until}"
    return f"valid {valid_from} to {valid_until}"


def source_text(provenance: Provenance) -> str:
    """``sandbox, fetched 2026-11-30 (cache)``: the source, the day, cache and staleness."""
    text = f"{provenance.source}, fetched {provenance.fetched_at:%Y-%m-%d}"
    if provenance.stale:
        text += " (cache, stale)"
    elif provenance.from_cache:
        text += " (cache)"
    return text
