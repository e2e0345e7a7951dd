"""The Sirene stock as a local source (issue 13): ``many()`` over a generated stock.

* ``many``: ``client.many()`` of 1,000,000 distinct SIRETs (all present) against a
  generated stock of 5,000,000 establishments (``dlnuf.testing.stock``, with its
  sorted copy), no cache; three runs, each in a fresh process (elapsed and that
  process's peak RSS). Targets: <= 60 s, <= 1 GB.
* ``floor``: the same SIRETs joined by a hand-written DuckDB query over the Parquet
  files (rows fetched into Python), three runs in fresh processes.
* ``many_nogc``: the same with the cycle collector turned off by the caller
  (``gc.disable()``), to show what it costs (a labelled variant, not the default).
* ``growth``: ``many()`` over 10,000, 100,000 and 1,000,000 SIRETs (three runs each).
* ``identity``: warm ``client.identity()`` (one distinct SIRET each time) from the
  Parquet files and from the sorted copy. Target: <= 5 ms.
* ``live``: ``many()`` through Recherche d'entreprises against the fake server at its
  quota of 7 requests/s; its measured rate extrapolated to 1,000,000 SIRETs.

The stock lives outside the repository (``$DLNUF_BENCH_STOCK``, default
``/work/stockdata/5m``); it is generated there when missing (a few minutes), with
its input files of sampled SIRETs beside it. ``--quick`` uses a 100,000-establishment
stock and 10,000 SIRETs.

    python benchmarks/bench_stock.py                # every figure, saved, page rewritten
    python benchmarks/bench_stock.py --quick        # the small stock, one run each
    python benchmarks/bench_stock.py --only many    # many() of 1,000,000 SIRETs, 3 runs
    python benchmarks/bench_stock.py --only many --n 100000 --runs 1

``--only`` (``many``, ``many_nogc``, ``floor``, ``growth``, ``identity``, ``live``)
prints that figure as JSON and saves nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, FakeServerProcess

STOCK = Path(os.environ.get("DLNUF_BENCH_STOCK", "/work/stockdata/5m"))
ESTABLISHMENTS = 5_000_000
SIZES = (10_000, 100_000, 1_000_000)
RUNS = 3
TARGET_S = 60.0
TARGET_MB = 1024.0
TARGET_MS = 5.0
LIVE_RATE = 7

_CHILD = r"""
import json, sys, time
mode, folder, inputs = sys.argv[1], sys.argv[2], sys.argv[3]
sirets = open(inputs, encoding="ascii").read().split()
if mode.startswith("many"):
    import gc
    import dlnuf
    if mode == "many-nogc":
        gc.disable()  # what a caller may choose: the cycle collector off during the run
    from dlnuf.sources.sirene_stock import SireneStock
    client = dlnuf.Client(sources=[SireneStock(folder=folder)], cache=None)
    started = time.perf_counter()
    ok = sum(r.ok for r in client.many(sirets))
else:
    import duckdb
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    con.execute("CREATE TEMP TABLE ask AS SELECT unnest($1::VARCHAR[]) AS siret", [sirets])
    rows = con.execute(
        f"SELECT e.*, u.* FROM read_parquet('{folder}/StockEtablissement_utf8.parquet') e "
        "SEMI JOIN ask USING (siret) "
        f"LEFT JOIN read_parquet('{folder}/StockUniteLegale_utf8.parquet') u USING (siren)"
    ).fetchall()
    ok = len(rows)
elapsed = time.perf_counter() - started
# VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
rss = next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM:")) / 1024
print(json.dumps({"elapsed_s": round(elapsed, 2), "ok": ok, "max_rss_mb": round(rss, 1)}))
"""


def _prepare(folder: Path, establishments: int) -> None:
    import dlnuf.sources.sirene_stock as stock_module
    from dlnuf.testing.stock import write_stock

    if not (folder / stock_module.ESTABLISHMENTS_FILE).is_file():
        write_stock(folder, establishments=establishments)
    source = stock_module.SireneStock(folder=folder)
    if not source.info().copy:
        source.build_copy()


def _inputs(folder: Path, n: int) -> Path:
    """``n`` distinct SIRETs of the stock, in random order, one per line (made once)."""
    import duckdb

    path = folder.parent / f"{folder.name}-input-{n}.txt"
    if not path.is_file():
        con = duckdb.connect()
        sample = f"USING SAMPLE reservoir({int(n)} ROWS) REPEATABLE (13)"
        rows = con.execute(
            "SELECT siret FROM read_parquet($1) " + sample,  # noqa: S608 - n is an int
            [str(folder / "StockEtablissement_utf8.parquet")],
        ).fetchall()
        path.write_text("\n".join(r[0] for r in rows) + "\n", encoding="ascii")
    return path


def _child(mode: str, folder: Path, inputs: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(folder), str(inputs)],
        capture_output=True, text=True, check=True, env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _runs(mode: str, folder: Path, inputs: Path, runs: int) -> dict[str, Any]:
    samples = [_child(mode, folder, inputs) for _ in range(runs)]
    times = [s["elapsed_s"] for s in samples]
    return {
        "runs": samples,
        "min_s": min(times),
        "median_s": statistics.median(times),
        "max_rss_mb": max(s["max_rss_mb"] for s in samples),
        "ok": samples[0]["ok"],
    }


def _identity(folder: Path, inputs: Path, use_copy: bool, n: int = 300) -> dict[str, Any]:
    import dlnuf
    from dlnuf.sources.sirene_stock import SireneStock

    sirets = inputs.read_text(encoding="ascii").split()[: n + 20]
    client = dlnuf.Client(sources=[SireneStock(folder=folder, use_copy=use_copy)], cache=None)
    for siret in sirets[:20]:  # warm: connection open, pages read once
        client.identity(siret)
    samples = []
    for siret in sirets[20:]:
        started = time.perf_counter_ns()
        client.identity(siret)
        samples.append(time.perf_counter_ns() - started)
    client.close()
    ms = sorted(s / 1e6 for s in samples)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "min_ms": round(ms[0], 2),
    }


def _live(n: int = 35) -> dict[str, Any]:
    import dlnuf

    with FakeServerProcess(rate=LIVE_RATE, companies=200) as server:
        sirets = server.sirets()[:n]
        client = dlnuf.Client(
            sources=["recherche_entreprises"], base_urls=server.base_urls, cache=None
        )
        started = time.perf_counter()
        ok = sum(r.ok for r in client.many(sirets))
        elapsed = time.perf_counter() - started
        client.close()
        rate_limited = server.stats().get("total_rate_limited")
    rate = n / elapsed
    return {
        "n": n,
        "ok": ok,
        "elapsed_s": round(elapsed, 2),
        "rate_per_s": round(rate, 2),
        "rate_limited": rate_limited,
        "extrapolated_1m_hours": round(1_000_000 / rate / 3600, 1),
    }


def only(part: str, n: int, runs: int, quick: bool = False) -> dict[str, Any]:
    """One figure of the module docstring, for ``n`` SIRETs (``--only``)."""
    folder = STOCK.parent / "100k" if quick else STOCK
    _prepare(folder, 100_000 if quick else ESTABLISHMENTS)
    inputs = _inputs(folder, n)
    if part in ("many", "many_nogc", "floor"):
        return _runs(part.replace("_", "-"), folder, inputs, runs)
    if part == "growth":
        return {str(k): _runs("many", folder, _inputs(folder, k), runs) for k in SIZES}
    if part == "identity":
        return {
            "parquet": _identity(folder, inputs, use_copy=False),
            "copy": _identity(folder, inputs, use_copy=True),
        }
    return _live()


PARTS = ("many", "many_nogc", "floor", "growth", "identity", "live")


def main(argv: list[str] | None = None) -> int:
    """``python benchmarks/bench_stock.py``: see the module docstring."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small stock, one run each")
    parser.add_argument("--only", choices=PARTS, help="one figure, printed, not saved")
    parser.add_argument("--n", type=int, default=None,
                        help="SIRETs for --only (default 1,000,000; 10,000 with --quick)")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs for --only (default 3)")
    args = parser.parse_args(argv)
    if args.only is None:
        import run as harness

        return harness.main(["stock", *(["--quick"] if args.quick else [])])
    n = args.n or (10_000 if args.quick else SIZES[-1])
    print(json.dumps(only(args.only, n, args.runs, quick=args.quick), indent=2))
    return 0


def run(quick: bool = False) -> dict[str, Any]:
    """Every figure of the module docstring."""
    folder = STOCK.parent / "100k" if quick else STOCK
    establishments = 100_000 if quick else ESTABLISHMENTS
    sizes = (10_000,) if quick else SIZES
    runs = 1 if quick else RUNS
    _prepare(folder, establishments)
    largest = _inputs(folder, sizes[-1])
    growth = {str(n): _runs("many", folder, _inputs(folder, n), runs) for n in sizes}
    many = growth[str(sizes[-1])]
    nogc = _runs("many-nogc", folder, largest, runs)
    floor = _runs("floor", folder, largest, runs)
    identity = {
        "parquet": _identity(folder, largest, use_copy=False),
        "copy": _identity(folder, largest, use_copy=True),
    }
    live = _live()
    return {
        "establishments": establishments,
        "n": sizes[-1],
        "many": many,
        "many_nogc": nogc,
        "floor": floor,
        "growth": growth,
        "identity": identity,
        "live": live,
        "met": {
            "time": many["median_s"] <= TARGET_S,
            "memory": many["max_rss_mb"] <= TARGET_MB,
            "identity": identity["copy"]["median_ms"] <= TARGET_MS,
        },
    }


def render(result: dict[str, Any]) -> str:
    """The markdown section of docs/benchmarks.md."""

    def mark(met: bool) -> str:
        return "met" if met else "**missed**"

    m, f, i, live = result["many"], result["floor"], result["identity"], result["live"]
    g0 = result["many_nogc"]
    met = result["met"]
    lines = [
        f"`client.many()` from the Sirene stock (`benchmarks/bench_stock.py`): a generated "
        f"stock of {result['establishments']:,} establishments (`dlnuf.testing.stock`, with "
        "its sorted copy), distinct SIRETs all present, no cache; every run in a fresh "
        "process (whole-process figures: elapsed and peak RSS), three runs, min / median.",
        "",
        "| benchmark | figure | target | |",
        "| --- | --- | --- | --- |",
        f"| `many()` of {result['n']:,} SIRETs | min {m['min_s']} s / median "
        f"**{m['median_s']} s**, peak RSS **{m['max_rss_mb']:.0f} MB** | <= {TARGET_S:g} s, "
        f"<= {TARGET_MB:g} MB | time {mark(met['time'])}, memory {mark(met['memory'])} |",
        f"| the same, the caller having turned the cycle collector off (`gc.disable()`) | "
        f"min {g0['min_s']} s / median {g0['median_s']} s, peak RSS "
        f"{g0['max_rss_mb']:.0f} MB | | |",
        f"| hand-written DuckDB join (the floor), same SIRETs | min {f['min_s']} s / median "
        f"{f['median_s']} s, peak RSS {f['max_rss_mb']:.0f} MB | | |",
        f"| live path, Recherche d'entreprises at {LIVE_RATE}/s | {live['n']} lookups in "
        f"{live['elapsed_s']} s ({live['rate_per_s']}/s, {live['rate_limited']} × 429): "
        f"{result['n']:,} would take **{live['extrapolated_1m_hours']} h** | | |",
        f"| `client.identity()` warm, sorted copy | median **{i['copy']['median_ms']} ms**, "
        f"p95 {i['copy']['p95_ms']} ms | <= {TARGET_MS:g} ms | {mark(met['identity'])} |",
        f"| `client.identity()` warm, Parquet files only | median {i['parquet']['median_ms']} ms, "
        f"p95 {i['parquet']['p95_ms']} ms | | |",
        "",
        "How the cost grows with the input (`many()`, min / median of three runs):",
        "",
        "| SIRETs | min | median | peak RSS |",
        "| --- | --- | --- | --- |",
    ]
    for n, g in result["growth"].items():
        lines.append(
            f"| {int(n):,} | {g['min_s']} s | {g['median_s']} s | {g['max_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "Run it with `python benchmarks/bench_stock.py` (every figure; the stock is made "
        "in `$DLNUF_BENCH_STOCK` when missing), `--quick` (a 100,000-establishment stock), "
        "or one figure: `python benchmarks/bench_stock.py --only many` (`many()` of "
        "1,000,000 SIRETs, three fresh processes; `--n` and `--runs` to change them).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
