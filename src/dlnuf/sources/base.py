"""The :class:`Source` protocol and the registry of sources (entry points ``dlnuf.sources``).

A source is sans-I/O: :meth:`Source.request` builds an :class:`httpx.Request`,
:meth:`Source.parse` turns an :class:`httpx.Response` into a fact. It never sends
anything; the client and the transport own the cache, pacing, retries and fallback.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

import httpx

from ..errors import ConfigurationError
from ..facts.base import Fact
from ..identifiers import Siren, Siret
from ..ratelimit import Quota

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "BatchSource",
    "GuardedSource",
    "Identifier",
    "Source",
    "available_sources",
    "load_source",
]

Identifier = Siret | Siren
"""What a source is asked about: a SIRET for establishment kinds, a SIREN for legal-unit kinds."""

ENTRY_POINT_GROUP = "dlnuf.sources"

_BUILTIN: dict[str, str] = {
    "recherche_entreprises": "dlnuf.sources.recherche_entreprises:RechercheEntreprises",
    "api_entreprise": "dlnuf.sources.api_entreprise:ApiEntreprise",
    "insee_sirene": "dlnuf.sources.insee_sirene:InseeSirene",
    "sandbox": "dlnuf.sources.sandbox:Sandbox",
    "sirene_stock": "dlnuf.sources.sirene_stock:SireneStock",
}


@runtime_checkable
class Source(Protocol):
    """One upstream API. Pure: builds requests, parses responses, sends nothing.

    ``scope`` distinguishes answers that differ for the same identifier (the
    protected and the public variants of API Entreprise): it is part of the
    cache key. ``mount``, when set, is the in-process transport that answers
    for ``base_url`` (the offline sandbox uses it); real sources leave it ``None``.
    """

    name: ClassVar[str]
    provides: ClassVar[frozenset[type[Fact]]]
    base_url: str
    scope: str
    mount: httpx.MockTransport | None

    def quota(self, kind: type[Fact]) -> Quota:
        """The quota pool a request for ``kind`` counts against."""
        ...

    def request(self, kind: type[Fact], ident: Identifier) -> httpx.Request:
        """Build the request for ``kind`` about ``ident``; raise ConfigurationError if it
        cannot be sent as configured (missing token, recipient equal to the company...)."""
        ...

    def parse(self, kind: type[Fact], ident: Identifier, response: httpx.Response) -> Fact:
        """Turn a successful response into a fact; raise an UpstreamError subclass
        (``NotFound``, ``UnexpectedPayload``...) when it does not hold one."""
        ...


@runtime_checkable
class BatchSource(Source, Protocol):
    """A source that can answer many SIRETs in one call (INSEE Sirene ``POST /siret``)."""

    batch_size: ClassVar[int]

    def request_many(self, kind: type[Fact], idents: Sequence[Siret]) -> httpx.Request:
        """One request for up to ``batch_size`` identifiers."""
        ...

    def parse_many(
        self, kind: type[Fact], idents: Sequence[Siret], response: httpx.Response
    ) -> dict[Siret, Fact]:
        """The facts found in a batch response, by SIRET (absent ones are not found)."""
        ...


@runtime_checkable
class GuardedSource(Source, Protocol):
    """A source that can list what its credentials may call and ping its providers.

    The lookup flow reads :meth:`privileges_request` once per client and reports
    a kind none of whose :meth:`required_privileges` the token holds as
    ``Forbidden`` without a request; after a provider failed, it pings it
    (:meth:`ping_request`) before calling it again for another kind.
    """

    privileges_quota: ClassVar[Quota]
    ping_quota: ClassVar[Quota]

    def required_privileges(self, kind: type[Fact]) -> frozenset[str]:
        """The privileges of which one allows ``kind`` (empty: not checked)."""
        ...

    def privileges_request(self) -> httpx.Request:
        """The request listing the credentials' privileges."""
        ...

    def parse_privileges(self, response: httpx.Response) -> frozenset[str]:
        """The privileges a successful answer to :meth:`privileges_request` lists."""
        ...

    def provider(self, kind: type[Fact]) -> str:
        """The upstream provider answering ``kind`` (what :meth:`ping_request` takes)."""
        ...

    def ping_request(self, provider: str) -> httpx.Request:
        """The request asking whether ``provider`` is up."""
        ...

    def parse_ping(self, response: httpx.Response) -> bool:
        """Whether a successful ping answer leaves the provider up."""
        ...


def available_sources() -> dict[str, str]:
    """Names of the installed sources and where they live (``module:Class``)."""
    found = dict(_BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return found


def load_source(name: str, settings: Settings) -> Source:
    """Instantiate the source registered under ``name`` with ``settings``."""
    import importlib

    known = available_sources()
    if name not in known:
        raise ConfigurationError(
            f"unknown source {name!r}; installed sources: {', '.join(sorted(known))}"
        )
    eps = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if eps:
        cls = eps[0].load()
    else:
        module, _, attr = known[name].partition(":")
        cls = getattr(importlib.import_module(module), attr)
    source = cls(settings)
    if not isinstance(source, Source):
        raise ConfigurationError(f"{known[name]} does not implement the dlnuf Source protocol")
    return source
