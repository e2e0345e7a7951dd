"""Collecting evidence through the clients, against the fake API Entreprise (dlnuf.testing).

Each "bad input and fault" of the evidence issue, sync and async where the
behaviour is the same: a dossier with one provider down, a token without the
privilege, a missing token, a recipient equal to the company, a vigilance
refusal, an expired document URL, the typed error of each error payload, and no
429 reaching the caller when 20 dossiers are collected at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

import dlnuf
from conftest import ClientFacade
from contracts import API_ENTREPRISE, load_cases
from dlnuf.cache.policy import next_hour_in_paris
from dlnuf.config import Settings
from dlnuf.facts.base import Fact
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.sources.api_entreprise import ENDPOINTS, ApiEntreprise
from dlnuf.testing import FakeCompany, FakeUpstreams, make_company
from dlnuf.testing import payloads as kit
from dlnuf.testing.evidence import FILES_URL, register_evidence, render
from vigilance_kit import scaled_source

TOKEN = "eyJhbGciOiJIUzI1NiJ9.evidence-test-token"
DINUM = "13002526500013"
COMPANY = make_company("association", seed="evidence")
"""An association: every kind of ENDPOINTS has an answer for it."""
ALL_KINDS: list[type[Fact]] = list(ENDPOINTS)
PDF = b"%PDF-1.4 test document"


def _free() -> MemoryRateLimiter:
    return MemoryRateLimiter(burst=1000, safety=1.0)

MakeClient = Callable[..., ClientFacade]


class Recording(FakeUpstreams):
    """The fake API Entreprise, remembering the path of every request it got.

    ``pings`` sets what ``/ping/<provider>`` says for a provider (``"maintenance"``...).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paths: list[str] = []
        self.pings: dict[str, str] = {}

    def side_effect(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.paths.append(path)
        provider = path.removeprefix("/ping/")
        if provider in self.pings:
            return httpx.Response(200, json={"status": self.pings[provider]})
        return super().side_effect(request)

    def asked(self, kind: type[Fact], company: FakeCompany = COMPANY) -> int:
        """How many times the endpoint of ``kind`` was called for ``company``."""
        path = ENDPOINTS[kind].path_for(dlnuf.Siret(company.siret))
        return self.paths.count(path)


def settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {
        "sources": ("api_entreprise",),
        "api_entreprise_token": TOKEN,
        "recipient": DINUM,
        "context": "Marché public",
        "object": "DCE 2026-042",
        "authenticated": True,
        "cache": None,
        "retries": 0,
    }
    values.update(changes)
    return Settings(**values)


def path_of(kind: type[Fact], company: FakeCompany = COMPANY) -> str:
    return ENDPOINTS[kind].path_for(dlnuf.Siret(company.siret))


@pytest.fixture
def routes() -> Iterator[None]:
    """The evidence endpoints registered in the fakes, for this test only."""
    saved = list(kit.API_ENTREPRISE_ROUTES)
    register_evidence()
    yield
    kit.API_ENTREPRISE_ROUTES[:] = saved


@pytest.fixture
def fake(routes: None) -> Iterator[Recording]:
    upstreams = Recording([COMPANY])
    with upstreams.mock():
        yield upstreams


@pytest.fixture
def files() -> Iterator[respx.Router]:
    """The document storage: every file is :data:`PDF`."""
    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=FILES_URL).mock(
            return_value=httpx.Response(200, content=PDF,
                                        headers={"Content-Type": "application/pdf"})
        )
        yield router


# --- A dossier of every kind --------------------------------------------------------------------


def test_a_dossier_of_every_kind(fake: Recording, make_client: MakeClient) -> None:
    client = make_client(settings=settings())
    dossier = client.collect(COMPANY.siret, ALL_KINDS)
    assert dossier.errors == {}
    assert set(dossier.facts) == set(ALL_KINDS)
    for kind, fact in dossier.facts.items():
        assert type(fact) is kind
        assert fact.provenance.source == "api_entreprise"
    assert fake.paths.count("/privileges") == 1  # read once per token


def test_one_provider_down_the_dossier_holds_every_other_fact(
    fake: Recording, make_client: MakeClient
) -> None:
    down = load_cases(API_ENTREPRISE / ENDPOINTS[dlnuf.CnetpCertification].contract_dir)
    payload = next(c.payload for c in down if c.status == 504)
    fake.respond(path_of(dlnuf.SocialCertificate), 504, payload)
    client = make_client(settings=settings())
    dossier = client.collect(COMPANY.siret, ALL_KINDS)
    assert list(dossier.errors) == [dlnuf.SocialCertificate]
    error = dossier.errors[dlnuf.SocialCertificate]
    assert isinstance(error, dlnuf.UpstreamUnavailable)
    assert error.status == 504
    assert set(dossier.facts) == set(ALL_KINDS) - {dlnuf.SocialCertificate}
    with pytest.raises(dlnuf.UpstreamUnavailable):
        dossier[dlnuf.SocialCertificate]


def test_siren_level_kinds_accept_a_siren_or_a_siret(
    fake: Recording, make_client: MakeClient
) -> None:
    client = make_client(settings=settings())
    siren_level = [k for k in ALL_KINDS if k.level == "siren"]
    by_siren = client.collect(COMPANY.siren, ALL_KINDS)
    assert set(by_siren.facts) == set(siren_level)
    for kind in set(ALL_KINDS) - set(siren_level):  # one establishment: a SIRET is needed
        assert isinstance(by_siren.errors[kind], dlnuf.InvalidSiret)
    by_siret = client.get(COMPANY.siret, dlnuf.TaxCertificate)
    assert by_siret.provenance.from_cache  # the same legal-unit fact, cached under its SIREN
    assert by_siret.provenance.endpoint == path_of(dlnuf.TaxCertificate)


# --- Privileges, providers down ------------------------------------------------------------------


def test_a_kind_the_token_may_not_call_is_forbidden_without_a_request(
    routes: None, make_client: MakeClient
) -> None:
    every = set().union(*(e.privileges for e in ENDPOINTS.values()))
    granted = every - {"attestations_fiscales", "attestation_fiscale_dgfip"}
    upstreams = Recording([COMPANY], privileges=granted)
    with upstreams.mock():
        client = make_client(settings=settings())
        kinds = [dlnuf.Identity, dlnuf.TaxCertificate, dlnuf.SocialCertificate]
        dossier = client.collect(COMPANY.siret, kinds)
        again = client.collect(COMPANY.siret, [dlnuf.TaxCertificate])
    error = dossier.errors[dlnuf.TaxCertificate]
    assert type(error) is dlnuf.Forbidden
    assert "attestations_fiscales" in str(error)
    assert TOKEN not in str(error)
    assert isinstance(again.errors[dlnuf.TaxCertificate], dlnuf.Forbidden)
    assert set(dossier.facts) == {dlnuf.Identity, dlnuf.SocialCertificate}
    assert upstreams.asked(dlnuf.TaxCertificate) == 0  # never sent
    assert upstreams.paths.count("/privileges") == 1  # read once per client


def test_privileges_that_cannot_be_read_are_not_checked(
    fake: Recording, make_client: MakeClient
) -> None:
    fake.respond("/privileges", 200, {"unexpected": "shape"})
    client = make_client(settings=settings())
    assert client.get(COMPANY.siret, dlnuf.TaxCertificate).document is not None
    assert fake.paths.count("/privileges") == 1


def test_concurrent_kinds_read_the_privileges_once(routes: None) -> None:
    upstreams = Recording([COMPANY])

    async def collect() -> dlnuf.Dossier:
        async with dlnuf.AsyncClient(settings=settings(), cache="memory://",
                                     limiter=MemoryRateLimiter(burst=100)) as client:
            return await client.collect(COMPANY.siret, ALL_KINDS)

    with upstreams.mock():
        dossier = asyncio.run(collect())
    assert dossier.ok
    assert upstreams.paths.count("/privileges") == 1


def test_a_provider_pinged_down_is_skipped_for_the_next_kinds(fake: Recording) -> None:
    fake.respond(path_of(dlnuf.TaxCertificate), 502, {"errors": [
        {"code": "03999", "title": "Erreur du fournisseur", "meta": {"provider": "DGFIP"}}
    ]})
    fake.pings["dgfip"] = "maintenance"
    with dlnuf.Client(settings=settings(), cache="memory://",
                      limiter=_free()) as client:
        dossier = client.collect(COMPANY.siret, [
            dlnuf.TaxCertificate, dlnuf.VatNumber, dlnuf.Turnover,
        ])
    assert fake.asked(dlnuf.TaxCertificate) == 1
    assert isinstance(dossier.errors[dlnuf.TaxCertificate], dlnuf.UpstreamUnavailable)
    # Turnover is DGFIP too: pinged once, down, so not requested.
    assert fake.paths.count("/ping/dgfip") == 1
    assert fake.asked(dlnuf.Turnover) == 0
    skipped = dossier.errors[dlnuf.Turnover]
    assert isinstance(skipped, dlnuf.UpstreamUnavailable)
    assert "/ping/dgfip" in str(skipped)
    assert set(dossier.facts) == {dlnuf.VatNumber}  # the other providers answered


def test_a_provider_pinged_up_is_called_again(fake: Recording) -> None:
    fake.respond(path_of(dlnuf.TaxCertificate), 502, {"errors": [{"code": "03999"}]})
    fake.pings["dgfip"] = "ok"
    with dlnuf.Client(settings=settings(), cache="memory://",
                      limiter=_free()) as client:
        dossier = client.collect(COMPANY.siret, [dlnuf.TaxCertificate, dlnuf.Turnover])
    assert fake.paths.count("/ping/dgfip") == 1
    assert fake.asked(dlnuf.Turnover) == 1
    assert list(dossier.facts) == [dlnuf.Turnover]


def test_ping_is_sent_without_the_token() -> None:
    source = ApiEntreprise(settings())
    request = source.ping_request("dgfip")
    assert request.url.path == "/ping/dgfip"
    assert "authorization" not in request.headers
    assert source.parse_ping(httpx.Response(200, json={"status": "ok"}))
    assert source.parse_ping(httpx.Response(200, json={"status": "unknown"}))
    assert not source.parse_ping(httpx.Response(200, json={"status": "maintenance"}))
    assert not source.parse_ping(httpx.Response(200, json={"status": "HASISSUES"}))


def test_privileges_payload_shapes() -> None:
    source = ApiEntreprise(settings())
    request = source.privileges_request()
    assert request.url.path == "/privileges"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert source.parse_privileges(
        httpx.Response(200, json={"data": {"privileges": ["etablissements", "b", 3]}})
    ) == {"etablissements", "b"}
    assert source.parse_privileges(
        httpx.Response(200, json={"privileges": ["attestations_fiscales"]})
    ) == {"attestations_fiscales"}
    assert source.parse_privileges(httpx.Response(200, json={"privileges": []})) == frozenset()
    with pytest.raises(dlnuf.UnexpectedPayload):
        source.parse_privileges(httpx.Response(200, json={"data": {}}))


def test_unrecognised_privilege_names_refuse_nothing(
    fake: Recording, make_client: MakeClient
) -> None:
    # The privilege names are not in the contracts: if upstream renames them all, dlnuf
    # must not start refusing calls the token may make. It lets the upstream decide.
    fake.respond("/privileges", 200, {"privileges": ["renamed_scope_1", "renamed_scope_2"]})
    client = make_client(settings=settings())
    assert client.get(COMPANY.siret, dlnuf.TaxCertificate).document is not None
    assert fake.paths.count("/privileges") == 1


# --- Configuration refused before anything is sent -------------------------------------------


def test_a_missing_token_is_a_configuration_error_before_any_request(
    fake: Recording, make_client: MakeClient
) -> None:
    client = make_client(settings=settings(api_entreprise_token=None))
    dossier = client.collect(COMPANY.siret, [dlnuf.TaxCertificate, dlnuf.SocialCertificate])
    for error in dossier.errors.values():
        assert isinstance(error, dlnuf.ConfigurationError)
        assert "api_entreprise_token" in str(error)
    with pytest.raises(dlnuf.ConfigurationError, match="needs a token"):
        client.get(COMPANY.siret, dlnuf.Turnover)
    assert fake.paths == []


SAME_UNIT = next(
    candidate for n in range(99999, 0, -1)
    if dlnuf.Siret.is_valid(candidate := COMPANY.siren + f"{n:05d}")
)
"""Another establishment of the company: a recipient with its SIREN is refused too."""


@pytest.mark.parametrize("recipient", [COMPANY.siret, SAME_UNIT])
def test_a_recipient_equal_to_the_company_is_refused_before_any_request(
    fake: Recording, make_client: MakeClient, recipient: str
) -> None:
    client = make_client(settings=settings(recipient=recipient))
    dossier = client.collect(COMPANY.siret, [dlnuf.TaxCertificate, dlnuf.Identity])
    for error in dossier.errors.values():
        assert isinstance(error, dlnuf.ConfigurationError)
        assert "00211" in str(error)
    assert fake.paths == []


# --- Refusals and validity in the cache ----------------------------------------------------------


def test_a_vigilance_refusal_is_a_fact_cached_briefly(
    fake: Recording, make_client: MakeClient
) -> None:
    status, payload = render(dlnuf.SocialCertificate, COMPANY, refused=True)
    fake.respond(path_of(dlnuf.SocialCertificate), status, payload)
    client = make_client(settings=settings())
    fact = client.get(COMPANY.siret, dlnuf.SocialCertificate)
    assert fact.refused
    assert fact.document is None
    fetched = fact.provenance.fetched_at
    assert fact.provenance.expires_at is not None
    assert fact.provenance.expires_at <= fetched + timedelta(hours=1)
    assert client.get(COMPANY.siret, dlnuf.SocialCertificate).provenance.from_cache
    dossier = client.collect(COMPANY.siret, [dlnuf.SocialCertificate])
    assert dossier.facts[dlnuf.SocialCertificate].refused  # a fact, not an error
    assert dossier.valid_on(date.today()) == {}  # but never valid evidence


def test_attestations_expire_at_the_latest_at_the_next_8am_in_paris(
    fake: Recording, make_client: MakeClient
) -> None:
    client = make_client(settings=settings())
    for kind in (dlnuf.TaxCertificate, dlnuf.SocialCertificate):
        fact = client.get(COMPANY.siret, kind)
        assert fact.provenance.expires_at is not None
        assert fact.provenance.expires_at <= next_hour_in_paris(fact.provenance.fetched_at, 8)


def test_a_certificate_is_never_served_from_cache_past_its_validity(
    fake: Recording, make_client: MakeClient
) -> None:
    status, payload = render(dlnuf.QualibatCertification, COMPANY,
                             today=date.today() - timedelta(days=900))
    assert status == 200
    payload["data"]["date_fin_validite"] = (date.today() - timedelta(days=1)).isoformat()
    fake.respond(path_of(dlnuf.QualibatCertification), 200, payload)
    client = make_client(settings=settings(stale_if_error=True))
    first = client.get(COMPANY.siret, dlnuf.QualibatCertification)
    assert first.valid_until == date.today() - timedelta(days=1)
    assert first.provenance.expires_at is not None
    assert first.provenance.expires_at <= datetime.now(UTC)
    fake.respond(path_of(dlnuf.QualibatCertification), 502, {"errors": [{"code": "21999"}]})
    with pytest.raises(dlnuf.UpstreamUnavailable):  # not even as a stale answer
        client.get(COMPANY.siret, dlnuf.QualibatCertification)


# --- Documents -----------------------------------------------------------------------------------


def test_a_document_is_downloaded_once_and_kept(
    fake: Recording, files: respx.Router, make_client: MakeClient
) -> None:
    client = make_client(settings=settings(), cache="memory://")
    cert = client.get(COMPANY.siret, dlnuf.TaxCertificate)
    assert cert.document is not None
    assert client.fetch_document(cert.document) == PDF
    assert client.fetch_document(cert.document) == PDF
    (call,) = files.calls
    sent = call.request
    assert "authorization" not in sent.headers  # the URL is pre-signed: no token to storage
    assert sent.extensions["timeout"]["read"] == 12.0
    # Facts from the cache are bound too, and their bytes are kept.
    cached = client.get(COMPANY.siret, dlnuf.TaxCertificate)
    assert cached.provenance.from_cache
    assert cached.document is not None
    assert cached.document.fetch() == PDF
    assert len(files.calls) == 1


def test_document_fetch_on_a_sync_client_downloads(
    fake: Recording, files: respx.Router
) -> None:
    with dlnuf.Client(settings=settings(), cache="memory://",
                      limiter=_free()) as client:
        cert = client.get(COMPANY.siret, dlnuf.TaxCertificate)
        assert cert.document is not None
        assert cert.document.fetch() == PDF


def test_document_fetch_on_an_async_client_serves_kept_bytes(
    fake: Recording, files: respx.Router
) -> None:
    async def scenario() -> None:
        async with dlnuf.AsyncClient(settings=settings(), cache="memory://",
                      limiter=_free()) as client:
            cert = await client.get(COMPANY.siret, dlnuf.TaxCertificate)
            assert cert.document is not None
            with pytest.raises(dlnuf.ConfigurationError, match=r"await client\.fetch_document"):
                cert.document.fetch()
            assert await client.fetch_document(cert.document) == PDF
            assert cert.document.fetch() == PDF

    asyncio.run(scenario())


def test_an_expired_document_url_is_a_typed_error_but_kept_bytes_are_served(
    fake: Recording, files: respx.Router, make_client: MakeClient
) -> None:
    client = make_client(settings=settings(), cache="memory://")
    cert = client.get(COMPANY.siret, dlnuf.TaxCertificate)
    assert cert.document is not None
    late = cert.document.model_copy(
        update={"url": cert.document.url + "?v=2",
                "url_expires_at": datetime.now(UTC) - timedelta(minutes=1)}
    )
    with pytest.raises(dlnuf.DocumentExpired, match="Collect the fact again"):
        client.fetch_document(late)
    assert files.calls == []  # nothing sent for a link known to be dead
    assert client.fetch_document(cert.document) == PDF
    kept = cert.document.model_copy(update={"url_expires_at": datetime.now(UTC)})
    assert kept.is_expired()
    assert client.fetch_document(kept) == PDF  # the bytes were kept: still served


@pytest.mark.parametrize("status", [403, 404, 410])
def test_a_dead_document_link_is_document_expired(
    fake: Recording, make_client: MakeClient, status: int
) -> None:
    client = make_client(settings=settings())
    cert = client.get(COMPANY.siret, dlnuf.TaxCertificate)
    assert cert.document is not None
    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=FILES_URL).mock(return_value=httpx.Response(status))
        with pytest.raises(dlnuf.DocumentExpired, match=f"HTTP {status}"):
            client.fetch_document(cert.document)


# --- Error payloads through the client -----------------------------------------------------------


def _contract_error(folder: str, status: int) -> dict[str, Any]:
    return next(c.payload for c in load_cases(API_ENTREPRISE / folder) if c.status == status)


ERRORS = [
    (dlnuf.TaxCertificate, 404,
     _contract_error("api_entreprise_v4_dgfip_attestations_fiscales", 404), dlnuf.NotFound),
    (dlnuf.CibtpCertification, 504,
     _contract_error(ENDPOINTS[dlnuf.CibtpCertification].contract_dir or "", 504),
     dlnuf.UpstreamUnavailable),
    (dlnuf.Identity, 502, _contract_error("api_entreprise_v3_insee_successions", 502),
     dlnuf.UpstreamUnavailable),
    (dlnuf.Identity, 403, _contract_error("api_entreprise_v3_insee_successions", 403),
     dlnuf.Forbidden),
    (dlnuf.RegistryExtract, 422, _contract_error("api_entreprise_v3_rnm_entreprises_artisanales",
                                                 422), dlnuf.InvalidRequest),
    (dlnuf.Identity, 451, {"errors": [{"code": "01005", "title": "Indisponible"}]},
     dlnuf.LegallyUnavailable),
    (dlnuf.Turnover, 409, {"errors": [{"code": "00015", "title": "Conflit"}]},
     dlnuf.RequestInFlight),
    (dlnuf.VatNumber, 401, {"errors": [{"code": "00103", "title": "Jeton expiré"}]},
     dlnuf.Unauthorized),
]


@pytest.mark.parametrize(("kind", "status", "payload", "expected"), ERRORS,
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_error_payload_is_its_typed_error_in_the_dossier(
    fake: Recording, make_client: MakeClient, kind: type[Fact], status: int,
    payload: dict[str, Any], expected: type[Exception],
) -> None:
    fake.respond(path_of(kind), status, payload)
    client = make_client(settings=settings())
    dossier = client.collect(COMPANY.siret, [kind, dlnuf.SocialCertificate])
    assert type(dossier.errors[kind]) is expected
    assert dossier.errors[kind].code == payload["errors"][0]["code"]
    assert dlnuf.SocialCertificate in dossier.facts


def test_a_429_is_never_a_negative_answer(fake: Recording, make_client: MakeClient) -> None:
    fake.respond(path_of(dlnuf.TaxCertificate), 429,
                 {"errors": [{"code": "00429", "title": "Trop de requêtes"}]})
    client = make_client(settings=settings(max_retry_wait=0.0))
    dossier = client.collect(COMPANY.siret, [dlnuf.TaxCertificate])
    assert type(dossier.errors[dlnuf.TaxCertificate]) is dlnuf.RateLimited
    asked = fake.asked(dlnuf.TaxCertificate)
    fake.respond(path_of(dlnuf.TaxCertificate), *render(dlnuf.TaxCertificate, COMPANY))
    again = client.get(COMPANY.siret, dlnuf.TaxCertificate)  # not cached as "not found"
    assert again.document is not None
    assert fake.asked(dlnuf.TaxCertificate) == asked + 1


# --- Quotas: 20 dossiers at once ------------------------------------------------------------------

SPEEDUP = 120.0
"""The fake's minutes last half a second; the client is told the same limits."""
TENDER = [dlnuf.Identity, dlnuf.TaxCertificate, dlnuf.SocialCertificate,
          dlnuf.RegistryExtract, dlnuf.Turnover]


def _twenty() -> list[FakeCompany]:
    return [make_company("association", seed=f"quota-{n}") for n in range(20)]


def test_twenty_dossiers_at_once_never_see_a_429_async(routes: None) -> None:
    companies = _twenty()
    upstreams = FakeUpstreams(companies, speedup=SPEEDUP)

    async def collect_all() -> list[dlnuf.Dossier]:
        async with dlnuf.AsyncClient(sources=[scaled_source(SPEEDUP, settings(retries=3))],
                                     settings=settings(retries=3), cache=None,
                                     limiter=MemoryRateLimiter()) as client:
            return await asyncio.gather(*(client.collect(c.siret, TENDER) for c in companies))

    with upstreams.mock():
        dossiers = asyncio.run(collect_all())
    for dossier in dossiers:
        assert dossier.errors == {}, dossier.errors
        assert set(dossier.facts) == set(TENDER)
    assert upstreams.stats()["requests"]["api_entreprise"] >= 20 * len(TENDER)


def test_twenty_dossiers_at_once_never_see_a_429_threads(routes: None) -> None:
    companies = _twenty()
    upstreams = FakeUpstreams(companies, speedup=SPEEDUP)
    with upstreams.mock(), dlnuf.Client(sources=[scaled_source(SPEEDUP, settings(retries=3))],
                                        settings=settings(retries=3), cache=None,
                                        limiter=MemoryRateLimiter()) as client, \
            ThreadPoolExecutor(max_workers=20) as pool:
        dossiers = list(pool.map(lambda c: client.collect(c.siret, TENDER), companies))
    for dossier in dossiers:
        assert not any(isinstance(e, dlnuf.RateLimited) for e in dossier.errors.values())
        assert dossier.errors == {}, dossier.errors


def test_secrets_never_reach_errors_or_cached_values(
    fake: Recording, make_client: MakeClient
) -> None:
    fake.respond(path_of(dlnuf.TaxCertificate), 403, {"errors": [{
        "code": "00100", "title": "Privilèges insuffisants", "detail": f"token {TOKEN}"}]})
    client = make_client(settings=settings(), cache="memory://")
    dossier = client.collect(COMPANY.siret, [dlnuf.TaxCertificate, dlnuf.SocialCertificate])
    error = dossier.errors[dlnuf.TaxCertificate]
    assert TOKEN not in str(error) + repr(error)
    fact = dossier.facts[dlnuf.SocialCertificate]
    assert TOKEN not in json.dumps(fact.model_dump(mode="json"))
    assert TOKEN not in repr(client.client) + repr(client.sources)
