"""``dlnuf evidence``: a table of the pieces, their status and validity; PDFs saved."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dlnuf.cli import main

BUILDING = "31931807700017"
BAKERY = "80467560100012"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["evidence", "--source", "sandbox", "--no-cache", *argv], out=out)
    return code, out.getvalue()


def test_the_table_shows_each_piece_with_its_status_and_validity() -> None:
    code, text = run(BUILDING)
    assert code == 0
    for piece in ("TaxCertificate", "SocialCertificate", "RegistryExtract", "Turnover",
                  "Headcount", "VatNumber"):
        assert piece in text
    assert "2027-04-30" in text  # the vigilance certificate's validity end
    assert "RCS NANTES 319 318 077" in text


def test_a_refusal_and_a_missing_piece_are_shown_and_exit_1() -> None:
    code, text = run(BAKERY, "--kinds", "TaxCertificate,SocialCertificate")
    assert code == 1
    assert "REFUSED" in text
    assert "NotFound (03003)" in text


def test_download_saves_every_document(tmp_path: Path) -> None:
    code, text = run(BUILDING, "--kinds", "taxcertificate,QualibatCertification,"
                     "RgeCertification", "--download", str(tmp_path))
    assert code == 0
    saved = sorted(p.name for p in tmp_path.iterdir())
    day = f"{date.today():%Y-%m-%d}"
    assert saved in [
        [
            f"QualibatCertification-{BUILDING}-{d}.pdf",
            f"RgeCertification-{BUILDING}-{d}.pdf",
            f"TaxCertificate-{BUILDING}-{d}.pdf",
        ]
        for d in {day, f"{datetime.now(UTC):%Y-%m-%d}"}
    ]
    assert all((tmp_path / name).read_bytes().startswith(b"%PDF") for name in saved)
    assert str(tmp_path / saved[0]) in text


def test_json_output() -> None:
    code, text = run(BAKERY, "--kinds", "SocialCertificate,TaxCertificate", "--json")
    assert code == 1
    data = json.loads(text)
    assert data["facts"]["SocialCertificate"]["status"] == "refused"
    assert data["errors"]["TaxCertificate"]["error"] == "NotFound"


def test_every_kind() -> None:
    code, text = run(BUILDING, "--kinds", "all")
    assert code == 1  # a plumber is no association
    assert "QualibatCertification" in text
    assert "Association" in text


def test_an_unknown_kind_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(BUILDING, "--kinds", "Kbis")
    assert code == 2
    assert "unknown kind 'Kbis'" in capsys.readouterr().err
