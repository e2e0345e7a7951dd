"""The ``dlnuf`` command run as a user runs it: a subprocess, pipes, signals (issue 9).

Each test starts ``python -m dlnuf`` with a private HOME (nothing read from, or
written to, the real one) and no ``DLNUF_*`` variable but those it sets.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlnuf.cli import main
from dlnuf.testing import FakeUpstreams, make_companies, make_siret
from dlnuf.testing.server import FakeServer

SNCF = "55204944776279"
SIRETS = [make_siret(seed=f"cli-process-{i}") for i in range(420)]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DLNUF_", "XDG_"))}
    return {**clean, "HOME": str(home), "DLNUF_SOURCES": "sandbox", "DLNUF_CACHE": ""}


def dlnuf(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-m", "dlnuf", *args],
        input=stdin, env=env, capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
    )


def shell(env: dict[str, str], script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed script, our own code
        ["/bin/bash", "-c", script],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=cwd,
    )


def answers_file(folder: Path, **extra: object) -> Path:
    """A company's answers file: what DC2 asks (e-mail, phone, turnover), plus ``extra``."""
    path = folder / "answers.json"
    path.write_text(json.dumps({
        "email": "marches@example.fr", "phone": "+33 1 23 45 67 89",
        "turnover": [{"end": "2025-12-31", "amount": 1_250_000}], **extra,
    }))
    return path


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def server() -> Iterator[tuple[FakeServer, FakeUpstreams]]:
    fake = FakeUpstreams(make_companies(3, seed="cli-process"), quotas={
        "recherche_entreprises": None,
    })
    with FakeServer(fake).running() as served:
        yield served, fake


# -- batch: rows in = rows out over malformed files ---------------------------------------------

S = SIRETS
MALFORMED = {
    "stray quote": f'nom;siret\nA;{S[0]}\nB;{S[1]}\nC;"{S[2]}\nD;{S[3]}\nE;{S[4]}\n',
    "stray quotes everywhere": f'"nom";"siret\nA";{S[0]}\n"B;"{S[1]}"\n";{S[2]}""\nD;{S[3]}\n',
    "mixed delimiters": f"nom;siret\nA;{S[0]}\nB,{S[1]}\nC\t{S[2]}\nD|{S[3]}\nE;{S[4]}\n",
    "BOM at the start and pasted in the middle": f"\ufeffsiret\n{S[0]}\n\ufeffsiret2\n{S[1]}\n",
    "CRLF and lone CR": f"siret\r\n{S[0]}\r\n{S[1]}\r{S[2]}\r\n\r\n{S[3]}",
    "empty and blank lines": f"\n\nsiret\n\n{S[0]}\n  \n\t\n{S[1]}\n\n\n",
    "a 1 MB field": f'nom;siret\n"{"x" * 1_000_000}";{S[0]}\n{"y" * 1_000_000};{S[1]}\nC;{S[2]}\n',
    "a 1 MB SIRET cell": f'siret\n{"9" * 1_000_000}\n{S[0]}\n',
    "one stray quote in 408 lines": "nom;siret\n"
    + "".join(f'{"C;" + chr(34) if i == 7 else "N;"}{S[i]}\n' for i in range(407)),
}


def expected_values(text: str) -> list[str]:
    """Rows in: every non-blank physical line after the header line."""
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    return lines[1:]


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_every_line_of_a_malformed_file_gets_exactly_one_row(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLNUF_SOURCES", "sandbox")
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode("utf-8"))
    output = tmp_path / "out.csv"
    assert main(["batch", str(source), "-o", str(output), "--no-cache"], out=io.StringIO()) == 0
    expected = expected_values(text)
    rows = rows_of(output.read_text(encoding="utf-8"))
    assert len(rows) == len(expected)  # rows in = rows out (5 → 3, 408 → 19 before)
    assert [int(r["index"]) for r in rows] == list(range(len(expected)))  # in input order
    for row, line in zip(rows, expected, strict=True):
        siret = next((s for s in S if s in line), None)
        if siret is not None:  # the line's own SIRET was looked up, not a neighbour's
            assert row["input"].strip('"') == siret


# -- batch: resuming, order, pipes, progress ----------------------------------------------------


def test_resuming_over_the_output_of_another_input_is_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    first, second = tmp_path / "in1.csv", tmp_path / "in2.csv"
    first.write_text("siret\n" + "\n".join(S[:3]) + "\n")
    second.write_text("siret\n" + "\n".join(S[10:15]) + "\n")
    output = tmp_path / "q_out.csv"
    assert dlnuf(env, "batch", str(first), "-o", str(output)).returncode == 0
    written = output.read_bytes()
    same = dlnuf(env, "batch", "in1.csv", "-o", str(output), cwd=tmp_path)  # spelt otherwise
    assert same.returncode == 0, same.stderr
    assert "(3 already done)" in same.stderr
    assert output.read_bytes() == written
    refused = dlnuf(env, "batch", str(second), "-o", str(output))
    assert refused.returncode == 2
    assert "not written by dlnuf batch for this input" in refused.stderr
    assert "--overwrite" in refused.stderr
    assert output.read_bytes() == written  # nothing lost
    again = dlnuf(env, "batch", str(second), "-o", str(output), "--overwrite")
    assert again.returncode == 0, again.stderr
    assert [r["input"] for r in rows_of(output.read_text())] == S[10:15]


def test_rows_come_out_in_input_order_even_when_some_are_cached(
    tmp_path: Path, env: dict[str, str]
) -> None:
    env = {**env, "DLNUF_CACHE": f"sqlite:///{tmp_path / 'cache.db'}"}
    some, every = tmp_path / "some.txt", tmp_path / "every.txt"
    some.write_text(f"{SNCF}\n")
    every.write_text("\n".join([*S[:3], SNCF, *S[3:6]]) + "\n")
    assert dlnuf(env, "batch", str(some), "-o", str(tmp_path / "warm.csv")).returncode == 0
    done = dlnuf(env, "batch", str(every), "-o", "-")  # SNCF answers first, from the cache
    assert done.returncode == 0, done.stderr
    assert [r["index"] for r in rows_of(done.stdout)] == [str(i) for i in range(7)]
    unordered = dlnuf(env, "batch", str(every), "-o", "-", "--completion-order")
    assert sorted(int(r["index"]) for r in rows_of(unordered.stdout)) == list(range(7))


def test_stdin_and_stdout_through_pipes(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "in.csv").write_text("siret\n" + "\n".join(S[:5]) + "\n")
    piped = shell(
        env, f"cat in.csv | {sys.executable} -m dlnuf batch - -o - | head -3", cwd=tmp_path
    )
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("index,input,siret,ok")
    assert [r["input"] for r in rows_of(piped.stdout)] == S[:2]
    assert not (tmp_path / "-").exists()  # -o - used to create a file named '-'
    dev = shell(
        env, f"{sys.executable} -m dlnuf batch /dev/stdin -o out.jsonl < in.csv", cwd=tmp_path
    )
    assert dev.returncode == 0, dev.stderr  # was: io.UnsupportedOperation, not seekable
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 5


def test_output_closed_early_ends_quietly(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "in.txt").write_text("\n".join(S * 6) + "\n")  # > a pipe buffer of rows
    done = shell(
        env,
        f"{sys.executable} -m dlnuf batch in.txt -o - --completion-order | head -1;"
        ' echo "status=${PIPESTATUS[0]}" >&2',
        cwd=tmp_path,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipe" not in done.stderr
    assert "status=141" in done.stderr
    assert done.stdout.startswith("index,input")


def test_progress_without_rich_runs_without_a_bar(tmp_path: Path, env: dict[str, str]) -> None:
    shadow = tmp_path / "shadow" / "rich"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('rich is not installed')\n")
    env = {**env, "PYTHONPATH": str(tmp_path / "shadow")}
    (tmp_path / "in.txt").write_text("\n".join(S[:4]) + "\n")
    done = dlnuf(env, "batch", str(tmp_path / "in.txt"), "-o", "-", "--progress")
    assert done.returncode == 0, done.stderr  # used to abort: progress=True needs rich
    assert len(rows_of(done.stdout)) == 4


def test_a_progress_bar_goes_to_stderr_never_stdout(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "in.txt").write_text("\n".join(S[:4]) + "\n")
    done = dlnuf(env, "batch", str(tmp_path / "in.txt"), "-o", "-", "--progress")
    assert done.returncode == 0, done.stderr
    assert len(rows_of(done.stdout)) == 4
    assert "4/4" in done.stderr  # the total is known up front


# -- exit codes, signals, usual options ---------------------------------------------------------


def test_exit_codes_tell_not_found_invalid_transient_and_configuration_apart(
    env: dict[str, str],
) -> None:
    assert dlnuf(env, "lookup", SNCF).returncode == 0
    not_found = dlnuf(env, "lookup", "00000000000000")
    assert not_found.returncode == 1
    assert "NotFound" in not_found.stderr
    invalid = dlnuf(env, "lookup", "55204944776278")
    assert invalid.returncode == 2
    assert "checksum" in invalid.stderr
    offline = {
        **env, "DLNUF_SOURCES": "recherche_entreprises", "DLNUF_RETRIES": "0",
        "DLNUF_RECHERCHE_ENTREPRISES_URL": "http://127.0.0.1:9",  # nothing listens there
    }
    transient = dlnuf(offline, "lookup", SNCF)
    assert transient.returncode == 3, transient.stderr
    assert "--source sandbox" in transient.stderr  # the offline hint
    config = dlnuf({**env, "DLNUF_AUTHENTICATED": "yes-please"}, "lookup", SNCF)
    assert config.returncode == 4
    assert "DLNUF_AUTHENTICATED" in config.stderr
    for done in (not_found, invalid, transient, config):
        assert "Traceback" not in done.stderr


def test_ctrl_c_ends_quietly_with_130(
    env: dict[str, str], server: tuple[FakeServer, FakeUpstreams]
) -> None:
    served, fake = server
    fake.latency("recherche_entreprises", 30)
    env = {**env, "DLNUF_SOURCES": "recherche_entreprises",
           "DLNUF_RECHERCHE_ENTREPRISES_URL": served.url}
    child = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-m", "dlnuf", "lookup", make_companies(1, seed="x")[0].siret],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while sum(fake.requests.values()) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=20)
    assert child.returncode == 130
    assert "Traceback" not in err
    assert "KeyboardInterrupt" not in err


def test_an_answer_dlnuf_cannot_read_exits_5(
    env: dict[str, str], server: tuple[FakeServer, FakeUpstreams]
) -> None:
    served, fake = server
    # A body that is no JSON (an HTML page would be a transient maintenance page instead).
    fake.malformed("recherche_entreprises", b"not json", content_type="text/plain", times=None)
    env = {**env, "DLNUF_SOURCES": "recherche_entreprises",
           "DLNUF_RECHERCHE_ENTREPRISES_URL": served.url}
    done = dlnuf(env, "lookup", make_companies(1, seed="x")[0].siret)
    assert done.returncode == 5, done.stderr
    assert "UnexpectedPayload" in done.stderr
    assert "Traceback" not in done.stderr


def test_version_verbose_json_and_timeout(env: dict[str, str]) -> None:
    version = dlnuf(env, "--version")
    assert version.returncode == 0
    assert re.match(r"dlnuf \d", version.stdout)
    quiet = dlnuf(env, "lookup", SNCF, "--timeout", "2")
    verbose = dlnuf(env, "lookup", SNCF, "-vv", "--timeout", "2")
    assert quiet.returncode == verbose.returncode == 0
    assert "dlnuf.transport" not in quiet.stderr
    assert "DEBUG dlnuf.transport: GET" in verbose.stderr  # the dlnuf.* logs, on stderr
    assert verbose.stdout == quiet.stdout
    sources = json.loads(dlnuf(env, "sources", "--json").stdout)
    sandbox = next(s for s in sources if s["name"] == "sandbox")
    assert sandbox["configured"] is True
    assert "Identity" in sandbox["kinds"]
    forms = json.loads(dlnuf(env, "forms", "--json").stdout)
    assert "email" in {f["name"] for form in forms if form["name"] == "DC1" for f in form["fields"]}
    assert dlnuf(env, "lookup", SNCF, "--timeout", "soon").returncode == 2


def test_evidence_on_the_default_source_says_once_how_to_get_it(env: dict[str, str]) -> None:
    done = dlnuf({**env, "DLNUF_SOURCES": "recherche_entreprises"}, "evidence", SNCF)
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1  # one line, not six UnsupportedKind rows
    assert "--source api_entreprise" in done.stderr
    assert "DLNUF_API_ENTREPRISE_TOKEN" in done.stderr
    assert "--source sandbox" in done.stderr
    assert done.stdout == ""


def test_cache_clear_names_the_file_and_takes_only_what_it_uses(
    tmp_path: Path, env: dict[str, str]
) -> None:
    cache = tmp_path / "c.db"
    done = dlnuf(env, "cache", "clear", "--cache", f"sqlite:///{cache}")
    assert done.returncode == 0
    assert str(cache) in done.stdout
    assert "SQLiteCache" not in done.stdout
    helptext = dlnuf(env, "cache", "--help").stdout
    assert "--cache" in helptext
    for meaningless in ("--source", "--authenticated", "--no-cache"):
        assert meaningless not in helptext


# -- answers -----------------------------------------------------------------------------------


def test_answers_list_export_erase_from_the_shell(tmp_path: Path, env: dict[str, str]) -> None:
    env = {**env, "DLNUF_CACHE": "sqlite"}  # persistent: the sandbox's own answers file
    # contact_person: a DUME field, ignored by DC2 and listed with -v
    answers = answers_file(tmp_path, contact_person="N. Dupont")
    done = dlnuf(env, "prefill", "DC2", SNCF, "--answers", str(answers), "-v")
    assert done.returncode == 0, done.stderr
    assert "contact_person" in done.stderr
    listed = dlnuf(env, "answers", "list", "--source", "sandbox")
    assert listed.returncode == 0
    assert "552049447" in listed.stdout
    exported = json.loads(dlnuf(env, "answers", "export", SNCF[:9], "--source", "sandbox").stdout)
    assert exported["552049447"]["contact.email"]["value"] == "marches@example.fr"
    real = dlnuf(env, "answers", "list", "--source", "recherche_entreprises")
    assert real.stdout.startswith("no answers")  # sandbox answers never reach the real store
    count = sum(len(answers) for answers in exported.values())
    erased = dlnuf(env, "answers", "erase", SNCF[:9], "--source", "sandbox")
    assert erased.returncode == 0
    assert f"erased {count} answers" in erased.stdout
    assert json.loads(dlnuf(env, "answers", "export", SNCF, "--source", "sandbox").stdout) == {}


def test_an_answers_file_with_another_forms_fields_fills_dc1(
    tmp_path: Path, env: dict[str, str]
) -> None:
    answers = answers_file(tmp_path)  # turnover: a DC2 field, not one of DC1's
    done = dlnuf(env, "prefill", "DC1", SNCF, "--answers", str(answers), "--json")
    assert done.returncode == 0, done.stderr  # was: not a field of DC1, exit 2
    assert json.loads(done.stdout)["values"]["email"] == "marches@example.fr"


def test_prefill_without_a_cache_writes_nothing_to_disk(
    tmp_path: Path, env: dict[str, str]
) -> None:
    answers = answers_file(tmp_path)
    done = dlnuf(env, "prefill", "DC2", SNCF, "--answers", str(answers), "--no-cache")
    assert done.returncode == 0, done.stderr
    assert "declared answers saved" in done.stdout
    home = Path(env["HOME"])
    assert [p for p in home.rglob("*") if p.is_file()] == []


def test_resuming_from_standard_input_needs_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DLNUF_SOURCES", "sandbox")
    output = tmp_path / "out.csv"
    output.write_text("index,input\n0,x\n")

    def stdin(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    stdin(f"{S[0]}\n")
    assert main(["batch", "-", "-o", str(output), "--no-cache"], out=io.StringIO()) == 2
    assert "standard input cannot be checked" in capsys.readouterr().err
    assert output.read_text() == "index,input\n0,x\n"
    stdin(f"{S[0]}\n{S[1]}\n")
    code = main(["batch", "-", "-o", str(output), "--no-cache", "--overwrite"], out=io.StringIO())
    assert code == 0
    assert [r["input"] for r in rows_of(output.read_text())] == S[:2]
