"""Shared fixtures: the sync and async clients behind one facade, and the contracts path.

Redis-backed tests need a server on loopback: locally run
``redis-server --port 6379 --bind 127.0.0.1 --save '' --daemonize yes``
(Debian package ``redis-server``); ``.ci/run`` installs and starts it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import dlnuf
from dlnuf.ratelimit import MemoryRateLimiter

CONTRACTS = Path(__file__).resolve().parents[1].parent / "shared" / "contracts" / "api-entreprise"


class ClientFacade:
    """Drives a Client or an AsyncClient through the same blocking calls.

    Lets one test body assert the behaviour of both clients (parametrised, not
    duplicated).
    """

    def __init__(self, mode: str, **kwargs: Any) -> None:
        self.mode = mode
        kwargs.setdefault("limiter", MemoryRateLimiter(safety=1.0, burst=1000))
        kwargs.setdefault("cache", "memory://")
        if mode == "sync":
            self.client: Any = dlnuf.Client(**kwargs)
        else:
            self._loop = asyncio.new_event_loop()
            self.client = dlnuf.AsyncClient(**kwargs)

    def _run(self, value: Any) -> Any:
        if self.mode == "sync":
            return value
        assert isinstance(value, Awaitable)
        return self._loop.run_until_complete(value)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr  # type: ignore[no-any-return]

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._run(attr(*args, **kwargs))

        return call

    def close(self) -> None:
        if self.mode == "sync":
            self.client.close()
        else:
            self._loop.run_until_complete(self.client.aclose())
            self._loop.close()


@pytest.fixture(autouse=True)
def _private_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Answers a test stores in the default place go to a temporary folder, never $HOME."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg-data"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., ClientFacade]]:
    """Build a client of the parametrised mode (sync or async); closed after the test."""
    made: list[ClientFacade] = []

    def factory(**kwargs: Any) -> ClientFacade:
        facade = ClientFacade(request.param, **kwargs)
        made.append(facade)
        return facade

    yield factory
    for facade in made:
        facade.close()


@pytest.fixture
def contracts() -> Path:
    """The operator's contract payloads, in ../shared beside the repo root."""
    assert CONTRACTS.is_dir(), f"missing {CONTRACTS}: ../shared must sit beside the repo"
    return CONTRACTS


REDIS_URL = os.environ.get("DLNUF_TEST_REDIS", "redis://127.0.0.1:6379/15")
"""The Redis database the ``redis`` tests use (flushed by each of them)."""


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The URL of an empty Redis database ($DLNUF_TEST_REDIS), flushed after the test.

    Skips when Redis is not reachable, saying how to start it, except when
    ``DLNUF_REQUIRE_REDIS=1`` (set by ``.ci/run``): then the test fails.
    """
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        message = (
            f"no Redis at {REDIS_URL} ({type(exc).__name__}); start one with "
            "`redis-server --port 6379 --bind 127.0.0.1 --save '' --daemonize yes` "
            "(Debian package redis-server), or set DLNUF_TEST_REDIS"
        )
        if os.environ.get("DLNUF_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


# -- hostile loopback servers (issue 8): two origins on one machine ------------------------


@pytest.fixture(scope="module")
def origin() -> Iterator[Any]:
    """A :class:`~dlnuf.testing.hostile.Hostile` server on 127.0.0.1 (a source's origin)."""
    from dlnuf.testing.hostile import Hostile

    server = Hostile("127.0.0.1")
    yield server
    server.close()


@pytest.fixture(scope="module")
def foreign() -> Iterator[Any]:
    """A :class:`~dlnuf.testing.hostile.Hostile` server on 127.0.0.2 (another origin)."""
    from dlnuf.testing.hostile import Hostile

    server = Hostile("127.0.0.2")
    yield server
    server.close()
