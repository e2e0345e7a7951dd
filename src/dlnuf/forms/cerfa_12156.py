"""CERFA 12156 (demande de subvention d'une association), rubrique 1: identification."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import Field

from ..facts.evidence import Approval, LegalRepresentative, LocalRegistration
from ..identifiers import Siret
from .contact import EmailAddress, PhoneNumber
from .fields import head_office_address as _head_office
from .form import Form
from .markers import Declared, Derived, From, Protected
from .view import FactView

__all__ = ["Cerfa12156Identity", "approvals", "legal_representative", "local_registration"]


def approvals(facts: FactView) -> list[str] | None:
    """The association's agréments (kind, number, authority, date), when its record is known."""
    found = facts.value("association.approvals")
    if found is None:
        return None
    lines = []
    for item in found:
        if not isinstance(item, Approval):
            continue
        parts = [item.kind, item.number, item.authority]
        text = ", ".join(p for p in parts if p)
        if item.granted_on:
            text += f" ({item.granted_on:%d/%m/%Y})"
        lines.append(text)
    return lines


def local_registration(facts: FactView) -> str | None:
    """The local-law register entry of an Alsace-Moselle association (court, volume, folio)."""
    entry = facts.value("association.local_registration")
    if not isinstance(entry, LocalRegistration) or not entry.court:
        return None
    parts = [entry.court]
    if entry.volume:
        parts.append(f"volume {entry.volume}")
    if entry.folio:
        parts.append(f"folio {entry.folio}")
    if entry.registered_on:
        parts.append(f"inscrite le {entry.registered_on:%d/%m/%Y}")
    return ", ".join(parts)


def legal_representative(facts: FactView) -> str | None:
    """The first legal representative the association declared (name, role)."""
    people = facts.value("association.legal_representatives")
    for person in people or ():
        if isinstance(person, LegalRepresentative) and person.last_name:
            name = " ".join(p for p in (person.first_names, person.last_name) if p)
            return f"{name} ({person.role})" if person.role else name
    return None


# Fields share these functions' names: the annotations refer to these aliases.
_approvals = approvals
_local_registration = local_registration
_legal_representative = legal_representative


class Cerfa12156Identity(Form):
    """CERFA 12156 rubrique 1 -- identification of the association asking for a grant."""

    title: ClassVar[str] = "CERFA 12156 — Demande de subvention : identification de l'association"
    form_name: ClassVar[str] = "CERFA12156"

    name: Annotated[
        str, From("association.title", "identity.legal_name"), Field(title="Dénomination")
    ]
    acronym: Annotated[
        str | None, From("association.acronym", "identity.sigle"), Field(title="Sigle")
    ] = None
    siret: Annotated[Siret, From("identity.siret"), Field(title="Numéro SIRET")]
    rna: Annotated[
        str | None,
        From("association.rna", "identity.rna"),
        Field(title="Numéro RNA ou, à défaut, celui du récépissé en préfecture"),
    ] = None
    local_registration: Annotated[
        str | None,
        Derived(_local_registration, needs=("association",)),
        Field(title="Inscription au registre des associations du tribunal (Alsace-Moselle)"),
    ] = None
    object: Annotated[
        str | None, From("association.object"), Field(title="Objet de l'association")
    ] = None
    activity: Annotated[
        str | None,
        From("identity.naf_code", "association.naf_code"),
        Field(title="Activités principales réalisées (code NAF)"),
    ] = None
    head_office_address: Annotated[
        str,
        Derived(_head_office, needs=("identity", "association")),
        Field(title="Adresse du siège social"),
    ]
    creation_date: Annotated[
        date | None,
        From("association.creation_date", "identity.creation_date"),
        Field(title="Date de création"),
    ] = None
    ess: Annotated[
        bool | None,
        From("identity.ess", "association.ess"),
        Field(title="L'association relève-t-elle de l'économie sociale et solidaire (ESS) ?"),
    ] = None
    public_utility: Annotated[
        bool | None,
        From("association.public_utility"),
        Field(title="L'association est-elle reconnue d'utilité publique ?"),
    ] = None
    commercial_taxes: Annotated[
        bool | None,
        From("association.commercial_taxes"),
        Field(title="L'association est-elle assujettie aux impôts commerciaux ?"),
    ] = None
    approvals: Annotated[
        list[str] | None,
        Derived(_approvals, needs=("association",)),
        Field(title="Agréments administratifs (type, numéro, attribué par, date)"),
    ] = None
    email: Annotated[EmailAddress, Declared("contact.email"), Field(title="Courriel")]
    phone: Annotated[PhoneNumber, Declared("contact.phone"), Field(title="Téléphone")]
    website: Annotated[
        str | None, Declared("contact.website"), Field(title="Adresse site internet")
    ] = None
    legal_representative: Annotated[
        str | None,
        Derived(_legal_representative, needs=("association",)),
        Protected(),
        Field(title="Représentant légal (nom, prénom, fonction)"),
    ] = None
    iban: Annotated[
        str,
        Declared("bank.iban"),
        Protected(),
        Field(title="Coordonnées bancaires (IBAN) du compte de l'association"),
    ]
