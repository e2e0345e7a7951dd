"""The sandbox's evidence (sandbox_data/evidence.json): staging contracts, demo companies, PDFs."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType

import httpx
import pytest

import dlnuf
from contracts import API_ENTREPRISE, load_cases
from dlnuf.config import Settings
from dlnuf.sources.api_entreprise import ENDPOINTS
from dlnuf.sources.sandbox import SANDBOX_URL, Sandbox, load_responses

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "dlnuf" / "sources" / "sandbox_data"
BUILDING = "31931807700017"
BAKERY = "80467560100012"
INDUSTRY = "45043197800011"
REFERENCE_DAY = date(2026, 11, 2)


def _script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = ROOT / "scripts" / "build_sandbox_evidence.py"
    spec = importlib.util.spec_from_file_location("build_sandbox_evidence", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_sandbox_evidence", module)
    spec.loader.exec_module(module)
    return module


def test_the_script_regenerates_the_evidence_and_notice_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(monkeypatch)
    shutil.copy(DATA / "NOTICE", tmp_path / "NOTICE")
    script.main(["--out", str(tmp_path)])
    assert "evidence.json" in capsys.readouterr().out
    assert (tmp_path / "evidence.json").read_bytes() == (DATA / "evidence.json").read_bytes()
    assert (tmp_path / "NOTICE").read_bytes() == (DATA / "NOTICE").read_bytes()
    assert script.REFERENCE_DAY == REFERENCE_DAY


def test_the_notice_lists_the_contracts_copied_and_keeps_the_licence() -> None:
    notice = (DATA / "NOTICE").read_text(encoding="utf-8")
    assert notice.count("--- evidence.json ---") == 1
    assert "MIT License" in notice
    for kind, endpoint in ENDPOINTS.items():
        if kind is not dlnuf.Identity:
            assert f"{endpoint.contract_dir}/" in notice


@pytest.mark.parametrize("kind", [k for k in ENDPOINTS if k is not dlnuf.Identity],
                         ids=lambda k: k.__name__)
def test_every_staging_answer_is_served_at_its_path(kind: type[dlnuf.Fact]) -> None:
    endpoint = ENDPOINTS[kind]
    stored = load_responses()
    assert endpoint.contract_dir is not None
    for case in load_cases(API_ENTREPRISE / endpoint.contract_dir):
        if set(case.params) - {"siren", "siret", "siren_or_rna", "year"}:
            continue  # a query-parameter variant
        path = endpoint.path.format(**case.params)
        assert stored[path]["status"] == case.status
        if case.status != 200:
            assert stored[path]["payload"] == case.payload
    for url in _urls(stored):
        assert url.startswith(f"{SANDBOX_URL}/files/") or "opqibi.com" in url


def _urls(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "document_url" and isinstance(v, str)]
        return found + [u for v in value.values() for u in _urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    return []


def test_the_issue_example_runs_on_the_sandbox() -> None:
    with dlnuf.Client(sources=["sandbox"], cache=None) as client:
        dossier = client.collect(
            "55204944776279", kinds=[dlnuf.Identity, dlnuf.TaxCertificate,
                                     dlnuf.SocialCertificate],
        )
        assert dossier.ok
        social = dossier.facts[dlnuf.SocialCertificate]
        assert social.provenance.source == "sandbox"
        assert dlnuf.SocialCertificate not in dossier.valid_on(date(2026, 12, 1))  # 2023 one
        cert = client.get("552049447", dlnuf.TaxCertificate)
        assert cert.document is not None
        pdf = cert.document.fetch()
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")


def test_a_demo_company_has_a_rich_dossier_valid_for_a_tender() -> None:
    kinds = [k for k in ENDPOINTS if k not in (
        dlnuf.Association, dlnuf.OpqibiCertification, dlnuf.QualifelecCertification,
        dlnuf.MsaCertification,
    )]
    with dlnuf.Client(sources=["sandbox"], cache=None) as client:
        dossier = client.collect(BUILDING, kinds)
        saved = [client.fetch_document(d) for f in dossier.facts.values()
                 for d in dlnuf.documents.documents_of(f)]
    assert dossier.errors == {}
    assert set(dossier.valid_on(REFERENCE_DAY + timedelta(days=100))) == set(kinds)
    assert dlnuf.SocialCertificate not in dossier.valid_on(REFERENCE_DAY + timedelta(days=200))
    assert len(saved) >= 8
    assert all(pdf.startswith(b"%PDF") for pdf in saved)


def test_demo_refusals_and_a_provider_down() -> None:
    settings = Settings(sources=("sandbox",), cache=None, retries=0)
    with dlnuf.Client(settings=settings, cache=None) as client:
        bakery = client.collect(BAKERY, [dlnuf.SocialCertificate, dlnuf.TaxCertificate,
                                         dlnuf.MsaCertification])
        industry = client.collect(INDUSTRY, [dlnuf.CibtpCertification,
                                             dlnuf.QualifelecCertification])
    assert bakery.facts[dlnuf.SocialCertificate].refused
    refused = bakery.errors[dlnuf.TaxCertificate]
    assert isinstance(refused, dlnuf.NotFound)
    assert refused.code == "03003"
    assert bakery.facts[dlnuf.MsaCertification].status == "non_compliant"
    assert isinstance(industry.errors[dlnuf.CibtpCertification], dlnuf.UpstreamUnavailable)
    assert dlnuf.QualifelecCertification in industry.facts


def test_the_sandbox_mount_answers_privileges_pings_and_files() -> None:
    source = Sandbox(Settings())
    assert source.mount is not None
    granted = source.parse_privileges(source.mount.handle_request(source.privileges_request()))
    for kind in ENDPOINTS:
        needed = source.required_privileges(kind)
        assert not needed or needed & granted, kind
    ping = source.mount.handle_request(source.ping_request("dgfip"))
    assert source.parse_ping(ping)
    pdf = source.mount.handle_request(httpx.Request("GET", f"{SANDBOX_URL}/files/a.pdf"))
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_evidence_file_is_json_keyed_by_path() -> None:
    table = json.loads((DATA / "evidence.json").read_text(encoding="utf-8"))
    assert all(path.startswith("/") for path in table)
    assert all(set(answer) == {"status", "payload"} for answer in table.values())
