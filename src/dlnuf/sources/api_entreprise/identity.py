"""Identity from API Entreprise's INSEE establishment answers (protected and ``diffusibles``)."""

from __future__ import annotations

from typing import Any

from ...errors import UnexpectedPayload
from ...facts.identity import Address, Identity
from ...identifiers import Rna, Siret
from ..parsing import (
    Reader,
    as_dict,
    diffusion_status,
    dig,
    naf_code,
    person_name,
    siret_or_none,
    unix_date,
    unix_datetime,
    withhold_protected,
)
from .reply import Reply

__all__ = [
    "parse_identity",
]

# --- Identity ---------------------------------------------------------------------------

def _naf(r: Reader, data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The establishment's NAF rev. 2 activity (code, label); older nomenclatures: unknown."""
    candidates = [as_dict(data.get("activite_principale_naf_rev2"))]
    main = as_dict(data.get("activite_principale"))
    if main.get("nomenclature") in (None, "NAFRev2"):
        candidates.append(main)
    for activity in candidates:
        code = naf_code(r.text("naf_code", activity.get("code")))
        if code:
            return code, r.text("naf_label", activity.get("libelle"))
    return None, None


def _legal_name(r: Reader, unit: dict[str, Any], sole_trader: bool) -> str | None:
    company = as_dict(unit.get("personne_morale_attributs"))
    if not sole_trader:
        return r.text("legal_name", company.get("raison_sociale"))
    person = as_dict(unit.get("personne_physique_attributs"))
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
    postal = as_dict(raw.get("acheminement_postal"))
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
    siret = siret_or_none(raw_siret)
    if siret is None:
        raise UnexpectedPayload(
            f"{reply.source} answered an establishment payload whose data.siret "
            f"{raw_siret!r} is missing or not a valid SIRET",
            source=reply.source,
            status=reply.response.status_code,
        )
    meta = as_dict(reply.body.get("meta"))
    unit = as_dict(data.get("unite_legale"))
    r = Reader(strict=True)
    sole_trader = unit.get("type") == "personne_physique"
    active_state = r.text("active", data.get("etat_administratif"))
    active = active_state == "A" if active_state else True
    unit_state = r.text("legal_unit_active", unit.get("etat_administratif"))
    headcount = as_dict(data.get("tranche_effectif_salarie"))
    legal_form = as_dict(unit.get("forme_juridique"))
    naf, naf_label = _naf(r, data)
    # The SIRET asked for, when the upstream answered for another one: reported, never
    # hidden (meta.redirect_from_siret, else the SIRET of the request itself).
    redirected = _redirected_from(reply, meta, siret)
    rna = r.text("rna", unit.get("rna"))
    diffusion = diffusion_status(data.get("status_diffusion"), unit.get("status_diffusion"))
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
        head_office_siret=siret_or_none(unit.get("siret_siege_social")),
        ess=r.flag("ess", unit.get("economie_sociale_et_solidaire")),
        rna=Rna(rna) if rna and Rna.is_valid(rna) else None,
        is_sole_trader=sole_trader,
        address=_address(r, as_dict(data.get("adresse"))),
        diffusion=diffusion,
        redirected_from=redirected,
        withheld=frozenset(r.withheld),
        provenance=reply.provenance(
            updated_at=unix_datetime(meta.get("date_derniere_mise_a_jour")),
            public=reply.public or diffusion == "diffusible",
        ),
    )
    return withhold_protected(identity)


def _redirected_from(reply: Reply, meta: dict[str, Any], siret: Siret) -> Siret | None:
    """The SIRET asked, when the answer is about another one and the upstream says it
    redirected (``meta.redirect_from_siret``); another SIRET without it is refused."""
    said = siret_or_none(meta.get("redirect_from_siret"))
    asked = reply.ident if isinstance(reply.ident, Siret) else None
    if asked is None or asked == siret:
        return said if said is not None and said != siret else None
    if said is None or said != asked:
        raise UnexpectedPayload(
            f"{reply.source} answered about SIRET {siret} when {asked} was asked, and "
            "meta.redirect_from_siret does not say it redirected: not taken for an answer",
            source=reply.source,
            status=reply.response.status_code,
        )
    return asked
