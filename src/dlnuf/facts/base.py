"""The base of every fact: :class:`Fact` and its :class:`Provenance`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field

from .frozen import FrozenModel

__all__ = ["Fact", "Level", "Provenance", "utcnow"]

Level = Literal["siret", "siren"]
"""Whether a kind of fact is about one establishment (SIRET) or the legal unit (SIREN)."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Provenance(FrozenModel):
    """Where a fact comes from, when it was fetched, and how long it may be trusted.

    ``public`` is true when the fact may be shown on an anonymous form: it came
    from a public endpoint, or every value in it is diffusible.
    """

    model_config = ConfigDict(frozen=True)

    source: str
    """Name of the dlnuf source that answered (``"api_entreprise"``, ``"declared"``...)."""
    endpoint: str
    """Upstream endpoint path (no host, no query string)."""
    fetched_at: datetime = Field(default_factory=utcnow)
    """When dlnuf received the upstream answer."""
    updated_at: datetime | None = None
    """When the upstream last updated this data, if it says so."""
    expires_at: datetime | None = None
    """When dlnuf stops serving this fact from its cache (``None``: not cached)."""
    from_cache: bool = False
    """The fact was served from the cache, not from the upstream."""
    stale: bool = False
    """The fact is past ``expires_at`` and was served because the upstream failed."""
    public: bool = True
    """The fact may be shown on a form that is not authenticated."""

    @property
    def age(self) -> timedelta | None:
        """How old the data was when fetched (``fetched_at - updated_at``); ``None`` when
        the upstream does not say when it last changed. A monthly copy (the Sirene stock
        files) says here how old it is."""
        if self.updated_at is None:
            return None
        return self.fetched_at - self.updated_at


class Fact(FrozenModel):
    """One typed piece of knowledge about a company. The class *is* the kind.

    ``withheld`` names the fields (dotted paths for nested ones, like
    ``"address.street_name"``) that the upstream holds but did not give because
    they are not diffusible (``[ND]``, ``[NON-DIFFUSIBLE]``). A withheld field is
    ``None`` in the fact; it is never filled with the marker string.
    """

    model_config = ConfigDict(frozen=True)

    level: ClassVar[Level] = "siren"
    """Identifier the kind is looked up by."""

    provenance: Provenance
    withheld: frozenset[str] = frozenset()

    def is_withheld(self, path: str) -> bool:
        """Whether the field ``path`` (or one of its parents) was withheld upstream."""
        parts = path.split(".")
        return any(".".join(parts[: i + 1]) in self.withheld for i in range(len(parts)))

    def with_provenance(self, **changes: Any) -> Self:
        """A copy of the fact whose provenance has ``changes`` applied."""
        return self.model_copy(update={"provenance": self.provenance.model_copy(update=changes)})

    def __repr__(self) -> str:
        from ..display.text import fact_repr

        return fact_repr(self)

    def _repr_html_(self) -> str:
        """The fact as an HTML card (notebooks)."""
        from ..display.html import fact_html

        return fact_html(self)
