"""The three upstreams faked in-process: one request handler, quotas, faults and counters.

:class:`FakeUpstreams` holds a registry of :class:`~dlnuf.testing.companies.FakeCompany`
and answers like the real services, in their real payload shapes
(:mod:`dlnuf.testing.payloads`):

* Recherche d'entreprises: ``GET /search?q=`` (SIRET or SIREN lookup, or a name);
* API Entreprise: ``GET /v4/insee/sirene/etablissements[/diffusibles]/{siret}`` and
  every endpoint registered with :func:`~dlnuf.testing.payloads.register_api_entreprise`
  (bearer token, ``recipient``/``context``/``object`` checked as the server does);
* INSEE Sirene 3.11: ``GET /siret/{siret}`` and ``POST /siret`` (``q=siret:A OR ...``),
  with the ``X-INSEE-Api-Key-Integration`` header checked.

Requests are routed by path, whatever the host or path prefix, so the same handler
serves respx (:meth:`FakeUpstreams.mock`, the ``dlnuf_fake`` pytest fixture) and a
real HTTP server (:mod:`dlnuf.testing.server`). Each quota pool is a sliding window
answering 429 with ``Retry-After`` beyond its limit, like the real services; API
Entreprise responses carry ``RateLimit-Limit/Remaining/Reset``. Faults are injected
per source (:meth:`~FakeUpstreams.fail`, :meth:`~FakeUpstreams.latency`,
:meth:`~FakeUpstreams.rate_limit`, :meth:`~FakeUpstreams.malformed`,
:meth:`~FakeUpstreams.down`) on data requests (not on API Entreprise's
``/privileges`` and ``/ping``), and everything is counted (:meth:`~FakeUpstreams.stats`).
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
from typing import Any
from urllib.parse import parse_qs

import httpx

from ..identifiers import Siret
from .companies import FakeCompany
from .payloads import (
    NOT_FOUND_PAYLOAD,
    api_entreprise_error,
    find_api_entreprise_route,
    insee_batch,
    insee_error,
    insee_response,
    recherche_error,
    recherche_result,
    recherche_search,
)

__all__ = [
    "BASE_URLS",
    "DEFAULT_QUOTAS",
    "SOURCES",
    "FakeUpstreams",
    "source_of",
]

SOURCES: tuple[str, ...] = ("recherche_entreprises", "api_entreprise", "insee_sirene")

BASE_URLS: dict[str, tuple[str, ...]] = {
    "recherche_entreprises": ("https://recherche-entreprises.api.gouv.fr",),
    "api_entreprise": (
        "https://entreprise.api.gouv.fr",
        "https://staging.entreprise.api.gouv.fr",
    ),
    "insee_sirene": ("https://api.insee.fr/api-sirene/3.11",),
}
"""The production (and staging) base URLs :meth:`FakeUpstreams.mock` intercepts."""

DEFAULT_QUOTAS: dict[str, tuple[int, float]] = {
    "recherche_entreprises": (7, 1.0),
    "api_entreprise:json": (250, 60.0),
    "insee_sirene": (30, 60.0),
}
"""Documented quotas, pool -> ``(limit, period in seconds)``: 7/s, 250/min, 30/min."""

KEY_HEADER = "x-insee-api-key-integration"
_POOL_OF = {"recherche_entreprises": "recherche_entreprises", "insee_sirene": "insee_sirene"}
_API_VERSION = re.compile(r"/v\d+/")
_API_META = re.compile(r"/(privileges|ping(?:/[^/]+)+)/?$")
"""``/privileges`` and ``/ping/<provider>``, a provider id having one segment or more
(``insee/sirene``, ``djepva/api-association``)."""
_INSEE_PATH = re.compile(r"/(siret|siren)(?:/([^/]*))?$")
_SIRET_TERM = re.compile(r"siret:\s*\"?(\d{14})")
_JSON = "application/json; charset=utf-8"
_GATEWAY_HTML = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def source_of(path: str) -> tuple[str, str] | None:
    """Which upstream a request path is for, and the path relative to its root.

    ``/v4/...`` is API Entreprise, ``.../siret[/...]`` INSEE Sirene, ``.../search``
    Recherche d'entreprises; any prefix before them is ignored.
    """
    match = _API_VERSION.search(path) or _API_META.search(path)
    if match:
        return "api_entreprise", path[match.start():]
    match = _INSEE_PATH.search(path)
    if match:
        return "insee_sirene", path[match.start():]
    if path.rstrip("/").endswith("/search"):
        return "recherche_entreprises", "/search"
    return None


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
    """Recherche d'entreprises, API Entreprise and INSEE Sirene, faked in one object.

    ``companies`` fill the registry (:meth:`add` adds more). ``quotas`` override
    :data:`DEFAULT_QUOTAS` (pool -> ``(limit, period)``, ``None`` to disable one);
    ``speedup`` divides every period (``speedup=60``: 250 per second instead of per
    minute); ``rate`` replaces every quota by ``rate`` requests per second;
    ``latency`` delays every answer. ``api_entreprise_token`` / ``insee_api_key``,
    when given, must match (else any non-empty credential is accepted);
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
        self._token = api_entreprise_token
        self.privileges: set[str] | None = None if privileges is None else set(privileges)
        """What ``GET /privileges`` lists (``None``: every privilege dlnuf knows of)."""
        self._key = insee_api_key
        self._speedup = speedup
        self._rate = rate
        self._quotas: dict[str, tuple[int, float] | None] = dict(DEFAULT_QUOTAS)
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

    def get(self, siret: str) -> FakeCompany | None:
        """The company registered under ``siret`` (or redirected from it), else ``None``."""
        with self._lock:
            return self._by_siret.get(self._redirects.get(siret, siret))

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

    def _window(self, pool: str, default: tuple[int, float] | None) -> _Window | None:
        if pool not in self._quotas and default is not None:
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
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; the fakes are {', '.join(SOURCES)}")

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
            for name in [source] if source else list(SOURCES):
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
        found = source_of(request.url.path)
        if found is None and "/files/" in request.url.path:  # documents' pre-signed URLs
            with self._lock:
                self.requests["documents"] += 1
            name = request.url.path.rsplit("/files/", 1)[-1].encode()
            return _Outcome(_raw(200, b"%PDF-1.4\n% dlnuf fake document " + name
                                 + b"\n%%EOF\n", "application/pdf"))
        if found is None:
            body = {"error": f"no fake upstream answers {request.url.path!r}"}
            return _Outcome(_response(404, body))
        source, path = found
        with self._lock:
            now = self._clock()
            self.requests[source] += 1
            delay = self.default_latency + self._latency.get(source, 0.0)
            outcome = self._answer(source, path, request, now)
            outcome.delay = delay
            if outcome.response is not None:
                status = outcome.response.status_code
                self.statuses.setdefault(source, Counter())[status] += 1
                if status == 429:
                    self.rate_limited[source] += 1
            return outcome

    def _pool(self, source: str, path: str) -> tuple[str, tuple[int, float] | None]:
        if source != "api_entreprise":
            return _POOL_OF[source], None
        found = find_api_entreprise_route(path)
        if found is None:
            return "api_entreprise:json", None
        return found[0].pool, found[0].quota

    def _answer(self, source: str, path: str, request: httpx.Request, now: float) -> _Outcome:
        if path.startswith("/ping/"):  # not rate limited, never faulted
            down = any(f.until is not None and f.active(now)
                       for f in self._faults.get(source, []))
            return _Outcome(_response(200, {"status": "maintenance" if down else "ok"}))
        pool, default = self._pool(source, path)
        self._peaks.setdefault(pool, _Peak()).seen(now)
        window = self._window(pool, default)
        headers: dict[str, str] = {}
        if window is not None:
            admitted, remaining, frees_in = window.admit(now)
            if source == "api_entreprise":
                headers = {
                    # Per minute, as the real header (and its documentation) says.
                    "RateLimit-Limit": str(round(window.limit * 60 / window.period)),
                    "RateLimit-Remaining": str(remaining),
                    "RateLimit-Reset": str(math.ceil(self._wall_clock() + frees_in)),
                }
            if not admitted:
                headers["Retry-After"] = _retry_after(frees_in)
                return _Outcome(_response(429, _error_body(source, 429), headers))
        fault = None if path == "/privileges" else self._take_fault(source, now)
        if fault is not None:
            if fault.status is None:
                error = httpx.ConnectError(f"[fake] {source} is down", request=request)
                return _Outcome(None, error=error)
            fault_headers = {**headers, **(fault.headers or {})}
            if fault.status == 429 and "RateLimit-Remaining" in fault_headers:
                fault_headers["RateLimit-Remaining"] = "0"
            if fault.body is not None:
                return _Outcome(_raw(fault.status, fault.body, fault.content_type, fault_headers))
            return _Outcome(_response(fault.status, _error_body(source, fault.status),
                                      fault_headers))
        if source == "api_entreprise":
            refusal = _ae_refusal(request, self._token)
            if refusal is not None:
                return _Outcome(_response(refusal[0], refusal[1], headers))
        canned = self._canned.get(path)
        if canned is not None:
            status, body, content_type = canned
            return _Outcome(_raw(status, body, content_type, headers))
        if source == "api_entreprise":
            status, payload, extra = self._api_entreprise(path, request)
        elif source == "insee_sirene":
            status, payload, extra = self._insee(path, request)
        else:
            status, payload, extra = self._recherche(request)
        return _Outcome(_response(status, payload, {**headers, **extra}))

    # -- API Entreprise --------------------------------------------------------------------

    def _api_entreprise(
        self, path: str, request: httpx.Request
    ) -> tuple[int, Any, dict[str, str]]:
        if path.rstrip("/") == "/privileges":
            granted = sorted(self.privileges if self.privileges is not None else _all_privileges())
            return 200, {"data": {"privileges": granted}, "links": {}, "meta": {}}, {}
        found = find_api_entreprise_route(path)
        if found is None:
            return 404, NOT_FOUND_PAYLOAD, {}
        route, name, value = found
        company = self.get(value) if name == "siret" else self.find(value)
        if company is None:
            return 404, NOT_FOUND_PAYLOAD, {}
        recipient = request.url.params.get("recipient", "")
        if recipient[:9] == company.siren:
            return 422, api_entreprise_error(
                "00211", "Entité non traitable",
                "Le paramètre recipient est identique au SIRET/SIREN appelé : il doit être "
                "celui de l'administration destinataire des données",
                parameter="recipient",
            ), {}
        status, payload = route.render(company, value)
        return status, payload, {}

    # -- INSEE Sirene ------------------------------------------------------------------------

    def _insee(self, path: str, request: httpx.Request) -> tuple[int, Any, dict[str, str]]:
        key = request.headers.get(KEY_HEADER, "").strip()
        if not key or (self._key is not None and key != self._key):
            return 401, insee_error(401, "Clé d'API absente ou invalide: renseignez l'en-tête "
                                         "X-INSEE-Api-Key-Integration"), {}
        match = _INSEE_PATH.search(path)
        if match is None or match.group(1) == "siren":
            return 404, insee_error(404, "Aucun élément trouvé (le faux INSEE sert /siret)"), {}
        ident = match.group(2)
        if ident:
            return self._insee_one(ident, request)
        params: dict[str, str] = {k: v for k, v in request.url.params.items()}
        if request.method == "POST":
            form = parse_qs(request.read().decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        return self._insee_many(params)

    def _insee_one(self, siret: str, request: httpx.Request) -> tuple[int, Any, dict[str, str]]:
        if not Siret.is_valid(siret):
            return 400, insee_error(400, f"Erreur de syntaxe dans le paramètre siret={siret}"), {}
        kept = self._redirects.get(siret)
        if kept is not None:
            location = str(request.url.copy_with(path=request.url.path[: -len(siret)] + kept,
                                                 query=None))
            message = f"L'établissement {siret} est un doublon de l'établissement {kept}"
            return 301, insee_error(301, message), {"Location": location}
        company = self._by_siret.get(siret)
        if company is None:
            return 404, insee_error(404, f"Aucun élément trouvé pour le siret {siret}"), {}
        if company.diffusion == "non_diffusible":
            return 403, insee_error(403, f"Établissement non diffusable ({siret})"), {}
        return 200, insee_response(company), {}

    def _insee_many(self, params: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        query = params.get("q", "")
        if not query.strip():
            return 400, insee_error(400, "Le paramètre q est obligatoire"), {}
        try:
            number = int(params.get("nombre", "20"))
            start = int(params.get("debut", "0"))
        except ValueError:
            return 400, insee_error(400, "Les paramètres nombre et debut sont des entiers"), {}
        if not 0 <= number <= 1000 or start < 0:
            message = "Le paramètre nombre doit être compris entre 0 et 1000"
            return 400, insee_error(400, message), {}
        wanted = list(dict.fromkeys(_SIRET_TERM.findall(query)))
        found = [
            c for s in wanted
            if (c := self._by_siret.get(s)) is not None and c.diffusion != "non_diffusible"
        ]
        if not found:
            return 404, insee_error(404, f"Aucun élément trouvé pour q={query}"), {}
        cursor = params.get("curseur")
        if cursor is not None:
            offset = 0 if cursor == "*" else _cursor_offset(cursor)
            if offset is None:
                return 400, insee_error(400, f"Curseur invalide: {cursor}"), {}
            page = found[offset:offset + number]
            end = offset + len(page)
            following = _cursor(end) if end < len(found) else cursor
            return 200, insee_batch(page, total=len(found), start=offset, cursor=cursor,
                                    next_cursor=following), {}
        page = found[start:start + number]
        return 200, insee_batch(page, total=len(found), start=start), {}

    # -- Recherche d'entreprises -------------------------------------------------------------

    def _recherche(self, request: httpx.Request) -> tuple[int, Any, dict[str, str]]:
        params = request.url.params
        query = params.get("q", "").strip()
        if not query:
            return 400, recherche_error("Veuillez indiquer au moins un paramètre de recherche."), {}
        try:
            page = int(params.get("page", "1"))
            per_page = int(params.get("per_page", "10"))
        except ValueError:
            return 400, recherche_error("Les paramètres page et per_page sont des entiers."), {}
        if not 1 <= page <= 1000 or not 1 <= per_page <= 25:
            return 400, recherche_error(
                "Veuillez indiquer un paramètre page entre 1 et 1000 et per_page entre 1 et 25."
            ), {}
        digits = re.sub(r"[\s.\u00a0]", "", query)
        matching: list[FakeCompany]
        if digits.isdigit() and len(digits) in (9, 14):
            if len(digits) == 14:
                company = self._by_siret.get(digits)
                matching = [company] if company is not None and _visible(company) else []
                units = [digits[:9]] if matching else []
            else:
                matching = []
                units = [digits] if self._unit(digits) else []
        else:
            needle = query.casefold()
            matching = [c for c in self._by_siret.values() if _visible(c) and (
                needle in (c.legal_name or "").casefold()
                or needle in (c.trade_name or "").casefold())]
            units = list(dict.fromkeys(c.siren for c in matching))
        results = [self._unit_result(siren, matching) for siren in units]
        window = results[(page - 1) * per_page: page * per_page]
        return 200, recherche_search(window, total=len(results), page=page,
                                     per_page=per_page), {}

    def _unit(self, siren: str) -> list[FakeCompany]:
        """The visible establishments of the unit ``siren``."""
        return [c for c in self._by_siren.get(siren, {}).values() if _visible(c)]

    def _unit_result(self, siren: str, matching: list[FakeCompany]) -> dict[str, Any]:
        of_unit = self._unit(siren)
        heads = [c for c in of_unit if c.head_office]
        matched = [c for c in matching if c.siren == siren]
        subject = heads[0] if heads else (matched or of_unit)[0]
        return recherche_result(
            subject,
            head_office=heads[0] if heads else None,
            matching=matched,
            establishments=len(of_unit),
            open_establishments=sum(1 for c in of_unit if c.active),
        )

    # -- respx ------------------------------------------------------------------------------

    @contextmanager
    def mock(self, base_urls: Iterable[str] = ()) -> Iterator[FakeUpstreams]:
        """Intercept (with respx) every request to the upstreams' production and staging
        base URLs, to the ``DLNUF_<SOURCE>_URL`` ones and to ``base_urls``, and answer
        them from this fake. Other requests fail as not mocked (no network)."""
        import respx

        urls = [u for urls in BASE_URLS.values() for u in urls]
        for source in SOURCES:
            configured = os.environ.get(f"DLNUF_{source.upper()}_URL", "").strip()
            if configured:
                urls.append(configured)
        urls.extend(base_urls)
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


def _visible(company: FakeCompany) -> bool:
    """Whether public searches show ``company`` (a non-diffusible unit is not shown)."""
    return company.diffusion != "non_diffusible"


def _all_privileges() -> set[str]:
    """Every token privilege dlnuf's API Entreprise endpoints may need."""
    from ..sources.api_entreprise import ENDPOINTS

    granted: set[str] = set()
    for endpoint in ENDPOINTS.values():
        granted |= set(getattr(endpoint, "privileges", ()))
        granted |= set(getattr(endpoint, "public_privileges", ()))
    return granted


def _cursor(offset: int) -> str:
    return f"AoE{offset:x}"


def _cursor_offset(cursor: str) -> int | None:
    if not cursor.startswith("AoE"):
        return None
    try:
        return int(cursor[3:], 16)
    except ValueError:
        return None


def _ae_refusal(request: httpx.Request, token: str | None = None) -> tuple[int, Any] | None:
    """The 401/422 API Entreprise gives a request without token or without its purpose."""
    authorization = request.headers.get("authorization", "")
    given = authorization[len("Bearer "):].strip() if authorization.startswith("Bearer ") else ""
    if not given or (token is not None and given != token):
        return 401, api_entreprise_error(
            "00101", "Interdit", "Votre token n'est pas valide ou n'est pas renseigné",
            parameter="token",
        )
    params = request.url.params
    for name, code in (("context", "00201"), ("object", "00202"), ("recipient", "00203")):
        if not params.get(name, "").strip():
            return 422, api_entreprise_error(
                code, "Entité non traitable", f"Le paramètre {name} est obligatoire",
                parameter=name,
            )
    if not Siret.is_valid(params.get("recipient", "")):
        return 422, api_entreprise_error(
            "00210", "Entité non traitable",
            "Le paramètre recipient n'est pas un numéro de SIRET valide", parameter="recipient",
        )
    return None


_AE_ERRORS: dict[int, tuple[str, str, str]] = {
    401: ("00101", "Interdit", "Votre token n'est pas valide ou n'est pas renseigné"),
    403: ("00100", "Privilèges insuffisants",
          "Votre token est valide mais vos privilèges sont insuffisants."),
    404: ("01003", "Entité non trouvée", "Le ou les paramètre(s) d'entrée n'existent pas."),
    409: ("00015", "Conflit", "Une requête associé à votre jeton est déjà en cours de "
                              "traitement pour ces paramètres."),
    422: ("00200", "Entité non traitable", "Paramètre invalide"),
    429: ("00429", "Trop de requêtes", "Vous avez effectué trop de requêtes"),
    451: ("01005", "Indisponible pour raisons légales",
          "Les données de cette entité ne peuvent être communiquées"),
    502: ("01999", "Erreur inconnue du fournisseur de données",
          "La réponse retournée par le fournisseur de données est invalide et inconnue de "
          "notre service."),
    503: ("01001", "Fournisseur indisponible",
          "Le fournisseur de données est temporairement indisponible."),
    504: ("01002", "Le fournisseur de données ne répond pas",
          "Le fournisseur de données n'a pas répondu dans le temps imparti."),
}


def _error_body(source: str, status: int) -> Any:
    """The error body ``source`` sends with ``status``."""
    if source == "api_entreprise":
        code, title, detail = _AE_ERRORS.get(status, ("00500", "Erreur interne", "Erreur"))
        meta = {"provider": "INSEE"} if code.startswith("01") else None
        return api_entreprise_error(code, title, detail, meta=meta)
    reason = {429: "Trop de requêtes, réessayez plus tard", 503: "Service indisponible"}.get(
        status, f"Erreur HTTP {status}"
    )
    if source == "insee_sirene":
        return insee_error(status, reason)
    return recherche_error(reason)


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
