"""The ready forms (DC1, DC2, DUME, CERFA 12156) on the operator's staging companies.

Dossiers are built from the contract payloads by the real parsers (tests/formdata.py).
Each expectation below is written out from the payloads: the INSEE establishment
of the staging company and the evidence payloads about the same SIREN.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

import dlnuf
from dlnuf.answers import AnswerStore
from dlnuf.dossier import Dossier
from dlnuf.facts import Headcount, Identity, Provenance, Turnover, TurnoverYear
from dlnuf.forms import (
    DC1,
    DC2,
    NOT_DECLARED,
    PROTECTED,
    READY_FORMS,
    SWORN,
    WITHHELD,
    Cerfa12156Identity,
    DumeEconomicOperator,
    FactView,
    TurnoverLine,
    field_specs,
    form_by_name,
    prefill,
    required_kinds,
)
from dlnuf.forms.dc2 import turnover_table
from dlnuf.identifiers import Siret
from formdata import contract_dossier, evidence_fact, staging_sirets

ROOT = Path(__file__).resolve().parents[1]

SNCF = "55204944776279"
DINUM = "30613890001294"
SCI_CLOSED = "35005144700018"
ALSACE = "42417936400023"
SOLE_TRADER = "47846480300319"
CROIX_ROUGE = "77567227221138"
UNKNOWN = "00000000000000"

DECLARED_DC2 = ["email", "phone", "fax", "reserved_status"]
PROTECTED_DC2 = ["registration", "evidence_url", "turnover", "headcount"]

# Per staging company: (values, missing) of a public DC2, written out from the payloads.
DC2_EXPECTED: dict[str, tuple[dict[str, Any], list[str]]] = {
    SNCF: (
        {
            "siret": SNCF,
            "legal_name": "SOCIETE NATIONALE SNCF",
            "trade_name": "SNCF ST DENIS 2 PL AUX ETOILES",
            "legal_form": "SA à conseil d'administration (s.a.i.)",
            "postal_address": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
            "head_office_address": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
            "is_sme": False,  # categorie_entreprise GE
            "ess": False,
            "naf_code": "49.10Z",
        },
        [*DECLARED_DC2, *PROTECTED_DC2],
    ),
    DINUM: (
        {
            "siret": DINUM,
            "legal_name": "DIRECTION INTERMINISTERIELLE DU NUMERIQUE",
            "trade_name": "Coiff Land, CoiffureLand",
            "legal_form": "Service central d'un ministère",
            "postal_address": (
                "ZAE SAINT GUENAULT, 22 RUE DE LA PAIX, dummy, 75590 PARIS CEDEX 12, ROYAUME-UNI"
            ),
            "head_office_address": (
                "ZAE SAINT GUENAULT, 22 RUE DE LA PAIX, dummy, 75590 PARIS CEDEX 12, ROYAUME-UNI"
            ),
            "is_sme": False,
            "ess": True,
            "naf_code": "84.11Z",
        },
        [*DECLARED_DC2, *PROTECTED_DC2],
    ),
    SCI_CLOSED: (
        {
            "siret": SCI_CLOSED,
            "legal_name": "SCI SERGENT",
            "legal_form": "Société civile immobilière",
            "postal_address": "4 ALLÉE DU COMMANDANT, 75017 PARIS 17",
            "head_office_address": "4 ALLÉE DU COMMANDANT, 75017 PARIS 17",
        },
        # no enseigne, no category, ESS unknown, NAF 1993 code only (no NAF rev. 2)
        ["trade_name", "email", "phone", "fax", "is_sme", "ess", "reserved_status", "naf_code",
         *PROTECTED_DC2],
    ),
    ALSACE: (
        {
            "siret": ALSACE,
            "legal_name": "ASSOCIATION SOCIO-CULTURELLE - LE REPERE",
            "legal_form": "Association de droit local (Bas-Rhin, Haut-Rhin et Moselle)",
            "postal_address": "169 GRAND RUE, 67130 SCHIRMECK",
            "head_office_address": "169 GRAND RUE, 67130 SCHIRMECK",
            "is_sme": True,
            "ess": True,
            "naf_code": "94.99Z",
        },
        ["trade_name", *DECLARED_DC2, *PROTECTED_DC2],
    ),
    SOLE_TRADER: (
        {
            "siret": SOLE_TRADER,
            "legal_name": "MAXIME DUPONT",
            "legal_form": "Entrepreneur individuel",
            "postal_address": "346 ALLÉE DE LA PLAGE, 16210 MEDILLAC",
            "head_office_address": "346 ALLÉE DE LA PLAGE, 16210 MEDILLAC",
            "is_sme": True,
            "naf_code": "74.10Z",
        },
        ["trade_name", "email", "phone", "fax", "ess", "reserved_status", *PROTECTED_DC2],
    ),
    CROIX_ROUGE: (
        {
            "siret": CROIX_ROUGE,
            "legal_name": "CROIX ROUGE FRANCAISE",
            "legal_form": "Association déclarée, reconnue d'utilité publique",
            "postal_address": "SITE CROIX ROUGE, 98 RUE DIDOT, 75694 PARIS CEDEX 14",
            "head_office_address": "SITE CROIX ROUGE, 98 RUE DIDOT, 75694 PARIS CEDEX 14",
            "is_sme": False,
            "ess": False,
            "naf_code": "88.99B",
        },
        ["trade_name", *DECLARED_DC2, *PROTECTED_DC2],
    ),
    UNKNOWN: ({}, [s.name for s in field_specs(DC2)]),
}


def _order(names: list[str]) -> list[str]:
    order = [s.name for s in field_specs(DC2)]
    return sorted(names, key=order.index)


def test_every_staging_company_has_an_expectation() -> None:
    assert sorted(staging_sirets()) == sorted(DC2_EXPECTED)


@pytest.mark.parametrize("siret", sorted(DC2_EXPECTED))
def test_dc2_on_each_staging_company(siret: str) -> None:
    values, missing = DC2_EXPECTED[siret]
    draft = prefill(DC2, contract_dossier(siret))
    assert draft.values == values
    assert draft.missing_names == _order(missing)
    assert set(draft.provenance) == set(values)
    for name in values:
        assert draft.provenance[name].source == "api_entreprise"
        assert draft.provenance[name].public is True
    reasons = {m.name: m.reason for m in draft.missing}
    for name in ("registration", "turnover", "headcount"):
        assert reasons[name] == PROTECTED
    assert reasons["email"] == NOT_DECLARED


def test_dc2_for_an_unknown_siret_asks_everything_and_says_why() -> None:
    draft = prefill(DC2, contract_dossier(UNKNOWN))
    assert draft.not_found
    assert not draft.closed
    error, fields = draft.errors[Identity]
    assert isinstance(error, dlnuf.NotFound)
    assert fields == ("siret", "legal_name", "trade_name", "legal_form", "postal_address",
                      "head_office_address", "is_sme", "ess", "naf_code")
    reasons = {m.name: m.reason for m in draft.missing}
    assert reasons["legal_name"].startswith("Identity could not be fetched: api_entreprise: not")


def test_dc2_for_a_closed_company_says_so_and_still_fills_in() -> None:
    draft = prefill(DC2, contract_dossier(SCI_CLOSED))
    assert draft.closed
    assert draft.warnings == [
        "the establishment 35005144700018 is closed since 1995-11-15",
        "the company 350051447 has ceased trading",
    ]
    assert draft.values["legal_name"] == "SCI SERGENT"


def test_authenticated_dc2_adds_the_registry_and_keeps_asking_what_no_source_gave() -> None:
    draft = prefill(DC2.as_authenticated(), contract_dossier(SNCF))
    assert draft.values["registration"] == "RCS PARIS 552 049 447"  # Infogreffe extract
    assert draft.provenance["registration"].endpoint.endswith("/extrait_kbis")
    assert draft.missing_names == [*DECLARED_DC2, "evidence_url", "turnover", "headcount"]
    reasons = {m.name: m.reason for m in draft.missing}
    assert reasons["turnover"] == "could not be computed: no Turnover in the dossier"
    # the staging VAT number is not the one computed from the SIREN: worth a look
    assert draft.warnings == [
        "the VAT number FR82552049447 is not the one computed from the SIREN"
    ]


def test_dc2_turnover_table_and_pme_from_the_turnover_and_headcount_payloads() -> None:
    dossier = Dossier(Siret("13002526500013"))
    turnover = evidence_fact("chiffres_affaires", "13002526500001")
    headcount = evidence_fact("effectifs_annuels", "130025265")
    assert isinstance(turnover, Turnover)
    assert isinstance(headcount, Headcount)
    dossier.facts[Turnover] = turnover
    dossier.facts[Headcount] = headcount
    draft = prefill(DC2.as_authenticated(), dossier)
    assert draft.values["turnover"] == [
        TurnoverLine(end=date(2024, 12, 1), amount=900001),
        TurnoverLine(end=date(2023, 12, 1), amount=900001),
        TurnoverLine(end=date(2022, 12, 1), amount=900001),
    ]
    assert draft.values["headcount"] == 18.0  # the 2024 figure
    # no INSEE category here: 18 people and 0.9 M€ make an SME
    assert draft.values["is_sme"] is True
    assert draft.provenance["is_sme"] is headcount.provenance
    public = prefill(DC2, dossier)
    assert "turnover" not in public.values
    assert "is_sme" not in public.values


def test_turnover_table_keeps_the_last_three_closed_years() -> None:
    prov = Provenance(source="t", endpoint="/t")
    years = tuple(
        TurnoverYear(amount=1000 * y, closing_date=date(y, 12, 31)) for y in range(2025, 2019, -1)
    )
    view = FactView({"turnover": Turnover(years=years, provenance=prov)})
    table = turnover_table(view, today=date(2025, 6, 1))
    assert table is not None
    assert [line.end.year for line in table] == [2024, 2023, 2022]  # 2025 is not closed yet


def test_dc1_never_prefills_the_sworn_statements() -> None:
    draft = prefill(DC1, contract_dossier(SNCF))
    assert draft.values == {
        "legal_name": "SOCIETE NATIONALE SNCF",
        "trade_name": "SNCF ST DENIS 2 PL AUX ETOILES",
        "postal_address": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
        "head_office_address": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
        "siret": SNCF,
    }
    reasons = {m.name: m.reason for m in draft.missing}
    assert reasons["no_exclusion"] == SWORN
    assert reasons["capacities_honest"] == SWORN
    assert draft.missing_names == [
        "applies_for", "candidate_kind", "email", "phone", "fax", "no_exclusion",
        "capacities_honest", "evidence_url",
    ]


def test_dume_public_and_authenticated() -> None:
    dossier = contract_dossier(SNCF)
    public = prefill(DumeEconomicOperator, dossier)
    assert public.values == {
        "name": "SOCIETE NATIONALE SNCF",
        "national_id": SNCF,
        "postal_address": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
        "is_sme": False,
    }
    assert {m.name: m.reason for m in public.missing}["vat_number"] == PROTECTED
    entitled = prefill(DumeEconomicOperator.as_authenticated(), dossier)
    assert entitled.values["vat_number"] == "FR82552049447"
    assert entitled.values["representatives"] == [
        "Jean DUPONT (Président du conseil d'administration)"
    ]
    assert entitled.missing_names == [
        "contact_person", "phone", "email", "website", "sheltered_workshop", "official_list",
        "with_others",
    ]


def test_cerfa_12156_for_an_alsace_moselle_association() -> None:
    draft = prefill(Cerfa12156Identity, contract_dossier(ALSACE))
    assert draft.values == {
        "name": "ASSOCIATION SOCIO-CULTURELLE - LE REPERE",
        "siret": ALSACE,
        "local_registration": (
            "Tribunal d'instance de Molsheim, volume 009, folio 015, inscrite le 07/07/1999"
        ),
        "activity": "94.99Z",
        "head_office_address": "169 GRAND RUE, 67130 SCHIRMECK",
        "creation_date": date(1999, 7, 7),
        "ess": True,
        "public_utility": False,
        "commercial_taxes": True,
        "approvals": ["Autres, EspacedeVieSocial, Caisse Allocation Familliale (03/03/2018)"],
    }
    # no RNA number in Alsace-Moselle, no objet in the record; bank details are protected
    assert draft.missing_names == [
        "acronym", "rna", "object", "email", "phone", "website", "legal_representative", "iban",
    ]
    assert draft.provenance["name"].endpoint.endswith("/open_data/{siren_or_rna}")


def test_a_second_form_asks_nothing_already_answered() -> None:
    store = AnswerStore.memory()
    dossier = contract_dossier(SNCF)
    dc1 = prefill(DC1, dossier, store)
    dc1.complete(
        applies_for="lot 2",
        email="marches@sncf.fr",
        phone="+33 1 23 45 67 89",
        fax="+33 1 23 45 67 80",
        no_exclusion=True,
        capacities_honest=True,
        evidence_url="https://sncf.example/preuves",
    )
    dc2 = prefill(DC2, dossier, store)
    assert dc2.values["email"] == "marches@sncf.fr"
    assert dc2.describe("email").endswith("(DC1)")
    assert dc2.missing_names == ["reserved_status", "registration", "turnover", "headcount"]
    dc2.complete(turnover=[], reserved_status=None)
    dume = prefill(DumeEconomicOperator, dossier, store)
    assert set(dume.missing_names) & {"email", "phone"} == set()
    assert "contact_person" in dume.missing_names  # never declared yet
    cerfa = prefill(Cerfa12156Identity, dossier, store)
    assert set(cerfa.missing_names) & {"email", "phone"} == set()
    # answered on DC2 (None is an answer: "not a reserved-contract company")
    assert prefill(DC2, dossier, store).missing_names == ["registration", "turnover", "headcount"]


def test_ready_forms_are_listed_and_found_by_name() -> None:
    assert {
        "DC1": DC1, "DC2": DC2, "DUME": DumeEconomicOperator, "CERFA12156": Cerfa12156Identity,
    } == READY_FORMS
    assert form_by_name("dc2") is DC2
    assert form_by_name("cerfa-12156") is Cerfa12156Identity
    assert form_by_name("dlnuf.forms:DC1") is DC1
    with pytest.raises(ValueError, match="ready forms"):
        form_by_name("DC4")
    with pytest.raises(ValueError, match="not a dlnuf Form"):
        form_by_name("dlnuf:Client")


def test_public_forms_fetch_only_public_kinds() -> None:
    assert {k.__name__ for k in required_kinds(DC2)} == {"Identity"}
    assert {k.__name__ for k in required_kinds(DC2.as_authenticated())} == {
        "Identity", "Turnover", "Headcount", "RegistryExtract", "RneExtract",
    }


@pytest.mark.parametrize("name", sorted(READY_FORMS))
def test_each_ready_form_has_a_doc_page_naming_every_field(name: str) -> None:
    page = {"DC1": "dc1", "DC2": "dc2", "DUME": "dume", "CERFA12156": "cerfa_12156"}[name]
    text = (ROOT / "docs" / "forms" / f"{page}.md").read_text(encoding="utf-8")
    for spec in field_specs(READY_FORMS[name]):
        assert f"`{spec.name}`" in text, f"{page}.md does not document {spec.name}"


# --- Through the clients (sandbox and mocked upstreams; one body for sync and async) -------

MakeClient = Callable[..., Any]


def test_client_prefill_from_the_sandbox(make_client: MakeClient) -> None:
    store = AnswerStore.memory()
    client = make_client(sources=["sandbox"])
    draft = client.prefill(DC2, "552 049 447 76279", answers=store)
    assert draft.values == DC2_EXPECTED[SNCF][0]
    assert draft.provenance["legal_name"].source == "sandbox"
    assert draft.errors == {}  # a public DC2 asks the sources for nothing but Identity
    form = draft.complete(email="marches@sncf.fr", phone="+33 1 23 45 67 89", turnover=[])
    assert form.email == "marches@sncf.fr"
    assert store.export("552049447")["552049447"]["contact.email"].form == "DC2"


def test_client_prefill_uses_the_clients_answer_store(make_client: MakeClient) -> None:
    client = make_client(sources=["sandbox"])
    client.answers.set("552049447", "contact.email", "marches@sncf.fr", form="DC1")
    draft = client.prefill(DC2, SNCF)
    assert draft.values["email"] == "marches@sncf.fr"
    assert client.answers.export("552049447")
    assert client.answers.erase("552049447") == 1
    assert "email" in client.prefill(DC2, SNCF).missing_names


def test_client_prefill_for_an_unknown_siret(make_client: MakeClient) -> None:
    client = make_client(sources=["sandbox"])
    draft = client.prefill(DC2, UNKNOWN)
    assert draft.not_found
    assert draft.values == {}
    assert isinstance(draft.errors[Identity].error, dlnuf.NotFound)


def test_client_prefill_refuses_an_invalid_siret_before_any_request(
    make_client: MakeClient,
) -> None:
    client = make_client(sources=["sandbox"])
    with pytest.raises(dlnuf.InvalidSiret):
        client.prefill(DC2, "552 049 447 76278")


PARTIAL = "42797966100019"  # sandbox: sole trader, partially diffusible


def test_partially_diffusible_sole_trader_on_a_public_form(make_client: MakeClient) -> None:
    client = make_client(sources=["sandbox"])
    draft = client.prefill(DC2, PARTIAL)
    reasons = {m.name: m.reason for m in draft.missing}
    assert reasons["legal_name"] == WITHHELD
    assert reasons["trade_name"] == WITHHELD
    assert reasons["postal_address"] == WITHHELD
    assert reasons["head_office_address"] == f"could not be computed: {WITHHELD}"
    assert draft.values["legal_form"] == "Entrepreneur individuel"  # diffusible parts stay
    assert draft.values["is_sme"] is True


def test_partially_diffusible_sole_trader_on_an_authenticated_form(
    make_client: MakeClient,
) -> None:
    client = make_client(sources=["sandbox"], authenticated=True)
    draft = client.prefill(DC2.as_authenticated(), PARTIAL)
    assert draft.values["legal_name"] == "CLAIRE BERNARD"
    assert draft.values["trade_name"] == "MENUISERIE DU BOCAGE"
    assert draft.values["postal_address"].endswith("35000 RENNES")
    assert draft.provenance["legal_name"].endpoint == (
        "/v4/insee/sirene/etablissements/42797966100019"
    )
    assert draft.provenance["legal_name"].public is False
    # the same protected answer never reaches a public form, not even the diffusible parts
    public = client.prefill(DC2, PARTIAL)
    assert public.values == {}
    assert {m.reason for m in public.missing if m.origin == "fact"} == {PROTECTED}


@respx.mock
def test_upstream_down_leaves_fields_missing_with_the_reason(make_client: MakeClient) -> None:
    identity = respx.get(url__regex=r".*/etablissements/diffusibles/55204944776279").mock(
        return_value=httpx.Response(503)
    )
    respx.route().mock(return_value=httpx.Response(503))  # anything else it asks: down too
    client = make_client(
        settings=dlnuf.Settings(
            sources=["api_entreprise"],
            api_entreprise_token="secret-token-1234567890",
            recipient="13002526500013",
            context="tests",
            object="forms",
            retries=0,
            cache=None,
        ),
        cache=None,
    )
    draft = client.prefill(DC2, SNCF, answers=AnswerStore.memory())
    assert draft.values == {}
    error, fields = draft.errors[Identity]
    assert isinstance(error, dlnuf.UpstreamUnavailable)
    assert "legal_name" in fields
    reason = {m.name: m.reason for m in draft.missing}["legal_name"]
    assert reason.startswith("Identity could not be fetched: ")
    assert "secret-token" not in reason
    assert "secret-token" not in str(draft.as_dict())
    assert identity.called


def test_the_dc2_batch_example_prefills_every_sandbox_company() -> None:
    rows = runpy.run_path(str(ROOT / "examples" / "prefill_dc2_batch.py"))["main"]()
    by_siret = {row["siret"]: row for row in rows}
    assert by_siret[SNCF]["legal_name"] == "SOCIETE NATIONALE SNCF"
    assert by_siret[SNCF]["to_ask"] == ["email", "phone", "turnover"]
    assert by_siret["35005144700018"]["closed"] is True
    assert by_siret[PARTIAL]["withheld"] == ["legal_name", "trade_name", "postal_address"]
    assert by_siret[UNKNOWN]["not_found"] is True
