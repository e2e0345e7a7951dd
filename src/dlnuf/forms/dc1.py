"""DC1 -- Lettre de candidature (public procurement), section D and the F engagements.

Sections A (buyer), B (the consultation) and E/G (group members, mandatary)
belong to the buyer or to the group, not to the company: they are not here.
The sworn exclusion statement (F1) is never pre-filled.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from ..identifiers import Siret
from .fields import (
    Email,
    Fax,
    HeadOfficeAddress,
    LegalName,
    Phone,
    PostalAddress,
    TradeName,
    head_office_address,
)
from .form import Form
from .markers import Declared, From, Sworn

__all__ = ["DC1", "head_office_address"]


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
    legal_name: LegalName
    trade_name: TradeName = None
    postal_address: PostalAddress
    head_office_address: HeadOfficeAddress = None
    email: Email
    phone: Phone
    fax: Fax = None
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
