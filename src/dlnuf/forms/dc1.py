"""DC1 -- Lettre de candidature (public procurement), section D and the F engagements.

Sections A (buyer), B (the consultation) and E/G (group members, mandatary)
belong to the buyer or to the group, not to the company: they are not here.
The sworn exclusion statement (F1) is never pre-filled.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..identifiers import Siret
from .base import Declared, Derived, FactView, Form, From, Sworn

__all__ = ["DC1", "head_office_address"]


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


_head_office = head_office_address  # a field has the same name: annotations see this alias


class DC1(Form):
    """Lettre de candidature (DC1): who applies, how to reach them, the sworn statements."""

    title: ClassVar[str] = "DC1 — Lettre de candidature"

    applies_for: Annotated[
        str,
        Field(
            title="Objet de la candidature : marché public entier, tous les lots "
            "ou lot(s) n° … (section C)"
        ),
    ]
    candidate_kind: Annotated[
        Literal["seul", "groupement conjoint", "groupement solidaire"],
        Field(title="Le candidat se présente seul ou en groupement (section D)"),
    ] = "seul"
    legal_name: Annotated[
        str, From("identity.legal_name"), Field(title="Dénomination sociale")
    ]
    trade_name: Annotated[
        str | None, From("identity.trade_name"), Field(title="Nom commercial")
    ] = None
    postal_address: Annotated[
        str, From("identity.address.one_line"), Field(title="Adresse postale")
    ]
    head_office_address: Annotated[
        str | None,
        Derived(_head_office, needs=("identity",), authenticated_needs=("rne",)),
        Field(title="Adresse du siège social (si elle est différente de l'adresse postale)"),
    ] = None
    email: Annotated[str, Declared("contact.email"), Field(title="Adresse électronique")]
    phone: Annotated[str, Declared("contact.phone"), Field(title="Numéro de téléphone")]
    fax: Annotated[
        str | None, Declared("contact.fax"), Field(title="Numéro de télécopie")
    ] = None
    siret: Annotated[
        Siret,
        From("identity.siret"),
        Field(
            title="Numéro SIRET, à défaut un numéro d'identification européen ou international"
        ),
    ]
    no_exclusion: Annotated[
        bool,
        Sworn(),
        Field(
            title="F1 — Le candidat déclare sur l'honneur n'entrer dans aucun des cas "
            "d'exclusion prévus aux articles L. 2141-1 à L. 2141-5 et L. 2141-7 à "
            "L. 2141-10 du code de la commande publique"
        ),
    ]
    capacities_honest: Annotated[
        bool,
        Sworn(),
        Field(
            title="F1 — Le candidat déclare sur l'honneur que les renseignements et "
            "documents relatifs à ses capacités et à ses aptitudes sont exacts"
        ),
    ]
    evidence_url: Annotated[
        str | None,
        Declared("company.evidence_url"),
        Field(
            title="F2 — Adresse internet où les documents de preuve sont disponibles "
            "gratuitement, et renseignements nécessaires pour y accéder"
        ),
    ] = None
