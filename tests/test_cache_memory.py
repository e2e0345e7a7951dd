"""MemoryCache: expiry and staleness on an injected clock, LRU eviction, threads, closing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from dlnuf.cache import Cache, MemoryCache
from dlnuf.errors import ConfigurationError

T0 = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


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
def cache(clock: Clock) -> MemoryCache:
    return MemoryCache(clock=clock)


def put(cache: MemoryCache, key: str, value: bytes, fresh: timedelta, stale: timedelta) -> None:
    cache.set(key, value, expires_at=T0 + fresh, stale_until=T0 + stale)


def test_is_a_cache() -> None:
    assert isinstance(MemoryCache(), Cache)


def test_fresh_entry_is_returned_as_stored(cache: MemoryCache) -> None:
    put(cache, "k", b"v", timedelta(hours=1), timedelta(days=1))
    entry = cache.get("k")
    assert entry is not None
    assert entry.value == b"v"
    assert entry.expires_at == T0 + timedelta(hours=1)
    assert entry.stale_until == T0 + timedelta(days=1)
    assert entry.is_fresh(T0)


def test_expired_entry_is_served_until_stale_until_then_dropped(
    cache: MemoryCache, clock: Clock
) -> None:
    put(cache, "k", b"v", timedelta(hours=1), timedelta(days=1))
    clock.now = T0 + timedelta(hours=2)
    entry = cache.get("k")
    assert entry is not None
    assert not entry.is_fresh(clock.now)
    clock.now = T0 + timedelta(days=1)
    assert cache.get("k") is None


def test_absent_key_is_none(cache: MemoryCache) -> None:
    assert cache.get("nope") is None


def test_setting_a_dead_entry_removes_the_live_one(cache: MemoryCache) -> None:
    put(cache, "k", b"old", timedelta(hours=1), timedelta(days=1))
    put(cache, "k", b"new", -timedelta(hours=2), -timedelta(hours=1))
    assert cache.get("k") is None


def test_stale_until_before_expires_at_keeps_the_entry_fresh(cache: MemoryCache) -> None:
    put(cache, "k", b"v", timedelta(hours=2), timedelta(hours=1))
    entry = cache.get("k")
    assert entry is not None
    assert entry.stale_until == entry.expires_at == T0 + timedelta(hours=2)


def test_least_recently_used_entry_is_evicted_at_maxsize(clock: Clock) -> None:
    cache = MemoryCache(maxsize=2, clock=clock)
    put(cache, "a", b"1", timedelta(hours=1), timedelta(days=1))
    put(cache, "b", b"2", timedelta(hours=1), timedelta(days=1))
    assert cache.get("a") is not None  # "a" is now the most recently used
    put(cache, "c", b"3", timedelta(hours=1), timedelta(days=1))
    assert cache.get("b") is None
    assert cache.get("a") is not None
    assert cache.get("c") is not None


def test_delete_and_clear(cache: MemoryCache) -> None:
    put(cache, "a", b"1", timedelta(hours=1), timedelta(days=1))
    put(cache, "b", b"2", timedelta(hours=1), timedelta(days=1))
    cache.delete("a")
    cache.delete("never-there")
    assert cache.get("a") is None
    assert cache.get("b") is not None
    cache.clear()
    assert cache.get("b") is None


def test_close_is_idempotent_and_the_cache_is_unusable_after(cache: MemoryCache) -> None:
    put(cache, "a", b"1", timedelta(hours=1), timedelta(days=1))
    cache.close()
    cache.close()
    with pytest.raises(ConfigurationError, match="closed"):
        cache.get("a")


def test_context_manager_closes(clock: Clock) -> None:
    with MemoryCache(clock=clock) as cache:
        put(cache, "a", b"1", timedelta(hours=1), timedelta(days=1))
        assert cache.get("a") is not None
    with pytest.raises(ConfigurationError):
        cache.get("a")


def test_bad_maxsize_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="maxsize"):
        MemoryCache(maxsize=0)


def test_threads_share_the_cache_without_errors(clock: Clock) -> None:
    cache = MemoryCache(maxsize=100_000, clock=clock)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(300):
                put(cache, f"{n}:{i}", f"{n}-{i}".encode(), timedelta(hours=1), timedelta(days=1))
                entry = cache.get(f"{n}:{i}")
                assert entry is not None
                assert entry.value == f"{n}-{i}".encode()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for n in range(8):
        for i in range(300):
            entry = cache.get(f"{n}:{i}")
            assert entry is not None
            assert entry.value == f"{n}-{i}".encode()


def test_hits_on_many_keys_decode_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memory cache keeps the facts the client wrote: its hits, on every key it holds
    (not only the last few), are served without decoding the cached JSON again."""
    import dlnuf
    from dlnuf.facts.identity import Identity

    sirets = ["55204944776279", "35005144700018"]  # two sandbox companies
    cache = MemoryCache()
    with dlnuf.Client(sources=["sandbox"], cache=cache) as client:
        fetched = {s: client.identity(s) for s in sirets}

        def no_decoding(*args: object, **kwargs: object) -> Identity:
            raise AssertionError("a memory-cache hit decoded the cached JSON")

        monkeypatch.setattr(Identity, "model_validate_json", no_decoding)
        codec = client._core.codec
        codec.decoded = type(codec.decoded)(maxsize=0)  # no memo to fall back on
        for siret in sirets * 2:
            hit = client.identity(siret)
            assert hit.provenance.from_cache is True
            assert hit.model_dump(exclude={"provenance"}) == fetched[siret].model_dump(
                exclude={"provenance"}
            )
