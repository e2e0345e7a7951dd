"""INSEE API Sirene 3.11: the Sirene register itself, with a free API key.

``GET /siret/{siret}`` answers one establishment with its legal unit; the key goes
in the ``X-INSEE-Api-Key-Integration`` header (the OAuth portal closed in
September 2025). The quota is 30 requests per minute, so many SIRETs are fetched
with :meth:`InseeSirene.request_many`: ``POST /siret`` with a form body
``q=siret:A OR siret:B ...``, up to 1000 establishments per call.

Historised values live in ``periodesEtablissement``, newest first; the current
period has no ``dateFin``. Values a person refused to publish come back as
``"[ND]"``: they become ``None`` and are listed in
:attr:`~dlnuf.facts.base.Fact.withheld`. A duplicate SIRET is answered with a
301 to the SIRET kept; the transport follows it and ``redirected_from`` keeps the
one asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from functools import partial
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from ..errors import ConfigurationError, Forbidden, UnexpectedPayload, UpstreamError
from ..facts.base import Fact, Provenance
from ..facts.identity import Address, Identity
from ..httperrors import (
    ErrorBody,
    clean,
    error_json,
    generic_body,
    request_of,
    upstream_error,
)
from ..identifiers import Siret
from ..ratelimit import Quota
from .base import Identifier, SourceBase
from .options import Rate, RateOption, SourceOptions
from .parsing import (
    SOLE_TRADER_FORM,
    Reader,
    as_dict,
    as_list,
    build_address,
    diffusion_status,
    establishment_siret,
    first_text,
    iso_date,
    iso_datetime,
    json_object,
    make_provenance,
    naf_code,
    or_unexpected,
    person_name,
    rna_or_none,
    siret_or_none,
    unexpected,
    withhold_protected,
)
from .urls import url_for

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_BASE_URL",
    "QUOTA",
    "InseeSirene",
    "InseeSireneOptions",
    "read_establishment",
]

DEFAULT_BASE_URL = "https://api.insee.fr/api-sirene/3.11"
QUOTA = Quota("insee_sirene", 30, 60.0)
"""30 requests per minute per key (429 beyond)."""
BATCH_SIZE = 1000
"""Establishments one ``POST /siret`` may return (``nombre`` is at most 1000)."""
KEY_HEADER = "X-INSEE-Api-Key-Integration"


class InseeSireneOptions(SourceOptions):
    """Options of INSEE Sirene (``DLNUF_INSEE_SIRENE_*``)."""

    base_url: str = DEFAULT_BASE_URL
    """``DLNUF_INSEE_SIRENE_URL``: a mirror, a proxy, a fake."""
    api_key: SecretStr | None = None
    """``DLNUF_INSEE_SIRENE_API_KEY``, or the shortcut ``insee_api_key=`` /
    ``DLNUF_INSEE_API_KEY``: the free key of the INSEE API portal."""
    quota: RateOption = Rate.of(QUOTA)
    """``DLNUF_INSEE_SIRENE_QUOTA``: 30/min per key, documented."""

    shortcuts: ClassVar[Mapping[str, str]] = {"api_key": "insee_api_key"}


class InseeSirene(SourceBase):
    """The INSEE Sirene source: needs an API key (free), 30 requests/minute."""

    name: ClassVar[str] = "insee_sirene"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset({Identity})
    Options: ClassVar[type[SourceOptions]] = InseeSireneOptions
    batch_size: ClassVar[int] = BATCH_SIZE

    def setup(self) -> None:
        """Keep the key (``api_key`` option)."""
        self._key: SecretStr | None = getattr(self.options, "api_key", None)

    def _repr_parts(self) -> list[str]:
        key = "set" if self._key is not None else "missing"
        return [*super()._repr_parts(), f"key={key}"]

    def error(self, response: httpx.Response) -> UpstreamError | None:
        """INSEE's bodies (``{"header": {"message"}}``, the gateway's ``{"fault"}``); a 401
        or 403 is about the API key and its subscription to API Sirene."""
        request = request_of(response)
        path = request.url.path if request is not None else "?"
        return upstream_error(
            response,
            self.name,
            body=_insee_body(response),
            credential="API key",
            advice={Forbidden: (
                f"the API key may not call {path}: check that its application is subscribed "
                "to API Sirene on the INSEE portal (https://portail-api.insee.fr/)"
            )},
        )

    def _headers(self) -> dict[str, str]:
        key = self._key.get_secret_value().strip() if self._key is not None else ""
        if not key:
            raise ConfigurationError(
                f"{self.name} needs an API key: set insee_api_key= or DLNUF_INSEE_API_KEY "
                "(or options={'insee_sirene': {'api_key': ...}}); "
                "get a free key on the INSEE API portal (https://portail-api.insee.fr/)"
            )
        return {KEY_HEADER: key, **self.json_headers()}

    def request(self, kind: type[Fact], ident: Identifier) -> httpx.Request:
        """``GET /siret/{siret}`` with the key header; :class:`ConfigurationError` without key."""
        siret = establishment_siret(self.name, kind, ident)
        return httpx.Request(
            "GET", url_for(self.base_url, f"/siret/{siret}"), headers=self._headers()
        )

    def request_many(
        self, kind: type[Fact], idents: Sequence[Siret], *, cursor: str | None = None
    ) -> httpx.Request:
        """``POST /siret`` asking for up to :attr:`batch_size` SIRETs in one call.

        ``cursor`` asks for cursor pagination: ``"*"`` for the first page, then what
        :meth:`next_cursor` returned.
        """
        sirets = list(dict.fromkeys(establishment_siret(self.name, kind, i) for i in idents))
        if not sirets:
            raise ValueError("request_many needs at least one SIRET")
        if len(sirets) > self.batch_size:
            raise ValueError(
                f"{self.name} answers at most {self.batch_size} SIRETs per call, "
                f"{len(sirets)} were given: split them"
            )
        form = {
            "q": " OR ".join(f"siret:{s}" for s in sirets),
            "nombre": str(len(sirets)),
        }
        if cursor is not None:
            form["curseur"] = cursor
        return httpx.Request(
            "POST", f"{self.base_url}/siret", data=form, headers=self._headers()
        )

    def parse(self, kind: type[Fact], ident: Identifier, response: httpx.Response) -> Fact:
        """The :class:`Identity` in a ``/siret/{siret}`` answer (redirects recorded)."""
        siret = establishment_siret(self.name, kind, ident)
        body = json_object(response, self.name)
        etab = body.get("etablissement")
        if etab is None:
            # Some duplicates answer a one-element list instead of the object.
            found = [e for e in as_list(body.get("etablissements")) if isinstance(e, dict)]
            etab = found[0] if len(found) == 1 else None
        if not isinstance(etab, dict):
            raise unexpected(response, self.name, "a body without an 'etablissement' object")
        identity = self._read(etab, response)
        if identity.siret != siret:
            # A duplicate only when INSEE said so: the transport followed its 301 to the
            # SIRET kept. Another SIRET without one is a wrong answer, not a redirect.
            if not any(hop.status_code == 301 for hop in response.history):
                raise unexpected(
                    response,
                    self.name,
                    f"about SIRET {identity.siret} when {siret} was asked, without redirecting "
                    "(no 301): not taken for an answer",
                )
            identity = identity.model_copy(update={"redirected_from": siret})
        return identity

    def parse_many(
        self, kind: type[Fact], idents: Sequence[Siret], response: httpx.Response
    ) -> dict[Siret, Fact]:
        """The identities of a ``POST /siret`` answer, by SIRET; absent ones were not found.

        An entry that is not about a SIRET asked, or that cannot be read, is left out.
        """
        asked: dict[str, Siret] = {}
        for ident in idents:
            siret = establishment_siret(self.name, kind, ident)
            asked[siret] = siret
        body = json_object(response, self.name)
        etabs = body.get("etablissements")
        if not isinstance(etabs, list):
            raise unexpected(response, self.name, "a search without an 'etablissements' list")
        endpoint = _endpoint(response)  # one answer, one endpoint: read once, not per row
        found: dict[Siret, Fact] = {}
        for etab in etabs:
            if not isinstance(etab, dict):
                continue
            raw = etab.get("siret")
            # An entry about a SIRET asked is that SIRET (parsed already), else left out.
            found_siret = asked.get(raw) if isinstance(raw, str) else None
            if found_siret is None:
                found_siret = asked.get(siret_or_none(raw) or "")  # written another way
                if found_siret is None:
                    continue
            siret = found_siret
            try:
                identity = or_unexpected(
                    response, self.name, "an establishment",
                    partial(_read_one, self.name, siret, etab, endpoint),
                )
            except UnexpectedPayload:
                continue
            found[identity.siret] = identity
        return found

    def next_cursor(self, response: httpx.Response) -> str | None:
        """The cursor of the next page of a paginated ``POST /siret``, or ``None``.

        ``None`` when the page held every result (``header.total <= header.nombre``),
        or when ``header.curseurSuivant`` is missing or equals ``header.curseur``
        (INSEE's mark of the last page).
        """
        try:
            header = response.json().get("header")
        except (ValueError, AttributeError, RecursionError):
            return None
        if not isinstance(header, dict):
            return None
        following, current = header.get("curseurSuivant"), header.get("curseur")
        total, count = header.get("total"), header.get("nombre")
        if isinstance(total, int) and isinstance(count, int) and total <= count:
            return None
        if not isinstance(following, str) or not following or following == current:
            return None
        return following

    def _read(self, etab: dict[str, Any], response: httpx.Response) -> Identity:
        return or_unexpected(
            response, self.name, "an establishment", lambda: _map(self.name, etab, response)
        )


def _periods(etab: dict[str, Any]) -> list[dict[str, Any]]:
    """The periods, newest first, the current one (no ``dateFin``) in front."""
    periods = [p for p in as_list(etab.get("periodesEtablissement")) if isinstance(p, dict)]
    current = [p for p in periods if p.get("dateFin") is None]
    if current:
        periods.remove(current[0])
        periods.insert(0, current[0])
    return periods


def _closing_date(periods: list[dict[str, Any]]) -> date | None:
    """When the establishment closed: the start of its newest run of closed periods."""
    closing = None
    for period in periods:
        if period.get("etatAdministratifEtablissement") != "F":
            break
        closing = iso_date(period.get("dateDebut")) or closing
    return closing


def _legal_name(r: Reader, unit: dict[str, Any]) -> str | None:
    """The denomination, else the person's first name and (usage) name."""
    denomination = first_text(r, "legal_name", unit.get("denominationUniteLegale"))
    if denomination is not None or "legal_name" in r.withheld:
        return denomination
    first = first_text(
        r, "legal_name", unit.get("prenom1UniteLegale"), unit.get("prenomUsuelUniteLegale")
    )
    usage = r.text("legal_name", unit.get("nomUsageUniteLegale"))
    birth = r.text("legal_name", unit.get("nomUniteLegale"))
    if "legal_name" in r.withheld:
        return None  # part of the name is withheld: what is left is not the name
    return person_name(first, usage, birth)


_ADDRESS_KEYS = (
    ("number", "numeroVoieEtablissement"),
    ("repetition", "indiceRepetitionEtablissement"),
    ("street_type", "typeVoieEtablissement"),
    ("street_name", "libelleVoieEtablissement"),
    ("complement", "complementAdresseEtablissement"),
    ("special_distribution", "distributionSpecialeEtablissement"),
    ("postal_code", "codePostalEtablissement"),
    ("city", "libelleCommuneEtablissement"),
    ("city_code", "codeCommuneEtablissement"),
    ("cedex_code", "codeCedexEtablissement"),
    ("cedex_label", "libelleCedexEtablissement"),
    ("country", "libellePaysEtrangerEtablissement"),
    ("country_code", "codePaysEtrangerEtablissement"),
)
"""Each :class:`Address` field and the API's name of its value."""


def _address(r: Reader, raw: dict[str, Any], name: str | None) -> Address:
    fields: dict[str, Any] = {field: raw.get(key) for field, key in _ADDRESS_KEYS}
    if not fields["city"]:
        fields["city"] = raw.get("libelleCommuneEtrangerEtablissement")
    return build_address(r, fields, name=name, name_withheld="legal_name" in r.withheld)


def _endpoint(response: httpx.Response) -> str:
    """What :func:`~dlnuf.sources._parse.make_provenance` records as the endpoint."""
    return make_provenance("", response).endpoint


def _read_one(source: str, siret: Siret, etab: dict[str, Any], endpoint: str) -> Identity:
    """One entry of a batch answer about ``siret`` (validated when it was asked)."""
    provenance = Provenance(
        source=source,
        endpoint=endpoint,
        updated_at=iso_datetime(etab.get("dateDernierTraitementEtablissement")),
        public=True,
    )
    return read_establishment(siret, etab, provenance)


def _map(source: str, etab: dict[str, Any], response: httpx.Response) -> Identity:
    siret = siret_or_none(etab.get("siret"))
    if siret is None:
        raise unexpected(
            response,
            source,
            f"an establishment whose siret {etab.get('siret')!r} is missing or not a valid SIRET",
        )
    provenance = make_provenance(
        source,
        response,
        updated_at=iso_datetime(etab.get("dateDernierTraitementEtablissement")),
        public=True,
    )
    return read_establishment(siret, etab, provenance)


def read_establishment(siret: Siret, etab: dict[str, Any], provenance: Provenance) -> Identity:
    """The :class:`Identity` of an establishment in the Sirene API 3.11 shape (``etab``:
    its fields, ``uniteLegale``, ``adresseEtablissement``, ``periodesEtablissement``).

    Shared by every source of that vocabulary (the API, the stock files); values
    ``[ND]`` become ``None`` and are listed in ``withheld``.
    """
    r = Reader(strict=True)
    unit = as_dict(etab.get("uniteLegale"))
    periods = _periods(etab)
    current = periods[0] if periods else {}
    legal_name = _legal_name(r, unit)
    legal_form = r.text("legal_form_code", unit.get("categorieJuridiqueUniteLegale"))
    active = current.get("etatAdministratifEtablissement") != "F"
    nic_siege = r.text("head_office_siret", unit.get("nicSiegeUniteLegale"))
    rna = r.text("rna", unit.get("identifiantAssociationUniteLegale"))
    return withhold_protected(Identity(
        siret=siret,
        siren=siret.siren,
        legal_name=legal_name,
        trade_name=first_text(
            r,
            "trade_name",
            current.get("enseigne1Etablissement"),
            current.get("denominationUsuelleEtablissement"),
        ),
        sigle=r.text("sigle", unit.get("sigleUniteLegale")),
        legal_form_code=legal_form,
        naf_code=naf_code(r.text("naf_code", current.get("activitePrincipaleEtablissement"))),
        company_category=r.text("company_category", unit.get("categorieEntreprise")),
        headcount_bracket=r.text("headcount_bracket", etab.get("trancheEffectifsEtablissement")),
        legal_unit_headcount_bracket=r.text(
            "legal_unit_headcount_bracket", unit.get("trancheEffectifsUniteLegale")
        ),
        creation_date=iso_date(unit.get("dateCreationUniteLegale")),
        establishment_creation_date=iso_date(etab.get("dateCreationEtablissement")),
        active=active,
        closing_date=None if active else _closing_date(periods),
        legal_unit_active=unit.get("etatAdministratifUniteLegale") != "C",
        is_head_office=r.flag("is_head_office", etab.get("etablissementSiege")),
        head_office_siret=(
            None if not nic_siege
            else siret if nic_siege == siret[9:]  # the head office itself: no second parse
            else siret_or_none(f"{siret[:9]}{nic_siege}")
        ),
        ess=r.flag("ess", unit.get("economieSocialeSolidaireUniteLegale")),
        rna=rna_or_none(rna),
        is_sole_trader=legal_form == SOLE_TRADER_FORM,
        address=_address(r, as_dict(etab.get("adresseEtablissement")), legal_name),
        diffusion=diffusion_status(
            etab.get("statutDiffusionEtablissement"), unit.get("statutDiffusionUniteLegale")
        ),
        withheld=frozenset(r.withheld),
        provenance=provenance,
    ))


def _insee_body(response: httpx.Response) -> ErrorBody:
    """INSEE's own words: ``header.message`` (the API), ``fault`` (its gateway)."""
    payload, _ = error_json(response)
    if payload is not None:
        header = payload.get("header")
        if isinstance(header, dict) and clean(header.get("message")):
            return ErrorBody(text=clean(header.get("message")))
        fault = payload.get("fault")
        if isinstance(fault, dict):
            text = ": ".join(
                p for p in (clean(fault.get("message")), clean(fault.get("description"))) if p
            )
            return ErrorBody(text=text or None)
    return generic_body(response)
