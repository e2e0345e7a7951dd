"""Client configuration: arguments and settings= merged, timeout/retries arguments (issue 9)."""

from __future__ import annotations

import inspect

import pytest

import dlnuf
from dlnuf.errors import ConfigurationError


def test_arguments_beside_settings_win_instead_of_being_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DLNUF_SOURCES", raising=False)
    settings = dlnuf.Settings.from_env(timeout=1.0)
    with dlnuf.Client(["sandbox"], settings=settings, cache=None) as client:
        assert [s.name for s in client.sources] == ["sandbox"]  # was recherche_entreprises
        assert client.settings.timeout == 1.0
        assert client.identity("55204944776279").provenance.source == "sandbox"  # offline
    with dlnuf.Client(
        settings=settings, base_urls={"recherche_entreprises": "http://127.0.0.1:9/"}, cache=None
    ) as client:
        assert client.settings.base_urls == {"recherche_entreprises": "http://127.0.0.1:9/"}
        assert client.sources[0].base_url == "http://127.0.0.1:9"


def test_timeout_and_retries_are_arguments_and_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with dlnuf.Client(["sandbox"], cache=None, timeout=2.5, retries=0) as client:
        assert (client.settings.timeout, client.settings.retries) == (2.5, 0)
    monkeypatch.setenv("DLNUF_TIMEOUT", "1.5")
    monkeypatch.setenv("DLNUF_RETRIES", "1")
    with dlnuf.Client(["sandbox"], cache=None) as client:
        assert (client.settings.timeout, client.settings.retries) == (1.5, 1)
    monkeypatch.setenv("DLNUF_AUTHENTICATED", "yes-please")
    with pytest.raises(ConfigurationError, match="DLNUF_AUTHENTICATED"):
        dlnuf.Client(["sandbox"], cache=None)


def test_a_bad_argument_is_a_configuration_error_and_a_value_error() -> None:
    with pytest.raises(ConfigurationError, match="timeout") as excinfo:
        dlnuf.Client(["sandbox"], cache=None, timeout=-1)
    assert isinstance(excinfo.value, ValueError)


def test_every_setting_is_an_argument_of_both_clients() -> None:
    for client_class in (dlnuf.Client, dlnuf.AsyncClient):
        parameters = inspect.signature(client_class).parameters
        missing = [name for name in dlnuf.Settings.model_fields if name not in parameters]
        assert missing == [], f"{client_class.__name__} has no argument for {missing}"


def test_the_other_settings_as_arguments() -> None:
    with dlnuf.Client(
        ["sandbox"], cache=None, document_timeout=3.0, max_retry_wait=1.0,
        stale_if_error=False, user_agent="mairie/1.0",
    ) as client:
        settings = client.settings
    assert (settings.document_timeout, settings.max_retry_wait) == (3.0, 1.0)
    assert (settings.stale_if_error, settings.user_agent) == (False, "mairie/1.0")
