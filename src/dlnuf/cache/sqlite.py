"""The default cache: one SQLite file, shared by the threads and processes that open it.

Connections: one per thread (``threading.local``), not one shared behind a lock.
In WAL mode readers never block each other nor wait for a writer, and the
``sqlite3`` module releases the GIL while SQLite works, so a ``get`` in one
thread never queues behind a ``get`` or a ``set`` (and its disk write) in
another. A warm ``get`` is one attribute look-up plus one prepared statement
(the statement text is constant, so ``sqlite3`` reuses the compiled statement).
A thread's connection is closed when the thread ends, or by :meth:`close`.

The file may hold other ``dlnuf_*`` tables (the company answers); this module
only ever touches ``dlnuf_cache`` and never drops nor vacuums anything.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .._closing import Closing
from ..errors import ConfigurationError
from .base import CacheEntry, timestamp

__all__ = ["OPEN_WAIT", "PURGE_EVERY", "SQLiteCache"]

log = logging.getLogger("dlnuf.cache")

BUSY_TIMEOUT_MS = 5_000
"""How long a write waits for another connection's write to finish before failing."""

OPEN_WAIT = 30.0
"""How long opening waits for other processes setting up the same file."""

PURGE_EVERY = 500
"""Dead rows (past ``stale_until``) are deleted once every this many ``set`` calls."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS dlnuf_cache ("
    "key TEXT PRIMARY KEY, value BLOB NOT NULL, "
    "expires_at REAL NOT NULL, stale_until REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS dlnuf_cache_stale_until ON dlnuf_cache (stale_until)",
)
_GET = "SELECT value, expires_at, stale_until FROM dlnuf_cache WHERE key = ? AND stale_until > ?"
_SET = (
    "INSERT OR REPLACE INTO dlnuf_cache (key, value, expires_at, stale_until) "
    "VALUES (?, ?, ?, ?)"
)
_DELETE = "DELETE FROM dlnuf_cache WHERE key = ?"
_CLEAR = "DELETE FROM dlnuf_cache"
_PURGE = "DELETE FROM dlnuf_cache WHERE stale_until <= ?"


class _Slot:
    """Lives in one thread's local storage; its death (thread end) closes that connection."""

    __slots__ = ("__weakref__",)


class SQLiteCache(Closing):
    """A persistent cache in the SQLite file at ``path`` (parent directories are created).

    Safe to share between threads, and between processes opening the same file
    (WAL journal, writers wait up to :data:`BUSY_TIMEOUT_MS` for each other).
    A new file is created readable by its owner only. ``clock`` (returning an
    aware datetime) replaces the system clock, for tests.

    A file that is not a SQLite database, or a damaged one, is moved aside as
    ``<name>.corrupt-<time>-<pid>`` with a warning, and a new cache starts (nothing
    is deleted). Raises :class:`~dlnuf.errors.ConfigurationError` when the file
    cannot be created, opened or moved aside.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.path = Path(path).expanduser()
        if str(path) == ":memory:":
            raise ConfigurationError(
                "SQLiteCache needs a file, not ':memory:'; use MemoryCache for an in-memory cache"
            )
        self._time: Callable[[], float] = time.time
        if clock is not None:
            self._time = lambda: timestamp(clock())
        self._local = threading.local()
        self._lock = threading.Lock()  # guards _finalizers and _closed, never the hot path
        self._finalizers: list[weakref.finalize[[], _Slot]] = []
        self._closed = False
        self._sets = itertools.count(1)
        self._create_file()
        try:
            self._setup()
        except (sqlite3.Error, ConfigurationError) as exc:
            cause = exc if isinstance(exc, sqlite3.Error) else exc.__cause__
            if not isinstance(cause, sqlite3.DatabaseError) or not _corrupt(cause):
                self.close()
                if isinstance(exc, ConfigurationError):
                    raise
                raise self._unusable(exc) from exc
            self._move_aside(cause)
            try:
                self._create_file()
                self._setup()
            except sqlite3.Error as again:
                self.close()
                raise self._unusable(again) from again
        _LIVE.add(self)

    def _setup(self) -> None:
        """WAL mode, the table, a purge: retried while another process holds the lock
        (8 processes opening a new file at once), up to :data:`OPEN_WAIT` seconds."""
        give_up = time.monotonic() + OPEN_WAIT
        while True:
            conn = self._conn()
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()
                if mode is None or str(mode[0]).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(_PURGE, (self._time(),))
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc) or time.monotonic() > give_up:
                    raise
            time.sleep(0.005 + random.random() * 0.02)  # noqa: S311 - jitter, not a secret

    def _move_aside(self, exc: sqlite3.Error) -> None:
        """Rename the damaged file (and its WAL) to ``<name>.corrupt-<time>``, with a
        warning: a cache is disposable, so the client starts on a new file; nothing is
        deleted."""
        self._drop_connections()
        aside = self.path.with_name(
            f"{self.path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}"
        )
        try:
            if os.stat(self.path).st_ino != self._inode:
                return  # another process moved it aside already and made a new one
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            return
        except OSError as move:
            raise ConfigurationError(
                f"the cache file {self.path} is damaged ({exc}) and could not be moved aside "
                f"({move.strerror or move}): move or remove it, or choose another path "
                "(DLNUF_CACHE=sqlite:////path/to/cache.db, or cache='memory')."
            ) from None
        log.warning(
            "the cache file %s was damaged (%s): moved aside to %s, a new cache starts "
            "empty (remove the old one once you no longer need it)", self.path, exc, aside,
        )

    # -- the Cache protocol ---------------------------------------------------------------

    def get(self, key: str) -> CacheEntry | None:
        """The entry under ``key`` (fresh or stale), or ``None`` if absent or dead."""
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            conn = self._thread_connection()
        row = conn.execute(_GET, (key, self._time())).fetchone()
        if row is None:
            return None
        return CacheEntry(
            row[0], datetime.fromtimestamp(row[1], UTC), datetime.fromtimestamp(row[2], UTC)
        )

    def set(
        self, key: str, value: bytes, *, expires_at: datetime, stale_until: datetime
    ) -> None:
        """Store ``value`` under ``key`` (replacing it); dead rows are purged now and then."""
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            conn = self._thread_connection()
        expires = timestamp(expires_at)
        stale = max(timestamp(stale_until), expires)
        conn.execute(_SET, (key, value, expires, stale))
        if next(self._sets) % PURGE_EVERY == 0:
            conn.execute(_PURGE, (self._time(),))

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error if absent)."""
        self._conn().execute(_DELETE, (key,))

    def clear(self) -> None:
        """Forget every cached entry (other tables in the file are left alone)."""
        self._conn().execute(_CLEAR)

    def purge(self) -> int:
        """Delete the rows past ``stale_until`` now; returns how many were deleted."""
        return self._conn().execute(_PURGE, (self._time(),)).rowcount

    def close(self) -> None:
        """Close every connection this cache opened. Idempotent; the cache is unusable after."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            finalizers, self._finalizers = self._finalizers, []
            self._local = threading.local()
        for finalizer in finalizers:
            finalizer()
        _LIVE.discard(self)

    def __repr__(self) -> str:
        return f"SQLiteCache({str(self.path)!r})"

    # -- connections ----------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        try:
            conn: sqlite3.Connection = self._local.conn
        except AttributeError:
            conn = self._thread_connection()
        return conn

    def _thread_connection(self) -> sqlite3.Connection:
        """Open this thread's connection (first use in the thread)."""
        with self._lock:
            if self._closed:
                raise ConfigurationError(f"the cache at {self.path} is closed; open a new one")
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,  # autocommit: each statement is its own transaction
                    check_same_thread=False,  # so that close() may close it from any thread
                )
            except sqlite3.Error as exc:
                raise self._unusable(exc) from exc
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                # WAL + NORMAL: no fsync per commit; a power cut may lose the last entries,
                # never corrupt the file. Right for a cache.
                conn.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as exc:
                conn.close()
                raise self._unusable(exc) from exc
            slot = _Slot()
            self._finalizers = [f for f in self._finalizers if f.alive]
            self._finalizers.append(weakref.finalize(slot, conn.close))
            local = self._local
            local.conn = conn
            local.slot = slot
            return conn

    def _drop_connections(self) -> None:
        with self._lock:
            finalizers, self._finalizers = self._finalizers, []
            self._local = threading.local()
        for finalizer in finalizers:
            finalizer()

    def _create_file(self) -> None:
        self._inode = -1
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Cached facts may be protected data: a new file is private to its owner.
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            with contextlib.suppress(OSError):
                self._inode = os.stat(self.path).st_ino
            return
        except OSError as exc:
            raise ConfigurationError(
                f"cannot create the cache file {self.path}: {exc.strerror or exc}. "
                "Choose a writable location (DLNUF_CACHE=sqlite:////path/to/cache.db), "
                "or use cache='memory' or no cache."
            ) from exc
        self._inode = os.fstat(fd).st_ino
        os.close(fd)

    def _unusable(self, exc: sqlite3.Error) -> ConfigurationError:
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            what = "it is not a SQLite database. Remove or rename that file, or choose another"
        else:
            what = f"{exc}. Check that it is a writable SQLite file, or choose another"
        return ConfigurationError(
            f"cannot use {self.path} as the dlnuf cache: {what} "
            "path (DLNUF_CACHE=sqlite:////path/to/cache.db, or cache='memory')."
        )

    def _forget_inherited(self) -> None:
        """In a forked child: never use nor close the parent's connections; open new ones."""
        for finalizer in self._finalizers:
            info = finalizer.detach()
            if info is not None:
                _INHERITED.append(info[1])  # conn.close, bound: keeps the connection open
        self._finalizers = []
        self._lock = threading.Lock()
        self._local = threading.local()


def _busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


# A connection must not cross a fork (SQLite's rule): children start with fresh ones.
_LIVE: weakref.WeakSet[SQLiteCache] = weakref.WeakSet()
_INHERITED: list[object] = []


def _after_fork_in_child() -> None:
    for cache in list(_LIVE):
        with contextlib.suppress(Exception):
            cache._forget_inherited()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
