"""The Redis cache: the Cache protocol on a real redis-server, shared by processes, and
what happens when Redis is not there."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

import dlnuf
from dlnuf import ConfigurationError, Identity, UpstreamUnavailable
from dlnuf.cache import Cache, open_cache
from dlnuf.cache.redis import CACHE_KEYS, RedisCache
from dlnuf.testing import FakeUpstreams, make_company

pytestmark = pytest.mark.redis

UNREACHABLE = "redis://:s3cret-password@127.0.0.1:1/0"  # port 1: connection refused


def moment(seconds: float) -> datetime:
    """Now plus ``seconds``, to the whole second (what a float timestamp keeps exactly)."""
    now = datetime.now(UTC).replace(microsecond=0)
    return now + timedelta(seconds=seconds)


@pytest.fixture
def cache(redis_url: str) -> Iterator[RedisCache]:
    with RedisCache.from_url(redis_url) as opened:
        yield opened


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_it_is_a_cache(cache: RedisCache) -> None:
    assert isinstance(cache, Cache)


def test_open_cache_builds_it_from_a_url(redis_url: str) -> None:
    opened = open_cache(redis_url)
    assert isinstance(opened, RedisCache)
    opened.close()


def test_set_then_get_keeps_value_and_expiry(cache: RedisCache) -> None:
    expires, stale = moment(60), moment(3600)
    cache.set("dlnuf:v1:s:public:Identity:1", b"\x00value\xff", expires_at=expires,
              stale_until=stale)
    entry = cache.get("dlnuf:v1:s:public:Identity:1")
    assert entry is not None
    assert entry.value == b"\x00value\xff"
    assert entry.expires_at == expires
    assert entry.stale_until == stale
    assert entry.is_fresh(datetime.now(UTC))
    assert cache.get("dlnuf:v1:s:public:Identity:2") is None


def test_redis_drops_the_key_at_stale_until(cache: RedisCache, raw: redis.Redis) -> None:
    cache.set("dlnuf:v1:k", b"v", expires_at=moment(10), stale_until=moment(100))
    ttl = raw.pttl("dlnuf:v1:k")
    assert 98_000 <= ttl <= 101_000


def test_an_expired_entry_is_served_as_stale_until_dead(cache: RedisCache) -> None:
    cache.set("dlnuf:v1:k", b"v", expires_at=moment(-10), stale_until=moment(100))
    entry = cache.get("dlnuf:v1:k")
    assert entry is not None
    assert not entry.is_fresh(datetime.now(UTC))


def test_a_dead_entry_replaces_nothing(cache: RedisCache) -> None:
    cache.set("dlnuf:v1:k", b"old", expires_at=moment(10), stale_until=moment(100))
    cache.set("dlnuf:v1:k", b"new", expires_at=moment(-20), stale_until=moment(-10))
    assert cache.get("dlnuf:v1:k") is None


def test_delete(cache: RedisCache) -> None:
    cache.set("dlnuf:v1:k", b"v", expires_at=moment(10), stale_until=moment(100))
    cache.delete("dlnuf:v1:k")
    cache.delete("dlnuf:v1:never-set")
    assert cache.get("dlnuf:v1:k") is None


def test_clear_deletes_the_cache_keys_only(cache: RedisCache, raw: redis.Redis) -> None:
    for i in range(2500):
        cache.set(f"dlnuf:v1:k{i}", b"v", expires_at=moment(10), stale_until=moment(100))
    raw.set("someone-else:key", b"theirs")
    raw.hset("dlnuf:quota:pool", "tat", "1")
    cache.clear()
    assert raw.keys(CACHE_KEYS) == []
    assert raw.get("someone-else:key") == b"theirs"
    assert raw.exists("dlnuf:quota:pool")


def test_two_processes_share_it(cache: RedisCache, redis_url: str) -> None:
    code = textwrap.dedent(f"""
        from datetime import UTC, datetime, timedelta
        from dlnuf.cache import open_cache
        cache = open_cache({redis_url!r})
        now = datetime.now(UTC)
        cache.set("dlnuf:v1:from-child", b"hello", expires_at=now + timedelta(minutes=1),
                  stale_until=now + timedelta(hours=1))
        entry = cache.get("dlnuf:v1:from-parent")
        print(entry.value.decode() if entry else "missing")
    """)
    cache.set("dlnuf:v1:from-parent", b"hi child", expires_at=moment(60), stale_until=moment(99))
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "hi child"
    entry = cache.get("dlnuf:v1:from-child")
    assert entry is not None
    assert entry.value == b"hello"


def test_clients_share_facts_through_it(redis_url: str, dlnuf_fake: FakeUpstreams) -> None:
    company = dlnuf_fake.add(make_company("active", seed=11))
    for _ in range(2):  # two clients: as two web workers would be
        with dlnuf.Client(cache=redis_url) as client:
            identity = client.identity(company.siret)
    assert identity.provenance.from_cache
    assert identity.legal_name == company.legal_name
    assert dlnuf_fake.requests["recherche_entreprises"] == 1


# -- Redis not there ------------------------------------------------------------------------


def test_unreachable_redis_is_a_clear_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisCache.from_url(UNREACHABLE)
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "redis-server" in message
    assert "fallback=local" in message
    assert "s3cret" not in message


def test_unreachable_redis_through_the_client_fails_before_any_lookup() -> None:
    with pytest.raises(ConfigurationError, match="cannot reach Redis"):
        dlnuf.Client(cache=UNREACHABLE)


def test_fallback_local_serves_from_memory_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dlnuf.cache"):
        cache = open_cache(UNREACHABLE + "?fallback=local")
    assert cache is not None
    cache.set("dlnuf:v1:k", b"v", expires_at=moment(10), stale_until=moment(100))
    entry = cache.get("dlnuf:v1:k")
    assert entry is not None
    assert entry.value == b"v"
    assert any("using a local cache" in r.getMessage() for r in caplog.records)
    assert all("s3cret" not in r.getMessage() for r in caplog.records)
    assert "s3cret" not in repr(cache)


def test_an_unknown_fallback_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="fallback"):
        RedisCache.from_url("redis://127.0.0.1:1/0?fallback=elsewhere")


def _lose_connection(cache: RedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("Connection refused")

    client = cache.link.client
    for name in ("get", "set", "delete", "scan_iter"):
        monkeypatch.setattr(client, name, refuse)


def test_losing_redis_is_typed(cache: RedisCache, monkeypatch: pytest.MonkeyPatch) -> None:
    _lose_connection(cache, monkeypatch)
    with pytest.raises(UpstreamUnavailable, match="redis-server"):
        cache.get("dlnuf:v1:k")


def test_losing_redis_never_breaks_a_lookup(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, dlnuf_fake: FakeUpstreams
) -> None:
    company = dlnuf_fake.add(make_company("active", seed=12))
    with dlnuf.Client(cache=redis_url) as client:
        assert isinstance(client.cache, RedisCache)
        _lose_connection(client.cache, monkeypatch)
        assert client.get(company.siret, Identity).legal_name == company.legal_name


def test_losing_redis_with_fallback_goes_local_then_back(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisCache.from_url(redis_url, fallback="local")
    cache.link.retry_after = 0.0  # try Redis again on every call
    with caplog.at_level(logging.WARNING, logger="dlnuf.cache"), monkeypatch.context() as m:
        _lose_connection(cache, m)
        cache.set("dlnuf:v1:k", b"local", expires_at=moment(10), stale_until=moment(100))
        entry = cache.get("dlnuf:v1:k")
        assert entry is not None
        assert entry.value == b"local"
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("does not answer" in w for w in warnings) == 1  # once per outage
    cache.set("dlnuf:v1:k", b"shared", expires_at=moment(10), stale_until=moment(100))
    entry = cache.get("dlnuf:v1:k")
    assert entry is not None
    assert entry.value == b"shared"
    assert any("answers again" in r.getMessage() for r in caplog.records)
    cache.close()

