"""Client configuration: arguments and settings= merged, timeout/retries arguments (issue 9)."""

from __future__ import annotations

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
