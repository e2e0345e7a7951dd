"""The Toy Registry as a dlnuf source: an out-of-tree package, written with the kit only.

The (fictional) Toy Registry answers ``GET /companies/{siret}`` with
``{"company": {...}}`` when the request carries its API key in ``X-Toy-Key``, and every
error as ``{"error": {"code": "TOY-...", "message": "...", "retry_in_ms": 1500}}``,
whatever the HTTP status. Its options are read from ``DLNUF_TOY_*``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from dlnuf.errors import (
    ConfigurationError,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamError,
    UpstreamUnavailable,
)
from dlnuf.facts.base import Fact
from dlnuf.facts.identity import Identity
from dlnuf.sources import (
    ErrorBody,
    Identifier,
    RateOption,
    SourceBase,
    SourceOptions,
    error_json,
    parse_rate,
    upstream_error,
)
from dlnuf.sources.parsing import (
    establishment_siret,
    iso_date,
    json_object,
    make_provenance,
    or_unexpected,
)

__all__ = ["ERRORS", "ToyOptions", "ToyRegistry"]

ERRORS: dict[str, type[UpstreamError]] = {
    "TOY-NOTFOUND": NotFound,
    "TOY-BADKEY": Unauthorized,
    "TOY-SLOWDOWN": RateLimited,
    "TOY-MAINTENANCE": UpstreamUnavailable,
}
"""The Toy Registry's error codes and the dlnuf error each one is."""


class ToyOptions(SourceOptions):
    """Options of the Toy Registry: ``DLNUF_TOY_URL``, ``DLNUF_TOY_API_KEY``,
    ``DLNUF_TOY_QUOTA``."""

    base_url: str = "https://api.toy-registry.example/v1"
    api_key: SecretStr | None = None
    """The key sent in ``X-Toy-Key``."""
    quota: RateOption = parse_rate("20/s")
    """20 requests per second per key, documented."""


class ToyRegistry(SourceBase):
    """Identity from the Toy Registry (needs an API key)."""

    name: ClassVar[str] = "toy"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset({Identity})
    Options: ClassVar[type[SourceOptions]] = ToyOptions

    def request(self, kind: type[Fact], ident: Identifier) -> httpx.Request:
        """``GET /companies/{siret}`` with the key; ConfigurationError without one."""
        siret = establishment_siret(self.name, kind, ident)
        key: SecretStr | None = getattr(self.options, "api_key", None)
        if key is None or not key.get_secret_value().strip():
            raise ConfigurationError(
                "toy needs an API key: set DLNUF_TOY_API_KEY, or "
                "options={'toy': {'api_key': ...}}"
            )
        headers = {"X-Toy-Key": key.get_secret_value().strip(), **self.json_headers()}
        return httpx.Request("GET", f"{self.base_url}/companies/{siret}", headers=headers)

    def parse(self, kind: type[Fact], ident: Identifier, response: httpx.Response) -> Fact:
        """The :class:`Identity` in ``{"company": {...}}``."""
        siret = establishment_siret(self.name, kind, ident)
        body = json_object(response, self.name)
        return or_unexpected(
            response, self.name, "a company", lambda: _identity(self.name, siret, body, response)
        )

    def error(self, response: httpx.Response) -> UpstreamError | None:
        """Its own codes decide (``TOY-SLOWDOWN`` waits ``retry_in_ms``); an answer without
        one is left to the HTTP status."""
        payload, _ = error_json(response)
        said = payload.get("error") if payload is not None else None
        if not isinstance(said, dict) or said.get("code") not in ERRORS:
            return None
        code = str(said["code"])
        wait = said.get("retry_in_ms")
        body = ErrorBody(
            code=code,
            text=str(said.get("message") or "") or None,
            retry_in=wait / 1000 if isinstance(wait, int) and wait >= 0 else None,
        )
        return upstream_error(response, self.name, cls=ERRORS[code], body=body,
                              credential="API key")


def _identity(source: str, siret: Any, body: dict[str, Any], response: httpx.Response) -> Identity:
    company = body["company"]
    if company["siret"] != siret:
        raise NotFound(f"{source} answered about another SIRET", source=source)
    return Identity(
        siret=siret,
        siren=siret.siren,
        legal_name=company.get("name"),
        active=company.get("active", True),
        creation_date=iso_date(company.get("created")),
        provenance=make_provenance(source, response),
    )
