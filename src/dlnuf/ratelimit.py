"""Client-side pacing: one evenly spaced bucket (GCRA) per upstream quota pool.

A :class:`RateLimiter` never blocks: :meth:`RateLimiter.reserve` books the next
slot of a pool and returns how long the caller must wait before sending, so one
limiter serves threads and asyncio tasks alike (the transport does the sleeping).

The algorithm is the generic cell rate algorithm (GCRA), kept as pure functions
over a small per-pool state (:class:`PoolState`) so that a shared backend (Redis,
in a Lua script) can run the very same computation. The state of a pool is:

``tat``
    theoretical arrival time: the earliest time the next request may go in the
    evenly spaced schedule (``0`` = never used);
``blocked_until``
    nobody in the pool sends before this time (``RateLimit-Remaining: 0`` until
    ``RateLimit-Reset``, or a ``429 Retry-After``);
``limit``
    the limit the server announced in ``RateLimit-Limit`` (``0`` = none seen; the
    documented :attr:`Quota.limit` applies). The server wins;
``spread_interval`` / ``spread_until``
    the minimum spacing a low ``RateLimit-Remaining`` imposes, and when it ends
    (the server's reset time).

Requests are spaced by ``period / (limit * safety)``. With the default burst of 1
and a safety factor below 1, any window of ``period`` seconds (sliding or fixed)
holds at most ``floor(limit * safety) + 1 <= limit`` requests, so a server that
counts per sliding second or per minute never sees more than its quota. A burst
``b > 1`` lets ``b`` requests go back to back after an idle time and gives up that
guarantee by up to ``b - 1`` requests.

:class:`AsyncRateLimiter` is the asyncio twin that :class:`~dlnuf.AsyncClient`'s
transport awaits (:func:`as_async_limiter` makes it): the memory limiter's twin
calls it inline (a lock held for microseconds), the Redis one's runs the same Lua
script through ``redis.asyncio`` (:class:`~dlnuf.ratelimit_redis.AsyncRedisRateLimiter`),
any other limiter is called in a worker thread.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import httpx

__all__ = [
    "AsyncMemoryRateLimiter",
    "AsyncRateLimiter",
    "MemoryRateLimiter",
    "PoolState",
    "Quota",
    "RateLimitHeaders",
    "RateLimiter",
    "SendWindow",
    "ThreadedRateLimiter",
    "apply_headers",
    "as_async_limiter",
    "block",
    "parse_rate_limit_headers",
    "reserve_slot",
]

_TIMESTAMP_THRESHOLD = 1e9
"""A ``RateLimit-Reset`` above this is a Unix timestamp (API Entreprise), else delta-seconds."""
_MAX_RESET = 86_400.0
"""A reset further than this (one day) is junk and ignored."""


@dataclass(frozen=True)
class Quota:
    """A documented upstream quota: ``limit`` requests per ``period`` seconds in ``pool``.

    Requests of the same pool share one bucket, whatever the endpoint.
    """

    pool: str
    limit: int
    period: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or not self.period > 0:
            raise ValueError(f"invalid quota {self!r}: limit must be >= 1 and period > 0")

    @property
    def rate(self) -> float:
        """Requests per second allowed on average."""
        return self.limit / self.period


@runtime_checkable
class RateLimiter(Protocol):
    """Paces requests per quota pool. Every method is non-blocking and thread-safe."""

    def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; return the seconds to wait before sending.

        When the wait would exceed ``max_wait``, nothing is booked and the wait is
        returned all the same (the caller gives up instead of sleeping).
        """
        ...

    def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-Limit/Remaining/Reset`` response headers."""
        ...

    def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool sends before ``seconds`` from now (after a 429 / Retry-After)."""
        ...


@runtime_checkable
class AsyncRateLimiter(Protocol):
    """The asyncio twin of :class:`RateLimiter`: the same calls, awaited, never blocking
    the event loop. It may also have the sync ``admit(quota)`` of an in-process
    :class:`SendWindow` (never I/O)."""

    async def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; the seconds to wait before sending."""
        ...

    async def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-*`` response headers."""
        ...

    async def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool sends before ``seconds`` from now."""
        ...


@dataclass(frozen=True)
class PoolState:
    """The pacing state of one pool (see the module docstring); times are clock seconds."""

    tat: float = 0.0
    blocked_until: float = 0.0
    limit: int = 0
    spread_interval: float = 0.0
    spread_until: float = 0.0


@dataclass(frozen=True)
class RateLimitHeaders:
    """What the ``RateLimit-*`` headers of one response said (``None`` = absent or junk)."""

    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None
    """Seconds from now until the current window resets."""


def _first_number(value: str | None) -> float | None:
    """The leading number of a header value (``"250"``, ``"250, 250;w=60"``), or ``None``."""
    if value is None:
        return None
    head = value.split(",", 1)[0].split(";", 1)[0].strip()
    try:
        number = float(head)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_rate_limit_headers(headers: Mapping[str, str], wall_now: float) -> RateLimitHeaders:
    """Read ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``.

    ``RateLimit-Reset`` above 1e9 is a Unix timestamp (converted with ``wall_now``,
    the current Unix time), else seconds from now. Junk, negative or absurd values
    (a reset in the past or more than a day ahead) are ignored.
    """
    limit = _first_number(headers.get("ratelimit-limit"))
    remaining = _first_number(headers.get("ratelimit-remaining"))
    reset = _first_number(headers.get("ratelimit-reset"))
    reset_in: float | None = None
    if reset is not None:
        reset_in = reset - wall_now if reset > _TIMESTAMP_THRESHOLD else reset
        if not 0.0 <= reset_in <= _MAX_RESET:
            reset_in = None
    return RateLimitHeaders(
        limit=int(limit) if limit is not None and limit >= 1 else None,
        remaining=int(remaining) if remaining is not None and remaining >= 0 else None,
        reset_in=reset_in,
    )


def _interval(state: PoolState, quota: Quota, at: float, safety: float) -> float:
    """Seconds between two requests of the pool for a slot at time ``at``."""
    limit = state.limit or quota.limit
    spacing = quota.period / (limit * safety)
    if at < state.spread_until:
        spacing = max(spacing, state.spread_interval)
    return spacing


def reserve_slot(
    state: PoolState,
    quota: Quota,
    now: float,
    *,
    burst: int = 1,
    safety: float = 0.97,
    max_wait: float = math.inf,
) -> tuple[float, PoolState]:
    """Book the next slot: return ``(wait, new_state)``; GCRA with tolerance ``burst - 1``.

    When ``wait > max_wait`` the state is returned unchanged (nothing booked).
    """
    tat = max(state.tat, now, state.blocked_until)
    spacing = _interval(state, quota, tat, safety)
    send_at = max(now, state.blocked_until, tat - (burst - 1) * spacing)
    wait = send_at - now
    if wait > max_wait:
        return wait, state
    return wait, replace(state, tat=tat + spacing)


def apply_headers(
    state: PoolState, quota: Quota, seen: RateLimitHeaders, now: float
) -> PoolState:
    """Correct a pool from what the server said: its limit wins, ``Remaining: 0`` blocks
    until the reset (one period when no reset was given), a low ``Remaining`` spreads
    the remaining requests until the reset."""
    if seen.limit is not None:
        state = replace(state, limit=seen.limit)
    if seen.remaining is None:
        return state
    reset_at = now + seen.reset_in if seen.reset_in is not None else None
    if seen.remaining == 0:
        until = reset_at if reset_at is not None else now + quota.period
        return block(state, until)
    if reset_at is not None:
        return replace(
            state, spread_interval=(reset_at - now) / seen.remaining, spread_until=reset_at
        )
    return state


def block(state: PoolState, until: float) -> PoolState:
    """Nobody sends before ``until`` (an earlier block is never shortened)."""
    return replace(state, blocked_until=max(state.blocked_until, until))


class MemoryRateLimiter:
    """A :class:`RateLimiter` for one process: pools in a dict behind a lock.

    ``clock`` (monotonic seconds) and ``wall_clock`` (Unix time, used to read
    ``RateLimit-Reset`` timestamps) are injectable for tests.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        burst: int = 1,
        safety: float = 0.97,
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if not 0.0 < safety <= 1.0:
            raise ValueError("safety must be in (0, 1]")
        self._clock = clock
        self._wall_clock = wall_clock
        self._burst = burst
        self._safety = safety
        self._pools: dict[str, PoolState] = {}
        self._lock = threading.Lock()
        self._sends = SendWindow(clock, safety)

    def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; return the seconds to wait before sending."""
        with self._lock:
            state = self._pools.get(quota.pool, PoolState())
            wait, self._pools[quota.pool] = reserve_slot(
                state,
                quota,
                self._clock(),
                burst=self._burst,
                safety=self._safety,
                max_wait=max_wait,
            )
        return max(wait, 0.0)

    def admit(self, quota: Quota) -> float:
        """At the moment of sending: 0 and the request is counted, or the seconds to wait
        because the pool's last requests fill its window (see :class:`SendWindow`)."""
        return self._sends.admit(quota)

    def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-*`` response headers (junk is ignored)."""
        seen = parse_rate_limit_headers(headers, self._wall_clock())
        if seen == RateLimitHeaders():
            return
        with self._lock:
            state = self._pools.get(quota.pool, PoolState())
            self._pools[quota.pool] = apply_headers(state, quota, seen, self._clock())

    def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool sends before ``seconds`` from now."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        with self._lock:
            state = self._pools.get(quota.pool, PoolState())
            self._pools[quota.pool] = block(state, self._clock() + seconds)


    def async_twin(self) -> AsyncMemoryRateLimiter:
        """The asyncio twin: the same pools, called inline."""
        return AsyncMemoryRateLimiter(self)


class AsyncMemoryRateLimiter:
    """The twin of a :class:`MemoryRateLimiter`: the same pools (shared with the sync
    clients of the process), called inline: its lock is held for microseconds and
    never across I/O, so the event loop never waits on it."""

    def __init__(self, limiter: MemoryRateLimiter) -> None:
        self.sync = limiter
        """The memory limiter this twin paces with."""

    async def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; the seconds to wait before sending."""
        return self.sync.reserve(quota, max_wait=max_wait)

    def admit(self, quota: Quota) -> float:
        """See :meth:`MemoryRateLimiter.admit` (in memory, never I/O)."""
        return self.sync.admit(quota)

    async def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-*`` response headers."""
        self.sync.observe(quota, headers)

    async def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool sends before ``seconds`` from now."""
        self.sync.penalize(quota, seconds)


class ThreadedRateLimiter:
    """The twin of any blocking :class:`RateLimiter` (your own): each call in a worker
    thread. Its ``admit``, if any, is called inline (it must not do I/O)."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.sync = limiter
        """The blocking limiter this twin calls."""
        admit = getattr(limiter, "admit", None)
        if callable(admit):
            self.admit = admit

    async def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; the seconds to wait before sending."""
        return await asyncio.to_thread(lambda: self.sync.reserve(quota, max_wait=max_wait))

    async def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-*`` response headers."""
        await asyncio.to_thread(self.sync.observe, quota, headers)

    async def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool sends before ``seconds`` from now."""
        await asyncio.to_thread(self.sync.penalize, quota, seconds)


def as_async_limiter(limiter: RateLimiter | AsyncRateLimiter) -> AsyncRateLimiter:
    """The asyncio twin of ``limiter``: itself when it is one already (its ``reserve``
    is a coroutine function), its own (``limiter.async_twin()``: memory inline, Redis
    on ``redis.asyncio``), else a :class:`ThreadedRateLimiter`."""
    if asyncio.iscoroutinefunction(getattr(limiter, "reserve", None)):
        return limiter  # type: ignore[return-value]
    twin = getattr(limiter, "async_twin", None)
    if callable(twin):
        made: AsyncRateLimiter = twin()
        return made
    return ThreadedRateLimiter(limiter)  # type: ignore[arg-type]


class SendWindow:
    """The moments this process's last requests of each pool went out, checked at sending.

    The GCRA books evenly spaced slots, but the thread or task that holds a slot can
    wake up late from its sleep (a busy machine, the GIL) and send in a later window
    that already holds its own share: a server counting per sliding window then sees
    more than its quota. Right before a request goes out, :meth:`admit` lets it go
    only when fewer than ``limit`` requests of its pool went out in the last
    ``period * (2 - safety)`` (3 % longer than the period by default: the evenly spaced
    schedule, ``safety`` below the quota, never fills that window, and a request may
    reach the server that much later than it left without making the server's count
    exceed the quota). Otherwise it says how long to wait. Per process: a shared
    Redis limiter paces the processes between them.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, safety: float = 0.97) -> None:
        self._clock = clock
        self._stretch = 2.0 - safety
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, quota: Quota) -> float:
        """Record a request going out now and return 0, or return the seconds to wait
        (nothing recorded) when the pool's window is full."""
        window = quota.period * self._stretch
        with self._lock:
            now = self._clock()
            sent = self._sent.get(quota.pool)
            if sent is None or sent.maxlen != quota.limit:
                sent = self._sent[quota.pool] = deque(sent or (), maxlen=quota.limit)
            if len(sent) == quota.limit and now - sent[0] < window:
                return sent[0] + window - now
            sent.append(now)
            return 0.0
