"""The cache protocol every backend implements, and how keys are made."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

__all__ = ["AsyncCache", "Cache", "CacheEntry", "cache_key", "timestamp"]


@dataclass(frozen=True)
class CacheEntry:
    """A cached value: fresh until ``expires_at``, servable as stale until ``stale_until``."""

    value: bytes
    expires_at: datetime
    stale_until: datetime
    decoded: Any = field(default=None, compare=False, repr=False)
    """What the client decoded from ``value`` (a memo, not part of the entry's value).

    An in-process backend that keeps its entries (the memory cache) thereby serves
    every later hit of the entry without decoding it again; a backend that builds a
    new entry on each read (SQLite, Redis) simply loses it."""

    def is_fresh(self, now: datetime) -> bool:
        """Whether the entry may be served as fresh at ``now``."""
        return now < self.expires_at

    def remember(self, decoded: Any) -> None:
        """Keep ``decoded`` (what ``value`` decodes to) on the entry, for the next hit."""
        object.__setattr__(self, "decoded", decoded)


@runtime_checkable
class Cache(Protocol):
    """Storage with expiry. Backends: memory, SQLite (default), Redis.

    ``get`` returns entries that are expired but still within ``stale_until``
    (the client serves them only when the upstream fails), and ``None`` for
    absent or fully dead entries. Values are opaque bytes: the client stores
    serialised facts, never secrets.
    """

    def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key``, or ``None``."""
        ...

    def set(
        self, key: str, value: bytes, *, expires_at: datetime, stale_until: datetime
    ) -> None:
        """Store ``value`` under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error if absent)."""
        ...

    def clear(self) -> None:
        """Forget everything."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class AsyncCache(Protocol):
    """The asyncio twin of :class:`Cache`: the same calls, awaited, never blocking the
    event loop (:class:`~dlnuf.AsyncClient` uses one; see :func:`dlnuf.cache.as_async`)."""

    async def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key``, or ``None``."""
        ...

    async def set(
        self, key: str, value: bytes, *, expires_at: datetime, stale_until: datetime
    ) -> None:
        """Store ``value`` under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (no error if absent)."""
        ...

    async def clear(self) -> None:
        """Forget everything."""
        ...

    async def aclose(self) -> None:
        """Release the connections this twin opened (not those of the sync cache it
        was made from: closing that one is its owner's job)."""
        ...


def cache_key(source: str, scope: str, kind: str, ident: str) -> str:
    """The key of one fact: ``dlnuf:v1:<source>:<scope>:<kind>:<identifier>``.

    Never built from anything secret: a token or API key is not part of it.
    """
    return f"dlnuf:v1:{source}:{scope}:{kind}:{ident}"


def timestamp(moment: datetime) -> float:
    """Unix seconds of ``moment``; a naive datetime is taken as UTC (backends store these)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
