"""A cache in Redis, shared by every process and machine that uses the same server.

``open_cache("redis://host:6379/0")`` (or ``DLNUF_CACHE``) builds a
:class:`RedisCache`; it needs the ``redis`` extra (``pip install dlnuf[redis]``).
Each entry is one Redis string under the key the client gives
(``dlnuf:v1:<source>:<scope>:<kind>:<identifier>``): 16 bytes of expiry
(``expires_at``, ``stale_until``) then the value. Redis drops the key itself at
``stale_until``.

Redis unreachable when the cache is opened: :class:`~dlnuf.errors.ConfigurationError`
naming the URL (without its password) and how to start Redis. Add
``?fallback=local`` to the URL (or ``fallback="local"``) to use an in-process
:class:`~dlnuf.cache.MemoryCache` instead, with a warning, whenever Redis does
not answer; otherwise a lost connection is an
:class:`~dlnuf.errors.UpstreamUnavailable` (the client logs it and carries on
without the cache).

:class:`AsyncRedisCache` is the asyncio twin (what :class:`~dlnuf.AsyncClient`
awaits): the same entries through ``redis.asyncio``, sharing the sync cache's
local fallback and its view of whether Redis is down (:class:`AsyncRedisLink`).
"""

from __future__ import annotations

import logging
import math
import struct
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio

from .._closing import Closing
from ..errors import ConfigurationError, UpstreamUnavailable
from . import _redact
from .base import CacheEntry, timestamp
from .memory import MemoryCache

__all__ = [
    "CACHE_KEYS",
    "DOWN",
    "HOW_TO_START",
    "AsyncRedisCache",
    "AsyncRedisLink",
    "RedisCache",
    "RedisLink",
    "how_to_start",
]

log = logging.getLogger("dlnuf.cache")

T = TypeVar("T")

HOW_TO_START = (
    "start one with `redis-server --port 6379 --bind 127.0.0.1 --save '' --daemonize yes` "
    "(Debian/Ubuntu package redis-server)"
)


def how_to_start(url: str) -> str:
    """:data:`HOW_TO_START` for the port ``url`` names (6379 when it names none)."""
    try:
        port = urlsplit(url).port or 6379
    except ValueError:
        port = 6379
    return HOW_TO_START.replace("--port 6379", f"--port {port}")


CACHE_KEYS = "dlnuf:v[0-9]*"
"""The keys :meth:`RedisCache.clear` deletes: the client's cache keys, nothing else."""

_HEADER = struct.Struct("!dd")
_FALLBACKS = ("local",)
_CLIENT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 2.0, "socket_timeout": 2.0, "health_check_interval": 30,
}


class _Down(Enum):
    DOWN = "down"


DOWN: Final = _Down.DOWN
"""What :meth:`RedisLink.call` returns while Redis is down and a local fallback is set."""


class RedisLink:
    """One Redis client with what a lost connection means: an error, or a local fallback.

    Shared by :class:`RedisCache` and :class:`~dlnuf.ratelimit_redis.RedisRateLimiter`.
    With ``local_fallback``, :meth:`call` returns :data:`DOWN` while Redis is down (and
    does not try it again for a few seconds); the owner then uses its local stand-in.
    """

    def __init__(
        self, client: redis.Redis, url: str, *, local_fallback: bool, retry_after: float = 5.0
    ) -> None:
        self.client = client
        """The redis-py client (thread-safe, connection pool)."""
        self._url = url  # with its password: only to open the asyncio twin's connections
        self.url = _redact(url)
        """The URL, without its password."""
        self.local_fallback = local_fallback
        self.retry_after = retry_after
        """While Redis is down, seconds between two attempts to reach it again."""
        self.down = False
        """Whether Redis was found down (the local fallback answers meanwhile)."""
        self._next_try = 0.0
        self._lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, fallback: str | None = None, what: str = "cache") -> RedisLink:
        """Connect to ``url`` (``?fallback=local`` is read and removed) and ping it.

        Raises :class:`ConfigurationError` when the URL is wrong, or when Redis does
        not answer and no fallback is configured.
        """
        plain, fallback = _split_fallback(url, fallback)
        try:
            client = redis.Redis.from_url(plain, **_CLIENT_OPTIONS)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"invalid Redis URL {_redact(url)!r} for the dlnuf {what}: {exc}"
            ) from None
        link = cls(client, plain, local_fallback=fallback == "local")
        try:
            client.ping()
        except redis.RedisError as exc:
            if not link.local_fallback:
                raise ConfigurationError(
                    f"cannot reach Redis at {link.url} for the dlnuf {what} "
                    f"({type(exc).__name__}: {exc}): {how_to_start(plain)}, or add "
                    "?fallback=local "
                    "to the URL to use a local one when Redis is down"
                ) from None
            link._went_down(exc, what)
        return link

    def call(self, op: Callable[[redis.Redis], T], what: str) -> T | Literal[_Down.DOWN]:
        """``op(client)``; :data:`DOWN` when Redis is down and a local fallback is set.

        Raises :class:`UpstreamUnavailable` when Redis is down and no fallback is.
        """
        if self.resting():
            return DOWN
        try:
            result = op(self.client)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            return self.lost(exc, what)
        self.answered(what)
        return result

    # The decisions around a call, shared with the asyncio twin (AsyncRedisLink).

    def resting(self) -> bool:
        """Whether Redis was found down too recently to be tried again (use the fallback)."""
        return self.down and time.monotonic() < self._next_try

    def lost(self, exc: Exception, what: str) -> Literal[_Down.DOWN]:
        """A call found Redis unreachable: :data:`DOWN` with a local fallback, else
        :class:`UpstreamUnavailable` (raised)."""
        if not self.local_fallback:
            raise UpstreamUnavailable(
                f"Redis at {self.url} did not answer for the dlnuf {what} "
                f"({type(exc).__name__}): {how_to_start(self.url)}, or add ?fallback=local",
                source="redis",
            ) from None
        self._went_down(exc, what)
        return DOWN

    def answered(self, what: str) -> None:
        """A call got through: Redis is up (again)."""
        if self.down:
            with self._lock:
                back, self.down = self.down, False
            if back:
                log.warning("Redis at %s answers again: the %s is shared again", self.url, what)

    def _went_down(self, exc: Exception, what: str) -> None:
        with self._lock:
            first, self.down = not self.down, True
            self._next_try = time.monotonic() + self.retry_after
        if first:
            log.warning(
                "Redis at %s does not answer (%s): using a local %s instead, "
                "not shared with other processes, until it is back",
                self.url, type(exc).__name__, what,
            )

    def close(self) -> None:
        """Close the connections."""
        self.client.close()


class AsyncRedisLink:
    """The asyncio twin of a :class:`RedisLink`: a ``redis.asyncio`` client on the same
    server, sharing the sync link's fallback setting and its view of whether Redis is
    down (a lost connection seen by either side switches both to the local stand-in)."""

    def __init__(self, link: RedisLink) -> None:
        self.sync = link
        """The sync link whose server, fallback and state this twin shares."""
        self.client: redis.asyncio.Redis = redis.asyncio.Redis.from_url(
            link._url, **_CLIENT_OPTIONS
        )
        """The ``redis.asyncio`` client (connections are made on first use, in the loop
        that uses it)."""
        self.url = link.url

    async def call(
        self, op: Callable[[redis.asyncio.Redis], Awaitable[T]], what: str
    ) -> T | Literal[_Down.DOWN]:
        """``await op(client)``; :data:`DOWN` when Redis is down and a local fallback is
        set, else :class:`UpstreamUnavailable` (see :meth:`RedisLink.call`)."""
        link = self.sync
        if link.resting():
            return DOWN
        try:
            result = await op(self.client)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            return link.lost(exc, what)
        link.answered(what)
        return result

    async def aclose(self) -> None:
        """Close this twin's connections (the sync link's stay open)."""
        await self.client.aclose()


def _split_fallback(url: str, fallback: str | None) -> tuple[str, str | None]:
    parts = urlsplit(url.strip())
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = [v for k, v in query if k == "fallback"]
    if given:
        fallback = fallback or given[-1]
    if fallback not in (None, *_FALLBACKS):
        raise ConfigurationError(
            f"unknown Redis fallback {fallback!r}: use fallback=local, or none at all"
        )
    rest = urlencode([(k, v) for k, v in query if k != "fallback"])
    return urlunsplit(parts._replace(query=rest)), fallback


class RedisCache(Closing):
    """A :class:`~dlnuf.cache.Cache` in Redis, safe to share between threads, processes
    and machines.

    Build it with :meth:`from_url`. Keys are stored as given; Redis expires each
    one at its ``stale_until``. :meth:`clear` deletes the client's cache keys
    (:data:`CACHE_KEYS`) and nothing else in the database.
    """

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        """The connection to Redis."""
        self._local = MemoryCache()

    @classmethod
    def from_url(cls, url: str, *, fallback: str | None = None) -> RedisCache:
        """The cache at ``redis://[user:password@]host:port/db`` (``rediss://`` for TLS).

        ``fallback="local"`` (or ``?fallback=local`` in the URL) serves from memory
        while Redis is down instead of failing.
        """
        return cls(RedisLink.open(url, fallback=fallback, what="cache"))

    def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` (fresh or stale), or ``None`` if absent or dead."""
        blob = self.link.call(lambda r: r.get(key), "cache")
        if blob is DOWN:
            return self._local.get(key)
        return _entry(blob)

    def set(
        self, key: str, value: bytes, *, expires_at: datetime, stale_until: datetime
    ) -> None:
        """Store ``value``; Redis drops it at ``stale_until`` (a dead entry replaces nothing)."""
        blob, stale = _blob(value, expires_at, stale_until)

        def store(r: redis.Redis) -> Any:
            if stale <= time.time():
                return r.delete(key)
            return r.set(key, blob, pxat=math.ceil(stale * 1000))

        if self.link.call(store, "cache") is DOWN:
            self._local.set(key, value, expires_at=expires_at, stale_until=stale_until)

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error if absent)."""
        self.link.call(lambda r: r.delete(key), "cache")
        self._local.delete(key)

    def clear(self) -> None:
        """Delete every cache key of dlnuf (:data:`CACHE_KEYS`) in this database."""

        def unlink_all(r: redis.Redis) -> int:
            batch: list[bytes] = []
            for key in r.scan_iter(match=CACHE_KEYS, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    r.unlink(*batch)
                    batch.clear()
            if batch:
                r.unlink(*batch)
            return 0

        self.link.call(unlink_all, "cache")
        self._local.clear()

    def close(self) -> None:
        """Close the connections."""
        self.link.close()

    def async_twin(self) -> AsyncRedisCache:
        """The asyncio twin: the same entries through ``redis.asyncio``."""
        return AsyncRedisCache(self)

    def __repr__(self) -> str:
        return f"RedisCache({self.link.url!r})"


class AsyncRedisCache:
    """The asyncio twin of a :class:`RedisCache` (an :class:`~dlnuf.cache.AsyncCache`):
    the same keys and values through ``redis.asyncio``, so that
    :class:`~dlnuf.AsyncClient` never blocks its event loop on Redis.

    Made from the sync cache (``RedisCache.async_twin()``, or :meth:`from_url`, which
    opens one and pings Redis once, blocking, like building the client). It shares
    that cache's local fallback and its view of whether Redis is down.
    """

    inline = False

    def __init__(self, cache: RedisCache) -> None:
        self.sync = cache
        """The sync cache this twin shares its server and fallback with."""
        self.link = AsyncRedisLink(cache.link)
        """The asyncio connection to Redis."""

    @classmethod
    def from_url(cls, url: str, *, fallback: str | None = None) -> AsyncRedisCache:
        """The twin of :meth:`RedisCache.from_url` (same URL, same ``fallback``)."""
        return cls(RedisCache.from_url(url, fallback=fallback))

    async def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` (fresh or stale), or ``None`` if absent or dead."""

        async def read(r: redis.asyncio.Redis) -> Any:
            return await r.get(key)

        blob = await self.link.call(read, "cache")
        if blob is DOWN:
            return self.sync._local.get(key)
        return _entry(blob)

    async def set(
        self, key: str, value: bytes, *, expires_at: datetime, stale_until: datetime
    ) -> None:
        """Store ``value``; Redis drops it at ``stale_until``."""
        blob, stale = _blob(value, expires_at, stale_until)

        async def store(r: redis.asyncio.Redis) -> Any:
            if stale <= time.time():
                return await r.delete(key)
            return await r.set(key, blob, pxat=math.ceil(stale * 1000))

        if await self.link.call(store, "cache") is DOWN:
            self.sync._local.set(key, value, expires_at=expires_at, stale_until=stale_until)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (no error if absent)."""

        async def forget(r: redis.asyncio.Redis) -> Any:
            return await r.delete(key)

        await self.link.call(forget, "cache")
        self.sync._local.delete(key)

    async def clear(self) -> None:
        """Delete every cache key of dlnuf (:data:`CACHE_KEYS`) in this database."""

        async def unlink_all(r: redis.asyncio.Redis) -> int:
            batch: list[bytes] = []
            async for key in r.scan_iter(match=CACHE_KEYS, count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    await r.unlink(*batch)
                    batch.clear()
            if batch:
                await r.unlink(*batch)
            return 0

        await self.link.call(unlink_all, "cache")
        self.sync._local.clear()

    async def aclose(self) -> None:
        """Close this twin's connections (the sync cache's are closed by its owner)."""
        await self.link.aclose()

    def __repr__(self) -> str:
        return f"AsyncRedisCache({self.link.url!r})"


def _entry(blob: object) -> CacheEntry | None:
    """The entry a stored value holds (16 bytes of expiry, then the value), or ``None``
    when it is absent, malformed or dead."""
    if not isinstance(blob, bytes) or len(blob) < _HEADER.size:
        return None
    expires, stale = _HEADER.unpack_from(blob)
    if stale <= time.time():
        return None
    return CacheEntry(
        blob[_HEADER.size :],
        datetime.fromtimestamp(expires, UTC),
        datetime.fromtimestamp(stale, UTC),
    )


def _blob(value: bytes, expires_at: datetime, stale_until: datetime) -> tuple[bytes, float]:
    """What is stored for ``value``, and when Redis drops it (Unix seconds)."""
    expires = timestamp(expires_at)
    stale = max(timestamp(stale_until), expires)
    return _HEADER.pack(expires, stale) + value, stale
