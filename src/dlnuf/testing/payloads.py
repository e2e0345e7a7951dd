"""Render a :class:`~dlnuf.testing.companies.FakeCompany` in each upstream's real payload shape.

* API Entreprise: the v4 INSEE establishment payload (:func:`api_entreprise_establishment`)
  and its public ``diffusibles`` variant (:func:`public_variant`), as the operator's
  contract payloads (``../shared/contracts/api-entreprise``); also the error payloads.
  API Entreprise answers are looked up in :data:`API_ENTREPRISE_ROUTES`, a table
  from path template to renderer: evidence endpoints (attestations, turnover...) are
  added with :func:`register_api_entreprise`, nothing else changes.
* Recherche d'entreprises: ``GET /search`` results (:func:`recherche_result`,
  :func:`recherche_search`).
* INSEE Sirene 3.11: ``/siret`` establishments (:func:`insee_establishment`,
  :func:`insee_response`, :func:`insee_batch`) and the ``header`` errors.

Values a person refused to publish are masked as each upstream masks them:
``"[ND]"`` (API Entreprise public endpoints, INSEE), ``"[NON-DIFFUSIBLE]"``
(Recherche d'entreprises).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..sources.sandbox import NOT_FOUND_PAYLOAD
from .companies import FakeCompany

__all__ = [
    "API_ENTREPRISE_ROUTES",
    "HEADCOUNT_BRACKETS",
    "ND",
    "NON_DIFFUSIBLE",
    "NOT_FOUND_PAYLOAD",
    "ApiEntrepriseRoute",
    "Rendered",
    "Renderer",
    "api_entreprise_error",
    "api_entreprise_establishment",
    "api_entreprise_public_establishment",
    "find_api_entreprise_route",
    "insee_batch",
    "insee_error",
    "insee_establishment",
    "insee_response",
    "public_variant",
    "recherche_error",
    "recherche_result",
    "recherche_search",
    "register_api_entreprise",
    "timestamp",
]

ND = "[ND]"
"""API Entreprise (public endpoints) and INSEE's mark for a withheld value."""
NON_DIFFUSIBLE = "[NON-DIFFUSIBLE]"
"""Recherche d'entreprises' mark for a withheld value."""

ABSURD_TIMESTAMP = 253402300799
"""What INSEE holds for a date it cannot hold (31 December 9999)."""

try:
    PARIS: tzinfo = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # pragma: no cover - no time zone database
    PARIS = timezone(timedelta(hours=1), "CET")

HEADCOUNT_BRACKETS: dict[str, tuple[str, int | None, int | None]] = {
    "NN": ("Unités non employeuses", None, None),
    "00": ("0 salarié", 0, 0),
    "01": ("1 ou 2 salariés", 1, 2),
    "02": ("3 à 5 salariés", 3, 5),
    "03": ("6 à 9 salariés", 6, 9),
    "11": ("10 à 19 salariés", 10, 19),
    "12": ("20 à 49 salariés", 20, 49),
    "21": ("50 à 99 salariés", 50, 99),
    "22": ("100 à 199 salariés", 100, 199),
    "31": ("200 à 249 salariés", 200, 249),
    "32": ("250 à 499 salariés", 250, 499),
    "41": ("500 à 999 salariés", 500, 999),
    "42": ("1 000 à 1 999 salariés", 1000, 1999),
    "51": ("2 000 à 4 999 salariés", 2000, 4999),
    "52": ("5 000 à 9 999 salariés", 5000, 9999),
    "53": ("10 000 salariés et plus", 10000, None),
}
"""INSEE tranches d'effectif: code -> (label, from, to)."""

_DIFFUSION_CODE = {"diffusible": "O", "partiellement_diffusible": "P", "non_diffusible": "N"}


def timestamp(day: date | None) -> int | None:
    """Midnight of ``day`` in Paris as a Unix timestamp (how API Entreprise sends INSEE dates)."""
    if day is None:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp())


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _iso_time(day: date | None) -> str | None:
    return f"{day.isoformat()}T00:00:00" if day is not None else None


def _or_none(text: str) -> str | None:
    return text or None


# --- API Entreprise -----------------------------------------------------------------------

# NOT_FOUND_PAYLOAD: what API Entreprise answers (404) for an identifier it does not know,
# the same body the offline sandbox answers (imported from dlnuf.sources.sandbox).


def api_entreprise_error(
    code: str,
    title: str,
    detail: str,
    *,
    parameter: str | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Entreprise error body: ``{"errors": [{"code", "title", "detail", ...}]}``."""
    return {
        "errors": [
            {
                "code": code,
                "title": title,
                "detail": detail,
                "source": {"parameter": parameter} if parameter else None,
                "meta": meta or {},
            }
        ]
    }


def _headcount(code: str) -> dict[str, Any]:
    label, low, high = HEADCOUNT_BRACKETS.get(code, (None, None, None))
    return {
        "code": code,
        "intitule": label,
        "date_reference": None if code == "NN" else "2022",
        "de": low,
        "a": high,
    }


def _activity(naf: tuple[str, str]) -> dict[str, Any]:
    return {"code": _or_none(naf[0]), "libelle": _or_none(naf[1]), "nomenclature": "NAFRev2"}


def _person(c: FakeCompany) -> dict[str, Any]:
    p = c.person
    if p is None:
        keys = ("pseudonyme", "prenom_usuel", "prenom_1", "prenom_2", "prenom_3", "prenom_4",
                "nom_usage", "nom_naissance", "sexe")
        return dict.fromkeys(keys)
    others = [*p.other_first_names, None, None, None]
    return {
        "pseudonyme": p.pseudonym,
        "prenom_usuel": p.first_name,
        "prenom_1": p.first_name,
        "prenom_2": others[0],
        "prenom_3": others[1],
        "prenom_4": others[2],
        "nom_usage": p.usage_name,
        "nom_naissance": p.birth_name,
        "sexe": p.sex,
    }


def _postal_lines(c: FakeCompany) -> dict[str, str]:
    a = c.address
    return {
        "l1": c.name or "",
        "l2": c.person.display_name if c.person else "",
        "l3": a.complement or "",
        "l4": a.street_line,
        "l5": a.distribution or "",
        "l6": a.locality,
        "l7": a.abroad[2] if a.abroad else "FRANCE",
    }


def _unit_creation(c: FakeCompany) -> int | None:
    if c.created is not None and c.created.year >= 9999:
        return ABSURD_TIMESTAMP  # a date INSEE cannot hold comes as an absurd timestamp
    return timestamp(c.created)


def api_entreprise_establishment(c: FakeCompany, asked: str | None = None) -> dict[str, Any]:
    """The protected ``/v4/insee/sirene/etablissements/{siret}`` payload of ``c``.

    ``asked``, when it differs from ``c.siret``, is the duplicate SIRET the
    upstream redirected (``meta.redirect_from_siret``).
    """
    a = c.address
    diffusion = c.diffusion
    return {
        "data": {
            "siret": c.siret,
            "siege_social": c.head_office,
            "etat_administratif": "F" if c.closed else "A",
            "date_fermeture": timestamp(c.closed),
            "enseigne": c.trade_name,
            "status_diffusion": diffusion,
            "activite_principale": _activity(c.establishment_activity),
            "activite_principale_naf_rev2": _activity(c.establishment_activity),
            "tranche_effectif_salarie": _headcount(c.establishment_headcount or c.headcount),
            "diffusable_commercialement": diffusion == "diffusible",
            "date_creation": timestamp(c.establishment_created or c.created),
            "unite_legale": {
                "siren": c.siren,
                "rna": c.rna,
                "siret_siege_social": c.head_office_siret_or_self,
                "type": "personne_physique" if c.person else "personne_morale",
                "status_diffusion": diffusion,
                "personne_morale_attributs": {"raison_sociale": c.name, "sigle": c.sigle},
                "personne_physique_attributs": _person(c),
                "categorie_entreprise": c.category,
                "diffusable_commercialement": diffusion == "diffusible",
                "forme_juridique": {
                    "code": _or_none(c.legal_form[0]),
                    "libelle": _or_none(c.legal_form[1]),
                },
                "activite_principale": _activity(c.naf),
                "activite_principale_naf_rev2": _activity(c.naf),
                "tranche_effectif_salarie": _headcount(c.headcount),
                "economie_sociale_et_solidaire": c.ess,
                "date_creation": _unit_creation(c),
                "etat_administratif": "C" if c.ceased else "A",
            },
            "adresse": {
                "status_diffusion": diffusion,
                "numero_voie": a.number,
                "indice_repetition_voie": a.repetition,
                "type_voie": a.street_type,
                "libelle_voie": a.street,
                "complement_adresse": a.complement,
                "code_postal": a.postal_code,
                "libelle_commune": a.city,
                "code_commune": a.city_code,
                "distribution_speciale": a.distribution,
                "code_cedex": a.cedex[0] if a.cedex else None,
                "libelle_cedex": a.cedex[1] if a.cedex else None,
                "libelle_commune_etranger": a.abroad[0] if a.abroad else None,
                "code_pays_etranger": a.abroad[1] if a.abroad else None,
                "libelle_pays_etranger": a.abroad[2] if a.abroad else None,
                "acheminement_postal": _postal_lines(c),
            },
        },
        "links": {
            "unite_legale": "https://entreprise.api.gouv.fr/v4/insee/sirene/unites_legales/"
            + c.siren
        },
        "meta": {
            "date_derniere_mise_a_jour": timestamp(c.updated),
            "redirect_from_siret": asked if asked and asked != c.siret else None,
        },
    }


_MASKED_ADDRESS = (
    "numero_voie", "indice_repetition_voie", "type_voie", "libelle_voie", "complement_adresse",
    "code_postal", "distribution_speciale", "code_cedex", "libelle_cedex",
)


def public_variant(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """What the ``diffusibles`` endpoint answers where the protected one answers ``payload``.

    A non-diffusible unit is a 404; a partially diffusible one has its protected
    values (enseigne, sigle, the person, the street, postal code, cedex, the postal
    lines but the country) replaced by ``"[ND]"``; anything else is unchanged.
    """
    if status != 200:
        return status, payload
    data = payload["data"]
    unit = data.get("unite_legale") or {}
    statuses = {data.get("status_diffusion"), unit.get("status_diffusion")}
    if "non_diffusible" in statuses:
        return 404, NOT_FOUND_PAYLOAD
    if "partiellement_diffusible" not in statuses:
        return status, payload
    masked = copy.deepcopy(payload)
    data, unit = masked["data"], masked["data"]["unite_legale"]
    data["enseigne"] = ND
    unit["personne_morale_attributs"]["sigle"] = ND
    unit["personne_physique_attributs"] = dict.fromkeys(unit["personne_physique_attributs"], ND)
    address = data["adresse"]
    for key in _MASKED_ADDRESS:
        address[key] = ND
    for line in ("l1", "l2", "l3", "l4", "l5", "l6"):
        address["acheminement_postal"][line] = ND
    return status, masked


Rendered = tuple[int, dict[str, Any]]
Renderer = Callable[[FakeCompany, str], Rendered]
"""Renders an API Entreprise answer: ``(company, identifier asked) -> (status, payload)``."""


def _establishment(c: FakeCompany, asked: str) -> Rendered:
    return 200, api_entreprise_establishment(c, asked)


def api_entreprise_public_establishment(c: FakeCompany, asked: str) -> Rendered:
    """The ``diffusibles`` establishment answer of ``c`` (masked, or 404)."""
    return public_variant(200, api_entreprise_establishment(c, asked))


@dataclass(frozen=True)
class ApiEntrepriseRoute:
    """One API Entreprise endpoint of the fake: path template, renderer, quota pool.

    The template's placeholder names the identifier the company is found by:
    ``{siret}``, ``{siren}``, ``{siren_or_rna}``... (any other name: SIRET, SIREN
    or RNA, whichever it is). ``quota`` is the pool's documented ``(limit, period)``.
    """

    template: str
    render: Renderer
    pool: str = "api_entreprise:json"
    quota: tuple[int, float] = (250, 60.0)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(regex + "$"))


API_ENTREPRISE_ROUTES: list[ApiEntrepriseRoute] = [
    ApiEntrepriseRoute("/v4/insee/sirene/etablissements/diffusibles/{siret}",
                       api_entreprise_public_establishment),
    ApiEntrepriseRoute("/v4/insee/sirene/etablissements/{siret}", _establishment),
]
"""The API Entreprise endpoints the fake answers, most specific first."""


def register_api_entreprise(
    template: str,
    render: Renderer,
    *,
    pool: str = "api_entreprise:json",
    quota: tuple[int, float] = (250, 60.0),
) -> ApiEntrepriseRoute:
    """Teach the fakes an API Entreprise endpoint (replacing one with the same template).

    ``render(company, asked)`` returns ``(status, payload)``; a company the fake
    does not know gets the real 404 without calling it.
    """
    route = ApiEntrepriseRoute(template, render, pool, quota)
    API_ENTREPRISE_ROUTES[:] = [r for r in API_ENTREPRISE_ROUTES if r.template != template]
    API_ENTREPRISE_ROUTES.insert(0, route)
    return route


def find_api_entreprise_route(path: str) -> tuple[ApiEntrepriseRoute, str, str] | None:
    """The route answering ``path`` (any prefix allowed), its placeholder name and value."""
    for route in API_ENTREPRISE_ROUTES:
        match = route.pattern.search(path)
        if match:
            name, value = next(iter(match.groupdict().items()), ("", ""))
            return route, name, value
    return None


# --- Recherche d'entreprises ----------------------------------------------------------------


def recherche_error(message: str) -> dict[str, Any]:
    """A Recherche d'entreprises error body: ``{"erreur": message}``."""
    return {"erreur": message}


def _code(c: FakeCompany) -> str:
    return _DIFFUSION_CODE[c.diffusion]


def _line(c: FakeCompany) -> str:
    a = c.address
    parts = [a.complement, a.street_line, a.distribution, a.locality,
             a.abroad[2] if a.abroad else None]
    return " ".join(p for p in parts if p)


_RE_MASKED_ESTABLISHMENT = (
    "adresse", "cedex", "code_postal", "complement_adresse", "coordonnees",
    "distribution_speciale", "indice_repetition", "latitude", "libelle_cedex", "libelle_voie",
    "longitude", "nom_commercial", "numero_voie", "dernier_numero_voie", "type_voie",
)


def _recherche_establishment(c: FakeCompany, *, full: bool) -> dict[str, Any]:
    """An establishment of a search result: ``full`` for ``siege``, else a matching one."""
    a = c.address
    headcount = c.establishment_headcount or c.headcount
    entry: dict[str, Any] = {
        "activite_principale": _or_none(c.establishment_activity[0]),
        "activite_principale_naf25": None,
        "annee_tranche_effectif_salarie": None if headcount == "NN" else "2023",
        "adresse": _line(c),
        "caractere_employeur": "N" if headcount in ("NN", "00") else "O",
        "code_postal": a.postal_code,
        "commune": a.city_code,
        "date_creation": _iso(c.establishment_created or c.created),
        "date_debut_activite": _iso(c.closed or c.establishment_created or c.created),
        "date_fermeture": _iso(c.closed),
        "epci": None,
        "est_siege": c.head_office,
        "etat_administratif": "F" if c.closed else "A",
        "geo_id": None,
        "latitude": None,
        "libelle_commune": a.city,
        "liste_enseignes": [c.trade_name] if c.trade_name else None,
        "liste_finess": None,
        "liste_id_bio": None,
        "liste_idcc": None,
        "liste_id_organisme_formation": None,
        "liste_rge": None,
        "liste_uai": None,
        "longitude": None,
        "nom_commercial": None,
        "region": None,
        "siret": c.siret,
        "statut_diffusion_etablissement": _code(c),
        "tranche_effectif_salarie": headcount,
    }
    if full:
        entry.update({
            "activite_principale_registre_metier": None,
            "cedex": a.cedex[0] if a.cedex else None,
            "code_pays_etranger": a.abroad[1] if a.abroad else None,
            "complement_adresse": a.complement,
            "coordonnees": None,
            "date_mise_a_jour": None,
            "date_mise_a_jour_insee": _iso_time(c.updated),
            "departement": a.postal_code[:2] if a.postal_code else None,
            "distribution_speciale": a.distribution,
            "geo_adresse": None,
            "indice_repetition": a.repetition,
            "libelle_cedex": a.cedex[1] if a.cedex else None,
            "libelle_commune_etranger": a.abroad[0] if a.abroad else None,
            "libelle_pays_etranger": a.abroad[2] if a.abroad else None,
            "libelle_voie": a.street,
            "numero_voie": a.number,
            "dernier_numero_voie": None,
            "type_voie": a.street_type,
        })
    else:
        entry["ancien_siege"] = False
    if c.diffusion != "diffusible":
        for key in _RE_MASKED_ESTABLISHMENT:
            if key in entry:
                entry[key] = NON_DIFFUSIBLE
        entry["liste_enseignes"] = [NON_DIFFUSIBLE]
    return entry


def _synthetic_head_office(c: FakeCompany) -> FakeCompany:
    """The head office of ``c`` when the fake does not hold it: same unit, same place."""
    return c.with_(siret=c.head_office_siret_or_self, head_office=True, closed=None,
                   trade_name=None, establishment_naf=None, establishment_headcount=None,
                   establishment_created=None)


def recherche_result(
    c: FakeCompany,
    *,
    head_office: FakeCompany | None = None,
    matching: Sequence[FakeCompany] = (),
    establishments: int = 1,
    open_establishments: int | None = None,
) -> dict[str, Any]:
    """One search result (a legal unit) for ``c``'s unit.

    ``head_office`` fills ``siege`` (made up from ``c`` when not given);
    ``matching`` the ``matching_etablissements`` (a SIRET lookup gives the
    establishment asked, a SIREN lookup none).
    """
    siege = head_office or (c if c.head_office else _synthetic_head_office(c))
    masked = c.diffusion != "diffusible"
    name = c.legal_name or ""
    full_name = name + (f" ({c.sigle})" if c.sigle else "")
    legal_form = _or_none(c.legal_form[0])
    ceased_on = c.closed if c.ceased else None
    unit: dict[str, Any] = {
        "siren": c.siren,
        "siren_conserve": None,
        "nom_complet": NON_DIFFUSIBLE if masked else full_name,
        "nom_raison_sociale": NON_DIFFUSIBLE if masked else c.name,
        "sigle": NON_DIFFUSIBLE if masked else c.sigle,
        "nombre_etablissements": establishments,
        "nombre_etablissements_ouverts": (
            open_establishments if open_establishments is not None else int(not c.ceased)
        ),
        "activite_principale": _or_none(c.naf[0]),
        "activite_principale_naf25": None,
        "categorie_entreprise": c.category,
        "caractere_employeur": None if c.headcount == "NN" else "O",
        "annee_categorie_entreprise": "2022" if c.category else None,
        "date_creation": _iso(c.created),
        "date_fermeture": _iso(ceased_on),
        "date_mise_a_jour": _iso_time(c.updated),
        "date_mise_a_jour_insee": _iso_time(c.updated),
        "date_mise_a_jour_rne": None,
        "etat_administratif": "C" if c.ceased else "A",
        "nature_juridique": legal_form,
        "section_activite_principale": None,
        "tranche_effectif_salarie": None if c.headcount == "NN" else c.headcount,
        "annee_tranche_effectif_salarie": None if c.headcount == "NN" else "2023",
        "statut_diffusion": _code(c),
        "siege": _recherche_establishment(siege, full=True),
        "complements": _complements(c),
        "matching_etablissements": [_recherche_establishment(m, full=False) for m in matching],
    }
    return unit


def _complements(c: FakeCompany) -> dict[str, Any]:
    return {
        "collectivite_territoriale": None,
        "convention_collective_renseignee": False,
        "liste_idcc": None,
        "egapro_renseignee": False,
        "est_achats_responsables": False,
        "est_alim_confiance": False,
        "est_association": c.legal_form[0].startswith("92") or c.rna is not None,
        "est_bio": False,
        "est_entrepreneur_individuel": c.person is not None,
        "est_entrepreneur_spectacle": False,
        "est_ess": bool(c.ess),
        "est_finess": False,
        "est_organisme_formation": False,
        "est_qualiopi": False,
        "liste_id_organisme_formation": None,
        "est_rge": False,
        "est_service_public": False,
        "est_l100_3": False,
        "est_siae": False,
        "est_societe_mission": False,
        "est_uai": False,
        "est_patrimoine_vivant": False,
        "bilan_ges_renseigne": False,
        "identifiant_association": c.rna,
        "statut_entrepreneur_spectacle": None,
        "type_siae": None,
    }


def recherche_search(
    results: Sequence[dict[str, Any]], *, total: int | None = None, page: int = 1,
    per_page: int = 10,
) -> dict[str, Any]:
    """A ``/search`` answer holding ``results`` (``results: []`` is how "unknown" looks)."""
    total = len(results) if total is None else total
    return {
        "results": list(results),
        "total_results": total,
        "page": page,
        "per_page": per_page,
        "total_pages": -(-total // per_page) if per_page else 0,
    }


# --- INSEE Sirene --------------------------------------------------------------------------


def insee_error(status: int, message: str) -> dict[str, Any]:
    """An INSEE Sirene error body: ``{"header": {"statut": status, "message": message}}``."""
    return {"header": {"statut": status, "message": message}}


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("O" if value else "N")


def _periods(c: FakeCompany, masked: bool) -> list[dict[str, Any]]:
    started = c.establishment_created or c.created

    def period(start: date | None, end: date | None, state: str) -> dict[str, Any]:
        trade = ND if masked else c.trade_name
        return {
            "dateFin": _iso(end),
            "dateDebut": _iso(start),
            "etatAdministratifEtablissement": state,
            "changementEtatAdministratifEtablissement": end is None and state == "F",
            "enseigne1Etablissement": trade,
            "enseigne2Etablissement": ND if masked else None,
            "enseigne3Etablissement": ND if masked else None,
            "changementEnseigneEtablissement": False,
            "denominationUsuelleEtablissement": ND if masked else None,
            "changementDenominationUsuelleEtablissement": False,
            "activitePrincipaleEtablissement": _or_none(c.establishment_activity[0]),
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
            "changementActivitePrincipaleEtablissement": False,
            "caractereEmployeurEtablissement": "N",
            "changementCaractereEmployeurEtablissement": False,
        }

    if c.closed is None:
        return [period(started, None, "A")]
    return [period(c.closed, None, "F"), period(started, c.closed - timedelta(days=1), "A")]


def insee_establishment(c: FakeCompany) -> dict[str, Any]:
    """The ``etablissement`` object INSEE Sirene 3.11 holds for ``c`` (masked when ``P``)."""
    a = c.address
    p = c.person
    masked = c.diffusion != "diffusible"

    def hide(value: Any) -> Any:
        return ND if masked else value

    others = [*(p.other_first_names if p else ()), None, None, None]
    unit = {
        "etatAdministratifUniteLegale": "C" if c.ceased else "A",
        "statutDiffusionUniteLegale": _code(c),
        "unitePurgeeUniteLegale": None,
        "dateCreationUniteLegale": _iso(c.created),
        "categorieJuridiqueUniteLegale": _or_none(c.legal_form[0]),
        "denominationUniteLegale": c.name,
        "sigleUniteLegale": hide(c.sigle),
        "denominationUsuelle1UniteLegale": None,
        "denominationUsuelle2UniteLegale": None,
        "denominationUsuelle3UniteLegale": None,
        "sexeUniteLegale": hide(p.sex if p else None),
        "nomUniteLegale": hide(p.birth_name if p else None),
        "nomUsageUniteLegale": hide(p.usage_name if p else None),
        "prenom1UniteLegale": hide(p.first_name if p else None),
        "prenom2UniteLegale": hide(others[0]),
        "prenom3UniteLegale": hide(others[1]),
        "prenom4UniteLegale": hide(others[2]),
        "prenomUsuelUniteLegale": hide(p.first_name if p else None),
        "pseudonymeUniteLegale": hide(p.pseudonym if p else None),
        "activitePrincipaleUniteLegale": _or_none(c.naf[0]),
        "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "activitePrincipaleNAF25UniteLegale": None,
        "identifiantAssociationUniteLegale": c.rna,
        "economieSocialeSolidaireUniteLegale": _flag(c.ess),
        "societeMissionUniteLegale": None,
        "caractereEmployeurUniteLegale": "N" if c.headcount in ("NN", "00") else "O",
        "trancheEffectifsUniteLegale": c.headcount,
        "anneeEffectifsUniteLegale": None if c.headcount == "NN" else "2023",
        "nicSiegeUniteLegale": c.head_office_siret_or_self[9:],
        "dateDernierTraitementUniteLegale": _iso_time(c.updated),
        "categorieEntreprise": c.category,
        "anneeCategorieEntreprise": "2022" if c.category else None,
    }
    address = {
        "complementAdresseEtablissement": hide(a.complement),
        "numeroVoieEtablissement": hide(a.number),
        "indiceRepetitionEtablissement": hide(a.repetition),
        "dernierNumeroVoieEtablissement": hide(None),
        "indiceRepetitionDernierNumeroVoieEtablissement": hide(None),
        "typeVoieEtablissement": hide(a.street_type),
        "libelleVoieEtablissement": hide(a.street),
        "codePostalEtablissement": hide(a.postal_code),
        "libelleCommuneEtablissement": a.city,
        "libelleCommuneEtrangerEtablissement": a.abroad[0] if a.abroad else None,
        "distributionSpecialeEtablissement": hide(a.distribution),
        "codeCommuneEtablissement": a.city_code,
        "codeCedexEtablissement": hide(a.cedex[0] if a.cedex else None),
        "libelleCedexEtablissement": hide(a.cedex[1] if a.cedex else None),
        "codePaysEtrangerEtablissement": a.abroad[1] if a.abroad else None,
        "libellePaysEtrangerEtablissement": a.abroad[2] if a.abroad else None,
        "identifiantAdresseEtablissement": hide(None),
        "coordonneeLambertAbscisseEtablissement": hide(None),
        "coordonneeLambertOrdonneeEtablissement": hide(None),
    }
    second = {
        key.replace("Etablissement", "2Etablissement"): None
        for key in address
        if not key.startswith(("identifiant", "coordonnee"))
    }
    periods = _periods(c, masked)
    headcount = c.establishment_headcount or c.headcount
    return {
        "siren": c.siren,
        "nic": c.nic,
        "siret": c.siret,
        "statutDiffusionEtablissement": _code(c),
        "dateCreationEtablissement": _iso(c.establishment_created or c.created),
        "trancheEffectifsEtablissement": headcount,
        "anneeEffectifsEtablissement": None if headcount == "NN" else "2023",
        "activitePrincipaleRegistreMetiersEtablissement": None,
        "dateDernierTraitementEtablissement": _iso_time(c.updated),
        "etablissementSiege": c.head_office,
        "nombrePeriodesEtablissement": len(periods),
        "activitePrincipaleNAF25Etablissement": None,
        "uniteLegale": unit,
        "adresseEtablissement": address,
        "adresse2Etablissement": second,
        "periodesEtablissement": periods,
    }


def insee_response(c: FakeCompany) -> dict[str, Any]:
    """The ``GET /siret/{siret}`` answer for ``c``."""
    return {"header": {"statut": 200, "message": "OK"}, "etablissement": insee_establishment(c)}


def insee_batch(
    companies: Sequence[FakeCompany],
    *,
    total: int | None = None,
    start: int = 0,
    cursor: str | None = None,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """A ``POST /siret`` (multi-criteria search) answer holding ``companies``."""
    header: dict[str, Any] = {
        "statut": 200,
        "message": "OK",
        "total": len(companies) if total is None else total,
        "debut": start,
        "nombre": len(companies),
    }
    if cursor is not None:
        header["curseur"] = cursor
        header["curseurSuivant"] = next_cursor if next_cursor is not None else cursor
    return {"header": header, "etablissements": [insee_establishment(c) for c in companies]}
