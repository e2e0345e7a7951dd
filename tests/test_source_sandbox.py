"""The offline sandbox: API Entreprise's own request/parse path over a packaged data set."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from contracts import API_ENTREPRISE, load_cases
from dlnuf.config import Settings
from dlnuf.errors import ConfigurationError, NotFound
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siret
from dlnuf.sources import source_error
from dlnuf.sources.api_entreprise import ApiEntreprise
from dlnuf.sources.base import Source, load_source
from dlnuf.sources.sandbox import SANDBOX_URL, Sandbox, load_responses

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "dlnuf" / "sources" / "sandbox_data"
CONTRACT_CASES = load_cases(API_ENTREPRISE / "api_entreprise_v4_insee_etablissements")

PARTIAL = "42797966100019"  # sole trader, partially diffusible
NOT_DIFFUSIBLE = "58199945500016"  # sole trader, not diffusible
CLOSED = "41410106300017"
REDIRECTED = "72620793900026"  # a duplicate SIRET, answered as 72620793900042
ASSOCIATION = "56643414800011"
ABROAD = "56282510900027"


def sandbox(**given: Any) -> Sandbox:
    return Sandbox(Settings(**given))


def fetch(src: Sandbox, siret: str) -> httpx.Response:
    assert src.mount is not None
    return src.mount.handle_request(src.request(Identity, Siret(siret)))


def identity(src: Sandbox, siret: str) -> Identity:
    response = fetch(src, siret)
    assert response.status_code == 200, response.text
    fact = src.parse(Identity, Siret(siret), response)
    assert isinstance(fact, Identity)
    return fact


def test_it_is_a_source_loaded_by_name_that_needs_no_configuration() -> None:
    src = load_source("sandbox", Settings())
    assert isinstance(src, Sandbox)
    assert isinstance(src, Source)
    assert src.name == "sandbox"
    assert src.base_url == SANDBOX_URL
    assert isinstance(src.mount, httpx.MockTransport)
    assert Identity in src.provides
    assert src.provides == ApiEntreprise.provides  # evidence too (sandbox_data/evidence.json)


def test_the_base_url_cannot_be_pointed_at_the_network() -> None:
    src = sandbox(base_urls={"sandbox": "https://example.com", "api_entreprise": "https://x.y"})
    assert src.base_url == SANDBOX_URL
    assert src.request(Identity, Siret("55204944776279")).url.host == "sandbox.dlnuf.invalid"


def test_it_lists_about_thirty_companies_each_described() -> None:
    sirets = Sandbox.sirets()
    assert len(sirets) >= 26
    assert sirets == sorted(sirets)
    assert all(Siret.is_valid(s) for s in sirets)
    assert set(Sandbox.companies()) == set(sirets)


@pytest.mark.parametrize("siret", Sandbox.sirets())
@pytest.mark.parametrize("authenticated", [True, False], ids=["protected", "public"])
def test_every_sandbox_siret_parses_to_an_identity(siret: str, authenticated: bool) -> None:
    src = sandbox(authenticated=authenticated)
    if not authenticated and siret == NOT_DIFFUSIBLE:
        response = fetch(src, siret)
        assert response.status_code == 404
        return
    fact = identity(src, siret)
    assert fact.siret == siret or fact.redirected_from == siret
    assert fact.provenance.source == "sandbox"
    assert fact.legal_name or fact.withheld
    assert fact.address.city
    if authenticated:
        assert fact.withheld == frozenset()


def test_public_path_withholds_what_the_protected_path_gives() -> None:
    public = identity(sandbox(authenticated=False), PARTIAL)
    protected = identity(sandbox(authenticated=True), PARTIAL)

    assert public.diffusion == protected.diffusion == "partiellement_diffusible"
    assert public.legal_name is None
    assert public.trade_name is None
    assert public.address.street_name is None
    assert public.address.postal_code is None
    assert {"legal_name", "trade_name", "address.street_name", "address.postal_code"} <= (
        public.withheld
    )
    assert public.address.city == protected.address.city == "RENNES"
    assert public.provenance.public is True
    assert public.provenance.endpoint.endswith(f"/diffusibles/{PARTIAL}")

    assert protected.legal_name == "CLAIRE BERNARD"
    assert protected.trade_name == "MENUISERIE DU BOCAGE"
    assert protected.address.street == "LIEU-DIT LA HUBERDIERE"
    assert protected.address.postal_code == "35000"
    assert protected.withheld == frozenset()
    assert protected.provenance.public is False


def test_a_non_diffusible_company_is_only_on_the_protected_path() -> None:
    response = fetch(sandbox(authenticated=False), NOT_DIFFUSIBLE)
    assert response.status_code == 404
    protected = identity(sandbox(authenticated=True), NOT_DIFFUSIBLE)
    assert protected.diffusion == "non_diffusible"
    assert protected.legal_name == "JEAN-PIERRE ROUX"
    assert protected.provenance.public is False


def test_demo_companies_show_what_they_are_listed_for() -> None:
    src = sandbox()
    closed = identity(src, CLOSED)
    assert closed.active is False
    assert closed.closing_date is not None
    assert closed.legal_unit_active is False

    redirected = identity(src, REDIRECTED)
    assert redirected.siret == "72620793900042"
    assert redirected.redirected_from == REDIRECTED

    association = identity(src, ASSOCIATION)
    assert association.rna == "W313012345"
    assert association.ess is True

    abroad = identity(src, ABROAD)
    assert abroad.address.country == "ALLEMAGNE"
    assert abroad.is_head_office is False


def test_an_unknown_siret_gets_the_real_not_found_answer() -> None:
    src = sandbox()
    response = fetch(src, "41816609600069")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "01003"
    error = source_error(Sandbox(Settings()), response)
    assert isinstance(error, NotFound)


def test_the_sandbox_applies_the_same_validation() -> None:
    with pytest.raises(ConfigurationError, match="00211"):
        sandbox().request(Identity, Siret("13002526500013"))
    with pytest.raises(ConfigurationError, match="00210"):
        sandbox(recipient="123").request(Identity, Siret("55204944776279"))


def test_configured_purpose_is_used_and_a_real_token_is_never_sent() -> None:
    src = sandbox(
        api_entreprise_token="real-secret-token",
        recipient="55204944776279",
        context="Aides publiques",
        object="dossier 42",
    )
    request = src.request(Identity, Siret("77567227221138"))
    assert dict(request.url.params) == {
        "recipient": "55204944776279",
        "context": "Aides publiques",
        "object": "dossier 42",
    }
    assert "real-secret-token" not in request.headers["authorization"]
    assert "real-secret-token" not in repr(src)


def test_defaults_fill_in_the_purpose() -> None:
    request = sandbox().request(Identity, Siret("55204944776279"))
    assert dict(request.url.params) == {
        "recipient": "13002526500013",
        "context": "dlnuf sandbox",
        "object": "demo",
    }


def test_the_mount_answers_like_the_api_for_bad_calls() -> None:
    src = sandbox()
    assert src.mount is not None
    good = src.request(Identity, Siret("55204944776279"))
    no_token = httpx.Request("GET", good.url)
    assert src.mount.handle_request(no_token).status_code == 401
    no_params = httpx.Request("GET", good.url.copy_with(query=None), headers=good.headers)
    response = src.mount.handle_request(no_params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] in {"00201", "00202", "00203"}


@pytest.mark.parametrize("case", CONTRACT_CASES, ids=str)
def test_staging_companies_are_the_contract_payloads(case: Any) -> None:
    siret = case.params["siret"]
    stored = load_responses()
    expected = {"status": case.status, "payload": case.payload}
    assert stored[f"/v4/insee/sirene/etablissements/{siret}"] == expected
    # Every staging company is diffusible: the public variant is the same payload.
    assert stored[f"/v4/insee/sirene/etablissements/diffusibles/{siret}"] == expected


def test_the_data_set_is_small_and_carries_the_contracts_licence() -> None:
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 1_000_000
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    assert "MIT License" in notice
    assert "Copyright (c) 2023 Etalab" in notice
    for case in CONTRACT_CASES:
        assert case.params["siret"] in notice


def _build_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = ROOT / "scripts" / "build_sandbox.py"
    spec = importlib.util.spec_from_file_location("build_sandbox", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_sandbox", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_the_build_script_regenerates_the_data_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _build_script(monkeypatch).main(["--out", str(tmp_path)])
    assert "responses.json" in capsys.readouterr().out
    built = sorted(p.name for p in tmp_path.iterdir())
    # evidence.json and the NOTICE's last section come from build_sandbox_evidence.py.
    shipped = sorted(p.name for p in DATA.iterdir() if p.is_file() and p.name != "evidence.json")
    assert built == shipped
    for name in built:
        if name == "NOTICE":
            notice = (DATA / name).read_text(encoding="utf-8")
            assert notice.startswith((tmp_path / name).read_text(encoding="utf-8").rstrip())
            continue
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_documentation_lists_every_sandbox_siret() -> None:
    page = (ROOT / "docs" / "sources" / "sandbox.md").read_text(encoding="utf-8")
    missing = [s for s in Sandbox.sirets() if f"`{s}`" not in page]
    assert missing == []
