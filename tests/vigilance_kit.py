"""What the vigilance tests share: a clock, a sped-up API Entreprise, a recording fake."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx

import dlnuf
from dlnuf.config import Settings
from dlnuf.facts.base import Fact
from dlnuf.sources.api_entreprise import ENDPOINTS, ApiEntreprise
from dlnuf.testing import FakeUpstreams, api_entreprise_quotas

TOKEN = "eyJhbGciOiJIUzI1NiJ9.vigilance-test-token"
PIECES: dict[str, type[Fact]] = {
    "SocialCertificate": dlnuf.SocialCertificate,
    "RegistryExtract": dlnuf.RegistryExtract,
    "TaxCertificate": dlnuf.TaxCertificate,
}


class Clock:
    """A clock the test moves: ``clock()`` is the current aware datetime."""

    def __init__(self, day: date) -> None:
        self.now = datetime.combine(day, time(9, 0), tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)

    @property
    def today(self) -> date:
        return self.now.date()


def settings(**changes: Any) -> Settings:
    values: dict[str, Any] = {
        "sources": ("api_entreprise",), "api_entreprise_token": TOKEN,
        "recipient": "13002526500013", "context": "Vigilance", "object": "Contrats 2026",
        "authenticated": True, "cache": None, "retries": 0,
        # the fake serves the documents in-process: no DNS lookup of the real storage host
        "document_urls": "https",
    }
    values.update(changes)
    return Settings(**values)


def scaled_source(speedup: float, config: Settings) -> ApiEntreprise:
    """API Entreprise told the fake's limits (``api_entreprise_quotas``), through its
    ``quota_<pool>`` options as a user would set them."""
    return ApiEntreprise(config, options=api_entreprise_quotas(speedup))


class Recording(FakeUpstreams):
    """The fake upstreams, remembering every request path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paths: list[str] = []

    def side_effect(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().side_effect(request)

    def piece_requests(self, sirens: list[str], start: int = 0) -> Counter[tuple[str, str]]:
        """How many times each (SIREN, piece) was asked since ``paths[start]``."""
        where = {
            ENDPOINTS[kind].path_for(dlnuf.Siren(siren)): (siren, name)
            for siren in sirens for name, kind in PIECES.items()
        }
        return Counter(where[p] for p in self.paths[start:] if p in where)
