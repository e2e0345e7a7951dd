"""Issue 8's smaller defects: echoes of bad input, partial secrets, messages, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

import dlnuf
from dlnuf.cache import open_cache
from dlnuf.config import Settings
from dlnuf.errors import ConfigurationError, Forbidden, InvalidSiret
from dlnuf.redaction import REDACTED, redact, secret_parts
from dlnuf.sources import source_error
from dlnuf.sources.api_entreprise import ApiEntreprise
from dlnuf.sources.insee_sirene import InseeSirene
from dlnuf.testing.companies import make_company
from dlnuf.testing.hostile import Hostile, nested

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkbG51Zi1zdWJqZWN0In0.c2lnbmF0dXJlLXBhcnQtb2YtaXQ"


def test_a_huge_invalid_input_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidSiret) as caught:
        dlnuf.Siret("x" * 1_000_000)
    assert len(str(caught.value)) < 300
    assert "1000000 characters" in str(caught.value)
    assert len(caught.value.value) == 1_000_000  # the input itself is kept, as given


def test_an_input_whose_repr_raises_gives_the_typed_error() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("boom")

    with pytest.raises(InvalidSiret, match="<Hostile object>"):
        dlnuf.Siret(Hostile())


def test_many_distinct_bad_characters_are_not_all_listed() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(5000))
    with pytest.raises(InvalidSiret) as caught:
        dlnuf.Siret(text)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    "echo",
    [JWT.split(".")[1], JWT[:20], JWT.lower(), JWT.upper(), JWT.split(".")[2][3:14]],
    ids=["jwt-segment", "first-20", "lower", "upper", "11-chars-inside"],
)
def test_any_echo_of_8_characters_of_a_secret_is_redacted(echo: str) -> None:
    request = httpx.Request(
        "GET", "https://entreprise.api.gouv.fr/v3/x", headers={"Authorization": f"Bearer {JWT}"}
    )
    response = httpx.Response(
        401, json={"errors": [{"code": "00101", "title": "Non", "detail": f"got {echo}!"}]},
        request=request,
    )
    message = str(source_error(ApiEntreprise(Settings()), response))
    assert REDACTED in message
    low = message.lower()
    for i in range(len(JWT) - 7):
        assert JWT[i : i + 8].lower() not in low


def test_redaction_leaves_ordinary_text_alone() -> None:
    parts = secret_parts([f"Bearer {JWT}"])
    assert "bearer" not in parts
    assert redact("the token is invalid or expired", parts) == "the token is invalid or expired"


def test_the_insee_403_advice_is_about_insee() -> None:
    request = httpx.Request("GET", "https://api.insee.fr/api-sirene/3.11/siret/1")
    error = source_error(InseeSirene(Settings()), httpx.Response(403, request=request))
    assert isinstance(error, Forbidden)
    assert "privileges" not in str(error)
    assert "portail-api.insee.fr" in str(error)


def test_the_redis_advice_names_the_port_of_the_url() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_cache("redis://127.0.0.1:1/0")
    assert "--port 1 " in str(caught.value)
    assert "6379" not in str(caught.value)


def test_the_cli_reports_a_deeply_nested_body_without_a_traceback(origin: Hostile) -> None:
    """A body nested 100 000 deep used to escape as RecursionError and a traceback."""
    company = make_company("active", seed="cli-nested")
    origin.route("/search", nested(100_000))
    env = {
        **os.environ,
        "DLNUF_RECHERCHE_ENTREPRISES_URL": origin.url,
        "DLNUF_CACHE": "",
        "DLNUF_SOURCES": "recherche_entreprises",
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dlnuf", "lookup", str(company.siret)],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "RecursionError" not in done.stderr + done.stdout
    assert "nested too deeply" in done.stderr + done.stdout
