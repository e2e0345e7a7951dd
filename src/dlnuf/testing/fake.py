"""The fake upstreams in one object: routing, quotas, faults, counters, respx and the server.

:class:`FakeUpstreams` holds a registry of :class:`~dlnuf.testing.companies.FakeCompany`
and serves every upstream fake (:class:`~dlnuf.testing.upstreams.Upstream`) found in the
entry points ``dlnuf.fakes`` or registered at run time, each answering like the real
service in its real payload shapes. dlnuf's own are
:mod:`~dlnuf.testing.upstreams.recherche_entreprises` (``GET /search?q=``),
:mod:`~dlnuf.testing.upstreams.api_entreprise` (``/v4/...``, bearer token and
``recipient``/``context``/``object`` checked) and
:mod:`~dlnuf.testing.upstreams.insee_sirene` (``/siret``, the API key checked).

What is generic is done here once, for every upstream: requests are routed by path,
whatever the host or path prefix (each upstream's :meth:`~dlnuf.testing.upstreams.Upstream.match`,
two claiming one path being an error), so the same handler serves respx
(:meth:`FakeUpstreams.mock`, the ``dlnuf_fake`` pytest fixture) and a real HTTP server
(:mod:`dlnuf.testing.server`). Each quota pool is a sliding window answering 429 with
``Retry-After`` beyond its limit, like the real services. Faults are injected per
source (:meth:`~FakeUpstreams.fail`, :meth:`~FakeUpstreams.latency`,
:meth:`~FakeUpstreams.rate_limit`, :meth:`~FakeUpstreams.malformed`,
:meth:`~FakeUpstreams.down`) on the requests the upstream lets be faulted (not on API
Entreprise's ``/privileges`` and ``/ping``), and everything is counted
(:meth:`~FakeUpstreams.stats`).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from .companies import FakeCompany
from .upstreams import (
    Answer,
    Quota,
    UnknownUpstream,
    Upstream,
    available_upstreams,
    builtin_upstreams,
    check_upstreams,
    route,
)
from .upstreams.base import UpstreamConflict, check_name

__all__ = [
    "BASE_URLS",
    "DEFAULT_QUOTAS",
    "SOURCES",
    "FakeUpstreams",
    "source_of",
]

_BUILTIN = builtin_upstreams()

SOURCES: tuple[str, ...] = tuple(_BUILTIN)
"""The sources dlnuf itself fakes (its own ``dlnuf.fakes`` entry points): Recherche
d'entreprises, API Entreprise and INSEE Sirene. A :class:`FakeUpstreams` serves these and
any other installed or registered (:attr:`FakeUpstreams.upstreams`)."""

BASE_URLS: dict[str, tuple[str, ...]] = {name: u.base_urls for name, u in _BUILTIN.items()}
"""The production (and staging) base URLs of dlnuf's own fakes, which
:meth:`FakeUpstreams.mock` intercepts (with those of any other upstream served)."""

DEFAULT_QUOTAS: dict[str, Quota] = {
    pool: quota for u in _BUILTIN.values() for pool, quota in u.quotas.items()
}
"""Documented quotas of dlnuf's own fakes, pool -> ``(limit, period in seconds)``: 7/s,
250/min, 30/min."""

_U = TypeVar("_U", bound=Upstream)
_JSON = "application/json; charset=utf-8"
_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def source_of(path: str) -> tuple[str, str] | None:
    """Which upstream a request path is for, and the path relative to its root.

    ``/v4/...`` is API Entreprise, ``.../siret[/...]`` INSEE Sirene, ``.../search``
    Recherche d'entreprises (any prefix before them is ignored), and so on for every
    other upstream fake available (:func:`~dlnuf.testing.upstreams.available_upstreams`).
    """
    found = route(available_upstreams().values(), path)
    return None if found is None else (found[0].name, found[1])


# --- Quotas ---------------------------------------------------------------------------------


class _Window:
    """A sliding window of ``limit`` requests per ``period`` seconds."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()

    def admit(self, now: float) -> tuple[bool, int, float]:
        """Count a request at ``now`` if the window has room: ``(admitted, remaining,
        seconds until a slot frees)``."""
        self._trim(now)
        admitted = len(self.times) < self.limit
        if admitted:
            self.times.append(now)
        remaining = self.limit - len(self.times)
        frees_in = self.times[0] + self.period - now if self.times else 0.0
        return admitted, remaining, max(frees_in, 0.0)


class _Peak:
    """The most requests seen in any sliding one-second window."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.peak = 0

    def seen(self, now: float) -> None:
        self.times.append(now)
        while self.times[0] <= now - 1.0:
            self.times.popleft()
        self.peak = max(self.peak, len(self.times))


# --- Faults ---------------------------------------------------------------------------------


@dataclass
class _Fault:
    """An injected misbehaviour: ``times`` answers left (``None``: until ``until``)."""

    status: int | None  # None: the connection fails
    body: bytes | None = None
    content_type: str = _JSON
    headers: Mapping[str, str] | None = None
    times: int | None = 1
    until: float | None = None

    def active(self, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        return self.times is None or self.times > 0


@dataclass
class _Outcome:
    """What the handler decided: a response or a connection error, after ``delay`` s."""

    response: httpx.Response | None
    delay: float = 0.0
    error: httpx.TransportError | None = None

    def result(self) -> httpx.Response:
        """The response, or the connection error raised."""
        if self.error is not None:
            raise self.error
        if self.response is None:  # pragma: no cover - every outcome has one or the other
            raise RuntimeError("an outcome without response nor error")
        return self.response


def _retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class _DelayedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that arrives ``delay`` seconds late: sleeps when read, sync or async."""

    def __init__(self, content: bytes, delay: float, sleep: Callable[[float], None]) -> None:
        self._content = content
        self._delay = delay
        self._sleep = sleep

    def __iter__(self) -> Iterator[bytes]:
        self._sleep(self._delay)
        yield self._content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        await asyncio.sleep(self._delay)
        yield self._content


# --- The fake -------------------------------------------------------------------------------


class FakeUpstreams:
    """Every upstream fake in one object: Recherche d'entreprises, API Entreprise, INSEE
    Sirene and any other installed (entry points ``dlnuf.fakes``) or registered
    (:func:`~dlnuf.testing.upstreams.register_upstream`) when it is created;
    :meth:`add_upstream` adds one later.

    ``companies`` fill the registry (:meth:`add` adds more). ``quotas`` override the
    upstreams' documented quotas (pool -> ``(limit, period)``, ``None`` to disable one);
    ``speedup`` divides every period (``speedup=60``: 250 per second instead of per
    minute); ``rate`` replaces every quota by ``rate`` requests per second;
    ``latency`` delays every answer. ``credentials`` are the exact credentials an
    upstream requires (source -> token or key; else any non-empty one is accepted);
    ``api_entreprise_token`` / ``insee_api_key`` are those of API Entreprise and INSEE;
    ``privileges`` is what API Entreprise's ``GET /privileges`` lists (default:
    every privilege dlnuf knows of).
    ``clock`` (monotonic seconds), ``wall_clock`` (Unix time) and ``sleep`` are
    injectable for tests. Thread-safe.
    """

    def __init__(
        self,
        companies: Iterable[FakeCompany] = (),
        *,
        quotas: Mapping[str, tuple[int, float] | None] | None = None,
        speedup: float = 1.0,
        rate: float | None = None,
        latency: float = 0.0,
        api_entreprise_token: str | None = None,
        insee_api_key: str | None = None,
        privileges: Iterable[str] | None = None,
        credentials: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self._lock = threading.RLock()
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._upstreams: dict[str, Upstream] = available_upstreams()
        check_upstreams(self._upstreams.values())
        self.credentials: dict[str, str] = dict(credentials or {})
        """The exact credential (token, API key) each source requires, by source name;
        a source not listed accepts any non-empty one."""
        if api_entreprise_token is not None:
            self.credentials["api_entreprise"] = api_entreprise_token
        if insee_api_key is not None:
            self.credentials["insee_sirene"] = insee_api_key
        self.privileges: set[str] | None = None if privileges is None else set(privileges)
        """What API Entreprise's ``GET /privileges`` lists (``None``: every privilege
        dlnuf knows of)."""
        self._speedup = speedup
        self._rate = rate
        self._quotas: dict[str, tuple[int, float] | None] = {}
        for upstream in self._upstreams.values():
            self._quotas.update(upstream.quotas)
        self._quotas.update(quotas or {})
        self._by_siret: dict[str, FakeCompany] = {}
        self._by_siren: dict[str, dict[str, FakeCompany]] = {}
        self._redirects: dict[str, str] = {}
        self._canned: dict[str, tuple[int, bytes, str]] = {}
        self._latency: dict[str, float] = {}
        self.default_latency = latency
        """Seconds every answer is delayed (on top of :meth:`latency`)."""
        self._faults: dict[str, list[_Fault]] = {}
        self._router: Any = None
        self._windows: dict[str, _Window] = {}
        self._peaks: dict[str, _Peak] = {}
        self.requests: Counter[str] = Counter()
        """Requests received, by source."""
        self.rate_limited: Counter[str] = Counter()
        """429 answers sent, by source (quota exceeded or injected)."""
        self.statuses: dict[str, Counter[int]] = {}
        """Answers sent, by source and HTTP status."""
        self._register(companies)

    # -- upstreams ------------------------------------------------------------------------

    @property
    def upstreams(self) -> dict[str, Upstream]:
        """The upstream fakes this fake serves, by source name."""
        with self._lock:
            return dict(self._upstreams)

    def add_upstream(self, upstream: _U, *, replace: bool = False) -> _U:
        """Serve ``upstream`` from this fake too (while :meth:`mock` is active, its base URLs
        and ``DLNUF_<NAME>_URL`` are intercepted at once); returns it.

        Raises :class:`~dlnuf.testing.upstreams.UpstreamConflict` when its name is
        served already (unless ``replace``) or when it and another claim the same
        example path. To serve it from every fake created afterwards, use
        :func:`~dlnuf.testing.upstreams.register_upstream`.
        """
        check_name(upstream, "the upstream added")
        with self._lock:
            if upstream.name in self._upstreams and not replace:
                raise UpstreamConflict(
                    f"this fake serves a fake upstream named {upstream.name!r} already "
                    f"({self._upstreams[upstream.name]!r}): pick another name, or replace=True"
                )
            upstreams: dict[str, Upstream] = {**self._upstreams, upstream.name: upstream}
            check_upstreams(upstreams.values())
            self._upstreams = upstreams
            for pool, quota in upstream.quotas.items():
                self._quotas.setdefault(pool, quota)
            if self._router is not None:
                self.intercept(*self._base_urls([upstream]))
        return upstream

    def is_down(self, source: str) -> bool:
        """Whether ``source`` is held :meth:`down` now."""
        now = self._clock()
        with self._lock:
            return any(f.until is not None and f.active(now)
                       for f in self._faults.get(source, []))

    # -- registry -------------------------------------------------------------------------

    def add(self, company: FakeCompany, *more: FakeCompany) -> FakeCompany:
        """Register companies (replacing any with the same SIRET); return the last one."""
        self._register((company, *more))
        return more[-1] if more else company

    def _register(self, companies: Iterable[FakeCompany]) -> None:
        with self._lock:
            for company in companies:
                self.remove(company.siret)
                self._by_siret[company.siret] = company
                self._by_siren.setdefault(company.siren, {})[company.siret] = company
                if company.redirected_from:
                    self._redirects[company.redirected_from] = company.siret

    def remove(self, siret: str) -> None:
        """Forget the company ``siret`` (unknown afterwards, like a purged unit)."""
        with self._lock:
            company = self._by_siret.pop(siret, None)
            if company is None:
                return
            self._by_siren.get(company.siren, {}).pop(siret, None)
            if company.redirected_from:
                self._redirects.pop(company.redirected_from, None)

    @property
    def companies(self) -> list[FakeCompany]:
        """Every registered company, in the order added."""
        with self._lock:
            return list(self._by_siret.values())

    def get(self, siret: str, *, redirects: bool = True) -> FakeCompany | None:
        """The company registered under ``siret`` (or, unless ``redirects`` is false,
        the one the duplicate ``siret`` was merged into), else ``None``."""
        with self._lock:
            if redirects:
                siret = self._redirects.get(siret, siret)
            return self._by_siret.get(siret)

    def redirected(self, siret: str) -> str | None:
        """The SIRET of the company the duplicate SIRET ``siret`` was merged into, if any
        (:attr:`~dlnuf.testing.FakeCompany.redirected_from`)."""
        with self._lock:
            return self._redirects.get(siret)

    def establishments(self, siren: str) -> list[FakeCompany]:
        """The registered establishments of the legal unit ``siren``, in the order added."""
        with self._lock:
            return list(self._by_siren.get(siren, {}).values())

    def find(self, value: str) -> FakeCompany | None:
        """The company a SIRET, a SIREN (its head office first) or an RNA number designates."""
        value = value.strip()
        with self._lock:
            if len(value) == 14:
                return self.get(value)
            if len(value) == 9:
                of_unit = list(self._by_siren.get(value, {}).values())
                heads = [c for c in of_unit if c.head_office]
                return heads[0] if heads else of_unit[0] if of_unit else None
            if value[:1].upper() == "W":
                return next((c for c in self._by_siret.values() if c.rna == value.upper()), None)
        return None

    def respond(self, path: str, status: int, payload: Any, *, content_type: str = _JSON) -> None:
        """Always answer ``path`` (relative to the upstream's root, e.g.
        ``/v4/insee/sirene/etablissements/552...``) with ``status`` and ``payload``
        (JSON-encoded unless it is ``bytes``/``str``), after the usual checks."""
        body = payload.encode() if isinstance(payload, str) else payload
        if not isinstance(body, bytes):
            body = json.dumps(payload, ensure_ascii=False).encode()
        with self._lock:
            self._canned[path] = (status, body, content_type)

    # -- quotas ---------------------------------------------------------------------------

    def set_quota(self, pool: str, limit: int | None, period: float = 1.0) -> None:
        """Change pool ``pool``'s quota to ``limit`` per ``period`` s (``None``: unlimited)."""
        with self._lock:
            self._quotas[pool] = None if limit is None else (limit, period)
            self._windows.pop(pool, None)

    def set_rate(self, rate: float | None) -> None:
        """Every pool allows ``rate`` requests per second (``None``: documented quotas)."""
        with self._lock:
            self._rate = rate
            self._windows.clear()

    def quota(self, pool: str) -> tuple[int, float] | None:
        """The ``(limit, period)`` pool ``pool`` enforces now, or ``None`` when unlimited."""
        with self._lock:
            if self._rate is not None:
                return max(1, round(self._rate)), 1.0
            quota = self._quotas.get(pool)
            if quota is None:
                return None
            return quota[0], quota[1] / self._speedup

    def _window(self, upstream: Upstream, pool: str) -> _Window | None:
        if pool not in self._quotas:
            default = upstream.quota(pool)
            if default is not None:
                self._quotas[pool] = default
        quota = self.quota(pool)
        if quota is None:
            return None
        window = self._windows.get(pool)
        if window is None or (window.limit, window.period) != quota:
            window = self._windows[pool] = _Window(*quota)
        return window

    # -- faults ---------------------------------------------------------------------------

    def _check_source(self, source: str) -> None:
        if source not in self._upstreams:
            raise UnknownUpstream(
                f"unknown source {source!r}; the fakes are {', '.join(self._upstreams)}"
            )

    def _inject(self, source: str, fault: _Fault) -> None:
        self._check_source(source)
        with self._lock:
            self._faults.setdefault(source, []).append(fault)

    def fail(
        self, source: str, status: int = 503, times: int | None = 2, body: Any = None
    ) -> None:
        """The next ``times`` requests to ``source`` (every one if ``None``) get ``status``,
        with the upstream's own error body unless ``body`` is given."""
        raw = None if body is None else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode()
        )
        self._inject(source, _Fault(status, raw, times=times))

    def latency(self, source: str, seconds: float) -> None:
        """Every answer of ``source`` comes ``seconds`` late (``0`` to stop)."""
        self._check_source(source)
        with self._lock:
            self._latency[source] = seconds

    def rate_limit(self, source: str, retry_after: float = 1.0, times: int | None = 1) -> None:
        """The next ``times`` requests to ``source`` get a 429 with ``Retry-After``."""
        self._inject(source, _Fault(429, None, headers={"Retry-After": _retry_after(retry_after)},
                                    times=times))

    def malformed(
        self,
        source: str,
        body: str | bytes = _GATEWAY_HTML,
        *,
        status: int = 200,
        times: int | None = 1,
        content_type: str = "text/html",
    ) -> None:
        """The next ``times`` answers of ``source`` have ``body`` (HTML by default) instead
        of JSON."""
        raw = body.encode() if isinstance(body, str) else body
        self._inject(source, _Fault(status, raw, content_type, times=times))

    def down(self, source: str, seconds: float, *, status: int | None = 503) -> None:
        """``source`` is down for ``seconds``: it answers ``status`` (``None``: the
        connection is refused), then comes back by itself."""
        self._inject(source, _Fault(status, None, times=None, until=self._clock() + seconds))

    def clear_faults(self, source: str | None = None) -> None:
        """Forget the faults and latency injected (for ``source``, or every source)."""
        with self._lock:
            for name in [source] if source else list(self._upstreams):
                self._faults.pop(name, None)
                self._latency.pop(name, None)

    def _take_fault(self, source: str, now: float) -> _Fault | None:
        faults = self._faults.get(source, [])
        faults[:] = [f for f in faults if f.active(now)]
        if not faults:
            return None
        fault = faults[0]
        if fault.times is not None:
            fault.times -= 1
        return fault

    # -- counters -------------------------------------------------------------------------

    def max_per_second(self, pool: str) -> int:
        """The most requests pool ``pool`` received in any sliding one-second window."""
        with self._lock:
            peak = self._peaks.get(pool)
            return peak.peak if peak else 0

    def stats(self) -> dict[str, Any]:
        """Every counter, JSON-ready: requests and 429s by source, statuses, peaks by pool."""
        with self._lock:
            return {
                "requests": dict(self.requests),
                "rate_limited": dict(self.rate_limited),
                "total_requests": sum(self.requests.values()),
                "total_rate_limited": sum(self.rate_limited.values()),
                "statuses": {
                    source: {str(k): v for k, v in sorted(counts.items())}
                    for source, counts in self.statuses.items()
                },
                "max_per_second": {pool: p.peak for pool, p in self._peaks.items()},
                "quotas": {
                    pool: {"limit": q[0], "period": q[1]}
                    for pool in sorted(self._quotas)
                    if (q := self.quota(pool)) is not None
                },
                "companies": len(self._by_siret),
            }

    def reset(self) -> None:
        """Zero the counters, empty the quota windows and drop every fault (not companies)."""
        with self._lock:
            self.requests.clear()
            self.rate_limited.clear()
            self.statuses.clear()
            self._peaks.clear()
            self._windows.clear()
            self._faults.clear()
            self._latency.clear()

    # -- handling -------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` as the upstream it is for would (sleeps the latency)."""
        outcome = self._dispatch(request)
        if outcome.delay > 0:
            self._sleep(outcome.delay)
        return outcome.result()

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        """:meth:`handle` for asyncio (the latency is awaited)."""
        outcome = self._dispatch(request)
        if outcome.delay > 0:
            await asyncio.sleep(outcome.delay)
        return outcome.result()

    def side_effect(self, request: httpx.Request) -> httpx.Response:
        """A respx side effect: like :meth:`handle`, but the latency is spent while the
        body is read, with ``time.sleep`` by a sync client and ``asyncio.sleep`` by an
        async one (so an event loop is never blocked)."""
        outcome = self._dispatch(request)
        response = outcome.result()
        if outcome.delay <= 0:
            return response
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_DelayedStream(response.content, outcome.delay, self._sleep),
        )

    def _dispatch(self, request: httpx.Request) -> _Outcome:
        with self._lock:
            upstreams = list(self._upstreams.values())
        found = route(upstreams, request.url.path)
        if found is None and "/files/" in request.url.path:  # documents' pre-signed URLs
            with self._lock:
                self.requests["documents"] += 1
            name = request.url.path.rsplit("/files/", 1)[-1].encode()
            return _Outcome(_raw(200, b"%PDF-1.4\n% dlnuf fake document " + name
                                 + b"\n%%EOF\n", "application/pdf"))
        if found is None:
            body = {"error": f"no fake upstream answers {request.url.path!r}"}
            return _Outcome(_response(404, body))
        upstream, path = found
        source = upstream.name
        with self._lock:
            now = self._clock()
            self.requests[source] += 1
            delay = self.default_latency + self._latency.get(source, 0.0)
            outcome = self._answer(upstream, path, request, now)
            outcome.delay = delay
            if outcome.response is not None:
                status = outcome.response.status_code
                self.statuses.setdefault(source, Counter())[status] += 1
                if status == 429:
                    self.rate_limited[source] += 1
            return outcome

    def _answer(
        self, upstream: Upstream, path: str, request: httpx.Request, now: float
    ) -> _Outcome:
        source = upstream.name
        pool = upstream.pool(path)
        window = None
        reset_at = 0.0
        headers: dict[str, str] = {}
        if pool is not None:
            self._peaks.setdefault(pool, _Peak()).seen(now)
            window = self._window(upstream, pool)
        if window is not None:
            admitted, remaining, frees_in = window.admit(now)
            reset_at = self._wall_clock() + frees_in
            headers = dict(upstream.rate_headers(window.limit, window.period, remaining,
                                                 reset_at))
            if not admitted:
                headers["Retry-After"] = _retry_after(frees_in)
                return _Outcome(_response(429, upstream.error_body(429), headers))
        fault = self._take_fault(source, now) if upstream.faultable(path) else None
        if fault is not None:
            if fault.status is None:
                error = httpx.ConnectError(f"[fake] {source} is down", request=request)
                return _Outcome(None, error=error)
            if fault.status == 429 and window is not None:  # nothing left, it says
                headers = dict(upstream.rate_headers(window.limit, window.period, 0,
                                                     reset_at))
            fault_headers = {**headers, **(fault.headers or {})}
            if fault.body is not None:
                return _Outcome(_raw(fault.status, fault.body, fault.content_type, fault_headers))
            return _Outcome(_response(fault.status, upstream.error_body(fault.status),
                                      fault_headers))
        refusal = upstream.refuse(request, path, self)
        if refusal is not None:
            return _Outcome(_reply(refusal, headers))
        canned = self._canned.get(path)
        if canned is not None:
            status, body, content_type = canned
            return _Outcome(_raw(status, body, content_type, headers))
        return _Outcome(_reply(upstream.answer(request, path, self), headers))

    # -- respx ------------------------------------------------------------------------------

    @contextmanager
    def mock(self, base_urls: Iterable[str] = ()) -> Iterator[FakeUpstreams]:
        """Intercept (with respx) every request to the served upstreams' production and
        staging base URLs, to the ``DLNUF_<SOURCE>_URL`` ones and to ``base_urls``, and
        answer them from this fake. Other requests fail as not mocked (no network)."""
        import respx

        urls = [*self._base_urls(self.upstreams.values()), *base_urls]
        with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
            self._router = router
            try:
                self.intercept(*urls)
                yield self
            finally:
                self._router = None

    def intercept(self, *base_urls: str) -> None:
        """While :meth:`mock` is active (the ``dlnuf_fake`` fixture), also answer the
        requests to ``base_urls`` (a proxy, a staging copy...)."""
        if self._router is None:
            raise RuntimeError("intercept() works while mock() is active (dlnuf_fake fixture)")
        for url in dict.fromkeys(u.rstrip("/") for u in base_urls):
            self._router.route(url__startswith=url + "/").mock(side_effect=self.side_effect)
            self._router.route(url__regex=re.escape(url) + r"(\?.*)?$").mock(
                side_effect=self.side_effect
            )

    @staticmethod
    def _base_urls(upstreams: Iterable[Upstream]) -> list[str]:
        """The upstreams' base URLs and their ``DLNUF_<SOURCE>_URL`` ones."""
        urls: list[str] = []
        for upstream in upstreams:
            urls.extend(upstream.base_urls)
            configured = os.environ.get(f"DLNUF_{upstream.name.upper()}_URL", "").strip()
            if configured:
                urls.append(configured)
        return urls


def _reply(answer: Answer, headers: Mapping[str, str]) -> httpx.Response:
    """An upstream's answer as a response, with ``headers`` (the quota's) added."""
    if isinstance(answer, httpx.Response):
        answer.read()
        for name, value in headers.items():
            answer.headers.setdefault(name, value)
        return answer
    status, payload, *extra = answer
    all_headers = {**headers, **(extra[0] if extra else {})}
    if isinstance(payload, bytes):
        return _raw(status, payload, all_headers.pop("Content-Type", _JSON), all_headers)
    return _response(status, payload, all_headers)


def _response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return _raw(status, body, _JSON, headers)


def _raw(
    status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    return httpx.Response(status, headers=all_headers, content=body)
