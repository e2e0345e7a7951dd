"""The INSEE Sirene 3.11 source: key handling, requests, parsing, batches.

Fixtures in ``tests/fixtures/insee_sirene`` follow the shape of the API Sirene 3.11
answers: ``{"header": {...}, "etablissement": {...}}`` for ``GET /siret/{siret}``
and ``{"header": {..., "total", "debut", "nombre"}, "etablissements": [...]}`` for
``POST /siret``, periods newest first, ``"[ND]"`` for values a person refused to
publish.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from dlnuf.config import Settings
from dlnuf.errors import (
    ConfigurationError,
    InvalidSiret,
    UnexpectedPayload,
    UnsupportedKind,
    UpstreamUnavailable,
)
from dlnuf.facts.base import Fact
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siren, Siret
from dlnuf.ratelimit import Quota
from dlnuf.sources.base import BatchSource
from dlnuf.sources.insee_sirene import InseeSirene
from identity_sources import (
    answer,
    any_json,
    assert_association,
    assert_exemple_industries_head_office,
    assert_registered,
    assert_withheld_sole_trader,
    check_outcome,
    corrupt,
    load_fixture,
    parse_identity,
)

BASE = "https://api.insee.fr/api-sirene/3.11"
KEY = "insee-key-7f3a9c21-do-not-leak"
HEAD_OFFICE = Siret("91234567500017")
SECONDARY = Siret("91234567500025")
CLOSED = Siret("91234567500033")
SOLE_TRADER = Siret("79988877100018")
ASSOCIATION = Siret("81234432300017")
DUPLICATE = Siret("90111222700011")
KEPT = Siret("91234567500041")


def load(name: str) -> dict[str, Any]:
    return load_fixture("insee_sirene", name)


@pytest.fixture
def source() -> InseeSirene:
    return InseeSirene(Settings(insee_api_key=SecretStr(KEY)))


def etab(name: str) -> dict[str, Any]:
    found: dict[str, Any] = load(name)["etablissement"]
    return found


def one(establishment: dict[str, Any]) -> dict[str, Any]:
    return {"header": {"statut": 200, "message": "OK"}, "etablissement": establishment}


# --- the source itself ----------------------------------------------------------------------


def test_is_a_batch_source_registered_under_its_name() -> None:
    loaded = assert_registered("insee_sirene", Settings(insee_api_key=SecretStr(KEY)), InseeSirene)
    assert isinstance(loaded, BatchSource)
    assert loaded.batch_size == 1000


def test_quota_is_thirty_requests_per_minute(source: InseeSirene) -> None:
    assert source.quota(Identity) == Quota("insee_sirene", 30, 60.0)


# --- request and key ------------------------------------------------------------------------


def test_request_gets_the_establishment_with_the_key_header(source: InseeSirene) -> None:
    request = source.request(Identity, HEAD_OFFICE)
    assert request.method == "GET"
    assert str(request.url) == f"{BASE}/siret/91234567500017"
    assert request.headers["X-INSEE-Api-Key-Integration"] == KEY
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers


def test_request_uses_the_configured_base_url() -> None:
    source = InseeSirene(
        Settings(insee_api_key=SecretStr(KEY), base_urls={"insee_sirene": "http://fake/sirene/"})
    )
    assert str(source.request(Identity, HEAD_OFFICE).url) == "http://fake/sirene/siret/91234567500017"


@pytest.mark.parametrize("key", [None, SecretStr(""), SecretStr("   ")])
def test_a_missing_key_says_how_to_get_one(key: SecretStr | None) -> None:
    source = InseeSirene(Settings(insee_api_key=key))
    with pytest.raises(ConfigurationError) as caught:
        source.request(Identity, HEAD_OFFICE)
    message = str(caught.value)
    assert "insee_api_key=" in message
    assert "DLNUF_INSEE_API_KEY" in message
    assert "INSEE API portal" in message
    with pytest.raises(ConfigurationError):
        source.request_many(Identity, [HEAD_OFFICE])


def test_the_key_comes_from_the_environment() -> None:
    settings_ = Settings.from_env({"DLNUF_INSEE_API_KEY": KEY})
    request = InseeSirene(settings_).request(Identity, HEAD_OFFICE)
    assert request.headers["X-INSEE-Api-Key-Integration"] == KEY


def test_the_key_never_shows_in_reprs_or_errors(source: InseeSirene) -> None:
    assert KEY not in repr(source)
    assert KEY not in str(source)
    assert KEY not in repr(vars(source))
    request = source.request(Identity, HEAD_OFFICE)
    assert KEY not in repr(request)
    assert KEY not in str(request.url)
    errors: list[Exception] = []
    for body in (b"<html>oops</html>", b"[]", b"{}", json.dumps({"etablissement": 1}).encode()):
        try:
            source.parse(Identity, HEAD_OFFICE, answer(source, HEAD_OFFICE, content=body))
        except (UnexpectedPayload, UpstreamUnavailable) as exc:
            errors.append(exc)
    try:
        source.request_many(Identity, [])
    except ValueError as exc:
        errors.append(exc)
    assert len(errors) == 5
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error)


def test_request_validates_the_siret_and_the_kind(source: InseeSirene) -> None:
    with pytest.raises(InvalidSiret):
        source.request(Identity, "91234567500018")  # type: ignore[arg-type]
    with pytest.raises(InvalidSiret, match="14-digit SIRET"):
        source.request(Identity, Siren("912345675"))

    class Other(Fact):
        pass

    with pytest.raises(UnsupportedKind):
        source.request(Other, HEAD_OFFICE)


# --- mapping --------------------------------------------------------------------------------


def test_head_office_of_an_active_company(source: InseeSirene) -> None:
    identity = parse_identity(source, HEAD_OFFICE, load("company"))
    # The trade name is the enseigne, before the dénomination usuelle.
    assert_exemple_industries_head_office(identity, HEAD_OFFICE)


def test_provenance_carries_the_last_processing_time(source: InseeSirene) -> None:
    provenance = parse_identity(source, HEAD_OFFICE, load("company")).provenance
    assert provenance.source == "insee_sirene"
    assert provenance.endpoint == "/api-sirene/3.11/siret/91234567500017"
    assert provenance.public is True
    assert provenance.updated_at is not None
    assert provenance.updated_at.replace(tzinfo=None) == datetime(2025, 2, 11, 8, 14, 52, 412000)
    assert provenance.updated_at.utcoffset() is not None


def test_closed_establishment_closed_when_its_closed_periods_began(
    source: InseeSirene,
) -> None:
    identity = parse_identity(source, CLOSED, load("closed"))
    assert identity.active is False
    assert identity.closing_date == date(2023, 4, 1)  # not 2024-01-01, a later closed period
    assert identity.legal_unit_active is True
    assert identity.is_head_office is False
    assert identity.naf_code == "46.69B"  # from the current period
    assert identity.trade_name is None  # the enseigne belonged to an earlier period
    assert identity.address.postal_lines[-2:] == ("69518 VAULX-EN-VELIN CEDEX", "FRANCE")


def test_the_current_period_is_the_one_without_an_end(source: InseeSirene) -> None:
    body = etab("company")
    body["periodesEtablissement"].reverse()  # oldest first
    assert parse_identity(source, HEAD_OFFICE, one(body)).trade_name == "EXEMPLE ATELIERS"
    del body["periodesEtablissement"][1]["dateFin"]  # masquerValeursNulles drops nulls
    assert parse_identity(source, HEAD_OFFICE, one(body)).trade_name == "EXEMPLE ATELIERS"


def test_without_a_current_period_the_newest_is_used(source: InseeSirene) -> None:
    body = etab("closed")
    body["periodesEtablissement"][0]["dateFin"] = "2024-12-31"
    identity = parse_identity(source, CLOSED, one(body))
    assert identity.naf_code == "46.69B"
    assert identity.closing_date == date(2023, 4, 1)


def test_a_closed_unit(source: InseeSirene) -> None:
    body = etab("closed")
    body["uniteLegale"]["etatAdministratifUniteLegale"] = "C"
    assert parse_identity(source, CLOSED, one(body)).legal_unit_active is False


def test_nd_sole_trader_is_withheld_not_masked(source: InseeSirene) -> None:
    identity = parse_identity(source, SOLE_TRADER, load("sole_trader_nd"))
    assert_withheld_sole_trader(identity, "[ND]")


def test_a_diffusible_sole_trader_is_named_after_the_person(source: InseeSirene) -> None:
    body = etab("sole_trader_nd")
    unit = body["uniteLegale"]
    for key, value in list(unit.items()):
        if value == "[ND]":
            unit[key] = None
    unit.update(
        statutDiffusionUniteLegale="O", prenom1UniteLegale="CAMILLE",
        prenomUsuelUniteLegale="CAMILLE", nomUniteLegale="MARTIN", nomUsageUniteLegale="DURAND",
    )
    body["statutDiffusionEtablissement"] = "O"
    assert parse_identity(source, SOLE_TRADER, one(body)).legal_name == "CAMILLE DURAND"
    unit["nomUsageUniteLegale"] = None
    identity = parse_identity(source, SOLE_TRADER, one(body))
    assert identity.legal_name == "CAMILLE MARTIN"
    assert identity.diffusion == "diffusible"


def test_a_partly_withheld_name_is_no_name(source: InseeSirene) -> None:
    body = etab("sole_trader_nd")
    body["uniteLegale"]["nomUniteLegale"] = "MARTIN"  # the first name stays [ND]
    identity = parse_identity(source, SOLE_TRADER, one(body))
    assert identity.legal_name is None
    assert "legal_name" in identity.withheld


def test_association_has_its_rna_and_ess_flag(source: InseeSirene) -> None:
    assert_association(parse_identity(source, ASSOCIATION, load("association")))


def test_trade_name_falls_back_on_the_usual_name(source: InseeSirene) -> None:
    body = etab("company")
    body["periodesEtablissement"][0]["enseigne1Etablissement"] = None
    assert parse_identity(source, HEAD_OFFICE, one(body)).trade_name == "EXEMPLE LYON"


# --- redirects ------------------------------------------------------------------------------


def test_an_answer_about_another_siret_without_a_301_is_refused(source: InseeSirene) -> None:
    """A 200 about another SIRET is a wrong answer unless INSEE redirected (a 301)."""
    with pytest.raises(UnexpectedPayload, match=f"about SIRET {KEPT} when {DUPLICATE}"):
        parse_identity(source, DUPLICATE, load("redirect"))


def test_an_answer_after_a_301_records_the_one_asked(source: InseeSirene) -> None:
    request = source.request(Identity, DUPLICATE)
    hop = httpx.Response(301, headers={"Location": f"{BASE}/siret/{KEPT}"}, request=request)
    response = httpx.Response(200, json=load("redirect"), request=request, history=[hop])
    identity = source.parse(Identity, DUPLICATE, response)
    assert isinstance(identity, Identity)
    assert identity.siret == KEPT
    assert identity.redirected_from == DUPLICATE


@respx.mock
def test_a_followed_301_records_the_siret_asked(source: InseeSirene) -> None:
    respx.get(f"{BASE}/siret/{DUPLICATE}").mock(
        return_value=httpx.Response(301, headers={"Location": f"{BASE}/siret/{KEPT}"})
    )
    kept = respx.get(f"{BASE}/siret/{KEPT}").mock(
        return_value=httpx.Response(200, json=load("redirect"))
    )
    with httpx.Client(follow_redirects=True) as client:
        response = client.send(source.request(Identity, DUPLICATE))
    assert kept.called
    assert kept.calls.last.request.headers["X-INSEE-Api-Key-Integration"] == KEY
    assert response.history
    identity = source.parse(Identity, DUPLICATE, response)
    assert isinstance(identity, Identity)
    assert (identity.siret, identity.redirected_from) == (KEPT, DUPLICATE)


def test_a_redirect_back_to_the_siret_asked_is_no_redirect(source: InseeSirene) -> None:
    request = source.request(Identity, HEAD_OFFICE)
    response = httpx.Response(
        200, json=load("company"), request=request,
        history=[httpx.Response(301, request=request)],
    )
    fact = source.parse(Identity, HEAD_OFFICE, response)
    assert isinstance(fact, Identity)
    assert fact.redirected_from is None


def test_a_one_element_list_is_read_like_the_object(source: InseeSirene) -> None:
    body = {"header": {"statut": 200, "message": "OK"}, "etablissements": [etab("company")]}
    assert parse_identity(source, HEAD_OFFICE, body).legal_name == "EXEMPLE INDUSTRIES"


# --- malformed payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"null", "application/json"),
    ],
)
def test_a_body_without_a_json_object_is_unexpected(
    source: InseeSirene, content: bytes, content_type: str
) -> None:
    with pytest.raises(UnexpectedPayload) as caught:
        source.parse(
            Identity, HEAD_OFFICE,
            answer(source, HEAD_OFFICE, content=content, headers={"content-type": content_type}),
        )
    assert caught.value.source == "insee_sirene"


@pytest.mark.parametrize(
    "body",
    [
        {"header": {"statut": 200, "message": "OK"}},
        {"etablissement": "91234567500017"},
        {"etablissement": None, "etablissements": [{}, {}]},
        {"etablissement": {"siren": "912345675"}},
        {"etablissement": {"siret": "91234567500018"}},
        {"etablissement": {"siret": 91234567500017}},
    ],
)
def test_an_answer_without_a_readable_establishment_is_unexpected(
    source: InseeSirene, body: dict[str, Any]
) -> None:
    with pytest.raises(UnexpectedPayload, match="insee_sirene"):
        parse_identity(source, HEAD_OFFICE, body)


def test_wrong_types_and_absurd_dates_become_unknown(source: InseeSirene) -> None:
    body = etab("company")
    body.update(
        dateCreationEtablissement="1066-10-14", dateDernierTraitementEtablissement=1712345678,
        etablissementSiege="peut-être", adresseEtablissement=["22 RUE DES ARTISANS"],
        periodesEtablissement={"dateFin": None},
    )
    body["uniteLegale"].update(
        dateCreationUniteLegale="2012-02-30", nicSiegeUniteLegale="17",
        categorieEntreprise=None, economieSocialeSolidaireUniteLegale=None,
    )
    identity = parse_identity(source, HEAD_OFFICE, one(body))
    assert identity.establishment_creation_date is None
    assert identity.creation_date is None
    assert identity.provenance.updated_at is None
    assert identity.is_head_office is False
    assert identity.head_office_siret is None  # "17" is not a NIC of 5 digits
    assert identity.company_category is None
    assert identity.ess is None
    assert identity.naf_code is None
    assert identity.active is True  # unknown state: not claimed closed
    assert identity.address.street is None
    assert identity.address.postal_lines == ()


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("denominationUniteLegale", 12345, "legal_name"),
        ("categorieEntreprise", {"code": "PME"}, "company_category"),
        ("nicSiegeUniteLegale", 17, "head_office_siret"),
    ],
)
def test_a_wrongly_typed_text_field_is_unexpected_and_named(
    source: InseeSirene, key: str, value: Any, field: str
) -> None:
    """Schema drift (a number where a name is expected) never becomes a value."""
    body = etab("company")
    body["uniteLegale"][key] = value
    with pytest.raises(UnexpectedPayload, match=f"{field} is a JSON"):
        parse_identity(source, HEAD_OFFICE, one(body))


# --- batches --------------------------------------------------------------------------------


def test_request_many_posts_one_form_query(source: InseeSirene) -> None:
    wanted = [HEAD_OFFICE, SECONDARY, Siret("91234567500116"), HEAD_OFFICE]
    request = source.request_many(Identity, wanted)
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/siret"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["X-INSEE-Api-Key-Integration"] == KEY
    form = parse_qs(request.content.decode())
    assert form == {
        "q": ["siret:91234567500017 OR siret:91234567500025 OR siret:91234567500116"],
        "nombre": ["3"],
    }


def test_request_many_refuses_more_than_a_batch(source: InseeSirene) -> None:
    sirets = [Siret(s) for s in _valid_sirets("912345675", 1001)]
    assert len(source.request_many(Identity, sirets[:1000]).content) > 0
    with pytest.raises(ValueError, match="at most 1000"):
        source.request_many(Identity, sirets)
    with pytest.raises(ValueError, match="at least one"):
        source.request_many(Identity, [])
    with pytest.raises(InvalidSiret):
        source.request_many(Identity, [Siren("912345675")])  # type: ignore[list-item]


def _valid_sirets(siren: str, count: int) -> list[str]:
    from dlnuf.identifiers import luhn_valid

    found: list[str] = []
    nic = 0
    while len(found) < count:
        nic += 1
        candidate = f"{siren}{nic:05d}"
        if luhn_valid(candidate):
            found.append(candidate)
    return found


def test_parse_many_maps_what_came_back(source: InseeSirene) -> None:
    unknown = Siret("91234567500116")
    asked = [HEAD_OFFICE, SECONDARY, unknown]
    response = httpx.Response(
        200, json=load("batch"), request=source.request_many(Identity, asked)
    )
    facts = source.parse_many(Identity, asked, response)
    assert set(facts) == {HEAD_OFFICE, SECONDARY}
    assert all(isinstance(k, Siret) for k in facts)
    head, secondary = facts[HEAD_OFFICE], facts[SECONDARY]
    assert isinstance(head, Identity)
    assert isinstance(secondary, Identity)
    assert head.legal_name == secondary.legal_name == "EXEMPLE INDUSTRIES"
    assert secondary.naf_code == "46.69B"
    assert secondary.address.street == "4 AV DE LA GARE"
    assert secondary.provenance.endpoint == "/api-sirene/3.11/siret"


def test_parse_many_leaves_out_unasked_and_unreadable_entries(source: InseeSirene) -> None:
    body = load("batch")
    body["etablissements"].append({"siret": "91234567500033", "broken": True})
    body["etablissements"].append("not an establishment")
    asked = [HEAD_OFFICE]
    response = httpx.Response(200, json=body, request=source.request_many(Identity, asked))
    assert set(source.parse_many(Identity, asked, response)) == {HEAD_OFFICE}


@pytest.mark.parametrize("body", [{"header": {"statut": 200}}, {"etablissements": {}}, []])
def test_parse_many_without_a_list_is_unexpected(source: InseeSirene, body: Any) -> None:
    response = httpx.Response(200, json=body, request=source.request_many(Identity, [HEAD_OFFICE]))
    with pytest.raises(UnexpectedPayload):
        source.parse_many(Identity, [HEAD_OFFICE], response)


# --- anything at all ------------------------------------------------------------------------

_JSON = any_json(
    [
        "etablissement", "etablissements", "siret", "siren", "uniteLegale",
        "periodesEtablissement", "adresseEtablissement", "dateFin", "dateDebut",
        "etatAdministratifEtablissement", "denominationUniteLegale", "nomUniteLegale",
        "nicSiegeUniteLegale", "statutDiffusionEtablissement",
    ],
    [
        "[ND]", "A", "F", "C", "O", "P", "N", "00017", str(HEAD_OFFICE), "912345675",
        "2024-02-30", "1789-07-14", "2024-01-01T25:61:00", "",
    ],
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_JSON)
def test_any_json_gives_a_fact_or_a_typed_error(source: InseeSirene, body: Any) -> None:
    check_outcome(source, HEAD_OFFICE, body, "[ND]")


_FIXTURES = {
    "company": HEAD_OFFICE, "closed": CLOSED, "sole_trader_nd": SOLE_TRADER,
    "redirect": DUPLICATE, "association": ASSOCIATION,
}


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(_FIXTURES)), data=st.data())
def test_any_corruption_of_a_real_shape_gives_a_fact_or_a_typed_error(
    source: InseeSirene, name: str, data: st.DataObject
) -> None:
    check_outcome(source, _FIXTURES[name], corrupt(load(name), data, _JSON), "[ND]")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_corruption_of_a_batch_gives_facts_or_a_typed_error(
    source: InseeSirene, data: st.DataObject
) -> None:
    asked = [HEAD_OFFICE, SECONDARY]
    body = corrupt(load("batch"), data, _JSON)
    response = httpx.Response(200, json=body, request=source.request_many(Identity, asked))
    try:
        facts = source.parse_many(Identity, asked, response)
    except UnexpectedPayload:
        return
    assert set(facts) <= set(asked)
    assert all(isinstance(f, Identity) for f in facts.values())
