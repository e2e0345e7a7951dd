"""The asyncio twins of the caches and limiters, and what the async client does with them:
the same entries and pools as the sync backends, reached without blocking the loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import redis
from pydantic import Field

import dlnuf
from dlnuf import ConfigurationError, Identity, UpstreamUnavailable
from dlnuf.answers import AnswerStore
from dlnuf.cache import (
    AsyncCache,
    AsyncMemoryCache,
    MemoryCache,
    SQLiteCache,
    ThreadedCache,
    as_async,
)
from dlnuf.cache.redis import AsyncRedisCache, RedisCache
from dlnuf.forms import Declared, Form, From
from dlnuf.ratelimit import (
    AsyncRateLimiter,
    MemoryRateLimiter,
    Quota,
    ThreadedRateLimiter,
    as_async_limiter,
)
from dlnuf.ratelimit_redis import AsyncRedisRateLimiter, RedisRateLimiter
from dlnuf.testing import FakeUpstreams, make_company

UNREACHABLE = "redis://:s3cret-password@127.0.0.1:1/0"  # port 1: connection refused
SECOND = Quota("twins", limit=1, period=1.0)


class ContactForm(Form):
    """A form with one fact and one declared answer."""

    name: Annotated[str, From("identity.legal_name"), Field(title="Nom")]
    email: Annotated[str, Declared("contact.email"), Field(title="Courriel")]


def moment(seconds: float) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return now + timedelta(seconds=seconds)


# -- picking the twin ----------------------------------------------------------------------


def test_each_backend_has_its_twin(tmp_path: Path) -> None:
    memory = MemoryCache()
    twin = as_async(memory)
    assert isinstance(twin, AsyncMemoryCache)
    assert twin.sync is memory
    sqlite = SQLiteCache(tmp_path / "c.db")
    assert isinstance(as_async(sqlite), ThreadedCache)
    sqlite.close()

    class Own:  # a cache of your own, blocking, without a twin
        def get(self, key: str) -> None: ...
        def set(self, key: str, value: bytes, *, expires_at: datetime,
                stale_until: datetime) -> None: ...
        def delete(self, key: str) -> None: ...
        def clear(self) -> None: ...
        def close(self) -> None: ...

    assert isinstance(as_async(Own()), ThreadedCache)
    for made in (twin, as_async(Own())):
        assert isinstance(made, AsyncCache)


def test_each_limiter_has_its_twin() -> None:
    memory = MemoryRateLimiter()
    assert as_async_limiter(memory).sync is memory  # type: ignore[attr-defined]

    class Own:
        def reserve(self, quota: Quota, *, max_wait: float = 0.0) -> float:
            return 0.0

        def observe(self, quota: Quota, headers: httpx.Headers) -> None: ...
        def penalize(self, quota: Quota, seconds: float) -> None: ...

    assert isinstance(as_async_limiter(Own()), ThreadedRateLimiter)  # type: ignore[arg-type]
    already = as_async_limiter(memory)
    assert as_async_limiter(already) is already
    assert isinstance(already, AsyncRateLimiter)


async def test_the_memory_twins_share_the_sync_state() -> None:
    cache = MemoryCache()
    cache.set("k", b"v", expires_at=moment(10), stale_until=moment(100))
    entry = await as_async(cache).get("k")
    assert entry is not None
    assert entry.value == b"v"
    limiter = MemoryRateLimiter(safety=1.0)
    twin = as_async_limiter(limiter)
    assert await twin.reserve(SECOND) == 0.0
    assert limiter.reserve(SECOND) == pytest.approx(1.0, abs=0.05)  # the twin booked a slot
    assert await twin.reserve(SECOND) == pytest.approx(2.0, abs=0.05)


async def test_the_sqlite_twin_works_in_worker_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = SQLiteCache(tmp_path / "c.db")
    threads: set[str] = set()
    get = cache.get

    def spy(key: str) -> Any:
        threads.add(threading.current_thread().name)
        return get(key)

    monkeypatch.setattr(cache, "get", spy)
    twin = as_async(cache)
    await twin.set("k", b"v", expires_at=moment(10), stale_until=moment(100))
    entries = await asyncio.gather(*(twin.get("k") for _ in range(8)))
    assert all(e is not None and e.value == b"v" for e in entries)
    assert threading.main_thread().name not in threads  # never on the loop's thread
    await twin.delete("k")
    assert cache.get("k") is None
    cache.close()


# -- Redis ---------------------------------------------------------------------------------


@pytest.fixture
def redis_cache(redis_url: str) -> Iterator[RedisCache]:
    with RedisCache.from_url(redis_url) as opened:
        yield opened


@pytest.mark.redis
async def test_the_redis_twin_reads_and_writes_the_same_entries(
    redis_cache: RedisCache,
) -> None:
    twin = as_async(redis_cache)
    assert isinstance(twin, AsyncRedisCache)
    expires, stale = moment(60), moment(3600)
    await twin.set("dlnuf:v1:s:public:Identity:1", b"\x00async\xff", expires_at=expires,
                   stale_until=stale)
    entry = redis_cache.get("dlnuf:v1:s:public:Identity:1")  # written by the twin
    assert entry is not None
    assert (entry.value, entry.expires_at, entry.stale_until) == (b"\x00async\xff", expires, stale)
    redis_cache.set("dlnuf:v1:s:public:Identity:2", b"sync", expires_at=expires,
                    stale_until=stale)
    read = await twin.get("dlnuf:v1:s:public:Identity:2")  # written by the sync cache
    assert read is not None
    assert read.value == b"sync"
    await twin.delete("dlnuf:v1:s:public:Identity:2")
    assert await twin.get("dlnuf:v1:s:public:Identity:2") is None
    await twin.clear()
    assert redis_cache.get("dlnuf:v1:s:public:Identity:1") is None
    assert "s3cret" not in repr(twin)
    await twin.aclose()


@pytest.mark.redis
async def test_the_redis_twin_falls_back_to_the_same_local_cache(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dlnuf.cache"):
        twin = AsyncRedisCache.from_url(UNREACHABLE, fallback="local")
    await twin.set("dlnuf:v1:k", b"v", expires_at=moment(10), stale_until=moment(100))
    entry = twin.sync.get("dlnuf:v1:k")  # the sync cache's local stand-in holds it
    assert entry is not None
    assert entry.value == b"v"
    assert all("s3cret" not in r.getMessage() for r in caplog.records)
    await twin.aclose()
    twin.sync.close()


@pytest.mark.redis
async def test_losing_redis_is_typed_in_the_twin_too(
    redis_cache: RedisCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = as_async(redis_cache)
    assert isinstance(twin, AsyncRedisCache)

    async def refuse(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(twin.link.client, "get", refuse)
    with pytest.raises(UpstreamUnavailable, match="redis-server"):
        await twin.get("dlnuf:v1:k")
    await twin.aclose()


@pytest.mark.redis
async def test_the_redis_limiter_twin_paces_the_same_pools(redis_url: str) -> None:
    limiter = RedisRateLimiter.from_url(redis_url, safety=1.0)
    twin = as_async_limiter(limiter)
    assert isinstance(twin, AsyncRedisRateLimiter)
    assert await twin.reserve(SECOND) == pytest.approx(0.0, abs=0.05)
    assert limiter.reserve(SECOND) == pytest.approx(1.0, abs=0.05)  # one pool for both
    assert await twin.reserve(SECOND) == pytest.approx(2.0, abs=0.05)
    await twin.penalize(SECOND, 30)
    assert limiter.reserve(SECOND, max_wait=0) > 29  # the pause reaches every process
    await twin.observe(SECOND, httpx.Headers({"RateLimit-Limit": "5"}))
    await twin.aclose()
    limiter.close()


@pytest.mark.redis
async def test_an_async_client_on_redis_shares_facts_with_a_sync_one(
    redis_url: str, dlnuf_fake: FakeUpstreams
) -> None:
    company = dlnuf_fake.add(make_company("active", seed=31))
    limiter = RedisRateLimiter.from_url(redis_url)
    async with dlnuf.AsyncClient(cache=redis_url, limiter=limiter) as client:
        first = await client.get(company.siret, Identity)
        assert not first.provenance.from_cache
    with dlnuf.Client(cache=redis_url) as sync:
        assert sync.get(company.siret, Identity).provenance.from_cache
    assert dlnuf_fake.requests["recherche_entreprises"] == 1
    limiter.close()


# -- the async client ----------------------------------------------------------------------


async def test_an_async_client_takes_an_async_limiter(dlnuf_fake: FakeUpstreams) -> None:
    company = dlnuf_fake.add(make_company("active", seed=32))
    booked: list[str] = []

    class Counting:
        async def reserve(self, quota: Quota, *, max_wait: float = 0.0) -> float:
            booked.append(quota.pool)
            return 0.0

        async def observe(self, quota: Quota, headers: httpx.Headers) -> None: ...
        async def penalize(self, quota: Quota, seconds: float) -> None: ...

    async with dlnuf.AsyncClient(cache=None, limiter=Counting()) as client:
        await client.identity(company.siret)
    assert booked == ["recherche_entreprises"]


def test_the_sync_client_refuses_an_async_limiter() -> None:
    class AsyncOnly:
        async def reserve(self, quota: Quota, *, max_wait: float = 0.0) -> float:
            return 0.0

        async def observe(self, quota: Quota, headers: httpx.Headers) -> None: ...
        async def penalize(self, quota: Quota, seconds: float) -> None: ...

    with pytest.raises(ConfigurationError, match="asyncio"):
        dlnuf.Client(cache=None, limiter=AsyncOnly())


async def test_a_broken_cache_never_breaks_an_async_lookup(
    dlnuf_fake: FakeUpstreams, caplog: pytest.LogCaptureFixture
) -> None:
    company = dlnuf_fake.add(make_company("active", seed=33))

    class Broken(MemoryCache):
        def get(self, key: str) -> Any:
            raise OSError("disk gone")

    with caplog.at_level(logging.ERROR, logger="dlnuf.client"):
        async with dlnuf.AsyncClient(cache=Broken()) as client:
            fact = await client.identity(company.siret)
    assert fact.legal_name == company.legal_name
    assert any("cache read failed" in r.getMessage() for r in caplog.records)


async def test_prefill_reads_the_answer_store_off_the_loop(
    dlnuf_fake: FakeUpstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = dlnuf_fake.add(make_company("active", seed=34))
    store = AnswerStore.memory()
    store.set(company.siren, "contact.email", "contact@example.fr")
    threads: list[threading.Thread] = []
    get = store.get

    def spy(ident: Any) -> Any:
        threads.append(threading.current_thread())
        return get(ident)

    monkeypatch.setattr(store, "get", spy)
    async with dlnuf.AsyncClient(cache=None, answers=store) as client:
        draft = await client.prefill(ContactForm, company.siret)
    assert draft.values["email"] == "contact@example.fr"
    assert threads
    assert threading.main_thread() not in threads
