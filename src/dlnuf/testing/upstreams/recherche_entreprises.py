"""The fake Recherche d'entreprises: ``GET /search?q=`` by SIRET, SIREN or name.

Its payloads (:func:`recherche_result`, :func:`recherche_search`, :func:`recherche_error`)
render a :class:`~dlnuf.testing.companies.FakeCompany` as the real service does,
withheld values masked as ``"[NON-DIFFUSIBLE]"``; :class:`RechercheEntreprisesFake`
answers searches from the fake's companies (registered as the ``dlnuf.fakes`` entry
point ``recherche_entreprises``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ..companies import FakeCompany
from .base import Answer, Quota, Upstream
from .common import diffusion_code, error_reason, iso_date, iso_time, or_none

if TYPE_CHECKING:
    from ..fake import FakeUpstreams

__all__ = [
    "NON_DIFFUSIBLE",
    "RechercheEntreprisesFake",
    "recherche_error",
    "recherche_result",
    "recherche_search",
]

NON_DIFFUSIBLE = "[NON-DIFFUSIBLE]"
"""Recherche d'entreprises' mark for a withheld value."""


# --- Payloads --------------------------------------------------------------------------------


def recherche_error(message: str) -> dict[str, Any]:
    """A Recherche d'entreprises error body: ``{"erreur": message}``."""
    return {"erreur": message}


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
        "activite_principale": or_none(c.establishment_activity[0]),
        "activite_principale_naf25": None,
        "annee_tranche_effectif_salarie": None if headcount == "NN" else "2023",
        "adresse": _line(c),
        "caractere_employeur": "N" if headcount in ("NN", "00") else "O",
        "code_postal": a.postal_code,
        "commune": a.city_code,
        "date_creation": iso_date(c.establishment_created or c.created),
        "date_debut_activite": iso_date(c.closed or c.establishment_created or c.created),
        "date_fermeture": iso_date(c.closed),
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
        "statut_diffusion_etablissement": diffusion_code(c),
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
            "date_mise_a_jour_insee": iso_time(c.updated),
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
    legal_form = or_none(c.legal_form[0])
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
        "activite_principale": or_none(c.naf[0]),
        "activite_principale_naf25": None,
        "categorie_entreprise": c.category,
        "caractere_employeur": None if c.headcount == "NN" else "O",
        "annee_categorie_entreprise": "2022" if c.category else None,
        "date_creation": iso_date(c.created),
        "date_fermeture": iso_date(ceased_on),
        "date_mise_a_jour": iso_time(c.updated),
        "date_mise_a_jour_insee": iso_time(c.updated),
        "date_mise_a_jour_rne": None,
        "etat_administratif": "C" if c.ceased else "A",
        "nature_juridique": legal_form,
        "section_activite_principale": None,
        "tranche_effectif_salarie": None if c.headcount == "NN" else c.headcount,
        "annee_tranche_effectif_salarie": None if c.headcount == "NN" else "2023",
        "statut_diffusion": diffusion_code(c),
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


# --- The upstream ----------------------------------------------------------------------------


def _visible(company: FakeCompany) -> bool:
    """Whether public searches show ``company`` (a non-diffusible unit is not shown)."""
    return company.diffusion != "non_diffusible"


class RechercheEntreprisesFake(Upstream):
    """Recherche d'entreprises: ``/search`` (SIRET, SIREN or a name fragment), 7 requests/s."""

    name = "recherche_entreprises"
    base_urls = ("https://recherche-entreprises.api.gouv.fr",)
    quotas: ClassVar[Mapping[str, Quota]] = {"recherche_entreprises": (7, 1.0)}
    examples = ("/search",)

    def match(self, path: str) -> str | None:
        """``.../search``, whatever comes before."""
        return "/search" if path.rstrip("/").endswith("/search") else None

    def error_body(self, status: int) -> Any:
        return recherche_error(error_reason(status))

    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        params = request.url.params
        query = params.get("q", "").strip()
        if not query:
            return 400, recherche_error("Veuillez indiquer au moins un paramètre de recherche.")
        try:
            page = int(params.get("page", "1"))
            per_page = int(params.get("per_page", "10"))
        except ValueError:
            return 400, recherche_error("Les paramètres page et per_page sont des entiers.")
        if not 1 <= page <= 1000 or not 1 <= per_page <= 25:
            return 400, recherche_error(
                "Veuillez indiquer un paramètre page entre 1 et 1000 et per_page entre 1 et 25."
            )
        digits = re.sub(r"[\s.\u00a0]", "", query)
        matching: list[FakeCompany]
        if digits.isdigit() and len(digits) in (9, 14):
            if len(digits) == 14:
                company = fake.get(digits, redirects=False)
                matching = [company] if company is not None and _visible(company) else []
                units = [digits[:9]] if matching else []
            else:
                matching = []
                units = [digits] if _unit(fake, digits) else []
        else:
            needle = query.casefold()
            matching = [c for c in fake.companies if _visible(c) and (
                needle in (c.legal_name or "").casefold()
                or needle in (c.trade_name or "").casefold())]
            units = list(dict.fromkeys(c.siren for c in matching))
        results = [_unit_result(fake, siren, matching) for siren in units]
        window = results[(page - 1) * per_page: page * per_page]
        return 200, recherche_search(window, total=len(results), page=page, per_page=per_page)


def _unit(fake: FakeUpstreams, siren: str) -> list[FakeCompany]:
    """The visible establishments of the unit ``siren``."""
    return [c for c in fake.establishments(siren) if _visible(c)]


def _unit_result(fake: FakeUpstreams, siren: str, matching: list[FakeCompany]) -> dict[str, Any]:
    of_unit = _unit(fake, siren)
    heads = [c for c in of_unit if c.head_office]
    matched = [c for c in matching if c.siren == siren]
    subject = heads[0] if heads else (matched or of_unit)[0]
    return recherche_result(
        subject,
        head_office=heads[0] if heads else None,
        matching=matched,
        establishments=len(of_unit),
        open_establishments=sum(1 for c in of_unit if c.active),
    )
