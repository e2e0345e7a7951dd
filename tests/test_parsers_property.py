"""Any upstream body, fed to every parser of every source, ends in a fact or a DlnufError.

Generated JSON (hypothesis), the same wrapped the way each upstream wraps its data,
real payloads corrupted in places, and bodies nested far deeper than Python's
recursion limit: nothing but a :class:`~dlnuf.errors.DlnufError` may leave ``parse``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlnuf.config import Settings
from dlnuf.errors import DlnufError
from dlnuf.facts.base import Fact
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siret
from dlnuf.sources.api_entreprise import ENDPOINTS, ApiEntreprise
from dlnuf.sources.base import Source, load_source
from dlnuf.testing.companies import make_company
from dlnuf.testing.payloads import (
    api_entreprise_establishment,
    insee_response,
    recherche_result,
    recherche_search,
)
from identity_sources import any_json, corrupt

SIRET = Siret("55204944776279")
KEYS = (
    "data", "meta", "links", "siret", "siren", "results", "etablissement", "uniteLegale",
    "unite_legale", "document_url", "date_fin_validite", "adresse", "errors", "code",
)
SAMPLES = ("[ND]", "55204944776279", "552049447", "2024-02-30", "A", "P", "", "1e999")


def _settings() -> Settings:
    return Settings.from_env(
        env={}, insee_api_key="k" * 20, api_entreprise_token="t" * 40,
        recipient="13002526500013", context="Tests", object="property", authenticated=True,
    )


def _sources() -> list[tuple[Source, type[Fact]]]:
    found: list[tuple[Source, type[Fact]]] = [
        (load_source("recherche_entreprises", _settings()), Identity),
        (load_source("insee_sirene", _settings()), Identity),
    ]
    api = ApiEntreprise(_settings())
    found += [(api, kind) for kind in ENDPOINTS]
    return found


PAIRS = _sources()
IDS = [f"{src.name}-{kind.__name__}" for src, kind in PAIRS]


def _outcome(src: Source, kind: type[Fact], content: bytes) -> None:
    ident: Any = SIRET if kind.level == "siret" else SIRET.siren
    request = src.request(kind, ident)
    response = httpx.Response(200, content=content, request=request,
                              headers={"content-type": "application/json"})
    try:
        fact = src.parse(kind, ident, response)
    except DlnufError:
        return
    assert isinstance(fact, kind)


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


@pytest.mark.parametrize(("src", "kind"), PAIRS, ids=IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=any_json(KEYS, SAMPLES), wrap=st.sampled_from(["bare", "data", "results"]))
def test_any_json_body_ends_in_a_fact_or_a_dlnuf_error(
    src: Source, kind: type[Fact], body: Any, wrap: str
) -> None:
    if wrap == "data":
        body = {"data": body, "meta": {}, "links": {}}
    elif wrap == "results":
        body = {"results": [body], "etablissement": body}
    _outcome(src, kind, _json(body))


@pytest.mark.parametrize(("src", "kind"), PAIRS, ids=IDS)
@pytest.mark.parametrize(
    "content",
    [b"[" * 200_000 + b"]" * 200_000, b'{"data":' * 50_000 + b"1" + b"}" * 50_000,
     b"<html>maintenance</html>", b"\xff\xfe", b"1e999999", b'{"data": NaN}'],
    ids=["nested-list", "nested-objects", "html", "binary", "huge-number", "nan"],
)
def test_pathological_bodies_end_in_a_dlnuf_error(
    src: Source, kind: type[Fact], content: bytes
) -> None:
    _outcome(src, kind, content)


REAL: dict[str, Any] = {
    "recherche_entreprises": lambda c: recherche_search([recherche_result(c)]),
    "insee_sirene": insee_response,
    "api_entreprise": api_entreprise_establishment,
}


@pytest.mark.parametrize("name", sorted(REAL))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_real_identity_corrupted_in_places_ends_in_a_fact_or_a_dlnuf_error(
    name: str, data: st.DataObject
) -> None:
    company = make_company(data.draw(st.sampled_from(["active", "sole_trader", "association"])),
                           seed=data.draw(st.integers(0, 50)))
    body = corrupt(REAL[name](company), data, any_json(KEYS, SAMPLES))
    src = load_source(name, _settings())
    _outcome(src, Identity, _json(body))
