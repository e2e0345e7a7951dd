"""Caches of facts: the protocol, the memory and SQLite backends, the expiry policy.

:func:`open_cache` turns a cache URL (``Settings.cache``, ``$DLNUF_CACHE``,
``dlnuf --cache``) into a backend. Every backend has an asyncio twin
(:class:`AsyncCache`, made by :func:`as_async`) that :class:`~dlnuf.AsyncClient`
awaits: the memory cache inline, SQLite in worker threads, Redis on
``redis.asyncio`` (:class:`~dlnuf.cache.redis.AsyncRedisCache`).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from ..errors import ConfigurationError
from .aio import AsyncMemoryCache, ThreadedCache, as_async
from .base import AsyncCache, Cache, CacheEntry, cache_key
from .memory import MemoryCache
from .policy import CachePolicy
from .sqlite import SQLiteCache

__all__ = [
    "AsyncCache",
    "AsyncMemoryCache",
    "Cache",
    "CacheEntry",
    "CachePolicy",
    "MemoryCache",
    "SQLiteCache",
    "ThreadedCache",
    "as_async",
    "cache_key",
    "cache_target",
    "default_cache_path",
    "open_cache",
]

ACCEPTED = (
    "None (no cache), 'memory', 'sqlite' (the default file), "
    "'sqlite:///relative/path.db', 'sqlite:////absolute/path.db', 'sqlite:///~/path.db', "
    "'redis://host:port/db' or 'rediss://...'"
)


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/dlnuf/cache.db``, else ``~/.cache/dlnuf/cache.db``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "dlnuf" / "cache.db"


def open_cache(url: str | None) -> Cache | None:
    """The cache backend a URL names; ``None`` means no cache.

    ``"memory"`` / ``"memory://"``: :class:`MemoryCache`. ``"sqlite"``:
    :class:`SQLiteCache` at :func:`default_cache_path`. ``"sqlite:///rel.db"``
    (relative), ``"sqlite:////abs.db"`` (absolute), ``"sqlite:///~/c.db"`` (home).
    ``"redis://..."`` / ``"rediss://..."``: the Redis backend (``dlnuf[redis]``).
    Anything else raises :class:`~dlnuf.errors.ConfigurationError`.
    """
    target = cache_target(url)
    if target is None:
        return None
    backend, where = target
    if backend == "memory":
        return MemoryCache()
    if backend == "sqlite":
        return SQLiteCache(where)
    return _open_redis(str(where))


def cache_target(url: str | None) -> tuple[str, Path | str] | None:
    """What a cache URL names, without opening it: ``("memory", "")``, ``("sqlite",
    file)`` or ``("redis", url)``; ``None`` for no cache. A bad URL raises
    :class:`~dlnuf.errors.ConfigurationError` (see :func:`open_cache`)."""
    if url is None:
        return None
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep:
        if scheme == "memory":
            return "memory", ""
        if scheme == "sqlite":
            return "sqlite", default_cache_path()
    elif scheme == "memory" and not rest:
        return "memory", ""
    elif scheme == "sqlite" and rest.startswith("/") and len(rest) > 1:
        # SQLAlchemy's convention: sqlite:/// + path, so an absolute path has four slashes.
        return "sqlite", Path(rest[1:]).expanduser()
    elif scheme in ("redis", "rediss"):
        return "redis", text
    raise ConfigurationError(f"unsupported cache URL {_redact(text)!r}; use one of: {ACCEPTED}")


def _open_redis(url: str) -> Cache:
    try:
        module = importlib.import_module("dlnuf.cache.redis")
    except ImportError as exc:
        raise ConfigurationError(
            f"Redis cache needs `pip install dlnuf[redis]` (import failed: {exc})"
        ) from exc
    cache: Cache = module.RedisCache.from_url(url)
    return cache


def _redact(url: str) -> str:
    """``url`` without the credentials it may carry (``scheme://user:secret@host``)."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, sep, _ = head.partition("://")
    return f"{scheme}{sep}***@{tail}" if sep else f"***@{tail}"
