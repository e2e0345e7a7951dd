"""Field declarations several ready forms share: same origin, same label.

Each is an annotated type: ``trade_name: TradeName = None`` in a form declares
the field with its marker and its title.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .contact import EmailAddress, PhoneNumber
from .markers import Declared, Derived, From
from .view import FactView

__all__ = [
    "Email",
    "Fax",
    "HeadOfficeAddress",
    "LegalName",
    "Phone",
    "PostalAddress",
    "TradeName",
    "head_office_address",
]


def head_office_address(facts: FactView) -> str | None:
    """The head office's address: the establishment's own when it is the head office,
    else the one the RNE (or the association register) holds, when the form may read it."""
    identity = facts.get("identity")
    if identity is not None and getattr(identity, "is_head_office", None):
        address = facts.value("identity.address.one_line")
        if address:
            return str(address)
    for path in ("rne.head_office.one_line", "association.head_office.one_line"):
        address = facts.value(path)
        if address:
            return str(address)
    return None


LegalName = Annotated[str, From("identity.legal_name"), Field(title="Dénomination sociale")]
TradeName = Annotated[str | None, From("identity.trade_name"), Field(title="Nom commercial")]
PostalAddress = Annotated[
    str, From("identity.address.one_line"), Field(title="Adresse postale")
]
HeadOfficeAddress = Annotated[
    str | None,
    Derived(head_office_address, needs=("identity",), authenticated_needs=("rne",)),
    Field(title="Adresse du siège social (si elle est différente de l'adresse postale)"),
]
"""The head office's address on a procurement form (the RNE's on an authenticated one)."""
Email = Annotated[EmailAddress, Declared("contact.email"), Field(title="Adresse électronique")]
Phone = Annotated[PhoneNumber, Declared("contact.phone"), Field(title="Numéro de téléphone")]
Fax = Annotated[
    PhoneNumber | None, Declared("contact.fax"), Field(title="Numéro de télécopie")
]
