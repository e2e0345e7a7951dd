"""Regenerate the sandbox data set shipped in ``src/dlnuf/sources/sandbox_data/``.

    python scripts/build_sandbox.py [--contracts DIR] [--out DIR]

Deterministic: the same contracts give byte-identical files. The data set is:

* every payload of the operator's contracts for the INSEE establishment endpoint
  (``../shared/contracts/api-entreprise/api_entreprise_v4_insee_etablissements``,
  MIT licence, see the NOTICE written beside the data);
* fictitious companies generated below (valid Luhn SIRENs/SIRETs from a seeded
  generator, French names and addresses), chosen so that each one demonstrates
  something (closed, sole trader, association, redirected SIRET, cedex...).

Each company gets its protected payload and its public ``diffusibles`` variant,
masked as INSEE does: ``"[ND]"`` for the protected values of a partially
diffusible unit, 404 for a non-diffusible one. The files are tables keyed by
request path (``{"<path>": {"status": ..., "payload": ...}}``): evidence
endpoints (attestations...) are added by adding their paths to the same table.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from dlnuf.facts.identity import Identity
from dlnuf.identifiers import luhn_valid
from dlnuf.sources.api_entreprise import ENDPOINTS
from dlnuf.testing.companies import Diffusion, FakeAddress, FakeCompany, FakePerson
from dlnuf.testing.payloads import api_entreprise_establishment, public_variant

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT.parent / "shared" / "contracts" / "api-entreprise"
OUT = ROOT / "src" / "dlnuf" / "sources" / "sandbox_data"
ETABLISSEMENTS = "api_entreprise_v4_insee_etablissements"
PROTECTED = ENDPOINTS[Identity].path
PUBLIC = ENDPOINTS[Identity].public_path or PROTECTED

# What each staging company of the contracts demonstrates (file name -> note).
CONTRACT_NOTES = {
    "200": "staging: the generic example (DINUM data on another SIRET; stray closing date "
    "on an open establishment; foreign country; cedex)",
    "association": "staging: association (Croix-Rouge), RNA W751004076",
    "association_regime_alsace_moselle": "staging: association under Alsace-Moselle local law",
    "personne_morale": "staging: SNCF head office, large company (GE)",
    "personne_morale_etat_cesse": "staging: closed establishment of a ceased SCI, old NAF code",
    "personne_physique_diffusible": "staging: sole trader, fully diffusible",
}

# --- Generated companies ----------------------------------------------------------------


@dataclass
class Addr:
    """An establishment address, as the INSEE payload holds it."""

    number: str | None
    street_type: str | None
    street: str | None
    postal_code: str | None
    city: str | None
    city_code: str | None
    repetition: str | None = None
    complement: str | None = None
    distribution: str | None = None
    cedex: tuple[str, str] | None = None
    abroad: tuple[str, str, str] | None = None  # city abroad, INSEE country code, country


@dataclass
class Unit:
    """A legal unit (unité légale)."""

    key: str
    name: str | None  # raison sociale; None for a sole trader
    legal_form: tuple[str, str]
    naf: tuple[str, str]
    created: date
    category: str | None = "PME"
    headcount: str = "NN"
    sigle: str | None = None
    person: dict[str, str | None] | None = None  # sole trader: prenom_usuel, nom_naissance...
    ceased: bool = False
    ess: bool | None = False
    rna: str | None = None
    diffusion: Diffusion = "diffusible"
    siren: str = ""


@dataclass
class Estab:
    """An establishment, with what it demonstrates in the sandbox."""

    unit: Unit
    note: str
    address: Addr
    created: date
    updated: date
    head_office: bool = True
    trade_name: str | None = None
    headcount: str | None = None
    naf: tuple[str, str] | None = None
    closed: date | None = None
    nic4: str = "0001"
    siret: str = ""
    redirect_from_nic4: str | None = None
    redirect_from: str = field(default="")


def _units() -> list[Unit]:
    sas = ("5710", "SAS, société par actions simplifiée")
    sarl = ("5499", "Société à responsabilité limitée (sans autre indication)")
    return [
        Unit("atelier", "ATELIER NUMERIQUE DU RHONE", sas,
             ("62.01Z", "Programmation informatique"), date(2015, 3, 2), headcount="12"),
        Unit("boulangerie", "BOULANGERIE MARTIN ET FILS",
             sarl,
             ("10.71C", "Boulangerie et boulangerie-pâtisserie"), date(1998, 9, 14),
             headcount="03"),
        Unit("mecanique", "MECANIQUE DE PRECISION DES ALPES",
             ("5599", "SA à conseil d'administration (s.a.i.)"),
             ("25.62B", "Mécanique industrielle"), date(1976, 4, 1), category="ETI",
             headcount="32", sigle="MPA"),
        Unit("plomberie", "PLOMBERIE NANTAISE", ("5498", "SARL unipersonnelle"),
             ("43.22A", "Travaux d'installation d'eau et de gaz en tous locaux"),
             date(2011, 1, 17), headcount="01"),
        Unit("scop", "LES CHARPENTIERS DU LIMOUSIN",
             ("5458", "SA coopérative ouvrière de production (SCOP) à conseil d'administration"),
             ("43.91A", "Travaux de charpente"), date(1989, 6, 5), headcount="21", ess=True,
             sigle="SCOP CDL"),
        Unit("velo", "LES AMIS DU VELO TOULOUSAIN", ("9220", "Association déclarée"),
             ("93.12Z", "Activités de clubs de sports"), date(2004, 2, 10), ess=True,
             rna="W313012345", sigle="AVT"),
        Unit("menuisier", None, ("1000", "Entrepreneur individuel"),
             ("43.32A", "Travaux de menuiserie bois et PVC"), date(2017, 5, 22),
             person={"prenom_usuel": "CLAIRE", "prenom_1": "CLAIRE", "prenom_2": "ANNE",
                     "nom_naissance": "BERNARD", "nom_usage": None, "sexe": "F"},
             diffusion="partiellement_diffusible"),
        Unit("photographe", None, ("1000", "Entrepreneur individuel"),
             ("74.20Z", "Activités photographiques"), date(2020, 9, 1),
             person={"prenom_usuel": "SOPHIE", "prenom_1": "SOPHIE", "prenom_2": None,
                     "nom_naissance": "MOREAU", "nom_usage": "PETIT", "sexe": "F"}),
        Unit("restaurant", "RESTAURANT LE VIEUX PORT",
             sarl,
             ("56.10A", "Restauration traditionnelle"), date(2009, 4, 1), headcount="NN",
             category=None, ceased=True),
        Unit("transports", "TRANSPORTS LEFEBVRE ET ASSOCIES", sas,
             ("49.41A", "Transports routiers de fret interurbains"), date(2001, 11, 20),
             headcount="22"),
        Unit("comptable", None, ("1000", "Entrepreneur individuel"),
             ("69.20Z", "Activités comptables"), date(1995, 1, 3),
             person={"prenom_usuel": "JEAN-PIERRE", "prenom_1": "JEAN-PIERRE", "prenom_2": None,
                     "nom_naissance": "ROUX", "nom_usage": None, "sexe": "M"},
             diffusion="non_diffusible"),
        Unit("logistique", "LOGISTIQUE ET ENTREPOSAGE DU CENTRE",
             sas,
             ("52.10B", "Entreposage et stockage non frigorifique"), date(2006, 7, 3),
             category="ETI", headcount="41", sigle="LEC"),
        Unit("vins", "MAISON DUVAL VINS ET SPIRITUEUX", sas,
             ("46.34Z", "Commerce de gros (commerce interentreprises) de boissons"),
             date(1987, 10, 12), headcount="21"),
        Unit("sci", "SCI DU MOULIN DE LA FORGE", ("6540", "Société civile immobilière"),
             ("6820B", "Location de terrains et d'autres biens immobiliers"),
             date(9999, 12, 31), category=None, ess=None),
        Unit("conseil", "GARNIER STRATEGIE CONSEIL",
             ("5720", "Société par actions simplifiée à associé unique ou société par actions "
                      "simplifiée unipersonnelle"),
             ("70.22Z", "Conseil pour les affaires et autres conseils de gestion"),
             date(2021, 2, 15), headcount="00"),
        Unit("pharmacie", "PHARMACIE FONTAINE ET LEGRAND", ("5202", "Société en nom collectif"),
             ("47.73Z", "Commerce de détail de produits pharmaceutiques en magasin spécialisé"),
             date(2012, 3, 1), headcount="11"),
        Unit("distillerie", "DISTILLERIE DES HAUTS DE L'ILE", sas,
             ("11.01Z", "Production de boissons alcooliques distillées"), date(1994, 8, 8),
             headcount="12"),
        Unit("energies", "ENERGIES MARINES DE L'ATLANTIQUE",
             ("5599", "SA à conseil d'administration (s.a.i.)"),
             ("35.11Z", "Production d'électricité"), date(1999, 5, 17), category="GE",
             headcount="52", sigle="EMA"),
        Unit("cuma", "CUMA DES PLAINES DE BEAUCE",
             ("6316", "Coopérative d'utilisation de matériel agricole en commun (CUMA)"),
             ("01.61Z", "Activités de soutien aux cultures"), date(1972, 2, 28), ess=True,
             headcount="NN"),
    ]


def _establishments(u: dict[str, Unit]) -> list[Estab]:
    return [
        Estab(u["atelier"], "SAS head office, software company (PME), Lyon",
              Addr("12", "RUE", "DE LA VILLETTE", "69003", "LYON 3EME", "69383"),
              date(2015, 3, 2), date(2024, 1, 15)),
        Estab(u["boulangerie"], "SARL with a trade name (enseigne), Bordeaux",
              Addr("45", "COURS", "DE L'INTENDANCE", "33000", "BORDEAUX", "33063"),
              date(1998, 9, 14), date(2023, 11, 2), trade_name="AU PAIN DORE"),
        Estab(u["boulangerie"], "closed secondary establishment of an active company",
              Addr("8", "PLACE", "DU PARLEMENT", "33000", "BORDEAUX", "33063"),
              date(2005, 5, 2), date(2023, 11, 2), head_office=False, trade_name="AU PAIN DORE",
              closed=date(2019, 8, 31), headcount="NN", nic4="0002"),
        Estab(u["mecanique"], "SA head office, mid-size company (ETI) with a sigle, Grenoble",
              Addr("3", "AVENUE", "DES MARTYRS", "38000", "GRENOBLE", "38185"),
              date(1976, 4, 1), date(2024, 2, 20), headcount="22"),
        Estab(u["mecanique"], "secondary establishment (not the head office), Annecy",
              Addr("17", "ROUTE", "DES CREUSES", "74000", "ANNECY", "74010",
                   complement="ZI DES CREUSES"),
              date(2003, 9, 1), date(2024, 2, 20), head_office=False, headcount="21",
              nic4="0003"),
        Estab(u["plomberie"], "one-person SARL, street number with repetition (bis), Nantes",
              Addr("27", "RUE", "DE STRASBOURG", "44000", "NANTES", "44109", repetition="bis"),
              date(2011, 1, 17), date(2023, 6, 30)),
        Estab(u["scop"], "workers' cooperative (SCOP), social economy (ESS), Limoges",
              Addr("5", "ALLÉE", "DES CHARPENTIERS", "87000", "LIMOGES", "87085"),
              date(1989, 6, 5), date(2023, 9, 12)),
        Estab(u["velo"], "association with an RNA number, ESS, Toulouse",
              Addr("14", "RUE", "DES PEDALES", "31000", "TOULOUSE", "31555"),
              date(2004, 2, 10), date(2023, 4, 4)),
        Estab(u["menuisier"], "sole trader, partially diffusible: name, trade name and street "
              "withheld on the public path",
              Addr(None, "LIEU-DIT", "LA HUBERDIERE", "35000", "RENNES", "35238",
                   complement="BATIMENT B"),
              date(2017, 5, 22), date(2024, 3, 1), trade_name="MENUISERIE DU BOCAGE"),
        Estab(u["photographe"], "sole trader using a married name (nom d'usage), Marseille",
              Addr("102", "RUE", "PARADIS", "13006", "MARSEILLE 6", "13206"),
              date(2020, 9, 1), date(2023, 10, 5)),
        Estab(u["restaurant"], "closed establishment of a ceased company (closing date)",
              Addr("2", "QUAI", "DU PORT", "13002", "MARSEILLE 2", "13202"),
              date(2009, 4, 1), date(2021, 7, 15), closed=date(2021, 6, 30)),
        Estab(u["transports"], "redirected SIRET: the SIRET asked for was a duplicate, "
              "the answer is about another SIRET (redirected_from)",
              Addr("240", "BOULEVARD", "DE LA LIBERTE", "59000", "LILLE", "59350"),
              date(2001, 11, 20), date(2024, 1, 8), nic4="0004", redirect_from_nic4="0002"),
        Estab(u["comptable"], "sole trader, not diffusible: protected path only (public: 404)",
              Addr("9", "RUE", "DES FORGES", "21000", "DIJON", "21231"),
              date(1995, 1, 3), date(2022, 12, 1)),
        Estab(u["logistique"], "address with a cedex and a special distribution (CS), Orléans",
              Addr("1", "AVENUE", "DU PARC FLORAL", "45100", "ORLEANS", "45234",
                   distribution="CS 40123", cedex=("45077", "ORLEANS CEDEX 2")),
              date(2006, 7, 3), date(2024, 2, 1), headcount="32"),
        Estab(u["vins"], "head office of a wine merchant, Reims",
              Addr("31", "BOULEVARD", "LUNDY", "51100", "REIMS", "51454"),
              date(1987, 10, 12), date(2023, 8, 21)),
        Estab(u["vins"], "establishment abroad (Germany)",
              Addr("18", None, "FRIEDRICHSTRASSE", None, None, None,
                   abroad=("BERLIN", "99109", "ALLEMAGNE")),
              date(2016, 4, 1), date(2023, 8, 21), head_office=False, headcount="03",
              nic4="0002"),
        Estab(u["sci"], "SCI with an absurd creation date (unknown) and a NAF code without dot",
              Addr("4", "CHEMIN", "DE LA FORGE", "74000", "ANNECY", "74010"),
              date(2010, 6, 1), date(2022, 5, 30)),
        Estab(u["conseil"], "one-person SAS (SASU), no employees, Paris",
              Addr("56", "RUE", "OBERKAMPF", "75011", "PARIS 11", "75111"),
              date(2021, 2, 15), date(2024, 1, 3)),
        Estab(u["pharmacie"], "general partnership (SNC) pharmacy with a trade name, Strasbourg",
              Addr("7", "PLACE", "KLEBER", "67000", "STRASBOURG", "67482"),
              date(2012, 3, 1), date(2023, 5, 17), trade_name="PHARMACIE DES QUATRE VENTS"),
        Estab(u["distillerie"], "overseas department (La Réunion)",
              Addr("15", "CHEMIN", "DES CANNES", "97410", "SAINT-PIERRE", "97416"),
              date(1994, 8, 8), date(2023, 7, 7)),
        Estab(u["energies"], "large company (GE), establishment headcount differs from the unit's",
              Addr("10", "QUAI", "LOUIS PRUNIER", "17000", "LA ROCHELLE", "17300"),
              date(1999, 5, 17), date(2024, 2, 28), headcount="22"),
        Estab(u["cuma"], "farmers' cooperative (CUMA), ESS, no street type, near Chartres",
              Addr("2", None, "GRANDE RUE", "28000", "CHARTRES", "28085"),
              date(1972, 2, 28), date(2023, 3, 3)),
    ]


def _check_digit(digits: str) -> str:
    return next(d for d in "0123456789" if luhn_valid(digits + d))


def _assign_identifiers(units: list[Unit], estabs: list[Estab], taken: set[str]) -> None:
    rng = random.Random("dlnuf-sandbox-1")  # noqa: S311 - reproducible fake data, not secrets
    for unit in units:
        while True:
            body = str(rng.randint(3, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
            siren = body + _check_digit(body)
            if siren not in taken and not siren.startswith("356"):
                break
        taken.add(siren)
        unit.siren = siren
    for estab in estabs:
        base = estab.unit.siren + estab.nic4
        estab.siret = base + _check_digit(base)
        if estab.redirect_from_nic4:
            old = estab.unit.siren + estab.redirect_from_nic4
            estab.redirect_from = old + _check_digit(old)


def _company(e: Estab, head_office_siret: str) -> FakeCompany:
    """The establishment as a :class:`FakeCompany`, which dlnuf.testing renders."""
    unit, a = e.unit, e.address
    person = None
    if unit.person:
        p = unit.person
        person = FakePerson(
            first_name=p["prenom_usuel"] or "",
            birth_name=p["nom_naissance"] or "",
            usage_name=p.get("nom_usage"),
            other_first_names=tuple(n for n in (p.get("prenom_2"),) if n),
            sex=p.get("sexe"),
        )
    return FakeCompany(
        siret=e.siret,
        name=unit.name,
        kind=unit.key,
        legal_form=unit.legal_form,
        naf=unit.naf,
        establishment_naf=e.naf,
        category=unit.category,
        headcount=unit.headcount,
        establishment_headcount=e.headcount,
        created=unit.created,
        establishment_created=e.created,
        updated=e.updated,
        address=FakeAddress(
            number=a.number, street_type=a.street_type, street=a.street,
            postal_code=a.postal_code, city=a.city, city_code=a.city_code,
            repetition=a.repetition, complement=a.complement, distribution=a.distribution,
            cedex=a.cedex, abroad=a.abroad,
        ),
        head_office=e.head_office,
        head_office_siret=head_office_siret,
        trade_name=e.trade_name,
        sigle=unit.sigle,
        person=person,
        closed=e.closed,
        ceased=unit.ceased,
        ess=unit.ess,
        rna=unit.rna,
        diffusion=unit.diffusion,
        redirected_from=e.redirect_from or None,
        note=e.note,
    )


# --- Build --------------------------------------------------------------------------------


def _contract_cases(contracts: Path) -> list[tuple[str, str, int, dict[str, Any]]]:
    cases = []
    for path in sorted((contracts / ETABLISSEMENTS).glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases.append((path.stem, raw["params"]["siret"], int(raw["status"]),
                      json.loads(raw["payload"])))
    return cases


def build(contracts: Path) -> dict[str, str]:
    """The data set's files, by name, as text."""
    responses: dict[str, dict[str, Any]] = {}
    notes: dict[str, str] = {}

    def add(siret: str, status: int, payload: dict[str, Any]) -> None:
        responses[PROTECTED.format(siret=siret)] = {"status": status, "payload": payload}
        public_status, public_payload = public_variant(status, payload)
        responses[PUBLIC.format(siret=siret)] = {"status": public_status,
                                                 "payload": public_payload}

    cases = _contract_cases(contracts)
    for stem, siret, status, payload in cases:
        add(siret, status, payload)
        if status == 200:
            notes[siret] = CONTRACT_NOTES.get(stem, f"staging: {stem}")

    units = _units()
    estabs = _establishments({u.key: u for u in units})
    taken = {siret[:9] for _, siret, _, _ in cases} | {"130025265"}
    _assign_identifiers(units, estabs, taken)
    head_offices = {e.unit.key: e.siret for e in estabs if e.head_office}
    for estab in estabs:
        company = _company(estab, head_offices[estab.unit.key])
        add(estab.siret, 200, api_entreprise_establishment(company))
        if estab.redirect_from:
            add(estab.redirect_from, 200,
                api_entreprise_establishment(company, asked=estab.redirect_from))
            notes[estab.redirect_from] = estab.note
            notes[estab.siret] = "the SIRET a redirected duplicate points to (Lille)"
        else:
            notes[estab.siret] = estab.note

    license_text = (contracts / "LICENSE").read_text(encoding="utf-8").rstrip() + "\n"
    staging = "\n".join(
        f"  {siret}  ({stem}.yaml, HTTP {status})" for stem, siret, status, _ in cases
    )
    notice = (
        "dlnuf sandbox data set\n"
        "======================\n\n"
        "responses.json holds, for the following SIRETs, payloads copied from the API\n"
        "Entreprise staging data set (the operator's contract payloads for the endpoint\n"
        f"{ETABLISSEMENTS}), and their public 'diffusibles' variants:\n\n"
        f"{staging}\n\n"
        "Those payloads are distributed under this licence:\n\n"
        f"{license_text}\n"
        "Every other company in this data set is fictitious, generated by\n"
        "scripts/build_sandbox.py (any resemblance to a real company is a coincidence).\n"
    )
    return {
        "responses.json": _dump(responses),
        "companies.json": _dump(notes),
        "NOTICE": notice,
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the data set to ``--out`` (default: the package's sandbox_data)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=Path, default=CONTRACTS)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in build(args.contracts).items():
        (args.out / name).write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {args.out / name} ({len(text.encode())} bytes)")


if __name__ == "__main__":
    main()
