"""``dlnuf watch`` through a subprocess: on the offline sandbox, and two processes on one
portfolio against the loopback fake server (one refused as busy, one killed halfway
and resumed without fetching anything twice)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import dlnuf
from dlnuf.testing import make_company
from dlnuf.testing.server import FakeServer
from dlnuf.testing.vigilance import SupplierWorld
from dlnuf.vigilance import Portfolio
from vigilance_kit import TOKEN, Recording


def watch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "dlnuf", "watch", *args], capture_output=True,
        text=True, timeout=120, env=env, check=False)


def test_watch_on_the_sandbox(tmp_path: Path) -> None:
    db = str(tmp_path / "portfolio.db")
    common = ["--portfolio", db, "--source", "sandbox", "--no-cache"]
    bad = tmp_path / "bad.csv"
    bad.write_text("siret,contract\n55204944776279,A\n55204944776278,B\n", encoding="utf-8")
    result = watch("import", str(bad), *common)
    assert result.returncode == 2
    assert "line 3" in result.stderr
    good = tmp_path / "suppliers.csv"
    good.write_text("siret;contract;start;kinds\n55204944776279;A-1;2026-01-05;\n"
                    "80467560100012;<b>B</b>;05/01/2026;SocialCertificate|TaxCertificate\n",
                    encoding="utf-8")
    assert watch("import", str(good), *common).stdout.strip() == "imported 2 suppliers"
    assert watch("add", "41410106300017", "--kinds", "SocialCertificate", *common).returncode == 0

    due = watch("due", "--json", *common)
    assert due.returncode == 6
    assert {(d["siret"], d["kind"], d["reason"]) for d in json.loads(due.stdout)} >= {
        ("80467560100012", "TaxCertificate", "missing")}

    refresh = watch("refresh", "--json", *common)
    assert refresh.returncode == 6  # a refusal and a closed establishment to act on
    report = json.loads(refresh.stdout)
    assert len(report["fetched"]) == 6
    assert "https://" not in refresh.stdout  # no document URL (a capability) kept or shown

    html = watch("changes", "--format", "html", "--output", str(tmp_path / "c.html"), *common)
    assert html.returncode == 6
    page = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert "Establishment closed" in page
    assert "Attestation refused" in page
    assert "&lt;b&gt;B&lt;/b&gt;" in page
    assert "<b>B</b>" not in page
    csv_text = watch("changes", "--format", "csv", *common).stdout
    assert "41410106300017,establishment_closed" in csv_text
    assert "41410106300017,company_closed" in csv_text

    pdf = tmp_path / "proof.pdf"
    proof = watch("proof", "552049447", "SocialCertificate", "--on", "2023-03-01",
                  "--save", str(pdf), *common)
    assert proof.returncode == 0
    assert json.loads(proof.stdout)["security_code"] == "YAB458G1B2T8IZW"
    assert pdf.read_bytes().startswith(b"%PDF")

    exported = json.loads(watch("export", "--siren", "552049447", *common).stdout)
    assert exported["suppliers"][0]["contract"] == "A-1"
    assert len(exported["documents"]) == 2
    assert watch("erase", "552049447", *common).returncode == 0
    assert json.loads(watch("export", "--siren", "552049447", *common).stdout)["checks"] == []
    assert "552049447" not in watch("export", *common).stdout


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, Recording, list[str]]]:
    companies = [make_company("active", seed=f"vigilance-cli-{n}") for n in range(8)]
    fake = Recording(companies)
    httpd = FakeServer(fake)
    world = SupplierWorld(fake, today=date.today(), files_url=httpd.url + "/files")
    worker = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    with world.installed():
        worker.start()
        try:
            yield httpd, fake, [c.siret for c in companies]
        finally:
            httpd.shutdown()
            httpd.server_close()


def _checks(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM checks").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_two_processes_one_busy_one_killed_and_resumed(
    tmp_path: Path, server: tuple[FakeServer, Recording, list[str]]
) -> None:
    httpd, _fake, sirets = server
    db = tmp_path / "portfolio.db"
    env = {**os.environ, "DLNUF_SOURCES": "api_entreprise", "DLNUF_API_ENTREPRISE_TOKEN": TOKEN,
           "DLNUF_RECIPIENT": "13002526500013", "DLNUF_CONTEXT": "Vigilance",
           "DLNUF_OBJECT": "Contrats", "DLNUF_AUTHENTICATED": "1",
           "DLNUF_API_ENTREPRISE_URL": httpd.url, "DLNUF_CACHE": ""}
    for siret in sirets:
        added = watch("add", siret, "--kinds", "SocialCertificate;RegistryExtract",
                      "--portfolio", str(db), env=env)
        assert added.returncode == 0, added.stderr
    first = subprocess.Popen(  # noqa: S603 - paced at the documented quotas: a few seconds
        [sys.executable, "-m", "dlnuf", "watch", "refresh", "--portfolio", str(db)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _checks(db) < 2 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        busy = watch("refresh", "--portfolio", str(db), env=env)
        assert busy.returncode == 3
        assert "another refresh" in busy.stderr
        assert first.poll() is None, "the first run ended too early to be killed"
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    kept = _checks(db)
    assert 2 <= kept < 16

    resumed = watch("refresh", "--portfolio", str(db), env=env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"{16 - kept} pieces fetched" in resumed.stdout  # only what the killed run missed
    with dlnuf.Client(sources=["sandbox"], cache=None) as client, \
            Portfolio(client, db) as portfolio:
        per_piece = Counter((str(c.siren), c.kind) for c in portfolio.archive())
        assert set(per_piece.values()) == {1}
        assert len(per_piece) == 16
        assert all(c.has_proof for c in portfolio.archive() if c.kind == "SocialCertificate")
        assert portfolio.due() == []
