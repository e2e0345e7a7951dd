"""What dlnuf's send keeps of httpx's client, over real loopback HTTP.

dlnuf sends through the transport the httpx client picks for the URL, without the
client's auth, redirect and cookie layers when they would change nothing
(:mod:`dlnuf.wire`). These tests hold what a caller relies on either way: the proxy of
the environment, the caller's own client with its event hooks or its auth, credentials
written in a base URL, no cookie carried from one call to the next.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import dlnuf
from dlnuf.config import Settings
from dlnuf.ratelimit import Quota
from dlnuf.testing import FakeUpstreams, make_company
from dlnuf.transport import SyncTransport

COMPANY = make_company("active", seed="wire")
SOURCE = "recherche_entreprises"


class Recorder(ThreadingHTTPServer):
    """A loopback server answering as the fake upstreams do, and recording what it got:
    the request target (absolute when it is used as a proxy) and the headers."""

    def __init__(self) -> None:
        self.fake = FakeUpstreams([COMPANY], quotas={SOURCE: None})
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.set_cookie = False
        super().__init__(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.seen.append((self.path, headers))
        target = self.path if "://" in self.path else f"http://{headers['host']}{self.path}"
        answer = self.server.fake.handle(httpx.Request("GET", target, headers=headers))
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                self.send_header(name, value)
        if self.server.set_cookie:
            self.send_header("Set-Cookie", "session=tenant-a; Path=/")
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.stop()


@pytest.fixture
def env_proxy(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """The recorder as ``HTTP_PROXY`` of the environment (no other proxy setting)."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", recorder.url)
    return recorder


def _client(base_url: str, **kwargs: Any) -> dlnuf.Client:
    return dlnuf.Client(sources=[SOURCE], base_urls={SOURCE: base_url}, cache=None, **kwargs)


def test_a_lookup_goes_through_the_proxy_of_the_environment(env_proxy: Recorder) -> None:
    with _client("http://recherche.example") as client:
        assert client.identity(COMPANY.siret).siret == COMPANY.siret
    [(target, headers)] = env_proxy.seen
    assert target.startswith(f"http://recherche.example/search?q={COMPANY.siret}&")
    assert headers["host"] == "recherche.example"


def test_the_event_hooks_of_the_callers_client_see_each_call(recorder: Recorder) -> None:
    events: list[str] = []
    http = httpx.Client(event_hooks={
        "request": [lambda request: events.append(f"request {request.url.path}")],
        "response": [lambda response: events.append(f"response {response.status_code}")],
    })
    with http, _client(recorder.url, http_client=http) as client:
        client.identity(COMPANY.siret)
        client.identity(COMPANY.siret)
    assert events == ["request /search", "response 200"] * 2


def test_the_auth_of_the_callers_client_is_sent(recorder: Recorder) -> None:
    with httpx.Client(auth=("mirror-user", "mirror-pass")) as http, \
            _client(recorder.url, http_client=http) as client:
        client.identity(COMPANY.siret)
    [(_, headers)] = recorder.seen
    expected = base64.b64encode(b"mirror-user:mirror-pass").decode()
    assert headers["authorization"] == f"Basic {expected}"


def test_credentials_in_the_base_url_are_sent_as_basic_auth(recorder: Recorder) -> None:
    base = recorder.url.replace("http://", "http://mirror-user:mirror-pass@")
    with _client(base) as client:
        client.identity(COMPANY.siret)
    [(_, headers)] = recorder.seen
    expected = base64.b64encode(b"mirror-user:mirror-pass").decode()
    assert headers["authorization"] == f"Basic {expected}"


def test_no_cookie_is_carried_from_one_call_to_the_next(recorder: Recorder) -> None:
    recorder.set_cookie = True
    with _client(recorder.url) as client:
        client.identity(COMPANY.siret)
        client.identity(COMPANY.siret)
    assert [headers.get("cookie") for _, headers in recorder.seen] == [None, None]


def test_a_response_says_how_long_it_took(recorder: Recorder) -> None:
    with SyncTransport(Settings()) as transport:
        request = httpx.Request("GET", f"{recorder.url}/search?q={COMPANY.siret}")
        response = transport.send(request, Quota(SOURCE, 100, 1.0), source=SOURCE)
    assert response.status_code == 200
    assert response.request is request
    assert 0 < response.elapsed.total_seconds() < 5


def test_a_refused_connection_is_a_typed_error_naming_the_source() -> None:
    with _client("http://127.0.0.1:9", settings=Settings(retries=0)) as client, \
            pytest.raises(dlnuf.UpstreamUnavailable, match=SOURCE):
        client.identity(COMPANY.siret)


async def test_the_async_client_keeps_the_hooks_and_auth_of_the_callers_client(
    recorder: Recorder,
) -> None:
    events: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        events.append(f"request {request.url.path}")

    http = httpx.AsyncClient(auth=("mirror-user", "mirror-pass"),
                             event_hooks={"request": [on_request]})
    async with http, dlnuf.AsyncClient(sources=[SOURCE], base_urls={SOURCE: recorder.url},
                                       cache=None, http_client=http) as client:
        assert (await client.identity(COMPANY.siret)).siret == COMPANY.siret
    assert events == ["request /search"]
    [(_, headers)] = recorder.seen
    assert headers["authorization"].startswith("Basic ")


async def test_the_async_client_goes_through_the_proxy_of_the_environment(
    env_proxy: Recorder,
) -> None:
    async with dlnuf.AsyncClient(sources=[SOURCE], base_urls={SOURCE: "http://recherche.example"},
                                 cache=None) as client:
        assert (await client.identity(COMPANY.siret)).siret == COMPANY.siret
    [(target, _)] = env_proxy.seen
    assert target.startswith("http://recherche.example/search?")


def test_an_answer_built_in_process_says_how_long_it_took() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http, \
            SyncTransport(Settings(), http_client=http) as transport:
        response = transport.send(httpx.Request("GET", "https://api.example/x"),
                                  Quota(SOURCE, 100, 1.0), source=SOURCE)
    assert response.elapsed.total_seconds() >= 0
