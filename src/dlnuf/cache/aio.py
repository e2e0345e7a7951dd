"""The asyncio twins of the caches: what :class:`~dlnuf.AsyncClient` awaits.

Each backend is written once; its twin is a thin shell around the same object:

- :class:`AsyncMemoryCache`: the memory cache never waits on anything, so its twin
  calls it inline (no thread hop, no copy: the same entries);
- :class:`ThreadedCache`: any blocking cache, each call in a worker thread. The
  SQLite cache's twin: ``SQLiteCache`` opens one connection per thread, so worker
  threads never share one (SQLite's rule), and WAL lets them read at once;
- :class:`~dlnuf.cache.redis.AsyncRedisCache`: ``redis.asyncio`` on the same server,
  sharing the sync cache's local fallback and its view of whether Redis is down.

:func:`as_async` picks the twin of a sync cache (a backend names its own with an
``async_twin()`` method; any other cache gets a :class:`ThreadedCache`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .base import AsyncCache, Cache, CacheEntry

if TYPE_CHECKING:
    from .memory import MemoryCache

__all__ = ["AsyncMemoryCache", "ThreadedCache", "as_async"]


class AsyncMemoryCache:
    """The twin of a :class:`~dlnuf.cache.MemoryCache`: the same entries, called inline
    (an in-process dict behind a lock held for microseconds never blocks the loop)."""

    keeps_objects = True
    """Entries stay in this process: ``set`` may be given what the value decodes to."""
    inline = True
    """Calls never wait on I/O: a driver may make them without awaiting."""

    def __init__(self, cache: MemoryCache) -> None:
        self.sync = cache
        """The memory cache this twin reads and writes."""

    async def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` (fresh or stale), or ``None``."""
        return self.sync.get(key)

    async def set(
        self,
        key: str,
        value: bytes,
        *,
        expires_at: datetime,
        stale_until: datetime,
        decoded: Any = None,
    ) -> None:
        """Store ``value`` (and ``decoded``, what it decodes to)."""
        self.sync.set(key, value, expires_at=expires_at, stale_until=stale_until, decoded=decoded)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.sync.delete(key)

    async def clear(self) -> None:
        """Forget everything."""
        self.sync.clear()

    async def aclose(self) -> None:
        """Nothing to release (the memory cache is closed by its owner)."""

    def __repr__(self) -> str:
        return f"AsyncMemoryCache({self.sync!r})"


class ThreadedCache:
    """The twin of any blocking :class:`~dlnuf.cache.Cache`: each call runs in a worker
    thread (``asyncio.to_thread``), so the event loop never waits on the disk or the
    network. The cache must be safe to call from several threads (every dlnuf backend
    is; the SQLite one opens a connection per thread)."""

    inline = False

    def __init__(self, cache: Cache) -> None:
        self.sync = cache
        """The blocking cache this twin calls."""

    async def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` (fresh or stale), or ``None``."""
        return await asyncio.to_thread(self.sync.get, key)

    async def set(
        self, key: str, value: bytes, *, expires_at: datetime, stale_until: datetime
    ) -> None:
        """Store ``value`` under ``key``."""
        await asyncio.to_thread(
            lambda: self.sync.set(key, value, expires_at=expires_at, stale_until=stale_until)
        )

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        await asyncio.to_thread(self.sync.delete, key)

    async def clear(self) -> None:
        """Forget everything."""
        await asyncio.to_thread(self.sync.clear)

    async def aclose(self) -> None:
        """Nothing to release (the blocking cache is closed by its owner)."""

    def __repr__(self) -> str:
        return f"ThreadedCache({self.sync!r})"


def as_async(cache: Cache) -> AsyncCache:
    """The asyncio twin of ``cache``: its own (``cache.async_twin()``: memory inline,
    Redis on ``redis.asyncio``), else a :class:`ThreadedCache` (SQLite, your own)."""
    twin = getattr(cache, "async_twin", None)
    if callable(twin):
        made: AsyncCache = twin()
        return made
    return ThreadedCache(cache)
