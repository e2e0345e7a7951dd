"""The fake API Entreprise: ``/v4/insee/sirene/etablissements[/diffusibles]/{siret}``, every
endpoint registered with :func:`register_api_entreprise`, ``/privileges`` and ``/ping``.

Its payloads (:func:`api_entreprise_establishment`, :func:`public_variant`,
:func:`api_entreprise_error`) are the v4 INSEE establishment payload and its public
``diffusibles`` variant, as the operator's contract payloads
(``../shared/contracts/api-entreprise``). Answers are looked up in
:data:`API_ENTREPRISE_ROUTES`, a table from path template to renderer: evidence
endpoints (attestations, turnover...) are added with :func:`register_api_entreprise`,
nothing else changes. :class:`ApiEntrepriseFake` checks the bearer token and the
``recipient``/``context``/``object`` parameters as the server does, answers with
``RateLimit-Limit/Remaining/Reset`` headers, and is registered as the ``dlnuf.fakes``
entry point ``api_entreprise``.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from ...identifiers import Siret
from ...sources.sandbox import NOT_FOUND_PAYLOAD
from ..companies import FakeCompany
from .base import Answer, Quota, Upstream
from .common import ND, or_none

if TYPE_CHECKING:
    from ..fake import FakeUpstreams

__all__ = [
    "API_ENTREPRISE_ROUTES",
    "HEADCOUNT_BRACKETS",
    "NOT_FOUND_PAYLOAD",
    "ApiEntrepriseFake",
    "ApiEntrepriseRoute",
    "Rendered",
    "Renderer",
    "api_entreprise_error",
    "api_entreprise_establishment",
    "api_entreprise_public_establishment",
    "api_entreprise_quotas",
    "find_api_entreprise_route",
    "public_variant",
    "register_api_entreprise",
    "timestamp",
]

def api_entreprise_quotas(speedup: float = 1.0) -> dict[str, str]:
    """API Entreprise's ``quota_<pool>`` options for a fake sped up ``speedup`` times
    (``FakeUpstreams(speedup=...)``): every documented pool, ``speedup`` times as many
    requests per period, what that fake's ``RateLimit-Limit`` headers say. Give them as
    ``Client(options={"api_entreprise": api_entreprise_quotas(60)})``, so the client
    paces itself on the fake's clock."""
    from ...sources.api_entreprise import POOLS

    return {
        f"quota_{pool.pool.split(':', 1)[1]}": f"{int(pool.limit * speedup)}/{pool.period:g}s"
        for pool in POOLS
    }


# NOT_FOUND_PAYLOAD: what API Entreprise answers (404) for an identifier it does not know,
# the same body the offline sandbox answers (imported from dlnuf.sources.sandbox).


# --- Payloads --------------------------------------------------------------------------------

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


def timestamp(day: date | None) -> int | None:
    """Midnight of ``day`` in Paris as a Unix timestamp (how API Entreprise sends INSEE dates)."""
    if day is None:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp())


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
    return {"code": or_none(naf[0]), "libelle": or_none(naf[1]), "nomenclature": "NAFRev2"}


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
                    "code": or_none(c.legal_form[0]),
                    "libelle": or_none(c.legal_form[1]),
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


# --- The upstream ----------------------------------------------------------------------------

_JSON_POOL = "api_entreprise:json"
_API_VERSION = re.compile(r"/v\d+/([^/]+)")
"""``/v<N>/<namespace>``: ``/v4/insee``, ``/v3/dgfip``..."""
_API_META = re.compile(r"/(privileges|ping(?:/[^/]+)+)/?$")
"""``/privileges`` and ``/ping/<provider>``, a provider id having one segment or more
(``insee/sirene``, ``djepva/api-association``)."""

_ERRORS: dict[int, tuple[str, str, str]] = {
    401: ("00101", "Interdit", "Votre token n'est pas valide ou n'est pas renseigné"),
    403: ("00100", "Privilèges insuffisants",
          "Votre token est valide mais vos privilèges sont insuffisants."),
    404: ("01003", "Entité non trouvée", "Le ou les paramètre(s) d'entrée n'existent pas."),
    409: ("00015", "Conflit", "Une requête associé à votre jeton est déjà en cours de "
                              "traitement pour ces paramètres."),
    422: ("00200", "Entité non traitable", "Paramètre invalide"),
    429: ("00429", "Trop de requêtes", "Vous avez effectué trop de requêtes"),
    451: ("01005", "Indisponible pour raisons légales",
          "Les données de cette entité ne peuvent être communiquées"),
    502: ("01999", "Erreur inconnue du fournisseur de données",
          "La réponse retournée par le fournisseur de données est invalide et inconnue de "
          "notre service."),
    503: ("01001", "Fournisseur indisponible",
          "Le fournisseur de données est temporairement indisponible."),
    504: ("01002", "Le fournisseur de données ne répond pas",
          "Le fournisseur de données n'a pas répondu dans le temps imparti."),
}


class ApiEntrepriseFake(Upstream):
    """API Entreprise: the routes of :data:`API_ENTREPRISE_ROUTES` (each in its quota pool,
    250/minute for the JSON endpoints), ``/privileges`` (what the fake's
    :attr:`~dlnuf.testing.FakeUpstreams.privileges` lists; never faulted) and
    ``/ping/<provider>`` (``maintenance`` while the fake holds it
    :meth:`~dlnuf.testing.FakeUpstreams.down`; neither metered nor faulted)."""

    name = "api_entreprise"
    base_urls = ("https://entreprise.api.gouv.fr", "https://staging.entreprise.api.gouv.fr")
    quotas: ClassVar[Mapping[str, Quota]] = {_JSON_POOL: (250, 60.0)}
    examples = ("/v4/insee/sirene/etablissements/55204944776279", "/privileges",
                "/ping/insee/sirene")

    def match(self, path: str) -> str | None:
        """``.../v<N>/<namespace>/...`` for the namespaces of its endpoints (``insee``,
        ``dgfip``... those of dlnuf's API Entreprise endpoints and of the routes
        registered), ``.../privileges`` and ``.../ping/<provider>``."""
        known = None
        for found in _API_VERSION.finditer(path):
            known = known or _namespaces()
            if found.group(1) in known:
                return path[found.start():]
        meta = _API_META.search(path)
        return path[meta.start():] if meta else None

    def pool(self, path: str) -> str | None:
        if path.startswith("/ping/"):
            return None
        found = find_api_entreprise_route(path)
        return found[0].pool if found else _JSON_POOL

    def quota(self, pool: str) -> Quota | None:
        if pool in self.quotas:
            return self.quotas[pool]
        return next((r.quota for r in API_ENTREPRISE_ROUTES if r.pool == pool), None)

    def faultable(self, path: str) -> bool:
        return path != "/privileges" and not path.startswith("/ping/")

    def rate_headers(
        self, limit: int, period: float, remaining: int, reset_at: float
    ) -> Mapping[str, str]:
        return {
            # Per minute, as the real header (and its documentation) says.
            "RateLimit-Limit": str(round(limit * 60 / period)),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(math.ceil(reset_at)),
        }

    def error_body(self, status: int) -> Any:
        code, title, detail = _ERRORS.get(status, ("00500", "Erreur interne", "Erreur"))
        meta = {"provider": "INSEE"} if code.startswith("01") else None
        return api_entreprise_error(code, title, detail, meta=meta)

    def refuse(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer | None:
        """The 401/422 API Entreprise gives a request without token or without its purpose."""
        if path.startswith("/ping/"):
            return None
        authorization = request.headers.get("authorization", "")
        given = (authorization[len("Bearer "):].strip()
                 if authorization.startswith("Bearer ") else "")
        expected = fake.credentials.get(self.name)
        if not given or (expected is not None and given != expected):
            return 401, api_entreprise_error(
                "00101", "Interdit", "Votre token n'est pas valide ou n'est pas renseigné",
                parameter="token",
            )
        params = request.url.params
        for name, code in (("context", "00201"), ("object", "00202"), ("recipient", "00203")):
            if not params.get(name, "").strip():
                return 422, api_entreprise_error(
                    code, "Entité non traitable", f"Le paramètre {name} est obligatoire",
                    parameter=name,
                )
        if not Siret.is_valid(params.get("recipient", "")):
            return 422, api_entreprise_error(
                "00210", "Entité non traitable",
                "Le paramètre recipient n'est pas un numéro de SIRET valide",
                parameter="recipient",
            )
        return None

    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        if path.startswith("/ping/"):
            return 200, {"status": "maintenance" if fake.is_down(self.name) else "ok"}
        if path.rstrip("/") == "/privileges":
            granted = sorted(fake.privileges if fake.privileges is not None
                             else _all_privileges())
            return 200, {"data": {"privileges": granted}, "links": {}, "meta": {}}
        found = find_api_entreprise_route(path)
        if found is None:
            return 404, NOT_FOUND_PAYLOAD
        route, name, value = found
        company = fake.get(value) if name == "siret" else fake.find(value)
        if company is None:
            return 404, NOT_FOUND_PAYLOAD
        recipient = request.url.params.get("recipient", "")
        if recipient[:9] == company.siren:
            return 422, api_entreprise_error(
                "00211", "Entité non traitable",
                "Le paramètre recipient est identique au SIRET/SIREN appelé : il doit être "
                "celui de l'administration destinataire des données",
                parameter="recipient",
            )
        return route.render(company, value)


@functools.cache
def _endpoint_namespaces() -> frozenset[str]:
    """The namespaces of dlnuf's API Entreprise endpoints (``insee``, ``dgfip``...)."""
    from ...sources.api_entreprise import ENDPOINTS

    templates = [t for e in ENDPOINTS.values() for t in (e.path, e.template(public=True))]
    return frozenset(m.group(1) for t in templates if (m := _API_VERSION.match(t)))


def _namespaces() -> frozenset[str]:
    """The namespaces API Entreprise's fake claims: its endpoints' and its routes'."""
    routes = {m.group(1) for r in API_ENTREPRISE_ROUTES if (m := _API_VERSION.match(r.template))}
    return _endpoint_namespaces() | routes


def _all_privileges() -> set[str]:
    """Every token privilege dlnuf's API Entreprise endpoints may need."""
    from ...sources.api_entreprise import ENDPOINTS

    granted: set[str] = set()
    for endpoint in ENDPOINTS.values():
        granted |= set(getattr(endpoint, "privileges", ()))
        granted |= set(getattr(endpoint, "public_privileges", ()))
    return granted
