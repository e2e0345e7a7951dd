"""The transport: every behaviour checked on the sync and the async driver alike."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import yaml

from dlnuf.config import Settings
from dlnuf.errors import (
    ConfigurationError,
    Forbidden,
    InvalidRequest,
    LegallyUnavailable,
    NotFound,
    RateLimited,
    RequestInFlight,
    Unauthorized,
    UpstreamError,
    UpstreamUnavailable,
)
from dlnuf.ratelimit import MemoryRateLimiter, Quota
from dlnuf.sources import source_error
from dlnuf.sources.api_entreprise import ApiEntreprise
from dlnuf.sources.insee_sirene import InseeSirene
from dlnuf.sources.recherche_entreprises import RechercheEntreprises
from dlnuf.transport import AsyncTransport, RetryPolicy, SyncTransport

BASE = "https://entreprise.api.gouv.fr"
PATH = "/v3/insee/sirene/etablissements/30613890001294"
QUERY = "?recipient=13002526500013&context=March%C3%A9+public&object=dossier-42"
QUOTA = Quota("api_entreprise_json", limit=250)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sig-Zq8xT3kVn"
CONTRACTS = Path(__file__).resolve().parents[1].parent / "shared" / "contracts" / "api-entreprise"


class RecordingLimiter:
    """A limiter that records what the transport tells it; ``waits`` are handed out in turn."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.reserved = 0
        self.observed: list[httpx.Headers] = []
        self.penalties: list[tuple[str, float]] = []

    def reserve(self, quota: Quota, *, max_wait: float = math.inf) -> float:
        self.reserved += 1
        return self.waits.pop(0) if self.waits else 0.0

    def observe(self, quota: Quota, headers: httpx.Headers) -> None:
        self.observed.append(headers)

    def penalize(self, quota: Quota, seconds: float) -> None:
        self.penalties.append((quota.pool, seconds))


ERRORS = {
    s.name: s.error
    for s in (ApiEntreprise(Settings()), InseeSirene(Settings()), RechercheEntreprises(Settings()))
}
"""Each built-in source's error hook, given to the transport as the client does."""


class Harness:
    """``send(request)`` through the sync or the async driver, with fake sleep and limiter.

    Change ``settings``, ``limiter``, ``mounts`` or ``http_client`` before the first call.
    """

    def __init__(self, driver: str) -> None:
        self.driver = driver
        self.settings = Settings(retries=2)
        self.limiter: Any = RecordingLimiter()
        self.mounts: dict[str, httpx.MockTransport] | None = None
        self.http_client: httpx.Client | httpx.AsyncClient | None = None
        self.sleeps: list[float] = []
        self._loop = asyncio.new_event_loop() if driver == "async" else None
        self._transport: SyncTransport | AsyncTransport | None = None

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    async def _async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def own_client(self) -> httpx.Client | httpx.AsyncClient:
        self.http_client = httpx.Client() if self._loop is None else httpx.AsyncClient()
        return self.http_client

    def build(self) -> SyncTransport | AsyncTransport:
        if self._transport is None:
            if self._loop is None:
                assert not isinstance(self.http_client, httpx.AsyncClient)
                self._transport = SyncTransport(
                    self.settings, limiter=self.limiter, mounts=self.mounts,
                    http_client=self.http_client, sleep=self._sleep, errors=ERRORS,
                )
            else:
                assert not isinstance(self.http_client, httpx.Client)
                self._transport = AsyncTransport(
                    self.settings, limiter=self.limiter, mounts=self.mounts,
                    http_client=self.http_client, sleep=self._async_sleep, errors=ERRORS,
                )
        return self._transport

    def __call__(
        self, request: httpx.Request, *, quota: Quota = QUOTA, source: str = "api_entreprise"
    ) -> httpx.Response:
        transport = self.build()
        if isinstance(transport, SyncTransport):
            return transport.send(request, quota, source=source)
        assert self._loop is not None
        return self._loop.run_until_complete(transport.send(request, quota, source=source))

    def through_context_manager(self) -> SyncTransport | AsyncTransport:
        """Build the transport, enter and leave it as a context manager, return it."""
        transport = self.build()
        if isinstance(transport, SyncTransport):
            with transport as entered:
                assert entered is transport
        else:
            assert self._loop is not None

            async def enter_exit(transport: AsyncTransport) -> None:
                async with transport as entered:
                    assert entered is transport

            self._loop.run_until_complete(enter_exit(transport))
        return transport

    def close_transport(self) -> None:
        transport, self._transport = self._transport, None
        if isinstance(transport, SyncTransport):
            transport.close()
        elif isinstance(transport, AsyncTransport):
            assert self._loop is not None
            self._loop.run_until_complete(transport.aclose())

    def close(self) -> None:
        self.close_transport()
        if self._loop is not None:
            if isinstance(self.http_client, httpx.AsyncClient):
                self._loop.run_until_complete(self.http_client.aclose())
            self._loop.close()
        elif isinstance(self.http_client, httpx.Client):
            self.http_client.close()


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Iterator[Harness]:
    harness = Harness(request.param)
    yield harness
    harness.close()


@pytest.fixture
def upstream() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def get(path: str = PATH, **headers: str) -> httpx.Request:
    return httpx.Request("GET", BASE + path + QUERY, headers=headers)


def fail(
    send: Harness, request: httpx.Request | None = None, source: str = "api_entreprise"
) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        send(request or get(), source=source)
    return caught.value


def ae_error(code: str, title: str = "Titre", detail: str = "Détail", **meta: Any) -> str:
    return json.dumps({"errors": [{"code": code, "title": title, "detail": detail, "meta": meta}]})


# -- success ----------------------------------------------------------------------------


def test_a_2xx_response_passes_through(send: Harness, upstream: respx.MockRouter) -> None:
    route = upstream.get(PATH).respond(200, json={"data": {"siret": "30613890001294"}})
    response = send(get())
    assert response.json() == {"data": {"siret": "30613890001294"}}
    assert route.call_count == 1
    assert send.sleeps == []


def test_redirects_are_followed_and_every_hop_is_observed(
    send: Harness, upstream: respx.MockRouter
) -> None:
    upstream.get(PATH).respond(
        301, headers={"Location": "/v3/elsewhere", "RateLimit-Remaining": "9"}
    )
    upstream.get("/v3/elsewhere").respond(
        200, json={"ok": True}, headers={"RateLimit-Remaining": "8"}
    )
    assert send(get()).json() == {"ok": True}
    assert [h["ratelimit-remaining"] for h in send.limiter.observed] == ["9", "8"]


# -- no response at all -----------------------------------------------------------------


def test_a_timeout_is_retried_then_reported(send: Harness, upstream: respx.MockRouter) -> None:
    route = upstream.get(PATH).mock(side_effect=httpx.ReadTimeout("timed out"))
    error = fail(send)
    assert type(error) is UpstreamUnavailable
    assert "timed out after 5.0 s" in str(error)
    assert error.status is None
    assert error.source == "api_entreprise"
    assert route.call_count == send.settings.retries + 1
    assert len(send.sleeps) == send.settings.retries


def test_a_refused_connection_is_retried_then_reported(
    send: Harness, upstream: respx.MockRouter
) -> None:
    route = upstream.get(PATH).mock(side_effect=httpx.ConnectError("[Errno 111] refused"))
    error = fail(send)
    assert type(error) is UpstreamUnavailable
    assert "could not connect" in str(error)
    assert route.call_count == send.settings.retries + 1


def test_a_transient_network_failure_then_success(
    send: Harness, upstream: respx.MockRouter
) -> None:
    upstream.get(PATH).mock(
        side_effect=[httpx.ConnectTimeout("slow"), httpx.Response(200, json={"ok": 1})]
    )
    assert send(get()).json() == {"ok": 1}


def test_retries_count_the_first_attempt(
    send: Harness, upstream: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dlnuf.transport")
    route = upstream.get(PATH).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), httpx.Response(200, json={})]
    )
    assert send(get()).status_code == 200
    assert route.call_count == 3
    first, second = send.sleeps  # the first backoff after attempt 1, the doubled one after 2
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0
    retrying = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retrying) == 2
    assert "(attempt 1 of 3)" in retrying[0]
    assert "(attempt 2 of 3)" in retrying[1]


def test_no_retries_means_one_attempt(send: Harness, upstream: respx.MockRouter) -> None:
    send.settings = Settings(retries=0)
    route = upstream.get(PATH).respond(503)
    assert type(fail(send)) is UpstreamUnavailable
    assert route.call_count == 1
    assert send.sleeps == []


# -- 429 --------------------------------------------------------------------------------


def test_429_waits_retry_after_and_pauses_the_pool(
    send: Harness, upstream: respx.MockRouter
) -> None:
    route = upstream.get(PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    assert send(get()).json() == {"ok": 1}
    assert route.call_count == 2
    assert send.sleeps == [2.0]
    assert send.limiter.penalties == [(QUOTA.pool, 2.0)]


def test_429_honours_retry_in_from_the_body(send: Harness, upstream: respx.MockRouter) -> None:
    upstream.get(PATH).mock(
        side_effect=[
            httpx.Response(429, content=ae_error("00429", "Trop de requêtes", retry_in=3)),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    send(get())
    assert send.sleeps == [3.0]
    assert send.limiter.penalties == [(QUOTA.pool, 3.0)]


def test_429_without_retry_after_backs_off(send: Harness, upstream: respx.MockRouter) -> None:
    upstream.get(PATH).mock(side_effect=[httpx.Response(429), httpx.Response(200, json={})])
    send(get())
    [slept] = send.sleeps
    assert 0.25 <= slept <= 0.5
    assert send.limiter.penalties == [(QUOTA.pool, 0.5)]


def test_429_asking_more_than_max_retry_wait_fails_at_once(
    send: Harness, upstream: respx.MockRouter
) -> None:
    route = upstream.get(PATH).respond(429, headers={"Retry-After": "120"})
    error = fail(send)
    assert type(error) is RateLimited
    assert error.retry_after == 120.0
    assert "quota exhausted, retry after 120 s" in str(error)
    assert route.call_count == 1
    assert send.sleeps == []
    assert send.limiter.penalties == [(QUOTA.pool, 120.0)]


def test_a_persistent_429_stays_rate_limited_never_not_found(
    send: Harness, upstream: respx.MockRouter
) -> None:
    body = ae_error("04003", "Entité non trouvée")  # even with a "not found" code
    route = upstream.get(PATH).respond(429, content=body, headers={"Retry-After": "1"})
    error = fail(send)
    assert type(error) is RateLimited
    assert not isinstance(error, NotFound)
    assert error.transient
    assert route.call_count == send.settings.retries + 1


def test_a_paused_pool_fails_without_sending(send: Harness, upstream: respx.MockRouter) -> None:
    route = upstream.get(PATH).respond(200, json={})
    send.limiter.waits = [45.0]
    error = fail(send)
    assert type(error) is RateLimited
    assert error.retry_after == 45.0
    assert route.call_count == 0
    assert send.sleeps == []


def test_the_pacing_wait_is_slept_before_sending(
    send: Harness, upstream: respx.MockRouter
) -> None:
    upstream.get(PATH).respond(200, json={})
    send.limiter.waits = [0.7]
    send(get())
    assert send.sleeps == [0.7]
    assert send.limiter.reserved == 1


# -- 5xx --------------------------------------------------------------------------------


def test_500_is_not_retried(send: Harness, upstream: respx.MockRouter) -> None:
    route = upstream.get(PATH).respond(500, json={"erreur": "boom"})
    error = fail(send)
    assert type(error) is UpstreamUnavailable
    assert error.status == 500
    assert route.call_count == 1
    assert send.sleeps == []


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_with_backoff(
    send: Harness, upstream: respx.MockRouter, status: int
) -> None:
    route = upstream.get(PATH).respond(status)
    error = fail(send)
    assert type(error) is UpstreamUnavailable
    assert error.status == status
    assert route.call_count == send.settings.retries + 1
    first, second = send.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


def test_a_gateway_error_then_success(send: Harness, upstream: respx.MockRouter) -> None:
    upstream.get(PATH).mock(side_effect=[httpx.Response(503), httpx.Response(200, json={})])
    assert send(get()).status_code == 200


def test_backoff_is_never_shorter_than_retry_after(
    send: Harness, upstream: respx.MockRouter
) -> None:
    upstream.get(PATH).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "5"}),
            httpx.Response(200, json={}),
        ]
    )
    send(get())
    assert send.sleeps == [5.0]
    assert send.limiter.penalties == []


def test_a_retry_in_beyond_max_retry_wait_fails_at_once(
    send: Harness, upstream: respx.MockRouter
) -> None:
    body = ae_error("04501", "Analyse manuelle de la situation du compte en cours", retry_in=172800)
    route = upstream.get(PATH).respond(502, content=body)
    error = fail(send)
    assert type(error) is UpstreamUnavailable
    assert error.retry_after == 172800
    assert error.code == "04501"
    assert route.call_count == 1


def test_an_html_body_on_502(send: Harness, upstream: respx.MockRouter) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
    upstream.get(PATH).respond(502, text=html, headers={"Content-Type": "text/html"})
    error = fail(send)
    assert type(error) is UpstreamUnavailable
    assert "non-JSON body of type text/html" in str(error)
    assert "<html" not in str(error)


def test_an_empty_body_on_503(send: Harness, upstream: respx.MockRouter) -> None:
    upstream.get(PATH).respond(503)
    assert "empty body" in str(fail(send))


# -- 4xx --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "advice", "tries"),
    [
        (401, Unauthorized, "the token is missing, invalid or expired: renew it", 1),
        (403, Forbidden, f"the token lacks the privilege for {PATH}", 1),
        (404, NotFound, "not found", 1),
        (409, RequestInFlight, "already being processed", 3),
        (422, InvalidRequest, "refused as invalid", 1),
        (400, InvalidRequest, "refused as invalid", 1),
        (451, LegallyUnavailable, "legally unavailable", 1),
        (418, UpstreamError, "unexpected HTTP 418", 1),
    ],
)
def test_client_errors_are_mapped(
    send: Harness,
    upstream: respx.MockRouter,
    status: int,
    cls: type[UpstreamError],
    advice: str,
    tries: int,
) -> None:
    route = upstream.get(PATH).respond(status, content=ae_error("00999", "Le titre", "Le détail"))
    error = fail(send)
    assert type(error) is cls
    assert error.status == status
    assert error.code == "00999"
    assert advice in str(error)
    assert "Le titre: Le détail" in str(error)
    assert PATH in str(error)
    assert route.call_count == tries


def test_the_recherche_entreprises_error_shape(send: Harness, upstream: respx.MockRouter) -> None:
    upstream.get("/search").respond(400, json={"erreur": "Veuillez indiquer au moins un terme"})
    error = fail(send, get("/search"), source="recherche_entreprises")
    assert type(error) is InvalidRequest
    assert "Veuillez indiquer au moins un terme" in str(error)


def test_each_source_reads_only_its_own_error_shape(
    send: Harness, upstream: respx.MockRouter
) -> None:
    body = {"header": {"statut": 400, "message": "Erreur de syntaxe dans le paramètre q"}}
    upstream.get("/siret").respond(400, json=body)
    error = fail(send, get("/siret"), source="recherche_entreprises")
    assert type(error) is InvalidRequest
    assert "Erreur de syntaxe" not in str(error)
    assert "unexpected JSON body" in str(error)


def test_the_insee_error_shape(send: Harness, upstream: respx.MockRouter) -> None:
    body = {"header": {"statut": 400, "message": "Erreur de syntaxe dans le paramètre q"}}
    upstream.get("/siret").respond(400, json=body)
    error = fail(send, get("/siret"), source="insee_sirene")
    assert type(error) is InvalidRequest
    assert "Erreur de syntaxe dans le paramètre q" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "01001", UpstreamUnavailable),  # provider down, whatever the status
        (502, "03003", NotFound),
        (502, "01005", LegallyUnavailable),
        (404, "04020", UpstreamUnavailable),  # maintenance
        (504, "01008", UpstreamUnavailable),  # provider rate limit
        (429, "04003", RateLimited),  # a 429 is never a "not found"
        (422, "31001", InvalidRequest),  # the request itself is wrong: the status wins
        (401, "00005", Unauthorized),
    ],
)
def test_api_entreprise_subcodes(status: int, code: str, cls: type[UpstreamError]) -> None:
    response = httpx.Response(status, content=ae_error(code), request=get())
    error = source_error(ApiEntreprise(Settings()), response)
    assert type(error) is cls
    assert error.code == code


# -- the real API Entreprise error payloads ---------------------------------------------

EXPECTED_BY_STATUS: dict[int, type[UpstreamError]] = {
    403: Forbidden,
    404: NotFound,
    422: InvalidRequest,
    502: UpstreamUnavailable,
    504: UpstreamUnavailable,
}


def _error_payloads() -> list[Any]:
    cases = []
    for path in sorted(CONTRACTS.glob("*/*.y*ml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(case, dict) and int(case.get("status", 200)) >= 400:
            cases.append(pytest.param(case, id=f"{path.parent.name}/{path.name}"))
    return cases


@pytest.mark.parametrize("case", _error_payloads())
def test_real_error_payloads_map_to_their_class(
    send: Harness, upstream: respx.MockRouter, case: dict[str, Any]
) -> None:
    status = int(case["status"])
    payload = json.loads(case["payload"])
    first = payload["errors"][0]
    route = upstream.get(PATH).respond(status, content=case["payload"])
    error = fail(send)
    assert type(error) is EXPECTED_BY_STATUS[status]
    assert error.status == status
    assert error.code == first["code"]
    assert first["title"] in str(error)
    assert route.call_count == (send.settings.retries + 1 if status in {502, 504} else 1)


# -- secrets ----------------------------------------------------------------------------

ECHOES: dict[str, Any] = {
    "401 echoing the token": httpx.Response(
        401, content=ae_error("00101", "Interdit", f"Le jeton {TOKEN} n'est pas valide")
    ),
    "403": httpx.Response(403, content=ae_error("00100", "Privilèges insuffisants")),
    "429": httpx.Response(429, headers={"Retry-After": "90"}),
    "502 html echoing headers": httpx.Response(
        502, text=f"<pre>Authorization: Bearer {TOKEN}</pre>", headers={"Content-Type": "text/html"}
    ),
    "400 echoing the url": httpx.Response(
        400, json={"erreur": f"bad query {BASE}{PATH}{QUERY} with key {TOKEN}"}
    ),
    "404 echoing the token where the text is cut": httpx.Response(
        404, content=ae_error("04003", "x" * 380, f"token {TOKEN}")
    ),
    "timeout": httpx.ReadTimeout(f"timed out, Bearer {TOKEN}"),
    "connection refused": httpx.ConnectError("[Errno 111] Connection refused"),
}


@pytest.mark.parametrize("answer", list(ECHOES.values()), ids=list(ECHOES))
def test_secrets_never_reach_errors_or_logs(
    send: Harness,
    upstream: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    answer: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    upstream.get(PATH).mock(side_effect=lambda request: _raise_or_return(answer))
    request = get(Authorization=f"Bearer {TOKEN}", **{"X-INSEE-Api-Key-Integration": TOKEN})
    error = fail(send, request)
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    for exc in chain:
        for text in (str(exc), repr(exc), repr(exc.args)):
            assert not leaks(text)
            assert "recipient=" not in text
    assert caplog.records, "the transport logs at DEBUG"
    for record in caplog.records:  # httpx's own INFO line has the URL, never a header
        assert not leaks(record.getMessage())
        if record.name.startswith("dlnuf"):
            assert "recipient=" not in record.getMessage()


def leaks(text: str) -> bool:
    """Whether any 10 characters of the token show in ``text``."""
    return any(TOKEN[i : i + 10] in text for i in range(len(TOKEN) - 9))


def _raise_or_return(answer: Any) -> httpx.Response:
    if isinstance(answer, Exception):
        raise answer
    response: httpx.Response = answer
    return response


# -- what the limiter hears -------------------------------------------------------------


def test_ratelimit_headers_reach_the_limiter(send: Harness, upstream: respx.MockRouter) -> None:
    rate = {"RateLimit-Limit": "250", "RateLimit-Remaining": "12", "RateLimit-Reset": "1700000060"}
    upstream.get(PATH).respond(200, json={}, headers=rate)
    send(get())
    [seen] = send.limiter.observed
    assert seen["ratelimit-remaining"] == "12"
    assert seen["ratelimit-reset"] == "1700000060"


def test_error_responses_are_observed_too(send: Harness, upstream: respx.MockRouter) -> None:
    upstream.get(PATH).respond(404, headers={"RateLimit-Remaining": "3"})
    fail(send)
    assert [h["ratelimit-remaining"] for h in send.limiter.observed] == ["3"]


def test_an_exhausted_pool_is_not_hammered(send: Harness, upstream: respx.MockRouter) -> None:
    send.limiter = MemoryRateLimiter(lambda: 1000.0)  # a clock that stands still
    route = upstream.get(PATH).respond(
        200, json={}, headers={"RateLimit-Remaining": "0", "RateLimit-Reset": "45"}
    )
    send(get())
    error = fail(send)  # the pool is blocked ~45 s, more than max_retry_wait
    assert type(error) is RateLimited
    assert error.retry_after == 45.0
    assert route.call_count == 1


# -- request preparation ----------------------------------------------------------------


def test_user_agent_and_timeout_are_set(send: Harness, upstream: respx.MockRouter) -> None:
    route = upstream.get(PATH).respond(200, json={})
    send(get())
    sent = route.calls.last.request
    assert sent.headers["User-Agent"] == send.settings.user_agent
    assert sent.extensions["timeout"] == httpx.Timeout(5.0).as_dict()


def test_a_source_may_set_its_own_timeout_and_user_agent(
    send: Harness, upstream: respx.MockRouter
) -> None:
    route = upstream.get(PATH).respond(200, json={})
    request = get(**{"User-Agent": "my-app/1.0"})
    request.extensions["timeout"] = httpx.Timeout(12.0).as_dict()
    send(request)
    sent = route.calls.last.request
    assert sent.headers["User-Agent"] == "my-app/1.0"
    assert sent.extensions["timeout"]["read"] == 12.0


def test_mounts_route_to_an_in_process_transport(
    send: Harness, upstream: respx.MockRouter
) -> None:
    seen: list[str] = []

    def sandbox(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json={"sandbox": True})

    send.mounts = {"https://sandbox.dlnuf.invalid": httpx.MockTransport(sandbox)}
    route = upstream.get(PATH).respond(200, json={"real": True})
    answer = send(httpx.Request("GET", "https://sandbox.dlnuf.invalid/v1/etablissements/1"))
    assert answer.json() == {"sandbox": True}
    assert seen == ["/v1/etablissements/1"]
    assert send(get()).json() == {"real": True}  # respx still answers for the rest
    assert route.call_count == 1


def test_a_given_http_client_is_used_and_left_open(
    send: Harness, upstream: respx.MockRouter
) -> None:
    client = send.own_client()
    upstream.get(PATH).respond(200, json={})
    send(get())
    send.close_transport()
    assert not client.is_closed


def test_leaving_the_context_manager_closes_its_own_client(
    send: Harness, upstream: respx.MockRouter
) -> None:
    upstream.get(PATH).respond(200, json={})
    send.through_context_manager()
    with pytest.raises(RuntimeError, match="closed"):
        send(get())


def test_mounts_and_http_client_together_are_refused(send: Harness) -> None:
    send.own_client()
    sandbox = httpx.MockTransport(lambda request: httpx.Response(200))
    send.mounts = {"https://sandbox.dlnuf.invalid": sandbox}
    with pytest.raises(ConfigurationError):
        send.build()


def test_attempts_are_logged_with_the_path_only(
    send: Harness, upstream: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dlnuf.transport")
    upstream.get(PATH).mock(side_effect=[httpx.Response(503), httpx.Response(200, json={})])
    send(get())
    lines = [r.getMessage() for r in caplog.records if r.name == "dlnuf.transport"]
    assert any(f"GET {PATH} -> 503" in line and "attempt 1" in line for line in lines)
    assert any(f"GET {PATH} -> 200" in line and "attempt 2" in line for line in lines)
    assert not any("recipient" in line or "User-Agent" in line for line in lines)


# -- the pure pieces --------------------------------------------------------------------


def test_retry_after_as_an_http_date() -> None:
    response = httpx.Response(
        503,
        headers={
            "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
            "Retry-After": "Wed, 21 Oct 2026 07:28:20 GMT",
        },
        request=get(),
    )
    assert source_error(InseeSirene(Settings()), response).retry_after == 20.0


def test_the_header_wins_over_retry_in() -> None:
    response = httpx.Response(
        429, content=ae_error("00429", retry_in=50), headers={"Retry-After": "4"}, request=get()
    )
    assert source_error(ApiEntreprise(Settings()), response).retry_after == 4.0


@pytest.mark.parametrize("value", ["soon", "-3", "", "nan"])
def test_junk_retry_after_is_ignored(value: str) -> None:
    response = httpx.Response(429, headers={"Retry-After": value}, request=get())
    error = source_error(RechercheEntreprises(Settings()), response)
    assert type(error) is RateLimited
    assert error.retry_after is None
    assert "retry later" in str(error)


def test_insee_credentials_are_called_an_api_key() -> None:
    response = httpx.Response(401, request=httpx.Request("GET", "https://api.insee.fr/x"))
    assert "the API key is missing, invalid or expired" in str(
        source_error(InseeSirene(Settings()), response)
    )


def test_a_response_without_request_still_maps() -> None:
    error = source_error(RechercheEntreprises(Settings()), httpx.Response(404))
    assert type(error) is NotFound
    assert error.source == "recherche_entreprises"


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_stays_within_its_bounds(attempt: int) -> None:
    policy = RetryPolicy(retries=10, max_wait=5.0)
    ceiling = min(5.0, 8.0, 0.5 * 2 ** (attempt - 1))
    assert policy.backoff(attempt, 0.0) == pytest.approx(ceiling / 2)
    assert policy.backoff(attempt, 0.999) <= ceiling
