"""The :class:`Source` protocol, :class:`SourceBase`, and the registry of sources.

A source is sans-I/O: :meth:`Source.request` builds an :class:`httpx.Request`,
:meth:`Source.parse` turns an :class:`httpx.Response` into a fact, and its optional
``error`` hook turns an error response into a typed error. It never sends
anything; the client and the transport own the cache, pacing, retries and fallback.

Sources are found by their entry point in the group ``dlnuf.sources`` (the built-in
ones too), so an installed package adds one with one line of its ``pyproject.toml``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import httpx

from ..errors import ConfigurationError, UpstreamError
from ..facts.base import Fact
from ..identifiers import Siren, Siret
from ..ratelimit import Quota
from .options import Rate, SourceOptions

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "ENTRY_POINT_GROUP",
    "BatchSource",
    "GuardedSource",
    "Identifier",
    "Source",
    "SourceBase",
    "available_sources",
    "check_source",
    "load_source",
    "source_error",
]

Identifier = Siret | Siren
"""What a source is asked about: a SIRET for establishment kinds, a SIREN for legal-unit kinds."""

ENTRY_POINT_GROUP = "dlnuf.sources"
"""The entry point group sources are registered in (``name = "module:Class"``)."""


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

    privileges_quota: Quota
    ping_quota: Quota

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


_MEMBERS = ("name", "provides", "base_url", "scope", "mount", "quota", "request", "parse")
"""What every source has (``error`` and ``Options`` are optional: :class:`SourceBase` has them)."""
_CLASS_MEMBERS = ("name", "provides", "quota", "request", "parse")
"""What a source's class has before it is built (the rest may be set by ``__init__``)."""


class SourceBase:
    """A base for sources, with sensible defaults: subclass it, set ``name`` and
    ``provides``, declare ``Options``, write :meth:`request` and :meth:`parse`.

    It reads the options (``self.options``: from ``options=``, the client's shortcut
    arguments, ``DLNUF_<NAME>_*``), sets ``base_url`` from them, ``scope`` to
    ``"public"`` and ``mount`` to ``None``; :meth:`quota` is the ``quota`` option as the
    pool named after the source; :meth:`error` returns ``None`` (the HTTP status
    decides). Built with no ``settings``, a source reads the process environment;
    built with settings, the environment they were read from (none for ``Settings()``).
    """

    name: ClassVar[str]
    provides: ClassVar[frozenset[type[Fact]]]
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    """The source's options model (a :class:`SourceOptions` subclass)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        options: SourceOptions | Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        from ..config import Settings

        if env is None:
            env = os.environ if settings is None else settings.environ
        self.settings: Settings = settings if settings is not None else Settings()
        self.options: SourceOptions = self.Options.load(
            self.name, options, settings=settings, env=env
        )
        self.base_url: str = self.options.base_url.rstrip("/")
        self.scope: str = "public"
        self.mount: httpx.MockTransport | None = None
        self.user_agent: str = self.settings.user_agent
        rate = getattr(self.options, "quota", None)
        self._quota = rate.quota(self.name) if isinstance(rate, Rate) else None
        self.setup()

    def setup(self) -> None:
        """Called at the end of ``__init__``, once ``self.options`` are read: derive what
        the source needs from them (nothing by default). Override it rather than
        ``__init__``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_parts())})"

    def _repr_parts(self) -> list[str]:
        """What the repr shows, ``name=value`` each (secrets masked by their type)."""
        return [f"base_url={self.base_url!r}"]

    def quota(self, kind: type[Fact]) -> Quota:
        """The ``quota`` option as the pool named after the source, whatever the kind."""
        if self._quota is None:
            raise ConfigurationError(
                f"{self.name} has no quota option: declare `quota: RateOption = \"10/s\"` in "
                "its Options, or override quota()"
            )
        return self._quota

    def error(self, response: httpx.Response) -> UpstreamError | None:
        """The typed error for an error ``response``, read in the upstream's own words;
        ``None`` lets the HTTP status decide (the default)."""
        return None

    def json_headers(self) -> dict[str, str]:
        """The headers of a JSON request: JSON wanted, dlnuf's user agent."""
        return {"Accept": "application/json", "User-Agent": self.user_agent}


def _label(obj: object) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_source(source: object) -> None:
    """Raise :class:`ConfigurationError` naming the members ``source`` (an instance, or a
    class: its class-level members) lacks, if any:
    ``acme.Toy is not a dlnuf Source: missing request, parse``."""
    members = _CLASS_MEMBERS if isinstance(source, type) else _MEMBERS
    missing = [m for m in members if not hasattr(source, m)]
    if missing:
        raise ConfigurationError(
            f"{_label(source)} is not a dlnuf Source: missing {', '.join(missing)}"
        )


def source_error(source: Source, response: httpx.Response) -> UpstreamError:
    """The typed error the client raises for the error ``response`` of ``source``: its
    ``error`` hook (if any) completed by the generic mapping (pure; never raises it)."""
    from ..httperrors import error_from_response

    hook = getattr(source, "error", None)
    return error_from_response(response, source.name, hook if callable(hook) else None)


def available_sources() -> dict[str, str]:
    """Names of the installed sources and where they live (``module:Class``), from the
    entry points ``dlnuf.sources`` of every installed package."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_source(
    name: str,
    settings: Settings | None = None,
    options: SourceOptions | Mapping[str, Any] | None = None,
) -> Source:
    """Instantiate the source registered under ``name`` with ``settings`` and ``options``.

    Raises :class:`ConfigurationError` when no installed package registers ``name``, or
    when what it registers is not a source (naming the missing members).
    """
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = ", ".join(sorted(available_sources()))
        raise ConfigurationError(
            f"unknown source {name!r}; installed sources: {known}. A source is registered "
            f"by an entry point in the group {ENTRY_POINT_GROUP!r}: after adding one, "
            "install its package again (`pip install -e .`) so that it is seen"
        )
    try:
        cls = found[0].load()
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"source {name!r} is registered as {found[0].value}, which cannot be imported "
            f"({type(exc).__name__}: {exc})"
        ) from None
    check_source(cls)  # the class itself, before it runs (instance attributes aside)
    args = () if settings is None else (settings,)
    source = cls(*args) if options is None else cls(*args, options=options)
    check_source(source)
    return source  # type: ignore[no-any-return]
