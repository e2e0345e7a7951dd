"""The ``dlnuf`` command: cards, JSON, exit codes, errors on one line."""

from __future__ import annotations

import io
import json

import pytest

from dlnuf.cli import main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_lookup_prints_a_card() -> None:
    code, text = run("lookup", "552 049 447 76279", "--source", "sandbox", "--no-cache")
    assert code == 0
    assert "SOCIETE NATIONALE SNCF" in text
    assert "552 049 447 76279" in text
    assert "FR" in text  # VAT number line


def test_lookup_json_is_the_identity() -> None:
    code, text = run("lookup", "55204944776279", "--source", "sandbox", "--json", "--no-cache")
    assert code == 0
    data = json.loads(text)
    assert data["siret"] == "55204944776279"
    assert data["provenance"]["source"] == "sandbox"


def test_invalid_siret_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("lookup", "55204944776278", "--source", "sandbox", "--no-cache")
    assert code == 2
    err = capsys.readouterr().err
    assert "checksum" in err
    assert "Traceback" not in err


def test_unknown_siret_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("lookup", "00000000000000", "--source", "sandbox", "--no-cache")
    assert code == 1
    assert "NotFound" in capsys.readouterr().err


def test_unknown_source_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("lookup", "55204944776279", "--source", "nope", "--no-cache")
    assert code == 4
    assert "unknown source 'nope'" in capsys.readouterr().err


def test_sources_lists_the_installed_ones() -> None:
    code, text = run("sources")
    assert code == 0
    for name in ("recherche_entreprises", "api_entreprise", "insee_sirene", "sandbox"):
        assert name in text


def test_withheld_values_are_shown_as_withheld_not_swallowed_as_markup() -> None:
    # 42797966100019: a partially diffusible sole trader in the sandbox (public path masks it).
    code, text = run("lookup", "42797966100019", "--source", "sandbox", "--no-cache")
    assert code == 0
    assert "[withheld: not diffusible]" in text
