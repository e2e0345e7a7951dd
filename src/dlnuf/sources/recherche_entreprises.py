"""API Recherche d'entreprises: public, no key, the zero-configuration default.

``GET /search?q=<SIRET>`` is a direct lookup when ``q`` is 14 digits: the legal
unit comes back in ``results[0]``, the establishment in its
``matching_etablissements`` (and in ``siege`` when it is the head office).
An unknown SIRET, or a unit that is not diffusible at all, gives ``results: []``:
:class:`~dlnuf.errors.NotFound`.

Values a person refused to publish come back as ``"[NON-DIFFUSIBLE]"``: they
become ``None`` and are listed in :attr:`~dlnuf.facts.base.Fact.withheld`.

Only the head office (``siege``) carries a structured address; other
establishments carry ``adresse``, one line composed by the upstream. Its street
part (the line without postal code and city) goes, unsplit, into
``Address.street_name``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from ..errors import NotFound, UpstreamError
from ..facts.base import Fact
from ..facts.identity import Address, Identity
from ..httperrors import generic_body, upstream_error
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
    rna_or_none,
    siret_or_none,
    unexpected,
    withhold_protected,
)
from .urls import url_for

__all__ = ["DEFAULT_BASE_URL", "QUOTA", "RechercheEntreprises", "RechercheEntreprisesOptions"]

DEFAULT_BASE_URL = "https://recherche-entreprises.api.gouv.fr"
QUOTA = Quota("recherche_entreprises", 7, 1.0)
"""7 requests per second per IP address (429 with ``Retry-After`` beyond)."""

SEARCH_PATH = "/search"
INCLUDE = "siege,matching_etablissements,complements"
"""With ``minimal=true``: every field Identity needs, without leaders and finances."""

_FIXED_PARAMS = {"limite_matching_etablissements": "1", "minimal": "true", "include": INCLUDE}
_FIXED_QUERY = str(httpx.QueryParams(_FIXED_PARAMS))


class RechercheEntreprisesOptions(SourceOptions):
    """Options of Recherche d'entreprises (``DLNUF_RECHERCHE_ENTREPRISES_*``)."""

    base_url: str = DEFAULT_BASE_URL
    """``DLNUF_RECHERCHE_ENTREPRISES_URL``: a mirror, a proxy, a fake."""
    quota: RateOption = Rate.of(QUOTA)
    """``DLNUF_RECHERCHE_ENTREPRISES_QUOTA``: 7/s documented; a mirror may allow more."""


class RechercheEntreprises(SourceBase):
    """The Recherche d'entreprises source: public data, no key, 7 requests/second."""

    name: ClassVar[str] = "recherche_entreprises"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset({Identity})
    Options: ClassVar[type[SourceOptions]] = RechercheEntreprisesOptions

    def error(self, response: httpx.Response) -> UpstreamError | None:
        """Its error bodies say ``{"erreur": "..."}`` (or ``message``/``detail``)."""
        body = generic_body(response, "erreur", "message", "detail", "error")
        return upstream_error(response, self.name, body=body)

    def request(self, kind: type[Fact], ident: Identifier) -> httpx.Request:
        """``GET /search?q=<siret>``, a direct lookup of one establishment."""
        siret = establishment_siret(self.name, kind, ident)
        # The constant parameters are encoded once (httpx re-encoding them cost ~40 µs a call);
        # a SIRET is 14 digits, nothing to escape.
        return httpx.Request(
            "GET", url_for(self.base_url, SEARCH_PATH, f"q={siret}&{_FIXED_QUERY}"),
            headers=self.json_headers(),
        )

    def parse(self, kind: type[Fact], ident: Identifier, response: httpx.Response) -> Fact:
        """The :class:`Identity` of the SIRET asked; :class:`NotFound` when it is unknown."""
        siret = establishment_siret(self.name, kind, ident)
        body = json_object(response, self.name)
        return or_unexpected(
            response, self.name, "a search result", lambda: self._identity(siret, body, response)
        )

    def _not_found(self, siret: Siret, detail: str, response: httpx.Response) -> NotFound:
        return NotFound(
            f"{self.name} knows no establishment with SIRET {siret} ({detail})",
            source=self.name,
            status=response.status_code,
        )

    def _identity(
        self, siret: Siret, body: dict[str, Any], response: httpx.Response
    ) -> Identity:
        results = body.get("results")
        if not isinstance(results, list):
            raise unexpected(response, self.name, "a body without a 'results' list")
        if not results:
            raise self._not_found(siret, "no result: unknown, or not diffusible at all", response)
        unit = results[0]
        if not isinstance(unit, dict):
            raise unexpected(response, self.name, "a result that is not an object")
        found_siren = unit.get("siren")
        if not isinstance(found_siren, str) or not found_siren:
            raise unexpected(response, self.name, "a result without a 'siren' string")
        if found_siren != siret.siren:
            raise self._not_found(
                siret, f"the result is about SIREN {found_siren[:20]!r}", response
            )
        siege = as_dict(unit.get("siege"))
        matching = [e for e in as_list(unit.get("matching_etablissements")) if isinstance(e, dict)]
        if not any(isinstance(e.get("siret"), str) for e in (siege, *matching)):
            raise unexpected(
                response, self.name, "a result whose establishments carry no 'siret' string"
            )
        if siege.get("siret") == siret:
            est = siege  # the head office entry carries the structured address
        else:
            found = [e for e in matching if e.get("siret") == siret]
            if not found:
                raise self._not_found(siret, "its unit is known, not this establishment", response)
            est = found[0]
        return _map(self.name, siret, unit, est, siege, response)


def _plain(value: Any) -> str | None:
    """``value`` as text when it is text and not a withheld marker (nothing recorded)."""
    return Reader().text("", value)


def _strip_suffix(name: str, *suffixes: str | None) -> str | None:
    """``nom_complet`` without the `` (NOM COMMERCIAL)`` and `` (SIGLE)`` the API appends."""
    for suffix in reversed(suffixes):
        tail = f" ({suffix})" if suffix else ""
        if tail and name.upper().endswith(tail.upper()):
            name = name[: -len(tail)].rstrip()
    return name or None


def _street_from_line(line: str | None, postal_code: str | None, city: str | None) -> str | None:
    """The street part of a one-line ``adresse``: the line without postal code and city."""
    if not line:
        return None
    locality = " ".join(p for p in (postal_code, city) if p)
    if locality and line.upper().endswith(locality.upper()):
        line = line[: -len(locality)].rstrip(" ,")
    return line or None


def _address(r: Reader, est: dict[str, Any], name: str | None) -> Address:
    city = est.get("libelle_commune") or est.get("libelle_commune_etranger")
    raw: dict[str, Any] = {
        "number": est.get("numero_voie"),
        "repetition": est.get("indice_repetition"),
        "street_type": est.get("type_voie"),
        "street_name": est.get("libelle_voie"),
        "complement": est.get("complement_adresse"),
        "special_distribution": est.get("distribution_speciale"),
        "postal_code": est.get("code_postal"),
        "city": city,
        "city_code": est.get("commune"),
        "cedex_code": est.get("cedex"),
        "cedex_label": est.get("libelle_cedex"),
        "country": est.get("libelle_pays_etranger"),
        "country_code": est.get("code_pays_etranger"),
    }
    structured = any(est.get(k) is not None for k in ("numero_voie", "type_voie", "libelle_voie"))
    if not structured and est.get("adresse") is not None:
        # Not the head office: only the line composed by the upstream is given.
        line = r.text("address.street_name", est.get("adresse"))
        raw["street_name"] = _street_from_line(line, _plain(est.get("code_postal")), _plain(city))
    return build_address(r, raw, name=name, name_withheld="legal_name" in r.withheld)


def _legal_name(r: Reader, unit: dict[str, Any], siege: dict[str, Any]) -> str | None:
    """``nom_raison_sociale``, else ``nom_complet`` without the suffixes the API appends."""
    full = unit.get("nom_complet")
    plain = _plain(full)
    if plain is not None:
        full = _strip_suffix(plain, _plain(siege.get("nom_commercial")), _plain(unit.get("sigle")))
    return first_text(r, "legal_name", unit.get("nom_raison_sociale"), full)


def _map(
    source: str,
    siret: Siret,
    unit: dict[str, Any],
    est: dict[str, Any],
    siege: dict[str, Any],
    response: httpx.Response,
) -> Identity:
    r = Reader(strict=True)
    complements = as_dict(unit.get("complements"))
    legal_name = _legal_name(r, unit, siege)
    enseignes = as_list(est.get("liste_enseignes"))
    trade_name = first_text(
        r, "trade_name", enseignes[0] if enseignes else None, est.get("nom_commercial")
    )
    legal_form = r.text("legal_form_code", unit.get("nature_juridique"))
    active = r.text("active", est.get("etat_administratif")) != "F"
    unit_state = r.text("legal_unit_active", unit.get("etat_administratif"))
    sole_trader = r.flag("is_sole_trader", complements.get("est_entrepreneur_individuel"))
    rna = r.text("rna", complements.get("identifiant_association"))
    head_office = siret_or_none(siege.get("siret"))
    is_head_office = (
        head_office == siret if head_office else r.flag("is_head_office", est.get("est_siege"))
    )
    updated = iso_datetime(unit.get("date_mise_a_jour")) or iso_datetime(
        unit.get("date_mise_a_jour_insee")
    )
    return withhold_protected(Identity(
        siret=siret,
        siren=siret.siren,
        legal_name=legal_name,
        trade_name=trade_name,
        sigle=r.text("sigle", unit.get("sigle")),
        legal_form_code=legal_form,
        naf_code=naf_code(r.text("naf_code", est.get("activite_principale"))),
        company_category=r.text("company_category", unit.get("categorie_entreprise")),
        headcount_bracket=r.text("headcount_bracket", est.get("tranche_effectif_salarie")),
        legal_unit_headcount_bracket=r.text(
            "legal_unit_headcount_bracket", unit.get("tranche_effectif_salarie")
        ),
        creation_date=iso_date(unit.get("date_creation")),
        establishment_creation_date=iso_date(est.get("date_creation")),
        active=active,
        closing_date=None if active else iso_date(est.get("date_fermeture")),
        legal_unit_active=unit_state != "C",
        is_head_office=is_head_office,
        head_office_siret=head_office,
        ess=r.flag("ess", complements.get("est_ess")),
        rna=rna_or_none(rna),
        is_sole_trader=sole_trader if sole_trader is not None else legal_form == SOLE_TRADER_FORM,
        address=_address(r, est, legal_name),
        diffusion=diffusion_status(
            unit.get("statut_diffusion"), est.get("statut_diffusion_etablissement")
        ),
        withheld=frozenset(r.withheld),
        provenance=make_provenance(source, response, updated_at=updated, public=True),
    ))
