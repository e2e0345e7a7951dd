"""The :class:`Dossier`: everything collected for one company, facts and errors by kind.

A batch's :class:`~dlnuf.batch.BatchResult` is a dossier too, with its input line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from .errors import DlnufError
from .facts.base import Fact
from .identifiers import Siren, Siret

__all__ = ["Dossier"]

F = TypeVar("F", bound=Fact)


@dataclass
class Dossier:
    """Facts that came back and a typed error for each kind that did not.

    Partial success is normal: one failing upstream never hides the others.
    """

    ident: Siret | Siren
    """The identifier the dossier was collected for."""
    facts: dict[type[Fact], Fact] = field(default_factory=dict)
    errors: dict[type[Fact], DlnufError] = field(default_factory=dict)

    @property
    def siret(self) -> Siret | None:
        """The SIRET collected for, when a SIRET was given."""
        return self.ident if isinstance(self.ident, Siret) else None

    @property
    def siren(self) -> Siren:
        """The SIREN of the company."""
        return self.ident.siren

    @property
    def ok(self) -> bool:
        """Whether every kind asked for came back."""
        return not self.errors

    @property
    def transient(self) -> bool:
        """Whether some error may go away on a retry (upstream down, quota)."""
        return any(e.transient for e in self.errors.values())

    def get(self, kind: type[F]) -> F | None:
        """The fact of ``kind``, or ``None`` if it did not come back."""
        fact = self.facts.get(kind)
        return fact if isinstance(fact, kind) else None

    def __getitem__(self, kind: type[F]) -> F:
        fact = self.get(kind)
        if fact is None:
            if kind in self.errors:
                raise self.errors[kind]
            raise KeyError(kind.__name__)
        return fact

    def __contains__(self, kind: object) -> bool:
        return kind in self.facts

    def __repr__(self) -> str:
        from .display.text import dossier_repr

        return dossier_repr(self)

    def _repr_html_(self) -> str:
        """The dossier as an HTML table of kinds (notebooks)."""
        from .display.html import dossier_html

        return dossier_html(self)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat row per kind: ``ident``, ``kind``, ``ok``, ``error_type``, ``error``,
        then the fact's fields (``legal_name``, ``address.city``, ``valid_until``...) and
        its ``provenance.*``; a kind that did not come back has its error and no field."""
        from .records import fact_cells

        rows: list[dict[str, Any]] = []
        for kind, fact in self.facts.items():
            rows.append({"ident": str(self.ident), "kind": kind.__name__, "ok": True,
                         "error_type": None, "error": None, **fact_cells(kind, fact)})
        for kind, error in self.errors.items():
            rows.append({"ident": str(self.ident), "kind": kind.__name__, "ok": False,
                         "error_type": type(error).__name__, "error": str(error)})
        return rows

    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` of :meth:`to_records`, one row per kind.

        Needs pandas (``pip install 'dlnuf[pandas]'``).
        """
        from .records import frame

        return frame(self.to_records(), first=["ident", "kind", "ok", "error_type", "error"])

    def valid_on(self, day: date) -> dict[type[Fact], Fact]:
        """The facts still valid on ``day`` (for a tender deadline).

        A fact with a ``valid_until`` date (a certificate, an attestation) is
        valid up to and including that date; a refused attestation is never
        valid; other facts (identity, turnover...) have no validity end and are
        kept.
        """
        kept: dict[type[Fact], Fact] = {}
        for kind, fact in self.facts.items():
            if getattr(fact, "refused", False):
                continue
            until = getattr(fact, "valid_until", None)
            if isinstance(until, datetime):
                until = until.date()
            valid_from = getattr(fact, "valid_from", None)
            if isinstance(valid_from, datetime):
                valid_from = valid_from.date()
            if isinstance(until, date) and day > until:
                continue
            if isinstance(valid_from, date) and day < valid_from:
                continue
            kept[kind] = fact
        return kept
