"""The API Entreprise source: checks the purpose, builds requests, parses answers."""

from __future__ import annotations

from typing import ClassVar

import httpx
from pydantic import SecretStr, ValidationError

from ...errors import (
    ConfigurationError,
    DlnufError,
    UnexpectedPayload,
    UnsupportedKind,
    UpstreamError,
)
from ...facts.base import Fact
from ...identifiers import Siren, Siret, parse_siret_or_siren
from ...ratelimit import Quota
from ..base import Identifier, SourceBase
from ..options import Rate, SourceOptions
from ..parsing import dig, json_object
from ..urls import url_for
from .endpoints import ENDPOINTS, KNOWN_PRIVILEGES, Endpoint
from .errors import upstream_error_of
from .options import JSON_POOL, PING_POOL, POOLS, ApiEntrepriseOptions
from .reply import Reply

__all__ = [
    "MAX_OBJECT_LENGTH",
    "ApiEntreprise",
]

MAX_OBJECT_LENGTH = 50
"""``object`` must be shorter than this (the upstream refuses longer ones)."""

_UP_STATUSES = frozenset({"ok", "unknown"})
"""``/ping`` statuses that do not say the provider is down (``unknown``: it cannot tell)."""


# --- The source ---------------------------------------------------------------------------


class ApiEntreprise(SourceBase):
    """The API Entreprise source (token, recipient, context and object required).

    ``scope`` is ``"protected"`` when ``settings.authenticated`` (protected
    endpoints, every value), else ``"public"`` (``diffusibles`` and ``open_data``
    variants where an endpoint has one).
    """

    name: ClassVar[str] = "api_entreprise"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset(ENDPOINTS)
    Options: ClassVar[type[SourceOptions]] = ApiEntrepriseOptions

    def setup(self) -> None:
        """The scope (``settings.authenticated``) and each pool at its option's rate."""
        self.scope = "protected" if self.settings.authenticated else "public"
        self._pools: dict[str, Quota] = {}
        for pool in POOLS:
            rate = getattr(self.options, f"quota_{pool.pool.split(':', 1)[1]}", None)
            self._pools[pool.pool] = rate.quota(pool.pool) if isinstance(rate, Rate) else pool
        self.privileges_quota: Quota = self._pools[JSON_POOL.pool]
        """The pool ``GET /privileges`` counts against."""
        self.ping_quota: Quota = self._pools[PING_POOL.pool]
        """The pool ``GET /ping/<provider>`` counts against."""
        self._query: str | None = None
        self._valid: tuple[str, str] | None = None
        """The token and the recipient's SIREN once the options passed the checks (they
        are frozen: checked once, not on every request)."""

    def _repr_parts(self) -> list[str]:
        return [*super()._repr_parts(), f"scope={self.scope!r}"]

    def error(self, response: httpx.Response) -> UpstreamError | None:
        """Its ``errors`` bodies: 5-digit codes, titles and details, ``meta.retry_in``
        (see :mod:`~dlnuf.sources.api_entreprise.errors`)."""
        return upstream_error_of(response, self.name)

    @property
    def public(self) -> bool:
        """Whether this source calls the public variants of the endpoints that have one."""
        return self.scope == "public"

    def _endpoint(self, kind: type[Fact]) -> Endpoint:
        endpoint = ENDPOINTS.get(kind)
        if endpoint is None:
            raise UnsupportedKind(
                f"{self.name} does not provide {kind.__name__}; it provides "
                + ", ".join(sorted(k.__name__ for k in ENDPOINTS))
            )
        return endpoint

    def quota(self, kind: type[Fact]) -> Quota:
        """The quota pool ``kind`` counts against (250/min JSON pool for Identity), at the
        rate its ``quota_<pool>`` option sets."""
        pool = self._endpoint(kind).quota
        return self._pools.get(pool.pool, pool)

    def provider(self, kind: type[Fact]) -> str:
        """The upstream provider answering ``kind`` (as in ``/ping/<provider>``)."""
        return self._endpoint(kind).provider

    def required_privileges(self, kind: type[Fact]) -> frozenset[str]:
        """The token privileges of which one allows ``kind`` (empty: not checked)."""
        return self._endpoint(kind).needs(self.public)

    def request(self, kind: type[Fact], ident: Identifier | str) -> httpx.Request:
        """The GET request for ``kind`` about ``ident``, after checking the configuration.

        Raises :class:`ConfigurationError` (token, recipient, context or object
        missing or invalid, recipient being the company itself) before anything
        is built, and :class:`InvalidSiret` when a SIRET-level kind gets a SIREN.
        """
        asked = _as_ident(ident)
        path = self._endpoint(kind).path_for(asked, public=self.public)
        return self._get(path, self._check(asked))

    def privileges_request(self) -> httpx.Request:
        """``GET /privileges``: what the token may call (same checks as a data request)."""
        return self._get("/privileges", self._check(None))

    def parse_privileges(self, response: httpx.Response) -> frozenset[str]:
        """The privileges listed by a ``/privileges`` answer.

        Reads ``{"privileges": [...]}`` and ``{"data": {"privileges": [...]}}``;
        :class:`UnexpectedPayload` when no list of names is there.
        """
        body = json_object(response, self.name)
        for found in (body.get("privileges"), dig(body, "data", "privileges"), body.get("data")):
            if isinstance(found, list):
                granted = frozenset(p.strip() for p in found if isinstance(p, str) and p.strip())
                if granted and not granted & KNOWN_PRIVILEGES:
                    # The names are not documented in the contracts: a list that shares no
                    # name with ours means the vocabulary changed, not that nothing is allowed.
                    raise UnexpectedPayload(
                        f"{self.name}: GET /privileges lists no privilege name dlnuf knows "
                        f"({len(granted)} names); privileges are not checked client-side",
                        source=self.name,
                        status=response.status_code,
                    )
                return granted
        raise UnexpectedPayload(
            f"{self.name} answered GET /privileges without a list of privileges",
            source=self.name,
            status=response.status_code,
        )

    def ping_request(self, provider: str) -> httpx.Request:
        """``GET /ping/<provider>``: whether an upstream provider is up (no token sent)."""
        return httpx.Request(
            "GET",
            f"{self.base_url}/ping/{provider}",
            headers=self.json_headers(),
        )

    def parse_ping(self, response: httpx.Response) -> bool:
        """Whether a 2xx ``/ping`` answer leaves the provider up.

        ``{"status": "ok"}`` (or ``"unknown"``, or a body without a status) is up;
        any other status (``"maintenance"``...) is down.
        """
        try:
            status = json_object(response, self.name).get("status")
        except UnexpectedPayload:
            return True
        return not isinstance(status, str) or status.strip().lower() in _UP_STATUSES

    def _option(self, name: str) -> str:
        value = getattr(self.options, name, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return value.strip() if isinstance(value, str) else ""

    def _token(self) -> str:
        """The bearer token sent ("" when none is configured)."""
        return self._option("token")

    def _params(self) -> dict[str, str]:
        return {name: self._option(name) for name in ("recipient", "context", "object")}

    def _url(self, path: str) -> httpx.URL:
        """``base_url + path`` with the purpose parameters as its query string.

        The query string is encoded once (the options are frozen), exactly as httpx
        encodes ``params=``, and the base URL parsed once (:func:`..urls.url_for`).
        """
        if "?" in self.base_url or "#" in self.base_url:  # its own query: httpx replaces it
            return httpx.URL(self.base_url + path, params=self._params())
        if self._query is None:
            self._query = str(httpx.QueryParams(self._params()))
        return url_for(self.base_url, path, self._query)

    def _get(self, path: str, token: str) -> httpx.Request:
        return httpx.Request(
            "GET",
            self._url(path),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": self.user_agent,
            },
        )

    def _check(self, company: Siret | Siren | None) -> str:
        """Validate the options for a call (about ``company``); the token if all is well."""
        valid = self._valid
        if valid is None:
            valid = self._valid = self._check_options()
        token, recipient_siren = valid
        if company is not None and company.siren == recipient_siren:
            raise ConfigurationError(
                f"recipient {self._option('recipient')} is the company looked up, or has its "
                f"SIREN ({company.siren}); API Entreprise refuses that (error 00211): set "
                "recipient= or DLNUF_RECIPIENT to the SIRET of the public body the data is for"
            )
        return token

    def _check_options(self) -> tuple[str, str]:
        """The token and the recipient's SIREN; :class:`ConfigurationError` naming the first
        option missing or invalid."""
        token = self._token()
        if not token:
            raise ConfigurationError(
                f"{self.name} needs a token: set api_entreprise_token= "
                "or DLNUF_API_ENTREPRISE_TOKEN"
            )
        recipient = self._option("recipient")
        if not recipient:
            raise ConfigurationError(
                f"{self.name} needs the SIRET of the public body the data is for: "
                "set recipient= or DLNUF_RECIPIENT"
            )
        if not Siret.is_valid(recipient):
            raise ConfigurationError(
                f"recipient {recipient!r} is not a valid SIRET (API Entreprise would refuse it "
                "with error 00210): set recipient= or DLNUF_RECIPIENT to the 14-digit SIRET "
                "of the public body the data is for"
            )
        if not self._option("context"):
            raise ConfigurationError(
                f"{self.name} needs the framework of the request: set context= or DLNUF_CONTEXT "
                "(for example 'Marché public')"
            )
        purpose = self._option("object")
        if not purpose:
            raise ConfigurationError(
                f"{self.name} needs the reason or procedure id of the request: set object= "
                "or DLNUF_OBJECT"
            )
        if len(purpose) >= MAX_OBJECT_LENGTH:
            raise ConfigurationError(
                f"object is {len(purpose)} characters long; API Entreprise wants fewer than "
                f"{MAX_OBJECT_LENGTH}: shorten object= or DLNUF_OBJECT"
            )
        return token, Siret(recipient).siren

    def parse(self, kind: type[Fact], ident: Identifier | str, response: httpx.Response) -> Fact:
        """The fact held by a successful response; :class:`UnexpectedPayload` if none."""
        endpoint = self._endpoint(kind)
        body = json_object(response, self.name)
        asked = _as_ident_or_none(ident)
        try:
            path = response.request.url.path
        except RuntimeError:  # a response built by hand or by a bare transport
            path = endpoint.path_for(asked, public=self.public) if asked is not None else ""
        public = endpoint.public_path is not None and _matches(endpoint.public_path, path)
        reply = Reply(
            source=self.name,
            body=body,
            response=response,
            ident=asked,
            endpoint=path,
            public=public,
        )
        try:
            return endpoint.parser(reply)
        except DlnufError:
            raise
        except (
            KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError
        ) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc
            raise UnexpectedPayload(
                f"{self.name} answered a {kind.__name__} payload dlnuf cannot read "
                f"({type(exc).__name__}: {detail})",
                source=self.name,
                status=response.status_code,
            ) from None


def _as_ident(ident: Identifier | str) -> Siret | Siren:
    """``ident`` as a SIRET or a SIREN (:class:`InvalidSiret` when it is neither)."""
    return ident if isinstance(ident, (Siret, Siren)) else parse_siret_or_siren(ident)


def _as_ident_or_none(ident: Identifier | str) -> Siret | Siren | None:
    if isinstance(ident, (Siret, Siren)):
        return ident
    if Siret.is_valid(ident):
        return Siret(ident)
    return Siren(ident) if Siren.is_valid(ident) else None


def _matches(template: str, path: str) -> bool:
    """Whether ``path`` ends with a path built from ``template`` (base URLs may add a prefix)."""
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    if len(got) < len(want):
        return False
    got = got[len(got) - len(want):]
    return all(w.startswith("{") or w == g for w, g in zip(want, got, strict=True))
