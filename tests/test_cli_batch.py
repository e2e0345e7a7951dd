"""``dlnuf batch``: odd input files, CSV and JSON Lines out, resumable, a summary of errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dlnuf.client
from dlnuf.batch import record_columns
from dlnuf.cli import main
from dlnuf.cli.batch import read_sirets
from dlnuf.facts import Identity
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.testing import FakeUpstreams, make_companies
from dlnuf.testing.server import FakeServer

NO_QUOTAS: dict[str, tuple[int, float] | None] = {"recherche_entreprises": None}
COMPANIES = make_companies(12, seed="cli-batch", kinds=("active",))
GOOD = [c.siret for c in COMPANIES]


@pytest.fixture
def fake(dlnuf_fake: FakeUpstreams, monkeypatch: pytest.MonkeyPatch) -> FakeUpstreams:
    """``dlnuf_fake`` holding COMPANIES, without quota nor pacing: the CLI is under test."""
    monkeypatch.setattr(dlnuf.client, "DEFAULT_LIMITER", MemoryRateLimiter(burst=1000))
    dlnuf_fake.add(*COMPANIES)
    dlnuf_fake.set_quota("recherche_entreprises", None)
    return dlnuf_fake


def batch(*argv: str) -> int:
    return main(["batch", *argv, "--no-cache"], out=io.StringIO())


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def by_index(rows: list[dict[str, str]]) -> dict[int, dict[str, str]]:
    indexes = [int(r["index"]) for r in rows]
    assert len(indexes) == len(set(indexes)), "an index written twice"
    return {int(r["index"]): r for r in rows}


# -- reading odd files -----------------------------------------------------------------------

ODD_FILES = {
    "one per line": (f"{GOOD[0]}\n{GOOD[1]}\n", None),
    "header": (f"siret\n{GOOD[0]}\n{GOOD[1]}\n", None),
    "header in capitals, other columns": (f"Name,SIRET\nA,{GOOD[0]}\nB,{GOOD[1]}\n", None),
    "no header, several columns": (f"A,{GOOD[0]},x\nB,{GOOD[1]},y\n", None),
    "semicolons": (f"nom;siret\nA;{GOOD[0]}\nB;{GOOD[1]}\n", None),
    "tabs": (f"nom\tsiret\nA\t{GOOD[0]}\nB\t{GOOD[1]}\n", None),
    "BOM": (f"\ufeffsiret\n{GOOD[0]}\n{GOOD[1]}\n", None),
    "Windows line ends": (f"siret\r\n{GOOD[0]}\r\n{GOOD[1]}\r\n", None),
    "blank lines": (f"\n\nsiret\n\n{GOOD[0]}\n \n\n{GOOD[1]}\n\n", None),
    "spaces in the number": (f"{GOOD[0][:3]} {GOOD[0][3:9]} {GOOD[0][9:]}\n{GOOD[1]}\n", None),
    "named column": (f"code,number\nx,{GOOD[0]}\ny,{GOOD[1]}\n", "number"),
    "quoted cells": (f'"nom","siret"\n"A, Ltd","{GOOD[0]}"\n"B","{GOOD[1]}"\n', None),
}


@pytest.mark.parametrize(("text", "column"), ODD_FILES.values(), ids=ODD_FILES.keys())
def test_every_odd_file_yields_its_sirets(tmp_path: Path, text: str, column: str | None) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode("utf-8"))
    values = [v.replace(" ", "") for v in read_sirets(source, column)]
    assert values == [GOOD[0], GOOD[1]]


def test_a_header_without_a_siret_column_must_be_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("name,code\nA,1\n")
    assert batch(str(source), "-o", str(tmp_path / "out.csv")) == 2
    assert "--column" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()  # the input is checked before any output


def test_a_windows_1252_file_still_gives_its_sirets(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(f"raison sociale;siret\r\nSoci\xe9t\xe9;{GOOD[0]}\r\n".encode("cp1252"))
    assert list(read_sirets(source)) == [GOOD[0]]


def test_an_empty_file_gives_nothing(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("\n\n")
    assert list(read_sirets(source)) == []


def test_a_missing_column_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"siret\n{GOOD[0]}\n")
    assert batch(str(source), "-o", str(tmp_path / "o.csv"), "--column", "numero") == 2
    assert "no column 'numero'" in capsys.readouterr().err


def test_a_missing_input_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert batch(str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv")) == 2
    assert "cannot read" in capsys.readouterr().err


# -- writing ----------------------------------------------------------------------------------


def test_every_line_gets_a_row_bad_and_repeated_ones_included(
    tmp_path: Path, fake: FakeUpstreams, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    lines = [GOOD[0], "123", GOOD[1], GOOD[0], "", GOOD[2], "30613890001295"]
    source.write_text("\ufeffsiret;nom\r\n" + "".join(f"{v};x\r\n" for v in lines) + "\r\n")
    output = tmp_path / "out.csv"
    assert batch(str(source), "-o", str(output)) == 0
    rows = by_index(csv_rows(output))
    assert sorted(rows) == list(range(len(lines)))
    assert [rows[i]["input"] for i in range(len(lines))] == lines
    for i in (0, 2, 3, 5):
        assert rows[i]["ok"] == "true"
        assert rows[i]["Identity.siret"] == lines[i]
        assert rows[i]["Identity.legal_name"]
    for i in (1, 4, 6):
        assert rows[i]["ok"] == "false"
        assert rows[i]["Identity.error_type"] == "InvalidSiret"
    assert fake.requests["recherche_entreprises"] == 3  # the repeated one fetched once
    err = capsys.readouterr().err
    assert "7 lines answered: 4 ok" in err
    assert "InvalidSiret 3" in err


def test_csv_header_is_the_record_columns(tmp_path: Path, fake: FakeUpstreams) -> None:
    source = tmp_path / "in.txt"
    source.write_text(GOOD[0] + "\n")
    output = tmp_path / "out.csv"
    assert batch(str(source), "-o", str(output)) == 0
    header = output.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",") == record_columns([Identity])


@pytest.mark.parametrize(("name", "extra"), [("out.jsonl", ()), ("out.txt", ("--format", "jsonl"))])
def test_json_lines_by_extension_or_format(
    tmp_path: Path, fake: FakeUpstreams, name: str, extra: tuple[str, ...]
) -> None:
    source = tmp_path / "in.txt"
    source.write_text(f"{GOOD[0]}\nnope\n")
    output = tmp_path / name
    assert batch(str(source), "-o", str(output), *extra) == 0
    rows = {r["index"]: r for r in map(json.loads, output.read_text().splitlines())}
    assert rows[0]["facts"]["Identity"]["siret"] == GOOD[0]
    assert rows[1]["errors"]["Identity"]["type"] == "InvalidSiret"
    assert rows[1]["errors"]["Identity"]["transient"] is False


def test_unknown_kind_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.txt"
    source.write_text(GOOD[0] + "\n")
    assert batch(str(source), "-o", str(tmp_path / "o.csv"), "--kinds", "Identiti") == 2
    assert "unknown kind 'Identiti'" in capsys.readouterr().err


# -- resuming ---------------------------------------------------------------------------------


def test_a_rerun_redoes_nothing(tmp_path: Path, fake: FakeUpstreams) -> None:
    source = tmp_path / "in.csv"
    source.write_text("siret\n" + "\n".join([*GOOD[:6], "bad"]) + "\n")
    output = tmp_path / "out.csv"
    assert batch(str(source), "-o", str(output)) == 0
    first = output.read_bytes()
    fake.reset()
    assert batch(str(source), "-o", str(output)) == 0
    assert output.read_bytes() == first
    assert fake.requests["recherche_entreprises"] == 0


def test_a_row_cut_by_a_crash_is_redone(tmp_path: Path, fake: FakeUpstreams) -> None:
    source = tmp_path / "in.txt"
    source.write_text("\n".join(GOOD[:4]) + "\n")
    output = tmp_path / "out.jsonl"
    assert batch(str(source), "-o", str(output)) == 0
    lines = output.read_text().splitlines(keepends=True)
    output.write_text("".join(lines[:2]) + lines[2][:40])  # killed while writing row 3
    fake.reset()
    assert batch(str(source), "-o", str(output)) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(r["index"] for r in rows) == [0, 1, 2, 3]
    assert fake.requests["recherche_entreprises"] == 2


def test_upstream_down_exits_3_and_a_rerun_fills_the_gaps(
    tmp_path: Path, fake: FakeUpstreams, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("siret\n" + "\n".join([*GOOD[:5], "bad"]) + "\n")
    output = tmp_path / "out.csv"
    fake.down("recherche_entreprises", seconds=3600, status=500)  # 500: not retried, quick
    assert batch(str(source), "-o", str(output)) == 3
    err = capsys.readouterr().err
    assert "UpstreamUnavailable 5" in err
    assert "run the same command again" in err
    rows = by_index(csv_rows(output))
    assert {rows[i]["Identity.error_type"] for i in range(5)} == {"UpstreamUnavailable"}
    fake.clear_faults()
    fake.reset()
    assert batch(str(source), "-o", str(output)) == 0
    rows = by_index(csv_rows(output))  # each index once: the failed rows were replaced
    assert sorted(rows) == list(range(6))
    assert all(rows[i]["ok"] == "true" for i in range(5))
    assert rows[5]["Identity.error_type"] == "InvalidSiret"
    assert fake.requests["recherche_entreprises"] == 5
    assert "(1 already done, 5 retried)" in capsys.readouterr().err


def test_an_output_of_other_kinds_is_refused(tmp_path: Path, fake: FakeUpstreams) -> None:
    source = tmp_path / "in.txt"
    source.write_text(GOOD[0] + "\n")
    output = tmp_path / "out.csv"
    output.write_text("index,input,something,else\n0,x,y,z\n")
    assert batch(str(source), "-o", str(output)) == 2
    assert output.read_text() == "index,input,something,else\n0,x,y,z\n"


def test_killed_halfway_then_rerun_loses_nothing_and_redoes_nothing(tmp_path: Path) -> None:
    companies = make_companies(40, seed="kill", kinds=("active",))
    fake = FakeUpstreams(companies, quotas=NO_QUOTAS, latency=0.01)
    with FakeServer(fake).running() as server:
        source = tmp_path / "in.csv"
        source.write_text("siret\n" + "\n".join(c.siret for c in companies) + "\n")
        output = tmp_path / "out.csv"
        env = {
            **os.environ,
            "DLNUF_RECHERCHE_ENTREPRISES_URL": server.url,
            "DLNUF_CACHE": f"sqlite:///{tmp_path / 'cache.db'}",
            "DLNUF_SOURCES": "recherche_entreprises",
        }
        command = [sys.executable, "-m", "dlnuf", "batch", str(source), "-o", str(output)]
        child = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if output.exists() and output.read_text().count("\n") > 12:
                break
            time.sleep(0.02)
        child.kill()
        child.wait(timeout=10)
        written = len(csv_rows(output))
        assert 0 < written < 40, "the batch was not killed halfway"
        done = subprocess.run(  # noqa: S603 - this interpreter, our own code
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        rows = by_index(csv_rows(output))
        assert sorted(rows) == list(range(40))
        assert all(r["ok"] == "true" for r in rows.values())
        assert f"({written} already done)" in done.stderr
        # What was fetched before the kill came from the cache: only requests in flight
        # at the moment of the kill may have been sent twice.
        assert 40 <= fake.requests["recherche_entreprises"] <= 40 + 8

