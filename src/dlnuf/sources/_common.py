"""What the Sirene-backed sources share: configuration, repr, quota and request headers.

:class:`SireneSource` is the base of
:class:`~dlnuf.sources.recherche_entreprises.RechercheEntreprises` and
:class:`~dlnuf.sources.insee_sirene.InseeSirene`: public sources of
:class:`~dlnuf.facts.identity.Identity`, one quota pool each.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

from ..config import Settings
from ..facts.base import Fact
from ..facts.identity import Identity
from ..ratelimit import Quota

__all__ = ["SireneSource"]


class SireneSource:
    """A public source of :class:`Identity`: ``name``, ``default_base_url`` and
    ``source_quota`` (its only quota pool) are set by each subclass."""

    name: ClassVar[str]
    provides: ClassVar[frozenset[type[Fact]]] = frozenset({Identity})
    default_base_url: ClassVar[str]
    source_quota: ClassVar[Quota]

    def __init__(self, settings: Settings) -> None:
        self.base_url: str = settings.base_url(self.name, self.default_base_url)
        self.scope: str = "public"
        self.mount: httpx.MockTransport | None = None
        self.user_agent = settings.user_agent

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_parts())})"

    def _repr_parts(self) -> list[str]:
        """What the repr shows, ``name=value`` each (never a secret)."""
        return [f"base_url={self.base_url!r}"]

    def quota(self, kind: type[Fact]) -> Quota:
        """The source's only pool, :attr:`source_quota`, whatever the kind."""
        return self.source_quota

    def json_headers(self) -> dict[str, str]:
        """The headers of every request: JSON wanted, dlnuf's user agent."""
        return {"Accept": "application/json", "User-Agent": self.user_agent}
