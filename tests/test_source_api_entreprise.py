"""The API Entreprise source: request building, client-side validation, parsing."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import date
from typing import Any

import httpx
import pytest

from contracts import API_ENTREPRISE, load_cases
from dlnuf.config import Settings
from dlnuf.errors import ConfigurationError, InvalidSiret, UnexpectedPayload, UnsupportedKind
from dlnuf.facts.base import Fact
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siren, Siret
from dlnuf.ratelimit import Quota
from dlnuf.sources import api_entreprise
from dlnuf.sources.api_entreprise import ApiEntreprise
from dlnuf.sources.base import GuardedSource, Source

TOKEN = "eyJhbGciOiJIUzI1NiJ9.secret-token-value"
DINUM = "13002526500013"
SNCF = Siret("55204944776279")
CASES = {
    c.name: c for c in load_cases(API_ENTREPRISE / "api_entreprise_v4_insee_etablissements")
}


def settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {
        "api_entreprise_token": TOKEN,
        "recipient": DINUM,
        "context": "Marché public",
        "object": "consultation 2024-17",
        "authenticated": True,
    }
    values.update(changes)
    return Settings(**values)


def source(**changes: Any) -> ApiEntreprise:
    return ApiEntreprise(settings(**changes))


def payload(name: str = "personne_morale") -> dict[str, Any]:
    return copy.deepcopy(CASES[name].payload)


def parse(body: Any, *, ident: Siret = SNCF, authenticated: bool = True) -> Identity:
    src = source(authenticated=authenticated)
    request = src.request(Identity, ident)
    if isinstance(body, (dict, list)):
        response = httpx.Response(200, json=body, request=request)
    else:
        response = httpx.Response(200, content=body, request=request)
    fact = src.parse(Identity, ident, response)
    assert isinstance(fact, Identity)
    return fact


# --- The source ---------------------------------------------------------------------------


def test_it_is_a_source_providing_every_kind_of_its_table() -> None:
    src = source()
    assert isinstance(src, Source)
    assert isinstance(src, GuardedSource)
    assert src.name == "api_entreprise"
    assert src.provides == frozenset(api_entreprise.ENDPOINTS)
    assert Identity in src.provides
    assert src.quota(Identity) == Quota("api_entreprise:json", 250, 60)
    assert src.base_url == "https://entreprise.api.gouv.fr"
    assert src.mount is None


def test_scope_follows_authenticated() -> None:
    assert source(authenticated=True).scope == "protected"
    assert source(authenticated=False).scope == "public"


def test_base_url_can_be_overridden() -> None:
    src = source(base_urls={"api_entreprise": "https://staging.entreprise.api.gouv.fr/"})
    request = src.request(Identity, SNCF)
    assert str(request.url).startswith(
        "https://staging.entreprise.api.gouv.fr/v4/insee/sirene/etablissements/55204944776279?"
    )


def test_an_unsupported_kind_is_refused() -> None:
    class Other(Fact):
        pass

    with pytest.raises(UnsupportedKind, match="Identity"):
        source().request(Other, SNCF)


# --- Requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authenticated", "path"),
    [
        (True, "/v4/insee/sirene/etablissements/55204944776279"),
        (False, "/v4/insee/sirene/etablissements/diffusibles/55204944776279"),
    ],
)
def test_request_path_depends_on_the_scope(authenticated: bool, path: str) -> None:
    request = source(authenticated=authenticated).request(Identity, SNCF)
    assert request.method == "GET"
    assert request.url.host == "entreprise.api.gouv.fr"
    assert request.url.path == path


def test_request_carries_the_three_parameters_and_the_bearer_token() -> None:
    request = source().request(Identity, SNCF)
    assert dict(request.url.params) == {
        "recipient": DINUM,
        "context": "Marché public",
        "object": "consultation 2024-17",
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "base_url",
    ["https://entreprise.api.gouv.fr", "https://proxy.example/ae?stale=1#frag"],
)
def test_the_query_string_is_the_one_httpx_encodes(base_url: str) -> None:
    src = source(
        context="Marché public & co #2", object=" 50% + a/b é ", recipient=f" {DINUM} ",
        base_urls={"api_entreprise": base_url},
    )
    path = "/v4/insee/sirene/etablissements/55204944776279"
    params = {"recipient": DINUM, "context": "Marché public & co #2", "object": "50% + a/b é"}
    expected = httpx.Request("GET", src.base_url + path, params=params)
    for _ in range(2):  # built once, then reused
        request = src.request(Identity, SNCF)
        assert str(request.url) == str(expected.url)
        assert request.url.raw_path == expected.url.raw_path
        assert dict(request.url.params) == params


def test_the_token_never_shows_in_reprs_or_the_url() -> None:
    src = source()
    request = src.request(Identity, SNCF)
    for text in (repr(src), str(src), repr(request), repr(request.url), str(request.url),
                 repr(request.headers)):
        assert TOKEN not in text
        assert "secret-token" not in text


def test_request_is_a_pure_function_of_its_inputs() -> None:
    first = source().request(Identity, SNCF)
    second = source().request(Identity, Siret("552 049 447 76279"))
    assert (first.method, first.url, first.headers.raw) == (
        second.method,
        second.url,
        second.headers.raw,
    )


def test_a_siren_is_refused_for_an_establishment_kind() -> None:
    with pytest.raises(InvalidSiret, match="SIRET"):
        source().request(Identity, Siren("552049447"))


def test_an_invalid_siret_string_is_refused_before_anything_is_built() -> None:
    with pytest.raises(InvalidSiret) as excinfo:
        source().request(Identity, "55204944776278")  # type: ignore[arg-type]
    assert excinfo.value.reason == "checksum"


# --- Client-side validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"api_entreprise_token": None}, "DLNUF_API_ENTREPRISE_TOKEN"),
        ({"api_entreprise_token": "   "}, "api_entreprise_token="),
        ({"recipient": None}, "DLNUF_RECIPIENT"),
        ({"recipient": ""}, "recipient="),
        ({"recipient": "13002526500012"}, "00210"),  # checksum
        ({"recipient": "130025265"}, "00210"),  # a SIREN is not a SIRET
        ({"recipient": "55204944776279"}, "00211"),  # the company itself
        ({"recipient": "55204944700014"}, "00211"),  # another establishment, same SIREN
        ({"context": None}, "DLNUF_CONTEXT"),
        ({"context": "  "}, "context="),
        ({"object": None}, "DLNUF_OBJECT"),
        ({"object": "x" * 50}, "fewer than 50"),
        ({"object": "x" * 80}, "DLNUF_OBJECT"),
    ],
)
def test_misconfiguration_is_refused_before_sending(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says) as excinfo:
        source(**changes).request(Identity, SNCF)
    assert TOKEN not in str(excinfo.value)


def test_the_same_siren_rule_uses_the_company_looked_up() -> None:
    assert Siret.is_valid("55204944700014")
    # DINUM looking up SNCF is fine; SNCF looking up SNCF is not.
    assert source(recipient=DINUM).request(Identity, SNCF)
    with pytest.raises(ConfigurationError):
        source(recipient="55204944700014").request(Identity, SNCF)


def test_an_object_of_49_characters_is_accepted() -> None:
    request = source(object="x" * 49).request(Identity, SNCF)
    assert request.url.params["object"] == "x" * 49


# --- Parsing ------------------------------------------------------------------------------


def mask_like_diffusibles(body: dict[str, Any]) -> dict[str, Any]:
    """What the ``diffusibles`` endpoint answers for a partially diffusible unit."""
    masked = copy.deepcopy(body)
    data = masked["data"]
    unit = data["unite_legale"]
    for holder in (data, unit, data["adresse"]):
        holder["status_diffusion"] = "partiellement_diffusible"
    data["enseigne"] = "[ND]"
    unit["personne_morale_attributs"]["sigle"] = "[ND]"
    for key in unit["personne_physique_attributs"]:
        unit["personne_physique_attributs"][key] = "[ND]"
    for key in ("numero_voie", "indice_repetition_voie", "type_voie", "libelle_voie",
                "complement_adresse", "code_postal", "distribution_speciale", "code_cedex",
                "libelle_cedex"):
        data["adresse"][key] = "[ND]"
    for line in ("l1", "l2", "l3", "l4", "l5", "l6"):
        data["adresse"]["acheminement_postal"][line] = "[ND]"
    return masked


def test_withheld_values_become_none_and_are_listed() -> None:
    body = mask_like_diffusibles(payload("personne_physique_diffusible"))
    siret = Siret("47846480300319")
    identity = parse(body, ident=siret, authenticated=False)

    assert identity.legal_name is None
    assert identity.trade_name is None
    assert identity.sigle is None
    assert identity.address.number is None
    assert identity.address.street_name is None
    assert identity.address.postal_code is None
    assert identity.address.postal_lines == ()
    assert identity.address.city == "MEDILLAC"
    assert identity.address.one_line == "MEDILLAC"
    assert identity.withheld == {
        "legal_name",
        "trade_name",
        "sigle",
        "address.number",
        "address.repetition",
        "address.street_type",
        "address.street_name",
        "address.complement",
        "address.postal_code",
        "address.special_distribution",
        "address.cedex_code",
        "address.cedex_label",
        "address.postal_lines",
    }
    assert identity.is_withheld("address.street_name")
    assert "[ND]" not in json.dumps(identity.model_dump(mode="json"))
    assert identity.diffusion == "partiellement_diffusible"
    assert identity.is_sole_trader is True
    assert identity.naf_code == "74.10Z"
    assert identity.provenance.public is True  # from the public endpoint


def test_protected_values_of_a_partially_diffusible_unit_are_not_public() -> None:
    body = payload("personne_physique_diffusible")
    for holder in (body["data"], body["data"]["unite_legale"]):
        holder["status_diffusion"] = "partiellement_diffusible"
    identity = parse(body, ident=Siret("47846480300319"), authenticated=True)

    assert identity.legal_name == "MAXIME DUPONT"
    assert identity.address.street == "346 ALLÉE DE LA PLAGE"
    assert identity.withheld == frozenset()
    assert identity.diffusion == "partiellement_diffusible"
    assert identity.provenance.public is False


def test_non_diffusible_marker_variants_are_withheld_too() -> None:
    body = payload()
    body["data"]["enseigne"] = "[NON-DIFFUSIBLE]"
    identity = parse(body)
    assert identity.trade_name is None
    assert identity.withheld == {"trade_name"}


@pytest.mark.parametrize("junk", [-1e15, 1e15, "x", [], {"a": 1}, True])
def test_absurd_timestamps_are_unknown(junk: Any) -> None:
    body = payload()
    data = body["data"]
    data["date_creation"] = junk
    data["unite_legale"]["date_creation"] = junk
    data["etat_administratif"] = "F"
    data["date_fermeture"] = junk
    body["meta"]["date_derniere_mise_a_jour"] = junk
    identity = parse(body)

    assert identity.creation_date is None
    assert identity.establishment_creation_date is None
    assert identity.closing_date is None
    assert identity.active is False
    assert identity.provenance.updated_at is None
    assert identity.legal_name == "SOCIETE NATIONALE SNCF"


def test_a_naf_code_without_dot_is_normalised() -> None:
    body = payload()
    body["data"]["activite_principale_naf_rev2"]["code"] = "4910z"
    assert parse(body).naf_code == "49.10Z"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        [1, 2],
        {"links": {}, "meta": {}},
        {"data": []},
        {"data": {"siege_social": True}},
        {"data": {"siret": None}},
        {"data": {"siret": 55204944776279}},
        {"data": {"siret": "55204944776278"}},
        {"data": {"siret": "[ND]"}},
    ],
    ids=["empty", "list", "no-data", "data-list", "no-siret", "null-siret",
         "int-siret", "bad-checksum", "withheld-siret"],
)
def test_a_body_without_a_usable_siret_is_an_unexpected_payload(body: Any) -> None:
    with pytest.raises(UnexpectedPayload) as excinfo:
        parse(body)
    assert excinfo.value.source == "api_entreprise"
    assert excinfo.value.status == 200


def test_a_minimal_payload_with_only_a_siret_is_tolerated() -> None:
    identity = parse({"data": {"siret": "55204944776279"}})
    assert identity.siret == SNCF
    assert identity.siren == "552049447"
    assert identity.legal_name is None
    assert identity.address.one_line == ""


def test_unknown_fields_are_tolerated() -> None:
    reference = parse(payload())
    body = payload()
    body["nouveau"] = {"x": 1}
    body["meta"]["nouveau"] = [1]
    body["data"]["nouveau_champ"] = "valeur"
    body["data"]["unite_legale"]["nouveau_bloc"] = {"a": None}
    body["data"]["adresse"]["acheminement_postal"]["l8"] = "EXTRA"
    identity = parse(body)
    assert identity.model_dump(exclude={"provenance"}) == reference.model_dump(
        exclude={"provenance"}
    )


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))]
    return [path]


@pytest.mark.parametrize("junk", [[], {}, 12, 1.5, True, "[ND]", "", None])
def test_a_mistyped_field_anywhere_never_raises_a_traceback(junk: Any) -> None:
    base = payload("200")
    for path in _leaves(base):
        body = copy.deepcopy(base)
        holder = body
        for step in path[:-1]:
            holder = holder[step]
        holder[path[-1]] = junk
        failure = None
        try:
            identity = parse(body, ident=Siret("30613890001294"))
        except UnexpectedPayload as exc:
            failure = str(exc)
        if failure is not None:
            # the SIRET, or schema drift: a value of another JSON type where text is read
            drift = junk not in ("[ND]", "", None) and "is a JSON" in failure
            assert path == ("data", "siret") or drift, (path, failure)
        else:
            assert path != ("data", "siret")
            assert isinstance(identity, Identity)


def test_a_parser_error_becomes_an_unexpected_payload(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(reply: api_entreprise.Reply) -> Fact:
        raise KeyError("siret")

    endpoint = dataclasses.replace(api_entreprise.ENDPOINTS[Identity], parser=broken)
    monkeypatch.setitem(api_entreprise.ENDPOINTS, Identity, endpoint)
    with pytest.raises(UnexpectedPayload, match="KeyError"):
        parse(payload())


def test_an_open_establishment_has_no_closing_date() -> None:
    body = payload()
    body["data"]["date_fermeture"] = 1634133818
    identity = parse(body)
    assert identity.active is True
    assert identity.closing_date is None


def test_a_closed_establishment_is_a_fact_with_its_closing_date() -> None:
    body = payload()
    body["data"]["etat_administratif"] = "F"
    body["data"]["date_fermeture"] = 1634133818
    body["data"]["unite_legale"]["etat_administratif"] = "C"
    identity = parse(body)
    assert identity.active is False
    assert identity.closing_date == date(2021, 10, 13)
    assert identity.legal_unit_active is False


def test_a_redirected_siret_is_reported() -> None:
    asked = Siret("55204944700014")
    body = payload()
    body["meta"]["redirect_from_siret"] = str(asked)
    identity = parse(body, ident=asked, authenticated=True)
    assert identity.siret == SNCF
    assert identity.redirected_from == asked


def test_an_answer_about_another_siret_without_meta_is_refused() -> None:
    """Another SIRET is accepted only when meta.redirect_from_siret says it redirected."""
    asked = Siret("55204944700014")
    with pytest.raises(UnexpectedPayload, match=f"about SIRET {SNCF} when {asked}"):
        parse(payload(), ident=asked)


def test_a_redirect_marker_equal_to_the_answer_is_not_a_redirection() -> None:
    body = payload()
    body["meta"]["redirect_from_siret"] = str(SNCF)
    assert parse(body).redirected_from is None


def test_provenance_says_where_and_when() -> None:
    identity = parse(payload())
    assert identity.provenance.source == "api_entreprise"
    assert identity.provenance.endpoint == "/v4/insee/sirene/etablissements/55204944776279"
    assert identity.provenance.updated_at is not None
    assert identity.provenance.updated_at.date() == date(2022, 8, 28)
    assert identity.provenance.from_cache is False


@pytest.mark.parametrize(
    ("authenticated", "endpoint", "public"),
    [
        (True, "/v4/insee/sirene/etablissements/47846480300319", False),
        (False, "/v4/insee/sirene/etablissements/diffusibles/47846480300319", True),
    ],
)
def test_a_response_without_its_request_is_attributed_to_the_path_this_source_asks(
    authenticated: bool, endpoint: str, public: bool
) -> None:
    body = payload("personne_physique_diffusible")
    body["data"]["status_diffusion"] = "partiellement_diffusible"
    siret = Siret("47846480300319")
    fact = source(authenticated=authenticated).parse(
        Identity, siret, httpx.Response(200, json=body)
    )
    assert fact.provenance.endpoint == endpoint
    assert fact.provenance.public is public
