"""API Entreprise, the State's "Dites-le-nous une fois" API (DINUM): token + purpose.

Every call carries a bearer token and three query parameters the upstream checks
(``recipient``, ``context``, ``object``); the source checks them before building
anything, so a misconfiguration fails at once with a message saying what to set,
without spending quota.

The source is organised around :data:`ENDPOINTS`, the one table of what it
provides: kind of fact -> :class:`Endpoint` (path template exactly as in the
OpenAPI, its public variant if any, the level it is looked up by, its quota
pool, its parser, the upstream provider and the token privileges it needs).
:meth:`ApiEntreprise.request`, :meth:`ApiEntreprise.parse`, ``provides`` and
``quota`` follow from the table; the evidence parsers live in
:mod:`dlnuf.sources.api_entreprise.evidence`.

Identity and Association have a public variant: the protected path when
``Settings.authenticated`` is true, else the public one (INSEE ``diffusibles``,
DJEPVA ``open_data``), where values a person refused to publish are ``"[ND]"``
(they become ``None`` and are listed in :attr:`~dlnuf.facts.base.Fact.withheld`).

Beyond the data calls the source builds and reads (it sends nothing itself):
``GET /privileges`` (what the token may call: the client reads it once and
reports a kind the token may not call as :class:`~dlnuf.errors.Forbidden`
without a request) and ``GET /ping/<provider>`` (whether an upstream provider is
up: the client asks after a provider failed, before calling it again).

The package, one seam a module: :mod:`~dlnuf.sources.api_entreprise.options` (base URL,
token, purpose, a quota per pool), :mod:`~dlnuf.sources.api_entreprise.errors` (the
error vocabulary), :mod:`~dlnuf.sources.api_entreprise.endpoints` (the table),
:mod:`~dlnuf.sources.api_entreprise.identity` and
:mod:`~dlnuf.sources.api_entreprise.evidence` (the parsers),
:mod:`~dlnuf.sources.api_entreprise.source` (the source itself).
"""

from . import evidence
from .endpoints import ENDPOINTS, KNOWN_PRIVILEGES, Endpoint
from .identity import parse_identity
from .options import (
    CIBTP_POOL,
    DEFAULT_BASE_URL,
    DGFIP_ATTESTATION_POOL,
    DOCUMENTS_POOL,
    INPI_POOL,
    JSON_POOL,
    PING_POOL,
    POOLS,
    URSSAF_POOL,
    ApiEntrepriseOptions,
    PurposeOptions,
)
from .reply import Parser, Reply, with_data
from .source import MAX_OBJECT_LENGTH, ApiEntreprise

__all__ = [
    "CIBTP_POOL",
    "DEFAULT_BASE_URL",
    "DGFIP_ATTESTATION_POOL",
    "DOCUMENTS_POOL",
    "ENDPOINTS",
    "INPI_POOL",
    "JSON_POOL",
    "KNOWN_PRIVILEGES",
    "MAX_OBJECT_LENGTH",
    "PING_POOL",
    "POOLS",
    "URSSAF_POOL",
    "ApiEntreprise",
    "ApiEntrepriseOptions",
    "Endpoint",
    "Parser",
    "PurposeOptions",
    "Reply",
    "evidence",
    "parse_identity",
    "with_data",
]
