"""The Redis rate limiter: the memory limiter's algorithm, one quota for every process."""

from __future__ import annotations

import itertools
import json
import logging
import math
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlnuf
from dlnuf import ConfigurationError, Settings, UpstreamUnavailable
from dlnuf.ratelimit import MemoryRateLimiter, Quota, RateLimiter
from dlnuf.ratelimit_redis import KEY_PREFIX, RedisRateLimiter
from dlnuf.testing import FakeUpstreams, make_companies

pytestmark = pytest.mark.redis

WALL = 1_700_000_000.0
SECOND = Quota("pool", limit=1, period=1.0)  # one per second at safety 1
UNREACHABLE = "redis://:s3cret-password@127.0.0.1:1/0"
_pools = itertools.count()


class FakeClock:
    """A clock that only moves when told to (shared by every limiter of a test)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL + self.now - 1000.0


def redis_limiter(url: str, clock: FakeClock | None = None, **kwargs: Any) -> RedisRateLimiter:
    limiter = RedisRateLimiter.from_url(url, **kwargs)
    if clock is None:
        return limiter
    return RedisRateLimiter(
        limiter.link,
        burst=kwargs.get("burst", 1),
        safety=kwargs.get("safety", 0.97),
        clock=clock,
        wall_clock=clock.wall,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shared(redis_url: str, clock: FakeClock) -> Iterator[RedisRateLimiter]:
    limiter = redis_limiter(redis_url, clock, safety=1.0)
    yield limiter
    limiter.close()


def test_it_is_a_rate_limiter(shared: RedisRateLimiter) -> None:
    assert isinstance(shared, RateLimiter)


# -- the very same algorithm as the memory limiter ---------------------------------------------

_HEADER_VALUES = st.one_of(
    st.none(),
    st.sampled_from(["0", "1", "2", "5", "30"]),
    st.integers(min_value=-2, max_value=400).map(str),
    st.just("junk"),
)
_RESET = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=120).map(lambda s: f"{s:.3f}"),
    st.floats(min_value=-5, max_value=120).map(lambda s: str(int(WALL + s))),
)
_RESERVE = st.tuples(st.just("reserve"), st.one_of(st.just(math.inf), st.floats(0, 10)))
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.floats(min_value=0, max_value=5)),
        _RESERVE,
        _RESERVE,
        st.tuples(st.just("observe"), st.tuples(_HEADER_VALUES, _HEADER_VALUES, _RESET)),
        st.tuples(st.just("penalize"), st.floats(min_value=-1, max_value=30)),
    ),
    min_size=1,
    max_size=40,
)

Op = tuple[str, Any]


def replay(
    url: str, ops: list[Op], *, burst: int = 1, safety: float = 1.0, quota: Quota = SECOND
) -> None:
    """Run ``ops`` on a memory and a Redis limiter sharing one clock; every wait agrees."""
    clock = FakeClock()
    memory = MemoryRateLimiter(clock, burst=burst, safety=safety, wall_clock=clock.wall)
    shared = redis_limiter(url, clock, burst=burst, safety=safety)
    quota = Quota(f"{quota.pool}-{next(_pools)}", quota.limit, quota.period)
    try:
        for op, arg in [*ops, ("reserve", math.inf), ("reserve", math.inf)]:
            if op == "advance":
                clock.now += arg
            elif op == "reserve":
                expected = memory.reserve(quota, max_wait=arg)
                assert shared.reserve(quota, max_wait=arg) == pytest.approx(expected, abs=1e-9)
            elif op == "observe":
                names = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
                seen = httpx.Headers({n: v for n, v in zip(names, arg, strict=True) if v})
                memory.observe(quota, seen)
                shared.observe(quota, seen)
            else:
                memory.penalize(quota, arg)
                shared.penalize(quota, arg)
    finally:
        shared.close()


def observe(limit: str | None = None, remaining: str | None = None, reset: str | None = None) -> Op:
    return ("observe", (limit, remaining, reset))


R: Op = ("reserve", math.inf)

SCENARIOS: dict[str, list[Op]] = {
    "even spacing": [R, R, R],
    "idle time does not make a burst": [R, ("advance", 10.0), R, R],
    "max_wait books nothing": [R, R, ("reserve", 0.5), R],
    "server limit wins": [observe(limit="30"), R, R, R],
    "remaining 0 blocks until a reset in seconds": [observe(remaining="0", reset="7"), R, R],
    "remaining 0 blocks until a reset timestamp": [
        observe(remaining="0", reset=str(int(WALL + 12))), R,
    ],
    "remaining 0 without reset blocks one period": [observe(remaining="0"), R, R],
    "low remaining spreads until the reset": [
        observe(limit="60", remaining="2", reset="10"), R, R, R, ("advance", 11.0), R, R,
    ],
    "a penalty pauses the pool": [R, ("penalize", 5.0), R, R],
    "a shorter penalty never shortens a longer one": [
        ("penalize", 9.0), ("penalize", 2.0), R,
    ],
    "meaningless penalties are ignored": [("penalize", -1.0), ("penalize", 0.0), R],
}


@pytest.mark.parametrize("ops", SCENARIOS.values(), ids=SCENARIOS.keys())
@pytest.mark.parametrize(("burst", "safety"), [(1, 1.0), (1, 0.97), (3, 0.97)])
def test_each_rule_of_the_memory_limiter_holds_in_redis(
    redis_url: str, ops: list[Op], burst: int, safety: float
) -> None:
    replay(redis_url, ops, burst=burst, safety=safety, quota=Quota("minute", 60, 60.0))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # each example uses a pool of its own: nothing to reset between them
@given(
    ops=_OPS,
    burst=st.integers(min_value=1, max_value=3),
    safety=st.sampled_from([1.0, 0.97, 0.5]),
    limit=st.sampled_from([1, 7, 30, 250]),
    period=st.sampled_from([1.0, 60.0]),
)
def test_it_answers_exactly_as_the_memory_limiter(
    redis_url: str, ops: list[Op], burst: int, safety: float, limit: int, period: float
) -> None:
    replay(redis_url, ops, burst=burst, safety=safety, quota=Quota("pool", limit, period))


# -- one quota for every instance and process ---------------------------------------------------


def test_two_limiters_share_one_bucket(redis_url: str, clock: FakeClock) -> None:
    one = redis_limiter(redis_url, clock, safety=1.0)
    two = redis_limiter(redis_url, clock, safety=1.0)
    waits = [limiter.reserve(SECOND) for limiter in (one, two, one, two, two)]
    assert waits == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_concurrent_reservations_never_share_a_slot(redis_url: str, clock: FakeClock) -> None:
    limiters = [redis_limiter(redis_url, clock, safety=1.0) for _ in range(2)]
    threads, each = 8, 25
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(limiter: RedisRateLimiter) -> None:
        start.wait()
        mine = [limiter.reserve(SECOND) for _ in range(each)]
        with lock:
            waits.extend(mine)

    pool = [threading.Thread(target=worker, args=(limiters[i % 2],)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert sorted(waits) == [float(i) for i in range(threads * each)]


def test_processes_share_one_quota_on_the_redis_clock(redis_url: str) -> None:
    # Four processes book 10 slots each at 20 per second: every send time (local clock
    # + wait) is at least one spacing after the previous one, whoever booked it.
    code = textwrap.dedent(f"""
        import json, sys, time
        from dlnuf.ratelimit import Quota
        from dlnuf.ratelimit_redis import RedisRateLimiter
        limiter = RedisRateLimiter.from_url({redis_url!r}, safety=1.0)
        quota = Quota("shared", 20, 1.0)
        sys.stdin.readline()
        sends = []
        for _ in range(10):
            wait = limiter.reserve(quota)
            sends.append(time.time() + wait)
        print(json.dumps(sends))
    """)
    children = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    time.sleep(1.0)  # let them import dlnuf, then start them together
    outputs = [child.communicate("go\n", timeout=60)[0] for child in children]
    sends = sorted(t for out in outputs for t in json.loads(out))
    assert len(sends) == 40
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    assert min(gaps) >= 0.05 - 0.01  # 1/20 s apart, give or take the round trip


def test_a_penalty_in_one_process_pauses_the_others(redis_url: str, clock: FakeClock) -> None:
    one = redis_limiter(redis_url, clock, safety=1.0)
    two = redis_limiter(redis_url, clock, safety=1.0)
    one.penalize(SECOND, 5.0)
    assert two.reserve(SECOND, max_wait=1.0) == 5.0  # too long: nothing booked
    assert two.reserve(SECOND) == 5.0
    assert one.reserve(SECOND) == 6.0


def test_remaining_zero_seen_by_one_blocks_the_others(
    redis_url: str, clock: FakeClock
) -> None:
    one = redis_limiter(redis_url, clock, safety=1.0)
    two = redis_limiter(redis_url, clock, safety=1.0)
    one.observe(SECOND, httpx.Headers({"RateLimit-Remaining": "0", "RateLimit-Reset": "30"}))
    assert two.reserve(SECOND) == 30.0


def test_a_pool_is_forgotten_a_day_after_its_last_use(
    shared: RedisRateLimiter, redis_url: str
) -> None:
    shared.reserve(SECOND)
    raw = redis.Redis.from_url(redis_url)
    ttl = raw.pttl(KEY_PREFIX + SECOND.pool)
    raw.close()
    assert 86_000_000 <= ttl <= 86_402_000


def test_clients_sharing_it_stay_under_the_quota(
    redis_url: str, dlnuf_fake: FakeUpstreams
) -> None:
    companies = make_companies(10, kinds=("active",))
    dlnuf_fake.add(*companies)  # Recherche d'entreprises: 7 per second, 429 beyond
    limiters = [RedisRateLimiter.from_url(redis_url) for _ in range(2)]
    clients = [dlnuf.Client(cache=None, limiter=limiter) for limiter in limiters]
    results: list[bool] = []

    def run(client: dlnuf.Client, sirets: list[str]) -> None:
        results.extend(r.ok for r in client.many(sirets, concurrency=4))

    halves = [[c.siret for c in companies[:5]], [c.siret for c in companies[5:]]]
    workers = [
        threading.Thread(target=run, args=(client, half))
        for client, half in zip(clients, halves, strict=True)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for client in clients:
        client.close()
    assert results == [True] * 10
    assert dlnuf_fake.rate_limited["recherche_entreprises"] == 0


# -- Redis not there ------------------------------------------------------------------------


def test_unreachable_redis_is_a_clear_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisRateLimiter.from_url(UNREACHABLE)
    message = str(caught.value)
    assert "rate limiter" in message
    assert "127.0.0.1:1" in message
    assert "redis-server" in message
    assert "s3cret" not in message


def test_fallback_local_paces_this_process_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dlnuf.cache"):
        limiter = RedisRateLimiter.from_url(UNREACHABLE, fallback="local", safety=1.0)
    assert limiter.reserve(SECOND) == 0.0
    assert limiter.reserve(SECOND) == pytest.approx(1.0, abs=0.05)
    assert any("local rate limiter" in r.getMessage() for r in caplog.records)
    assert "s3cret" not in repr(limiter)


def _lose_connection(limiter: RedisRateLimiter, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(limiter.link.client, "evalsha", refuse)
    monkeypatch.setattr(limiter.link.client, "eval", refuse)


def test_losing_redis_is_typed(shared: RedisRateLimiter, monkeypatch: pytest.MonkeyPatch) -> None:
    _lose_connection(shared, monkeypatch)
    with pytest.raises(UpstreamUnavailable, match="redis-server"):
        shared.reserve(SECOND)


def test_losing_redis_mid_run_fails_lookups_typed_not_cached(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, dlnuf_fake: FakeUpstreams
) -> None:
    companies = make_companies(3, kinds=("active",))
    dlnuf_fake.add(*companies)
    limiter = RedisRateLimiter.from_url(redis_url)
    client = dlnuf.Client(
        cache="memory://", limiter=limiter, settings=Settings.from_env(retries=0)
    )
    with client:
        with monkeypatch.context() as patch:
            _lose_connection(limiter, patch)
            results = list(client.many([c.siret for c in companies]))
        assert all(isinstance(r.errors[dlnuf.Identity], UpstreamUnavailable) for r in results)
        assert dlnuf_fake.requests["recherche_entreprises"] == 0  # nothing sent unpaced
        assert all(r.ok for r in client.many([c.siret for c in companies]))  # none cached


@pytest.mark.parametrize(
    ("burst", "safety", "message"),
    [(0, 0.97, "burst must be at least 1"), (1, 0.0, "safety must be"), (1, 1.5, "safety must")],
)
def test_bad_pacing_arguments_are_refused_like_the_memory_limiter(
    redis_url: str, burst: int, safety: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RedisRateLimiter.from_url(redis_url, burst=burst, safety=safety)
