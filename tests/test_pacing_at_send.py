"""Pacing holds at the moment of sending: late wake-ups never bunch requests past the quota.

Slots are booked evenly, but a thread (or task) can wake up late from its pacing sleep
(a busy machine, the GIL): it then sends in a later window that already holds its own
share of requests, and a server counting per sliding window answers 429. The transport
checks, right before each request goes out, that the pool's last requests leave room
in the window; these tests make some wake-ups late on purpose and count, at the
receiving end, the requests in every window.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from dlnuf.config import Settings
from dlnuf.ratelimit import MemoryRateLimiter, Quota
from dlnuf.transport import AsyncTransport, SyncTransport

QUOTA = Quota("bunching", limit=10, period=0.5)  # 20 requests a second
LATE = 0.15  # one wake-up in four oversleeps by this much (30 % of the window)
REQUESTS = 40
URL = "https://upstream.test/thing"


def most_in_any_window(times: list[float], period: float) -> int:
    """The largest number of ``times`` in any window ``[t, t + period)``."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + period) - i for i, t in enumerate(ordered))


def test_most_in_any_window_counts_a_sliding_window() -> None:
    assert most_in_any_window([0.0, 0.1, 0.2, 0.3], 0.25) == 3
    assert most_in_any_window([0.0, 0.25, 0.5], 0.25) == 1


def _recording_transport(arrivals: list[float]) -> httpx.MockTransport:
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            arrivals.append(time.monotonic())
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


def test_threads_waking_late_never_exceed_the_quota_in_any_window() -> None:
    arrivals: list[float] = []
    turn = itertools.count()

    def late_sleep(seconds: float) -> None:
        time.sleep(seconds + (LATE if next(turn) % 4 == 0 else 0.0))

    transport = SyncTransport(
        Settings(retries=0),
        limiter=MemoryRateLimiter(),
        mounts={"https://upstream.test": _recording_transport(arrivals)},
        sleep=late_sleep,
    )
    with transport, ThreadPoolExecutor(4) as pool:
        list(pool.map(
            lambda _: transport.send(httpx.Request("GET", URL), QUOTA, source="test"),
            range(REQUESTS),
        ))
    assert len(arrivals) == REQUESTS
    assert most_in_any_window(arrivals, QUOTA.period) <= QUOTA.limit


async def test_tasks_waking_late_never_exceed_the_quota_in_any_window() -> None:
    arrivals: list[float] = []
    turn = itertools.count()

    async def late_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds + (LATE if next(turn) % 4 == 0 else 0.0))

    transport = AsyncTransport(
        Settings(retries=0),
        limiter=MemoryRateLimiter(),
        mounts={"https://upstream.test": _recording_transport(arrivals)},
        sleep=late_sleep,
    )
    async with transport:
        await asyncio.gather(*(
            transport.send(httpx.Request("GET", URL), QUOTA, source="test")
            for _ in range(REQUESTS)
        ))
    assert len(arrivals) == REQUESTS
    assert most_in_any_window(arrivals, QUOTA.period) <= QUOTA.limit
