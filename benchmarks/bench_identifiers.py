"""Validation cost: ``Siret.is_valid`` against python-stdnum on 1,000,000 mixed inputs.

Target (issue 11): at least 4x faster than ``stdnum.fr.siret.is_valid`` with no
disagreement. The inputs are distinct strings, generated once (seeded) in the
proportions a supplier file shows when it is dirty:

* 40 % valid SIRETs (a valid SIREN and a valid NIC key), compact;
* 15 % valid SIRETs written with spaces or dots (``552 049 447 76279``);
* 20 % one digit mistyped (bad checksum);
* 10 % La Poste establishments (``356000000…``, digit-sum rule), half of them valid;
* 10 % bad characters (a letter, a dash);
* 5 % wrong length (a SIREN, a digit dropped).

Each contender runs over the whole list three times; the figure is the time per
input (min and median of the three runs). ``Siret(x)`` in a ``try`` (the exception
path that ``is_valid`` used before it had its own bool path) is shown beside them.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from stdnum.fr import siret as stdnum_siret

from dlnuf import Siret
from dlnuf.errors import InvalidSiret
from dlnuf.identifiers import luhn_valid

TARGET_SPEEDUP = 4.0
RUNS = 3


def _luhn_key(prefix: str) -> str:
    """The digit that makes ``prefix`` + digit pass Luhn."""
    for key in "0123456789":
        if luhn_valid(prefix + key):
            return key
    raise AssertionError("unreachable: one of ten digits always completes a Luhn number")


def _valid_siret(rng: random.Random) -> str:
    siren = "".join(rng.choices("0123456789", k=8))
    siren += _luhn_key(siren)
    body = siren + "".join(rng.choices("0123456789", k=4))
    return body + _luhn_key(body)


def make_inputs(n: int, seed: int = 11) -> list[str]:
    """``n`` distinct-ish mixed inputs in the proportions of the module docstring."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.40:
            out.append(_valid_siret(rng))
        elif r < 0.55:
            s = _valid_siret(rng)
            sep = rng.choice(" .")
            out.append(f"{s[:3]}{sep}{s[3:6]}{sep}{s[6:9]}{sep}{s[9:]}")
        elif r < 0.75:
            s = _valid_siret(rng)
            i = rng.randrange(14)
            out.append(s[:i] + str((int(s[i]) + rng.randrange(1, 10)) % 10) + s[i + 1:])
        elif r < 0.85:
            nic = "".join(rng.choices("0123456789", k=4))
            digits = "356000000" + nic
            total = sum(map(int, digits))
            last = (-total) % 5 + rng.choice((0, 5))  # valid
            if rng.random() < 0.5:
                last = (last + rng.randrange(1, 5)) % 10  # invalid
            out.append(digits + str(last))
        elif r < 0.95:
            s = _valid_siret(rng)
            i = rng.randrange(14)
            out.append(s[:i] + rng.choice("AOl-x") + s[i + 1:])
        else:
            s = _valid_siret(rng)
            out.append(s[:9] if rng.random() < 0.5 else s[:13])
    return out


def _constructor_is_valid(value: str) -> bool:
    try:
        Siret(value)
    except InvalidSiret:
        return False
    return True


def _time(func: Callable[[str], object], inputs: list[str]) -> list[float]:
    """Seconds per run over the whole list, ``RUNS`` runs."""
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for value in inputs:
            func(value)
        runs.append(time.perf_counter() - started)
    return runs


def run(quick: bool = False) -> dict[str, Any]:
    """Time the contenders over the same inputs, count disagreements with stdnum."""
    n = 100_000 if quick else 1_000_000
    inputs = make_inputs(n)
    disagreements = sum(
        1 for value in inputs if Siret.is_valid(value) is not bool(stdnum_siret.is_valid(value))
    )
    valid = sum(1 for value in inputs if Siret.is_valid(value))
    contenders: dict[str, Callable[[str], object]] = {
        "dlnuf Siret.is_valid": Siret.is_valid,
        "python-stdnum siret.is_valid": stdnum_siret.is_valid,
        "dlnuf Siret(x) in try/except": _constructor_is_valid,
    }
    figures: dict[str, dict[str, float]] = {}
    for name, func in contenders.items():
        runs = _time(func, inputs)
        figures[name] = {
            "min_ns": round(min(runs) / n * 1e9, 1),
            "median_ns": round(statistics.median(runs) / n * 1e9, 1),
        }
    ours = figures["dlnuf Siret.is_valid"]
    theirs = figures["python-stdnum siret.is_valid"]
    return {
        "inputs": n,
        "valid": valid,
        "disagreements_with_stdnum": disagreements,
        "figures": figures,
        "speedup_median": round(theirs["median_ns"] / ours["median_ns"], 2),
        "speedup_min": round(theirs["min_ns"] / ours["min_ns"], 2),
        "target_speedup": TARGET_SPEEDUP,
    }


def render(result: dict[str, Any]) -> str:
    """The markdown section of the benchmarks page."""
    lines = [
        f"`Siret.is_valid` against python-stdnum (`benchmarks/bench_identifiers.py`) on "
        f"{result['inputs']:,} mixed inputs ({result['valid']:,} valid; the others mistyped "
        "digits, letters, wrong lengths, La Poste establishments), each contender three "
        "runs over the whole list; time per input.",
        "",
        "| contender | min | median |",
        "| --- | ---: | ---: |",
    ]
    for name, fig in result["figures"].items():
        lines.append(f"| {name} | {fig['min_ns']} ns | {fig['median_ns']} ns |")
    met = "met" if result["speedup_median"] >= result["target_speedup"] else "NOT met"
    lines += [
        "",
        f"Speed-up over stdnum: **{result['speedup_median']}x** (median of runs; "
        f"{result['speedup_min']}x on the fastest runs); target >= "
        f"{result['target_speedup']}x: {met}. Disagreements with stdnum: "
        f"**{result['disagreements_with_stdnum']}**.",
    ]
    return "\n".join(lines)
