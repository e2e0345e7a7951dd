"""The values of supplier vigilance: suppliers, checked pieces, due pieces, changes.

Plain frozen dataclasses, no I/O. A *piece* is one required kind of evidence
(``SocialCertificate``, ``RegistryExtract``, ``TaxCertificate``); a *check* is one
answer the upstream gave for it (delivered, refused, not found) and, when it was
delivered, the proof kept in the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from ..errors import ConfigurationError
from ..facts.base import Fact
from ..facts.evidence import RegistryExtract, SocialCertificate, TaxCertificate, VatNumber
from ..facts.identity import Identity
from ..identifiers import Siren, Siret

__all__ = [
    "DEFAULT_KINDS",
    "DEFAULT_VALIDITY_DAYS",
    "PIECE_KINDS",
    "Change",
    "Check",
    "CheckStatus",
    "DuePiece",
    "DueReason",
    "Supplier",
    "kind_named",
    "kinds_named",
]

PIECE_KINDS: dict[str, type[Fact]] = {
    "SocialCertificate": SocialCertificate,
    "RegistryExtract": RegistryExtract,
    "TaxCertificate": TaxCertificate,
}
"""The pieces a portfolio can require, by name."""
DEFAULT_KINDS: tuple[str, ...] = ("SocialCertificate", "RegistryExtract", "TaxCertificate")
"""What a supplier must provide unless told otherwise (L8222-1 and D8222-5, plus the
tax certificate public buyers check before signing)."""
WATCHED_KINDS: tuple[type[Fact], ...] = (Identity, VatNumber)
"""What each run also reads to detect changes (closing, legal form, address, VAT)."""
DEFAULT_VALIDITY_DAYS: dict[str, int] = {"TaxCertificate": 180, "RegistryExtract": 90}
"""How long a piece holds when the upstream states no end: a tax certificate six
months after issue, a registry extract three months after its date (the usual
"moins de trois mois"). The vigilance certificate carries its own ``valid_until``."""

CheckStatus = Literal["delivered", "refused", "not_found"]
DueReason = Literal["missing", "refused", "not_delivered", "expired", "expiring", "no_document"]


def kind_named(name: str) -> type[Fact]:
    """The piece kind called ``name``; :class:`ConfigurationError` for an unknown one."""
    kind = PIECE_KINDS.get(name.strip())
    if kind is None:
        raise ConfigurationError(
            f"unknown piece kind {name!r}: choose among {', '.join(PIECE_KINDS)}"
        )
    return kind


def kinds_named(names: Iterable[str | type[Fact]] | None) -> tuple[str, ...]:
    """Normalised kind names (classes or names accepted); the defaults when ``None``."""
    if names is None:
        return DEFAULT_KINDS
    out: list[str] = []
    for item in names:
        name = item if isinstance(item, str) else item.__name__
        out.append(kind_named(name).__name__)
    if not out:
        raise ConfigurationError("a supplier requires at least one piece kind")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Supplier:
    """One supplier of the portfolio: a SIRET under an optional contract, over dates.

    ``kinds`` are the pieces required (names of :data:`PIECE_KINDS`). Pieces are
    due from the contract's signature (``start``; none: now) until its ``end``.
    """

    siret: Siret
    contract: str = ""
    start: date | None = None
    end: date | None = None
    kinds: tuple[str, ...] = DEFAULT_KINDS
    name: str = ""
    """A label of your own (the identity's name is fetched anyway)."""

    @property
    def siren(self) -> Siren:
        """The company's SIREN."""
        return self.siret.siren

    def active_on(self, day: date) -> bool:
        """Whether the contract still runs on ``day`` (pieces are due only then)."""
        return self.end is None or day <= self.end


@dataclass(frozen=True)
class Check:
    """One answer about a piece: its status, validity, and the proof kept (if delivered).

    ``valid_until`` is the end used for ``due``: the certificate's own, else the
    portfolio's validity rule. ``document_sha256`` names the archived PDF.
    """

    id: int
    siren: Siren
    kind: str
    status: CheckStatus
    checked_at: datetime
    run_id: int | None = None
    issued_on: date | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    security_code: str | None = None
    document_sha256: str | None = None
    media_type: str | None = None
    size: int | None = None
    expects_document: bool = False
    """The upstream said there is a document (then a missing one is due again)."""

    @property
    def has_proof(self) -> bool:
        """Whether the delivered piece's document is archived."""
        return self.document_sha256 is not None

    def covers(self, day: date) -> bool:
        """Whether this delivered piece was valid on ``day``."""
        if self.status != "delivered":
            return False
        start = self.valid_from or self.issued_on
        if start is not None and day < start:
            return False
        return self.valid_until is None or day <= self.valid_until

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (no secret: documents are named by their digest)."""
        return {
            "siren": str(self.siren), "kind": self.kind, "status": self.status,
            "checked_at": self.checked_at.isoformat(), "run_id": self.run_id,
            "issued_on": _iso(self.issued_on), "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until), "security_code": self.security_code,
            "document_sha256": self.document_sha256, "media_type": self.media_type,
            "size": self.size,
        }


@dataclass(frozen=True)
class DuePiece:
    """A required piece that needs action by a date, and why."""

    supplier: Supplier
    kind: str
    reason: DueReason
    valid_until: date | None = None
    last_check: Check | None = field(default=None, compare=False)

    @property
    def detail(self) -> str:
        """The reason in words."""
        until = f" on {self.valid_until.isoformat()}" if self.valid_until else ""
        return {
            "missing": "never fetched",
            "refused": "the upstream refused to deliver it",
            "not_delivered": "the upstream holds none for this company",
            "expired": f"its validity ended{until}",
            "expiring": f"its validity ends{until}",
            "no_document": "delivered, but its document is not archived yet",
        }[self.reason]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "siret": str(self.supplier.siret), "siren": str(self.supplier.siren),
            "contract": self.supplier.contract, "kind": self.kind, "reason": self.reason,
            "detail": self.detail, "valid_until": _iso(self.valid_until),
        }


Severity = Literal["alert", "info"]


@dataclass(frozen=True)
class Change:
    """Something that changed about a supplier between two observations."""

    id: int
    run_id: int | None
    subject: str
    """The SIRET (identity changes) or SIREN (company-level changes)."""
    what: str
    """``establishment_closed``, ``company_closed``, ``legal_form``, ``address``,
    ``name``, ``vat_number``, ``attestation_refused``, ``no_longer_delivered``,
    ``delivered_again``, ``reopened``."""
    old: str | None
    new: str | None
    detected_at: datetime
    severity: Severity = "alert"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "subject": self.subject, "what": self.what, "old": self.old, "new": self.new,
            "severity": self.severity, "detected_at": self.detected_at.isoformat(),
            "run_id": self.run_id,
        }


def validity_end(
    kind: str, fact_valid_until: date | None, issued: date | None, days: Mapping[str, int]
) -> date | None:
    """The end of a piece's validity: its own, else ``issued`` plus the kind's days."""
    if fact_valid_until is not None:
        return fact_valid_until
    if issued is None or kind not in days:
        return None
    return issued + timedelta(days=days[kind])


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
