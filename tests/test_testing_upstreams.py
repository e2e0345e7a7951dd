"""Upstream fakes, one per source: the protocol, the entry-point registry, a toy of our own.

The toy below is what a third-party source package ships: an :class:`Upstream`
subclass. Registered at run time (or added to one fake), it is served by respx (the
``dlnuf_fake`` fixture) and by the loopback server, with the generic faults, quotas,
latency and counters working on it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from dlnuf.testing import SOURCES, FakeUpstreams, make_company
from dlnuf.testing.fake import source_of
from dlnuf.testing.server import FakeServer, main
from dlnuf.testing.upstreams import (
    ENTRY_POINT_GROUP,
    Answer,
    FakeUpstreamError,
    Quota,
    UnknownUpstream,
    Upstream,
    UpstreamConflict,
    available_upstreams,
    builtin_upstreams,
    load_upstream,
    register_upstream,
    registry,
    unregister_upstream,
)
from dlnuf.testing.upstreams.api_entreprise import ApiEntrepriseFake
from dlnuf.testing.upstreams.insee_sirene import InseeSireneFake
from dlnuf.testing.upstreams.recherche_entreprises import RechercheEntreprisesFake

ROOT = Path(__file__).resolve().parents[1]
TOY = "https://api.toy.example"
COMPANY = make_company("active", seed="toy_test")


class ToyFake(Upstream):
    """A toy source's fake: ``/toy/v1/companies/{siret}``, a key header, 3 requests/s."""

    name = "toy_test"
    base_urls = (TOY,)
    quotas: ClassVar[Mapping[str, Quota]] = {"toy_test": (3, 1.0)}
    examples = ("/toy/v1/companies/55204944776279",)

    def match(self, path: str) -> str | None:
        found = re.search(r"/toy/v1/.*$", path)
        return found.group() if found else None

    def refuse(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer | None:
        key = request.headers.get("x-toy-key", "")
        expected = fake.credentials.get(self.name)
        if not key or (expected is not None and key != expected):
            return 401, {"toy_error": "bad key"}
        return None

    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        if path == "/toy/v1/page":
            return httpx.Response(200, html="<p>toy</p>")
        company = fake.get(path.rsplit("/", 1)[-1])
        if company is None:
            return 404, {"toy_error": "unknown"}
        return 200, {"siret": company.siret, "name": company.legal_name}, {"X-Toy": "1"}

    def error_body(self, status: int) -> Any:
        return {"toy_error": status}

    def rate_headers(
        self, limit: int, period: float, remaining: int, reset_at: float
    ) -> Mapping[str, str]:
        return {"X-Toy-Remaining": str(remaining)}


TOY_INSTANCE = ToyFake()
"""The toy as an instance (an entry point may name a class or an instance)."""

KEY = {"X-Toy-Key": "k"}


class Greedy(Upstream):
    """Claims ``.../deep/search``: Recherche d'entreprises claims it too."""

    name = "greedy"

    def match(self, path: str) -> str | None:
        return "/deep/search" if path.endswith("/deep/search") else None

    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        return 200, {}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def toy_registered() -> Iterator[ToyFake]:
    """The toy registered for the process, for the test's duration."""
    toy = register_upstream(ToyFake())
    yield toy
    unregister_upstream("toy_test")


@pytest.fixture
def served(toy_registered: ToyFake) -> Iterator[tuple[FakeServer, Clock]]:
    """The loopback server over a fake created after the toy's registration."""
    clock = Clock()
    with FakeServer(FakeUpstreams([COMPANY], clock=clock), "127.0.0.1", 0).running() as server:
        yield server, clock


def toy_path(siret: str = COMPANY.siret) -> str:
    return f"/toy/v1/companies/{siret}"


# --- a toy upstream, served by respx -----------------------------------------------------------


def test_a_toy_added_to_dlnuf_fake_is_served_with_faults_quotas_and_counters(
    dlnuf_fake: FakeUpstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLNUF_TOY_TEST_URL", "https://proxy.example/toy-api")
    dlnuf_fake.add_upstream(ToyFake())
    dlnuf_fake.add(COMPANY)
    dlnuf_fake.set_quota("toy_test", 3, 60.0)
    with httpx.Client(base_url=TOY, headers=KEY) as http:
        found = http.get(toy_path())
        assert found.status_code == 200
        assert found.json() == {"siret": COMPANY.siret, "name": COMPANY.legal_name}
        assert found.headers["X-Toy"] == "1"
        assert found.headers["X-Toy-Remaining"] == "2"  # the toy's own quota headers

        dlnuf_fake.fail("toy_test", status=503, times=1)
        failed = http.get(toy_path())
        assert (failed.status_code, failed.json()) == (503, {"toy_error": 503})

        limited = http.get(toy_path())  # the third of 3 per minute is still admitted...
        assert limited.status_code == 200
        limited = http.get(toy_path())  # ...the fourth is not
        assert limited.status_code == 429
        assert limited.json() == {"toy_error": 429}
        assert limited.headers["Retry-After"] == "60"

        refused = httpx.get(f"{TOY}{toy_path()}")  # no key: the toy's refusal
        assert refused.status_code == 429  # the quota comes first, as upstream
        dlnuf_fake.set_quota("toy_test", None)
        assert httpx.get(f"{TOY}{toy_path()}").json() == {"toy_error": "bad key"}
        # DLNUF_TOY_TEST_URL is intercepted too, whatever its prefix
        proxied = httpx.get(f"https://proxy.example/toy-api{toy_path()}", headers=KEY)
        assert proxied.status_code == 200
    stats = dlnuf_fake.stats()
    assert stats["requests"] == {"toy_test": 7}
    assert stats["rate_limited"] == {"toy_test": 2}
    assert stats["statuses"]["toy_test"] == {"200": 3, "401": 1, "429": 2, "503": 1}


async def test_the_toy_answers_async_clients_and_whole_responses(
    dlnuf_fake: FakeUpstreams,
) -> None:
    dlnuf_fake.add_upstream(ToyFake())
    async with httpx.AsyncClient(base_url=TOY, headers=KEY) as http:
        page = await http.get("/toy/v1/page")
        assert page.headers["content-type"].startswith("text/html")
        assert page.text == "<p>toy</p>"
        assert page.headers["X-Toy-Remaining"] == "2"  # quota headers added
        missing = await http.get(toy_path("00000000000000"))
        assert (missing.status_code, missing.json()) == (404, {"toy_error": "unknown"})


def test_an_injected_429_says_nothing_remains_in_the_toys_headers() -> None:
    fake = FakeUpstreams([COMPANY], clock=Clock())
    fake.add_upstream(ToyFake())
    fake.rate_limit("toy_test", retry_after=7)
    with httpx.Client(transport=httpx.MockTransport(fake.handle), base_url=TOY,
                      headers=KEY) as http:
        limited = http.get(toy_path())
    assert limited.status_code == 429
    assert (limited.headers["Retry-After"], limited.headers["X-Toy-Remaining"]) == ("7", "0")
    assert fake.rate_limited["toy_test"] == 1


def test_latency_down_and_credentials_apply_to_the_toy() -> None:
    slept: list[float] = []
    clock = Clock()
    fake = FakeUpstreams([COMPANY], clock=clock, sleep=slept.append,
                         credentials={"toy_test": "right"})
    fake.add_upstream(ToyFake())
    fake.latency("toy_test", 0.25)
    with httpx.Client(transport=httpx.MockTransport(fake.handle), base_url=TOY) as http:
        assert http.get(toy_path(), headers={"X-Toy-Key": "wrong"}).status_code == 401
        assert http.get(toy_path(), headers={"X-Toy-Key": "right"}).status_code == 200
        assert slept == [0.25, 0.25]
        fake.down("toy_test", 30, status=None)
        assert fake.is_down("toy_test")
        with pytest.raises(httpx.ConnectError, match="toy_test is down"):
            http.get(toy_path(), headers={"X-Toy-Key": "right"})
        clock.now += 30
        assert not fake.is_down("toy_test")
        assert http.get(toy_path(), headers={"X-Toy-Key": "right"}).status_code == 200


class TestRegistered:
    """Registered for the process before the fixture's fake exists (autouse: first)."""

    @pytest.fixture(autouse=True)
    def toy(self, toy_registered: ToyFake) -> ToyFake:
        return toy_registered

    def test_dlnuf_fake_serves_a_registered_toy(self, dlnuf_fake: FakeUpstreams) -> None:
        assert "toy_test" in dlnuf_fake.upstreams
        dlnuf_fake.add(COMPANY)
        dlnuf_fake.malformed("toy_test")
        with httpx.Client(base_url=TOY, headers=KEY) as http:
            assert http.get(toy_path()).headers["content-type"] == "text/html"
            assert http.get(toy_path()).json()["siret"] == COMPANY.siret
        assert dlnuf_fake.requests == {"toy_test": 2}

    def test_routing_and_unknown_names_know_the_toy(self) -> None:
        assert source_of(f"/prefix{toy_path()}") == ("toy_test", toy_path())
        assert source_of("/search") == ("recherche_entreprises", "/search")
        with pytest.raises(UnknownUpstream, match=r"unknown source 'nope'.*toy_test"):
            FakeUpstreams().fail("nope")


def test_unregistered_the_toy_is_gone() -> None:
    register_upstream(ToyFake())
    unregister_upstream("toy_test")
    assert "toy_test" not in FakeUpstreams().upstreams
    assert source_of(toy_path()) is None
    with pytest.raises(UnknownUpstream, match="'toy_test'"):
        FakeUpstreams().fail("toy_test")
    with pytest.raises(UnknownUpstream, match="no fake upstream 'toy_test' was registered"):
        unregister_upstream("toy_test")


# --- a toy upstream, served by the loopback server ---------------------------------------------


def test_the_loopback_server_serves_a_registered_toy(served: tuple[FakeServer, Clock]) -> None:
    server, clock = served
    with httpx.Client(base_url=server.url, headers=KEY) as http:
        assert http.get(toy_path()).json()["name"] == COMPANY.legal_name
        fault = {"action": "fail", "source": "toy_test", "status": 502, "times": 1}
        assert http.post("/__fault", json=fault).json() == {"ok": True}
        failed = http.get(toy_path())
        assert (failed.status_code, failed.json()) == (502, {"toy_error": 502})
        statuses = [http.get(toy_path()).status_code for _ in range(3)]
        assert statuses == [200, 429, 429]  # 3 per second, the failed one counted
        assert http.get(toy_path()).headers["Retry-After"] == "1"
        clock.now += 1
        assert http.get(toy_path()).status_code == 200
        stats = http.get("/__stats").json()
        assert stats["requests"] == {"toy_test": 7}
        assert stats["rate_limited"] == {"toy_test": 3}
        assert stats["quotas"]["toy_test"] == {"limit": 3, "period": 1.0}
        assert stats["max_per_second"] == {"toy_test": 6}
        unknown = http.post("/__fault", json={"action": "fail", "source": "nope"})
        assert unknown.status_code == 400
        assert "toy_test" in unknown.json()["error"]


def test_the_loopback_server_answers_500_when_two_upstreams_claim_a_path(
    served: tuple[FakeServer, Clock],
) -> None:
    server, _ = served
    server.fake.add_upstream(Greedy())
    answer = httpx.get(f"{server.url}/deep/search", params={"q": "x"})
    assert answer.status_code == 500
    assert "UpstreamConflict" in answer.json()["error"]


def test_the_server_command_serves_a_fake_named_on_its_command_line() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dlnuf.testing.server", "--port", "0", "--companies", "3",
         "--no-sandbox", "--upstream", f"{__name__}:ToyFake", "--max-seconds", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("listening on "), first
        with httpx.Client(base_url=first.split()[-1], headers=KEY) as http:
            siret = http.get("/__companies").json()[0]["siret"]
            assert http.get(toy_path(siret)).json()["siret"] == siret
            fault = {"action": "down", "source": "toy_test", "seconds": 60}
            assert http.post("/__fault", json=fault).json() == {"ok": True}
            assert http.get(toy_path(siret)).json() == {"toy_error": 503}
            stats = http.get("/__stats").json()
            assert stats["statuses"]["toy_test"] == {"200": 1, "503": 1}
            assert stats["quotas"]["toy_test"] == {"limit": 3, "period": 1.0}
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


def test_the_server_command_refuses_a_fake_it_cannot_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--port", "0", "--no-sandbox", "--upstream", "no_such_module_for_dlnuf:Fake"])
    assert exited.value.code == 2
    assert "the upstream fake 'no_such_module_for_dlnuf:Fake' cannot be loaded" in (
        capsys.readouterr().err
    )
    assert load_upstream(f"{__name__}:TOY_INSTANCE") is TOY_INSTANCE
    assert isinstance(load_upstream(f"{__name__}:ToyFake"), ToyFake)


# --- dlnuf's own fakes, found through entry points ----------------------------------------------


def test_the_builtins_are_found_through_their_entry_points() -> None:
    installed = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(SOURCES) <= set(installed), (
        f"the installed metadata lacks the {ENTRY_POINT_GROUP} entry points: reinstall dlnuf "
        '(pip install -e ".[dev]")'
    )
    expected = {"recherche_entreprises": RechercheEntreprisesFake,
                "api_entreprise": ApiEntrepriseFake, "insee_sirene": InseeSireneFake}
    assert set(SOURCES) == set(expected)
    for name, cls in expected.items():
        assert installed[name].load() is cls
        assert installed[name].value == f"dlnuf.testing.upstreams.{name}:{cls.__name__}"
    found = builtin_upstreams()
    assert {name: type(u) for name, u in found.items()} == expected
    served = FakeUpstreams().upstreams  # and any other installed (a third party's)
    assert {name: type(served[name]) for name in expected} == expected
    assert all(available_upstreams()[name] is u for name, u in found.items())


def test_the_entry_points_are_declared_in_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = project["entry-points"][ENTRY_POINT_GROUP]
    installed = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert declared == {name: installed[name] for name in SOURCES}


def _entry_point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> list[EntryPoint]:
    """The installed entry points, extendable by the test (a third-party package's)."""
    found = list(registry._entry_points())
    monkeypatch.setattr(registry, "_entry_points", lambda: tuple(found))
    monkeypatch.setattr(registry, "_loaded", {})
    return found


@pytest.mark.parametrize("target", ["ToyFake", "TOY_INSTANCE"])
def test_a_third_party_entry_point_is_served(installed: list[EntryPoint], target: str) -> None:
    installed.append(_entry_point("toy_test", f"{__name__}:{target}"))
    fake = FakeUpstreams([COMPANY])
    assert isinstance(fake.upstreams["toy_test"], ToyFake)
    assert set(builtin_upstreams()) == set(SOURCES)  # the toy is no built-in
    answer = fake.handle(httpx.Request("GET", f"{TOY}{toy_path()}", headers=KEY))
    assert answer.json()["siret"] == COMPANY.siret


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("no_such_module_for_dlnuf:Fake", "cannot be loaded: ModuleNotFoundError"),
        (f"{__name__}:COMPANY", "not a dlnuf.testing.upstreams.Upstream"),
        (f"{__name__}:Greedy", "is named 'greedy': name it 'toy_test'"),
    ],
)
def test_a_broken_entry_point_says_what_is_wrong(
    installed: list[EntryPoint], value: str, message: str
) -> None:
    installed.append(_entry_point("toy_test", value))
    with pytest.raises(FakeUpstreamError, match=re.escape(message)) as raised:
        FakeUpstreams()
    assert "dlnuf.fakes entry point toy_test" in str(raised.value)


def test_two_packages_shipping_one_name_conflict(installed: list[EntryPoint]) -> None:
    installed.append(_entry_point("toy_test", f"{__name__}:ToyFake"))
    installed.append(_entry_point("toy_test", f"{__name__}:TOY_INSTANCE"))
    with pytest.raises(UpstreamConflict, match="two installed packages ship a fake upstream"):
        FakeUpstreams()


def test_an_install_without_the_entry_points_says_to_reinstall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "_entry_points", tuple)
    with pytest.raises(FakeUpstreamError, match=r"reinstall it"):
        FakeUpstreams()


# --- conflicts and unknown names ----------------------------------------------------------------


def test_registering_an_upstream_claiming_anothers_path_is_refused() -> None:
    class Squatter(Greedy):
        def match(self, path: str) -> str | None:
            return "/search" if path.endswith("/search") else None

    with pytest.raises(UpstreamConflict,  # Recherche d'entreprises' example, /search
                       match=r"claim the path '/search': 'recherche_entreprises' \(as '/search'\) "
                             r"and 'greedy' \(as '/search'\)"):
        register_upstream(Squatter())
    assert "greedy" not in available_upstreams()
    with pytest.raises(UpstreamConflict):
        FakeUpstreams().add_upstream(Squatter())


def test_two_upstreams_claiming_a_requested_path_is_a_typed_error() -> None:
    fake = FakeUpstreams()
    fake.add_upstream(Greedy())  # no example: nothing to check beforehand
    with pytest.raises(UpstreamConflict, match="two fake upstreams claim the path '/deep/search'"):
        fake.handle(httpx.Request("GET", "https://recherche-entreprises.api.gouv.fr/deep/search"))
    assert fake.requests == {}


def test_a_name_is_registered_once_unless_replaced(toy_registered: ToyFake) -> None:
    with pytest.raises(UpstreamConflict, match="named 'toy_test' exists already"):
        register_upstream(ToyFake())
    with pytest.raises(UpstreamConflict, match="named 'recherche_entreprises' exists already"):
        register_upstream(type("Other", (ToyFake,), {"name": "recherche_entreprises",
                                                      "examples": ()})())
    fake = FakeUpstreams()
    with pytest.raises(UpstreamConflict, match="serves a fake upstream named 'toy_test' already"):
        fake.add_upstream(ToyFake())
    replacement = ToyFake()
    assert fake.add_upstream(replacement, replace=True) is fake.upstreams["toy_test"]
    assert register_upstream(replacement, replace=True) is available_upstreams()["toy_test"]


def test_a_replaced_builtin_comes_back_when_unregistered() -> None:
    class OtherRecherche(RechercheEntreprisesFake):
        pass

    register_upstream(OtherRecherche(), replace=True)
    try:
        assert isinstance(FakeUpstreams().upstreams["recherche_entreprises"], OtherRecherche)
    finally:
        unregister_upstream("recherche_entreprises")
    assert type(FakeUpstreams().upstreams["recherche_entreprises"]) is RechercheEntreprisesFake


def test_an_upstream_must_be_named_and_match_its_examples() -> None:
    with pytest.raises(FakeUpstreamError, match="no usable name"):
        register_upstream(type("Nameless", (Greedy,), {"name": ""})())
    with pytest.raises(FakeUpstreamError, match="no usable name"):
        FakeUpstreams().add_upstream(type("Spaced", (Greedy,), {"name": "a b"})())
    with pytest.raises(FakeUpstreamError, match="does not match its own example path '/elsewhere'"):
        register_upstream(type("Lost", (ToyFake,), {"name": "lost",
                                                    "examples": ("/elsewhere",)})())
    with pytest.raises(FakeUpstreamError, match=r"not a dlnuf\.testing\.upstreams\.Upstream"):
        register_upstream(object())  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("action", "args"),
    [("fail", ()), ("latency", (1.0,)), ("down", (1.0,)), ("rate_limit", ()),
     ("malformed", ())],
)
def test_unknown_sources_are_typed_value_errors_naming_the_known_ones(
    action: str, args: tuple[Any, ...]
) -> None:
    fake = FakeUpstreams()
    with pytest.raises(UnknownUpstream) as raised:
        getattr(fake, action)("nope", *args)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == "unknown source 'nope'; the fakes are " + ", ".join(fake.upstreams)
    assert set(SOURCES) <= set(fake.upstreams)


def test_the_default_error_body_and_pool() -> None:
    greedy = Greedy()
    assert greedy.error_body(503) == {"status": 503, "error": "Service Unavailable"}
    assert greedy.error_body(599) == {"status": 599, "error": "HTTP 599"}
    assert (greedy.pool("/search"), greedy.quota("greedy"), greedy.faultable("/x")) == (
        "greedy", None, True)
    assert repr(greedy) == "<Greedy 'greedy'>"


def test_the_test_module_is_importable_by_name() -> None:
    # the entry point tests load this module's toy by "module:attribute", as a package's
    assert sys.modules[__name__].ToyFake is ToyFake
