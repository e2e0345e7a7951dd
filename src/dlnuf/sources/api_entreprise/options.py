"""What API Entreprise lets a user configure: base URL, token, purpose, one quota per pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import SecretStr

from ...ratelimit import Quota
from ..options import Rate, RateOption, SourceOptions

__all__ = [
    "CIBTP_POOL",
    "DEFAULT_BASE_URL",
    "DGFIP_ATTESTATION_POOL",
    "DOCUMENTS_POOL",
    "INPI_POOL",
    "JSON_POOL",
    "PING_POOL",
    "POOLS",
    "URSSAF_POOL",
    "ApiEntrepriseOptions",
    "PurposeOptions",
]

DEFAULT_BASE_URL = "https://entreprise.api.gouv.fr"

JSON_POOL = Quota("api_entreprise:json", 250, 60)
"""250/min shared by the JSON endpoints (INSEE, Infogreffe, DGFIP turnover, VAT...)."""
URSSAF_POOL = Quota("api_entreprise:urssaf", 100, 60)
"""100/min for the URSSAF attestation de vigilance."""
DOCUMENTS_POOL = Quota("api_entreprise:documents", 50, 60)
"""50/min shared by the document endpoints (PDF attestations, cards) and GIP-MDS."""
INPI_POOL = Quota("api_entreprise:inpi", 15, 60)
"""15/min for the INPI RNE."""
DGFIP_ATTESTATION_POOL = Quota("api_entreprise:dgfip_attestation_fiscale", 5, 60)
"""5/min for the DGFIP attestation fiscale alone."""
CIBTP_POOL = Quota("api_entreprise:cibtp", 5, 60)
"""5/min for the CIBTP attestation alone."""
PING_POOL = Quota("api_entreprise:ping", 600, 60)
"""``/ping/<provider>`` is not rate limited upstream; this only bounds dlnuf's own pings."""
POOLS = (
    JSON_POOL, URSSAF_POOL, DOCUMENTS_POOL, INPI_POOL, DGFIP_ATTESTATION_POOL, CIBTP_POOL,
    PING_POOL,
)
"""Every pool, each set by the option ``quota_<name after the colon>``."""


# --- The options --------------------------------------------------------------------------


class PurposeOptions(SourceOptions):
    """The purpose every API Entreprise call carries."""

    recipient: str | None = None
    """SIRET of the public body the data is for (shortcut ``recipient=`` / ``DLNUF_RECIPIENT``)."""
    context: str | None = None
    """Framework of the request, e.g. ``Marché public`` (shortcut ``context=`` /
    ``DLNUF_CONTEXT``)."""
    object: str | None = None
    """Reason or procedure id, under 50 characters (shortcut ``object=`` / ``DLNUF_OBJECT``)."""

    shortcuts: ClassVar[Mapping[str, str]] = {
        "recipient": "recipient",
        "context": "context",
        "object": "object",
    }


class ApiEntrepriseOptions(PurposeOptions):
    """Options of API Entreprise (``DLNUF_API_ENTREPRISE_*``): token, purpose and one
    quota per pool (the documented ones by default; a contract may allow more)."""

    shortcuts: ClassVar[Mapping[str, str]] = {
        **PurposeOptions.shortcuts,
        "token": "api_entreprise_token",
    }

    token: SecretStr | None = None
    """The bearer token (shortcut ``api_entreprise_token=`` / ``DLNUF_API_ENTREPRISE_TOKEN``)."""
    base_url: str = DEFAULT_BASE_URL
    """``DLNUF_API_ENTREPRISE_URL``: staging (``https://staging.entreprise.api.gouv.fr``),
    a fake."""
    quota_json: RateOption = Rate.of(JSON_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_JSON``: the JSON endpoints, 250/min."""
    quota_urssaf: RateOption = Rate.of(URSSAF_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_URSSAF``: the URSSAF attestation, 100/min."""
    quota_documents: RateOption = Rate.of(DOCUMENTS_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_DOCUMENTS``: the document endpoints, 50/min."""
    quota_inpi: RateOption = Rate.of(INPI_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_INPI``: the INPI RNE, 15/min."""
    quota_dgfip_attestation_fiscale: RateOption = Rate.of(DGFIP_ATTESTATION_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_DGFIP_ATTESTATION_FISCALE``: 5/min."""
    quota_cibtp: RateOption = Rate.of(CIBTP_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_CIBTP``: the CIBTP attestation, 5/min."""
    quota_ping: RateOption = Rate.of(PING_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_PING``: dlnuf's own bound on ``/ping``, 600/min."""
