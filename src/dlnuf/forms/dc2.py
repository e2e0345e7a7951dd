"""DC2 -- Déclaration du candidat individuel ou du membre du groupement.

C1 identity and the PME question, C2 reserved contracts, E1 registration,
F1 the turnover of the last three closed financial years, G headcount.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..facts.evidence import TurnoverYear
from ..identifiers import Siret
from .fields import Email, Fax, HeadOfficeAddress, LegalName, Phone, PostalAddress, TradeName
from .form import Form
from .markers import Declared, Derived, From, Protected
from .view import FactView

__all__ = ["DC2", "SME_HEADCOUNT", "SME_TURNOVER", "TurnoverLine", "is_sme", "turnover_table"]

SME_HEADCOUNT = 250
"""A PME employs fewer people than this..."""
SME_TURNOVER = 50_000_000
"""...and has a turnover of at most this many euros (or a balance sheet of at most 43 M€)."""


class TurnoverLine(BaseModel):
    """One financial year of the DC2 F1 table."""

    model_config = ConfigDict(extra="forbid")

    start: Annotated[date | None, Field(title="Exercice du")] = None
    end: Annotated[date, Field(title="au")]
    amount: Annotated[int, Field(title="Chiffre d'affaires global hors taxes (€)")]
    share_percent: Annotated[
        float | None,
        Field(title="Part du chiffre d'affaires concernant l'objet du marché (%)", ge=0, le=100),
    ] = None


def is_sme(facts: FactView) -> bool | None:
    """Micro, small or medium enterprise? From the INSEE category when known, else from
    the headcount (fewer than 250) and the latest turnover (at most 50 M€).

    ``None`` when the data cannot tell (a turnover above 50 M€ may still be an SME
    by its balance sheet, which no source gives).
    """
    category = facts.value("identity.company_category")
    if category == "PME":
        return True
    if category in ("ETI", "GE"):
        return False
    headcount = facts.value("headcount.headcount")
    if headcount is not None and headcount >= SME_HEADCOUNT:
        return False
    latest: Any = facts.value("turnover.latest")
    if headcount is not None and isinstance(latest, TurnoverYear) and (
        latest.amount <= SME_TURNOVER
    ):
        return True
    return None


def turnover_table(facts: FactView, today: date | None = None) -> list[TurnoverLine] | None:
    """The last three financial years closed before ``today``, newest first."""
    years = facts.value("turnover.years")
    if years is None:
        return None
    today = today or date.today()
    closed = [y for y in years if isinstance(y, TurnoverYear) and y.closing_date < today]
    return [
        TurnoverLine(start=y.start_date, end=y.closing_date, amount=y.amount)
        for y in closed[:3]
    ]


# Fields share these functions' names: the annotations refer to these aliases.
_is_sme = is_sme
_turnover_table = turnover_table


class DC2(Form):
    """Déclaration du candidat (DC2): identity, PME, registration, turnover, headcount."""

    title: ClassVar[str] = "DC2 — Déclaration du candidat individuel ou du membre du groupement"

    siret: Annotated[Siret, From("identity.siret"), Field(title="Numéro SIRET")]
    legal_name: LegalName
    trade_name: TradeName = None
    legal_form: Annotated[
        str, From("identity.legal_form_label"), Field(title="Forme juridique")
    ]
    postal_address: PostalAddress
    head_office_address: HeadOfficeAddress = None
    email: Email
    phone: Phone
    fax: Fax = None
    is_sme: Annotated[
        bool,
        Derived(
            _is_sme, needs=("identity",), authenticated_needs=("headcount", "turnover")
        ),
        Field(
            title="Le candidat est une micro, une petite ou une moyenne entreprise "
            "(moins de 250 personnes et chiffre d'affaires annuel n'excédant pas "
            "50 millions d'euros ou total du bilan annuel n'excédant pas 43 millions d'euros)"
        ),
    ]
    ess: Annotated[
        bool | None,
        From("identity.ess"),
        Field(title="C2 — Entreprise de l'économie sociale et solidaire (ESS)"),
    ] = None
    reserved_status: Annotated[
        Literal["entreprise adaptée", "ESAT", "SIAE"] | None,
        Declared("company.reserved_status"),
        Field(
            title="C2 — Marché réservé : entreprise adaptée, établissement et service "
            "d'aide par le travail (ESAT) ou structure d'insertion par l'activité "
            "économique (SIAE)"
        ),
    ] = None
    naf_code: Annotated[str, From("identity.naf_code"), Field(title="Code APE (NAF)")]
    registration: Annotated[
        str | None,
        From("registry.registration_number"),
        Protected(),
        Field(
            title="E1 — Inscription au registre du commerce et des sociétés (RCS) "
            "ou au répertoire des métiers (RM)"
        ),
    ] = None
    evidence_url: Annotated[
        str | None,
        Declared("company.evidence_url"),
        Field(
            title="E3 — Adresse internet où les documents de preuve sont disponibles "
            "gratuitement, et renseignements nécessaires pour y accéder"
        ),
    ] = None
    turnover: Annotated[
        list[TurnoverLine],
        Derived(_turnover_table, needs=("turnover",)),
        Protected(),
        Field(title="F1 — Chiffres d'affaires hors taxes des trois derniers exercices disponibles"),
    ]
    headcount: Annotated[
        float | None,
        From("headcount.headcount"),
        Protected(),
        Field(title="G1 — Effectif moyen annuel"),
    ] = None
