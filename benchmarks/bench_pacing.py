"""Zero 429s at any size: ``client.many`` at the quota against a sliding-window server.

Target (issue 11): at N = 1,000, 5,000 and 20,000 identities, three runs each, no
request is answered 429 by the fake server (it enforces 50 requests in any sliding
second and answers in 30 ms) and the run takes at most 1.05 times the quota floor
(N / 50 s). The client is Recherche d'entreprises told the server's quota, with 8
worker threads (``concurrency=8``), no cache. Each run uses SIRETs not used before in
the same server (distinct keys), and the server's counters are reset between runs.
A first run of 50 SIRETs, not counted, warms the server up (its first answers are
slow, and a stalled server stamps the requests queued meanwhile as one burst).

Beside each figure: the floor, the server's own count of 429s sent and the most
requests it saw in any one second.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench_batch import CONCURRENCY, LATENCY_MS, PUBLIC_KINDS, RATE, _client
from common import FakeServerProcess

RATIO_TARGET = 1.05
RUNS = 3


def one_run(server: FakeServerProcess, sirets: list[str]) -> dict[str, Any]:
    """One ``many()`` over ``sirets`` at the quota; the server's view of it.

    Each run has a new client (a new limiter): the server's window is left to empty
    first, as the quota would be by the time a new process starts.
    """
    time.sleep(1.0 / RATE * RATE + 0.2)  # one period of the quota (1 s) and a margin
    server.reset()
    with _client(server.base_urls) as client:
        started = time.perf_counter()
        ok = sum(r.ok for r in client.many(sirets, concurrency=CONCURRENCY))
        elapsed = time.perf_counter() - started
    stats = server.stats()
    floor = len(sirets) / RATE
    return {
        "ok": ok,
        "elapsed_s": round(elapsed, 2),
        "ratio": round(elapsed / floor, 4),
        "rate_limited": stats["total_rate_limited"],
        "max_per_second": stats["max_per_second"].get("recherche_entreprises", 0),
    }


def run(quick: bool = False) -> dict[str, Any]:
    """Every size, three runs each, on one server with enough distinct SIRETs."""
    sizes = (100, 300) if quick else (1_000, 5_000, 20_000)
    needed = sum(sizes) * RUNS + 50
    rows: list[dict[str, Any]] = []
    with FakeServerProcess(rate=RATE, latency_ms=LATENCY_MS, companies=needed * 9 // 5 + 100,
                           sandbox=False) as server:
        pool = server.sirets(PUBLIC_KINDS)
        if len(pool) < needed:
            raise RuntimeError(f"the fake server holds {len(pool)} usable SIRETs, not {needed}")
        one_run(server, pool[:50])  # warm-up, not counted: the server's first answers are slow
        used = 50
        for n in sizes:
            runs = []
            for _ in range(RUNS):
                runs.append(one_run(server, pool[used:used + n]))
                used += n
            ratios = [r["ratio"] for r in runs]
            row = {
                "n": n,
                "runs": runs,
                "floor_s": n / RATE,
                "ratio_min": min(ratios),
                "ratio_median": statistics.median(ratios),
                "rate_limited_total": sum(r["rate_limited"] for r in runs),
                "max_per_second": max(r["max_per_second"] for r in runs),
                "all_ok": all(r["ok"] == n for r in runs),
            }
            row["met"] = (
                row["rate_limited_total"] == 0
                and max(ratios) <= RATIO_TARGET
                and row["all_ok"]
            )
            rows.append(row)
    return {"rate": RATE, "latency_ms": LATENCY_MS, "concurrency": CONCURRENCY, "sizes": rows,
            "target_ratio": RATIO_TARGET}


def render(result: dict[str, Any]) -> str:
    """The markdown section of the benchmarks page."""
    lines = [
        "`client.many(...)` at the quota (`benchmarks/bench_pacing.py`): the fake server "
        f"enforces {result['rate']} requests in any sliding second (429 beyond) and answers "
        f"in {result['latency_ms']:g} ms; concurrency {result['concurrency']}; distinct "
        "SIRETs in every run; three runs per size.",
        "",
        "| N | floor | elapsed / floor: min / median (each run) | 429 sent by the server "
        "(3 runs) | most requests in one second | target | |",
        "| ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for row in result["sizes"]:
        each = ", ".join(f"{r['ratio']:.3f}" for r in row["runs"])
        lines.append(
            f"| {row['n']:,} | {row['floor_s']:g} s | {row['ratio_min']:.3f} / "
            f"**{row['ratio_median']:.3f}x** ({each}) | **{row['rate_limited_total']}** "
            f"| {row['max_per_second']} | <= {result['target_ratio']}x, 0 × 429 "
            f"| {'met' if row['met'] else '**missed**'} |"
        )
    return "\n".join(lines) + "\n"
