"""Every built-in source passes the conformance test third-party sources run on themselves."""

from __future__ import annotations

import tempfile
from typing import Any, ClassVar

import pytest

from dlnuf.errors import (
    ConfigurationError,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
)
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siret
from dlnuf.sources.api_entreprise import ENDPOINTS, ApiEntreprise
from dlnuf.sources.insee_sirene import InseeSirene
from dlnuf.sources.recherche_entreprises import RechercheEntreprises
from dlnuf.sources.sandbox import Sandbox, load_responses
from dlnuf.sources.sirene_stock import SireneStock
from dlnuf.testing.conformance import ErrorSample, SourceConformance
from dlnuf.testing.stock import write_stock
from identity_sources import load_fixture

PURPOSE = {"recipient": "13002526500013", "context": "Test", "object": "conformance"}
SANDBOX_SIRET = Sandbox.sirets()[0]


def _ae_error(code: str, **meta: Any) -> dict[str, Any]:
    return {"errors": [{"code": code, "title": "Titre", "detail": "Détail", "meta": meta}]}


AE_ERRORS = [
    ErrorSample(404, _ae_error("01003"), NotFound, code="01003"),
    ErrorSample(502, _ae_error("04001"), UpstreamUnavailable, code="04001"),
    ErrorSample(429, _ae_error("00429", retry_in=30), RateLimited, retry_after=30.0),
    ErrorSample(403, _ae_error("00100"), Forbidden),
    ErrorSample(404, {"message": "no route"}, NotFound),
]


class TestRechercheEntreprises(SourceConformance):
    source_class = RechercheEntreprises
    ident = "91234567500017"
    sample = load_fixture("recherche_entreprises", "head_office")
    error_samples: ClassVar = [
        ErrorSample(400, {"erreur": "Veuillez indiquer au moins un terme"}, InvalidRequest),
        ErrorSample(429, {}, RateLimited, headers={"Retry-After": "1"}, retry_after=1.0),
        ErrorSample(503, "<html>down</html>", UpstreamUnavailable),
    ]


class TestInseeSirene(SourceConformance):
    source_class = InseeSirene
    options: ClassVar = {"api_key": "a-test-key"}
    ident = "91234567500017"
    sample = load_fixture("insee_sirene", "company")
    error_samples: ClassVar = [
        ErrorSample(404, {"header": {"statut": 404, "message": "Aucun élément"}}, NotFound),
        ErrorSample(401, {"fault": {"message": "Invalid key"}}, Unauthorized),
        ErrorSample(429, {}, RateLimited, headers={"Retry-After": "20"}, retry_after=20.0),
    ]


class TestApiEntreprise(SourceConformance):
    source_class = ApiEntreprise
    options: ClassVar = {"token": "a-test-token", **PURPOSE}
    kind = Identity
    ident = SANDBOX_SIRET
    sample = load_responses()[ENDPOINTS[Identity].path_for(Siret(SANDBOX_SIRET), public=True)][
        "payload"
    ]
    error_samples = AE_ERRORS


class TestSandbox(SourceConformance):
    source_class = Sandbox
    kind = Identity
    ident = SANDBOX_SIRET
    sample = TestApiEntreprise.sample
    error_samples = AE_ERRORS

    def test_options_read_their_variables(self) -> None:
        """The sandbox never leaves the process: its base URL is not an option that works."""
        source = self.build(env={"DLNUF_SANDBOX_URL": "https://elsewhere.example.org"})
        assert source.base_url == "https://sandbox.dlnuf.invalid"
        assert self.build(env={"DLNUF_SANDBOX_QUOTA": "5/s"}).quota(Identity).limit == 5


class TestSireneStock(SourceConformance):
    source_class = SireneStock
    options: ClassVar = {"dir": tempfile.mkdtemp(prefix="dlnuf-conformance-")}
    sample = None  # local: answers through answer(), builds no request

    @pytest.fixture(autouse=True, scope="class")
    @classmethod
    def _stock(cls) -> None:
        write_stock(cls.options["dir"], establishments=5, seed=3)


def test_a_class_missing_members_is_named() -> None:
    class Toy:
        name = "toy"
        provides = frozenset({Identity})

    from dlnuf.sources import check_source

    with pytest.raises(ConfigurationError) as caught:
        check_source(Toy)
    assert str(caught.value).endswith("is not a dlnuf Source: missing quota, request, parse")
    assert "test_conformance" in str(caught.value)
    assert "Toy" in str(caught.value)
