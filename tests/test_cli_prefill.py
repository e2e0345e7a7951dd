"""``dlnuf prefill`` and ``dlnuf forms`` on the offline sandbox."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from dlnuf.cli import main

SNCF = "55204944776279"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default cache (and so the answer store) lives in a temporary directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def prefill_json(*argv: str) -> tuple[int, dict[str, Any]]:
    status, text = run("prefill", *argv, "--source", "sandbox", "--json")
    return status, json.loads(text)


def test_prefill_json_shows_found_missing_and_provenance() -> None:
    status, data = prefill_json("dc2", "552 049 447 76279")
    assert status == 0
    assert data["form"] == "DC2"
    assert data["values"]["legal_name"] == "SOCIETE NATIONALE SNCF"
    assert data["provenance"]["legal_name"]["source"] == "sandbox"
    assert [m["name"] for m in data["missing"] if m["required"]] == ["email", "phone", "turnover"]
    assert data["completed"] is False


def test_prefill_card_lists_values_with_their_source_and_what_is_missing() -> None:
    status, text = run("prefill", "DC2", SNCF, "--source", "sandbox", "--no-cache")
    assert status == 0
    assert "SOCIETE NATIONALE SNCF" in text
    assert "sandbox" in text
    assert "fetched" in text
    assert "MISSING" in text
    assert "protected data" in text


def test_answers_file_completes_the_form_and_saves_declared_answers(
    tmp_path: Path,
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps({"email": "marches@sncf.fr", "phone": "+33 1 23 45 67 89", "turnover": []}),
        encoding="utf-8",
    )
    status, data = prefill_json("dc2", SNCF, "--answers", str(answers))
    assert status == 0
    assert data["completed"] is True
    assert data["values"]["email"] == "marches@sncf.fr"
    # the next form for the company reads them from the answer store
    status, dc1 = prefill_json("dc1", SNCF)
    assert dc1["values"]["email"] == "marches@sncf.fr"
    assert dc1["provenance"]["email"]["origin"] == "declared"


def test_a_partial_answers_file_is_applied_without_completing(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"email": "marches@sncf.fr"}), encoding="utf-8")
    status, data = prefill_json("dc2", SNCF, "--answers", str(answers))
    assert status == 0
    assert data["completed"] is False
    assert data["provenance"]["email"]["origin"] == "answered"
    status, again = prefill_json("dc2", SNCF)
    assert "email" not in again["values"]  # nothing saved before the form is complete


def test_a_wrong_answer_is_reported_per_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"turnover": "lots", "nope": 1}), encoding="utf-8")
    status, _ = run("prefill", "dc2", SNCF, "--source", "sandbox", "--answers", str(answers))
    assert status == 2
    err = capsys.readouterr().err
    assert "nope" not in err  # not a field of DC2: ignored (an answers file is the company's)
    assert "invalid answer turnover: Input should be a valid list" in err


def test_a_contradicting_answer_is_shown_as_a_conflict(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"legal_name": "SNCF VOYAGEURS"}), encoding="utf-8")
    status, data = prefill_json("dc2", SNCF, "--answers", str(answers))
    assert status == 0
    assert data["values"]["legal_name"] == "SOCIETE NATIONALE SNCF"
    assert data["conflicts"] == [
        {"field": "legal_name", "verified": "SOCIETE NATIONALE SNCF", "answered": "SNCF VOYAGEURS"}
    ]


def test_an_unknown_siret_exits_1_and_an_invalid_one_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, data = prefill_json("dc2", "00000000000000")
    assert status == 1
    assert data["not_found"] is True
    status, _ = run("prefill", "dc2", "552 049 447 76278", "--source", "sandbox")
    assert status == 2
    assert "checksum" in capsys.readouterr().err


def test_an_unknown_form_or_answers_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("prefill", "DC4", SNCF, "--source", "sandbox")[0] == 2
    assert "ready forms: DC1, DC2, DUME, CERFA12156" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert run("prefill", "dc2", SNCF, "--source", "sandbox", "--answers", str(bad))[0] == 2
    assert "JSON object" in capsys.readouterr().err


def test_authenticated_uses_the_protected_endpoint_and_an_authenticated_form() -> None:
    status, data = prefill_json("dc2", "42797966100019", "--authenticated")
    assert status == 0
    assert data["authenticated"] is True
    assert data["values"]["legal_name"] == "CLAIRE BERNARD"
    status, public = prefill_json("dc2", "42797966100019")
    assert "legal_name" not in public["values"]
    reasons = {m["name"]: m["reason"] for m in public["missing"]}
    assert reasons["legal_name"] == "withheld: not diffusible"


def test_forms_lists_the_ready_forms() -> None:
    status, text = run("forms")
    assert status == 0
    assert [line.split()[0] for line in text.splitlines()] == ["DC1", "DC2", "DUME", "CERFA12156"]
    status, verbose = run("forms", "-v")
    assert "no_exclusion" in verbose
    assert "sworn" in verbose
    assert "turnover" in verbose
    assert "derived protected" in verbose
