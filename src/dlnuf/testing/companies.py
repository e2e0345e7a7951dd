"""Fake companies for tests: :class:`FakeCompany`, :func:`make_company` and valid identifiers.

A :class:`FakeCompany` is one establishment with its legal unit, holding what
the upstreams know about it; each upstream fake (:mod:`dlnuf.testing.upstreams`)
renders it in its real payload shape. :func:`make_company` builds one of a given
``kind`` (active, closed, association, sole trader...), with valid SIREN/SIRET
(Luhn, or La Poste's rule), deterministic for a given ``seed``::

    company = make_company("closed", seed=1)
    company.siret, company.closed       # ('71364561200019', datetime.date(2023, 1, 17))
    make_company("active", seed=1, name="ACME")   # any field can be overridden
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

from ..facts.identity import Identity
from ..identifiers import LA_POSTE_HEAD_OFFICE, LA_POSTE_SIREN, luhn_valid

__all__ = [
    "KINDS",
    "Diffusion",
    "FakeAddress",
    "FakeCompany",
    "FakePerson",
    "make_companies",
    "make_company",
    "make_siren",
    "make_siret",
]

Diffusion = Literal["diffusible", "partiellement_diffusible", "non_diffusible"]

KINDS: tuple[str, ...] = (
    "active",
    "secondary",
    "closed",
    "association",
    "sole_trader",
    "sole_trader_nd",
    "non_diffusible",
    "redirected",
    "la_poste",
)
"""What :func:`make_company` can make.

``active`` a company's head office; ``secondary`` another establishment of it;
``closed`` the closed establishment of a ceased company; ``association`` an
association with its RNA number; ``sole_trader`` a diffusible sole trader;
``sole_trader_nd`` a partially diffusible one (name and street withheld on public
answers); ``non_diffusible`` a sole trader public answers know nothing about;
``redirected`` an establishment that a duplicate SIRET (``redirected_from``)
points to; ``la_poste`` an establishment of La Poste (SIRET ``356000000...``).
"""


@dataclass(frozen=True)
class FakeAddress:
    """An establishment address, as INSEE holds it.

    ``cedex`` is ``(code, label)``; ``abroad`` is ``(city, INSEE country code,
    country)`` for an establishment outside France.
    """

    number: str | None = "1"
    street_type: str | None = "RUE"
    street: str | None = "DE LA PAIX"
    postal_code: str | None = "75002"
    city: str | None = "PARIS 2"
    city_code: str | None = "75102"
    repetition: str | None = None
    complement: str | None = None
    distribution: str | None = None
    cedex: tuple[str, str] | None = None
    abroad: tuple[str, str, str] | None = None

    @property
    def street_line(self) -> str:
        """Number, repetition, street type and name (``12 BIS RUE DE LA PAIX``)."""
        parts = (self.number, self.repetition and self.repetition.upper(), self.street_type,
                 self.street)
        return " ".join(p for p in parts if p)

    @property
    def locality(self) -> str:
        """``postal code + city``, the cedex line, or the city abroad."""
        if self.cedex:
            return f"{self.cedex[0]} {self.cedex[1]}"
        if self.abroad:
            return self.abroad[0]
        return " ".join(p for p in (self.postal_code, self.city) if p)


@dataclass(frozen=True)
class FakePerson:
    """The natural person behind a sole trader (entrepreneur individuel)."""

    first_name: str
    """Prénom usuel."""
    birth_name: str
    usage_name: str | None = None
    """Nom d'usage (married name...), used in the display name when set."""
    other_first_names: tuple[str, ...] = ()
    """Prénoms 2 to 4."""
    sex: str | None = None
    pseudonym: str | None = None

    @property
    def display_name(self) -> str:
        """``FIRST LAST``, the last name being the usage name when there is one."""
        return f"{self.first_name} {self.usage_name or self.birth_name}"


@dataclass(frozen=True)
class FakeCompany:
    """One establishment and its legal unit, as the upstreams would hold it.

    ``name`` is the raison sociale (``None`` for a sole trader, whose name comes
    from ``person``); ``naf`` and ``legal_form`` are ``(code, label)`` pairs;
    ``closed`` is the establishment's closing date (``None``: open) and ``ceased``
    whether the legal unit ceased. ``redirected_from`` is a duplicate SIRET the
    upstreams redirect to this one. A ``created`` in year 9999 is rendered as
    the absurd timestamp INSEE sometimes holds.
    """

    siret: str
    name: str | None
    kind: str = "active"
    legal_form: tuple[str, str] = ("5710", "SAS, société par actions simplifiée")
    naf: tuple[str, str] = ("62.01Z", "Programmation informatique")
    establishment_naf: tuple[str, str] | None = None
    category: str | None = "PME"
    headcount: str = "NN"
    establishment_headcount: str | None = None
    created: date | None = date(2015, 3, 2)
    establishment_created: date | None = None
    updated: date | None = date(2024, 1, 15)
    address: FakeAddress = field(default_factory=FakeAddress)
    head_office: bool = True
    head_office_siret: str | None = None
    trade_name: str | None = None
    sigle: str | None = None
    person: FakePerson | None = None
    closed: date | None = None
    ceased: bool = False
    ess: bool | None = False
    rna: str | None = None
    diffusion: Diffusion = "diffusible"
    redirected_from: str | None = None
    note: str = ""

    @property
    def siren(self) -> str:
        """The SIREN of the legal unit (first nine digits of the SIRET)."""
        return self.siret[:9]

    @property
    def nic(self) -> str:
        """The establishment number (last five digits of the SIRET)."""
        return self.siret[9:]

    @property
    def head_office_siret_or_self(self) -> str:
        """The head office's SIRET (this one when it is the head office)."""
        return self.head_office_siret or self.siret

    @property
    def is_sole_trader(self) -> bool:
        """Whether the legal unit is a natural person."""
        return self.person is not None

    @property
    def active(self) -> bool:
        """Whether the establishment is open."""
        return self.closed is None

    @property
    def legal_name(self) -> str | None:
        """The legal name dlnuf reports: the raison sociale, or the person's name."""
        if self.person is not None:
            return self.person.display_name
        return self.name

    @property
    def establishment_activity(self) -> tuple[str, str]:
        """The establishment's own activity, else the unit's."""
        return self.establishment_naf or self.naf

    def with_(self, **changes: Any) -> FakeCompany:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return replace(self, **changes)

    @classmethod
    def from_identity(cls, identity: Identity, *, kind: str = "", note: str = "") -> FakeCompany:
        """The fake of a company dlnuf already parsed (e.g. a sandbox or staging one).

        A sole trader's legal name ``FIRST LAST`` becomes a :class:`FakePerson`.
        Values the identity does not hold are left empty.
        """
        a = identity.address
        abroad = None
        if a.country and a.country.upper() != "FRANCE":
            abroad = (a.city or "", a.country_code or "", a.country)
        address = FakeAddress(
            number=a.number, street_type=a.street_type, street=a.street_name,
            postal_code=a.postal_code, city=None if abroad else a.city, city_code=a.city_code,
            repetition=a.repetition, complement=a.complement,
            distribution=a.special_distribution,
            cedex=(a.cedex_code, a.cedex_label) if a.cedex_code and a.cedex_label else None,
            abroad=abroad,
        )
        person = None
        name = identity.legal_name
        if identity.is_sole_trader:
            first, _, last = (identity.legal_name or "").partition(" ")
            person = FakePerson(first_name=first or "?", birth_name=last or "?")
            name = None
        updated = identity.provenance.updated_at
        return cls(
            siret=str(identity.siret),
            name=name,
            kind=kind or _kind_of(identity),
            legal_form=(identity.legal_form_code or "", identity.legal_form_label or ""),
            naf=(identity.naf_code or "", identity.naf_label or ""),
            category=identity.company_category,
            headcount=identity.legal_unit_headcount_bracket or "NN",
            establishment_headcount=identity.headcount_bracket,
            created=identity.creation_date,
            establishment_created=identity.establishment_creation_date,
            updated=updated.date() if updated is not None else None,
            address=address,
            head_office=bool(identity.is_head_office),
            head_office_siret=str(identity.head_office_siret) if identity.head_office_siret
            else None,
            trade_name=identity.trade_name,
            sigle=identity.sigle,
            person=person,
            closed=identity.closing_date or (None if identity.active else date(1970, 1, 1)),
            ceased=not identity.legal_unit_active,
            ess=identity.ess,
            rna=identity.rna,
            diffusion=identity.diffusion,
            redirected_from=str(identity.redirected_from) if identity.redirected_from else None,
            note=note,
        )


def _kind_of(identity: Identity) -> str:
    if not identity.active:
        return "closed"
    if identity.is_sole_trader:
        return "sole_trader" if identity.diffusion == "diffusible" else "sole_trader_nd"
    if identity.rna:
        return "association"
    return "active" if identity.is_head_office is not False else "secondary"


# --- Identifiers ------------------------------------------------------------------------------


def _rng(seed: int | str | random.Random | None) -> random.Random:
    if isinstance(seed, random.Random):
        return seed
    return random.Random(seed)  # noqa: S311 - fake test data, not secrets


def _check_digit(digits: str) -> str:
    return next(d for d in "0123456789" if luhn_valid(digits + d))


def make_siren(seed: int | str | random.Random | None = None) -> str:
    """A random valid SIREN (Luhn), never La Poste's; the same for the same ``seed``."""
    rng = _rng(seed)
    while True:
        body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
        siren = body + _check_digit(body)
        if siren != LA_POSTE_SIREN:
            return siren


def make_siret(
    seed: int | str | random.Random | None = None,
    *,
    siren: str | None = None,
    nic: str | None = None,
    la_poste: bool = False,
) -> str:
    """A random valid SIRET; the same for the same ``seed``.

    ``siren`` fixes the legal unit; ``nic`` the first four digits of the
    establishment number (the fifth is the check digit); ``la_poste`` makes a La
    Poste SIRET (``356000000...``, valid by the sum of its digits being a multiple
    of 5, never the head office ``35600000000048``).
    """
    rng = _rng(seed)
    if la_poste:
        while True:
            body = LA_POSTE_SIREN + (nic or "".join(str(rng.randint(0, 9)) for _ in range(4)))
            total = sum(int(d) for d in body)
            choices = [d for d in "0123456789" if (total + int(d)) % 5 == 0]
            siret = body + rng.choice(choices)
            if siret != LA_POSTE_HEAD_OFFICE:
                return siret
            nic = None
    base = (siren or make_siren(rng)) + (
        nic or "0" + "".join(str(rng.randint(0, 9)) for _ in range(3))
    )
    return base + _check_digit(base)


def _rna(rng: random.Random) -> str:
    return "W" + "".join(str(rng.randint(0, 9)) for _ in range(9))


# --- Vocabulary of the factory --------------------------------------------------------------

_WORDS = (
    "ATELIER", "MAISON", "COMPAGNIE", "BUREAU", "COMPTOIR", "GROUPE", "SOCIETE", "ETABLISSEMENTS",
)
_TRADES = (
    ("MENUISERIE", ("43.32A", "Travaux de menuiserie bois et PVC")),
    ("BOULANGERIE", ("10.71C", "Boulangerie et boulangerie-pâtisserie")),
    ("LOGICIELS", ("62.01Z", "Programmation informatique")),
    ("TRANSPORTS", ("49.41A", "Transports routiers de fret interurbains")),
    ("CONSEIL", ("70.22Z", "Conseil pour les affaires et autres conseils de gestion")),
    ("PLOMBERIE", ("43.22A", "Travaux d'installation d'eau et de gaz en tous locaux")),
    ("RESTAURATION", ("56.10A", "Restauration traditionnelle")),
    ("ELECTRICITE", ("43.21A", "Travaux d'installation électrique dans tous locaux")),
)
_NAMES = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY",
    "MOREAU", "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX",
)
_FIRST_NAMES = (
    ("CLAIRE", "F"), ("SOPHIE", "F"), ("CAMILLE", "F"), ("LEA", "F"), ("JULIE", "F"),
    ("JEAN", "M"), ("LUCAS", "M"), ("HUGO", "M"), ("PIERRE", "M"), ("KARIM", "M"),
)
_FORMS = (
    ("5710", "SAS, société par actions simplifiée"),
    ("5499", "Société à responsabilité limitée (sans autre indication)"),
    ("5498", "SARL unipersonnelle"),
    ("5720", "Société par actions simplifiée à associé unique ou société par actions "
             "simplifiée unipersonnelle"),
)
_PLACES = (
    ("69003", "LYON 3EME", "69383"), ("33000", "BORDEAUX", "33063"),
    ("38000", "GRENOBLE", "38185"), ("44000", "NANTES", "44109"),
    ("31000", "TOULOUSE", "31555"), ("35000", "RENNES", "35238"),
    ("13006", "MARSEILLE 6", "13206"), ("59000", "LILLE", "59350"),
    ("67000", "STRASBOURG", "67482"), ("75011", "PARIS 11", "75111"),
)
_STREETS = (
    ("RUE", "DE LA REPUBLIQUE"), ("AVENUE", "JEAN JAURES"), ("BOULEVARD", "VICTOR HUGO"),
    ("PLACE", "DU MARCHE"), ("RUE", "DES ECOLES"), ("CHEMIN", "DES VIGNES"),
    ("ALLEE", "DES TILLEULS"), ("QUAI", "DU PORT"),
)
_HEADCOUNTS = ("NN", "00", "01", "02", "03", "11", "12", "21", "22")


def _date(rng: random.Random, start: int, end: int) -> date:
    first = date(start, 1, 1)
    return first + timedelta(days=rng.randint(0, (date(end, 12, 31) - first).days))


def _address(rng: random.Random) -> FakeAddress:
    postal, city, code = rng.choice(_PLACES)
    street_type, street = rng.choice(_STREETS)
    return FakeAddress(
        number=str(rng.randint(1, 120)), street_type=street_type, street=street,
        postal_code=postal, city=city, city_code=code,
    )


def _person(rng: random.Random) -> FakePerson:
    first, sex = rng.choice(_FIRST_NAMES)
    return FakePerson(first_name=first, birth_name=rng.choice(_NAMES), sex=sex)


def make_company(
    kind: str = "active", seed: int | str | random.Random | None = None, **overrides: Any
) -> FakeCompany:
    """A fake company of ``kind`` (see :data:`KINDS`), the same for the same ``seed``.

    ``overrides`` replace any :class:`FakeCompany` field (``name="ACME"``,
    ``siret=...``). Without a seed every call gives another company.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    rng = _rng(seed if seed is None or isinstance(seed, random.Random) else f"{kind}:{seed}")
    word = rng.choice(_WORDS)
    trade, naf = rng.choice(_TRADES)
    family = rng.choice(_NAMES)
    created = _date(rng, 1975, 2022)
    updated = _date(rng, 2023, 2025)
    siren = make_siren(rng)
    values: dict[str, Any] = {
        "siret": make_siret(rng, siren=siren, nic="0001"),
        "name": f"{word} {trade} {family}",
        "kind": kind,
        "legal_form": rng.choice(_FORMS),
        "naf": naf,
        "headcount": rng.choice(_HEADCOUNTS),
        "created": created,
        "updated": updated,
        "address": _address(rng),
        "trade_name": f"{trade} {family}" if rng.random() < 0.3 else None,
    }
    if kind == "secondary":
        values["siret"] = make_siret(rng, siren=siren, nic="0002")
        values["head_office"] = False
        values["head_office_siret"] = make_siret(rng, siren=siren, nic="0001")
        values["establishment_created"] = _date(rng, max(created.year, 1990), 2023)
        values["establishment_headcount"] = "01"
    elif kind == "closed":
        values["closed"] = _date(rng, max(created.year + 1, 2000), 2023)
        values["ceased"] = True
        values["category"] = None
    elif kind == "association":
        purpose = rng.choice(("SPORTIVE", "CULTURELLE", "DES AMIS DU PATRIMOINE", "DES PARENTS"))
        values["name"] = f"ASSOCIATION {purpose} DE {values['address'].city.split()[0]}"
        values["legal_form"] = ("9220", "Association déclarée")
        values["naf"] = ("94.99Z", "Autres organisations fonctionnant par adhésion volontaire")
        values["rna"] = _rna(rng)
        values["ess"] = True
        values["trade_name"] = None
    elif kind in ("sole_trader", "sole_trader_nd", "non_diffusible"):
        values["name"] = None
        values["person"] = _person(rng)
        values["legal_form"] = ("1000", "Entrepreneur individuel")
        values["headcount"] = "NN"
        values["diffusion"] = {
            "sole_trader": "diffusible",
            "sole_trader_nd": "partiellement_diffusible",
            "non_diffusible": "non_diffusible",
        }[kind]
    elif kind == "redirected":
        values["redirected_from"] = make_siret(rng)
    elif kind == "la_poste":
        values["siret"] = make_siret(rng, la_poste=True)
        values["name"] = "LA POSTE"
        values["legal_form"] = ("5599", "SA à conseil d'administration (s.a.i.)")
        values["naf"] = ("53.10Z", "Activités de poste dans le cadre d'une obligation de "
                                   "service universel")
        values["category"] = "GE"
        values["headcount"] = "53"
        values["head_office"] = False
        values["head_office_siret"] = LA_POSTE_HEAD_OFFICE
        values["trade_name"] = None
    values.update(overrides)
    return FakeCompany(**values)


def make_companies(
    n: int, seed: int | str = 0, kinds: tuple[str, ...] = KINDS
) -> list[FakeCompany]:
    """``n`` distinct companies cycling through ``kinds``, the same for the same ``seed``."""
    return list(_generate(n, seed, kinds))


def _generate(n: int, seed: int | str, kinds: tuple[str, ...]) -> Iterator[FakeCompany]:
    rng = _rng(f"companies:{seed}")
    seen: set[str] = set()
    made = 0
    while made < n:
        company = make_company(kinds[made % len(kinds)], rng)
        ids = {i for i in (company.siret, company.redirected_from) if i}
        if seen & ids:
            continue
        seen |= ids
        made += 1
        yield company
