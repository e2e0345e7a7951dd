"""Pacing per quota pool: even spacing, header corrections, penalties, thread safety."""

from __future__ import annotations

import threading

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlnuf.ratelimit import MemoryRateLimiter, Quota, RateLimiter

WALL = 1_700_000_000.0
"""A fake Unix time, for RateLimit-Reset timestamps."""


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: FakeClock, *, safety: float = 1.0, burst: int = 1) -> MemoryRateLimiter:
    return MemoryRateLimiter(
        clock, burst=burst, safety=safety, wall_clock=lambda: WALL + clock.now - 1000.0
    )


MINUTE = Quota("api_entreprise_json", limit=60, period=60.0)  # one per second at safety 1


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({f"RateLimit-{k.capitalize()}": v for k, v in values.items()})


def test_memory_limiter_implements_the_protocol() -> None:
    assert isinstance(MemoryRateLimiter(), RateLimiter)


def test_reservations_are_evenly_spaced(clock: FakeClock) -> None:
    pacer = limiter(clock)
    assert [pacer.reserve(MINUTE) for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]


def test_safety_factor_spaces_slightly_more_than_the_quota(clock: FakeClock) -> None:
    pacer = MemoryRateLimiter(clock)  # default safety 0.97
    pacer.reserve(MINUTE)
    assert pacer.reserve(MINUTE) == pytest.approx(1 / 0.97)


def test_idle_time_does_not_accumulate_a_burst(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.reserve(MINUTE)
    clock.advance(100)
    assert pacer.reserve(MINUTE) == 0.0
    assert pacer.reserve(MINUTE) == 1.0


def test_wait_shrinks_as_time_passes(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.reserve(MINUTE)
    pacer.reserve(MINUTE)  # booked for +1 s
    clock.advance(1.5)
    assert pacer.reserve(MINUTE) == pytest.approx(0.5)  # slot at +2 s


def test_burst_lets_that_many_go_at_once(clock: FakeClock) -> None:
    pacer = limiter(clock, burst=3)
    assert [pacer.reserve(MINUTE) for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_pools_are_independent(clock: FakeClock) -> None:
    pacer = limiter(clock)
    other = Quota("insee", limit=30, period=60.0)
    assert pacer.reserve(MINUTE) == 0.0
    assert pacer.reserve(other) == 0.0
    assert pacer.reserve(MINUTE) == 1.0
    assert pacer.reserve(other) == 2.0


def test_quotas_of_the_same_pool_share_one_bucket(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.reserve(MINUTE)
    same_pool = Quota(MINUTE.pool, limit=60, period=60.0)
    assert pacer.reserve(same_pool) == 1.0


def test_max_wait_books_nothing_when_exceeded(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.penalize(MINUTE, 50)
    assert pacer.reserve(MINUTE, max_wait=30) == 50.0
    assert pacer.reserve(MINUTE, max_wait=30) == 50.0  # still the first slot after the pause
    assert pacer.reserve(MINUTE) == 50.0
    assert pacer.reserve(MINUTE) == 51.0


@pytest.mark.parametrize(("limit", "period"), [(7, 1.0), (250, 60.0), (30, 60.0), (1, 1.0)])
@settings(max_examples=50, deadline=None)
@given(gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=300))
def test_no_window_ever_holds_more_than_the_quota(
    limit: int, period: float, gaps: list[float]
) -> None:
    clock = FakeClock(0.0)
    pacer = MemoryRateLimiter(clock)  # default burst and safety
    quota = Quota("p", limit=limit, period=period)
    sent: list[float] = []
    for gap in gaps:
        clock.advance(gap * period / limit)
        sent.append(clock.now + pacer.reserve(quota))
    sent.sort()
    for i, start in enumerate(sent):
        in_window = sum(1 for t in sent[i:] if t <= start + period)
        assert in_window <= limit


# -- corrections from the RateLimit headers ---------------------------------------------


def test_server_limit_wins_over_the_documented_one(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(limit="30"))
    assert [pacer.reserve(MINUTE) for _ in range(3)] == [0.0, 2.0, 4.0]


def test_draft_header_syntax_reads_the_first_limit(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(limit="120, 120;w=60"))
    pacer.reserve(MINUTE)
    assert pacer.reserve(MINUTE) == 0.5


def test_remaining_zero_blocks_until_the_reset_timestamp(clock: FakeClock) -> None:
    pacer = limiter(clock)
    reset = WALL + 42  # API Entreprise: a Unix timestamp
    pacer.observe(MINUTE, headers(limit="60", remaining="0", reset=str(int(reset))))
    assert pacer.reserve(MINUTE) == pytest.approx(42.0)
    other = Quota("another_pool", limit=60)
    assert pacer.reserve(other) == 0.0


def test_remaining_zero_blocks_for_delta_seconds(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(remaining="0", reset="7"))
    assert pacer.reserve(MINUTE) == pytest.approx(7.0)
    clock.advance(7)
    assert pacer.reserve(MINUTE) == pytest.approx(1.0)  # the slot after the first one


def test_remaining_zero_without_reset_waits_one_period(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(remaining="0"))
    assert pacer.reserve(MINUTE) == pytest.approx(60.0)


def test_low_remaining_spreads_the_rest_until_the_reset(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(remaining="4", reset="20"))  # 4 left for 20 s: one per 5 s
    assert [pacer.reserve(MINUTE) for _ in range(3)] == [0.0, 5.0, 10.0]


def test_plenty_remaining_keeps_the_normal_spacing(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(remaining="55", reset="30"))
    assert [pacer.reserve(MINUTE) for _ in range(3)] == [0.0, 1.0, 2.0]


def test_spreading_ends_at_the_reset(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(remaining="1", reset="10"))
    clock.advance(11)
    assert [pacer.reserve(MINUTE) for _ in range(2)] == [0.0, 1.0]


@pytest.mark.parametrize(
    "junk",
    [
        {"limit": "abc", "remaining": "many", "reset": "soon"},
        {"limit": "", "remaining": "", "reset": ""},
        {"limit": "0", "remaining": "-3", "reset": "-10"},
        {"limit": "nan", "remaining": "inf", "reset": "1e400"},
        {"limit": "-1", "remaining": "0", "reset": "99999999999"},  # reset 3,000 years ahead
        {"remaining": "0", "reset": str(int(WALL - 30))},  # reset in the past
    ],
)
def test_junk_header_values_are_ignored(clock: FakeClock, junk: dict[str, str]) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, headers(**junk))
    waits = [pacer.reserve(MINUTE) for _ in range(2)]
    if junk.get("remaining") == "0":  # a usable Remaining: 0 without a usable reset
        assert waits == [60.0, 61.0]
    else:
        assert waits == [0.0, 1.0]


def test_headers_without_ratelimit_change_nothing(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.observe(MINUTE, httpx.Headers({"Content-Type": "application/json"}))
    assert [pacer.reserve(MINUTE) for _ in range(2)] == [0.0, 1.0]


# -- penalties --------------------------------------------------------------------------


def test_penalize_pauses_the_whole_pool(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.penalize(MINUTE, 12.5)
    assert pacer.reserve(MINUTE) == 12.5
    assert pacer.reserve(MINUTE) == 13.5
    assert pacer.reserve(Quota("elsewhere", limit=60)) == 0.0


def test_a_shorter_penalty_never_shortens_a_longer_one(clock: FakeClock) -> None:
    pacer = limiter(clock)
    pacer.penalize(MINUTE, 30)
    pacer.penalize(MINUTE, 2)
    assert pacer.reserve(MINUTE) == 30.0


@pytest.mark.parametrize("seconds", [0.0, -5.0, float("nan"), float("inf")])
def test_meaningless_penalties_are_ignored(clock: FakeClock, seconds: float) -> None:
    pacer = limiter(clock)
    pacer.penalize(MINUTE, seconds)
    assert pacer.reserve(MINUTE) == 0.0


# -- threads ----------------------------------------------------------------------------


def test_concurrent_reservations_never_share_a_slot(clock: FakeClock) -> None:
    pacer = limiter(clock)
    threads, each = 16, 50
    waits: list[float] = []
    collected = threading.Lock()
    start = threading.Barrier(threads)

    def worker() -> None:
        start.wait()
        mine = [pacer.reserve(MINUTE) for _ in range(each)]
        with collected:
            waits.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert sorted(waits) == [float(i) for i in range(threads * each)]


# -- quotas -----------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "period"), [(0, 60.0), (-1, 60.0), (10, 0.0)])
def test_a_quota_that_cannot_work_is_refused(limit: int, period: float) -> None:
    with pytest.raises(ValueError, match="invalid quota"):
        Quota("p", limit=limit, period=period)


def test_quota_rate() -> None:
    assert Quota("p", limit=250, period=60.0).rate == pytest.approx(250 / 60)
