"""Evidence against the operator's contract payloads (API Entreprise staging), through the source.

Every success payload of every endpoint of :data:`ENDPOINTS` parses, through
:meth:`ApiEntreprise.parse`, into its kind with the values written out below and
a cache expiry that respects its validity; every error payload of every contract
(and every error example of the OpenAPI) maps to its typed error, never to a
fact; junk never raises anything but :class:`UnexpectedPayload`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import API_ENTREPRISE, Case, load_cases
from dlnuf.cache.policy import CachePolicy, next_hour_in_paris, validity_end
from dlnuf.config import Settings
from dlnuf.errors import (
    Forbidden,
    InvalidRequest,
    InvalidSiren,
    InvalidSiret,
    LegallyUnavailable,
    NotFound,
    RateLimited,
    RequestInFlight,
    Unauthorized,
    UnexpectedPayload,
    UpstreamError,
    UpstreamUnavailable,
)
from dlnuf.facts import (
    CERTIFICATION_KINDS,
    Association,
    Certification,
    CibtpCertification,
    CnetpCertification,
    Directors,
    Document,
    Fact,
    FntpCertification,
    Headcount,
    Identity,
    MsaCertification,
    OpqibiCertification,
    ProbtpCertification,
    ProbtpCompliance,
    Provenance,
    QualibatCertification,
    QualifelecCertification,
    RegistryExtract,
    RgeCertification,
    RneExtract,
    SocialCertificate,
    TaxCertificate,
    Turnover,
    VatNumber,
)
from dlnuf.identifiers import Rna, Siren, Siret
from dlnuf.sources import source_error
from dlnuf.sources.api_entreprise import ENDPOINTS, ApiEntreprise
from dlnuf.sources.api_entreprise import evidence as ev

FETCHED = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
PROVENANCE = Provenance(source="api_entreprise", endpoint="/test", fetched_at=FETCHED)
PROTECTED = ApiEntreprise(Settings(authenticated=True))
PUBLIC = ApiEntreprise(Settings(authenticated=False))
FALLBACK = Siret("30613890001294")
"""Asked for when a contract's staging identifier fails its checksum (000000001...)."""

EVIDENCE_KINDS = [k for k in ENDPOINTS if k is not Identity]
V3_VARIANTS = {
    TaxCertificate: "api_entreprise_v3_dgfip_attestations_fiscales",
    SocialCertificate: "api_entreprise_v3_acoss_attestations_sociales",
    QualibatCertification: "api_entreprise_v3_qualibat_certifications_batiment",
}
"""Older payload shapes the same parsers read (document and expiry only)."""


@cache
def cases(directory: str) -> tuple[Case, ...]:
    """Every contract file (``.yaml`` and ``.yml``) of ``directory``."""
    return tuple(load_cases(API_ENTREPRISE / directory))


def case(directory: str, name: str) -> Case:
    return next(c for c in cases(directory) if c.name == name)


def ident_of(found: Case) -> Siret | Siren:
    for key in ("siret", "siren", "siren_or_rna"):
        value = found.params.get(key, "")
        if Siret.is_valid(value):
            return Siret(value)
        if Siren.is_valid(value):
            return Siren(value)
    return FALLBACK


def parse_payload(kind: type[Fact], body: Any, ident: Siret | Siren = FALLBACK,
                  *, public: bool = False) -> Any:
    """What the source parses from a 200 carrying ``body`` (no request: the source's path)."""
    source = PUBLIC if public else PROTECTED
    if isinstance(ident, Siren) and ENDPOINTS[kind].level == "siret":
        ident = FALLBACK
    response = httpx.Response(200, content=json.dumps(body).encode())
    return source.parse(kind, ident, response)


def parse(kind: type[Fact], name: str, directory: str | None = None,
          *, public: bool = False) -> Any:
    """Parse contract ``name`` of ``kind``'s endpoint (its folder, or ``directory``)."""
    endpoint = ENDPOINTS[kind]
    folder = directory or (endpoint.public_contract_dir if public else endpoint.contract_dir)
    assert folder is not None
    found = case(folder, name)
    return parse_payload(kind, found.payload, ident_of(found), public=public)


def expires(document: Document | None, fact: Fact, seconds: int) -> bool:
    assert document is not None
    return document.url_expires_at == fact.provenance.fetched_at + timedelta(seconds=seconds)


def _folders() -> list[tuple[type[Fact], str, bool]]:
    found = []
    for kind, endpoint in ENDPOINTS.items():
        if endpoint.contract_dir:
            found.append((kind, endpoint.contract_dir, False))
        if endpoint.public_contract_dir:
            found.append((kind, endpoint.public_contract_dir, True))
    found += [(kind, folder, False) for kind, folder in V3_VARIANTS.items()]
    return found


SUCCESSES = [
    pytest.param(kind, c, public, id=f"{folder}/{c.path.name}")
    for kind, folder, public in _folders()
    for c in cases(folder)
    if 200 <= c.status < 300
]


# --- The table --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (API_ENTREPRISE / "openapi.yaml").open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return spec


@pytest.mark.parametrize("kind", list(ENDPOINTS), ids=lambda k: k.__name__)
def test_paths_are_exactly_openapi_paths(kind: type[Fact], openapi: dict[str, Any]) -> None:
    endpoint = ENDPOINTS[kind]
    assert endpoint.path in openapi["paths"]
    if endpoint.public_path is not None:
        assert endpoint.public_path in openapi["paths"]


@pytest.mark.parametrize("kind", list(ENDPOINTS), ids=lambda k: k.__name__)
def test_contract_folder_has_a_success_case(kind: type[Fact]) -> None:
    folder = ENDPOINTS[kind].contract_dir
    assert folder is not None
    assert any(200 <= c.status < 300 for c in cases(folder))


@pytest.mark.parametrize("kind", list(ENDPOINTS), ids=lambda k: k.__name__)
def test_level_matches_the_path_and_the_kind(kind: type[Fact]) -> None:
    endpoint = ENDPOINTS[kind]
    assert endpoint.level in endpoint.placeholders()[0]
    assert endpoint.level == kind.level


def test_every_certification_scheme_is_a_kind_of_its_own() -> None:
    assert set(CERTIFICATION_KINDS) == {
        "qualibat", "opqibi", "rge", "qualifelec", "fntp", "cnetp", "cibtp", "probtp",
        "probtp_compliance", "msa",
    }
    for scheme, kind in CERTIFICATION_KINDS.items():
        assert issubclass(kind, Certification)
        assert kind in ENDPOINTS
        assert kind.model_fields["scheme"].default == scheme
    assert Certification not in ENDPOINTS  # the base is not a kind one can ask for


def test_quota_pools() -> None:
    pools = {k: (e.quota.pool, e.quota.limit, e.quota.period) for k, e in ENDPOINTS.items()}
    assert pools[TaxCertificate] == ("api_entreprise:dgfip_attestation_fiscale", 5, 60)
    assert pools[CibtpCertification] == ("api_entreprise:cibtp", 5, 60)
    assert pools[SocialCertificate] == ("api_entreprise:urssaf", 100, 60)
    assert pools[RneExtract] == ("api_entreprise:inpi", 15, 60)
    assert pools[Headcount] == ("api_entreprise:documents", 50, 60)
    for kind in (Identity, RegistryExtract, Turnover, VatNumber, Association):
        assert pools[kind] == ("api_entreprise:json", 250, 60)
    # One pool, one limit: two endpoints never disagree about a shared bucket.
    limits: dict[str, tuple[int, float]] = {}
    for pool, limit, period in pools.values():
        assert limits.setdefault(pool, (limit, period)) == (limit, period)


def test_path_for_fills_the_template() -> None:
    siret = Siret("55204944776279")
    assert ENDPOINTS[TaxCertificate].path_for(siret) == (
        "/v4/dgfip/unites_legales/552049447/attestation_fiscale"
    )
    assert ENDPOINTS[Turnover].path_for(siret) == (
        "/v3/dgfip/etablissements/55204944776279/chiffres_affaires"
    )
    assert ENDPOINTS[Headcount].path_for(Siren("130025265"), year=2023) == (
        "/v3/gip_mds/unites_legales/130025265/effectifs_annuels/2023"
    )
    assert (
        ENDPOINTS[Headcount]
        .path_for(Siren("130025265"))
        .endswith(f"/effectifs_annuels/{date.today().year - 1}")
    )
    assert ENDPOINTS[Association].path_for(Rna("W751004076")) == (
        "/v4/djepva/api-association/associations/W751004076"
    )
    assert ENDPOINTS[Association].path_for(siret, public=True) == (
        "/v4/djepva/api-association/associations/open_data/552049447"
    )
    # Without a public variant the protected path is the only one.
    assert ENDPOINTS[VatNumber].path_for(siret, public=True) == ENDPOINTS[VatNumber].path_for(
        siret
    )


def test_path_for_refuses_the_wrong_identifier() -> None:
    with pytest.raises(InvalidSiret, match="14-digit SIRET"):
        ENDPOINTS[Turnover].path_for(Siren("552049447"))
    with pytest.raises(InvalidSiren, match="not a Rna"):
        ENDPOINTS[VatNumber].path_for(Rna("W751004076"))


def test_association_is_protected_when_authenticated_and_open_data_otherwise() -> None:
    endpoint = ENDPOINTS[Association]
    assert endpoint.template(public=False).endswith("/associations/{siren_or_rna}")
    assert endpoint.template(public=True).endswith("/associations/open_data/{siren_or_rna}")
    assert PROTECTED.required_privileges(Association) == {
        "associations_donnees_protegees", "associations_djepva",
    }
    assert PUBLIC.required_privileges(Association) == {"associations", "open_data"}


# --- Every contract -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "found", "public"), SUCCESSES)
def test_every_success_payload_parses_into_its_kind(
    kind: type[Fact], found: Case, public: bool
) -> None:
    fact = parse_payload(kind, found.payload, ident_of(found), public=public)
    assert type(fact) is kind
    assert fact.provenance.source == "api_entreprise"
    assert fact.provenance.endpoint.startswith("/v")
    if kind is not Identity:
        assert fact.provenance.public is public  # protected evidence: never on anonymous forms
    if isinstance(fact, Certification):
        assert fact.scheme == kind.model_fields["scheme"].default


@pytest.mark.parametrize(("kind", "found", "public"), SUCCESSES)
def test_every_success_payload_is_cached_within_its_validity(
    kind: type[Fact], found: Case, public: bool
) -> None:
    fact = parse_payload(kind, found.payload, ident_of(found), public=public)
    now = datetime(2023, 3, 10, 15, 30, tzinfo=UTC)
    expires_at, stale_until = CachePolicy().expiry(kind, fact, now)
    assert expires_at <= now + timedelta(days=1)  # turnover, headcount...: one day at most
    end = validity_end(getattr(fact, "valid_until", None))
    if end is not None:  # a certificate is never served past its own validity end
        assert expires_at <= end
        assert stale_until <= end
    if getattr(kind, "refresh_hour", None) == 8:  # attestations: refreshed at 08:00 Paris
        assert expires_at <= next_hour_in_paris(now, 8)
    if getattr(fact, "refused", False):
        assert expires_at <= now + timedelta(hours=1)
        assert stale_until == expires_at


def _error_cases() -> list[Any]:
    found = []
    for folder in sorted(p.name for p in API_ENTREPRISE.iterdir() if p.is_dir()):
        for c in cases(folder):
            if not 200 <= c.status < 300:
                found.append(pytest.param(c.status, c.payload, id=f"{folder}/{c.path.name}"))
    return found


def _openapi_error_examples() -> list[Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (API_ENTREPRISE / "openapi.yaml").open(encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    seen: dict[tuple[int, str], Any] = {}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, answer in (operation.get("responses") or {}).items():
                for media in (answer.get("content") or {}).values():
                    for example in (media.get("examples") or {}).values():
                        body = example.get("value") or {}
                        errors = body.get("errors") if isinstance(body, dict) else None
                        if not int(status) >= 400 or not errors:
                            continue
                        key = (int(status), str(errors[0].get("code")))
                        seen.setdefault(key, pytest.param(
                            int(status), body, id=f"openapi-{status}-{key[1]}-{path[:40]}"
                        ))
    return list(seen.values())


EXPECTED: dict[int, type[UpstreamError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: RequestInFlight,
    422: InvalidRequest,
    429: RateLimited,
    451: LegallyUnavailable,
    502: UpstreamUnavailable,
    503: UpstreamUnavailable,
    504: UpstreamUnavailable,
}

LEGAL = {"errors": [{"code": "01005", "title": "Indisponibilité légale",
                     "detail": "L'unité légale est indisponible pour des raisons légales",
                     "meta": {"provider": "INSEE"}}]}


@pytest.mark.parametrize(
    ("status", "payload"),
    [*_error_cases(), *_openapi_error_examples(), pytest.param(451, LEGAL, id="insee-451")],
)
def test_every_error_payload_maps_to_its_typed_error(status: int, payload: Any) -> None:
    request = httpx.Request("GET", "https://entreprise.api.gouv.fr/v4/whatever/552049447")
    headers = {"Retry-After": "12"} if status == 429 else {}
    response = httpx.Response(status, json=payload, headers=headers, request=request)
    error = source_error(ApiEntreprise(Settings()), response)
    assert type(error) is EXPECTED[status]
    assert error.code == payload["errors"][0]["code"]
    assert error.status == status
    if status == 429:
        assert error.retry_after == 12.0
        assert not isinstance(error, NotFound)  # a 429 is never a negative answer
    # An error body is never read as a fact.
    with pytest.raises(UnexpectedPayload):
        parse_payload(TaxCertificate, payload)


def test_error_payloads_cover_the_statuses_of_the_issue() -> None:
    statuses = {p.values[0] for p in [*_error_cases(), *_openapi_error_examples()]}
    assert {401, 403, 404, 409, 422, 429, 502, 504} <= statuses
    assert {c.values[0] for c in _error_cases()} >= {404, 502, 504}


# --- Attestations -----------------------------------------------------------------------------


def test_tax_certificate() -> None:
    fact = parse(TaxCertificate, "attestation_delivree")
    assert isinstance(fact, TaxCertificate)
    assert fact.issued_on == date(2023, 4, 11)
    assert fact.period_analysed == date(2023, 3, 31)
    assert fact.valid_until is None  # the upstream does not say
    assert fact.document is not None
    assert fact.document.url == (
        "https://entreprise.api.gouv.fr/files/attestation-fiscale-dgfip-exemple.pdf"
    )
    assert fact.document.filename == "attestation-fiscale-dgfip-exemple.pdf"
    assert fact.document.media_type == "application/pdf"
    assert expires(fact.document, fact, 1234567)
    assert fact.provenance.endpoint == "/v4/dgfip/unites_legales/306138900/attestation_fiscale"
    assert fact.provenance.public is False
    assert TaxCertificate.level == "siren"
    assert TaxCertificate.refresh_hour == 8


def test_tax_certificate_v3_payload() -> None:
    fact = parse(TaxCertificate, "200", V3_VARIANTS[TaxCertificate])
    assert expires(fact.document, fact, 1234567)
    assert fact.issued_on is None


@pytest.mark.parametrize(
    ("folder", "code"),
    [
        ("api_entreprise_v4_dgfip_attestations_fiscales", "03003"),
        ("api_entreprise_v4_acoss_attestations_sociales", "04003"),
    ],
)
def test_entity_out_of_scope_is_not_found(folder: str, code: str) -> None:
    found = case(folder, "entite_hors_perimetre")
    response = httpx.Response(
        404, json=found.payload, request=httpx.Request("GET", "https://e.test/v4/x")
    )
    error = source_error(ApiEntreprise(Settings()), response)
    assert isinstance(error, NotFound)
    assert error.code == code
    assert not error.transient


def test_social_certificate_delivered() -> None:
    fact = parse(SocialCertificate, "attestation_delivree")
    assert isinstance(fact, SocialCertificate)
    assert fact.status == "delivered"
    assert fact.refused is False
    assert fact.valid_from == date(2023, 1, 31)
    assert fact.valid_until == date(2023, 7, 31)
    assert fact.security_code == "YAB458G1B2T8IZW"
    assert fact.document is not None
    assert fact.document.filename == "attestation_vigilance_test.pdf"
    assert expires(fact.document, fact, 86400)


def test_social_certificate_refusal_is_a_fact() -> None:
    fact = parse(SocialCertificate, "attestation_non_delivree")
    assert fact.status == "refused"
    assert fact.refused is True
    assert fact.status_label == "Délivrance de l'attestation refusée par l'Urssaf"
    assert fact.document is None
    assert (fact.valid_from, fact.valid_until, fact.security_code) == (None, None, None)
    assert fact.model_dump()["refused"] is True


def test_social_certificate_v3_payload_is_delivered() -> None:
    fact = parse(SocialCertificate, "200", V3_VARIANTS[SocialCertificate])
    assert fact.status == "delivered"
    assert expires(fact.document, fact, 7889238)


def test_social_certificate_unknown_status_is_unexpected() -> None:
    data = {"entity_status": {"code": "en_cours"}, "document_url": None}
    with pytest.raises(UnexpectedPayload, match="SocialCertificate"):
        parse_payload(SocialCertificate, {"data": data})


# --- Documents --------------------------------------------------------------------------------


def test_expired_document_url() -> None:
    fact = parse(CnetpCertification, "200")  # expires_in: 600
    document = fact.document
    fetched = fact.provenance.fetched_at
    assert document.url_expires_at == fetched + timedelta(seconds=600)
    assert not document.is_expired(fetched + timedelta(seconds=599))
    assert document.is_expired(fetched + timedelta(seconds=600))
    assert not Document(url="https://e.test/a.pdf").is_expired()  # no known expiry


def test_unbound_document_cannot_fetch() -> None:
    from dlnuf.errors import ConfigurationError

    document = parse(TaxCertificate, "200").document
    with pytest.raises(ConfigurationError, match=r"use client\.fetch_document\(doc\)"):
        document.fetch()


def test_bound_document_fetches_and_binding_is_not_part_of_the_value() -> None:
    fact = parse(TaxCertificate, "200")
    seen: list[Document] = []

    def fetcher(doc: Document) -> bytes:
        seen.append(doc)
        return b"%PDF-1.7"

    unbound = fact.model_copy(deep=True)
    fact.document.bind(fetcher)
    assert fact.document.fetch() == b"%PDF-1.7"
    assert seen == [fact.document]
    assert "_fetcher" not in fact.document.model_dump()
    assert "fetcher" not in fact.model_dump_json()
    assert fact == unbound  # equality ignores the binding
    assert hash(fact.document) == hash(unbound.document)
    assert TaxCertificate.model_validate_json(fact.model_dump_json()) == fact


def test_document_filename_and_media_type() -> None:
    rne = parse(RneExtract, "200").document
    assert rne.filename == "companies.pdf"  # a query-string URL: the path's last segment
    assert rne.url_expires_at is None
    qualifelec = parse(QualifelecCertification, "200-certification-qualifelec_rge_sans-domaine")
    image = qualifelec.details[0].document
    assert image.media_type == "image/jpeg"
    assert image.filename == "exemple-certificat-qualifelec-bac-a-sable.jpg"


def test_document_url_must_be_http() -> None:
    data = {"document_url": "file:///etc/passwd", "document_url_expires_in": 60}
    with pytest.raises(UnexpectedPayload, match="document_url"):
        parse_payload(TaxCertificate, {"data": data})


# --- Registries -------------------------------------------------------------------------------


def test_registry_extract() -> None:
    fact = parse(RegistryExtract, "200")
    assert isinstance(fact, RegistryExtract)
    assert fact.siren == "552049447"
    assert fact.registration_number == "RCS PARIS 552 049 447"
    assert fact.registered_on == date(1985, 7, 1)
    assert fact.extract_date == date(2024, 1, 15)
    assert fact.struck_off_on is None
    assert not fact.struck_off
    assert (fact.court, fact.court_code) == ("PARIS", "7501")
    assert fact.trade_name == "DUPONT INDUSTRIES"
    assert (fact.legal_form_code, fact.legal_form_label) == (
        "SASh",
        "SOCIETE PAR ACTIONS SIMPLIFIEES",
    )
    assert fact.naf_code == "64.20Z"
    assert fact.activity == "Fabrication de produits industriels"
    assert (fact.capital.amount, fact.capital.currency) == (50000.0, "EUR")
    assert fact.head_office.one_line == "22 RUE DE LA PAIX, 75002"
    assert fact.fiscal_year_end == "12-31"
    (director,) = fact.directors
    assert (director.kind, director.name, director.role) == (
        "person",
        "Jean DUPONT",
        "Président du conseil d'administration",
    )
    assert fact.observations[0].recorded_on == date(2020, 1, 1)


def test_registry_extract_reads_mistyped_fields_as_unknown() -> None:
    data = dict(case("api_entreprise_v3_infogreffe_extraits_rcs", "200").payload["data"])
    data |= {"date_immatriculation": 19850701, "capital": "50k", "greffe": ["PARIS"]}
    data |= {"nom_commercial": "[ND]", "mandataires_sociaux": {"nom": "X"}}
    fact = ev.parse_extrait_kbis(data, {}, PROVENANCE)
    assert fact.registered_on is None
    assert fact.capital is None
    assert fact.court is None
    assert fact.registration_number is None
    assert fact.directors == ()
    assert fact.trade_name is None
    assert fact.is_withheld("trade_name")


def test_registry_extract_without_siren_is_unexpected() -> None:
    data = dict(case("api_entreprise_v3_infogreffe_extraits_rcs", "200").payload["data"])
    data["siren"] = "552049448"  # fails the checksum
    with pytest.raises(UnexpectedPayload, match="not a valid SIREN"):
        ev.parse_extrait_kbis(data, {}, PROVENANCE)


def test_directors() -> None:
    fact = parse(Directors, "200")
    assert isinstance(fact, Directors)
    person, company = fact.directors
    assert (person.kind, person.last_name, person.first_names, person.role) == (
        "person",
        "DUPONT",
        "Jean",
        "PRESIDENT",
    )
    assert (company.kind, company.siren, company.role) == (
        "company",
        "784824153",
        "COMMISSAIRE AUX COMPTES TITULAIRE",
    )
    assert company.name == "MAZARS - SOCIETE ANONYME A DIRECTOIRE ET CONSEIL DE SURVEILLANCE"


def test_rne_extract() -> None:
    fact = parse(RneExtract, "200")
    assert isinstance(fact, RneExtract)
    assert fact.siren == "552049447"
    assert fact.legal_name == "SOCIETE NATIONALE SNCF"
    assert fact.registered_on == date(1983, 1, 1)
    assert fact.activity_started_on == date(1983, 1, 15)
    assert fact.dissolved_on is None
    assert (fact.legal_form_code, fact.nature, fact.naf_code) == ("5710", "COMMERCIALE", "49.10Z")
    assert (fact.capital.amount, fact.capital.currency) == (50000.0, "EUR")
    assert fact.head_office.one_line == "2 PLACE AUX ETOILES, 93200 SAINT-DENIS"
    assert [(d.role, d.name) for d in fact.directors] == [("Président", "JEAN DUPONT")]
    assert fact.observations[0].text == "Augmentation de capital de 50000 à 75000 EUR"


def test_rne_extract_of_a_sole_trader_is_named_after_them() -> None:
    data = json.loads(json.dumps(case("api_entreprise_v3_inpi_rne_extrait_rne", "200").payload))
    company = data["data"]["identite_entreprise"]
    company |= {"denomination": None, "nom": "MARTIN", "prenoms": ["Jeanne", None, "Marie"]}
    assert parse_payload(RneExtract, data).legal_name == "Jeanne Marie MARTIN"


# --- Figures ----------------------------------------------------------------------------------


def test_turnover_newest_first() -> None:
    folder = ENDPOINTS[Turnover].contract_dir
    assert folder is not None
    entries = [case(folder, f"200-{year}").payload["data"][0] for year in (2023, 2022, 2024)]
    entries.append({"data": {"chiffre_affaires": "900001", "date_fin_exercice": "2021-12-01"}})
    entries[0]["data"] = {**entries[0]["data"], "chiffre_affaires": 1234567.6}
    fact = ev.parse_chiffres_affaires(entries, {}, PROVENANCE)
    assert isinstance(fact, Turnover)
    assert [(y.closing_date, y.amount) for y in fact.years] == [
        (date(2024, 12, 1), 900001),
        (date(2023, 12, 1), 1234568),
        (date(2022, 12, 1), 900001),
    ]  # the 2021 entry has a string amount: skipped
    assert fact.latest == fact.years[0]
    assert Turnover.level == "siret"


def test_turnover_contract() -> None:
    fact = parse(Turnover, "200-2024")
    assert [(y.amount, y.closing_date, y.start_date) for y in fact.years] == [
        (900001, date(2024, 12, 1), None)
    ]


def test_turnover_with_no_usable_year_is_unexpected() -> None:
    with pytest.raises(UnexpectedPayload, match="Turnover"):
        ev.parse_chiffres_affaires([{"data": {"chiffre_affaires": None}}], {}, PROVENANCE)
    assert ev.parse_chiffres_affaires([], {}, PROVENANCE).years == ()


@pytest.mark.parametrize(
    ("name", "year", "headcount"),
    [
        ("200-2022", 2022, 12.0),
        ("200-2023", 2023, 13.0),
        ("200-2024", 2024, 18.0),
        ("200-boeth", 2024, 3.0),
    ],
)
def test_headcount(name: str, year: int, headcount: float) -> None:
    fact = parse(Headcount, name)
    assert isinstance(fact, Headcount)
    assert (fact.year, fact.headcount, fact.nature) == (year, headcount, "effectif_moyen_annuel")


def test_headcount_takes_the_latest_figure_of_each_regime() -> None:
    fact = parse(Headcount, "200-2023")
    # regime_agricole: 12 on 2023-02-09, then null ("nobody") on 2023-05-09.
    assert fact.headcount == 13.0
    assert [(e.regime, e.value, e.updated_on) for e in fact.regimes] == [
        ("regime_general", 13.0, date(2023, 1, 1)),
        ("regime_agricole", None, date(2023, 5, 9)),
        ("regime_agricole", 12.0, date(2023, 2, 9)),
    ]
    both = {
        "annee": "2023",
        "effectifs_annuel": [
            {"regime": "regime_general", "nature": "effectif_moyen_annuel", "value": 10.5},
            {"regime": "regime_agricole", "nature": "effectif_moyen_annuel", "value": 2},
        ],
    }
    assert ev.parse_effectifs_annuels(both, {}, PROVENANCE).headcount == 12.5
    nobody = {"annee": 2023, "effectifs_annuel": [{"regime": "regime_general", "value": None}]}
    assert ev.parse_effectifs_annuels(nobody, {}, PROVENANCE).headcount is None


def test_vat_number_is_checked_against_the_computed_key() -> None:
    staging = parse(VatNumber, "200")
    assert isinstance(staging, VatNumber)
    assert staging.number == "FR82552049447"
    assert staging.siren == "552049447"
    assert Siren("552049447").vat_number == "FR35552049447"
    assert staging.matches_computed is False  # the staging key is not the computed one
    right = ev.parse_numero_tva({"tva_number": "fr 35 552049447"}, {}, PROVENANCE)
    assert (right.number, right.matches_computed) == ("FR35552049447", True)
    foreign = ev.parse_numero_tva({"tva_number": "DE123456789"}, {}, PROVENANCE)
    assert (foreign.siren, foreign.matches_computed) == (None, False)


# --- Associations -----------------------------------------------------------------------------


def test_association() -> None:
    fact = parse(Association, "association")
    assert isinstance(fact, Association)
    assert (fact.rna, fact.siren) == ("W301000624", "389486242")
    assert fact.title == "ASSOCIATION SPORTIVE SALINDROISE"
    assert fact.object.startswith("Pratique du rugby")
    assert fact.regime == "Loi 1901"
    assert fact.head_office.one_line == "RUE de Cambis, 30340 Salindres"
    assert fact.head_office_siret == "38948624200032"
    assert fact.creation_date == date(1955, 7, 8)
    assert fact.published_on == date(1955, 8, 5)
    assert (fact.public_utility, fact.ess, fact.active) == (False, True, True)
    assert fact.naf_code == "93.12Z"
    assert [(p.role, p.siret) for p in fact.legal_representatives] == [
        ("Autres", "38948624200057"),
        ("Président", "38948624200040"),
        ("Secrétaire générale", "38948624200040"),
    ]
    assert fact.provenance.updated_at == datetime(2020, 6, 8, tzinfo=UTC)
    assert fact.provenance.endpoint == "/v4/djepva/api-association/associations/389486242"
    assert fact.provenance.public is False


def test_alsace_moselle_association_has_no_rna() -> None:
    fact = parse(Association, "association_regime_alsace_moselle")
    assert fact.rna is None
    assert fact.siren == "424179364"
    assert fact.regime == "Alsace-Moselle"
    assert fact.local_registration.court == "Tribunal d'instance de Molsheim"
    assert (fact.local_registration.volume, fact.local_registration.folio) == ("009", "015")
    assert fact.local_registration.registered_on == date(1999, 7, 7)
    assert fact.commercial_taxes is True
    # The head office's representatives come first.
    assert [(p.role, p.siret) for p in fact.legal_representatives] == [
        ("Présidente", "42417936400023"),
        ("Directeur", "42417936400023"),
    ]
    assert fact.approvals[0].authority == "Caisse Allocation Familliale"
    assert fact.approvals[0].granted_on == date(2018, 3, 3)


@pytest.mark.parametrize("public", [False, True])
def test_association_without_siren(public: bool) -> None:
    fact = parse(Association, "association_sans_siren", public=public)
    assert (fact.rna, fact.siren, fact.head_office_siret) == ("W604004799", None, None)
    assert fact.active is False
    assert fact.creation_date is None
    assert fact.published_on == date(2003, 5, 3)


def test_open_data_association_is_public_and_has_no_representatives() -> None:
    fact = parse(Association, "association", public=True)
    assert fact.legal_representatives == ()
    assert fact.provenance.public is True
    assert fact.provenance.endpoint == (
        "/v4/djepva/api-association/associations/open_data/389486242"
    )


def test_association_rna_v3() -> None:
    data = case("api_entreprise_v3_mi_associations", "200").payload["data"]
    fact = ev.parse_association_rna(data, {}, PROVENANCE)
    assert fact.rna == "W751234567"
    assert fact.title == "ASSOCIATION POUR LE DEVELOPPEMENT DU NUMERIQUE"
    assert fact.creation_date == date(2001, 5, 15)
    assert fact.head_office.postal_code == "75007"
    # 44306184100028 (staging) fails the SIRET checksum: no SIRET, no SIREN from it.
    assert (fact.head_office_siret, fact.siren) == (None, None)
    other = ev.parse_association_rna({**data, "siret": "38948624200057"}, {}, PROVENANCE)
    assert (other.head_office_siret, other.siren) == (None, "389486242")


def test_association_without_any_identity_is_unexpected() -> None:
    with pytest.raises(UnexpectedPayload, match="no rna, siren or nom"):
        ev.parse_association({"rna": None, "siren": None, "nom": None}, {}, PROVENANCE)


# --- Certifications ---------------------------------------------------------------------------


def test_qualibat() -> None:
    fact = parse(QualibatCertification, "200")
    assert isinstance(fact, QualibatCertification)
    assert (fact.scheme, fact.valid_from, fact.valid_until) == (
        "qualibat",
        date(2023, 1, 1),
        date(2024, 2, 2),
    )
    (qualification,) = fact.details
    assert (qualification.code, qualification.rge, qualification.granted_on) == (
        "4322",
        False,
        date(2022, 3, 3),
    )
    assert [(i.kind, i.name) for i in fact.insurances] == [
        ("works_liability", "GROUPAMA"),
        ("civil_liability", "GROUPAMA"),
    ]
    assert fact.document.filename == "exemple-qualibat.pdf"
    assert fact.is_valid_on(date(2024, 2, 2)) is True
    assert fact.is_valid_on(date(2024, 2, 3)) is False


def test_qualibat_v3_is_a_document() -> None:
    fact = parse(QualibatCertification, "200", V3_VARIANTS[QualibatCertification])
    assert (fact.details, fact.valid_until) == ((), None)
    assert expires(fact.document, fact, 7889238)
    assert fact.is_valid_on(date(2024, 1, 1)) is None


def test_opqibi() -> None:
    fact = parse(OpqibiCertification, "200")
    assert (fact.reference, fact.valid_from, fact.valid_until) == (
        "string",
        date(2021, 1, 28),
        date(2025, 2, 21),
    )
    assert fact.url == "https://www.opqibi.com/fiche/1777"
    assert [(q.code, q.probationary) for q in fact.details] == [("1331", False), ("1331", True)]
    assert fact.insurances[0].name == "ALLIANZ - XL INSURANCE"


def test_rge() -> None:
    fact = parse(RgeCertification, "200")
    assert (fact.valid_from, fact.valid_until) == (date(2020, 12, 24), date(2025, 8, 1))
    assert [q.body for q in fact.details] == ["qualibat", "qualifelec"]
    first = fact.details[0]
    assert (first.code, first.certificate, first.rge) == ("32", "Qualisol CESI", True)
    assert first.domains == ("Fenêtres, volets, portes extérieures 2020",)
    assert first.document.filename == "exemple-ademe-rge-certificat_qualibat.pdf"


def test_rge_leaves_archived_certificates_out() -> None:
    folder = ENDPOINTS[RgeCertification].contract_dir
    assert folder is not None
    data = json.loads(json.dumps(case(folder, "200").payload["data"]))
    data[0]["data"]["meta"]["archived"] = True
    assert [q.body for q in ev.parse_rge(data, {}, PROVENANCE).details] == ["qualifelec"]


def test_qualifelec() -> None:
    two = parse(QualifelecCertification,
                "200-certification-qualifelec_2-certificats_sans-domaine")
    assert [(q.code, q.valid_until) for q in two.details] == [
        ("2840", date(2024, 1, 31)),
        ("2841", date(2024, 7, 31)),
    ]
    assert (two.valid_from, two.valid_until) == (date(2023, 2, 1), date(2024, 7, 31))
    probation = parse(QualifelecCertification, "200-certification-qualifelec_probatoire_rge")
    (qualification,) = probation.details
    assert (qualification.rge, qualification.probationary) == (True, True)
    assert qualification.domains == ("Réseaux de Communications", "Sécurité")
    assert [(i.kind, i.name) for i in probation.insurances] == [
        ("ten_year", "AXA"),
        ("civil_liability", "ALLIANZ IARD"),
    ]


@pytest.mark.parametrize(
    ("kind", "expires_in"),
    [
        (FntpCertification, 7889238),
        (CnetpCertification, 600),
        (CibtpCertification, 600),
        (ProbtpCertification, 7889238),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_document_only_attestations(kind: type[Certification], expires_in: int) -> None:
    fact = parse(kind, "200")
    assert type(fact) is kind
    assert fact.status is None
    assert expires(fact.document, fact, expires_in)


@pytest.mark.parametrize(
    ("kind", "case_name", "status"),
    [
        (ProbtpCompliance, "200", "compliant"),
        (ProbtpCompliance, "200_non_conforme", "non_compliant"),
        (MsaCertification, "200", "compliant"),
    ],
    ids=str,
)
def test_compliance(kind: type[Certification], case_name: str, status: str) -> None:
    fact = parse(kind, case_name)
    assert (type(fact), fact.status, fact.document) == (kind, status, None)


@pytest.mark.parametrize(
    ("raw", "status"),
    [("outdated", "non_compliant"), ("under_investigation", "under_investigation")],
)
def test_msa_statuses(raw: str, status: str) -> None:
    assert ev.parse_msa({"status": raw}, {}, PROVENANCE).status == status


# --- Malformed payloads -----------------------------------------------------------------------

JUNK: list[Any] = [None, 42, "data", [], {}, {"data": {}}, [None, 1, "x"], True]
COLLECTIONS = (Turnover, RgeCertification, QualifelecCertification, Directors)


@pytest.mark.parametrize("kind", list(ENDPOINTS), ids=lambda k: k.__name__)
@pytest.mark.parametrize("data", JUNK, ids=repr)
def test_junk_is_an_unexpected_payload(kind: type[Fact], data: Any) -> None:
    if data == [] and kind in COLLECTIONS:
        assert isinstance(parse_payload(kind, {"data": data}), kind)  # an empty collection
        return
    with pytest.raises(UnexpectedPayload) as info:
        parse_payload(kind, {"data": data})
    assert info.value.source == "api_entreprise"


@pytest.mark.parametrize("data", JUNK, ids=repr)
def test_junk_rna_record_is_an_unexpected_payload(data: Any) -> None:
    with pytest.raises(UnexpectedPayload):
        ev.parse_association_rna(data, {}, PROVENANCE)


def test_a_body_that_is_not_an_object_is_unexpected() -> None:
    with pytest.raises(UnexpectedPayload, match="JSON list"):
        parse_payload(VatNumber, [])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


def _shaped(kind: type[Fact], name: str) -> st.SearchStrategy[Any]:
    """The real payload's ``data`` with each field kept, dropped or replaced by random JSON."""
    folder = ENDPOINTS[kind].contract_dir
    assert folder is not None
    data = case(folder, name).payload["data"]
    sample = data[0]["data"] if isinstance(data, list) else data
    shaped = st.fixed_dictionaries({}, optional={k: st.just(v) | JSON for k, v in sample.items()})
    if isinstance(data, list):
        return st.lists(st.fixed_dictionaries({"data": shaped}) | JSON, max_size=3)
    return shaped


FUZZED = [
    (SocialCertificate, "attestation_delivree"),
    (RegistryExtract, "200"),
    (Association, "association_regime_alsace_moselle"),
    (Turnover, "200-2024"),
    (QualifelecCertification, "200-certification-qualifelec_probatoire_rge"),
]


@pytest.mark.parametrize(("kind", "case_name"), FUZZED, ids=str)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_json_gives_a_fact_or_unexpected_payload(
    kind: type[Fact], case_name: str, data: st.DataObject
) -> None:
    value = data.draw(JSON | _shaped(kind, case_name))
    meta = data.draw(st.dictionaries(st.text(max_size=8), JSON, max_size=3))
    try:
        fact = parse_payload(kind, {"data": value, "meta": meta})
    except UnexpectedPayload:
        return
    assert type(fact) is kind
    assert type(fact).model_validate_json(fact.model_dump_json()) == fact
