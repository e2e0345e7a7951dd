"""Cache hits on distinct keys: ``client.identity`` over a warm memory or SQLite cache.

Targets (issue 11), measured on distinct keys: a memory hit <= 10 µs, a SQLite hit
<= 50 µs. The same-key figure (one SIRET read again and again, which mostly measures
the decoded-fact memo) is shown beside it and labelled as the best case.

For each size N (10,000 and 100,000 distinct valid SIRETs):

* the cache is filled with N identities (the sandbox's SNCF identity, re-keyed and
  serialised exactly as the client stores it), then every key is read once, untimed:
  a warm cache, as one left by the client's own lookups;
* three timed passes read every key once in a new shuffled order; the figure is the
  pass's time divided by N (min and median of the three passes);
* beside it, in the same run, the hand-written baseline: a ``dict`` of the same bytes
  and ``Identity.model_validate_json`` per read (what a cache without dlnuf costs).

The memory cache is given ``maxsize=N`` (its default, 10,000, would evict at 100,000).
"""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_identifiers import _valid_siret

import dlnuf
from dlnuf.cache import MemoryCache, SQLiteCache
from dlnuf.cache.base import Cache, cache_key
from dlnuf.facts.identity import Identity

SIRET = "55204944776279"
TARGETS_US = {"memory": 10.0, "sqlite": 50.0}
PASSES = 3


def _template() -> dict[str, Any]:
    with dlnuf.Client(sources=["sandbox"], cache=None) as client:
        ident = client.identity(SIRET)
    data: dict[str, Any] = ident.model_dump(mode="json")
    return data


def _payloads(sirets: list[str]) -> dict[str, bytes]:
    """The cached bytes of an identity for each SIRET (the client's own serialisation)."""
    template = Identity.model_validate(_template())
    out = {}
    for siret in sirets:
        fact = template.model_copy(update={"siret": siret, "siren": siret[:9],
                                           "head_office_siret": siret})
        out[siret] = fact.model_dump_json().encode()
    return out


def _passes(call: Callable[[str], object], keys: list[str], rng: random.Random) -> list[float]:
    """Per-read µs of ``PASSES`` shuffled passes over ``keys``."""
    out = []
    for _ in range(PASSES):
        order = keys[:]
        rng.shuffle(order)
        gc.collect()
        started = time.perf_counter()
        for key in order:
            call(key)
        out.append((time.perf_counter() - started) / len(order) * 1e6)
    return out


def _summary(runs: list[float]) -> dict[str, float]:
    return {"min_us": round(min(runs), 2), "median_us": round(statistics.median(runs), 2)}


def measure(backend: str, n: int, folder: Path) -> dict[str, Any]:
    """Distinct-key and same-key hits for one backend and size, with the dict baseline."""
    rng = random.Random(n)
    sirets = sorted({_valid_siret(rng) for _ in range(n)})
    payloads = _payloads(sirets)
    cache: Cache = (
        MemoryCache(maxsize=len(sirets)) if backend == "memory"
        else SQLiteCache(folder / f"hits-{n}.db")
    )
    expires = datetime.now(UTC) + timedelta(days=1)
    with dlnuf.Client(sources=["sandbox"], cache=cache) as client:
        client.identity(SIRET)
        for siret, value in payloads.items():
            cache.set(cache_key("sandbox", "public", "Identity", siret), value,
                      expires_at=expires, stale_until=expires + timedelta(days=30))
        for siret in sirets:  # warm: every key read once, untimed (and checked to be a hit)
            assert client.identity(siret).provenance.from_cache
        distinct = _passes(client.identity, sirets, rng)
        same = _passes(lambda _key: client.identity(SIRET), sirets, rng)

    def by_hand(siret: str) -> Identity:
        return Identity.model_validate_json(payloads[siret])

    baseline = _passes(by_hand, sirets, rng)
    target = TARGETS_US[backend]
    result = {
        "n": len(sirets),
        "distinct": _summary(distinct),
        "same_key_best_case": _summary(same),
        "dict_and_model_validate_json": _summary(baseline),
        "target_us": target,
    }
    result["met"] = result["distinct"]["median_us"] <= target
    return result


def run(quick: bool = False) -> dict[str, Any]:
    """Every backend at every size."""
    sizes = (2_000, 10_000) if quick else (10_000, 100_000)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("memory", "sqlite"):
            out[backend] = [measure(backend, n, Path(folder)) for n in sizes]
    return out


def render(result: dict[str, Any]) -> str:
    """The markdown section of the benchmarks page."""
    lines = [
        "`client.identity(siret)` over a warm cache (`benchmarks/bench_cache_hits.py`): N "
        "distinct SIRETs cached and read once each (untimed), then three shuffled passes over "
        "all of them, per-read time min / median of the passes. *Same key* reads one SIRET N "
        "times: the best case, shown for comparison only. The baseline is a hand-written "
        "cache: a `dict` of the same bytes and `Identity.model_validate_json` per read.",
        "",
        "| cache | distinct keys | distinct: min / median | same key (best case) "
        "| dict + model_validate_json | target (distinct, median) | |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for backend, rows in result.items():
        for row in rows:
            d, s = row["distinct"], row["same_key_best_case"]
            b = row["dict_and_model_validate_json"]
            lines.append(
                f"| {backend} | {row['n']:,} | {d['min_us']} / **{d['median_us']} µs** "
                f"| {s['min_us']} / {s['median_us']} µs | {b['min_us']} / {b['median_us']} µs "
                f"| <= {row['target_us']:g} µs | {'met' if row['met'] else '**missed**'} |"
            )
    return "\n".join(lines) + "\n"
