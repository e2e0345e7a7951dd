"""The fault matrix: each identity source x each hostile behaviour, over real loopback HTTP.

Every cell runs a real client against :mod:`hostile` servers (``127.0.0.1`` is the
source's origin, ``127.0.0.2`` a foreign one) and asserts three things: the typed
outcome (a fact, or the ``DlnufError`` subclass), the cache state afterwards
(nothing cached for a fault, a negative entry only for a genuine "not found"), and
that no credential ever reached the foreign origin. ``docs/errors.md`` shows this
table; :data:`CELLS` is its source.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

import dlnuf
from dlnuf.cache import MemoryCache
from dlnuf.cache.base import cache_key
from dlnuf.config import Settings
from dlnuf.errors import (
    DlnufError,
    NotFound,
    RateLimited,
    RefusedUrl,
    ResponseTooLarge,
    Unauthorized,
    UnexpectedPayload,
    UpstreamUnavailable,
)
from dlnuf.facts.base import utcnow
from dlnuf.facts.identity import Identity
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.redaction import MIN_ECHO
from dlnuf.testing.companies import FakeCompany, make_company
from dlnuf.testing.hostile import (
    Behaviour,
    Hostile,
    gzip_bomb,
    gzipped,
    json_body,
    nested,
    raw,
    redirect,
    trickle,
)
from dlnuf.testing.payloads import (
    api_entreprise_error,
    api_entreprise_establishment,
    insee_error,
    insee_response,
    recherche_error,
    recherche_result,
    recherche_search,
)

INSEE_KEY = "K3yOfTheInseeIntegration0123456789abcdef"
TOKEN = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkbG51Zi10ZXN0LXN1YmplY3QiLCJqdGkiOiJhYmMxMjMifQ"
    ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1mb3ItdGVzdHM"
)
SECRETS = (INSEE_KEY, TOKEN)
SOURCES = ("recherche_entreprises", "insee_sirene", "api_entreprise")


class KeptCache(MemoryCache):
    """A memory cache that outlives the clients using it (to look at it afterwards)."""

    def close(self) -> None:
        pass


# -- what each source asks and answers ---------------------------------------------------


def _path(source: str, siret: str, public: bool = False) -> str:
    if source == "recherche_entreprises":
        return "/search"
    if source == "insee_sirene":
        return f"/siret/{siret}"
    scope = "diffusibles/" if public else ""
    return f"/v4/insee/sirene/etablissements/{scope}{siret}"


def _payload(source: str, c: FakeCompany) -> dict[str, Any]:
    if source == "recherche_entreprises":
        return recherche_search([recherche_result(c)])
    if source == "insee_sirene":
        return insee_response(c)
    return api_entreprise_establishment(c)


def _error(source: str, status: int, text: str) -> dict[str, Any]:
    if source == "recherche_entreprises":
        return recherche_error(text)
    if source == "insee_sirene":
        return insee_error(status, text)
    return api_entreprise_error("00101", "Interdit", text)


def _unit(source: str, body: dict[str, Any]) -> dict[str, Any]:
    """The part of ``body`` holding the legal unit's values."""
    if source == "recherche_entreprises":
        unit: dict[str, Any] = body["results"][0]
        return unit
    if source == "insee_sirene":
        unit = body["etablissement"]["uniteLegale"]
        return unit
    unit = body["data"]["unite_legale"]
    return unit


def _wrong_type(source: str, body: dict[str, Any]) -> dict[str, Any]:
    """A number where the legal name is expected."""
    unit = _unit(source, body)
    if source == "recherche_entreprises":
        unit["nom_raison_sociale"] = 12345
    elif source == "insee_sirene":
        unit["denominationUniteLegale"] = 12345
    else:
        unit["personne_morale_attributs"]["raison_sociale"] = 12345
        unit["personne_physique_attributs"]["prenom_usuel"] = 12345
    return body


def _missing(source: str, body: dict[str, Any]) -> dict[str, Any]:
    """The identifiers the answer is about, dropped."""
    if source == "recherche_entreprises":
        del body["results"][0]["siren"]
    elif source == "insee_sirene":
        del body["etablissement"]["siret"]
    else:
        del body["data"]["siret"]
    return body


def _partially_diffusible(source: str, body: dict[str, Any]) -> dict[str, Any]:
    """An unmasked payload whose status says the person chose partial diffusion."""
    if source == "recherche_entreprises":
        body["results"][0]["statut_diffusion"] = "P"
    elif source == "insee_sirene":
        body["etablissement"]["statutDiffusionEtablissement"] = "P"
        body["etablissement"]["uniteLegale"]["statutDiffusionUniteLegale"] = "P"
    else:
        body["data"]["status_diffusion"] = "partiellement_diffusible"
        body["data"]["unite_legale"]["status_diffusion"] = "partiellement_diffusible"
    return body


def _echo(secret: str) -> str:
    """An error text quoting a secret in part: a JWT segment, its start, lower-cased."""
    segments = secret.split(".")
    middle = segments[1] if len(segments) > 1 else secret[5:30]
    return f"bad credential {middle} (starts {secret[:20]}, seen as {secret.lower()})"


# -- the cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """What a cell can use: the company asked, another one, the source, both servers."""

    source: str
    company: FakeCompany
    other: FakeCompany
    origin: Hostile
    foreign: Hostile

    def payload(self, company: FakeCompany | None = None) -> dict[str, Any]:
        return _payload(self.source, company or self.company)


@dataclass(frozen=True)
class Cell:
    """One behaviour: how the origin answers, and what the client must end with."""

    name: str
    behaviour: Callable[[World], Behaviour]
    outcome: type[DlnufError] | type[Identity]
    cached: str = "no"
    """``fact``, ``not-found`` (a negative entry) or ``no``."""
    already: bool = False
    """Handled before issue 8 (kept in the matrix as a guard)."""
    client: dict[str, Any] | None = None
    public: bool = False
    check: Callable[[World, Any], None] | None = None
    only: tuple[str, ...] = SOURCES


def _same_origin(w: World) -> Behaviour:
    target = "/moved"
    w.origin.route(target, json_body(w.payload()))
    return redirect(f"{w.origin.url}{target}", 302)


def _foreign_redirect(w: World) -> Behaviour:
    w.foreign.route("*", json_body(w.payload()))
    return redirect(f"{w.foreign.url}{_path(w.source, str(w.company.siret))}?steal=1", 302)


def _insee_301(w: World) -> Behaviour:
    kept = f"/siret/{w.other.siret}"
    w.origin.route(kept, json_body(w.payload(w.other)))
    return redirect(f"{w.origin.url}{kept}", 301)


def _redirected(w: World, fact: Any) -> None:
    assert fact.siret == w.other.siret
    assert fact.redirected_from == w.company.siret


def _withheld(w: World, fact: Any) -> None:
    assert fact.legal_name is None
    assert "legal_name" in fact.withheld
    assert fact.address.street_name is None
    assert fact.address.postal_lines == ()
    assert fact.provenance.public is True


def _secret_echo(w: World) -> Behaviour:
    secret = INSEE_KEY if w.source == "insee_sirene" else TOKEN
    return json_body(_error(w.source, 401, _echo(secret)), status=401)


CELLS: tuple[Cell, ...] = (
    Cell("200 answer", lambda w: json_body(w.payload()), Identity, "fact", already=True),
    Cell("200 gzip-encoded", lambda w: gzipped(w.payload()), Identity, "fact", already=True),
    Cell("redirect within the origin", _same_origin, Identity, "fact", already=True),
    Cell("INSEE 301 to the SIRET kept", _insee_301, Identity, "fact", check=_redirected,
         only=("insee_sirene",)),
    Cell("302 to another origin", _foreign_redirect, RefusedUrl),
    Cell("404 unknown", lambda w: json_body(_error(w.source, 404, "inconnu"), 404), NotFound,
         "not-found", already=True),
    Cell("429 quota", lambda w: json_body(_error(w.source, 429, "quota"), 429), RateLimited,
         already=True),
    Cell("503 down", lambda w: json_body(_error(w.source, 503, "maintenance"), 503),
         UpstreamUnavailable, already=True),
    Cell("401 echoing the secret in part", _secret_echo, Unauthorized,
         only=("insee_sirene", "api_entreprise")),
    Cell("200 non-JSON text", lambda w: raw(b"not json", content_type="text/plain"),
         UnexpectedPayload, already=True),
    Cell("200 empty body", lambda w: raw(b""), UnexpectedPayload, already=True),
    Cell("200 HTML maintenance page",
         lambda w: raw(b"<html><body>Maintenance</body></html>", content_type="text/html"),
         UpstreamUnavailable),
    Cell("200 trickled at 1 byte / 0.1 s", lambda w: trickle(0.1), UpstreamUnavailable,
         client={"deadline": 0.6}),
    Cell("200 gzip bomb (64 MiB unpacked)", lambda w: gzip_bomb(64 * 1024 * 1024),
         ResponseTooLarge),
    Cell("200 JSON over the size cap", lambda w: raw(b'{"a": "' + b"x" * 300_000 + b'"}'),
         ResponseTooLarge, client={"max_response_bytes": 200_000}),
    Cell("200 JSON nested 100 000 deep", lambda w: nested(100_000), UnexpectedPayload),
    Cell("200 about another SIRET, no redirect said",
         lambda w: json_body(w.payload(w.other)), UnexpectedPayload,
         only=("insee_sirene", "api_entreprise")),
    Cell("200 about another SIREN (search)", lambda w: json_body(w.payload(w.other)), NotFound,
         "not-found", already=True, only=("recherche_entreprises",)),
    Cell("200 with a number as the name", lambda w: json_body(_wrong_type(w.source, w.payload())),
         UnexpectedPayload),
    Cell("200 missing the identifiers", lambda w: json_body(_missing(w.source, w.payload())),
         UnexpectedPayload),
    Cell("200 unmasked, partially diffusible, public client",
         lambda w: json_body(_partially_diffusible(w.source, w.payload())), Identity, "fact",
         public=True, check=_withheld),
)


def _cells() -> list[Any]:
    return [
        pytest.param(source, cell, id=f"{source}-{cell.name}")
        for cell in CELLS
        for source in SOURCES
        if source in cell.only
    ]


def _client(w: World, cell: Cell, cache: MemoryCache, **extra: Any) -> dlnuf.Client:
    settings = _settings(w, cell, **extra)
    return dlnuf.Client(
        settings=settings, cache=cache, limiter=MemoryRateLimiter(burst=100, safety=1.0)
    )


def _settings(w: World, cell: Cell, **extra: Any) -> Settings:
    given: dict[str, Any] = {
        "sources": [w.source],
        "base_urls": {w.source: w.origin.url},
        "retries": 1,
        "max_retry_wait": 0.05,
        "deadline": 5.0,
        "cache": None,
        **(cell.client or {}),
        **extra,
    }
    if w.source == "insee_sirene":
        given["insee_api_key"] = INSEE_KEY
    if w.source == "api_entreprise":
        given.update(
            api_entreprise_token=TOKEN, recipient="13002526500013", context="Tests",
            object="fault matrix", authenticated=not cell.public,
        )
    return Settings.from_env(env={}, **given)


def _leaks(text: str) -> list[str]:
    low = text.lower()
    return [
        secret for secret in SECRETS
        for i in range(len(secret) - MIN_ECHO + 1)
        if secret[i : i + MIN_ECHO].lower() in low
    ]


def _cache_state(cache: MemoryCache, source: str, scope: str, siret: str) -> str:
    entry = cache.get(cache_key(source, scope, "Identity", siret))
    if entry is None:
        return "no"
    return "not-found" if b"__dlnuf_not_found__" in entry.value else "fact"


def _world(source: str, origin: Hostile, foreign: Hostile, seed: str) -> World:
    origin.routes.clear()
    foreign.routes.clear()
    origin.seen.clear()
    foreign.seen.clear()
    kind = "sole_trader"
    return World(
        source, make_company(kind, seed=seed), make_company("active", seed=f"other-{seed}"),
        origin, foreign,
    )


def _no_credential_abroad(foreign: Hostile) -> None:
    for headers in foreign.headers_seen():
        assert "authorization" not in headers
        assert "x-insee-api-key-integration" not in headers
        assert not _leaks(repr(headers))


@pytest.mark.parametrize(("source", "cell"), _cells())
def test_fault_matrix(source: str, cell: Cell, origin: Hostile, foreign: Hostile) -> None:
    w = _world(source, origin, foreign, f"{source}:{cell.name}")
    siret = str(w.company.siret)
    origin.route(_path(source, siret, public=cell.public), cell.behaviour(w))
    cache = KeptCache()
    started = time.monotonic()
    with _client(w, cell, cache) as client:
        scope = client.sources[0].scope
        try:
            outcome: Any = client.identity(siret)
        except DlnufError as exc:
            outcome = exc
    elapsed = time.monotonic() - started
    assert isinstance(outcome, cell.outcome), outcome
    if isinstance(outcome, DlnufError):
        assert not _leaks(str(outcome)), outcome
        assert not _leaks(repr(outcome)), outcome
    elif cell.check is not None:
        cell.check(w, outcome)
    state = _cache_state(cache, source, scope, siret)  # facts are kept under the SIRET asked
    assert state == cell.cached, (state, cell.cached)
    _no_credential_abroad(foreign)
    if cell.outcome is RefusedUrl:
        assert foreign.seen == [], "a redirect to another origin must not be followed"
        assert "127.0.0.2" in str(outcome)
        assert "steal" not in str(outcome)
    assert elapsed < 4.0, f"no cell may hang ({elapsed:.1f} s)"


@pytest.mark.parametrize("source", SOURCES)
def test_a_transient_fault_serves_the_stale_answer(
    source: str, origin: Hostile, foreign: Hostile
) -> None:
    """An HTML maintenance page and a trickled body are transient: stale-if-error applies."""
    w = _world(source, origin, foreign, f"{source}:stale")
    siret = str(w.company.siret)
    cell = Cell("stale", lambda w: json_body(w.payload()), Identity, client={"deadline": 0.6})
    cache = KeptCache()
    origin.route(_path(source, siret), json_body(w.payload()))
    with _client(w, cell, cache) as client:
        client.identity(siret)
        key = cache_key(source, client.sources[0].scope, "Identity", siret)
    entry = cache.get(key)
    assert entry is not None
    past, later = utcnow() - timedelta(seconds=1), utcnow() + timedelta(days=1)
    for fault in (raw(b"<html>maintenance</html>", content_type="text/html"), trickle(0.1)):
        cache.set(key, entry.value, expires_at=past, stale_until=later)
        origin.route(_path(source, siret), fault)
        with _client(w, cell, cache) as client:
            fact = client.identity(siret)
        assert fact.provenance.stale is True
        assert fact.siret == w.company.siret


@pytest.mark.parametrize(
    "name", ["302 to another origin", "200 trickled at 1 byte / 0.1 s",
             "200 gzip bomb (64 MiB unpacked)", "200 about another SIRET, no redirect said"],
)
def test_the_async_client_ends_the_same(name: str, origin: Hostile, foreign: Hostile) -> None:
    cell = next(c for c in CELLS if c.name == name)
    w = _world("insee_sirene", origin, foreign, f"async:{name}")
    siret = str(w.company.siret)
    origin.route(_path(w.source, siret), cell.behaviour(w))

    async def run() -> Any:
        async with dlnuf.AsyncClient(
            settings=_settings(w, cell), cache=None,
            limiter=MemoryRateLimiter(burst=100, safety=1.0),
        ) as client:
            try:
                return await client.identity(siret)
            except DlnufError as exc:
                return exc

    started = time.monotonic()
    outcome = asyncio.run(run())
    assert isinstance(outcome, cell.outcome), outcome
    assert time.monotonic() - started < 4.0
    _no_credential_abroad(foreign)


def test_the_deadline_bounds_retries_too(origin: Hostile, foreign: Hostile) -> None:
    """503s retried with waits: the whole call still ends by the deadline."""
    w = _world("recherche_entreprises", origin, foreign, "retries")
    origin.route("/search", json_body(_error(w.source, 503, "down"), 503))
    cell = Cell("retries", lambda w: json_body({}), UpstreamUnavailable,
                client={"deadline": 0.8, "retries": 10, "max_retry_wait": 5.0})
    started = time.monotonic()
    with _client(w, cell, KeptCache()) as client, pytest.raises(UpstreamUnavailable):
        client.identity(str(w.company.siret))
    assert time.monotonic() - started < 2.5


def test_matrix_figures() -> None:
    """The table in docs/errors.md lists every cell of :data:`CELLS`."""
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "errors.md").read_text()
    for cell in CELLS:
        assert f"| {cell.name} |" in page, cell.name
    assert copy.copy(CELLS) == CELLS


@pytest.mark.parametrize("source", SOURCES)
def test_an_unmasked_partially_diffusible_person_never_fills_a_public_form(
    source: str, origin: Hostile, foreign: Hostile
) -> None:
    """Whichever endpoint answered, DC1, DC2, the DUME and the CERFA on the public path
    get neither the person's name nor the street, as if the upstream had sent [ND]."""
    from dlnuf.forms import DC1, DC2, Cerfa12156Identity, DumeEconomicOperator

    w = _world(source, origin, foreign, f"{source}:forms")
    siret = str(w.company.siret)
    origin.route(
        _path(source, siret, public=True),
        json_body(_partially_diffusible(source, w.payload())),
    )
    person = w.company.person
    assert person is not None
    cell = Cell("forms", lambda w: json_body({}), Identity, public=True)
    with _client(w, cell, KeptCache()) as client:
        for form in (DC1, DC2, DumeEconomicOperator, Cerfa12156Identity):
            text = repr(client.prefill(form, siret).values).upper()
            assert person.birth_name.upper() not in text, form.__name__
            assert str(w.company.address.street).upper() not in text, form.__name__
