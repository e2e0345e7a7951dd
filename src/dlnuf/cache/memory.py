"""An in-process cache on :class:`cachetools.TLRUCache`: fast, bounded, gone at exit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cachetools import TLRUCache

from .._closing import Closing
from ..errors import ConfigurationError
from .aio import AsyncMemoryCache
from .base import CacheEntry, timestamp

__all__ = ["MemoryCache"]


def _time_to_use(_key: str, entry: CacheEntry, _now: float) -> float:
    # An entry stays in the cache while it may still be served, fresh or stale.
    return timestamp(entry.stale_until)


class MemoryCache(Closing):
    """A cache held in this process's memory, shared by its threads.

    At most ``maxsize`` entries are kept; when full, the least recently used
    one is evicted. An entry is dropped once past its ``stale_until``. ``clock``
    (returning an aware datetime) replaces the system clock, for tests.
    """

    def __init__(
        self, maxsize: int = 10_000, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        if maxsize < 1:
            raise ConfigurationError(f"MemoryCache maxsize must be at least 1, not {maxsize}")
        timer: Callable[[], float] = time.time
        if clock is not None:
            timer = lambda: timestamp(clock())  # noqa: E731
        self.maxsize = maxsize
        self._data: TLRUCache[str, CacheEntry] = TLRUCache(maxsize, _time_to_use, timer=timer)
        self._timer = timer
        # cachetools caches are not thread-safe: even a read reorders the LRU list.
        self._lock = threading.Lock()
        self._closed = False

    def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` (fresh or stale), or ``None`` if absent or dead."""
        with self._lock:
            if self._closed:
                raise _closed()
            return self._data.get(key)

    keeps_objects = True
    """Entries stay in this process: ``set`` may be given what the value decodes to."""

    def set(
        self,
        key: str,
        value: bytes,
        *,
        expires_at: datetime,
        stale_until: datetime,
        decoded: Any = None,
    ) -> None:
        """Store ``value`` (and ``decoded``, what it decodes to, kept for the next hits);
        an entry already dead at ``stale_until`` replaces nothing."""
        entry = CacheEntry(value, expires_at, max(stale_until, expires_at), decoded)
        with self._lock:
            if self._closed:
                raise _closed()
            if timestamp(entry.stale_until) <= self._timer():
                self._data.pop(key, None)
            else:
                self._data[key] = entry

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error if absent)."""
        with self._lock:
            if self._closed:
                raise _closed()
            self._data.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            if self._closed:
                raise _closed()
            self._data.clear()

    def close(self) -> None:
        """Drop every entry; the cache cannot be used afterwards. Idempotent."""
        with self._lock:
            self._closed = True
            self._data.clear()

    def async_twin(self) -> AsyncMemoryCache:
        """The asyncio twin: the same entries, called inline (see :mod:`dlnuf.cache.aio`)."""
        return AsyncMemoryCache(self)

    def __repr__(self) -> str:
        return f"MemoryCache(maxsize={self.maxsize})"


def _closed() -> ConfigurationError:
    return ConfigurationError("this MemoryCache is closed; open a new one")
