"""The drive loops of every flow, sync and async, in one place.

A *flow* (:mod:`dlnuf.flow`) is a generator that yields the I/O it needs as steps
and receives their answers: a lookup, a batch job (:mod:`dlnuf.batch`), a document
download (:meth:`dlnuf.documents.Documents.flow`). A driver performs the steps:

- :class:`SyncDriver` (behind :class:`~dlnuf.Client`) blocks: requests through the
  :class:`~dlnuf.transport.SyncTransport`, the cache called directly, local work
  inline, many lookups on a thread pool;
- :class:`AsyncDriver` (behind :class:`~dlnuf.AsyncClient`) awaits: requests through
  the :class:`~dlnuf.transport.AsyncTransport`, the cache through its asyncio twin
  (:func:`dlnuf.cache.as_async`: Redis on ``redis.asyncio``, SQLite in worker
  threads, memory inline), blocking work in worker threads, many lookups as tasks.
  Nothing it does blocks the event loop.

:func:`refresh_sync` and :func:`refresh_async` drive a vigilance run
(:class:`~dlnuf.vigilance.refresh.Refresher`: the plan and the recording) with a
client, a few workers per quota pool.

The flows decide everything; the drivers only do what a step says, so the two
clients behave the same. A broken cache never breaks a flow: a failed cache call
is logged and answered as a miss.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Container,
    Generator,
    Iterable,
    Iterator,
)
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .batch import _Plan, _prepare, _Task
from .cache.base import AsyncCache, Cache
from .documents import Documents, bind_documents
from .errors import DlnufError
from .facts.base import Fact
from .facts.evidence import Document
from .flow import (
    AnyStep,
    Blocking,
    CacheDelete,
    CacheGet,
    CacheSet,
    Core,
    Download,
    Fetch,
    LocalCall,
)
from .results import BatchResult
from .singleflight import AsyncSingleFlight, SyncSingleFlight
from .transport import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .vigilance.refresh import Refresher, RefreshReport, Task

__all__ = ["AsyncDriver", "SyncDriver", "cache_step", "refresh_async", "refresh_sync"]

log = logging.getLogger("dlnuf.client")

T = TypeVar("T")

Job = Generator[AnyStep, Any, Any]
"""What a driver runs: yields steps, receives their answers, returns an outcome."""


def cache_step(cache: Cache | None, step: AnyStep) -> Any:
    """Answer a cache step with a blocking cache: the entry for a :class:`CacheGet`,
    ``None`` otherwise, and ``None`` (logged) when the cache fails."""
    if cache is None:
        return None
    try:
        if type(step) is CacheGet:  # the hot path: a hit
            return cache.get(step.key)
        call, args, options = _cache_call(cache, step)
        return call(*args, **options)
    except Exception:
        log.exception("cache %s failed for %s", _what(step), _key(step))
    return None


async def _cache_step_async(cache: AsyncCache | None, step: AnyStep) -> Any:
    """:func:`cache_step` with an asyncio cache (awaited)."""
    if cache is None:
        return None
    try:
        if type(step) is CacheGet:
            return await cache.get(step.key)
        call, args, options = _cache_call(cache, step)
        return await call(*args, **options)
    except Exception:
        log.exception("cache %s failed for %s", _what(step), _key(step))
    return None


def _cache_call(
    cache: Cache | AsyncCache, step: AnyStep
) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """The cache method a step calls, with its arguments (the same for both twins)."""
    if type(step) is CacheGet:
        return cache.get, (step.key,), {}
    if type(step) is CacheSet:
        options: dict[str, Any] = {"expires_at": step.expires_at, "stale_until": step.stale_until}
        if step.decoded is not None:  # only for a cache that keeps_objects
            options["decoded"] = step.decoded
        return cache.set, (step.key, step.value), options
    if type(step) is CacheDelete:
        return cache.delete, (step.key,), {}
    raise TypeError(f"{type(step).__name__} is not a cache step")


def _what(step: AnyStep) -> str:
    return "read" if type(step) is CacheGet else "write"


def _key(step: AnyStep) -> str:
    return getattr(step, "key", "?")


class SyncDriver:
    """Runs flows with blocking I/O: what :class:`~dlnuf.Client` does with its steps."""

    def __init__(self, core: Core, transport: SyncTransport, documents: Documents) -> None:
        self.core = core
        self.transport = transport
        self.documents = documents
        self.cache: Cache | None = core.cache
        self._shared: SyncSingleFlight[httpx.Response] = SyncSingleFlight()

    def drive(self, flow: Generator[AnyStep, Any, T]) -> T:
        """Run ``flow`` to its end; its result (a fact's documents bound to this driver),
        or the :class:`~dlnuf.DlnufError` it raised."""
        cache = self.cache
        try:
            step = next(flow)
            while True:
                kind = type(step)
                if kind is CacheGet and cache is not None:  # the hot path: a hit, inline
                    try:
                        entry = cache.get(step.key)  # type: ignore[union-attr]
                    except Exception:
                        log.exception("cache read failed for %s", _key(step))
                        entry = None
                    step = flow.send(entry)
                    continue
                if kind is CacheGet or kind is CacheSet or kind is CacheDelete:
                    step = flow.send(cache_step(cache, step))
                    continue
                try:
                    answer = self._perform(step)
                except DlnufError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            if isinstance(result, Fact):
                bind_documents(result, self.fetch_document)
            return result

    def _perform(self, step: AnyStep) -> Any:
        if isinstance(step, Fetch):
            return self._shared.run(step.shared, partial(
                self.transport.send, step.request, step.quota, source=step.source.name
            ))
        if isinstance(step, LocalCall | Blocking):  # a local source, a host check: inline
            return step.run()
        if isinstance(step, Download):
            return self.transport.send(
                step.request, step.quota, source=step.source,
                max_bytes=step.max_bytes, check_url=step.check_url,
            )
        raise TypeError(f"a flow yielded {type(step).__name__}, not a step")

    def fetch_document(self, document: Document) -> bytes:
        """The bytes of ``document``: kept ones, else downloaded and kept."""
        return self.drive(self.documents.flow(document))

    def many(
        self,
        values: Iterable[object],
        kinds: Iterable[type[Fact]],
        *,
        concurrency: int,
        progress: bool,
        ordered: bool,
        skip: Container[int],
    ) -> Iterator[BatchResult]:
        """The engine of :meth:`dlnuf.Client.many`: arguments checked now, work done lazily
        by ``concurrency`` threads sharing the client (cache reads inline)."""
        plan, total = _prepare(self.core, values, kinds, concurrency, ordered, skip, progress)
        plan.inline = partial(cache_step, self.cache)
        return self._run_many(plan, concurrency, _Bar(total) if progress else None)

    def _run_many(self, plan: _Plan, concurrency: int, bar: _Bar | None) -> Iterator[BatchResult]:
        pool = ThreadPoolExecutor(concurrency, thread_name_prefix="dlnuf-many")
        running: dict[Future[Any], _Task] = {}
        try:
            while True:
                for task in plan.tasks(concurrency - len(running), idle=not running):
                    running[pool.submit(self._outcome, task.job)] = task
                answered = _answered(plan, bar)
                yield from answered
                go = _after_round(plan, len(running), answered)
                if go is None:
                    return
                if go:
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        plan.finish(running.pop(future), future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()

    def _outcome(self, job: Job) -> Any:
        try:
            return self.drive(job)
        except DlnufError as exc:
            return exc

    def close(self) -> None:
        """Close the transport (the cache is closed by the client)."""
        self.transport.close()


class AsyncDriver:
    """Runs flows with awaited I/O, never blocking the event loop: what
    :class:`~dlnuf.AsyncClient` does with its steps.

    ``cache`` is the asyncio twin of the client's cache (memory inline, SQLite in
    worker threads, Redis on ``redis.asyncio``); the transport awaits its limiter's twin.
    """

    def __init__(
        self,
        core: Core,
        transport: AsyncTransport,
        documents: Documents,
        cache: AsyncCache | None,
    ) -> None:
        self.core = core
        self.transport = transport
        self.documents = documents
        self.cache = cache
        self._inline: Cache | None = core.cache if getattr(cache, "inline", False) else None
        """The blocking cache itself when it never waits (memory): called without a hop."""
        self._shared: AsyncSingleFlight[httpx.Response] = AsyncSingleFlight()

    async def drive(self, flow: Generator[AnyStep, Any, T]) -> T:
        """Run ``flow`` to its end (see :meth:`SyncDriver.drive`)."""
        cache = self.cache
        inline = self._inline
        try:
            step = next(flow)
            while True:
                kind = type(step)
                if kind is CacheGet or kind is CacheSet or kind is CacheDelete:
                    if inline is not None:
                        step = flow.send(cache_step(inline, step))
                    else:
                        step = flow.send(await _cache_step_async(cache, step))
                    continue
                try:
                    answer = await self._perform(step)
                except DlnufError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            if isinstance(result, Fact):  # doc.fetch() serves kept bytes; download: awaited
                bind_documents(result, self.documents.cached_only)
            return result

    async def _perform(self, step: AnyStep) -> Any:
        if isinstance(step, Fetch):
            return await self._shared.run(step.shared, partial(
                self.transport.send, step.request, step.quota, source=step.source.name
            ))
        if isinstance(step, LocalCall | Blocking):  # may block on disk or DNS: off the loop
            return await asyncio.to_thread(step.run)
        if isinstance(step, Download):
            return await self.transport.send(
                step.request, step.quota, source=step.source,
                max_bytes=step.max_bytes, check_url=step.check_url,
            )
        raise TypeError(f"a flow yielded {type(step).__name__}, not a step")

    async def fetch_document(self, document: Document) -> bytes:
        """The bytes of ``document``: kept ones, else downloaded and kept."""
        return await self.drive(self.documents.flow(document))

    def many(
        self,
        values: Iterable[object],
        kinds: Iterable[type[Fact]],
        *,
        concurrency: int,
        progress: bool,
        ordered: bool,
        skip: Container[int],
    ) -> AsyncIterator[BatchResult]:
        """The engine of :meth:`dlnuf.AsyncClient.many`: arguments checked now, work done
        lazily by up to ``concurrency`` tasks. Cache reads are tasks too (awaited), but
        for the memory cache, read inline."""
        plan, total = _prepare(self.core, values, kinds, concurrency, ordered, skip, progress)
        if self._inline is not None:
            plan.inline = partial(cache_step, self._inline)
        return self._run_many(plan, concurrency, _Bar(total) if progress else None)

    async def _run_many(
        self, plan: _Plan, concurrency: int, bar: _Bar | None
    ) -> AsyncIterator[BatchResult]:
        running: dict[asyncio.Future[Any], _Task] = {}
        try:
            while True:
                for task in plan.tasks(concurrency - len(running), idle=not running):
                    running[asyncio.ensure_future(self._outcome(task.job))] = task
                answered = _answered(plan, bar)
                for result in answered:
                    yield result
                go = _after_round(plan, len(running), answered)
                if go is None:
                    return
                if go:
                    finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for future in finished:
                        plan.finish(running.pop(future), future.result())
        finally:
            for future in running:
                future.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
            if bar is not None:
                bar.close()

    async def _outcome(self, job: Job) -> Any:
        try:
            return await self.drive(job)
        except DlnufError as exc:
            return exc

    async def aclose(self) -> None:
        """Close the transport and the cache's twin (the cache is closed by the client)."""
        await self.transport.aclose()
        if self.cache is not None:
            await self.cache.aclose()


# -- vigilance ------------------------------------------------------------------------------


def refresh_sync(refresher: Refresher, client: Client) -> RefreshReport:
    """Run a vigilance :class:`~dlnuf.vigilance.refresh.Refresher`'s plan with the blocking
    client: a few threads per quota pool."""
    pools = refresher.plan()

    def one(task: Task) -> None:
        try:
            answer = refresher.answered(task, client.get(task.ident, task.kind), None)
        except DlnufError as exc:
            answer = refresher.answered(task, None, exc)
        if answer is None:
            return
        content = None
        if answer.document is not None:
            try:
                content = client.fetch_document(answer.document)
            except DlnufError as exc:
                refresher.failed(task, exc)
        refresher.record(task, answer.fact, answer.missing, content)

    def drain(queue: deque[Task], lock: threading.Lock) -> None:
        while True:
            with lock:
                if not queue:
                    return
                task = queue.popleft()
            if not refresher.skip(task):
                one(task)

    threads: list[threading.Thread] = []
    for pool, queue in pools.items():
        lock = threading.Lock()
        for _ in range(refresher.workers(pool, len(queue))):
            thread = threading.Thread(target=drain, args=(queue, lock), daemon=True,
                                      name=f"dlnuf-watch-{pool}")
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    return refresher.finish()


async def refresh_async(refresher: Refresher, client: AsyncClient) -> RefreshReport:
    """Run a vigilance refresher's plan with the asyncio client: a few tasks per quota
    pool (the portfolio's file is read and written off the event loop)."""
    pools = await asyncio.to_thread(refresher.plan)

    async def one(task: Task) -> None:
        try:
            answer = refresher.answered(task, await client.get(task.ident, task.kind), None)
        except DlnufError as exc:
            answer = refresher.answered(task, None, exc)
        if answer is None:
            return
        content = None
        if answer.document is not None:
            try:
                content = await client.fetch_document(answer.document)
            except DlnufError as exc:
                refresher.failed(task, exc)
        await asyncio.to_thread(refresher.record, task, answer.fact, answer.missing, content)

    async def drain(queue: deque[Task]) -> None:
        while queue:
            task = queue.popleft()
            if not refresher.skip(task):
                await one(task)

    workers: list[Awaitable[None]] = [
        drain(queue)
        for pool, queue in pools.items()
        for _ in range(refresher.workers(pool, len(queue)))
    ]
    await asyncio.gather(*workers)
    return await asyncio.to_thread(refresher.finish)


# -- helpers ----------------------------------------------------------------------------------


class _Bar:
    """A rich progress bar on stderr, shown from the first result on (rich is imported
    only when one is asked for)."""

    def __init__(self, total: int | None) -> None:
        self._total = total
        self._progress: Any = None
        self._task: Any = None

    def advance(self) -> None:
        if self._progress is None:
            self._start()
        self._progress.advance(self._task)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("dlnuf"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task("lookups", total=self._total)
        self._progress.start()


def _answered(plan: _Plan, bar: _Bar | None) -> list[BatchResult]:
    """The lines the plan answered since the last round (the bar moved on by as many)."""
    answered = plan.results()
    if bar is not None:
        for _ in answered:
            bar.advance()
    return answered


def _after_round(plan: _Plan, running: int, answered: list[BatchResult]) -> bool | None:
    """What a batch driver does after a round: ``None`` when every line is answered,
    ``True`` to wait for a running job, ``False`` to go round again at once."""
    if plan.done:
        return None
    if not running:
        if not answered:
            raise RuntimeError(
                "dlnuf.batch: nothing to run and nothing answered (a bug: report it)"
            )
        return False
    return True

