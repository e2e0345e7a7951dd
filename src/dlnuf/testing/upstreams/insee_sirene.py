"""The fake INSEE Sirene 3.11: ``GET /siret/{siret}`` and ``POST /siret`` (``q=siret:A OR ...``).

Its payloads (:func:`insee_establishment`, :func:`insee_response`, :func:`insee_batch`,
:func:`insee_error`) render a :class:`~dlnuf.testing.companies.FakeCompany` as INSEE
does, withheld values masked as ``"[ND]"``; :class:`InseeSireneFake` answers from the
fake's companies, the ``X-INSEE-Api-Key-Integration`` header checked (registered as the
``dlnuf.fakes`` entry point ``insee_sirene``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

import httpx

from ...identifiers import Siret
from ..companies import FakeCompany
from .base import Answer, Quota, Upstream
from .common import ND, diffusion_code, error_reason, iso_date, iso_time, or_none

if TYPE_CHECKING:
    from ..fake import FakeUpstreams

__all__ = [
    "KEY_HEADER",
    "InseeSireneFake",
    "insee_batch",
    "insee_error",
    "insee_establishment",
    "insee_response",
]

KEY_HEADER = "x-insee-api-key-integration"
"""The header carrying the API key (any non-empty one, unless the fake's credential
``insee_sirene`` is set)."""

_INSEE_PATH = re.compile(r"/(siret|siren)(?:/([^/]*))?$")
_SIRET_TERM = re.compile(r"siret:\s*\"?(\d{14})")


# --- Payloads --------------------------------------------------------------------------------


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
            "dateFin": iso_date(end),
            "dateDebut": iso_date(start),
            "etatAdministratifEtablissement": state,
            "changementEtatAdministratifEtablissement": end is None and state == "F",
            "enseigne1Etablissement": trade,
            "enseigne2Etablissement": ND if masked else None,
            "enseigne3Etablissement": ND if masked else None,
            "changementEnseigneEtablissement": False,
            "denominationUsuelleEtablissement": ND if masked else None,
            "changementDenominationUsuelleEtablissement": False,
            "activitePrincipaleEtablissement": or_none(c.establishment_activity[0]),
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
        "statutDiffusionUniteLegale": diffusion_code(c),
        "unitePurgeeUniteLegale": None,
        "dateCreationUniteLegale": iso_date(c.created),
        "categorieJuridiqueUniteLegale": or_none(c.legal_form[0]),
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
        "activitePrincipaleUniteLegale": or_none(c.naf[0]),
        "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "activitePrincipaleNAF25UniteLegale": None,
        "identifiantAssociationUniteLegale": c.rna,
        "economieSocialeSolidaireUniteLegale": _flag(c.ess),
        "societeMissionUniteLegale": None,
        "caractereEmployeurUniteLegale": "N" if c.headcount in ("NN", "00") else "O",
        "trancheEffectifsUniteLegale": c.headcount,
        "anneeEffectifsUniteLegale": None if c.headcount == "NN" else "2023",
        "nicSiegeUniteLegale": c.head_office_siret_or_self[9:],
        "dateDernierTraitementUniteLegale": iso_time(c.updated),
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
        "statutDiffusionEtablissement": diffusion_code(c),
        "dateCreationEtablissement": iso_date(c.establishment_created or c.created),
        "trancheEffectifsEtablissement": headcount,
        "anneeEffectifsEtablissement": None if headcount == "NN" else "2023",
        "activitePrincipaleRegistreMetiersEtablissement": None,
        "dateDernierTraitementEtablissement": iso_time(c.updated),
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


# --- The upstream ----------------------------------------------------------------------------


class InseeSireneFake(Upstream):
    """INSEE Sirene 3.11: ``/siret/{siret}`` (301 for a duplicate, 403 when not diffusible)
    and ``/siret?q=siret:A OR siret:B`` (GET or POST, ``nombre``/``debut``/``curseur``
    pages), 30 requests/minute."""

    name = "insee_sirene"
    base_urls = ("https://api.insee.fr/api-sirene/3.11",)
    quotas: ClassVar[Mapping[str, Quota]] = {"insee_sirene": (30, 60.0)}
    examples = ("/siret", "/siret/55204944776279", "/api-sirene/3.11/siren/552049447")

    def match(self, path: str) -> str | None:
        """``.../siret[/{siret}]`` and ``.../siren[/{siren}]``, whatever comes before."""
        found = _INSEE_PATH.search(path)
        return path[found.start():] if found else None

    def error_body(self, status: int) -> Any:
        return insee_error(status, error_reason(status))

    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        key = request.headers.get(KEY_HEADER, "").strip()
        expected = fake.credentials.get(self.name)
        if not key or (expected is not None and key != expected):
            return 401, insee_error(401, "Clé d'API absente ou invalide: renseignez l'en-tête "
                                         "X-INSEE-Api-Key-Integration")
        match = _INSEE_PATH.search(path)
        if match is None or match.group(1) == "siren":
            return 404, insee_error(404, "Aucun élément trouvé (le faux INSEE sert /siret)")
        ident = match.group(2)
        if ident:
            return _one(fake, ident, request)
        params: dict[str, str] = {k: v for k, v in request.url.params.items()}
        if request.method == "POST":
            form = parse_qs(request.read().decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        return _many(fake, params)


def _one(fake: FakeUpstreams, siret: str, request: httpx.Request) -> Answer:
    if not Siret.is_valid(siret):
        return 400, insee_error(400, f"Erreur de syntaxe dans le paramètre siret={siret}")
    kept = fake.redirected(siret)
    if kept is not None:
        location = str(request.url.copy_with(path=request.url.path[: -len(siret)] + kept,
                                             query=None))
        message = f"L'établissement {siret} est un doublon de l'établissement {kept}"
        return 301, insee_error(301, message), {"Location": location}
    company = fake.get(siret, redirects=False)
    if company is None:
        return 404, insee_error(404, f"Aucun élément trouvé pour le siret {siret}")
    if company.diffusion == "non_diffusible":
        return 403, insee_error(403, f"Établissement non diffusable ({siret})")
    return 200, insee_response(company)


def _many(fake: FakeUpstreams, params: dict[str, str]) -> Answer:
    query = params.get("q", "")
    if not query.strip():
        return 400, insee_error(400, "Le paramètre q est obligatoire")
    try:
        number = int(params.get("nombre", "20"))
        start = int(params.get("debut", "0"))
    except ValueError:
        return 400, insee_error(400, "Les paramètres nombre et debut sont des entiers")
    if not 0 <= number <= 1000 or start < 0:
        return 400, insee_error(400, "Le paramètre nombre doit être compris entre 0 et 1000")
    wanted = list(dict.fromkeys(_SIRET_TERM.findall(query)))
    found = [
        c for s in wanted
        if (c := fake.get(s, redirects=False)) is not None and c.diffusion != "non_diffusible"
    ]
    if not found:
        return 404, insee_error(404, f"Aucun élément trouvé pour q={query}")
    cursor = params.get("curseur")
    if cursor is not None:
        offset = 0 if cursor == "*" else _cursor_offset(cursor)
        if offset is None:
            return 400, insee_error(400, f"Curseur invalide: {cursor}")
        page = found[offset:offset + number]
        end = offset + len(page)
        following = _cursor(end) if end < len(found) else cursor
        return 200, insee_batch(page, total=len(found), start=offset, cursor=cursor,
                                next_cursor=following)
    page = found[start:start + number]
    return 200, insee_batch(page, total=len(found), start=start)


def _cursor(offset: int) -> str:
    return f"AoE{offset:x}"


def _cursor_offset(cursor: str) -> int | None:
    if not cursor.startswith("AoE"):
        return None
    try:
        return int(cursor[3:], 16)
    except ValueError:
        return None
