"""The fake upstreams over real HTTP on loopback: ``python -m dlnuf.testing.server``."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import dlnuf
from dlnuf.errors import UpstreamUnavailable
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.sources.sandbox import Sandbox, load_responses
from dlnuf.testing import SOURCES, FakeUpstreams, make_company, make_siret
from dlnuf.testing.server import FakeServer, add_sandbox_payloads, main, sandbox_companies

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = {"api_entreprise_token": "t", "recipient": "13002526500013", "context": "c",
               "object": "o", "insee_api_key": "k"}


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[FakeServer, Clock]]:
    """A fake server on a free loopback port, in a thread, on a hand-driven clock."""
    clock = Clock()
    with FakeServer(FakeUpstreams(clock=clock), "127.0.0.1", 0).running() as server:
        yield server, clock


def client_for(server: FakeServer, source: str) -> dlnuf.Client:
    return dlnuf.Client(sources=[source], cache=None, base_urls=dict.fromkeys(SOURCES, server.url),
                        limiter=MemoryRateLimiter(burst=100, safety=1.0), **CREDENTIALS)


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_answers_a_client_over_http(
    served: tuple[FakeServer, Clock], source: str
) -> None:
    server, _ = served
    company = server.fake.add(make_company("redirected", seed=1))
    assert company.redirected_from is not None
    with client_for(server, source) as client:
        identity = client.identity(company.siret)
        assert identity.siret == company.siret
        assert identity.legal_name == company.legal_name
        if source != "recherche_entreprises":  # INSEE's 301 is followed over HTTP too
            assert client.identity(company.redirected_from).redirected_from == (
                company.redirected_from
            )


def test_quotas_are_enforced_over_http_and_counted(served: tuple[FakeServer, Clock]) -> None:
    server, clock = served
    company = server.fake.add(make_company("active", seed=1))
    with httpx.Client(base_url=server.url) as http:
        statuses = [http.get("/search", params={"q": company.siret}).status_code
                    for _ in range(9)]
        assert statuses == [200] * 7 + [429] * 2
        limited = http.get("/search", params={"q": company.siret})
        assert limited.headers["Retry-After"] == "1"
        clock.now += 1
        assert http.get("/search", params={"q": company.siret}).status_code == 200
        stats = http.get("/__stats").json()
        assert stats["rate_limited"] == {"recherche_entreprises": 3}
        assert stats["requests"] == {"recherche_entreprises": 11}
        assert stats["max_per_second"] == {"recherche_entreprises": 10}
        assert http.post("/__reset").json() == {"reset": True}
        assert http.get("/__stats").json()["total_requests"] == 0


def test_faults_are_injected_over_http(served: tuple[FakeServer, Clock]) -> None:
    server, _ = served
    company = server.fake.add(make_company("active", seed=1))
    with httpx.Client(base_url=server.url) as http:
        fault = {"action": "fail", "source": "insee_sirene", "status": 503, "times": 1}
        assert http.post("/__fault", json=fault).json() == {"ok": True}
        key = {"X-INSEE-Api-Key-Integration": "k"}
        assert http.get(f"/siret/{company.siret}", headers=key).status_code == 503
        assert http.get(f"/siret/{company.siret}", headers=key).status_code == 200
        bad = http.post("/__fault", json={"action": "explode", "source": "insee_sirene"})
        assert bad.status_code == 400
        assert http.post("/__fault", json={"action": "fail", "source": "x"}).status_code == 400
        assert http.get("/__nothing").status_code == 404
        listed = http.get("/__companies").json()
        assert listed == [{"siret": company.siret, "siren": company.siren, "kind": "active",
                           "redirected_from": None}]


def test_a_source_down_drops_the_connection(served: tuple[FakeServer, Clock]) -> None:
    server, _ = served
    company = server.fake.add(make_company("active", seed=1))
    server.fake.down("recherche_entreprises", 60, status=None)
    settings = dlnuf.Settings.from_env(max_retry_wait=0.01, cache=None,
                                       base_urls={"recherche_entreprises": server.url})
    with dlnuf.Client(settings=settings, limiter=MemoryRateLimiter(burst=100)) as client, \
            pytest.raises(UpstreamUnavailable):
        client.identity(company.siret)
    assert server.fake.requests["recherche_entreprises"] == 4  # first try and 3 retries


def test_it_binds_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        FakeServer(FakeUpstreams(), "0.0.0.0", 0)  # noqa: S104 - the point of the test
    with pytest.raises(SystemExit) as exited:
        main(["--host", "192.168.1.10", "--port", "0"])
    assert exited.value.code == 2


def test_the_sandbox_companies_are_served_with_their_staging_payloads() -> None:
    companies = sandbox_companies()
    sirets = {c.siret for c in companies}
    assert "55204944776279" in sirets
    assert len(sirets) >= len(Sandbox.sirets()) - 3  # minus duplicates pointing elsewhere
    assert any(c.redirected_from for c in companies)
    fake = FakeUpstreams(companies)
    add_sandbox_payloads(fake)
    path = "/v4/insee/sirene/etablissements/55204944776279"
    response = fake.handle(httpx.Request(
        "GET", f"http://127.0.0.1{path}?recipient=13002526500013&context=c&object=o",
        headers={"Authorization": "Bearer t"},
    ))
    assert response.json() == load_responses()[path]["payload"]
    insee = fake.handle(httpx.Request("GET", "http://127.0.0.1/siret/55204944776279",
                                      headers={"X-INSEE-Api-Key-Integration": "k"}))
    assert insee.json()["etablissement"]["uniteLegale"]["denominationUniteLegale"] == (
        "SOCIETE NATIONALE SNCF"
    )


def _start(*args: str) -> tuple[subprocess.Popen[str], str, queue.Queue[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dlnuf.testing.server", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")  # end of output

    threading.Thread(target=read, daemon=True).start()
    first = lines.get(timeout=60)
    assert first.startswith("listening on http://127.0.0.1:"), first
    return process, first.split()[-1], lines


def _finish(process: subprocess.Popen[str], lines: queue.Queue[str]) -> tuple[int, str, str]:
    """Wait for the end: exit code, the rest of stdout, stderr (pipes closed)."""
    code = process.wait(timeout=60)
    out = ""
    while line := lines.get(timeout=30):
        out += line
    err = process.stderr.read() if process.stderr else ""
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    return code, out, err


def test_the_command_serves_until_sigterm() -> None:
    process, url, lines = _start("--companies", "20", "--rate", "50", "--max-seconds", "120")
    try:
        with httpx.Client(base_url=url) as http:
            stats: dict[str, Any] = http.get("/__stats").json()
            assert stats["companies"] >= 20 + 20  # generated plus the sandbox's
            assert {q["limit"] for q in stats["quotas"].values()} == {50}
            siret = next(c["siret"] for c in http.get("/__companies").json()
                         if c["kind"] == "active")
            body = http.get("/search", params={"q": siret}).json()
            assert body["results"][0]["siren"] == siret[:9]
            unknown = http.get("/search", params={"q": make_siret(3)}).json()
            assert unknown["total_results"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
    code, out, err = _finish(process, lines)
    assert code == 0, err
    assert "stopped" in out


def test_the_command_stops_by_itself_after_max_seconds() -> None:
    process, _, lines = _start("--companies", "1", "--no-sandbox", "--max-seconds", "0.5")
    code, out, err = _finish(process, lines)
    assert code == 0, err
    assert "stopped" in out
