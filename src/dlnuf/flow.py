"""The lookup logic, written once, without I/O: a generator that yields fetches.

``lookup(core, kind, ident)`` is a generator. It yields a :class:`Fetch` each
time it needs the network; the driver (sync in :class:`~dlnuf.Client`, async in
:class:`~dlnuf.AsyncClient`) sends the request through the transport and sends
the response back in, or throws the mapped :class:`~dlnuf.DlnufError` in. The
generator owns everything else: cache look-up, source priority and fallback,
negative caching, stale-if-error, expiry. That is what keeps the sync and async
clients identical in behaviour.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from .cache.base import Cache, CacheEntry, cache_key
from .cache.policy import CachePolicy
from .config import Settings
from .errors import (
    DlnufError,
    InvalidSiret,
    NotFound,
    UnsupportedKind,
)
from .facts.base import Fact, utcnow
from .identifiers import Siren, Siret, parse_siret_or_siren
from .ratelimit import Quota
from .sources.base import Identifier, Source

__all__ = ["Core", "Fetch", "Flow", "coerce_identifier"]

log = logging.getLogger("dlnuf.client")

F = TypeVar("F", bound=Fact)

_NOT_FOUND = b'{"__dlnuf_not_found__":true}'


@dataclass(frozen=True)
class Fetch:
    """One request the flow needs sent: the driver answers with the response."""

    source: Source
    request: httpx.Request
    quota: Quota


Flow = Generator[Fetch, httpx.Response, F]
"""A lookup in progress: yields fetches, receives responses, returns a fact."""


def coerce_identifier(kind: type[Fact], value: object) -> Identifier:
    """Parse ``value`` as the identifier ``kind`` is looked up by.

    SIREN-level kinds accept a SIRET (its SIREN is used); SIRET-level kinds
    need a SIRET and say so when given a SIREN.
    """
    ident = parse_siret_or_siren(value)
    if kind.level == "siren":
        return ident.siren if isinstance(ident, Siret) else ident
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

    def resolve(self, kind: type[Fact], only: str | None = None) -> list[Source]:
        """The configured sources that provide ``kind``, in priority order."""
        found = [
            s for s in self.sources if kind in s.provides and (only is None or s.name == only)
        ]
        if not found:
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

    def lookup(self, kind: type[F], value: object, *, source: str | None = None) -> Flow[F]:
        """The flow that answers ``kind`` for ``value`` (validated before any I/O)."""
        ident = coerce_identifier(kind, value)
        sources = self.resolve(kind, source)
        return self._lookup(kind, ident, sources)

    def _lookup(self, kind: type[F], ident: Identifier, sources: list[Source]) -> Flow[F]:
        last_error: DlnufError | None = None
        stale: F | None = None
        for src in sources:
            key = cache_key(src.name, src.scope, kind.__name__, ident)
            entry = self._cache_get(key)
            now = utcnow()
            if entry is not None:
                cached = self._decode(kind, entry, key)
                if entry.is_fresh(now):
                    if cached is None and entry.value == _NOT_FOUND:
                        raise NotFound(
                            f"{src.name} does not know {ident} (cached answer, "
                            f"until {entry.expires_at:%Y-%m-%d %H:%M} UTC)",
                            source=src.name,
                            status=404,
                        )
                    if cached is not None:
                        return cached.with_provenance(from_cache=True, stale=False)
                elif cached is not None and stale is None:
                    stale = cached
            try:
                request = src.request(kind, ident)
                response = yield Fetch(src, request, src.quota(kind))
                fact = src.parse(kind, ident, response)
            except NotFound:
                self._cache_set(key, _NOT_FOUND, *self.policy.not_found_expiry(utcnow()))
                raise
            except DlnufError as exc:
                if not exc.transient:
                    raise
                log.info("%s failed transiently for %s: %s", src.name, kind.__name__, exc)
                last_error = exc
                continue
            if not isinstance(fact, kind):
                raise TypeError(f"{src.name}.parse returned {type(fact).__name__} for {kind}")
            expires_at, stale_until = self.policy.expiry(kind, fact, now)
            fact = fact.with_provenance(expires_at=expires_at)
            self._cache_set(key, fact.model_dump_json().encode(), expires_at, stale_until)
            return fact
        if stale is not None and self.settings.stale_if_error:
            log.warning("serving a stale %s for %s: %s", kind.__name__, ident, last_error)
            return stale.with_provenance(from_cache=True, stale=True)
        assert last_error is not None  # noqa: S101 - every source either returned or set it
        raise last_error

    # -- cache plumbing: a broken cache never breaks a lookup ------------------------------

    def _cache_get(self, key: str) -> CacheEntry | None:
        if self.cache is None:
            return None
        try:
            return self.cache.get(key)
        except Exception:
            log.exception("cache read failed for %s", key)
            return None

    def _cache_set(self, key: str, value: bytes, expires_at: Any, stale_until: Any) -> None:
        if self.cache is None:
            return
        try:
            self.cache.set(key, value, expires_at=expires_at, stale_until=stale_until)
        except Exception:
            log.exception("cache write failed for %s", key)

    def _decode(self, kind: type[F], entry: CacheEntry, key: str) -> F | None:
        if entry.value == _NOT_FOUND:
            return None
        try:
            return kind.model_validate_json(entry.value)
        except (ValidationError, json.JSONDecodeError, ValueError):
            # Written by another version of dlnuf, or damaged: forget it.
            log.warning("dropping unreadable cache entry %s", key)
            if self.cache is not None:
                self.cache.delete(key)
            return None
