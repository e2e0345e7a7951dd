"""One quota per pool shared by every process and machine: the pacing state lives in Redis.

:class:`RedisRateLimiter` is a :class:`~dlnuf.ratelimit.RateLimiter` whose pools
are Redis hashes (``dlnuf:quota:<pool>``: the fields of
:class:`~dlnuf.ratelimit.PoolState`). Each call runs :data:`SCRIPT`, one Lua
script executed atomically by Redis: it is :func:`~dlnuf.ratelimit.reserve_slot`,
:func:`~dlnuf.ratelimit.apply_headers` and :func:`~dlnuf.ratelimit.block`
translated line for line, so every guarantee of the memory limiter (no window of
``period`` seconds above the quota, the server's limit wins, ``Remaining: 0``
blocks, ``Retry-After`` pauses the pool) holds across processes. Times are the
Redis server's clock, the one clock every client agrees on.

The ``RateLimit-*`` headers are read in Python (:func:`~dlnuf.ratelimit.parse_rate_limit_headers`);
only the numbers travel to Redis.

Redis unreachable: :class:`~dlnuf.errors.ConfigurationError` when the limiter is
built (with how to start Redis), :class:`~dlnuf.errors.UpstreamUnavailable` on a
lost connection; with ``fallback="local"`` (or ``?fallback=local``), a
:class:`~dlnuf.ratelimit.MemoryRateLimiter` paces this process meanwhile, with a
warning.

:class:`AsyncRedisRateLimiter` is the asyncio twin (what
:class:`~dlnuf.AsyncClient` awaits): the same script through ``redis.asyncio``,
sharing the sync limiter's settings, local fallback and view of whether Redis is down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import httpx

from .cache.redis import DOWN, AsyncRedisLink, RedisLink
from .ratelimit import MemoryRateLimiter, Quota, RateLimitHeaders, parse_rate_limit_headers

__all__ = ["KEY_PREFIX", "SCRIPT", "AsyncRedisRateLimiter", "RedisRateLimiter"]

KEY_PREFIX = "dlnuf:quota:"
"""The hash of pool ``p`` is ``dlnuf:quota:p``."""

SCRIPT = """
-- KEYS[1] the pool's hash. ARGV: op, now ('' = the server's clock), quota limit, period,
-- then for reserve: burst, safety, max_wait ('' = none);
--      for observe: limit seen, remaining, reset_in ('' = absent);
--      for penalize: seconds.
local key, op = KEYS[1], ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local quota_limit, period = tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', key, 'tat', 'blocked_until', 'limit', 'spread_interval',
                     'spread_until')
local tat, blocked_until = tonumber(s[1]) or 0, tonumber(s[2]) or 0
local limit, spread_interval = tonumber(s[3]) or 0, tonumber(s[4]) or 0
local spread_until = tonumber(s[5]) or 0

local function num(x) return string.format('%.17g', x) end
local function save()
  redis.call('HSET', key, 'tat', num(tat), 'blocked_until', num(blocked_until),
             'limit', num(limit), 'spread_interval', num(spread_interval),
             'spread_until', num(spread_until))
  -- kept a day past its last use, then Redis forgets it (the documented quota applies)
  local last = math.max(tat, blocked_until, spread_until, now)
  redis.call('PEXPIRE', key, math.ceil((last - now + 86400) * 1000))
end

if op == 'reserve' then
  local burst, safety, max_wait = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  -- reserve_slot
  local at = math.max(tat, now, blocked_until)
  -- _interval: the server's limit, else the documented one
  local l = limit
  if l == 0 then l = quota_limit end
  local spacing = period / (l * safety)
  if at < spread_until then spacing = math.max(spacing, spread_interval) end
  local send_at = math.max(now, blocked_until, at - (burst - 1) * spacing)
  local wait = send_at - now
  if max_wait and wait > max_wait then return num(wait) end
  tat = at + spacing
  save()
  return num(wait)
elseif op == 'observe' then
  -- apply_headers
  local seen_limit, remaining, reset_in = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  if seen_limit then limit = seen_limit end
  if remaining then
    local reset_at = nil
    if reset_in then reset_at = now + reset_in end
    if remaining == 0 then
      blocked_until = math.max(blocked_until, reset_at or (now + period))
    elseif reset_at then
      spread_interval = (reset_at - now) / remaining
      spread_until = reset_at
    end
  end
  save()
  return '0'
elseif op == 'penalize' then
  -- block
  blocked_until = math.max(blocked_until, now + tonumber(ARGV[5]))
  save()
  return '0'
end
return redis.error_reply('dlnuf: unknown rate limiter operation ' .. tostring(op))
"""
"""The Lua script behind every :class:`RedisRateLimiter` call (atomic in Redis)."""


def _arg(value: float | int | None) -> str:
    return "" if value is None else repr(float(value))


class RedisRateLimiter:
    """A :class:`~dlnuf.ratelimit.RateLimiter` shared through Redis by any number of
    processes: one evenly spaced bucket per quota pool, as :class:`MemoryRateLimiter`.

    Build it with :meth:`from_url` and give it to the client:
    ``Client(limiter=RedisRateLimiter.from_url("redis://127.0.0.1:6379/0"))``.
    ``burst`` and ``safety`` are those of the memory limiter and must be the same in
    every process. ``clock`` replaces the Redis server's clock (tests only: every
    process must then share it); ``wall_clock`` reads ``RateLimit-Reset`` timestamps.
    """

    def __init__(
        self,
        link: RedisLink,
        *,
        burst: int = 1,
        safety: float = 0.97,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        # The local limiter (the fallback) checks burst and safety the same way.
        self._local = MemoryRateLimiter(burst=burst, safety=safety, wall_clock=wall_clock)
        self.link = link
        """The connection to Redis."""
        self._burst = burst
        self._safety = safety
        self._clock = clock
        self._wall_clock = wall_clock
        self._script = link.client.register_script(SCRIPT)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        burst: int = 1,
        safety: float = 0.97,
        fallback: str | None = None,
    ) -> RedisRateLimiter:
        """The limiter on the Redis at ``url``; ``fallback="local"`` (or ``?fallback=local``)
        paces this process alone while Redis is down instead of failing."""
        link = RedisLink.open(url, fallback=fallback, what="rate limiter")
        return cls(link, burst=burst, safety=safety)

    def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; return the seconds to wait before sending."""
        extra = [self._burst, self._safety, None if math.isinf(max_wait) else max_wait]
        answer = self._run("reserve", quota, extra)
        if answer is DOWN:
            return self._local.reserve(quota, max_wait=max_wait)
        return max(float(answer), 0.0)

    def admit(self, quota: Quota) -> float:
        """At the moment of sending, this process's own check (see
        :class:`~dlnuf.ratelimit.SendWindow`): no late wake-up here sends past the quota."""
        return self._local.admit(quota)

    def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-*`` response headers (junk is ignored)."""
        seen = parse_rate_limit_headers(headers, self._wall_clock())
        if seen == RateLimitHeaders():
            return
        if self._run("observe", quota, [seen.limit, seen.remaining, seen.reset_in]) is DOWN:
            self._local.observe(quota, headers)

    def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool, in any process, sends before ``seconds`` from now."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        if self._run("penalize", quota, [seconds]) is DOWN:
            self._local.penalize(quota, seconds)

    def close(self) -> None:
        """Close the connections."""
        self.link.close()

    def __repr__(self) -> str:
        return f"RedisRateLimiter({self.link.url!r}, burst={self._burst}, safety={self._safety})"

    def async_twin(self) -> AsyncRedisRateLimiter:
        """The asyncio twin: the same pools through ``redis.asyncio``."""
        return AsyncRedisRateLimiter(self)

    def _args(self, op: str, quota: Quota, extra: list[Any]) -> tuple[list[str], list[str]]:
        """The keys and arguments of :data:`SCRIPT` for one call."""
        now = self._clock() if self._clock is not None else None
        args = [op, _arg(now), _arg(quota.limit), _arg(quota.period), *map(_arg, extra)]
        return [KEY_PREFIX + quota.pool], args

    def _run(self, op: str, quota: Quota, extra: list[Any]) -> Any:
        keys, args = self._args(op, quota, extra)
        answer = self.link.call(lambda _: self._script(keys=keys, args=args), "rate limiter")
        return _text(answer)


class AsyncRedisRateLimiter:
    """The asyncio twin of a :class:`RedisRateLimiter` (an
    :class:`~dlnuf.ratelimit.AsyncRateLimiter`): the same pools, the same script,
    through ``redis.asyncio``, so that :class:`~dlnuf.AsyncClient` never blocks its
    event loop on Redis. Made from the sync limiter (``limiter.async_twin()``; the
    client does it), whose ``burst``, ``safety``, clocks and local fallback it shares.
    """

    def __init__(self, limiter: RedisRateLimiter) -> None:
        self.sync = limiter
        """The sync limiter this twin shares its pools and settings with."""
        self.link = AsyncRedisLink(limiter.link)
        """The asyncio connection to Redis."""
        self._script = self.link.client.register_script(SCRIPT)

    async def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        """Book the next slot in ``quota.pool``; return the seconds to wait before sending."""
        sync = self.sync
        extra = [sync._burst, sync._safety, None if math.isinf(max_wait) else max_wait]
        answer = await self._run("reserve", quota, extra)
        if answer is DOWN:
            return sync._local.reserve(quota, max_wait=max_wait)
        return max(float(answer), 0.0)

    def admit(self, quota: Quota) -> float:
        """This process's own check at the moment of sending (in memory, never I/O)."""
        return self.sync._local.admit(quota)

    async def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        """Correct the pool from the ``RateLimit-*`` response headers (junk is ignored)."""
        seen = parse_rate_limit_headers(headers, self.sync._wall_clock())
        if seen == RateLimitHeaders():
            return
        extra = [seen.limit, seen.remaining, seen.reset_in]
        if await self._run("observe", quota, extra) is DOWN:
            self.sync._local.observe(quota, headers)

    async def penalize(self, quota: Quota, seconds: float) -> None:
        """Nobody in the pool, in any process, sends before ``seconds`` from now."""
        if not math.isfinite(seconds) or seconds <= 0:
            return
        if await self._run("penalize", quota, [seconds]) is DOWN:
            self.sync._local.penalize(quota, seconds)

    async def aclose(self) -> None:
        """Close this twin's connections (the sync limiter's are closed by its owner)."""
        await self.link.aclose()

    def __repr__(self) -> str:
        return f"AsyncRedisRateLimiter({self.link.url!r})"

    async def _run(self, op: str, quota: Quota, extra: list[Any]) -> Any:
        keys, args = self.sync._args(op, quota, extra)

        async def script(_: object) -> Any:
            return await self._script(keys=keys, args=args)

        return _text(await self.link.call(script, "rate limiter"))


def _text(answer: Any) -> Any:
    return answer.decode() if isinstance(answer, bytes) else answer
