"""Send identical requests once: callers asking for the same key share one answer.

A token's privileges or a provider's ping may be asked for by many lookups at
once (concurrent kinds of a collect, threads of a batch); the flow marks those
fetches with a ``shared`` key and the drivers send them through these.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["AsyncSingleFlight", "SyncSingleFlight"]

T = TypeVar("T")


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


class SyncSingleFlight(Generic[T]):
    """Threads asking for the same key while a call is running wait for its outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call[T]] = {}

    def run(self, key: str | None, call: Callable[[], T]) -> T:
        """``call()``, or the outcome of the running call for ``key`` (``None``: not shared)."""
        if key is None:
            return call()
        with self._lock:
            running = self._calls.get(key)
            if running is None:
                running = self._calls[key] = _Call()
                owner = True
            else:
                owner = False
        if not owner:
            running.done.wait()
            if running.error is not None:
                raise running.error
            return running.result  # type: ignore[return-value]
        try:
            running.result = call()
            return running.result
        except BaseException as exc:
            running.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            running.done.set()


class AsyncSingleFlight(Generic[T]):
    """Tasks asking for the same key while a call is running await its outcome."""

    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Future[T]] = {}

    async def run(self, key: str | None, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``, or the outcome of the running call for ``key``."""
        if key is None:
            return await call()
        running = self._calls.get(key)
        if running is None:
            running = asyncio.ensure_future(call())
            self._calls[key] = running
            running.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(running)

    def _forget(self, key: str, done: asyncio.Future[T]) -> None:
        self._calls.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: no "never retrieved" warning if every waiter left

