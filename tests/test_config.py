"""Settings: keyword arguments, DLNUF_* variables, precedence, and secrets kept out of sight."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from dlnuf.config import DEFAULT_CACHE, DEFAULT_SOURCES, Settings
from dlnuf.errors import ConfigurationError, DlnufError

TOKEN = "eyJhbGciOiJIUzI1NiJ9.token-that-must-stay-secret"
INSEE_KEY = "insee-key-3f2a9c-must-stay-secret"


def test_defaults_with_an_empty_environment() -> None:
    settings = Settings.from_env(env={})
    assert settings.sources == DEFAULT_SOURCES == ("recherche_entreprises",)
    assert settings.cache == DEFAULT_CACHE == "sqlite"
    assert settings.api_entreprise_token is None
    assert settings.insee_api_key is None
    assert settings.authenticated is False
    assert settings.base_urls == {}


def test_explicit_arguments() -> None:
    settings = Settings.from_env(
        env={},
        sources=["api_entreprise", "recherche_entreprises"],
        api_entreprise_token=TOKEN,
        recipient="13002526500013",
        context="Marché public",
        object="Consultation 2025-042",
        authenticated=True,
        insee_api_key=INSEE_KEY,
        cache="memory://",
        timeout=2.5,
        retries=0,
    )
    assert settings.sources == ("api_entreprise", "recherche_entreprises")
    assert isinstance(settings.api_entreprise_token, SecretStr)
    assert settings.api_entreprise_token.get_secret_value() == TOKEN
    assert settings.insee_api_key is not None
    assert settings.insee_api_key.get_secret_value() == INSEE_KEY
    assert settings.recipient == "13002526500013"
    assert settings.context == "Marché public"
    assert settings.object == "Consultation 2025-042"
    assert settings.authenticated is True
    assert settings.cache == "memory://"
    assert settings.timeout == 2.5
    assert settings.retries == 0


def test_sources_argument_as_a_comma_list() -> None:
    settings = Settings.from_env(env={}, sources="insee_sirene, recherche_entreprises")
    assert settings.sources == ("insee_sirene", "recherche_entreprises")


def test_environment_variables() -> None:
    env = {
        "DLNUF_API_ENTREPRISE_TOKEN": TOKEN,
        "DLNUF_RECIPIENT": "13002526500013",
        "DLNUF_CONTEXT": "Aides publiques",
        "DLNUF_OBJECT": "Dossier 17",
        "DLNUF_INSEE_API_KEY": INSEE_KEY,
        "DLNUF_CACHE": "redis://localhost:6379/0",
        "DLNUF_USER_AGENT": "mairie-de-test/1.0 (dsi@example.org)",
        "HOME": "/home/somebody",  # unrelated variables are ignored
    }
    settings = Settings.from_env(env=env)
    assert settings.api_entreprise_token is not None
    assert settings.api_entreprise_token.get_secret_value() == TOKEN
    assert settings.insee_api_key is not None
    assert settings.insee_api_key.get_secret_value() == INSEE_KEY
    assert settings.recipient == "13002526500013"
    assert settings.context == "Aides publiques"
    assert settings.object == "Dossier 17"
    assert settings.cache == "redis://localhost:6379/0"
    assert settings.user_agent == "mairie-de-test/1.0 (dsi@example.org)"


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLNUF_RECIPIENT", "13002526500013")
    monkeypatch.setenv("DLNUF_SOURCES", "sandbox")
    settings = Settings.from_env()
    assert settings.recipient == "13002526500013"
    assert settings.sources == ("sandbox",)


def test_an_argument_wins_over_the_environment() -> None:
    env = {
        "DLNUF_API_ENTREPRISE_TOKEN": "from-env",
        "DLNUF_RECIPIENT": "11111111111111",
        "DLNUF_SOURCES": "insee_sirene",
        "DLNUF_CACHE": "redis://localhost",
        "DLNUF_AUTHENTICATED": "true",
    }
    settings = Settings.from_env(
        env=env,
        api_entreprise_token=TOKEN,
        recipient="13002526500013",
        sources=["api_entreprise"],
        cache="memory://",
        authenticated=False,
    )
    assert settings.api_entreprise_token is not None
    assert settings.api_entreprise_token.get_secret_value() == TOKEN
    assert settings.recipient == "13002526500013"
    assert settings.sources == ("api_entreprise",)
    assert settings.cache == "memory://"
    assert settings.authenticated is False


def test_an_explicit_none_wins_over_the_environment() -> None:
    env = {"DLNUF_CACHE": "redis://localhost", "DLNUF_API_ENTREPRISE_TOKEN": TOKEN}
    settings = Settings.from_env(env=env, cache=None, api_entreprise_token=None)
    assert settings.cache is None
    assert settings.api_entreprise_token is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("api_entreprise,recherche_entreprises", ("api_entreprise", "recherche_entreprises")),
        (" api_entreprise , insee_sirene ,, ", ("api_entreprise", "insee_sirene")),
        ("sandbox", ("sandbox",)),
        ("", DEFAULT_SOURCES),
        (" , ", DEFAULT_SOURCES),
    ],
)
def test_dlnuf_sources_comma_list(value: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env(env={"DLNUF_SOURCES": value}).sources == expected


def test_source_url_variables_fill_base_urls() -> None:
    env = {
        "DLNUF_API_ENTREPRISE_URL": "https://staging.entreprise.api.gouv.fr/",
        "DLNUF_INSEE_SIRENE_URL": "http://localhost:8080/sirene",
        "DLNUF_RECHERCHE_ENTREPRISES_URL": "",  # empty: ignored
    }
    settings = Settings.from_env(env=env)
    assert settings.base_urls == {
        "api_entreprise": "https://staging.entreprise.api.gouv.fr/",
        "insee_sirene": "http://localhost:8080/sirene",
    }
    assert settings.base_url("api_entreprise", "https://entreprise.api.gouv.fr") == (
        "https://staging.entreprise.api.gouv.fr"
    )
    assert settings.base_url("recherche_entreprises", "https://recherche.example/") == (
        "https://recherche.example"
    )


def test_base_urls_argument_wins_per_source() -> None:
    env = {
        "DLNUF_API_ENTREPRISE_URL": "https://staging.entreprise.api.gouv.fr",
        "DLNUF_INSEE_SIRENE_URL": "http://localhost:8080/sirene",
    }
    settings = Settings.from_env(env=env, base_urls={"api_entreprise": "http://proxy.local"})
    assert settings.base_urls == {
        "api_entreprise": "http://proxy.local",
        "insee_sirene": "http://localhost:8080/sirene",
    }


@pytest.mark.parametrize("value", ["1", "true", "True", "TRUE", "yes", "on", " yes "])
def test_dlnuf_authenticated_truthy(value: str) -> None:
    assert Settings.from_env(env={"DLNUF_AUTHENTICATED": value}).authenticated is True


@pytest.mark.parametrize("value", ["0", "false", "no", "off", ""])
def test_dlnuf_authenticated_falsy(value: str) -> None:
    assert Settings.from_env(env={"DLNUF_AUTHENTICATED": value}).authenticated is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DLNUF_AUTHENTICATED", "yes-please"),
        ("DLNUF_AUTHENTICATED", "nope"),
        ("DLNUF_TIMEOUT", "soon"),
        ("DLNUF_TIMEOUT", "-1"),
        ("DLNUF_RETRIES", "many"),
        ("DLNUF_STALE_IF_ERROR", "maybe"),
        ("DLNUF_BASE_URLS", "not json"),
    ],
)
def test_a_malformed_variable_is_a_configuration_error_naming_it(
    variable: str, value: str
) -> None:
    # DLNUF_AUTHENTICATED=yes-please used to be read as False, silently.
    with pytest.raises(ConfigurationError, match=variable) as excinfo:
        Settings.from_env(env={variable: value})
    assert isinstance(excinfo.value, ValueError)


def test_every_setting_reads_its_own_variable() -> None:
    env = {
        "DLNUF_TIMEOUT": "1.5",
        "DLNUF_RETRIES": "0",
        "DLNUF_DOCUMENT_TIMEOUT": "4",
        "DLNUF_MAX_RETRY_WAIT": "2",
        "DLNUF_STALE_IF_ERROR": "no",
        "DLNUF_ANSWERS": "memory",
    }
    settings = Settings.from_env(env=env)
    assert (settings.timeout, settings.retries, settings.document_timeout) == (1.5, 0, 4.0)
    assert (settings.max_retry_wait, settings.stale_if_error) == (2.0, False)
    assert settings.answers == "memory"


def test_settings_alone_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLNUF_TIMEOUT", "1.5")
    assert Settings().timeout == 5.0
    assert Settings.from_env().timeout == 1.5


def test_merged_arguments_win_and_are_validated() -> None:
    base = Settings(sources=("recherche_entreprises",), timeout=1.0, base_urls={"a": "http://a"})
    merged = base.merged(sources=["sandbox"], base_urls={"b": "http://b"})
    assert merged.sources == ("sandbox",)
    assert merged.timeout == 1.0
    assert merged.base_urls == {"a": "http://a", "b": "http://b"}
    with pytest.raises(ConfigurationError, match="timeout"):
        base.merged(timeout="soon")


def test_empty_dlnuf_cache_turns_the_cache_off() -> None:
    assert Settings.from_env(env={"DLNUF_CACHE": ""}).cache is None
    assert Settings.from_env(env={}, cache="").cache is None
    assert Settings.from_env(env={}).cache == "sqlite"


def test_unknown_argument_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="recipent") as excinfo:
        Settings.from_env(env={}, recipent="13002526500013")
    assert isinstance(excinfo.value, DlnufError)


@pytest.mark.parametrize(
    "bad", [{"timeout": "soon"}, {"retries": "many"}, {"authenticated": "perhaps"}]
)
def test_bad_value_is_a_configuration_error(bad: dict[str, Any]) -> None:
    [name] = bad
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env(env={}, **bad)


def test_settings_are_frozen() -> None:
    settings = Settings.from_env(env={})
    with pytest.raises(ValidationError):
        settings.cache = None  # type: ignore[misc]


# --- secrets --------------------------------------------------------------------


def _with_secrets() -> Settings:
    return Settings.from_env(env={"DLNUF_INSEE_API_KEY": INSEE_KEY}, api_entreprise_token=TOKEN)


def _assert_no_secret(text: str) -> None:
    assert TOKEN not in text
    assert INSEE_KEY not in text
    assert "must-stay-secret" not in text


def test_secrets_absent_from_repr_and_str() -> None:
    settings = _with_secrets()
    _assert_no_secret(repr(settings))
    _assert_no_secret(str(settings))
    _assert_no_secret(repr(settings.api_entreprise_token))
    assert "**********" in repr(settings)


def test_secrets_absent_from_json_dump() -> None:
    dumped = _with_secrets().model_dump_json()
    _assert_no_secret(dumped)
    assert '"api_entreprise_token":"**********"' in dumped
    assert '"insee_api_key":"**********"' in dumped


def test_secrets_absent_from_configuration_error_for_another_bad_value() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.from_env(
            env={"DLNUF_API_ENTREPRISE_TOKEN": TOKEN, "DLNUF_INSEE_API_KEY": INSEE_KEY},
            timeout="soon",
        )
    _assert_no_secret(str(excinfo.value))
    _assert_no_secret(repr(excinfo.value))
    assert excinfo.value.__cause__ is None


@pytest.mark.parametrize(
    "given",
    [
        {"api_token": TOKEN},  # misspelled argument name: its value must not be echoed
        {"insee_key": INSEE_KEY},
        {"api_entreprise_token": [TOKEN]},  # wrong type
        {"insee_api_key": {"key": INSEE_KEY}},
    ],
)
def test_secrets_absent_from_configuration_error_for_a_bad_secret(given: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.from_env(env={}, **given)
    _assert_no_secret(str(excinfo.value))
    _assert_no_secret(repr(excinfo.value))
    [name] = given
    assert name in str(excinfo.value), "the message still says which setting is wrong"


def test_secrets_absent_from_validation_error_of_the_model_itself() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Settings(api_token=TOKEN)  # type: ignore[call-arg]
    _assert_no_secret(str(excinfo.value))
