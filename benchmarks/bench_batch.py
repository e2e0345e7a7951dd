"""Batches at the upstream quota (issue 5), against the fake server over real HTTP.

* ``at_quota``: ``client.many`` of 1,000 identities (Recherche d'entreprises) with the
  server enforcing 50 requests per second (sliding window, 429 beyond) and answering
  in 30 ms; the client is told that quota (a source whose ``quota()`` is 50/s). Target:
  elapsed / (N / rate) <= 1.05, and no 429.
* ``insee``: the same 1,000 SIRETs through INSEE Sirene batching. Target: at most one
  upstream call per 1,000 SIRETs.
* ``redis``: 4 processes share one quota of 50/s through ``RedisRateLimiter``, each
  looking up a quarter of the SIRETs, all started together. Target: the server never
  sees more than 50 requests in any one-second window (its own counter), no 429.
* ``memory``: ``dlnuf batch`` streams 100,000 SIRETs from a CSV file to a CSV file,
  one lookup each (API Entreprise identity, SQLite cache, fake server without latency
  or quota, the client told that quota through ``DLNUF_API_ENTREPRISE_QUOTA_JSON``).
  Target: maximum RSS of that process under 200 MB (``getrusage(RUSAGE_CHILDREN)``
  in a parent that runs nothing else).

``--quick`` uses smaller N (CI-time sanity: 200 SIRETs, 10,000 for memory).
Run with ``python benchmarks/run.py batch``; Redis comes from ``$DLNUF_BENCH_REDIS``
(default ``redis://127.0.0.1:6379/14``), the part is skipped when it is not running.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, FakeServerProcess

import dlnuf
from dlnuf.ratelimit import MemoryRateLimiter

RATE = 50
LATENCY_MS = 30.0
RATIO_TARGET = 1.05
MEMORY_TARGET_MB = 200.0
PROCESSES = 4
CONCURRENCY = 8
REDIS_URL = os.environ.get("DLNUF_BENCH_REDIS", "redis://127.0.0.1:6379/14")
# Kinds of fake companies that Recherche d'entreprises and INSEE both answer.
PUBLIC_KINDS = ("active", "secondary", "closed", "association", "sole_trader")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(Path(__file__).parent), env.get("PYTHONPATH", ""))
        if p
    )
    return env


def _client(base_urls: dict[str, str], limiter: Any = None) -> dlnuf.Client:
    """A client of Recherche d'entreprises at the fake server, paced at RATE (its quota
    option: what the fake server enforces)."""
    return dlnuf.Client(
        sources=["recherche_entreprises"],
        options={"recherche_entreprises": {"quota": f"{RATE}/s"}},
        base_urls=base_urls,
        cache=None,
        limiter=limiter or MemoryRateLimiter(),
    )


def _traffic(server: FakeServerProcess, source: str, pool: str) -> dict[str, Any]:
    stats = server.stats()
    return {
        "requests": stats["requests"].get(source, 0),
        "rate_limited": stats["total_rate_limited"],
        "max_per_second": stats["max_per_second"].get(pool, 0),
    }


def at_quota(server: FakeServerProcess, sirets: list[str]) -> dict[str, Any]:
    """One process, one client: N identities at the quota."""
    server.reset()
    with _client(server.base_urls) as client:
        started = time.perf_counter()
        results = list(client.many(sirets, concurrency=CONCURRENCY))
        elapsed = time.perf_counter() - started
    floor = len(sirets) / RATE
    row = {
        "n": len(sirets),
        "ok": sum(r.ok for r in results),
        "elapsed_s": round(elapsed, 2),
        "floor_s": round(floor, 2),
        "ratio": round(elapsed / floor, 3),
        **_traffic(server, "recherche_entreprises", "recherche_entreprises"),
    }
    row["met"] = row["ratio"] <= RATIO_TARGET and row["rate_limited"] == 0
    return row


def insee(server: FakeServerProcess, sirets: list[str]) -> dict[str, Any]:
    """The same SIRETs through INSEE's ``POST /siret`` batches."""
    server.reset()
    client = dlnuf.Client(sources=["insee_sirene"], insee_api_key="benchmark-key",
                          base_urls=server.base_urls, cache=None)
    with client:
        started = time.perf_counter()
        results = list(client.many(sirets, concurrency=CONCURRENCY))
        elapsed = time.perf_counter() - started
    calls = server.stats()["requests"].get("insee_sirene", 0)
    allowed = math.ceil(len(sirets) / 1000)
    return {
        "n": len(sirets),
        "ok": sum(r.ok for r in results),
        "elapsed_s": round(elapsed, 2),
        "calls": calls,
        "allowed_calls": allowed,
        "one_by_one_at_30_per_min_s": round(len(sirets) * 2.0, 1),
        "met": calls <= allowed and sum(r.ok for r in results) == len(sirets),
    }


# -- several processes on one Redis quota --------------------------------------------------------

_WORKER = """
import json, sys, time
import bench_batch
from dlnuf.ratelimit_redis import RedisRateLimiter

base_urls, redis_url, sirets = json.loads(sys.stdin.readline())
limiter = RedisRateLimiter.from_url(redis_url)
with bench_batch._client(base_urls, limiter) as client:
    print("ready", flush=True)
    sys.stdin.readline()  # go
    started = time.time()
    ok = sum(r.ok for r in client.many(sirets, concurrency=bench_batch.CONCURRENCY))
print(json.dumps({"ok": ok, "started": started, "ended": time.time()}), flush=True)
"""


def _redis_ready(url: str) -> str | None:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install dlnuf[redis])"
    client = redis.Redis.from_url(url, socket_connect_timeout=1.0)
    try:
        client.ping()
        client.delete("dlnuf:quota:recherche_entreprises")
    except redis.RedisError as exc:
        return f"no Redis at {url} ({type(exc).__name__})"
    finally:
        client.close()
    return None


def shared_quota(server: FakeServerProcess, sirets: list[str]) -> dict[str, Any]:
    """PROCESSES processes, one Redis quota: the server's peak per second and its 429s."""
    missing = _redis_ready(REDIS_URL)
    if missing:
        return {"skipped": missing}
    server.reset()
    share = [sirets[i::PROCESSES] for i in range(PROCESSES)]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=_env(),
        )
        for _ in range(PROCESSES)
    ]
    for worker, part in zip(workers, share, strict=True):
        assert worker.stdin is not None
        worker.stdin.write(json.dumps([server.base_urls, REDIS_URL, part]) + "\n")
        worker.stdin.flush()
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    reports = [json.loads(w.communicate(timeout=600)[0].strip().splitlines()[-1])
               for w in workers]
    elapsed = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    floor = len(sirets) / RATE
    row = {
        "processes": PROCESSES,
        "n": len(sirets),
        "ok": sum(r["ok"] for r in reports),
        "elapsed_s": round(elapsed, 2),
        "ratio": round(elapsed / floor, 3),
        "quota_per_s": RATE,
        **_traffic(server, "recherche_entreprises", "recherche_entreprises"),
    }
    row["met"] = row["max_per_second"] <= RATE and row["rate_limited"] == 0
    return row


# -- memory of a streamed batch ------------------------------------------------------------------

_RUN_CLI = """
import sys
from dlnuf.cli import main
raise SystemExit(main(sys.argv[1:]))
"""

_MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run([sys.executable, "-c", sys.argv[1], *sys.argv[2:]],
                      capture_output=True, text=True)
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "elapsed": elapsed, "max_rss_kb": usage.ru_maxrss,
                  "stderr": done.stderr[-2000:]}))
"""


def memory(n: int) -> dict[str, Any]:
    """``dlnuf batch`` of n SIRETs, file to file: the maximum RSS of that process."""
    with FakeServerProcess(rate=10**6, companies=n, sandbox=False) as server, \
            tempfile.TemporaryDirectory() as folder:
        sirets = [c["siret"] for c in server.companies()][:n]
        source, output = Path(folder) / "in.csv", Path(folder) / "out.csv"
        with source.open("w", encoding="utf-8") as handle:
            handle.write("siret\n")
            handle.writelines(f"{s}\n" for s in sirets)
        env = {
            **_env(),
            "DLNUF_API_ENTREPRISE_URL": server.url,
            "DLNUF_API_ENTREPRISE_TOKEN": "benchmark-token",
            "DLNUF_RECIPIENT": "13002526500013",
            "DLNUF_CONTEXT": "benchmark",
            "DLNUF_OBJECT": "memory",
            # the fake answers at 10^6/s: the client is told so, as a mirror's user would
            "DLNUF_API_ENTREPRISE_QUOTA_JSON": "1000000/s",
        }
        command = [
            sys.executable, "-c", _MEASURE, _RUN_CLI,
            "batch", str(source), "-o", str(output), "--source", "api_entreprise",
            "--cache", f"sqlite:///{folder}/cache.db", "--concurrency", str(CONCURRENCY),
        ]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        report = json.loads(done.stdout)
        with output.open(encoding="utf-8") as handle:
            rows = sum(1 for _ in handle) - 1
        requests = server.stats()["requests"].get("api_entreprise", 0)
    max_rss_mb = report["max_rss_kb"] / 1024
    return {
        "n": n,
        "rows_written": rows,
        "requests": requests,
        "exit_status": report["code"],
        "elapsed_s": round(report["elapsed"], 1),
        "lines_per_s": round(n / report["elapsed"]),
        "max_rss_mb": round(max_rss_mb, 1),
        "target_mb": MEMORY_TARGET_MB,
        "summary": report["stderr"].strip().splitlines()[-1:] if report["stderr"] else [],
        "met": max_rss_mb < MEMORY_TARGET_MB and rows == n and report["code"] == 0,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Every part; N = 1,000 (200 quick) and 100,000 (10,000 quick) for memory."""
    n = 200 if quick else 1000
    result: dict[str, Any] = {"rate": RATE, "latency_ms": LATENCY_MS,
                              "concurrency": CONCURRENCY}
    with FakeServerProcess(rate=RATE, latency_ms=LATENCY_MS, companies=2 * n * 9 // 5,
                           sandbox=False) as server:
        sirets = server.sirets(PUBLIC_KINDS)[:n]
        if len(sirets) < n:
            raise RuntimeError(f"the fake server holds {len(sirets)} usable SIRETs, not {n}")
        result["at_quota"] = at_quota(server, sirets)
        result["insee"] = insee(server, sirets)
        result["redis"] = shared_quota(server, sirets)
    result["memory"] = memory(10_000 if quick else 100_000)
    return result


def render(result: dict[str, Any]) -> str:
    """The markdown section of docs/benchmarks.md."""
    def mark(met: bool) -> str:
        return "met" if met else "**missed**"

    q, i, r, m = result["at_quota"], result["insee"], result["redis"], result["memory"]
    lines = [
        "`client.many(...)` and `dlnuf batch` (`benchmarks/bench_batch.py`): the fake server "
        f"enforces {result['rate']} requests per second (sliding window, 429 beyond) and "
        f"answers in {result['latency_ms']:g} ms; concurrency {result['concurrency']}.",
        "",
        "| benchmark | figure | target | |",
        "| --- | --- | --- | --- |",
        f"| {q['n']:,} identities at the quota | {q['elapsed_s']} s for a floor of "
        f"{q['floor_s']} s: **{q['ratio']:.3f}x**; {q['rate_limited']} × 429; peak "
        f"{q['max_per_second']}/s | <= {RATIO_TARGET}x, 0 × 429 | {mark(q['met'])} |",
        f"| the same through INSEE batching | **{i['calls']} upstream call(s)** for "
        f"{i['n']:,} SIRETs, {i['elapsed_s']} s (one by one at 30/min: "
        f"{i['one_by_one_at_30_per_min_s']:,.0f} s) | <= 1 per 1,000 ({i['allowed_calls']}) "
        f"| {mark(i['met'])} |",
    ]
    if "skipped" in r:
        lines.append(f"| {PROCESSES} processes, one Redis quota | skipped: {r['skipped']} "
                     "| | |")
    else:
        lines.append(
            f"| {r['processes']} processes, one Redis quota | peak **{r['max_per_second']} "
            f"requests in a second** (quota {r['quota_per_s']}); {r['rate_limited']} × 429; "
            f"{r['n']:,} lookups in {r['elapsed_s']} s ({r['ratio']:.3f}x the floor) "
            f"| <= {r['quota_per_s']}/s, 0 × 429 | {mark(r['met'])} |"
        )
    lines.append(
        f"| `dlnuf batch` of {m['n']:,} SIRETs, file to file | max RSS **{m['max_rss_mb']} "
        f"MB**; {m['rows_written']:,} rows in {m['elapsed_s']} s ({m['lines_per_s']:,} "
        f"lines/s) | < {m['target_mb']:g} MB | {mark(m['met'])} |"
    )
    return "\n".join(lines) + "\n"
