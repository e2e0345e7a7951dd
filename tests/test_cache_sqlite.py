"""SQLiteCache: expiry on an injected clock, persistence, threads, processes, bad files."""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import dlnuf.cache.sqlite as sqlite_module
from dlnuf.cache import Cache, SQLiteCache
from dlnuf.errors import ConfigurationError

T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache.db"


@pytest.fixture
def cache(path: Path, clock: Clock) -> Iterator[SQLiteCache]:
    with SQLiteCache(path, clock=clock) as cache:
        yield cache


def put(cache: SQLiteCache, key: str, value: bytes, fresh: timedelta, stale: timedelta) -> None:
    cache.set(key, value, expires_at=T0 + fresh, stale_until=T0 + stale)


def rows(path: Path) -> list[str]:
    """The keys physically in the file, dead or alive."""
    with sqlite3.connect(path) as conn:
        return sorted(k for (k,) in conn.execute("SELECT key FROM dlnuf_cache"))


# -- expiry -------------------------------------------------------------------------------


def test_is_a_cache(cache: SQLiteCache) -> None:
    assert isinstance(cache, Cache)


def test_fresh_entry_is_returned_as_stored(cache: SQLiteCache) -> None:
    put(cache, "k", b"\x00binary\xff", HOUR, DAY)
    entry = cache.get("k")
    assert entry is not None
    assert entry.value == b"\x00binary\xff"
    assert entry.expires_at == T0 + HOUR
    assert entry.stale_until == T0 + DAY
    assert entry.expires_at.tzinfo is not None
    assert entry.is_fresh(T0)


def test_expired_entry_is_served_until_stale_until_then_dropped(
    cache: SQLiteCache, clock: Clock
) -> None:
    put(cache, "k", b"v", HOUR, DAY)
    clock.now = T0 + 2 * HOUR
    entry = cache.get("k")
    assert entry is not None
    assert not entry.is_fresh(clock.now)
    clock.now = T0 + DAY
    assert cache.get("k") is None


def test_setting_a_dead_entry_replaces_the_live_one(cache: SQLiteCache) -> None:
    put(cache, "k", b"old", HOUR, DAY)
    put(cache, "k", b"new", -2 * HOUR, -HOUR)
    assert cache.get("k") is None


def test_overwrite_delete_and_clear(cache: SQLiteCache) -> None:
    put(cache, "a", b"1", HOUR, DAY)
    put(cache, "a", b"2", HOUR, DAY)
    put(cache, "b", b"3", HOUR, DAY)
    entry = cache.get("a")
    assert entry is not None
    assert entry.value == b"2"
    cache.delete("a")
    cache.delete("never-there")
    assert cache.get("a") is None
    assert cache.get("b") is not None
    cache.clear()
    assert cache.get("b") is None


# -- the file -------------------------------------------------------------------------------


def test_persists_across_instances_on_the_same_file(path: Path, clock: Clock) -> None:
    with SQLiteCache(path, clock=clock) as first:
        put(first, "k", b"v", HOUR, DAY)
    with SQLiteCache(path, clock=clock) as second:
        entry = second.get("k")
    assert entry is not None
    assert entry.value == b"v"


def test_creates_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "cache.db"
    now = datetime.now(UTC)
    with SQLiteCache(path) as cache:
        cache.set("k", b"v", expires_at=now + HOUR, stale_until=now + DAY)
        assert cache.get("k") is not None
    assert path.is_file()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_file_is_private_to_its_owner(path: Path) -> None:
    SQLiteCache(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_uses_wal_journal(cache: SQLiteCache, path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_sqlite_is_moved_aside_and_the_cache_starts(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged cache is disposable: moved aside (never deleted), with a warning."""
    junk = b"this is a text file, not a database\n" * 100
    path.write_bytes(junk)
    with caplog.at_level("WARNING", logger="dlnuf.cache"):
        cache = SQLiteCache(path)
    try:
        cache.set("k", b"v", expires_at=datetime.now(UTC) + timedelta(hours=1),
                  stale_until=datetime.now(UTC) + timedelta(hours=1))
        assert cache.get("k") is not None
    finally:
        cache.close()
    aside = [p for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.corrupt-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == junk
    assert "moved aside" in caplog.text
    assert str(aside[0]) in caplog.text


def test_a_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(str(tmp_path))):
        SQLiteCache(tmp_path)


def test_an_impossible_location_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="cannot create the cache file"):
        SQLiteCache(blocker / "sub" / "cache.db")


def test_memory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MemoryCache"):
        SQLiteCache(":memory:")


def test_close_is_idempotent_and_the_cache_is_unusable_after(path: Path) -> None:
    cache = SQLiteCache(path)
    cache.close()
    cache.close()
    with pytest.raises(ConfigurationError, match="closed"):
        cache.get("k")


def test_context_manager_closes(path: Path) -> None:
    with SQLiteCache(path) as cache:
        assert cache.get("k") is None
    with pytest.raises(ConfigurationError, match="closed"):
        cache.get("k")


# -- dead rows and the tables of others -----------------------------------------------------


def test_dead_rows_are_purged_every_few_sets(
    cache: SQLiteCache, clock: Clock, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "PURGE_EVERY", 4)
    put(cache, "short", b"v", HOUR, 2 * HOUR)  # set 1
    put(cache, "long", b"v", HOUR, DAY)  # set 2
    clock.now = T0 + 3 * HOUR
    put(cache, "x", b"v", HOUR, DAY)  # set 3
    assert "short" in rows(path)  # dead but not yet purged: purging is not on every call
    put(cache, "y", b"v", HOUR, DAY)  # set 4: purge
    assert rows(path) == ["long", "x", "y"]


def test_dead_rows_are_purged_on_open_and_on_demand(path: Path, clock: Clock) -> None:
    with SQLiteCache(path, clock=clock) as cache:
        put(cache, "a", b"v", HOUR, 2 * HOUR)
        put(cache, "b", b"v", HOUR, 3 * HOUR)
        put(cache, "c", b"v", HOUR, DAY)
        clock.now = T0 + 2 * HOUR
        assert cache.purge() == 1
        assert rows(path) == ["b", "c"]
    clock.now = T0 + 3 * HOUR
    SQLiteCache(path, clock=clock).close()
    assert rows(path) == ["c"]


def test_clear_leaves_other_tables_alone(cache: SQLiteCache, path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE dlnuf_answers (siren TEXT, email TEXT)")
        conn.execute("INSERT INTO dlnuf_answers VALUES ('552049447', 'a@example.fr')")
    put(cache, "k", b"v", HOUR, DAY)
    cache.clear()
    cache.purge()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM dlnuf_answers").fetchone()[0] == 1


# -- concurrency ----------------------------------------------------------------------------


def test_eight_threads_set_and_get_concurrently(cache: SQLiteCache) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(100):
                put(cache, f"{n}:{i}", f"{n}-{i}".encode(), HOUR, DAY)
                entry = cache.get(f"{n}:{i}")
                assert entry is not None
                assert entry.value == f"{n}-{i}".encode()
                cache.get(f"{(n + 1) % 8}:{i}")  # another thread's key, written or not yet
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for n in range(8):
        for i in range(100):
            entry = cache.get(f"{n}:{i}")
            assert entry is not None
            assert entry.value == f"{n}-{i}".encode()


def _write_keys(path: str, prefix: str, count: int) -> None:
    """Runs in a child process."""
    now = datetime.now(UTC)
    with SQLiteCache(path) as cache:
        for i in range(count):
            cache.set(f"{prefix}:{i}", f"{prefix}-{i}".encode(), expires_at=now + DAY,
                      stale_until=now + 2 * DAY)


def test_two_processes_write_to_the_same_file(path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_keys, args=(str(path), prefix, 200)) for prefix in "ab"
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    with SQLiteCache(path) as cache:
        for prefix in "ab":
            for i in range(200):
                entry = cache.get(f"{prefix}:{i}")
                assert entry is not None
                assert entry.value == f"{prefix}-{i}".encode()


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_uses_its_own_connection(path: Path) -> None:
    """SQLite forbids using a connection across fork(): the child must open its own.

    Not observable through the public API (misuse corrupts the file only now and
    then), hence the look at the private connection below.
    """
    now = datetime.now(UTC)
    with SQLiteCache(path) as cache:
        cache.set("parent", b"p", expires_at=now + DAY, stale_until=now + 2 * DAY)
        inherited = id(cache._conn())
        child = multiprocessing.get_context("fork").Process(
            target=_use_inherited, args=(cache, inherited)
        )
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0
        entry = cache.get("child")
        assert entry is not None
        assert entry.value == b"c"
        cache.set("parent-after", b"p", expires_at=now + DAY, stale_until=now + 2 * DAY)
        assert cache.get("parent-after") is not None


def _use_inherited(cache: SQLiteCache, inherited: int) -> None:
    """Runs in a forked child, with the parent's cache object."""
    if id(cache._conn()) == inherited:
        raise SystemExit("the child reused the parent's connection")
    now = datetime.now(UTC)
    entry = cache.get("parent")
    if entry is None or entry.value != b"p":
        raise SystemExit("the child cannot read the parent's entry")
    cache.set("child", b"c", expires_at=now + DAY, stale_until=now + 2 * DAY)
    cache.close()


def test_processes_opening_a_new_file_at_once_never_fail() -> None:
    """8 processes open the same new cache file at the same moment, 10 rounds (80 opens):
    a busy lock at open is waited for, never a ConfigurationError ("database is locked").
    The benchmark counts the same over 800 opens."""
    script = Path(__file__).parents[1] / "benchmarks" / "bench_hardening.py"
    done = subprocess.run(  # noqa: S603 - this interpreter, the project's own script
        [sys.executable, str(script), "opens", "8", "10"],
        capture_output=True, text=True, check=True, timeout=300,
    )
    counted = json.loads(done.stdout.strip().splitlines()[-1])
    assert counted == {"opens": 80, "failures": 0}
