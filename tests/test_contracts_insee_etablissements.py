"""Contract tests: every operator payload of the INSEE establishment endpoint (v4).

Each YAML of ``api_entreprise_v4_insee_etablissements`` is parsed through the
request the source really builds, and compared with values written by hand
from the payload. A new contract file without expectations fails the suite.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from contracts import API_ENTREPRISE, Case, load_cases
from dlnuf.config import Settings
from dlnuf.errors import NotFound
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siret
from dlnuf.sources import source_error
from dlnuf.sources.api_entreprise import ApiEntreprise

CASES = load_cases(API_ENTREPRISE / "api_entreprise_v4_insee_etablissements")
SUCCESSES = [c for c in CASES if c.status == 200]
FAILURES = [c for c in CASES if c.status != 200]

EXPECTED: dict[str, dict[str, Any]] = {
    "200": {
        # Staging junk kept as is: the legal unit says SIREN 130025265 (DINUM) on SIRET
        # 306 138 900 01294; the SIREN of an establishment is its SIRET's first 9 digits.
        "siret": "30613890001294",
        "siren": "306138900",
        "legal_name": "DIRECTION INTERMINISTERIELLE DU NUMERIQUE",
        "trade_name": "Coiff Land, CoiffureLand",
        "sigle": "DINUM",
        "legal_form_code": "7120",
        "naf_code": "84.11Z",
        "naf_label": "Administration publique générale",
        "company_category": "GE",
        "headcount_bracket": "51",
        "creation_date": date(2021, 10, 13),
        "active": True,
        # date_fermeture is set on an active establishment: not a closing date.
        "closing_date": None,
        "legal_unit_active": True,
        "is_head_office": True,
        "head_office_siret": "13002526500013",
        "ess": True,
        "rna": None,
        "is_sole_trader": False,
        "diffusion": "diffusible",
        # meta.redirect_from_siret is "30613890000010", which fails the Luhn check.
        "redirected_from": None,
        "one_line": "ZAE SAINT GUENAULT, 22 RUE DE LA PAIX, dummy, 75590 PARIS CEDEX 12, "
        "ROYAUME-UNI",
        "postal_code": "75016",
        "city": "PARIS 12",
        "country": "ROYAUME-UNI",
        "postal_lines": (
            "DIRECTION INTERMINISTERIELLE DU NUMERIQUE",
            "JEAN MARIE DURAND",
            "ZAE SAINT GUENAULT",
            "51 BIS RUE DE LA PAIX",
            "CS 72809",
            "75256 PARIX CEDEX 12",
            "FRANCE",
        ),
    },
    "association": {
        "siret": "77567227221138",
        "siren": "775672272",
        "legal_name": "CROIX ROUGE FRANCAISE",
        "trade_name": None,
        "sigle": "CRF",
        "legal_form_code": "9230",
        "naf_code": "88.99B",
        "company_category": "GE",
        "headcount_bracket": "NN",
        "legal_unit_headcount_bracket": "53",
        "creation_date": date(1952, 5, 11),
        "establishment_creation_date": date(2006, 1, 25),
        "active": True,
        "closing_date": None,
        "rna": "W751004076",
        "ess": False,
        "is_sole_trader": False,
        "diffusion": "diffusible",
        "redirected_from": None,
        "one_line": "SITE CROIX ROUGE, 98 RUE DIDOT, 75694 PARIS CEDEX 14",
        "postal_code": "75014",
        "city": "PARIS 14",
        "country": "FRANCE",
        "postal_lines": (
            "CROIX ROUGE FRANCAISE",
            "SITE CROIX ROUGE",
            "98 RUE DIDOT",
            "75694 PARIS CEDEX 14",
            "FRANCE",
        ),
    },
    "association_regime_alsace_moselle": {
        "siret": "42417936400023",
        "legal_name": "ASSOCIATION SOCIO-CULTURELLE - LE REPERE",
        "legal_form_code": "9260",
        "naf_code": "94.99Z",
        "headcount_bracket": None,
        "legal_unit_headcount_bracket": "NN",
        "creation_date": date(1999, 7, 7),
        "active": True,
        "closing_date": None,
        "rna": None,
        "ess": True,
        "is_sole_trader": False,
        "diffusion": "diffusible",
        "redirected_from": None,
        "one_line": "169 GRAND RUE, 67130 SCHIRMECK",
        "postal_code": "67130",
        "city": "SCHIRMECK",
        "country": "FRANCE",
    },
    "personne_morale": {
        "siret": "55204944776279",
        "siren": "552049447",
        "legal_name": "SOCIETE NATIONALE SNCF",
        "trade_name": "SNCF ST DENIS 2 PL AUX ETOILES",
        "sigle": "SNCF",
        "legal_form_code": "5599",
        "legal_form_label": "SA à conseil d'administration (s.a.i.)",
        "naf_code": "49.10Z",
        "naf_label": "Transport ferroviaire interurbain de voyageurs",
        "company_category": "GE",
        "headcount_bracket": "41",
        "headcount_bracket_label": "500 à 999 salariés",
        "creation_date": date(1955, 1, 1),
        "establishment_creation_date": date(1986, 6, 23),
        "active": True,
        "closing_date": None,
        "is_head_office": True,
        "head_office_siret": "55204944776279",
        "is_sole_trader": False,
        "diffusion": "diffusible",
        "redirected_from": None,
        "one_line": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
        "postal_code": "93210",
        "city": "SAINT-DENIS",
        "country": "FRANCE",
    },
    "personne_morale_etat_cesse": {
        "siret": "35005144700018",
        "legal_name": "SCI SERGENT",
        "legal_form_code": "6540",
        # The establishment's activity is in NAF 1993 (70.2C): no NAF rev. 2 code.
        "naf_code": None,
        "naf_label": None,
        "company_category": None,
        "active": False,
        "closing_date": date(1995, 11, 15),
        "legal_unit_active": False,
        "creation_date": date(1989, 3, 13),
        "establishment_creation_date": None,
        "ess": None,
        "is_sole_trader": False,
        "diffusion": "diffusible",
        "redirected_from": None,
        "one_line": "4 ALLÉE DU COMMANDANT, 75017 PARIS 17",
        "postal_code": "75017",
        "city": "PARIS 17",
    },
    "personne_physique_diffusible": {
        "siret": "47846480300319",
        "siren": "478464803",
        "legal_name": "MAXIME DUPONT",
        "trade_name": None,
        "legal_form_code": "1000",
        "legal_form_label": "Entrepreneur individuel",
        "naf_code": "74.10Z",
        "creation_date": date(2004, 5, 24),
        "active": True,
        "closing_date": None,
        "is_sole_trader": True,
        "diffusion": "diffusible",
        "redirected_from": None,
        "one_line": "346 ALLÉE DE LA PLAGE, 16210 MEDILLAC",
        "postal_code": "16210",
        "city": "MEDILLAC",
        "postal_lines": (
            "MAXIME DUPONT",
            "346 ALLÉE DE LA PLAGE",
            "16210 MEDILLAC",
            "FRANCE",
        ),
    },
}

EXPECTED_ERRORS: dict[str, tuple[type[Exception], str]] = {
    "404": (NotFound, "04003"),
}

ADDRESS_FIELDS = {"one_line", "postal_code", "city", "country", "postal_lines"}


def _source(authenticated: bool = True) -> ApiEntreprise:
    return ApiEntreprise(
        Settings(
            api_entreprise_token="contract-token",
            recipient="13002526500013",
            context="Marché public",
            object="contrat",
            authenticated=authenticated,
        )
    )


def _response(source: ApiEntreprise, case: Case) -> httpx.Response:
    request = source.request(Identity, Siret(case.params["siret"]))
    return httpx.Response(case.status, json=case.payload, request=request)


def test_every_contract_file_has_expectations() -> None:
    assert {c.name for c in CASES} == set(EXPECTED) | set(EXPECTED_ERRORS)


@pytest.mark.parametrize("case", SUCCESSES, ids=str)
def test_success_payload_parses_to_the_expected_identity(case: Case) -> None:
    source = _source()
    identity = source.parse(Identity, Siret(case.params["siret"]), _response(source, case))

    assert isinstance(identity, Identity)
    got = {
        key: getattr(identity.address if key in ADDRESS_FIELDS else identity, key)
        for key in EXPECTED[case.name]
    }
    assert got == EXPECTED[case.name]
    assert identity.withheld == frozenset()
    assert identity.provenance.source == "api_entreprise"
    assert identity.provenance.endpoint == f"/v4/insee/sirene/etablissements/{identity.siret}"
    # Protected endpoint, diffusible data: may be shown on an anonymous form.
    assert identity.provenance.public is True
    assert identity.provenance.updated_at is not None


@pytest.mark.parametrize("case", SUCCESSES, ids=str)
def test_success_payload_parses_the_same_on_the_public_path(case: Case) -> None:
    protected, public = _source(True), _source(False)
    siret = Siret(case.params["siret"])
    from_protected = protected.parse(Identity, siret, _response(protected, case))
    from_public = public.parse(Identity, siret, _response(public, case))

    assert from_public.provenance.endpoint == (
        f"/v4/insee/sirene/etablissements/diffusibles/{case.params['siret']}"
    )
    assert from_public.model_dump(exclude={"provenance"}) == from_protected.model_dump(
        exclude={"provenance"}
    )


@pytest.mark.parametrize("case", FAILURES, ids=str)
def test_error_payload_maps_to_the_expected_error(case: Case) -> None:
    expected_type, code = EXPECTED_ERRORS[case.name]
    error = source_error(_source(), _response(_source(), case))

    assert isinstance(error, expected_type)
    assert error.status == case.status
    assert error.code == code
    assert error.source == "api_entreprise"
