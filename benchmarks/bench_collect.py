"""Evidence for 20 tenders at once: ``collect`` of several kinds against quota-enforcing fakes.

Twenty dossiers (identity, DGFIP and URSSAF certificates, Kbis, turnover,
headcount, VAT number, CIBTP attestation) are collected at the same time, by the
async client (``asyncio.gather`` of 20 ``collect``) and by the sync client (20
threads sharing one client), against :class:`dlnuf.testing.FakeUpstreams` with the
evidence endpoints registered (:func:`dlnuf.testing.evidence.register_evidence`).
The fake enforces API Entreprise's documented per-minute quotas, each pool a
sliding window, sped up ``SPEEDUP`` times (a minute lasts ``60 / SPEEDUP`` s) and
answers 429 beyond them; its ``RateLimit-*`` headers say so, and the client is
given the same limits.

Reported: elapsed time, and against it the least time the quotas allow (the
tightest pool: ``N`` requests in a pool of ``L`` per period ``P`` need at least
``(ceil(N / L) - 1) * P``), the 429s the fake sent, and the errors that reached
the caller (target: none, and no 429 among them).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from common import api_entreprise_floor, scaled_api_entreprise

import dlnuf
from dlnuf.config import Settings
from dlnuf.facts.base import Fact
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.sources.api_entreprise import ApiEntreprise
from dlnuf.testing import FakeUpstreams, make_company
from dlnuf.testing import payloads as kit
from dlnuf.testing.evidence import register_evidence

DOSSIERS = 20
KINDS: list[type[Fact]] = [
    dlnuf.Identity, dlnuf.TaxCertificate, dlnuf.SocialCertificate, dlnuf.RegistryExtract,
    dlnuf.Turnover, dlnuf.Headcount, dlnuf.VatNumber, dlnuf.CibtpCertification,
]


def _settings() -> Settings:
    return Settings(
        sources=("api_entreprise",), api_entreprise_token="benchmark-token",  # noqa: S106
        recipient="13002526500013", context="benchmark", object="20 dossiers at once",
        authenticated=True, cache=None,
    )


def _source(speedup: float) -> ApiEntreprise:
    """API Entreprise told the fake's limits: the documented ones, ``speedup`` times per
    minute (what the fake's ``RateLimit-Limit`` headers say)."""
    source: ApiEntreprise = scaled_api_entreprise(_settings(), speedup)
    return source


def _floor(speedup: float) -> tuple[float, str, dict[str, int]]:
    """The least time the fake's quotas allow for the run, its pool, and requests by pool."""
    return api_entreprise_floor(KINDS, DOSSIERS, speedup)


def _outcome(dossiers: list[dlnuf.Dossier], fake: FakeUpstreams, elapsed: float,
             floor: float) -> dict[str, Any]:
    errors = Counter(type(e).__name__ for d in dossiers for e in d.errors.values())
    stats = fake.stats()
    return {
        "elapsed_s": round(elapsed, 3),
        "quota_floor_s": round(floor, 3),
        "elapsed_over_floor": round(elapsed / floor, 2) if floor else None,
        "requests": stats["requests"].get("api_entreprise", 0),
        "rate_limited_429": stats["rate_limited"].get("api_entreprise", 0),
        "errors_reaching_caller": dict(errors),
        "rate_limited_reaching_caller": errors.get("RateLimited", 0),
        "facts": sum(len(d.facts) for d in dossiers),
    }


def _run_async(speedup: float, floor: float) -> dict[str, Any]:
    companies = [make_company("association", seed=f"bench-collect-{n}") for n in range(DOSSIERS)]
    fake = FakeUpstreams(companies, speedup=speedup)

    async def collect_all() -> list[dlnuf.Dossier]:
        async with dlnuf.AsyncClient(sources=[_source(speedup)], settings=_settings(),
                                     cache=None, limiter=MemoryRateLimiter()) as client:
            return await asyncio.gather(*(client.collect(c.siret, KINDS) for c in companies))

    with fake.mock():
        started = time.perf_counter()
        dossiers = asyncio.run(collect_all())
        elapsed = time.perf_counter() - started
    return _outcome(dossiers, fake, elapsed, floor)


def _run_threads(speedup: float, floor: float) -> dict[str, Any]:
    companies = [make_company("association", seed=f"bench-threads-{n}") for n in range(DOSSIERS)]
    fake = FakeUpstreams(companies, speedup=speedup)
    with fake.mock(), dlnuf.Client(sources=[_source(speedup)], settings=_settings(),
                                   cache=None, limiter=MemoryRateLimiter()) as client, \
            ThreadPoolExecutor(max_workers=DOSSIERS) as pool:
        started = time.perf_counter()
        dossiers = list(pool.map(lambda c: client.collect(c.siret, KINDS), companies))
        elapsed = time.perf_counter() - started
    return _outcome(dossiers, fake, elapsed, floor)


def run(quick: bool = False) -> dict[str, Any]:
    """Collect 20 dossiers at once, async then with threads; JSON-ready figures."""
    speedup = 30.0 if quick else 12.0
    saved = list(kit.API_ENTREPRISE_ROUTES)
    register_evidence()
    try:
        floor, tightest, per_pool = _floor(speedup)
        return {
            "dossiers": DOSSIERS,
            "kinds": [k.__name__ for k in KINDS],
            "speedup": speedup,
            "minute_lasts_s": round(60 / speedup, 3),
            "tightest_pool": tightest,
            "requests_per_pool": per_pool,
            "async": _run_async(speedup, floor),
            "threads": _run_threads(speedup, floor),
        }
    finally:
        kit.API_ENTREPRISE_ROUTES[:] = saved


def render(result: dict[str, Any]) -> str:
    """The markdown section of docs/benchmarks.md."""
    lines = [
        f"{result['dossiers']} dossiers collected at once (`benchmarks/bench_collect.py`), "
        f"{len(result['kinds'])} kinds each ({', '.join(result['kinds'])}), against the fake "
        "API Entreprise enforcing the documented per-minute quotas sped up "
        f"{result['speedup']:g} times (a minute lasts {result['minute_lasts_s']:g} s). The "
        f"tightest pool is `{result['tightest_pool']}`: the quota floor is the least time "
        "it allows for the run.",
        "",
        "| client | elapsed | quota floor | elapsed / floor | requests | 429 sent by the fake "
        "| errors reaching the caller | 429 reaching the caller |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for name in ("async", "threads"):
        row = result[name]
        errors = ", ".join(f"{k}: {v}" for k, v in row["errors_reaching_caller"].items())
        lines.append(
            f"| {name} | {row['elapsed_s']} s | {row['quota_floor_s']} s "
            f"| {row['elapsed_over_floor']} | {row['requests']} | {row['rate_limited_429']} "
            f"| {errors or 'none'} | {row['rate_limited_reaching_caller']} |"
        )
    pools = ", ".join(f"`{p}` {n}" for p, n in sorted(result["requests_per_pool"].items()))
    lines += ["", f"Requests per pool: {pools}."]
    return "\n".join(lines) + "\n"
