"""dlnuf: "Dites-le-nous une fois". A SIRET in, verified company facts out, forms pre-filled.

>>> import dlnuf
>>> with dlnuf.Client(sources=["sandbox"], cache=None) as client:
...     client.identity("552 049 447 76279").legal_name
'SOCIETE NATIONALE SNCF'
"""

from .client import AsyncClient, Client
from .config import Settings
from .dossier import Dossier
from .errors import (
    ConfigurationError,
    DlnufError,
    Forbidden,
    InvalidIdentifier,
    InvalidRequest,
    InvalidRna,
    InvalidSiren,
    InvalidSiret,
    LegallyUnavailable,
    NotFound,
    RateLimited,
    RequestInFlight,
    Unauthorized,
    UnexpectedPayload,
    UnsupportedKind,
    UpstreamError,
    UpstreamUnavailable,
    Withheld,
)
from .facts import Address, Fact, Identity, Provenance
from .identifiers import Rna, Siren, Siret

__version__ = "0.1.0"

__all__ = [
    "Address",
    "AsyncClient",
    "Client",
    "ConfigurationError",
    "DlnufError",
    "Dossier",
    "Fact",
    "Forbidden",
    "Identity",
    "InvalidIdentifier",
    "InvalidRequest",
    "InvalidRna",
    "InvalidSiren",
    "InvalidSiret",
    "LegallyUnavailable",
    "NotFound",
    "Provenance",
    "RateLimited",
    "RequestInFlight",
    "Rna",
    "Settings",
    "Siren",
    "Siret",
    "Unauthorized",
    "UnexpectedPayload",
    "UnsupportedKind",
    "UpstreamError",
    "UpstreamUnavailable",
    "Withheld",
    "__version__",
]
