"""Hardening (issue 8): memory under hostile answers, concurrent opens of a new cache file.

Each memory figure is the peak RSS (``ru_maxrss``) of a fresh client process that
makes one call against :mod:`dlnuf.testing.hostile` served on loopback by this
process, beside its baseline (the same client process fetching an ordinary
answer) in the same run; three runs, min / median:

* a gzip bomb: a 200 whose body unpacks to 1 GiB (about 1 MB on the wire), for
  an identity lookup (``max_response_bytes``, 8 MiB by default);
* a 300 MB document for ``client.fetch_document`` (``max_document_bytes``, 20 MiB),
  with the SQLite cache file's size afterwards;
* a body trickled one byte every 0.1 s: how long a call with ``deadline=2`` takes.

Concurrent opens: 8 processes open the same *new* SQLite cache file at the same
moment (a barrier), round after round, each on a fresh file; every failure to
open is counted. ``python benchmarks/bench_hardening.py opens 8 10`` runs it alone
(the test suite does, with fewer rounds).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
SIRET = "35600000000048"  # La Poste head office (a valid SIRET; the hostile server does not care)


# -- in the measured child process -------------------------------------------------------


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child(case: str, url: str, workdir: str) -> dict[str, Any]:
    import dlnuf
    from dlnuf.facts.evidence import Document

    outcome = "ok"
    started = time.monotonic()
    extra: dict[str, Any] = {}
    if case in ("bomb", "identity", "trickle"):
        with _identity_client(url, case) as client:
            try:
                client.identity(SIRET)
            except dlnuf.DlnufError as exc:
                outcome = type(exc).__name__
    else:
        path = Path(workdir) / "cache.db"
        with dlnuf.Client(
            sources=["sandbox"], cache=f"sqlite:///{path}", document_urls="any"
        ) as client:
            try:
                client.fetch_document(Document(url=f"{url}/{case}.pdf"))
            except dlnuf.DlnufError as exc:
                outcome = type(exc).__name__
        extra["cache_file_mb"] = round(path.stat().st_size / MIB, 2)
    return {
        "outcome": outcome,
        "peak_rss_mb": _peak_mb(),
        "seconds": round(time.monotonic() - started, 2),
        **extra,
    }


def _identity_client(url: str, case: str) -> Any:
    import dlnuf
    from dlnuf.config import Settings

    settings = Settings.from_env(
        env={}, sources=["recherche_entreprises"], cache=None, retries=0,
        base_urls={"recherche_entreprises": url},
        deadline=2.0 if case == "trickle" else 30.0,
    )
    return dlnuf.Client(settings=settings)


def _measure(case: str, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        done = subprocess.run(
            [sys.executable, __file__, "child", case, url, workdir],
            capture_output=True, text=True, check=True, timeout=600,
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- concurrent opens of a new cache file ----------------------------------------------------


def _opener(workdir: str, rounds: int, barrier: Any, failures: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from dlnuf.cache.sqlite import SQLiteCache
    from dlnuf.errors import DlnufError

    later = datetime.now(UTC) + timedelta(hours=1)
    for n in range(rounds):
        barrier.wait()
        try:
            cache = SQLiteCache(Path(workdir) / f"round-{n}.db")
            cache.set(f"k{os.getpid()}", b"v", expires_at=later, stale_until=later)
            cache.close()
        except DlnufError:
            with failures.get_lock():
                failures.value += 1


def concurrent_opens(processes: int = 8, rounds: int = 100) -> dict[str, int]:
    """``processes`` processes open the same new SQLite file at once, ``rounds`` times."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    failures = context.Value("i", 0)
    with tempfile.TemporaryDirectory() as workdir:
        workers = [
            context.Process(target=_opener, args=(workdir, rounds, barrier, failures))
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=600)
    return {"opens": processes * rounds, "failures": int(failures.value)}


# -- the benchmark -----------------------------------------------------------------------


def _three(case: str, url: str, runs: int) -> dict[str, Any]:
    samples = [_measure(case, url) for _ in range(runs)]
    rss = [s["peak_rss_mb"] for s in samples]
    seconds = [s["seconds"] for s in samples]
    summary: dict[str, Any] = {
        "outcomes": sorted({s["outcome"] for s in samples}),
        "peak_rss_mb_min": min(rss),
        "peak_rss_mb_median": statistics.median(rss),
        "seconds_min": min(seconds),
        "seconds_median": statistics.median(seconds),
    }
    if "cache_file_mb" in samples[0]:
        summary["cache_file_mb_max"] = max(s["cache_file_mb"] for s in samples)
    return summary


def run(quick: bool = False) -> dict[str, Any]:
    """Every figure (``quick``: one run each, 100 opens)."""
    from dlnuf.testing.companies import make_company
    from dlnuf.testing.hostile import Hostile, gzip_bomb, huge, json_body, raw, trickle
    from dlnuf.testing.payloads import recherche_result, recherche_search

    runs = 1 if quick else 3
    server = Hostile("127.0.0.1")
    company = make_company("active", seed="bench", siret=SIRET)
    try:
        server.route("/search", json_body(recherche_search([recherche_result(company)])))
        baseline = _three("identity", server.url, runs)
        server.route("/search", gzip_bomb(1024 * MIB))
        bomb = _three("bomb", server.url, runs)
        server.route("/search", trickle(0.1))
        slow = _three("trickle", server.url, runs)
        server.route("/small.pdf", raw(b"%PDF-1.4 small", content_type="application/pdf"))
        small = _three("small", server.url, runs)
        server.route("/big.pdf", huge(300 * 1000 * 1000))
        big = _three("big", server.url, runs)
    finally:
        server.close()
    opens = concurrent_opens(8, 12 if quick else 100)
    return {
        "identity_baseline": baseline,
        "gzip_bomb_1gib": bomb,
        "trickle_deadline_2s": slow,
        "document_baseline": small,
        "document_300mb": big,
        "concurrent_opens": opens,
        "runs": runs,
    }


def render(result: dict[str, Any]) -> str:
    """The markdown section."""

    def rss(r: dict[str, Any]) -> str:
        return f"{r['peak_rss_mb_min']} / {r['peak_rss_mb_median']} MB"

    b, bomb = result["identity_baseline"], result["gzip_bomb_1gib"]
    d, big = result["document_baseline"], result["document_300mb"]
    slow, opens = result["trickle_deadline_2s"], result["concurrent_opens"]
    lines = [
        "Hostile answers from a loopback server (`benchmarks/bench_hardening.py`): the peak",
        "RSS of a fresh client process making one call, beside the same process making an",
        f"ordinary call; {result['runs']} runs, min / median. Before issue 8 (as measured",
        "in the issue) the gzip bomb cost 2.1 GB of RSS and the 300 MB document a 603 MB",
        "cache file; a 300 MB document now peaks near the 20 MiB cap above the baseline.",
        "",
        "| case | outcome | peak RSS (min / median) | baseline peak RSS | other |",
        "| --- | --- | ---: | ---: | --- |",
        f"| identity, gzip bomb (1 GiB unpacked) | `{', '.join(bomb['outcomes'])}` | "
        f"{rss(bomb)} | {rss(b)} | {bomb['seconds_median']} s |",
        f"| document of 300 MB | `{', '.join(big['outcomes'])}` | {rss(big)} | {rss(d)} | "
        f"cache file {big['cache_file_mb_max']} MB afterwards |",
        f"| identity, body trickled 1 byte / 0.1 s, `deadline=2` | "
        f"`{', '.join(slow['outcomes'])}` | {rss(slow)} | {rss(b)} | ended after "
        f"{slow['seconds_min']} / {slow['seconds_median']} s |",
        "",
        f"8 processes opening the same new SQLite cache file at once: **{opens['failures']} "
        f"failures in {opens['opens']} opens** (target 0).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1] == "child":
        print(json.dumps(_child(sys.argv[2], sys.argv[3], sys.argv[4])))
    elif sys.argv[1] == "opens":
        print(json.dumps(concurrent_opens(int(sys.argv[2]), int(sys.argv[3]))))
