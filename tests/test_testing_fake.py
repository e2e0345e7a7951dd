"""The testing kit: fake companies, their payloads, the fake upstreams and the pytest fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import dlnuf
import dlnuf.client
import dlnuf.transport
from dlnuf.config import Settings
from dlnuf.errors import (
    DlnufError,
    NotFound,
    RateLimited,
    UnexpectedPayload,
    UpstreamUnavailable,
)
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Rna, Siren, Siret, luhn_valid
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.sources.api_entreprise import ENDPOINTS, ApiEntreprise
from dlnuf.sources.insee_sirene import InseeSirene
from dlnuf.sources.recherche_entreprises import RechercheEntreprises
from dlnuf.sources.sandbox import NOT_FOUND_PAYLOAD as SANDBOX_NOT_FOUND
from dlnuf.testing import (
    KINDS,
    FakeCompany,
    FakeUpstreams,
    api_entreprise_quotas,
    make_companies,
    make_company,
    make_siren,
    make_siret,
)
from dlnuf.testing.fake import source_of
from dlnuf.testing.payloads import (
    NOT_FOUND_PAYLOAD,
    api_entreprise_establishment,
    public_variant,
    register_api_entreprise,
)

ROOT = Path(__file__).resolve().parents[1]
RECIPIENT = "13002526500013"
SETTINGS = Settings(
    api_entreprise_token="test-token",
    recipient=RECIPIENT,
    context="Tests",
    object="testing kit",
    insee_api_key="test-key",
)
UNLIMITED = {"recherche_entreprises": None, "api_entreprise:json": None, "insee_sirene": None}
AE = "https://entreprise.api.gouv.fr"
RE = "https://recherche-entreprises.api.gouv.fr"
INSEE = "https://api.insee.fr/api-sirene/3.11"
AE_PARAMS = {"recipient": RECIPIENT, "context": "Tests", "object": "testing kit"}
AE_HEADERS = {"Authorization": "Bearer test-token"}


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def send(fake: FakeUpstreams, request: httpx.Request) -> httpx.Response:
    with httpx.Client(transport=httpx.MockTransport(fake.handle)) as client:
        return client.send(request, follow_redirects=True)


def get(fake: FakeUpstreams, url: str, **kwargs: Any) -> httpx.Response:
    return send(fake, httpx.Request("GET", url, **kwargs))


# --- identifiers and companies ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(200))
def test_generated_identifiers_are_valid(seed: int) -> None:
    siren = make_siren(seed)
    assert Siren.is_valid(siren)
    assert siren != "356000000"
    siret = make_siret(seed)
    assert Siret.is_valid(siret)
    assert luhn_valid(siret)
    poste = make_siret(seed, la_poste=True)
    assert poste.startswith("356000000")
    assert Siret.is_valid(poste)
    assert sum(int(d) for d in poste) % 5 == 0
    assert poste != "35600000000048"


def test_identifiers_are_deterministic_with_a_seed_and_vary_without() -> None:
    assert make_siret(7) == make_siret(7)
    assert make_siren("x") == make_siren("x")
    assert len({make_siret() for _ in range(20)}) == 20
    assert make_siret(1, siren="552049447").startswith("552049447")
    assert make_siret(1, siren="552049447", nic="0002")[:13] == "5520494470002"


def test_some_la_poste_sirets_fail_luhn_yet_are_valid() -> None:
    # The reason La Poste needs its own rule: a checker using Luhn alone would refuse them.
    sirets = [make_siret(seed, la_poste=True) for seed in range(50)]
    assert any(not luhn_valid(s) for s in sirets)
    assert all(Siret.is_valid(s) for s in sirets)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_makes_a_valid_deterministic_company(kind: str) -> None:
    company = make_company(kind, seed=5)
    assert company == make_company(kind, seed=5)
    assert company != make_company(kind, seed=6)
    assert company.kind == kind
    assert Siret.is_valid(company.siret)
    assert company.siren == company.siret[:9]
    if company.head_office_siret:
        assert Siret.is_valid(company.head_office_siret)
    if company.redirected_from:
        assert Siret.is_valid(company.redirected_from)
        assert company.redirected_from != company.siret


def test_the_kinds_are_what_they_say() -> None:
    closed = make_company("closed", seed=1)
    assert closed.closed is not None
    assert closed.ceased
    assert not closed.active
    association = make_company("association", seed=1)
    assert association.rna is not None
    assert Rna.is_valid(association.rna)
    assert association.legal_form[0] == "9220"
    sole = make_company("sole_trader", seed=1)
    assert sole.name is None
    assert sole.person is not None
    assert sole.legal_name == sole.person.display_name
    assert make_company("sole_trader_nd", seed=1).diffusion == "partiellement_diffusible"
    assert make_company("non_diffusible", seed=1).diffusion == "non_diffusible"
    secondary = make_company("secondary", seed=1)
    assert not secondary.head_office
    assert secondary.head_office_siret is not None
    assert secondary.head_office_siret[:9] == secondary.siren
    assert make_company("la_poste", seed=1).siret.startswith("356000000")


def test_fields_can_be_overridden_and_unknown_kinds_are_refused() -> None:
    company = make_company("active", seed=1, name="ACME", trade_name="ACME SHOP")
    assert (company.name, company.trade_name) == ("ACME", "ACME SHOP")
    assert company.with_(name="OTHER").name == "OTHER"
    with pytest.raises(ValueError, match="unknown kind 'bankrupt'"):
        make_company("bankrupt")


def test_many_companies_are_distinct_and_cover_every_kind() -> None:
    companies = make_companies(100, seed=3)
    assert companies == make_companies(100, seed=3)
    sirets = [c.siret for c in companies]
    assert len(set(sirets)) == 100
    assert {c.kind for c in companies} == set(KINDS)


# --- payloads parse with the real sources into the company's identity ------------------


VARIANTS: dict[str, Callable[[], Any]] = {
    "recherche_entreprises": lambda: RechercheEntreprises(SETTINGS),
    "insee_sirene": lambda: InseeSirene(SETTINGS),
    "api_entreprise_public": lambda: ApiEntreprise(SETTINGS),
    "api_entreprise_protected": lambda: ApiEntreprise(
        SETTINGS.model_copy(update={"authenticated": True})
    ),
}


def _lookup(variant: str, company: FakeCompany, asked: str) -> Identity:
    fake = FakeUpstreams([company], quotas=UNLIMITED)
    source = VARIANTS[variant]()
    response = send(fake, source.request(Identity, Siret(asked)))
    if response.status_code != 200:
        raise dlnuf.sources.source_error(source, response)
    identity = source.parse(Identity, Siret(asked), response)
    assert isinstance(identity, Identity)
    return identity


def _check(identity: Identity, company: FakeCompany, *, masked: bool) -> None:
    """``identity`` says what ``company`` is (the protected values withheld when masked)."""
    assert identity.siret == company.siret
    assert identity.siren == company.siren
    assert identity.naf_code == company.establishment_activity[0]
    assert identity.legal_form_code == company.legal_form[0]
    assert identity.company_category == company.category
    assert identity.active is company.active
    assert identity.closing_date == company.closed
    assert identity.legal_unit_active is not company.ceased
    assert identity.is_head_office is company.head_office
    assert identity.head_office_siret == company.head_office_siret_or_self
    assert identity.is_sole_trader is company.is_sole_trader
    assert identity.rna == company.rna
    assert identity.ess is company.ess
    assert identity.diffusion == company.diffusion
    assert identity.creation_date == company.created
    assert identity.address.city == company.address.city
    if masked:
        assert identity.legal_name is None
        assert identity.address.postal_code is None
        assert {"legal_name", "address.street_name", "address.postal_code"} <= identity.withheld
        assert "[ND]" not in identity.model_dump_json()
        assert "NON-DIFFUSIBLE" not in identity.model_dump_json()
    else:
        assert identity.legal_name == company.legal_name
        assert identity.trade_name == company.trade_name
        assert identity.address.postal_code == company.address.postal_code
        assert identity.address.street == company.address.street_line
        assert identity.withheld == frozenset()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_rendered_payload_parses_into_the_companys_identity(kind: str, variant: str) -> None:
    company = make_company(kind, seed=11)
    masked = company.diffusion == "partiellement_diffusible" and variant != (
        "api_entreprise_protected"
    )
    hidden = company.diffusion == "non_diffusible" and variant != "api_entreprise_protected"
    if hidden:  # public answers know nothing of a non-diffusible unit
        with pytest.raises(DlnufError) as caught:
            _lookup(variant, company, company.siret)
        assert caught.value.status in (200, 403, 404)
        return
    _check(_lookup(variant, company, company.siret), company, masked=masked)


@pytest.mark.parametrize("variant", ["insee_sirene", "api_entreprise_public",
                                     "api_entreprise_protected"])
def test_a_redirected_siret_answers_for_the_one_kept(variant: str) -> None:
    company = make_company("redirected", seed=2)
    assert company.redirected_from is not None
    identity = _lookup(variant, company, company.redirected_from)
    _check(identity, company, masked=False)
    assert identity.redirected_from == company.redirected_from


def test_recherche_does_not_know_a_duplicate_siret() -> None:
    company = make_company("redirected", seed=2)
    assert company.redirected_from is not None
    with pytest.raises(NotFound):
        _lookup("recherche_entreprises", company, company.redirected_from)


def test_a_secondary_establishment_on_recherche_has_its_one_line_address() -> None:
    company = make_company("secondary", seed=4)
    identity = _lookup("recherche_entreprises", company, company.siret)
    assert identity.address.one_line.startswith(company.address.street_line)
    assert identity.address.one_line.endswith(company.address.locality)


def test_from_identity_round_trips_through_the_payloads() -> None:
    company = make_company("association", seed=9, trade_name="LES AMIS")
    identity = _lookup("api_entreprise_protected", company, company.siret)
    again = FakeCompany.from_identity(identity)
    assert again.kind == "association"
    _check(_lookup("insee_sirene", again, again.siret), company, masked=False)


def test_the_public_variant_masks_as_insee_does() -> None:
    company = make_company("sole_trader_nd", seed=1)
    payload = api_entreprise_establishment(company)
    status, masked = public_variant(200, payload)
    assert status == 200
    assert masked["data"]["adresse"]["libelle_voie"] == "[ND]"
    assert set(masked["data"]["unite_legale"]["personne_physique_attributs"].values()) == {"[ND]"}
    assert masked["data"]["adresse"]["acheminement_postal"]["l7"] == "FRANCE"
    assert payload["data"]["adresse"]["libelle_voie"] == company.address.street  # not mutated
    hidden = api_entreprise_establishment(make_company("non_diffusible", seed=1))
    assert public_variant(200, hidden) == (404, NOT_FOUND_PAYLOAD)
    assert NOT_FOUND_PAYLOAD == SANDBOX_NOT_FOUND


# --- the fake upstreams: routing and the upstreams' own answers ----------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/search", ("recherche_entreprises", "/search")),
        ("/v4/insee/sirene/etablissements/1",
         ("api_entreprise", "/v4/insee/sirene/etablissements/1")),
        ("/proxy/v3/dgfip/x", ("api_entreprise", "/v3/dgfip/x")),
        ("/privileges", ("api_entreprise", "/privileges")),
        ("/ping/insee", ("api_entreprise", "/ping/insee")),
        ("/ping/insee/sirene", ("api_entreprise", "/ping/insee/sirene")),
        ("/proxy/ping/djepva/api-association/",
         ("api_entreprise", "/ping/djepva/api-association/")),
        ("/api-sirene/3.11/siret/55204944776279", ("insee_sirene", "/siret/55204944776279")),
        ("/siret", ("insee_sirene", "/siret")),
        ("/nothing", None),
    ],
)
def test_requests_are_routed_by_path_whatever_the_prefix(
    path: str, expected: tuple[str, str] | None
) -> None:
    assert source_of(path) == expected


def test_recherche_answers_like_the_real_search() -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company, make_company("secondary", seed=1, siret=make_siret(
        1, siren=company.siren, nic="0009"), head_office_siret=company.siret)])
    missing = get(fake, f"{RE}/search")
    assert missing.status_code == 400
    assert "erreur" in missing.json()
    unknown = get(fake, f"{RE}/search", params={"q": make_siret(99)}).json()
    assert (unknown["results"], unknown["total_results"]) == ([], 0)
    by_siren = get(fake, f"{RE}/search", params={"q": company.siren}).json()
    unit = by_siren["results"][0]
    assert unit["matching_etablissements"] == []
    assert unit["siege"]["siret"] == company.siret
    assert unit["nombre_etablissements"] == 2
    by_name = get(fake, f"{RE}/search", params={"q": (company.name or "").lower()}).json()
    assert [r["siren"] for r in by_name["results"]] == [company.siren]
    too_many = get(fake, f"{RE}/search", params={"q": "x", "per_page": "26"})
    assert too_many.status_code == 400


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"headers": {}}, 401, "00101"),
        ({"headers": {"Authorization": "Bearer "}}, 401, "00101"),
        ({"params": {**AE_PARAMS, "context": ""}}, 422, "00201"),
        ({"params": {k: v for k, v in AE_PARAMS.items() if k != "object"}}, 422, "00202"),
        ({"params": {k: v for k, v in AE_PARAMS.items() if k != "recipient"}}, 422, "00203"),
        ({"params": {**AE_PARAMS, "recipient": "123"}}, 422, "00210"),
    ],
)
def test_api_entreprise_checks_token_and_purpose_as_the_server_does(
    change: dict[str, Any], status: int, code: str
) -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company])
    arguments: dict[str, Any] = {"headers": AE_HEADERS, "params": AE_PARAMS, **change}
    response = get(fake, f"{AE}/v4/insee/sirene/etablissements/{company.siret}", **arguments)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code


def test_api_entreprise_refuses_the_company_as_its_own_recipient_and_unknown_sirets() -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], api_entreprise_token="right")
    path = f"{AE}/v4/insee/sirene/etablissements/{company.siret}"
    params = {**AE_PARAMS, "recipient": make_siret(3, siren=company.siren)}
    own = get(fake, path, params=params, headers={"Authorization": "Bearer right"})
    assert (own.status_code, own.json()["errors"][0]["code"]) == (422, "00211")
    wrong = get(fake, path, params=AE_PARAMS, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    unknown = get(fake, f"{AE}/v4/insee/sirene/etablissements/{make_siret(77)}",
                  params=AE_PARAMS, headers={"Authorization": "Bearer right"})
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND_PAYLOAD)


def test_api_entreprise_lists_privileges_and_answers_pings() -> None:
    fake = FakeUpstreams(privileges=["etablissements"])
    listed = get(fake, f"{AE}/privileges", params=AE_PARAMS, headers=AE_HEADERS)
    assert listed.json()["data"]["privileges"] == ["etablissements"]
    source = ApiEntreprise(SETTINGS)
    assert source.parse_privileges(listed) == frozenset({"etablissements"})
    assert source.parse_ping(get(fake, f"{AE}/ping/insee")) is True
    fake.down("api_entreprise", 60)
    assert source.parse_ping(get(fake, f"{AE}/ping/insee")) is False


def test_every_provider_is_pinged_even_one_whose_id_has_a_slash() -> None:
    fake = FakeUpstreams()
    source = ApiEntreprise(SETTINGS)
    providers = {endpoint.provider for endpoint in ENDPOINTS.values()}
    assert {"insee/sirene", "djepva/api-association"} <= providers
    for provider in sorted(providers):
        response = send(fake, source.ping_request(provider))
        assert response.status_code == 200, provider
        assert source.parse_ping(response) is True, provider
    fake.down("api_entreprise", 60)
    assert source.parse_ping(send(fake, source.ping_request("insee/sirene"))) is False
    assert fake.requests["api_entreprise"] == len(providers) + 1


def test_new_api_entreprise_endpoints_are_registered_by_path() -> None:
    def render(company: FakeCompany, asked: str) -> tuple[int, dict[str, Any]]:
        return 200, {"data": {"siren": company.siren, "asked": asked}, "links": {}, "meta": {}}

    template = "/v9/example/unites_legales/{siren}/testing_kit_route"
    register_api_entreprise(template, render, pool="api_entreprise:example", quota=(2, 60.0))
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company])
    url = f"{AE}{template.format(siren=company.siren)}"
    answers = [get(fake, url, params=AE_PARAMS, headers=AE_HEADERS) for _ in range(3)]
    assert answers[0].json()["data"] == {"siren": company.siren, "asked": company.siren}
    assert [a.status_code for a in answers] == [200, 200, 429]  # its own pool and quota
    assert answers[0].headers["RateLimit-Limit"] == "2"


def test_a_client_given_the_sped_up_quotas_paces_on_the_fakes_clock() -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], speedup=60)
    source = ApiEntreprise(Settings(), options=api_entreprise_quotas(60))
    url = f"{AE}{ENDPOINTS[Identity].path_for(Siret(company.siret))}"
    answer = get(fake, url, params=AE_PARAMS, headers=AE_HEADERS)
    quota = source.quota(Identity)
    # What the fake announces (per minute) is what the client is told: 250 x 60.
    assert int(answer.headers["RateLimit-Limit"]) == quota.limit * 60 / quota.period == 15_000


def test_insee_answers_one_siret_with_the_key_and_its_header_errors() -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], insee_api_key="key")
    key = {"X-INSEE-Api-Key-Integration": "key"}
    assert get(fake, f"{INSEE}/siret/{company.siret}").status_code == 401
    assert get(fake, f"{INSEE}/siret/{company.siret}", headers={
        "X-INSEE-Api-Key-Integration": "other"}).status_code == 401
    found = get(fake, f"{INSEE}/siret/{company.siret}", headers=key)
    assert found.json()["etablissement"]["siret"] == company.siret
    missing = get(fake, f"{INSEE}/siret/{make_siret(5)}", headers=key)
    assert missing.status_code == 404
    assert missing.json()["header"]["statut"] == 404
    assert get(fake, f"{INSEE}/siret/123", headers=key).status_code == 400


def test_insee_batches_up_to_1000_sirets_with_cursor_pages() -> None:
    companies = make_companies(30, seed=8, kinds=("active", "closed", "sole_trader"))
    fake = FakeUpstreams(companies, quotas=UNLIMITED)
    source = InseeSirene(SETTINGS)
    sirets = [Siret(c.siret) for c in companies] + [Siret(make_siret(123))]
    response = send(fake, source.request_many(Identity, sirets))
    found = source.parse_many(Identity, sirets, response)
    assert set(found) == {c.siret for c in companies}
    assert fake.requests["insee_sirene"] == 1
    query = " OR ".join(f"siret:{c.siret}" for c in companies)
    key = {"X-INSEE-Api-Key-Integration": "k"}
    seen: list[str] = []
    cursor = "*"
    while True:
        page = send(fake, httpx.Request("POST", f"{INSEE}/siret", headers=key, data={
            "q": query, "nombre": "7", "curseur": cursor})).json()
        seen += [e["siret"] for e in page["etablissements"]]
        if page["header"]["curseurSuivant"] == cursor:
            break
        cursor = page["header"]["curseurSuivant"]
    assert seen == [c.siret for c in companies]
    too_big = send(fake, httpx.Request("POST", f"{INSEE}/siret", headers=key,
                                       data={"q": query, "nombre": "1001"}))
    assert too_big.status_code == 400
    none = send(fake, httpx.Request("POST", f"{INSEE}/siret", headers=key,
                                    data={"q": f"siret:{make_siret(321)}"}))
    assert (none.status_code, none.json()["header"]["statut"]) == (404, 404)


def test_an_unknown_path_is_a_404_saying_so() -> None:
    response = get(FakeUpstreams(), "https://example.org/nothing/here")
    assert response.status_code == 404
    assert "no fake upstream" in response.json()["error"]


# --- quotas and counters ---------------------------------------------------------------------


def test_recherche_allows_7_requests_in_any_second_then_429_with_retry_after() -> None:
    clock = Clock()
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], clock=clock)
    url = f"{RE}/search?q={company.siret}"
    statuses = [get(fake, url).status_code for _ in range(8)]
    assert statuses == [200] * 7 + [429]
    refused = get(fake, url)
    assert refused.headers["Retry-After"] == "1"
    assert "RateLimit-Limit" not in refused.headers
    clock.now += 1.0
    assert get(fake, url).status_code == 200
    assert fake.rate_limited["recherche_entreprises"] == 2
    assert fake.requests["recherche_entreprises"] == 10
    assert fake.max_per_second("recherche_entreprises") == 9


def test_api_entreprise_sends_ratelimit_headers_on_every_answer() -> None:
    clock = Clock()
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], clock=clock, wall_clock=lambda: 1_700_000_000.0,
                         quotas={"api_entreprise:json": (3, 60.0)})
    url = f"{AE}/v4/insee/sirene/etablissements/{company.siret}"
    answers = []
    for _ in range(4):
        answers.append(get(fake, url, params=AE_PARAMS, headers=AE_HEADERS))
        clock.now += 10
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a.headers["RateLimit-Limit"] for a in answers} == {"3"}
    # The window frees when the first request is 60 s old: 30 s after the 429.
    assert answers[3].headers["RateLimit-Reset"] == str(1_700_000_000 + 30)
    assert answers[3].headers["Retry-After"] == "30"
    assert answers[3].json()["errors"][0]["code"] == "00429"
    unauthorized = get(FakeUpstreams([company]), url, params=AE_PARAMS)
    assert unauthorized.status_code == 401
    assert unauthorized.headers["RateLimit-Remaining"] == "249"


def test_quotas_scale_change_and_switch_off() -> None:
    fake = FakeUpstreams(speedup=60)
    assert fake.quota("insee_sirene") == (30, 1.0)
    assert fake.quota("api_entreprise:json") == (250, 1.0)
    fake.set_rate(50)
    assert fake.quota("insee_sirene") == fake.quota("recherche_entreprises") == (50, 1.0)
    fake.set_rate(None)
    fake.set_quota("insee_sirene", None)
    assert fake.quota("insee_sirene") is None
    fake.set_quota("insee_sirene", 2, 10.0)
    assert fake.quota("insee_sirene") == (2, 10.0 / 60)
    assert fake.stats()["quotas"]["insee_sirene"] == {"limit": 2, "period": 10.0 / 60}


def test_stats_count_everything_and_reset_zeroes_them() -> None:
    clock = Clock()
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], clock=clock)
    for _ in range(9):
        get(fake, f"{RE}/search?q={company.siret}")
    get(fake, f"{INSEE}/siret/{company.siret}")
    stats = fake.stats()
    assert stats["requests"] == {"recherche_entreprises": 9, "insee_sirene": 1}
    assert stats["rate_limited"] == {"recherche_entreprises": 2}
    assert stats["statuses"]["recherche_entreprises"] == {"200": 7, "429": 2}
    assert stats["statuses"]["insee_sirene"] == {"401": 1}
    assert stats["max_per_second"]["recherche_entreprises"] == 9
    assert stats["total_requests"] == 10
    assert stats["companies"] == 1
    json.dumps(stats)  # JSON-ready
    fake.reset()
    assert fake.stats()["total_requests"] == 0
    assert get(fake, f"{RE}/search?q={company.siret}").status_code == 200  # window emptied


# --- faults ----------------------------------------------------------------------------------


def test_fail_answers_the_status_with_the_upstreams_error_body_then_recovers() -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], quotas=UNLIMITED)
    fake.fail("api_entreprise", status=503, times=2)
    fake.fail("insee_sirene", status=500, times=1)
    fake.fail("recherche_entreprises", status=502, times=1)
    url = f"{AE}/v4/insee/sirene/etablissements/{company.siret}"
    answers = [get(fake, url, params=AE_PARAMS, headers=AE_HEADERS) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json()["errors"][0]["code"] == "01001"
    insee = get(fake, f"{INSEE}/siret/{company.siret}", headers={
        "X-INSEE-Api-Key-Integration": "k"})
    assert insee.json() == {"header": {"statut": 500, "message": "Erreur HTTP 500"}}
    assert "erreur" in get(fake, f"{RE}/search?q={company.siret}").json()


def test_failing_forever_until_cleared_and_unknown_sources_refused() -> None:
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], quotas=UNLIMITED)
    fake.fail("recherche_entreprises", status=500, times=None, body={"erreur": "boom"})
    url = f"{RE}/search?q={company.siret}"
    assert [get(fake, url).json() for _ in range(3)] == [{"erreur": "boom"}] * 3
    fake.clear_faults()
    assert get(fake, url).status_code == 200
    with pytest.raises(ValueError, match="unknown source"):
        fake.fail("sirene")


def test_rate_limit_malformed_and_latency() -> None:
    slept: list[float] = []
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], quotas=UNLIMITED, sleep=slept.append)
    url = f"{RE}/search?q={company.siret}"
    fake.rate_limit("recherche_entreprises", retry_after=7.2)
    limited = get(fake, url)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "8")
    assert fake.rate_limited["recherche_entreprises"] == 1
    fake.malformed("recherche_entreprises")
    html = get(fake, url)
    assert html.status_code == 200
    assert html.headers["content-type"] == "text/html"
    assert html.text.startswith("<html>")
    fake.latency("recherche_entreprises", 0.25)
    assert get(fake, url).status_code == 200
    assert slept == [0.25]


def test_down_answers_503_or_refuses_connections_for_a_while() -> None:
    clock = Clock()
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], clock=clock, quotas=UNLIMITED)
    url = f"{RE}/search?q={company.siret}"
    fake.down("recherche_entreprises", 10)
    assert get(fake, url).status_code == 503
    clock.now += 9.9
    assert get(fake, url).status_code == 503
    clock.now += 0.2
    assert get(fake, url).status_code == 200
    fake.down("recherche_entreprises", 5, status=None)
    with pytest.raises(httpx.ConnectError):
        get(fake, url)


def test_latency_through_respx_is_spent_reading_the_body() -> None:
    slept: list[float] = []
    company = make_company("active", seed=1)
    fake = FakeUpstreams([company], sleep=slept.append)
    fake.latency("recherche_entreprises", 0.5)
    response = fake.side_effect(httpx.Request("GET", f"{RE}/search?q={company.siret}"))
    assert slept == []
    response.read()
    assert slept == [0.5]
    assert response.json()["results"][0]["siren"] == company.siren


# --- the fixture, with the real clients -------------------------------------------------------


def fast_client() -> dlnuf.Client:
    """A client whose retries wait at most 10 ms (a longer Retry-After is not waited)."""
    settings = Settings.from_env(max_retry_wait=0.01, cache=None)
    return dlnuf.Client(settings=settings, limiter=MemoryRateLimiter(burst=100, safety=1.0))


def test_the_fixture_fakes_the_default_client(dlnuf_fake: FakeUpstreams) -> None:
    company = dlnuf_fake.add(make_company("closed", seed=3))
    assert os.environ["DLNUF_CACHE"] == "memory"
    with dlnuf.Client() as client:
        assert type(client.cache).__name__ == "MemoryCache"
        identity = client.identity(company.siret)
        assert identity.active is False
        assert identity.closing_date == company.closed
        assert identity.provenance.source == "recherche_entreprises"
        with pytest.raises(NotFound):
            client.identity(make_siret(42))
    assert dlnuf_fake.requests["recherche_entreprises"] == 2


CREDENTIALS = {"api_entreprise_token": "t", "recipient": RECIPIENT, "context": "c",
               "object": "o", "insee_api_key": "k"}


@pytest.mark.parametrize("source", ["recherche_entreprises", "insee_sirene", "api_entreprise"])
def test_the_fixture_serves_every_source_to_both_clients(
    dlnuf_fake: FakeUpstreams, make_client: Callable[..., Any], source: str
) -> None:
    company = dlnuf_fake.add(make_company("sole_trader_nd", seed=4))
    client = make_client(sources=[source], **CREDENTIALS)
    identity = client.identity(company.siret)
    assert identity.siret == company.siret
    assert identity.legal_name is None
    assert "legal_name" in identity.withheld
    assert identity.provenance.source == source


def test_faults_reach_the_client_as_typed_errors(dlnuf_fake: FakeUpstreams) -> None:
    company = dlnuf_fake.add(make_company("active", seed=5))
    dlnuf_fake.set_quota("recherche_entreprises", None)  # these clients do not pace
    dlnuf_fake.fail("recherche_entreprises", status=503, times=2)
    with fast_client() as client:
        assert client.identity(company.siret).siret == company.siret  # retried twice
    assert dlnuf_fake.stats()["statuses"]["recherche_entreprises"] == {"200": 1, "503": 2}
    dlnuf_fake.rate_limit("recherche_entreprises", retry_after=30, times=None)
    with fast_client() as client, pytest.raises(RateLimited) as limited:
        client.identity(company.siret)  # a 429 is never "not found"
    assert limited.value.retry_after == 30
    dlnuf_fake.clear_faults()
    dlnuf_fake.malformed("recherche_entreprises")  # an HTML gateway page: transient
    with fast_client() as client, pytest.raises(UpstreamUnavailable, match="HTML page"):
        client.identity(company.siret)
    dlnuf_fake.malformed("recherche_entreprises", b"not json", content_type="text/plain")
    with fast_client() as client, pytest.raises(UnexpectedPayload):
        client.identity(company.siret)
    dlnuf_fake.down("recherche_entreprises", 60, status=None)
    with fast_client() as client, pytest.raises(UpstreamUnavailable):
        client.identity(company.siret)
    assert dlnuf_fake.requests["recherche_entreprises"] == 3 + 1 + 1 + 1 + 4


async def test_the_fixture_with_the_async_client_and_latency(dlnuf_fake: FakeUpstreams) -> None:
    company = dlnuf_fake.add(make_company("association", seed=5))
    dlnuf_fake.latency("recherche_entreprises", 0.01)
    async with dlnuf.AsyncClient(cache=None) as client:
        identity = await client.identity(company.siret)
    assert identity.rna == company.rna


def test_a_users_suite_needs_only_the_fixture(tmp_path: Path) -> None:
    """The plugin is registered by installing dlnuf, and restores everything afterwards."""
    (tmp_path / "test_user.py").write_text(textwrap.dedent('''
        import os
        import dlnuf
        import dlnuf.client
        from dlnuf.testing import make_company

        ORIGINAL_LIMITER = dlnuf.client.DEFAULT_LIMITER

        def test_lookup(dlnuf_fake):
            company = dlnuf_fake.add(make_company("sole_trader"))
            with dlnuf.Client(cache=None) as client:
                assert client.identity(company.siret).legal_name == company.legal_name

        def test_afterwards_nothing_is_left():
            assert "DLNUF_CACHE" not in os.environ
            assert dlnuf.client.DEFAULT_LIMITER is ORIGINAL_LIMITER
    '''), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DLNUF_", "PYTEST_"))}
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
