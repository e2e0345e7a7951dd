"""The Toy Registry faked for dlnuf's test kit: ``dlnuf_fake`` serves it once installed.

Registered by the entry point ``[project.entry-points."dlnuf.fakes"] toy =
"dlnuf_toy.fake:ToyFake"``. It answers ``GET /companies/{siret}`` from the fake world
(:meth:`dlnuf.testing.FakeUpstreams.get`), checks the ``X-Toy-Key`` header, and says every
error in the Toy Registry's own words (``TOY-NOTFOUND``, ``TOY-BADKEY``,
``TOY-SLOWDOWN`` with ``retry_in_ms``, ``TOY-MAINTENANCE``); the quota (20/s) and the
injected faults are dlnuf's generic ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from dlnuf.testing.upstreams import Answer, Quota, Upstream

if TYPE_CHECKING:
    from dlnuf.testing import FakeUpstreams

__all__ = ["ToyFake"]

_COMPANY = re.compile(r"^/v1/companies/[^/]*$")
_CODES = {401: "TOY-BADKEY", 403: "TOY-BADKEY", 404: "TOY-NOTFOUND", 429: "TOY-SLOWDOWN"}


def _error(status: int, message: str) -> dict[str, Any]:
    code = _CODES.get(status, "TOY-MAINTENANCE")
    said: dict[str, Any] = {"code": code, "message": message}
    if code == "TOY-SLOWDOWN":
        said["retry_in_ms"] = 1000
    return {"error": said}


class ToyFake(Upstream):
    """The Toy Registry: ``/companies/{siret}``, 20 requests per second per key."""

    name = "toy"
    base_urls = ("https://api.toy-registry.example/v1",)
    quotas: ClassVar[Mapping[str, Quota]] = {"toy": (20, 1.0)}
    examples = ("/v1/companies/55204944776279",)

    def match(self, path: str) -> str | None:
        """``/v1/companies/{siret}`` at the root of the host (the registry's own path; a
        longer prefix may be another upstream's)."""
        found = _COMPANY.search(path)
        return found.group() if found else None

    def refuse(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer | None:
        """``TOY-BADKEY`` without the key (or with another one than the fake requires)."""
        key = request.headers.get("x-toy-key", "")
        wanted = fake.credentials.get(self.name)
        if not key or (wanted is not None and key != wanted):
            return 401, _error(401, "missing or wrong X-Toy-Key")
        return None

    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        """The company of the fake world, or ``TOY-NOTFOUND``."""
        siret = path.rsplit("/", 1)[-1]
        company = fake.get(siret)
        if company is None or company.diffusion != "diffusible":  # it publishes no others
            return 404, _error(404, f"no company {siret[:14]}")
        return 200, {"company": {
            "siret": company.siret,
            "name": company.legal_name,
            "active": company.active,
            "created": company.created.isoformat() if company.created else None,
        }}

    def error_body(self, status: int) -> Any:
        """Every error in the Toy Registry's words."""
        return _error(status, f"HTTP {status}")
