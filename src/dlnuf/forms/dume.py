"""DUME / ESPD part II.A: information about the economic operator (and II.B representatives)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from ..facts.evidence import Director
from ..identifiers import Siret
from .contact import PhoneNumber
from .dc2 import is_sme as _is_sme
from .fields import Email, PostalAddress
from .form import Form
from .markers import Declared, Derived, From, Protected
from .view import FactView

__all__ = ["DumeEconomicOperator", "representatives"]


def representatives(facts: FactView) -> list[str] | None:
    """Names and roles of the company's officers (Kbis, else RNE)."""
    for path in ("registry.directors", "rne.directors"):
        directors = facts.value(path)
        if directors:
            return [
                f"{d.name} ({d.role})" if d.role else str(d.name)
                for d in directors
                if isinstance(d, Director) and d.name
            ]
    return None


_representatives = representatives  # a field has the same name


class DumeEconomicOperator(Form):
    """DUME (ESPD) part II.A: the economic operator, as in the EU ``EconomicOperatorParty``."""

    title: ClassVar[str] = "DUME — Partie II.A : informations sur l'opérateur économique"
    form_name: ClassVar[str] = "DUME"

    name: Annotated[str, From("identity.legal_name"), Field(title="Nom")]
    vat_number: Annotated[
        str | None,
        From("vat.number"),
        Protected(),
        Field(title="Numéro de TVA, le cas échéant"),
    ] = None
    national_id: Annotated[
        Siret,
        From("identity.siret"),
        Field(
            title="Si le numéro de TVA n'est pas applicable, autre numéro "
            "d'identification national (SIRET)"
        ),
    ]
    postal_address: PostalAddress
    contact_person: Annotated[
        str, Declared("contact.person"), Field(title="Personne(s) de contact")
    ]
    phone: Annotated[PhoneNumber, Declared("contact.phone"), Field(title="Téléphone")]
    email: Email
    website: Annotated[
        str | None,
        Declared("contact.website"),
        Field(title="Adresse internet (adresse web) (le cas échéant)"),
    ] = None
    is_sme: Annotated[
        bool,
        Derived(
            _is_sme, needs=("identity",), authenticated_needs=("headcount", "turnover")
        ),
        Field(title="L'opérateur économique est-il une microentreprise, une petite ou une "
              "moyenne entreprise ?"),
    ]
    sheltered_workshop: Annotated[
        bool | None,
        Declared("company.sheltered_workshop"),
        Field(
            title="Uniquement en cas de marché réservé : l'opérateur économique est-il un "
            "atelier protégé, une « entreprise sociale » ou prévoit-il l'exécution du "
            "marché dans le cadre de programmes d'emplois protégés ?"
        ),
    ] = None
    official_list: Annotated[
        str | None,
        Declared("company.official_list"),
        Field(
            title="Le cas échéant, l'opérateur économique est-il inscrit sur une liste "
            "officielle d'opérateurs économiques agréés (nom de la liste, numéro "
            "d'inscription) ?"
        ),
    ] = None
    with_others: Annotated[
        bool,
        Field(
            title="L'opérateur économique participe-t-il à la procédure de passation "
            "conjointement avec d'autres ?"
        ),
    ] = False
    representatives: Annotated[
        list[str] | None,
        Derived(_representatives, needs=("registry", "rne")),
        Protected(),
        Field(title="II.B — Représentants de l'opérateur économique (nom, qualité)"),
    ] = None
