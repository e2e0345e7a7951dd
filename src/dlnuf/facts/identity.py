"""Identity of an establishment and its legal unit, with its :class:`Address`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import ConfigDict

from ..identifiers import Siren, Siret
from .base import Fact, Level
from .frozen import FrozenModel

__all__ = ["Address", "Diffusion", "Identity"]

Diffusion = Literal["diffusible", "partiellement_diffusible", "non_diffusible"]
"""INSEE diffusion status. Anything but ``diffusible`` means some values are withheld."""


class Address(FrozenModel):
    """A postal address, structured as INSEE gives it, with its postal lines.

    Withheld parts are ``None`` (see :attr:`Fact.withheld`, paths ``address.<field>``).
    """

    model_config = ConfigDict(frozen=True)

    number: str | None = None
    repetition: str | None = None
    street_type: str | None = None
    street_name: str | None = None
    complement: str | None = None
    special_distribution: str | None = None
    postal_code: str | None = None
    city: str | None = None
    city_code: str | None = None
    """INSEE code of the commune (COG), not the postal code."""
    cedex_code: str | None = None
    cedex_label: str | None = None
    country: str = "FRANCE"
    country_code: str | None = None
    """INSEE country code (``99132``) for an address abroad, ``None`` in France."""
    postal_lines: tuple[str, ...] = ()
    """Up to seven lines as La Poste would print them (empty ones dropped)."""

    @property
    def street(self) -> str | None:
        """Number, repetition, street type and name, as one line (``22 RUE DE LA PAIX``)."""
        parts = [self.number, self.repetition, self.street_type, self.street_name]
        text = " ".join(p for p in parts if p)
        return text or None

    @property
    def one_line(self) -> str:
        """The whole address on one line (``22 RUE DE LA PAIX, 75016 PARIS``)."""
        locality = " ".join(p for p in (self.postal_code, self.city) if p)
        if self.cedex_code and self.cedex_label:
            locality = f"{self.cedex_code} {self.cedex_label}"
        parts = [self.complement, self.street, self.special_distribution, locality]
        if self.country and self.country.upper() != "FRANCE":
            parts.append(self.country)
        return ", ".join(p for p in parts if p)


class Identity(Fact):
    """Who an establishment is: the establishment itself and its legal unit.

    A closed establishment or company is a fact (``active`` is false, with the
    closing date), not an error. When the upstream redirected a duplicate SIRET,
    ``siret`` is the one it answered for and ``redirected_from`` the one asked.
    """

    level: ClassVar[Level] = "siret"

    siret: Siret
    siren: Siren
    legal_name: str | None = None
    """Raison sociale, or for a sole trader their name (``MAXIME DUPONT``)."""
    trade_name: str | None = None
    """Enseigne or dénomination usuelle of the establishment."""
    sigle: str | None = None
    legal_form_code: str | None = None
    """INSEE catégorie juridique, 4 digits (``5710`` SAS)."""
    legal_form_label: str | None = None
    naf_code: str | None = None
    """Main activity (APE/NAF rev. 2) of the establishment, like ``49.10Z``."""
    naf_label: str | None = None
    company_category: str | None = None
    """``PME``, ``ETI`` or ``GE`` (INSEE catégorie d'entreprise)."""
    headcount_bracket: str | None = None
    """INSEE tranche d'effectif code of the establishment (``51``, ``NN``...)."""
    headcount_bracket_label: str | None = None
    legal_unit_headcount_bracket: str | None = None
    creation_date: date | None = None
    """Creation date of the legal unit."""
    establishment_creation_date: date | None = None
    active: bool = True
    """Whether the establishment is open (INSEE état administratif ``A``)."""
    closing_date: date | None = None
    legal_unit_active: bool = True
    is_head_office: bool | None = None
    head_office_siret: Siret | None = None
    ess: bool | None = None
    """Member of the social and solidarity economy (ESS)."""
    rna: str | None = None
    is_sole_trader: bool = False
    """The legal unit is a natural person (entrepreneur individuel)."""
    address: Address = Address()
    diffusion: Diffusion = "diffusible"
    redirected_from: Siret | None = None
    """The SIRET that was asked for, when the upstream redirected it to ``siret``."""

    @property
    def name(self) -> str | None:
        """The best display name: legal name, else trade name."""
        return self.legal_name or self.trade_name
