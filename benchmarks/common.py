"""What the benchmarks share: the fake server as a subprocess, timing statistics, machine info.

    with FakeServerProcess(rate=50, latency_ms=30) as server:
        client = dlnuf.Client(base_urls=server.base_urls, cache=None)
        ...
        server.stats()["total_rate_limited"]

The server (``python -m dlnuf.testing.server``) is started on a free loopback port
(``--port 0``, the port read from its ``listening on`` line), waited for until it
answers ``GET /__stats``, and stopped with SIGTERM (SIGKILL if it lingers); it
also stops by itself after ``max_seconds`` should this process die first.
"""

from __future__ import annotations

import json
import math
import os
import platform
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NAMES = ("recherche_entreprises", "api_entreprise", "insee_sirene")
_LISTENING = re.compile(r"listening on (http://\S+)")


class FakeServerProcess:
    """``python -m dlnuf.testing.server`` in a subprocess on a free loopback port."""

    def __init__(
        self,
        *,
        rate: float | None = None,
        latency_ms: float = 0.0,
        companies: int = 1000,
        seed: str = "0",
        sandbox: bool = True,
        max_seconds: float = 3600.0,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.args = [sys.executable, "-m", "dlnuf.testing.server", "--port", "0",
                     "--companies", str(companies), "--seed", seed,
                     "--latency-ms", str(latency_ms), "--max-seconds", str(max_seconds)]
        if rate is not None:
            self.args += ["--rate", str(rate)]
        if not sandbox:
            self.args.append("--no-sandbox")
        self.args += list(extra_args)
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self._http = httpx.Client(timeout=10.0)

    def start(self) -> Self:
        """Start the server and wait until it answers."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        if stdout is None:  # pragma: no cover - PIPE always gives one
            raise RuntimeError("no stdout")

        def read() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.url:
            if self.process.poll() is not None:
                err = self.process.stderr.read() if self.process.stderr else ""
                raise RuntimeError(f"the fake server exited ({self.process.returncode}): {err}")
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                raise RuntimeError("the fake server did not start in time") from None
            match = _LISTENING.search(line)
            if match:
                self.url = match.group(1)
        while True:
            try:
                if self._http.get(self.url + "/__stats").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake server does not answer")
            time.sleep(0.05)

    @property
    def base_urls(self) -> dict[str, str]:
        """``base_urls`` for a dlnuf client: every source pointed at this server."""
        return dict.fromkeys(SOURCE_NAMES, self.url)

    def stats(self) -> dict[str, Any]:
        """The server's counters (``GET /__stats``)."""
        data: dict[str, Any] = self._http.get(self.url + "/__stats").json()
        return data

    def companies(self) -> list[dict[str, Any]]:
        """The companies the server holds: ``[{"siret", "siren", "kind", ...}]``."""
        data: list[dict[str, Any]] = self._http.get(self.url + "/__companies").json()
        return data

    def sirets(self, kinds: Iterable[str] = ("active", "secondary", "closed")) -> list[str]:
        """SIRETs of the given kinds (every public source answers them)."""
        wanted = set(kinds)
        return [c["siret"] for c in self.companies() if c["kind"] in wanted]

    def reset(self) -> None:
        """Zero the counters and quota windows, drop the faults (``POST /__reset``)."""
        self._http.post(self.url + "/__reset").raise_for_status()

    def fault(self, action: str, **arguments: Any) -> None:
        """Inject a fault (``POST /__fault``): ``fault("fail", source=..., status=503)``."""
        self._http.post(self.url + "/__fault",
                        json={"action": action, **arguments}).raise_for_status()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        self._http.close()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- statistics -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linearly interpolated."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize_ns(samples: Sequence[int]) -> dict[str, float]:
    """Median, p95, mean and min of per-call times in nanoseconds, in microseconds."""
    micro = [s / 1000 for s in samples]
    return {
        "n": len(micro),
        "median_us": round(statistics.median(micro), 2),
        "p95_us": round(percentile(micro, 95), 2),
        "mean_us": round(statistics.fmean(micro), 2),
        "min_us": round(min(micro), 2),
    }


# --- machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Where the benchmark ran: cores, CPU, Python, OS, date."""
    import httpx as _httpx
    import pydantic

    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "httpx": _httpx.__version__,
        "pydantic": pydantic.__version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def dump(data: Any) -> str:
    """``data`` as indented JSON (for results files)."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def scaled_api_entreprise(settings: Any, speedup: float) -> Any:
    """API Entreprise told a sped-up fake's limits (:func:`dlnuf.testing.api_entreprise_quotas`,
    set through its ``quota_<pool>`` options as a user would)."""
    from dlnuf.sources.api_entreprise import ApiEntreprise
    from dlnuf.testing import api_entreprise_quotas

    return ApiEntreprise(settings, options=api_entreprise_quotas(speedup))


def api_entreprise_floor(
    kinds: Iterable[Any], each: int, speedup: float
) -> tuple[float, str, dict[str, int]]:
    """The least time a fake API Entreprise sped up ``speedup`` times allows for ``each``
    request of every kind in ``kinds`` (plus the client's one ``GET /privileges``): ``N``
    requests in a pool of ``L`` per period ``P`` need ``(ceil(N / L) - 1) * P``. Returns
    that floor, the pool that sets it, and the requests by pool."""
    from dlnuf.facts.identity import Identity
    from dlnuf.sources.api_entreprise import ENDPOINTS

    per_pool = Counter(ENDPOINTS[k].quota.pool for k in kinds for _ in range(each))
    per_pool[ENDPOINTS[Identity].quota.pool] += 1  # GET /privileges, once per client
    limits = {e.quota.pool: e.quota for e in ENDPOINTS.values()}
    best, tightest = 0.0, ""
    for pool, count in per_pool.items():
        quota = limits[pool]
        least = (math.ceil(count / quota.limit) - 1) * quota.period / speedup
        if least > best:
            best, tightest = least, pool
    return best, tightest, dict(per_pool)
