"""The one list of the kinds of fact, by short key: what forms, displays and sources read.

``KINDS`` maps a short key (``"identity"``, ``"turnover"``, ``"tax"``...) to its fact
class; it is where a module that needs the kinds by name finds them, instead of
importing each class by hand. :func:`dlnuf.forms.register_kind` adds a key for a kind
defined elsewhere.
"""

from __future__ import annotations

from . import evidence
from .base import Fact
from .identity import Identity

__all__ = ["KINDS"]

KINDS: dict[str, type[Fact]] = {
    "identity": Identity,
    "turnover": evidence.Turnover,
    "headcount": evidence.Headcount,
    "vat": evidence.VatNumber,
    "registry": evidence.RegistryExtract,
    "rne": evidence.RneExtract,
    "association": evidence.Association,
    "tax": evidence.TaxCertificate,
    "social": evidence.SocialCertificate,
}
"""Kind keys (the first segment of a form's ``From`` path) and their fact class."""
