"""The lookup logic, written once, without I/O: a generator that yields fetches.

``lookup(core, kind, ident)`` is a generator. It yields a *step* each time it
needs I/O: a :class:`Fetch` (a request to send), a :class:`LocalCall` (a local
source's in-process work), a :class:`CacheGet` / :class:`CacheSet` /
:class:`CacheDelete` (the cache). A driver (:mod:`dlnuf.drivers`: blocking for
:class:`~dlnuf.Client`, awaited for :class:`~dlnuf.AsyncClient`) does the I/O and
sends the answer back in, or throws the mapped :class:`~dlnuf.DlnufError` in. A
batch (:mod:`dlnuf.batch`) may instead send in the fact one multi-SIRET call
already parsed for this identifier: it is stored exactly like a parsed one. The
generator owns everything else: source priority and fallback, what the cache
answer means (fresh, stale, negative: see :mod:`dlnuf.cache.codec`), expiry, and
for a :class:`~dlnuf.sources.base.GuardedSource` the checks before a call (the
token's privileges, read once per client; a provider that failed earlier in the
same :class:`~dlnuf.access.Session` is pinged before it is called again). That is
what keeps the sync and async clients identical in behaviour, and what lets the
async one await every cache call instead of blocking its event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeGuard, TypeVar

import httpx

from .access import Privileges, Session
from .cache.base import Cache, CacheEntry, cache_key
from .cache.codec import NOT_FOUND, DecodedFact, FactCodec
from .cache.policy import CachePolicy
from .config import Settings
from .errors import (
    DlnufError,
    InvalidSiret,
    NotFound,
    RequestInFlight,
    Unauthorized,
    UnexpectedPayload,
    UnsupportedKind,
    UpstreamUnavailable,
)
from .facts.base import Fact, utcnow
from .identifiers import Siren, parse_siret_or_siren
from .ratelimit import Quota
from .sources.base import GuardedSource, Identifier, Source
from .sources.local import LocalBatchSource, LocalSource

__all__ = [
    "CACHE_STEPS",
    "AnyStep",
    "Blocking",
    "CacheDelete",
    "CacheGet",
    "CacheSet",
    "Core",
    "Download",
    "Fetch",
    "Flow",
    "LocalCall",
    "Session",
    "Step",
    "coerce_identifier",
]

log = logging.getLogger("dlnuf.client")

F = TypeVar("F", bound=Fact)


@dataclass(frozen=True)
class Fetch:
    """One request the flow needs sent: the driver answers with the response.

    Fetches with the same ``shared`` key in flight at once (the privileges of a
    token, a provider's ping) may be sent once and their response given to each.
    """

    source: Source
    request: httpx.Request
    quota: Quota
    shared: str | None = None


@dataclass(frozen=True)
class LocalCall:
    """Work a :class:`~dlnuf.sources.local.LocalSource` does in-process instead of a request.

    The driver calls :attr:`run` (the async one in a worker thread: it may block on
    disk) and sends its result back in, or throws the :class:`~dlnuf.DlnufError` it
    raised. The transport never sees it: no pacing, no retry.
    """

    source: Source
    run: Callable[[], Any]


class CacheGet:
    """Read the cache entry under :attr:`key`: the driver answers with the
    :class:`~dlnuf.cache.CacheEntry` or ``None`` (absent, dead, or the cache failed)."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


class CacheSet:
    """Store :attr:`value` under :attr:`key`; the driver answers ``None`` (a failed write
    is logged, never raised: a broken cache never breaks a lookup).

    :attr:`decoded` is what the value decodes to, for a cache that keeps objects.
    """

    __slots__ = ("decoded", "expires_at", "key", "stale_until", "value")

    def __init__(
        self,
        key: str,
        value: bytes,
        expires_at: datetime,
        stale_until: datetime,
        decoded: DecodedFact[Any] | None = None,
    ) -> None:
        self.key = key
        self.value = value
        self.expires_at = expires_at
        self.stale_until = stale_until
        self.decoded = decoded


class CacheDelete:
    """Forget the entry under :attr:`key` (an unreadable one); the driver answers ``None``."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


CACHE_STEPS = (CacheGet, CacheSet, CacheDelete)
"""The steps a driver answers from the client's cache."""


@dataclass(frozen=True)
class Download:
    """A document download: like a :class:`Fetch`, with its own size cap and a check of
    each redirect hop (:meth:`~dlnuf.urlpolicy.UrlPolicy.check`)."""

    request: httpx.Request
    quota: Quota
    source: str
    max_bytes: int
    check_url: Callable[[httpx.URL], None]


@dataclass(frozen=True)
class Blocking:
    """Work that may block (resolving a host name): run inline by the sync driver, in a
    worker thread by the async one; its :class:`~dlnuf.DlnufError` is thrown back in."""

    run: Callable[[], Any]


Step = Fetch | LocalCall | CacheGet | CacheSet | CacheDelete
"""What a lookup yields: a request to send, local work to run, or a cache call."""

AnyStep = Step | Download | Blocking
"""What a flow of any kind yields (a document download adds :class:`Download` and
:class:`Blocking`): what a driver performs."""

Flow = Generator[Step, Any, F]
"""A lookup in progress: yields steps, receives their answers (responses, batch-parsed
facts, cache entries), returns a fact."""


def coerce_identifier(kind: type[Fact], value: object) -> Identifier:
    """Parse ``value`` as the identifier ``kind`` is looked up by.

    SIREN-level kinds accept a SIRET (its SIREN is used); SIRET-level kinds
    need a SIRET and say so when given a SIREN.
    """
    ident = parse_siret_or_siren(value)
    if kind.level == "siren":
        return ident.siren
    if isinstance(ident, Siren):
        raise InvalidSiret(
            value,
            "length",
            f"{kind.__name__} is about one establishment: give its 14-digit SIRET, "
            f"not the 9-digit SIREN {ident}",
        )
    return ident


class Core:
    """What the sync and async clients share: settings, sources, cache and policy."""

    def __init__(
        self,
        settings: Settings,
        sources: list[Source],
        cache: Cache | None,
        policy: CachePolicy,
    ) -> None:
        self.settings = settings
        self.sources = sources
        self.cache = cache
        self.policy = policy
        self.privileges = Privileges()
        """What each guarded source's credentials may call, read once per client."""
        self.codec = FactCodec(keeps_objects=bool(getattr(cache, "keeps_objects", False)))
        """Encodes facts for the cache, decodes its entries (reusing decoded facts). An
        in-process cache (memory) is handed the fetched fact with its bytes, so that its
        hits, on any key it holds, never decode: see CacheEntry.decoded."""
        self._guarded: dict[int, tuple[Source, bool]] = {}
        self._resolved: dict[tuple[type[Fact], str | None], list[Source]] = {}
        self._local: dict[int, tuple[Source, bool, bool]] = {}

    def is_guarded(self, src: Source) -> TypeGuard[GuardedSource]:
        """Whether ``src`` is a :class:`GuardedSource` (checked once per source object: a
        runtime protocol check inspects every member)."""
        known = self._guarded.get(id(src))
        if known is None or known[0] is not src:
            known = self._guarded[id(src)] = (src, isinstance(src, GuardedSource))
        return known[1]

    def is_local(self, src: Source) -> TypeGuard[LocalSource]:
        """Whether ``src`` is a :class:`LocalSource` (checked once per source object)."""
        return self._local_kind(src)[1]

    def is_local_batch(self, src: Source) -> TypeGuard[LocalBatchSource]:
        """Whether ``src`` is a :class:`LocalBatchSource` (a local source that answers many)."""
        return self._local_kind(src)[2]

    def _local_kind(self, src: Source) -> tuple[Source, bool, bool]:
        known = self._local.get(id(src))
        if known is None or known[0] is not src:
            local = isinstance(src, LocalSource)
            known = (src, local, local and isinstance(src, LocalBatchSource))
            self._local[id(src)] = known
        return known

    def resolve(self, kind: type[Fact], only: str | None = None) -> list[Source]:
        """The configured sources that provide ``kind``, in priority order (worked out
        once per kind: the sources of a client are fixed; do not mutate the list)."""
        known = self._resolved.get((kind, only))
        if known is not None:
            return known
        found = [
            s for s in self.sources if kind in s.provides and (only is None or s.name == only)
        ]
        if found:
            self._resolved[(kind, only)] = found
        else:
            names = ", ".join(s.name for s in self.sources) or "none"
            able = sorted(
                s.name for s in self.sources if kind in s.provides
            )
            hint = f" (it is provided by: {', '.join(able)})" if able else ""
            raise UnsupportedKind(
                f"no configured source provides {kind.__name__}"
                + (f" under the name {only!r}" if only else "")
                + f"; configured sources: {names}{hint}"
            )
        return found

    # -- the flow ------------------------------------------------------------------------

    def lookup(
        self,
        kind: type[F],
        value: object,
        *,
        source: str | None = None,
        session: Session | None = None,
    ) -> Flow[F]:
        """The flow that answers ``kind`` for ``value`` (validated before any I/O).

        Lookups sharing a ``session`` (the kinds of one collect) skip a provider
        that failed and whose ping says it is still down.
        """
        ident = coerce_identifier(kind, value)
        sources = self.resolve(kind, source)
        return self._lookup(kind, ident, sources, session)

    def lookup_after(self, kind: type[F], ident: Identifier, source: Source) -> Flow[F] | None:
        """The flow over the sources configured after ``source`` (``None`` if there are
        none): what a batch runs once a local source asked first could not answer."""
        sources = self.resolve(kind)
        rest = sources[sources.index(source) + 1:] if source in sources else []
        return self._lookup(kind, ident, rest, None) if rest else None

    def _lookup(
        self, kind: type[F], ident: Identifier, sources: list[Source], session: Session | None
    ) -> Flow[F]:
        last_error: DlnufError | None = None
        stale: F | None = None
        for position, src in enumerate(sources, start=1):
            if self.is_local(src):
                try:
                    return (yield from self._ask_local(src, kind, ident))
                except NotFound as exc:
                    if position == len(sources):
                        raise
                    last_error = exc  # the copy predates it: ask the next source
                    continue
                except DlnufError as exc:
                    if not exc.transient:
                        raise
                    log.info("%s could not answer for %s: %s", src.name, kind.__name__, exc)
                    last_error = exc
                    continue
            # No cache, no key: nothing is read nor written.
            key = (
                cache_key(src.name, src.scope, kind.__name__, ident)
                if self.cache is not None
                else None
            )
            entry: CacheEntry | None = (yield CacheGet(key)) if key is not None else None
            now = utcnow()
            if entry is not None and key is not None:
                cached = self.codec.decode(kind, entry, key)
                if cached is False:  # unreadable: forget it
                    yield CacheDelete(key)
                    cached = None
                if entry.is_fresh(now):
                    if cached is None and entry.value == NOT_FOUND:
                        raise NotFound(
                            f"{src.name} does not know {ident} (cached answer, "
                            f"until {entry.expires_at:%Y-%m-%d %H:%M} UTC)",
                            source=src.name,
                            status=404,
                        )
                    if cached is not None:
                        return cached.hit()
                elif cached is not None and stale is None:
                    stale = cached.fact
            guarded = src if self.is_guarded(src) else None
            try:
                request = src.request(kind, ident)
                if guarded is not None:
                    yield from self._guard(guarded, kind, session)
                answer = yield Fetch(src, request, src.quota(kind))
                fact = answer if isinstance(answer, Fact) else _parse(src, kind, ident, answer)
            except NotFound:
                if key is not None:
                    yield CacheSet(key, NOT_FOUND, *self.policy.not_found_expiry(utcnow()))
                raise
            except DlnufError as exc:
                if session is not None and guarded is not None and _provider_failed(exc):
                    session.failed(src.name, guarded.provider(kind))
                if not exc.transient:
                    raise
                log.info("%s failed transiently for %s: %s", src.name, kind.__name__, exc)
                last_error = exc
                continue
            if not isinstance(fact, kind):
                raise TypeError(f"{src.name}.parse returned {type(fact).__name__} for {kind}")
            expires_at, stale_until = self.policy.expiry(kind, fact, now)
            fact = fact.with_provenance(expires_at=expires_at)
            if key is not None:
                value, decoded = self.codec.encode(kind, fact)
                yield CacheSet(key, value, expires_at, stale_until, decoded)
            return fact
        if stale is not None and self.settings.stale_if_error:
            log.warning("serving a stale %s for %s: %s", kind.__name__, ident, last_error)
            return stale.with_provenance(from_cache=True, stale=True)
        assert last_error is not None  # noqa: S101 - every source either returned or set it
        raise last_error

    def _ask_local(self, src: LocalSource, kind: type[F], ident: Identifier) -> Flow[F]:
        """Ask a local source (no request, no cache: the copy is local already)."""
        fact = yield LocalCall(src, partial(src.answer, kind, ident))
        if not isinstance(fact, kind):
            raise TypeError(f"{src.name}.answer returned {type(fact).__name__} for {kind}")
        return fact

    # -- checks before a call ---------------------------------------------------------------

    def _guard(
        self, src: GuardedSource, kind: type[Fact], session: Session | None
    ) -> Generator[Step, Any, None]:
        """Refuse ``kind`` before its request when the token may not call it, or when its
        provider failed earlier in ``session`` and its ping says it is still down."""
        if src.required_privileges(kind) and not self.privileges.known(src.name):
            granted: frozenset[str] | None = None
            try:
                answer = yield Fetch(
                    src, src.privileges_request(), src.privileges_quota,
                    shared=f"privileges:{src.name}",
                )
                granted = src.parse_privileges(_response(answer, src))
            except Unauthorized:
                raise
            except DlnufError as exc:
                log.warning("%s: privileges not read, so not checked: %s", src.name, exc)
            self.privileges.record(src.name, granted)
        self.privileges.check(src, kind)
        if session is None:
            return
        provider = src.provider(kind)
        if session.needs_ping(src.name, provider):
            up = True  # a ping that says nothing clear does not stop the call
            try:
                answer = yield Fetch(
                    src, src.ping_request(provider), src.ping_quota,
                    shared=f"ping:{src.name}:{provider}",
                )
                up = src.parse_ping(_response(answer, src))
            except UpstreamUnavailable:
                up = False
            except DlnufError as exc:
                log.info("%s: ping of %s inconclusive: %s", src.name, provider, exc)
            session.record_ping(src.name, provider, up)
        session.check(src.name, provider, kind)


def _response(answer: httpx.Response | Fact, src: Source) -> httpx.Response:
    if not isinstance(answer, httpx.Response):
        raise UnexpectedPayload(f"{src.name}: a fact was sent where a response was expected")
    return answer


def _parse(src: Source, kind: type[F], ident: Identifier, response: httpx.Response) -> Fact:
    """``src.parse``, where any failure but a dlnuf error (a parser tripping over an
    upstream body it did not foresee) is :class:`UnexpectedPayload`: never cached, and
    nothing but a :class:`DlnufError` leaves the public API for an upstream body."""
    try:
        return src.parse(kind, ident, response)
    except DlnufError:
        raise
    except Exception as exc:  # an untrusted body must not crash the caller
        log.warning("%s.parse failed on a %s answer: %s", src.name, kind.__name__, type(exc))
        raise UnexpectedPayload(
            f"{src.name} answered a {kind.__name__} payload dlnuf cannot read "
            f"({type(exc).__name__})",
            source=src.name,
            status=response.status_code,
        ) from None


def _provider_failed(error: DlnufError) -> bool:
    """Whether ``error`` says the upstream provider is down (not a quota or an in-flight 409)."""
    return isinstance(error, UpstreamUnavailable) and not isinstance(error, RequestInFlight)

