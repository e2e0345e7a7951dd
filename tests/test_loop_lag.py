"""Async is honest: an ``AsyncClient`` on a Redis cache and a Redis limiter (or on the
SQLite cache) never stalls its event loop.

A ticker task wakes up every millisecond and records the longest gap between two of
its wake-ups while the client works: single lookups, ``collect``, ``many()``, first on
an empty cache, then on a warm one. Any blocking call made on the loop delays the
ticker. Two realistic conditions make such calls long:

- Redis across a network: the test reaches it through a proxy that delays each of its
  answers by :data:`REDIS_DELAY` (a LAN round trip), so a cache read or a limiter call
  made on the loop blocks it that long, and ``many()`` reading a window of 64 lines
  from the cache at once blocks it 64 times as long;
- another process writing to the SQLite file: :data:`HOLD` seconds at a time, the
  test holds its write lock, so a cache write made on the loop waits that long.

The upstreams are the fake server in another process, on loopback
(``python -m dlnuf.testing.server``): its work does not run on the loop under test.
The garbage collector is paused while measuring (a full collection is a pause of the
whole process, not I/O on the loop), and the idle loop, measured just before, is the
control: the bound is a few milliseconds, widened only by what the idle loop itself
shows (a loaded machine preempts the whole process too).
"""

from __future__ import annotations

import asyncio
import gc
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from dlnuf import AsyncClient, Identity
from dlnuf.ratelimit import MemoryRateLimiter, Quota, RateLimiter
from dlnuf.ratelimit_redis import RedisRateLimiter
from dlnuf.sources.recherche_entreprises import RechercheEntreprises

REDIS_DELAY = 0.001
"""Seconds the proxy adds to every answer of Redis."""
HOLD = 0.1
"""Seconds the competing writer holds the SQLite file's write lock, again and again."""
BOUND = 0.015
"""The longest stall allowed (seconds), unless the idle loop already shows a longer one."""

TICK = 0.001
LINES = 200
"""SIRETs of the ``many()`` run (it reads a window of 64 lines at once)."""
CONCURRENCY = 4
FAST = Quota("loop-lag", 1_000_000, 1.0)
"""Pacing is not under test: a quota that never makes a request wait (the limiter is
still called before and after every request)."""


class Ticker:
    """Records the longest gap between two wake-ups of a task sleeping ``TICK`` at a time."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._stop = False

    async def run(self) -> None:
        last = time.perf_counter()
        while not self._stop:
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - TICK)
            last = now

    async def measure(self, work: Callable[[], Awaitable[object]]) -> float:
        """The longest stall (seconds) while ``work`` runs (the collector paused)."""
        gc.collect()
        gc.disable()
        task = asyncio.create_task(self.run())
        await asyncio.sleep(0)  # the ticker starts before the work
        try:
            await work()
        finally:
            self._stop = True
            await task
            gc.enable()
        return self.longest


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    """The fake upstreams in a process of their own: their URL and ``LINES`` SIRETs."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dlnuf.testing.server", "--port", "0", "--rate", "1000000",
         "--companies", str(LINES + 1), "--no-sandbox", "--max-seconds", "300"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout or ()],
                     daemon=True).start()
    try:
        first = lines.get(timeout=30)
        assert first.startswith("listening on "), first
        url = first.split()[-1]
        companies = httpx.get(f"{url}/__companies", timeout=10).json()
        sirets = [c["siret"] for c in companies if c["kind"] == "active"][:LINES + 1]
        yield url, sirets
    finally:
        process.terminate()
        process.wait(timeout=10)


PROXY = """
import asyncio, sys

async def pipe(reader, writer, delay):
    try:
        while data := await reader.read(65536):
            if delay:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()

async def handle(reader, writer):
    up_reader, up_writer = await asyncio.open_connection(sys.argv[1], int(sys.argv[2]))
    await asyncio.gather(pipe(reader, up_writer, 0), pipe(up_reader, writer, float(sys.argv[3])))

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"""
"""A TCP proxy that delays every chunk coming back from the server (argv: host, port,
seconds): Redis as if across a network."""


@pytest.fixture
def far_redis(redis_url: str) -> Iterator[str]:
    """``redis_url`` through a proxy adding :data:`REDIS_DELAY` to each answer."""
    parts = urlsplit(redis_url)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", PROXY, parts.hostname or "127.0.0.1", str(parts.port or 6379),
         str(REDIS_DELAY)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield parts._replace(netloc=f"{parts.hostname}:{port}").geturl()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sirets(server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The fake server's SIRETs; Recherche d'entreprises at a quota that never waits."""
    monkeypatch.setattr(RechercheEntreprises, "quota", lambda self, kind: FAST)
    return server[1]


async def _work(client: AsyncClient, sirets: list[str]) -> None:
    """Single lookups, collect and many(), first on an empty cache, then on a warm one."""
    for _ in range(2):
        for start in range(0, 40, CONCURRENCY):
            await asyncio.gather(*(client.identity(s) for s in sirets[start:start + CONCURRENCY]))
        for siret in sirets[40:50]:
            assert (await client.collect(siret, [Identity])).ok
        results = [r async for r in client.many(sirets, concurrency=CONCURRENCY)]
        assert len(results) == len(sirets)
        assert all(r.ok for r in results), [r.errors for r in results if not r.ok][:3]


async def _stall(
    url: str, cache: str, limiter: RateLimiter, sirets: list[str]
) -> tuple[float, float]:
    """The idle loop's longest stall, then the working loop's (after one lookup: the
    first connections and the first parse are made once per client, not measured)."""
    control = await Ticker().measure(lambda: asyncio.sleep(0.5))
    async with AsyncClient(sources=["recherche_entreprises"], cache=cache, limiter=limiter,
                           base_urls={"recherche_entreprises": url}) as client:
        await client.identity(sirets[-1])
        stall = await Ticker().measure(lambda: _work(client, sirets[:-1]))
    return control, stall


def _check(control: float, stall: float) -> None:
    allowed = max(BOUND, 2 * control)
    assert stall < allowed, (
        f"the event loop stalled {stall * 1000:.1f} ms (idle loop: {control * 1000:.1f} ms, "
        f"allowed: {allowed * 1000:.1f} ms)"
    )


@pytest.mark.redis
async def test_redis_cache_and_limiter_never_stall_the_loop(
    server: tuple[str, list[str]], sirets: list[str], far_redis: str
) -> None:
    limiter = RedisRateLimiter.from_url(far_redis, burst=10_000)
    try:
        _check(*await _stall(server[0], far_redis, limiter, sirets))
    finally:
        limiter.close()


async def test_sqlite_cache_never_stalls_the_loop(
    server: tuple[str, list[str]], sirets: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "cache.db"
    stop = threading.Event()

    def compete() -> None:  # another writer of the file: it holds the write lock now and then
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(HOLD)
            conn.execute("COMMIT")
            time.sleep(HOLD / 4)
        conn.close()

    limiter = MemoryRateLimiter(burst=10_000)
    sqlite3.connect(path).close()  # the file exists before the writer opens it
    writer = threading.Thread(target=compete, daemon=True)
    writer.start()
    try:
        _check(*await _stall(server[0], f"sqlite:///{path}", limiter, sirets))
    finally:
        stop.set()
        writer.join()
