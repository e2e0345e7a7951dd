"""The upstreams' payload builders, under their former names (kept for compatibility).

They live with their upstream now, in :mod:`dlnuf.testing.upstreams`:
:mod:`~dlnuf.testing.upstreams.api_entreprise` (the v4 establishment payload, its
``diffusibles`` variant, error bodies and the route table
:data:`~dlnuf.testing.upstreams.api_entreprise.API_ENTREPRISE_ROUTES`),
:mod:`~dlnuf.testing.upstreams.recherche_entreprises` (``/search`` results) and
:mod:`~dlnuf.testing.upstreams.insee_sirene` (``/siret`` establishments). Import
them from there in new code.
"""

from __future__ import annotations

from .upstreams.api_entreprise import (
    API_ENTREPRISE_ROUTES,
    HEADCOUNT_BRACKETS,
    NOT_FOUND_PAYLOAD,
    ApiEntrepriseRoute,
    Rendered,
    Renderer,
    api_entreprise_error,
    api_entreprise_establishment,
    api_entreprise_public_establishment,
    find_api_entreprise_route,
    public_variant,
    register_api_entreprise,
    timestamp,
)
from .upstreams.common import ND
from .upstreams.insee_sirene import insee_batch, insee_error, insee_establishment, insee_response
from .upstreams.recherche_entreprises import (
    NON_DIFFUSIBLE,
    recherche_error,
    recherche_result,
    recherche_search,
)

__all__ = [
    "API_ENTREPRISE_ROUTES",
    "HEADCOUNT_BRACKETS",
    "ND",
    "NON_DIFFUSIBLE",
    "NOT_FOUND_PAYLOAD",
    "ApiEntrepriseRoute",
    "Rendered",
    "Renderer",
    "api_entreprise_error",
    "api_entreprise_establishment",
    "api_entreprise_public_establishment",
    "find_api_entreprise_route",
    "insee_batch",
    "insee_error",
    "insee_establishment",
    "insee_response",
    "public_variant",
    "recherche_error",
    "recherche_result",
    "recherche_search",
    "register_api_entreprise",
    "timestamp",
]
