"""API Entreprise, the State's "Dites-le-nous une fois" API (DINUM): token + purpose.

Every call carries a bearer token and three query parameters the upstream checks
(``recipient``, ``context``, ``object``); this module checks them before building
anything, so a misconfiguration fails at once with a message saying what to set,
without spending quota.

The source is organised around :data:`ENDPOINTS`, a table from kind of fact to
:class:`Endpoint` (path template with ``{siret}`` or ``{siren}``, the level it is
looked up by, its quota pool, its parser). Adding a kind (attestations, Kbis,
turnover...) is adding one entry to that table and one parser function taking a
:class:`Reply`; :meth:`ApiEntreprise.request`, :meth:`ApiEntreprise.parse`,
``provides`` and ``quota`` follow from the table.

Identity comes from the INSEE establishment endpoint: the protected
``/v4/insee/sirene/etablissements/{siret}`` when ``Settings.authenticated`` is
true, else its public ``diffusibles`` variant, where INSEE replaces the values a
person refused to publish with ``"[ND]"`` (they become ``None`` and are listed in
:attr:`~dlnuf.facts.base.Fact.withheld`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from ..config import Settings
from ..errors import (
    ConfigurationError,
    DlnufError,
    InvalidSiret,
    UnexpectedPayload,
    UnsupportedKind,
)
from ..facts.base import Fact, Level, Provenance
from ..facts.identity import Address, Diffusion, Identity
from ..identifiers import Rna, Siren, Siret
from ..ratelimit import Quota
from ._parse import (
    Reader,
    dig,
    json_object,
    make_provenance,
    naf_code,
    person_name,
    unix_date,
    unix_datetime,
)
from .base import Identifier

__all__ = [
    "DEFAULT_BASE_URL",
    "ENDPOINTS",
    "JSON_POOL",
    "ApiEntreprise",
    "Endpoint",
    "Reply",
]

DEFAULT_BASE_URL = "https://entreprise.api.gouv.fr"
JSON_POOL = Quota("api_entreprise:json", 250, 60)
"""The 250 requests/minute pool shared by the JSON endpoints (INSEE, Infogreffe, DGFIP...)."""

MAX_OBJECT_LENGTH = 50
"""``object`` must be shorter than this (the upstream refuses longer ones)."""


@dataclass(frozen=True)
class Reply:
    """What a parser gets: the decoded body and the response it came from.

    ``ident`` is the identifier asked for; ``endpoint`` the path answered (from the
    response's request, else the path this source builds for ``ident``);
    ``public`` is true when that is a public (``diffusibles``) endpoint.
    """

    source: str
    body: dict[str, Any]
    response: httpx.Response
    ident: Siret | Siren | None
    endpoint: str
    public: bool

    def provenance(self, *, updated_at: datetime | None, public: bool) -> Provenance:
        """The provenance of a fact parsed from this reply."""
        made = make_provenance(self.source, self.response, updated_at=updated_at, public=public)
        return made if made.endpoint else made.model_copy(update={"endpoint": self.endpoint})


Parser = Callable[[Reply], Fact]
"""Turns a :class:`Reply` into a fact; may raise KeyError/TypeError/ValueError on junk."""


@dataclass(frozen=True)
class Endpoint:
    """How one kind of fact is fetched from API Entreprise.

    ``path`` is the protected path template (``{siret}`` or ``{siren}``);
    ``public_path`` the ``diffusibles`` variant used when the settings are not
    ``authenticated`` (``None``: the endpoint has no public variant and ``path``
    is always used).
    """

    path: str
    level: Level
    quota: Quota
    parser: Parser
    public_path: str | None = None


# --- Identity ---------------------------------------------------------------------------

_DIFFUSION_RANK: dict[str, Diffusion] = {
    "diffusible": "diffusible",
    "o": "diffusible",
    "partiellement_diffusible": "partiellement_diffusible",
    "p": "partiellement_diffusible",
    "non_diffusible": "non_diffusible",
    "n": "non_diffusible",
}
_ORDER: tuple[Diffusion, ...] = ("diffusible", "partiellement_diffusible", "non_diffusible")


def _diffusion(*raw: Any) -> Diffusion:
    """The most restrictive of the statuses given; an unknown status is not "diffusible"."""
    found: list[Diffusion] = []
    for value in raw:
        if value is None:
            continue
        key = str(value).strip().lower()
        found.append(_DIFFUSION_RANK.get(key, "partiellement_diffusible"))
    if not found:
        return "diffusible"
    return max(found, key=_ORDER.index)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _siret_or_none(value: Any) -> Siret | None:
    return Siret(value) if isinstance(value, str) and Siret.is_valid(value) else None


def _naf(r: Reader, data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The establishment's NAF rev. 2 activity (code, label); older nomenclatures: unknown."""
    candidates = [_dict(data.get("activite_principale_naf_rev2"))]
    main = _dict(data.get("activite_principale"))
    if main.get("nomenclature") in (None, "NAFRev2"):
        candidates.append(main)
    for activity in candidates:
        code = naf_code(r.text("naf_code", activity.get("code")))
        if code:
            return code, r.text("naf_label", activity.get("libelle"))
    return None, None


def _legal_name(r: Reader, unit: dict[str, Any], sole_trader: bool) -> str | None:
    company = _dict(unit.get("personne_morale_attributs"))
    if not sole_trader:
        return r.text("legal_name", company.get("raison_sociale"))
    person = _dict(unit.get("personne_physique_attributs"))
    first = r.text("legal_name", person.get("prenom_usuel")) or r.text(
        "legal_name", person.get("prenom_1")
    )
    usage = r.text("legal_name", person.get("nom_usage"))
    birth = r.text("legal_name", person.get("nom_naissance"))
    if "legal_name" in r.withheld:
        return None  # part of the name is withheld: what is left is not the name
    return person_name(first, usage, birth) or r.text(
        "legal_name", company.get("raison_sociale")
    )


def _address(r: Reader, raw: dict[str, Any]) -> Address:
    def text(field: str, key: str) -> str | None:
        return r.text(f"address.{field}", raw.get(key))

    lines: list[str] = []
    postal = _dict(raw.get("acheminement_postal"))
    for key in ("l1", "l2", "l3", "l4", "l5", "l6", "l7"):
        line = r.text("address.postal_lines", postal.get(key))
        if line:
            lines.append(line)
    if "address.postal_lines" in r.withheld:
        lines = []  # some lines are withheld: the rest would print a wrong address
    return Address(
        number=text("number", "numero_voie"),
        repetition=text("repetition", "indice_repetition_voie"),
        street_type=text("street_type", "type_voie"),
        street_name=text("street_name", "libelle_voie"),
        complement=text("complement", "complement_adresse"),
        special_distribution=text("special_distribution", "distribution_speciale"),
        postal_code=text("postal_code", "code_postal"),
        city=text("city", "libelle_commune") or text("city", "libelle_commune_etranger"),
        city_code=text("city_code", "code_commune"),
        cedex_code=text("cedex_code", "code_cedex"),
        cedex_label=text("cedex_label", "libelle_cedex"),
        country=text("country", "libelle_pays_etranger") or "FRANCE",
        country_code=text("country_code", "code_pays_etranger"),
        postal_lines=tuple(lines),
    )


def parse_identity(reply: Reply) -> Identity:
    """An :class:`Identity` from an INSEE establishment payload (protected or public)."""
    data = reply.body.get("data")
    if not isinstance(data, dict):
        raise UnexpectedPayload(
            f"{reply.source} answered an establishment payload without a 'data' object",
            source=reply.source,
            status=reply.response.status_code,
        )
    raw_siret = data.get("siret")
    siret = _siret_or_none(raw_siret)
    if siret is None:
        raise UnexpectedPayload(
            f"{reply.source} answered an establishment payload whose data.siret "
            f"{raw_siret!r} is missing or not a valid SIRET",
            source=reply.source,
            status=reply.response.status_code,
        )
    meta = _dict(reply.body.get("meta"))
    unit = _dict(data.get("unite_legale"))
    r = Reader()
    sole_trader = unit.get("type") == "personne_physique"
    active_state = r.text("active", data.get("etat_administratif"))
    active = active_state == "A" if active_state else True
    unit_state = r.text("legal_unit_active", unit.get("etat_administratif"))
    headcount = _dict(data.get("tranche_effectif_salarie"))
    legal_form = _dict(unit.get("forme_juridique"))
    naf, naf_label = _naf(r, data)
    # The SIRET asked for, when the upstream answered for another one: reported, never
    # hidden (meta.redirect_from_siret, else the SIRET of the request itself).
    asked = [_siret_or_none(meta.get("redirect_from_siret")), reply.ident]
    redirected = next((a for a in asked if isinstance(a, Siret) and a != siret), None)
    rna = r.text("rna", unit.get("rna"))
    diffusion = _diffusion(data.get("status_diffusion"), unit.get("status_diffusion"))
    identity = Identity(
        siret=siret,
        siren=siret.siren,
        legal_name=_legal_name(r, unit, sole_trader),
        trade_name=r.text("trade_name", data.get("enseigne")),
        sigle=r.text("sigle", dig(unit, "personne_morale_attributs", "sigle")),
        legal_form_code=r.text("legal_form_code", legal_form.get("code")),
        legal_form_label=r.text("legal_form_label", legal_form.get("libelle")),
        naf_code=naf,
        naf_label=naf_label,
        company_category=r.text("company_category", unit.get("categorie_entreprise")),
        headcount_bracket=r.text("headcount_bracket", headcount.get("code")),
        headcount_bracket_label=r.text("headcount_bracket_label", headcount.get("intitule")),
        legal_unit_headcount_bracket=r.text(
            "legal_unit_headcount_bracket", dig(unit, "tranche_effectif_salarie", "code")
        ),
        creation_date=unix_date(unit.get("date_creation")),
        establishment_creation_date=unix_date(data.get("date_creation")),
        active=active,
        # INSEE keeps the date of an earlier closing on a reopened establishment: an
        # active establishment's date_fermeture is not a closing date.
        closing_date=None if active else unix_date(data.get("date_fermeture")),
        legal_unit_active=unit_state == "A" if unit_state else True,
        is_head_office=r.flag("is_head_office", data.get("siege_social")),
        head_office_siret=_siret_or_none(unit.get("siret_siege_social")),
        ess=r.flag("ess", unit.get("economie_sociale_et_solidaire")),
        rna=Rna(rna) if rna and Rna.is_valid(rna) else None,
        is_sole_trader=sole_trader,
        address=_address(r, _dict(data.get("adresse"))),
        diffusion=diffusion,
        redirected_from=redirected,
        withheld=frozenset(r.withheld),
        provenance=reply.provenance(
            updated_at=unix_datetime(meta.get("date_derniere_mise_a_jour")),
            public=reply.public or diffusion == "diffusible",
        ),
    )
    return identity


ENDPOINTS: dict[type[Fact], Endpoint] = {
    Identity: Endpoint(
        path="/v4/insee/sirene/etablissements/{siret}",
        public_path="/v4/insee/sirene/etablissements/diffusibles/{siret}",
        level="siret",
        quota=JSON_POOL,
        parser=parse_identity,
    ),
}
"""Every kind this source provides, and how it is fetched."""


# --- The source ---------------------------------------------------------------------------


class ApiEntreprise:
    """The API Entreprise source (token, recipient, context and object required).

    ``scope`` is ``"protected"`` when ``settings.authenticated`` (protected
    endpoints, every value), else ``"public"`` (``diffusibles`` endpoints).
    """

    name: ClassVar[str] = "api_entreprise"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset(ENDPOINTS)
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url: str = settings.base_url(self.name, self.default_base_url)
        self.scope: str = "protected" if settings.authenticated else "public"
        self.mount: httpx.MockTransport | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, scope={self.scope!r})"

    def _endpoint(self, kind: type[Fact]) -> Endpoint:
        endpoint = ENDPOINTS.get(kind)
        if endpoint is None:
            raise UnsupportedKind(
                f"{self.name} does not provide {kind.__name__}; it provides "
                + ", ".join(sorted(k.__name__ for k in ENDPOINTS))
            )
        return endpoint

    def quota(self, kind: type[Fact]) -> Quota:
        """The quota pool ``kind`` counts against (250/min JSON pool for Identity)."""
        return self._endpoint(kind).quota

    def _path(self, endpoint: Endpoint) -> str:
        if self.scope == "public" and endpoint.public_path is not None:
            return endpoint.public_path
        return endpoint.path

    def request(self, kind: type[Fact], ident: Identifier) -> httpx.Request:
        """The GET request for ``kind`` about ``ident``, after checking the configuration.

        Raises :class:`ConfigurationError` (token, recipient, context or object
        missing or invalid, recipient being the company itself) before anything
        is built, and :class:`InvalidSiret` when a SIRET-level kind gets a SIREN.
        """
        endpoint = self._endpoint(kind)
        target = _target(ident, endpoint.level)
        token = self._check(target)
        path = self._path(endpoint).format(siret=target, siren=target[:9])
        params = {
            "recipient": (self.settings.recipient or "").strip(),
            "context": (self.settings.context or "").strip(),
            "object": (self.settings.object or "").strip(),
        }
        return httpx.Request(
            "GET",
            self.base_url + path,
            params=params,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": self.settings.user_agent,
            },
        )

    def _check(self, target: str) -> str:
        """Validate the settings for a call about ``target``; the token if all is well."""
        settings = self.settings
        token = settings.api_entreprise_token.get_secret_value().strip() if (
            settings.api_entreprise_token is not None
        ) else ""
        if not token:
            raise ConfigurationError(
                f"{self.name} needs a token: set api_entreprise_token= "
                "or DLNUF_API_ENTREPRISE_TOKEN"
            )
        recipient = (settings.recipient or "").strip()
        if not recipient:
            raise ConfigurationError(
                f"{self.name} needs the SIRET of the public body the data is for: "
                "set recipient= or DLNUF_RECIPIENT"
            )
        if not Siret.is_valid(recipient):
            raise ConfigurationError(
                f"recipient {recipient!r} is not a valid SIRET (API Entreprise would refuse it "
                "with error 00210): set recipient= or DLNUF_RECIPIENT to the 14-digit SIRET "
                "of the public body the data is for"
            )
        if Siret(recipient).siren == target[:9]:
            raise ConfigurationError(
                f"recipient {recipient} is the company looked up, or has its SIREN "
                f"({target[:9]}); API Entreprise refuses that (error 00211): set recipient= "
                "or DLNUF_RECIPIENT to the SIRET of the public body the data is for"
            )
        if not (settings.context or "").strip():
            raise ConfigurationError(
                f"{self.name} needs the framework of the request: set context= or DLNUF_CONTEXT "
                "(for example 'Marché public')"
            )
        purpose = (settings.object or "").strip()
        if not purpose:
            raise ConfigurationError(
                f"{self.name} needs the reason or procedure id of the request: set object= "
                "or DLNUF_OBJECT"
            )
        if len(purpose) >= MAX_OBJECT_LENGTH:
            raise ConfigurationError(
                f"object is {len(purpose)} characters long; API Entreprise wants fewer than "
                f"{MAX_OBJECT_LENGTH}: shorten object= or DLNUF_OBJECT"
            )
        return token

    def parse(self, kind: type[Fact], ident: Identifier, response: httpx.Response) -> Fact:
        """The fact held by a successful response; :class:`UnexpectedPayload` if none."""
        endpoint = self._endpoint(kind)
        body = json_object(response, self.name)
        asked = _as_ident(ident)
        if _has_request(response):
            path = response.request.url.path
        else:  # a response built by hand or by a bare transport: the path we would ask
            target = str(asked) if asked is not None else ""
            path = self._path(endpoint).format(siret=target, siren=target[:9])
        public = endpoint.public_path is not None and _matches(endpoint.public_path, path)
        reply = Reply(
            source=self.name,
            body=body,
            response=response,
            ident=asked,
            endpoint=path,
            public=public,
        )
        try:
            return endpoint.parser(reply)
        except DlnufError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc
            raise UnexpectedPayload(
                f"{self.name} answered a {kind.__name__} payload dlnuf cannot read "
                f"({type(exc).__name__}: {detail})",
                source=self.name,
                status=response.status_code,
            ) from None


def _target(ident: Identifier | str, level: Level) -> str:
    """The identifier to put in the path: a SIRET for establishment kinds, else a SIREN."""
    if level == "siren":
        if isinstance(ident, Siret):
            return str(ident.siren)
        return str(Siren(ident))
    if isinstance(ident, Siren):
        raise InvalidSiret(
            ident, "length", "this kind is about one establishment: give its 14-digit SIRET"
        )
    return str(Siret(ident))


def _as_ident(ident: Identifier | str) -> Siret | Siren | None:
    if isinstance(ident, (Siret, Siren)):
        return ident
    if Siret.is_valid(ident):
        return Siret(ident)
    return Siren(ident) if Siren.is_valid(ident) else None


def _matches(template: str, path: str) -> bool:
    """Whether ``path`` ends with a path built from ``template`` (base URLs may add a prefix)."""
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    if len(got) < len(want):
        return False
    got = got[len(got) - len(want):]
    return all(w.startswith("{") or w == g for w, g in zip(want, got, strict=True))


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True
