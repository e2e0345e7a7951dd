"""Each source's options: ``Client(options=...)``, ``DLNUF_<SOURCE>_*``, the shortcuts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

import dlnuf
from dlnuf.config import Settings
from dlnuf.errors import ConfigurationError
from dlnuf.facts.evidence import TaxCertificate
from dlnuf.facts.identity import Identity
from dlnuf.ratelimit import Quota
from dlnuf.sources import Rate, available_sources, load_source, parse_rate
from dlnuf.sources.api_entreprise import ApiEntreprise, ApiEntrepriseOptions
from dlnuf.sources.insee_sirene import InseeSirene, InseeSireneOptions
from dlnuf.sources.recherche_entreprises import RechercheEntreprises

SECRET = "a-very-secret-key-0123456789"


@pytest.mark.parametrize(
    ("text", "limit", "period"),
    [("7/s", 7, 1.0), ("250/min", 250, 60.0), ("1000/h", 1000, 3600.0),
     ("100/10s", 100, 10.0), (" 5 / 2min ", 5, 120.0), ("3/1.5s", 3, 1.5)],
)
def test_a_quota_is_written_requests_per_period(text: str, limit: int, period: float) -> None:
    assert parse_rate(text) == Rate(limit, period)
    assert parse_rate(str(parse_rate(text))) == Rate(limit, period)


@pytest.mark.parametrize("text", ["fast", "50", "0/s", "5/fortnight", "-1/s", "5/0s", ""])
def test_a_bad_quota_is_a_configuration_error_naming_its_variable(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RechercheEntreprises(options={"quota": text}, env={})
    said = str(caught.value)
    assert "DLNUF_RECHERCHE_ENTREPRISES_QUOTA" in said
    assert "like 7/s" in said
    if text:
        assert repr(text) not in said


def test_the_documented_quotas_are_the_defaults() -> None:
    assert RechercheEntreprises(env={}).quota(Identity) == Quota("recherche_entreprises", 7, 1)
    assert InseeSirene(env={}).quota(Identity) == Quota("insee_sirene", 30, 60)
    source = ApiEntreprise(env={})
    assert source.quota(Identity) == Quota("api_entreprise:json", 250, 60)
    assert source.quota(TaxCertificate) == Quota("api_entreprise:dgfip_attestation_fiscale", 5, 60)


def test_a_client_sets_a_quota_without_subclassing() -> None:
    with dlnuf.Client(
        sources=["recherche_entreprises", "api_entreprise"], cache=None,
        options={"recherche_entreprises": {"quota": "50/s"},
                 "api_entreprise": {"quota_json": "1000/min"}},
    ) as client:
        recherche, entreprise = client.sources
        assert recherche.quota(Identity) == Quota("recherche_entreprises", 50, 1.0)
        assert entreprise.quota(Identity) == Quota("api_entreprise:json", 1000, 60.0)
        assert entreprise.privileges_quota == entreprise.quota(Identity)  # type: ignore[attr-defined]
        assert entreprise.quota(TaxCertificate).limit == 5


def test_quota_variables_per_source_and_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLNUF_RECHERCHE_ENTREPRISES_QUOTA", "50/s")
    monkeypatch.setenv("DLNUF_API_ENTREPRISE_QUOTA_DGFIP_ATTESTATION_FISCALE", "20/min")
    with dlnuf.Client(sources=["recherche_entreprises", "api_entreprise"], cache=None) as c:
        assert c.sources[0].quota(Identity).limit == 50
        assert c.sources[1].quota(TaxCertificate) == Quota(
            "api_entreprise:dgfip_attestation_fiscale", 20, 60.0
        )


def test_options_take_dicts_or_instances_on_both_clients() -> None:
    given = InseeSireneOptions(api_key=SECRET)  # type: ignore[arg-type]
    with dlnuf.Client(sources=["insee_sirene"], cache=None,
                      options={"insee_sirene": given}) as client:
        assert client.sources[0].options is given  # type: ignore[attr-defined]
    async_client = dlnuf.AsyncClient(sources=["insee_sirene"], cache=None,
                                     options={"insee_sirene": {"api_key": SECRET}})
    assert async_client.sources[0].options.api_key.get_secret_value() == SECRET  # type: ignore[attr-defined]


def test_an_option_wins_over_its_shortcut_which_wins_over_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DLNUF_INSEE_SIRENE_API_KEY", "from-the-variable")
    with dlnuf.Client(sources=["insee_sirene"], cache=None) as client:
        assert client.sources[0].options.api_key.get_secret_value() == "from-the-variable"  # type: ignore[attr-defined]
    with dlnuf.Client(sources=["insee_sirene"], cache=None, insee_api_key="shortcut") as c:
        assert c.sources[0].options.api_key.get_secret_value() == "shortcut"  # type: ignore[attr-defined]
    with dlnuf.Client(sources=["insee_sirene"], cache=None, insee_api_key="shortcut",
                      options={"insee_sirene": {"api_key": "option"}}) as c:
        assert c.sources[0].options.api_key.get_secret_value() == "option"  # type: ignore[attr-defined]


def test_the_old_keyword_arguments_still_configure_api_entreprise() -> None:
    settings = Settings(api_entreprise_token=SECRET, recipient="13002526500013",
                        context="Test", object="test", base_urls={"api_entreprise": "https://x.test/"})
    source = ApiEntreprise(settings)
    request = source.request(Identity, "73282932000074")
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert str(request.url).startswith("https://x.test/v4/")
    assert "recipient=13002526500013" in str(request.url)
    assert SECRET not in repr(source) + repr(source.options) + repr(settings)


def test_a_base_url_option_is_known_to_the_whole_client() -> None:
    with dlnuf.Client(sources=["recherche_entreprises"], cache=None,
                      options={"recherche_entreprises": {"base_url": "http://fake.test/"}}) as c:
        assert c.sources[0].base_url == "http://fake.test"
        assert c.settings.base_urls["recherche_entreprises"] == "http://fake.test/"


def test_settings_given_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLNUF_RECHERCHE_ENTREPRISES_QUOTA", "50/s")
    assert load_source("recherche_entreprises", Settings()).quota(Identity).limit == 7
    assert load_source("recherche_entreprises", Settings.from_env()).quota(Identity).limit == 50


def test_options_for_an_unknown_source_fail() -> None:
    with pytest.raises(ConfigurationError, match="insee_sirne"):
        dlnuf.Client(cache=None, options={"insee_sirne": {"api_key": SECRET}})


def test_an_unknown_option_is_named_with_its_source() -> None:
    with pytest.raises(ConfigurationError) as caught:
        dlnuf.Client(sources=["insee_sirene"], cache=None,
                     options={"insee_sirene": {"apikey": SECRET}})
    assert "insee_sirene" in str(caught.value)
    assert "unknown option 'apikey'" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_secret_options_are_masked_everywhere() -> None:
    options = ApiEntrepriseOptions.load("api_entreprise", {"token": SECRET}, env={})
    assert isinstance(options.token, SecretStr)
    client = dlnuf.Client(sources=["api_entreprise"], cache=None,
                          options={"api_entreprise": {"token": SECRET}})
    shown = [repr(options), str(options), repr(client), repr(client.sources[0]),
             repr(client.sources[0].options)]  # type: ignore[attr-defined]
    assert all(SECRET not in s for s in shown)
    client.close()


def test_the_registry_is_the_entry_points() -> None:
    found = available_sources()
    assert found["recherche_entreprises"] == (
        "dlnuf.sources.recherche_entreprises:RechercheEntreprises"
    )
    assert {"api_entreprise", "insee_sirene", "sandbox", "sirene_stock"} <= set(found)
    with pytest.raises(ConfigurationError) as caught:
        load_source("nowhere", Settings())
    assert "pip install -e ." in str(caught.value)


def test_options_build_from_any_mapping() -> None:
    given: dict[str, Any] = {"quota": Quota("elsewhere", 9, 1.0)}
    assert RechercheEntreprises(options=given, env={}).quota(Identity) == Quota(
        "recherche_entreprises", 9, 1.0
    )


class NotASource:
    """Registered by the test below: a class missing request and parse."""

    name = "half"
    provides = frozenset({Identity})

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings

    def quota(self, kind: type) -> Quota:
        return Quota("half", 1, 1.0)


def test_a_registered_class_that_is_no_source_names_what_it_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import EntryPoint

    import dlnuf.sources.base as base

    point = EntryPoint(name="half", value=f"{__name__}:NotASource", group="dlnuf.sources")
    monkeypatch.setattr(base, "entry_points", lambda group: [point])
    with pytest.raises(ConfigurationError) as caught:
        dlnuf.Client(sources=["half"], cache=None)
    assert str(caught.value) == (
        f"{__name__}.NotASource is not a dlnuf Source: missing request, parse"
    )
