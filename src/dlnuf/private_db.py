"""A SQLite file of dlnuf's own that is no cache: the answer store, the supplier portfolio.

Both hold data about companies and persons, so they share one way of opening their file:
created private to its owner (folder ``0700``, file ``0600``), one connection per process
behind a lock (a forked child opens its own), write-ahead log, a busy timeout so that
processes wait for each other, and the subclass's schema. A file that cannot be used is
never removed: the error says where it is and what to do.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from ._closing import Closing
from .errors import ConfigurationError

__all__ = ["BUSY_TIMEOUT_MS", "PrivateDatabase", "create_private_file"]

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's write before failing."""


def create_private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable by its owner only; an existing file is kept."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class PrivateDatabase(Closing):
    """One private SQLite file (``path``), or an in-memory database (``path`` is ``None``).

    Subclasses name what the file is (:attr:`what`, for messages), give its
    :attr:`schema` and how durable a commit is (:attr:`synchronous`), and read and
    write through :meth:`_cursor` (or :meth:`transaction`).
    """

    what: ClassVar[str] = "a dlnuf database"
    """What the file is, in messages: ``cannot use <path> as <what>``."""
    schema: ClassVar[tuple[str, ...]] = ()
    """Statements run on every new connection (``CREATE TABLE IF NOT EXISTS``...)."""
    synchronous: ClassVar[str] = "FULL"
    """SQLite's ``synchronous`` pragma for the file (``FULL``: a commit survives a power cut)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._closed = False
        with self._lock:
            self._connection()

    def __repr__(self) -> str:
        where = str(self.path) if self.path is not None else ":memory:"
        return f"{type(self).__name__}({where!r})"

    def close(self) -> None:
        """Close the connection. Idempotent; the object is unusable afterwards."""
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None and self._pid == os.getpid():
                conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed or rolled back."""
        with self._cursor() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._connection()

    def _connection(self) -> sqlite3.Connection:
        """The connection of this process (a forked child opens its own)."""
        if self._closed:
            raise ConfigurationError(f"{self!r} is closed; open a new one")
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        self._pid = os.getpid()  # a connection never crosses a fork: open a new one
        if self.path is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            try:
                create_private_file(self.path)
            except OSError as exc:
                raise ConfigurationError(
                    f"cannot create {self.what} {self.path}: {exc.strerror or exc}"
                ) from exc
            try:
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                raise self._unusable(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path is not None:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            for statement in self.schema:
                conn.execute(statement)
        except sqlite3.Error as exc:
            conn.close()
            raise self._unusable(exc) from exc
        self._conn = conn
        return conn

    def _unusable(self, exc: sqlite3.Error) -> ConfigurationError:
        return ConfigurationError(
            f"cannot use {self.path} as {self.what}: {exc}. Check that it is a writable "
            "SQLite file of its own (not the cache's), or choose another path; dlnuf "
            "never removes it."
        )
