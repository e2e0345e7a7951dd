"""A source from another package (tests/thirdparty/dlnuf-toy) works with no edit of dlnuf.

The package is installed beside dlnuf (the README's test command does it); it adds a
keyed source, ``toy``, with its own options (``DLNUF_TOY_*``), its own error codes and
one entry point line. These tests use it only through the public interface.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest
import respx

import dlnuf
from dlnuf.errors import (
    ConfigurationError,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
)
from dlnuf.testing.conformance import ErrorSample, SourceConformance

try:
    from dlnuf_toy import ToyRegistry
except ImportError as exc:  # never a skip: CI must run these tests
    raise ImportError(
        "the out-of-tree test source dlnuf-toy is not installed: run "
        "`python -m pip install -e tests/thirdparty/dlnuf-toy` (the README's test command "
        "does it)"
    ) from exc

SIRET = "73282932000074"
KEY = "toy-key-0123456789abcdef"
URL = "https://api.toy-registry.example/v1"
COMPANY = {"company": {"siret": SIRET, "name": "TOY SA", "active": True, "created": "2001-02-03"}}


def toy_error(code: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{code} said the registry", **extra}}


class TestToyConformance(SourceConformance):
    source_class = ToyRegistry
    options: ClassVar = {"api_key": KEY}
    ident = SIRET
    sample = COMPANY
    error_samples: ClassVar = [
        ErrorSample(404, toy_error("TOY-NOTFOUND"), NotFound, code="TOY-NOTFOUND"),
        ErrorSample(401, toy_error("TOY-BADKEY"), Unauthorized, code="TOY-BADKEY"),
        ErrorSample(
            429, toy_error("TOY-SLOWDOWN", retry_in_ms=1500), RateLimited, retry_after=1.5
        ),
        ErrorSample(503, toy_error("TOY-MAINTENANCE"), UpstreamUnavailable),
        ErrorSample(418, {"detail": "teapot"}, dlnuf.UpstreamError),
    ]


@pytest.fixture
def toy() -> respx.MockRouter:
    with respx.mock(base_url=URL, assert_all_called=False) as router:
        yield router


def client(**given: Any) -> dlnuf.Client:
    return dlnuf.Client(sources=["toy"], cache=None, retries=2, **given)


def test_the_client_loads_it_by_name_with_its_options(toy: respx.MockRouter) -> None:
    route = toy.get(f"/companies/{SIRET}").respond(200, json=COMPANY)
    with client(options={"toy": {"api_key": KEY}}) as c:
        identity = c.identity(SIRET)
        assert isinstance(c.sources[0], ToyRegistry)
    assert identity.legal_name == "TOY SA"
    assert identity.provenance.source == "toy"
    assert route.calls.last.request.headers["X-Toy-Key"] == KEY


def test_its_options_come_from_its_variables(
    toy: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLNUF_TOY_API_KEY", KEY)
    monkeypatch.setenv("DLNUF_TOY_URL", "https://mirror.toy.example/v2/")
    monkeypatch.setenv("DLNUF_TOY_QUOTA", "50/s")
    with respx.mock(base_url="https://mirror.toy.example/v2") as mirror:
        route = mirror.get(f"/companies/{SIRET}").respond(200, json=COMPANY)
        with client() as c:
            assert c.identity(SIRET).legal_name == "TOY SA"
            assert c.sources[0].quota(dlnuf.Identity).limit == 50
            assert KEY not in repr(c.sources[0]) + repr(c.sources[0].options)  # type: ignore[attr-defined]
    assert route.calls.last.request.headers["X-Toy-Key"] == KEY


def test_a_bad_quota_variable_is_named_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLNUF_TOY_QUOTA", "fast")
    with pytest.raises(ConfigurationError) as caught:
        client(options={"toy": {"api_key": KEY}})
    assert "DLNUF_TOY_QUOTA" in str(caught.value)
    assert "fast" not in str(caught.value)


def test_its_not_found_code_is_a_typed_not_found(toy: respx.MockRouter) -> None:
    toy.get(f"/companies/{SIRET}").respond(404, json=toy_error("TOY-NOTFOUND"))
    with client(options={"toy": {"api_key": KEY}}) as c, pytest.raises(NotFound) as caught:
        c.identity(SIRET)
    assert caught.value.code == "TOY-NOTFOUND"
    assert caught.value.source == "toy"


def test_a_bad_key_is_unauthorized_and_never_shown(toy: respx.MockRouter) -> None:
    said = toy_error("TOY-BADKEY")
    said["error"]["message"] = f"key {KEY} is unknown"
    toy.get(f"/companies/{SIRET}").respond(401, json=said)
    with client(options={"toy": {"api_key": KEY}}) as c, pytest.raises(Unauthorized) as caught:
        c.identity(SIRET)
    assert "API key" in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


def test_its_transient_code_is_retried_after_the_wait_it_asks(toy: respx.MockRouter) -> None:
    route = toy.get(f"/companies/{SIRET}").mock(side_effect=[
        httpx.Response(429, json=toy_error("TOY-SLOWDOWN", retry_in_ms=20)),
        httpx.Response(200, json=COMPANY),
    ])
    with client(options={"toy": {"api_key": KEY}}) as c:
        assert c.identity(SIRET).legal_name == "TOY SA"
    assert route.call_count == 2


async def test_the_async_client_reads_its_errors_too(toy: respx.MockRouter) -> None:
    toy.get(f"/companies/{SIRET}").respond(503, json=toy_error("TOY-MAINTENANCE"))
    async with dlnuf.AsyncClient(
        sources=["toy"], cache=None, retries=0, options={"toy": {"api_key": KEY}}
    ) as c:
        with pytest.raises(UpstreamUnavailable) as caught:
            await c.identity(SIRET)
    assert caught.value.code == "TOY-MAINTENANCE"


def test_without_a_key_it_says_which_variable_to_set() -> None:
    with client(options={"toy": {}}) as c, pytest.raises(ConfigurationError) as caught:
        c.identity(SIRET)
    assert "DLNUF_TOY_API_KEY" in str(caught.value)


def test_the_writing_page_shows_exactly_this_package() -> None:
    from pathlib import Path

    root = Path(__file__).parent
    page = (root.parent / "docs" / "sources" / "writing.md").read_text()
    package = root / "thirdparty" / "dlnuf-toy"
    module = (package / "src" / "dlnuf_toy" / "__init__.py").read_text()
    assert f"```python\n{module}```" in page
    pyproject = (package / "pyproject.toml").read_text()
    assert f"```toml\n{pyproject}```" in page
    fake = (package / "src" / "dlnuf_toy" / "fake.py").read_text()
    assert f"```python\n{fake}```" in page


# -- its fake, served by dlnuf's test kit (entry point dlnuf.fakes) --------------------------


def test_its_fake_is_found_by_its_entry_point() -> None:
    from dlnuf_toy.fake import ToyFake

    from dlnuf.testing.upstreams import available_upstreams

    assert isinstance(available_upstreams()["toy"], ToyFake)


def test_dlnuf_fake_serves_it_from_the_fake_world(dlnuf_fake: dlnuf.testing.FakeUpstreams) -> None:
    company = dlnuf_fake.add(dlnuf.testing.make_company("active", seed="toy-1", name="TOY FAKE SA"))
    with client(options={"toy": {"api_key": KEY}}) as c:
        identity = c.identity(company.siret)
    assert identity.legal_name == "TOY FAKE SA"
    assert identity.provenance.source == "toy"
    assert dlnuf_fake.stats()["requests"]["toy"] == 1


def test_its_fake_says_not_found_in_its_own_words(dlnuf_fake: dlnuf.testing.FakeUpstreams) -> None:
    with client(options={"toy": {"api_key": KEY}}) as c, pytest.raises(NotFound):
        c.identity(SIRET)


def test_its_fake_refuses_another_key(dlnuf_fake: dlnuf.testing.FakeUpstreams) -> None:
    company = dlnuf_fake.add(dlnuf.testing.make_company("active", seed="toy-2"))
    dlnuf_fake.credentials["toy"] = "the-only-good-key-42"
    with client(options={"toy": {"api_key": KEY}}) as c, pytest.raises(Unauthorized) as caught:
        c.identity(company.siret)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


def test_generic_faults_apply_to_it_and_its_hook_reads_them(
    dlnuf_fake: dlnuf.testing.FakeUpstreams,
) -> None:
    company = dlnuf_fake.add(dlnuf.testing.make_company("active", seed="toy-3"))
    dlnuf_fake.rate_limit("toy", retry_after=0.01, times=1)
    with client(options={"toy": {"api_key": KEY}}) as c:
        assert c.identity(company.siret).siret == company.siret  # retried after TOY-SLOWDOWN
    assert dlnuf_fake.stats()["rate_limited"]["toy"] == 1
    dlnuf_fake.down("toy", 60)
    with dlnuf.Client(sources=["toy", "recherche_entreprises"], cache=None, retries=0,
                      options={"toy": {"api_key": KEY}}) as c:
        identity = c.identity(company.siret)  # TOY-MAINTENANCE is transient: the next source
    assert identity.provenance.source == "recherche_entreprises"


def test_the_loopback_server_serves_it(dlnuf_fake: dlnuf.testing.FakeUpstreams) -> None:
    from dlnuf.testing.server import FakeServer

    company = dlnuf.testing.make_company("active", seed="toy-4", name="TOY SERVED")
    served = FakeServer(dlnuf.testing.FakeUpstreams([company]), "127.0.0.1", 0)
    with served.running() as server, respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # let loopback traffic through
        with client(options={"toy": {"api_key": KEY, "base_url": f"{server.url}/v1"}}) as c:
            identity = c.identity(company.siret)
    assert identity.legal_name == "TOY SERVED"
