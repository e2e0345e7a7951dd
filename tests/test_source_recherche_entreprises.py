"""The Recherche d'entreprises source: the request it builds and what it reads back.

Fixtures in ``tests/fixtures/recherche_entreprises`` follow the shape the API
serves for ``/search?q=<siret>&minimal=true&include=siege,matching_etablissements,
complements`` (search-api response model, with the structured address fields left
out of ``matching_etablissements`` and ``"[NON-DIFFUSIBLE]"`` masks).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlnuf.config import Settings
from dlnuf.errors import (
    InvalidSiret,
    NotFound,
    UnexpectedPayload,
    UnsupportedKind,
)
from dlnuf.facts.base import Fact
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siren, Siret
from dlnuf.ratelimit import Quota
from dlnuf.sources.recherche_entreprises import RechercheEntreprises
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

HEAD_OFFICE = Siret("91234567500017")
SECONDARY = Siret("91234567500025")
CLOSED = Siret("88877766100016")
SOLE_TRADER = Siret("79988877100018")
ASSOCIATION = Siret("81234432300017")
MARKER = "[NON-DIFFUSIBLE]"


def load(name: str) -> dict[str, Any]:
    return load_fixture("recherche_entreprises", name)


@pytest.fixture
def source() -> RechercheEntreprises:
    return RechercheEntreprises(Settings())


# --- the source itself ----------------------------------------------------------------------


def test_is_a_source_registered_under_its_name() -> None:
    assert_registered("recherche_entreprises", Settings(), RechercheEntreprises)


def test_quota_is_seven_requests_per_second(source: RechercheEntreprises) -> None:
    assert source.quota(Identity) == Quota("recherche_entreprises", 7, 1.0)


# --- request --------------------------------------------------------------------------------


def test_request_is_a_direct_search_by_siret(source: RechercheEntreprises) -> None:
    request = source.request(Identity, HEAD_OFFICE)
    assert request.method == "GET"
    assert request.url.host == "recherche-entreprises.api.gouv.fr"
    assert request.url.path == "/search"
    params = request.url.params
    assert params["q"] == "91234567500017"
    assert params["limite_matching_etablissements"] == "1"
    assert params["minimal"] == "true"
    assert set(params["include"].split(",")) == {"siege", "matching_etablissements", "complements"}
    assert "authorization" not in request.headers
    assert request.headers["user-agent"] == Settings().user_agent


def test_request_uses_the_configured_base_url() -> None:
    source = RechercheEntreprises(
        Settings(base_urls={"recherche_entreprises": "http://127.0.0.1:8080/fake/"})
    )
    assert str(source.request(Identity, HEAD_OFFICE).url).startswith(
        "http://127.0.0.1:8080/fake/search?q=91234567500017"
    )


def test_request_validates_the_siret_before_building_anything(
    source: RechercheEntreprises,
) -> None:
    with pytest.raises(InvalidSiret):
        source.request(Identity, "91234567500018")  # type: ignore[arg-type]
    with pytest.raises(InvalidSiret, match="14-digit SIRET"):
        source.request(Identity, Siren("912345675"))


def test_request_refuses_a_kind_it_does_not_provide(source: RechercheEntreprises) -> None:
    class Other(Fact):
        pass

    with pytest.raises(UnsupportedKind, match="Identity only"):
        source.request(Other, HEAD_OFFICE)


@respx.mock
def test_request_reaches_the_search_route_and_its_answer_parses(
    source: RechercheEntreprises,
) -> None:
    route = respx.get(
        "https://recherche-entreprises.api.gouv.fr/search",
        params={"q": "91234567500017", "minimal": "true"},
    ).mock(return_value=httpx.Response(200, json=load("head_office")))
    with httpx.Client() as client:
        response = client.send(source.request(Identity, HEAD_OFFICE))
    assert route.called
    identity = source.parse(Identity, HEAD_OFFICE, response)
    assert isinstance(identity, Identity)
    assert identity.legal_name == "EXEMPLE INDUSTRIES"


# --- mapping --------------------------------------------------------------------------------


def test_head_office_of_an_active_company(source: RechercheEntreprises) -> None:
    identity = parse_identity(source, HEAD_OFFICE, load("head_office"))
    assert_exemple_industries_head_office(identity, HEAD_OFFICE)
    assert identity.naf_label is None
    assert identity.address.cedex_code is None
    assert identity.address.country_code is None


def test_provenance_is_public_with_the_upstream_update_time(
    source: RechercheEntreprises,
) -> None:
    provenance = parse_identity(source, HEAD_OFFICE, load("head_office")).provenance
    assert provenance.source == "recherche_entreprises"
    assert provenance.endpoint == "/search"
    assert provenance.public is True
    assert provenance.updated_at is not None
    assert provenance.updated_at.replace(tzinfo=None) == datetime(2025, 2, 11, 8, 14, 52)
    assert provenance.updated_at.utcoffset() is not None


def test_secondary_establishment_reads_the_composed_address(
    source: RechercheEntreprises,
) -> None:
    identity = parse_identity(source, SECONDARY, load("secondary"))
    assert identity.siret == SECONDARY
    assert identity.is_head_office is False
    assert identity.head_office_siret == HEAD_OFFICE
    assert identity.naf_code == "46.69B"  # the establishment's, not the unit's 28.29B
    assert identity.headcount_bracket == "03"
    assert identity.establishment_creation_date == date(2018, 9, 15)
    assert identity.trade_name is None
    assert identity.address.street_name == "4 AVENUE DE LA GARE"
    assert identity.address.number is None
    assert (identity.address.postal_code, identity.address.city) == ("38000", "GRENOBLE")
    assert identity.address.city_code == "38185"
    assert identity.address.one_line == "4 AVENUE DE LA GARE, 38000 GRENOBLE"


def test_closed_establishment_of_a_ceased_company_is_a_fact(
    source: RechercheEntreprises,
) -> None:
    identity = parse_identity(source, CLOSED, load("closed"))
    assert identity.active is False
    assert identity.closing_date == date(2023, 6, 30)
    assert identity.legal_unit_active is False
    assert identity.legal_name == "ANCIENNE MENUISERIE DU PORT"


def test_closing_date_is_ignored_on_an_open_establishment(
    source: RechercheEntreprises,
) -> None:
    body = load("head_office")
    body["results"][0]["siege"]["date_fermeture"] = "2019-05-31"  # closed once, reopened
    assert parse_identity(source, HEAD_OFFICE, body).closing_date is None


def test_partially_diffusible_sole_trader_is_withheld_not_masked(
    source: RechercheEntreprises,
) -> None:
    identity = parse_identity(source, SOLE_TRADER, load("sole_trader_partially_diffusible"))
    assert_withheld_sole_trader(identity, MARKER)
    assert identity.legal_form_code == "1000"
    assert identity.address.postal_code is None
    assert identity.is_withheld("address.postal_code")
    assert identity.provenance.public is True  # a public endpoint: masked values are absent


def test_association_has_its_rna_and_ess_flag(source: RechercheEntreprises) -> None:
    identity = parse_identity(source, ASSOCIATION, load("association"))
    assert_association(identity)
    assert identity.sigle == "AAJP"
    assert identity.address.special_distribution == "BP 45"


def test_legal_name_falls_back_on_nom_complet_without_its_suffixes(
    source: RechercheEntreprises,
) -> None:
    body = load("head_office")
    unit = body["results"][0]
    unit["nom_raison_sociale"] = None
    unit["nom_complet"] = "JEAN DUPONT (EXEMPLE LYON) (EXI)"
    assert parse_identity(source, HEAD_OFFICE, body).legal_name == "JEAN DUPONT"


def test_trade_name_falls_back_on_the_usual_name(source: RechercheEntreprises) -> None:
    body = load("head_office")
    body["results"][0]["siege"]["liste_enseignes"] = None
    assert parse_identity(source, HEAD_OFFICE, body).trade_name == "EXEMPLE LYON"


def test_head_office_is_found_in_siege_when_matching_is_empty(
    source: RechercheEntreprises,
) -> None:
    body = load("head_office")
    body["results"][0]["matching_etablissements"] = []
    identity = parse_identity(source, HEAD_OFFICE, body)
    assert identity.siret == HEAD_OFFICE
    assert identity.address.street_name == "DES ARTISANS"


def test_address_abroad_and_cedex(source: RechercheEntreprises) -> None:
    body = load("head_office")
    siege = body["results"][0]["siege"]
    siege.update(cedex="69361", libelle_cedex="LYON CEDEX 07")
    assert parse_identity(source, HEAD_OFFICE, body).address.postal_lines[-2:] == (
        "69361 LYON CEDEX 07", "FRANCE",
    )
    siege.update(
        cedex=None, libelle_cedex=None, code_postal=None, commune=None, libelle_commune=None,
        libelle_commune_etranger="GENEVE", libelle_pays_etranger="SUISSE",
        code_pays_etranger="99140",
    )
    address = parse_identity(source, HEAD_OFFICE, body).address
    assert (address.city, address.country, address.country_code) == ("GENEVE", "SUISSE", "99140")
    assert address.postal_lines[-2:] == ("GENEVE", "SUISSE")


# --- not found ------------------------------------------------------------------------------


def test_no_result_is_not_found(source: RechercheEntreprises) -> None:
    with pytest.raises(NotFound) as caught:
        parse_identity(source, HEAD_OFFICE, load("not_found"))
    assert caught.value.source == "recherche_entreprises"
    assert "91234567500017" in str(caught.value)


def test_a_result_about_another_company_is_not_found(source: RechercheEntreprises) -> None:
    with pytest.raises(NotFound, match="912345675"):
        parse_identity(source, ASSOCIATION, load("head_office"))


def test_a_known_unit_without_this_establishment_is_not_found(
    source: RechercheEntreprises,
) -> None:
    other = Siret("91234567500033")
    with pytest.raises(NotFound, match="91234567500033"):
        parse_identity(source, other, load("secondary"))


# --- malformed payloads ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"", "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b"[1, 2, 3]", "application/json"),
        (b'"results"', "application/json"),
    ],
)
def test_a_body_without_a_json_object_is_unexpected(
    source: RechercheEntreprises, content: bytes, content_type: str
) -> None:
    response = answer(
        source, HEAD_OFFICE, content=content, headers={"content-type": content_type}
    )
    with pytest.raises(UnexpectedPayload) as caught:
        source.parse(Identity, HEAD_OFFICE, response)
    assert caught.value.source == "recherche_entreprises"


@pytest.mark.parametrize(
    "body",
    [
        {"erreur": "Veuillez indiquer au moins un paramètre de recherche."},
        {"results": None},
        {"results": {"siren": "912345675"}},
        {"results": [42]},
        {"results": ["912345675"]},
    ],
)
def test_a_body_without_usable_results_is_unexpected(
    source: RechercheEntreprises, body: dict[str, Any]
) -> None:
    with pytest.raises(UnexpectedPayload, match="recherche_entreprises"):
        parse_identity(source, HEAD_OFFICE, body)


def test_wrong_types_and_absurd_dates_become_unknown(source: RechercheEntreprises) -> None:
    body = load("head_office")
    unit = body["results"][0]
    unit.update(
        date_creation="0001-01-01", date_mise_a_jour="not a date",
        date_mise_a_jour_insee="2024-02-30T10:00:00", sigle="42",
        categorie_entreprise=None, complements="yes", nature_juridique=None,
    )
    unit["siege"].update(
        date_creation="9999-12-31", liste_enseignes="EXEMPLE", est_siege="maybe",
        tranche_effectif_salarie=None, numero_voie="22", activite_principale=None,
    )
    identity = parse_identity(source, HEAD_OFFICE, body)
    assert identity.creation_date is None
    assert identity.establishment_creation_date is None
    assert identity.provenance.updated_at is None
    assert identity.sigle == "42"
    assert identity.company_category is None
    assert identity.ess is None
    assert identity.legal_form_code is None
    assert identity.naf_code is None
    assert identity.is_head_office is True  # siege.siret is the SIRET asked
    assert identity.address.number == "22"
    assert identity.trade_name == "EXEMPLE LYON"


@pytest.mark.parametrize(
    ("where", "key", "value", "field"),
    [
        ("unit", "nom_raison_sociale", 12345, "legal_name"),
        ("unit", "sigle", 42, "sigle"),
        ("unit", "categorie_entreprise", ["PME"], "company_category"),
        ("unit", "nature_juridique", {"code": "5710"}, "legal_form_code"),
        ("siege", "numero_voie", 22, "address.number"),
    ],
)
def test_a_wrongly_typed_text_field_is_unexpected_and_named(
    source: RechercheEntreprises, where: str, key: str, value: Any, field: str
) -> None:
    """Schema drift (a number where a name is expected) never becomes a value."""
    body = load("head_office")
    unit = body["results"][0]
    (unit if where == "unit" else unit["siege"])[key] = value
    with pytest.raises(UnexpectedPayload, match=f"{field} is a JSON"):
        parse_identity(source, HEAD_OFFICE, body)


@pytest.mark.parametrize("drop", ["siren", "siret"])
def test_a_result_missing_its_identifiers_is_unexpected_not_unknown(
    source: RechercheEntreprises, drop: str
) -> None:
    """A 200 with missing fields is a payload dlnuf cannot read, never a NotFound."""
    body = load("head_office")
    unit = body["results"][0]
    if drop == "siren":
        del unit["siren"]
    else:
        unit["siege"].pop("siret", None)
        for est in unit.get("matching_etablissements") or []:
            est.pop("siret", None)
    with pytest.raises(UnexpectedPayload):
        parse_identity(source, HEAD_OFFICE, body)


def test_head_office_flag_without_a_readable_siege(source: RechercheEntreprises) -> None:
    body = load("secondary")
    body["results"][0]["siege"] = None
    identity = parse_identity(source, SECONDARY, body)
    assert identity.is_head_office is False
    assert identity.head_office_siret is None


def test_results_with_a_broken_establishment_list_are_not_found(
    source: RechercheEntreprises,
) -> None:
    body = load("secondary")
    body["results"][0]["matching_etablissements"] = "91234567500025"
    with pytest.raises(NotFound):
        parse_identity(source, SECONDARY, body)


# --- anything at all ------------------------------------------------------------------------

_JSON = any_json(
    [
        "results", "siren", "siege", "siret", "matching_etablissements", "nom_complet",
        "nom_raison_sociale", "etat_administratif", "date_creation", "liste_enseignes",
        "complements", "adresse", "code_postal", "libelle_commune", "statut_diffusion",
    ],
    [
        MARKER, "[ND]", "A", "F", "C", "O", "P", "912345675", str(HEAD_OFFICE),
        "2024-02-30", "1789-07-14", "2024-01-01T25:61:00", "",
    ],
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_JSON)
def test_any_json_gives_a_fact_or_a_typed_error(
    source: RechercheEntreprises, body: Any
) -> None:
    check_outcome(source, HEAD_OFFICE, body, MARKER)


_FIXTURES = {
    "head_office": HEAD_OFFICE, "secondary": SECONDARY, "closed": CLOSED,
    "sole_trader_partially_diffusible": SOLE_TRADER, "association": ASSOCIATION,
}


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(_FIXTURES)), data=st.data())
def test_any_corruption_of_a_real_shape_gives_a_fact_or_a_typed_error(
    source: RechercheEntreprises, name: str, data: st.DataObject
) -> None:
    check_outcome(source, _FIXTURES[name], corrupt(load(name), data, _JSON), MARKER)


@pytest.mark.parametrize(
    "base", ["https://recherche-entreprises.api.gouv.fr", "http://127.0.0.1:8089/re"]
)
def test_request_query_is_what_httpx_would_encode(base: str) -> None:
    source = RechercheEntreprises(Settings(base_urls={"recherche_entreprises": base}))
    request = source.request(Identity, Siret("55204944776279"))
    expected = httpx.Request(
        "GET",
        base + "/search",
        params={
            "q": "55204944776279",
            "limite_matching_etablissements": "1",
            "minimal": "true",
            "include": "siege,matching_etablissements,complements",
        },
    )
    assert request.url == expected.url
