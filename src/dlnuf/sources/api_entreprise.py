"""API Entreprise, the State's "Dites-le-nous une fois" API (DINUM): token + purpose.

Every call carries a bearer token and three query parameters the upstream checks
(``recipient``, ``context``, ``object``); this module checks them before building
anything, so a misconfiguration fails at once with a message saying what to set,
without spending quota.

The source is organised around :data:`ENDPOINTS`, the one table of what it
provides: kind of fact -> :class:`Endpoint` (path template exactly as in the
OpenAPI, its public variant if any, the level it is looked up by, its quota
pool, its parser, the upstream provider and the token privileges it needs).
:meth:`ApiEntreprise.request`, :meth:`ApiEntreprise.parse`, ``provides`` and
``quota`` follow from the table; the evidence parsers live in
:mod:`dlnuf.sources.api_entreprise_evidence`.

Identity and Association have a public variant: the protected path when
``Settings.authenticated`` is true, else the public one (INSEE ``diffusibles``,
DJEPVA ``open_data``), where values a person refused to publish are ``"[ND]"``
(they become ``None`` and are listed in :attr:`~dlnuf.facts.base.Fact.withheld`).

Beyond the data calls the source builds and reads (it sends nothing itself):
``GET /privileges`` (what the token may call: the client reads it once and
reports a kind the token may not call as :class:`~dlnuf.errors.Forbidden`
without a request) and ``GET /ping/<provider>`` (whether an upstream provider is
up: the client asks after a provider failed, before calling it again).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr, ValidationError

from ..errors import (
    ConfigurationError,
    DlnufError,
    InvalidSiren,
    InvalidSiret,
    UnexpectedPayload,
    UnsupportedKind,
    UpstreamError,
)
from ..facts.base import Fact, Level, Provenance
from ..facts.evidence import (
    Association,
    CibtpCertification,
    CnetpCertification,
    Directors,
    FntpCertification,
    Headcount,
    MsaCertification,
    OpqibiCertification,
    ProbtpCertification,
    ProbtpCompliance,
    QualibatCertification,
    QualifelecCertification,
    RegistryExtract,
    RgeCertification,
    RneExtract,
    SocialCertificate,
    TaxCertificate,
    Turnover,
    VatNumber,
)
from ..facts.identity import Address, Identity
from ..identifiers import Rna, Siren, Siret, parse_siret_or_siren
from ..ratelimit import Quota
from . import api_entreprise_evidence as ev
from .api_entreprise_errors import upstream_error_of
from .base import Identifier, SourceBase
from .options import Rate, RateOption, SourceOptions
from .parsing import (
    Reader,
    as_dict,
    diffusion_status,
    dig,
    json_object,
    make_provenance,
    naf_code,
    person_name,
    siret_or_none,
    unix_date,
    unix_datetime,
    withhold_protected,
)

__all__ = [
    "CIBTP_POOL",
    "DEFAULT_BASE_URL",
    "DGFIP_ATTESTATION_POOL",
    "DOCUMENTS_POOL",
    "ENDPOINTS",
    "INPI_POOL",
    "JSON_POOL",
    "PING_POOL",
    "POOLS",
    "URSSAF_POOL",
    "ApiEntreprise",
    "ApiEntrepriseOptions",
    "Endpoint",
    "PurposeOptions",
    "Reply",
    "parse_identity",
    "with_data",
]

DEFAULT_BASE_URL = "https://entreprise.api.gouv.fr"

JSON_POOL = Quota("api_entreprise:json", 250, 60)
"""250/min shared by the JSON endpoints (INSEE, Infogreffe, DGFIP turnover, VAT...)."""
URSSAF_POOL = Quota("api_entreprise:urssaf", 100, 60)
"""100/min for the URSSAF attestation de vigilance."""
DOCUMENTS_POOL = Quota("api_entreprise:documents", 50, 60)
"""50/min shared by the document endpoints (PDF attestations, cards) and GIP-MDS."""
INPI_POOL = Quota("api_entreprise:inpi", 15, 60)
"""15/min for the INPI RNE."""
DGFIP_ATTESTATION_POOL = Quota("api_entreprise:dgfip_attestation_fiscale", 5, 60)
"""5/min for the DGFIP attestation fiscale alone."""
CIBTP_POOL = Quota("api_entreprise:cibtp", 5, 60)
"""5/min for the CIBTP attestation alone."""
PING_POOL = Quota("api_entreprise:ping", 600, 60)
"""``/ping/<provider>`` is not rate limited upstream; this only bounds dlnuf's own pings."""
POOLS = (
    JSON_POOL, URSSAF_POOL, DOCUMENTS_POOL, INPI_POOL, DGFIP_ATTESTATION_POOL, CIBTP_POOL,
    PING_POOL,
)
"""Every pool, each set by the option ``quota_<name after the colon>``."""

MAX_OBJECT_LENGTH = 50
"""``object`` must be shorter than this (the upstream refuses longer ones)."""

_UP_STATUSES = frozenset({"ok", "unknown"})
"""``/ping`` statuses that do not say the provider is down (``unknown``: it cannot tell)."""


@dataclass(frozen=True)
class Reply:
    """What a parser gets: the decoded body and the response it came from.

    ``ident`` is the identifier asked for; ``endpoint`` the path answered (from the
    response's request, else the path this source builds for ``ident``);
    ``public`` is true when that is a public (``diffusibles``, ``open_data``) endpoint.
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


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """How one kind of fact is fetched from API Entreprise.

    ``path`` is the protected path template, exactly as in the OpenAPI
    (``{siret}``, ``{siren}``, ``{year}``, ``{siren_or_rna}``); ``public_path``
    the public variant used when the settings are not ``authenticated``
    (``None``: there is none and ``path`` is always used). ``provider`` names the
    upstream for ``/ping/<provider>``; ``privileges`` (``public_privileges``) are
    the token privileges of which any one allows the call (empty: not checked).
    ``contract_dir`` (``public_contract_dir``) names the operator's contract
    folder of the endpoint.
    """

    path: str
    level: Level
    quota: Quota
    parser: Parser
    provider: str
    privileges: frozenset[str] = frozenset()
    contract_dir: str | None = None
    public_path: str | None = None
    public_privileges: frozenset[str] = frozenset()
    public_contract_dir: str | None = None

    def template(self, public: bool = False) -> str:
        """The path template used in the public (``True``) or protected scope."""
        return self.public_path if public and self.public_path is not None else self.path

    def placeholders(self, public: bool = False) -> tuple[str, ...]:
        """The names between braces in the template, in order."""
        return _placeholders(self.template(public))

    def needs(self, public: bool = False) -> frozenset[str]:
        """The privileges of which the token needs one (empty: not checked)."""
        return self.public_privileges if public and self.public_path else self.privileges

    def path_for(
        self, ident: Siret | Siren | Rna, *, year: int | None = None, public: bool = False
    ) -> str:
        """The template filled for ``ident`` (a SIRET gives its SIREN where one is wanted).

        ``year`` (headcount) defaults to last year, the latest one the upstream has.
        Raises :class:`~dlnuf.errors.InvalidSiret` when the endpoint needs a SIRET and
        got a SIREN, :class:`~dlnuf.errors.InvalidSiren` when it got an RNA number it
        cannot take.
        """
        siret = ident if isinstance(ident, Siret) else None
        siren = ident.siren if isinstance(ident, (Siret, Siren)) else None
        rna = ident if isinstance(ident, Rna) else None
        names = self.placeholders(public)
        values: dict[str, str | None] = {
            "siret": siret,
            "siren": siren,
            "siren_or_rna": rna or siren,
            "siret_or_rna": rna or siret,
        }
        if "year" in names:
            values["year"] = str(year if year is not None else date.today().year - 1)
        for name in names:
            if values.get(name) is None:
                if "siret" in name and rna is None:
                    raise InvalidSiret(
                        ident,
                        "length",
                        "this endpoint is about one establishment: give its 14-digit SIRET",
                    )
                raise InvalidSiren(
                    ident,
                    "type",
                    f"this endpoint takes a {name.replace('_', ' ')}, not a {type(ident).__name__}",
                )
        return self.template(public).format(**values)


@lru_cache(maxsize=256)
def _placeholders(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


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


# --- Evidence ------------------------------------------------------------------------------


def with_data(parse: ev.EvidenceParser) -> Parser:
    """A :data:`Parser` from an evidence parser taking ``(data, meta, provenance)``.

    The fact is public only when it comes from a public (open data) endpoint.
    """

    def parser(reply: Reply) -> Fact:
        meta = as_dict(reply.body.get("meta"))
        provenance = reply.provenance(
            updated_at=unix_datetime(meta.get("date_derniere_mise_a_jour")), public=reply.public
        )
        return parse(reply.body.get("data"), meta, provenance)

    parser.__name__ = parser.__qualname__ = parse.__name__
    parser.__doc__ = parse.__doc__
    return parser


def _any(*privileges: str) -> frozenset[str]:
    return frozenset(privileges)


_CONGES_PAYES = "attestation_cotisations_conges_payes_chomage_intemperies"

ENDPOINTS: dict[type[Fact], Endpoint] = {
    Identity: Endpoint(
        path="/v4/insee/sirene/etablissements/{siret}",
        public_path="/v4/insee/sirene/etablissements/diffusibles/{siret}",
        level="siret",
        quota=JSON_POOL,
        parser=parse_identity,
        provider="insee/sirene",
        privileges=_any("etablissements", "unites_legales_etablissements_insee"),
        public_privileges=_any("etablissements", "open_data"),
        contract_dir="api_entreprise_v4_insee_etablissements",
    ),
    TaxCertificate: Endpoint(
        path="/v4/dgfip/unites_legales/{siren}/attestation_fiscale",
        level="siren",
        quota=DGFIP_ATTESTATION_POOL,
        parser=with_data(ev.parse_attestation_fiscale),
        provider="dgfip",
        privileges=_any("attestations_fiscales", "attestation_fiscale_dgfip"),
        contract_dir="api_entreprise_v4_dgfip_attestations_fiscales",
    ),
    SocialCertificate: Endpoint(
        path="/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
        level="siren",
        quota=URSSAF_POOL,
        parser=with_data(ev.parse_attestation_vigilance),
        provider="urssaf",
        privileges=_any("attestations_sociales", "attestation_sociale_urssaf"),
        contract_dir="api_entreprise_v4_acoss_attestations_sociales",
    ),
    RegistryExtract: Endpoint(
        path="/v3/infogreffe/rcs/unites_legales/{siren}/extrait_kbis",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_extrait_kbis),
        provider="infogreffe",
        privileges=_any("extraits_rcs", "open_data"),
        contract_dir="api_entreprise_v3_infogreffe_extraits_rcs",
    ),
    Directors: Endpoint(
        path="/v3/infogreffe/rcs/unites_legales/{siren}/mandataires_sociaux",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_mandataires_sociaux),
        provider="infogreffe",
        privileges=_any("entreprises", "mandataires_sociaux_infogreffe"),
        contract_dir="api_entreprise_v3_infogreffe_mandataires_sociaux",
    ),
    RneExtract: Endpoint(
        path="/v3/inpi/rne/unites_legales/{siren}/extrait_rne",
        level="siren",
        quota=INPI_POOL,
        parser=with_data(ev.parse_extrait_rne),
        provider="inpi",
        contract_dir="api_entreprise_v3_inpi_rne_extrait_rne",
    ),
    Turnover: Endpoint(
        path="/v3/dgfip/etablissements/{siret}/chiffres_affaires",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_chiffres_affaires),
        provider="dgfip",
        privileges=_any("exercices", "chiffre_affaires_dgfip"),
        contract_dir="api_entreprise_v3_dgfip_chiffres_affaires",
    ),
    Headcount: Endpoint(
        path="/v3/gip_mds/unites_legales/{siren}/effectifs_annuels/{year}",
        level="siren",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_effectifs_annuels),
        provider="gip_mds",
        privileges=_any("effectifs_urssaf"),
        contract_dir="api_entreprise_v3_gip_mds_effectifs_annuels_entreprise",
    ),
    VatNumber: Endpoint(
        path="/v3/european_commission/unites_legales/{siren}/numero_tva",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_numero_tva),
        provider="european_commission",
        contract_dir="api_entreprise_v3_european_commission_vies",
    ),
    Association: Endpoint(
        path="/v4/djepva/api-association/associations/{siren_or_rna}",
        public_path="/v4/djepva/api-association/associations/open_data/{siren_or_rna}",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_association),
        provider="djepva/api-association",
        privileges=_any("associations_donnees_protegees", "associations_djepva"),
        public_privileges=_any("associations", "open_data"),
        contract_dir="api_entreprise_v4_mi_unites_legales",
        public_contract_dir="api_entreprise_v4_mi_unites_legales_open_data",
    ),
    QualibatCertification: Endpoint(
        path="/v4/qualibat/etablissements/{siret}/certification_batiment",
        level="siret",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_qualibat),
        provider="qualibat",
        privileges=_any("qualibat", "open_data"),
        contract_dir="api_entreprise_v4_qualibat_certifications_batiment",
    ),
    OpqibiCertification: Endpoint(
        path="/v3/opqibi/unites_legales/{siren}/certification_ingenierie",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_opqibi),
        provider="opqibi",
        privileges=_any("certificat_opqibi", "certification_opqibi", "open_data"),
        contract_dir="api_entreprise_v3_opqibi_certifications_ingenierie",
    ),
    RgeCertification: Endpoint(
        path="/v3/ademe/etablissements/{siret}/certification_rge",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_rge),
        provider="ademe",
        privileges=_any("certificat_rge_ademe", "open_data"),
        contract_dir="api_entreprise_v3_ademe_certificats_rge",
    ),
    QualifelecCertification: Endpoint(
        path="/v3/qualifelec/etablissements/{siret}/certificats",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_qualifelec),
        provider="qualifelec",
        privileges=_any("open_data"),
        contract_dir="api_entreprise_v3_qualifelec_certificats",
    ),
    FntpCertification: Endpoint(
        path="/v3/fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics",
        level="siren",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_fntp),
        provider="fntp",
        privileges=_any("fntp_carte_pro", "open_data"),
        contract_dir="api_entreprise_v3_fntp_carte_professionnelle_travaux_publics",
    ),
    CnetpCertification: Endpoint(
        path=f"/v3/cnetp/unites_legales/{{siren}}/{_CONGES_PAYES}",
        level="siren",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_cnetp),
        provider="cnetp",
        privileges=_any(
            "certificat_cnetp", "certification_cnetp", f"{_CONGES_PAYES}_cibtp_cnetp"
        ),
        contract_dir=f"api_entreprise_v3_cnetp_{_CONGES_PAYES}",
    ),
    CibtpCertification: Endpoint(
        path=f"/v3/cibtp/etablissements/{{siret}}/{_CONGES_PAYES}",
        level="siret",
        quota=CIBTP_POOL,
        parser=with_data(ev.parse_cibtp),
        provider="cibtp",
        privileges=_any(
            "certificat_cnetp", "certification_cnetp", f"{_CONGES_PAYES}_cibtp_cnetp"
        ),
        contract_dir=f"api_entreprise_v3_cibtp_{_CONGES_PAYES}",
    ),
    ProbtpCertification: Endpoint(
        path="/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite",
        level="siret",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_probtp),
        provider="probtp",
        privileges=_any("probtp", "cotisations_probtp"),
        contract_dir="api_entreprise_v3_probtp_attestations_cotisation_retraite",
    ),
    ProbtpCompliance: Endpoint(
        path="/v3/probtp/etablissements/{siret}/conformite_cotisations_retraite",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_probtp_compliance),
        provider="probtp",
        privileges=_any("probtp", "cotisations_probtp"),
        contract_dir="api_entreprise_v3_probtp_conformites_cotisations_retraite",
    ),
    MsaCertification: Endpoint(
        path="/v3/msa/etablissements/{siret}/conformite_cotisations",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_msa),
        provider="msa",
        privileges=_any("msa_cotisations", "cotisations_msa"),
        contract_dir="api_entreprise_v3_msa_conformites_cotisations",
    ),
}

KNOWN_PRIVILEGES: frozenset[str] = frozenset().union(
    *(e.privileges | e.public_privileges for e in ENDPOINTS.values())
)
"""Every privilege name the endpoint table refers to."""
"""Every kind this source provides, and how it is fetched.

Privileges follow the operator's authorisation table (any one listed scope
allows the call); the RNE extract and the VAT number are not checked (the table
lists no scope for them).
"""


# --- The options --------------------------------------------------------------------------


class PurposeOptions(SourceOptions):
    """The purpose every API Entreprise call carries."""

    recipient: str | None = None
    """SIRET of the public body the data is for (shortcut ``recipient=`` / ``DLNUF_RECIPIENT``)."""
    context: str | None = None
    """Framework of the request, e.g. ``Marché public`` (shortcut ``context=`` /
    ``DLNUF_CONTEXT``)."""
    object: str | None = None
    """Reason or procedure id, under 50 characters (shortcut ``object=`` / ``DLNUF_OBJECT``)."""

    shortcuts: ClassVar[Mapping[str, str]] = {
        "recipient": "recipient",
        "context": "context",
        "object": "object",
    }


class ApiEntrepriseOptions(PurposeOptions):
    """Options of API Entreprise (``DLNUF_API_ENTREPRISE_*``): token, purpose and one
    quota per pool (the documented ones by default; a contract may allow more)."""

    shortcuts: ClassVar[Mapping[str, str]] = {
        **PurposeOptions.shortcuts,
        "token": "api_entreprise_token",
    }

    token: SecretStr | None = None
    """The bearer token (shortcut ``api_entreprise_token=`` / ``DLNUF_API_ENTREPRISE_TOKEN``)."""
    base_url: str = DEFAULT_BASE_URL
    """``DLNUF_API_ENTREPRISE_URL``: staging (``https://staging.entreprise.api.gouv.fr``),
    a fake."""
    quota_json: RateOption = Rate.of(JSON_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_JSON``: the JSON endpoints, 250/min."""
    quota_urssaf: RateOption = Rate.of(URSSAF_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_URSSAF``: the URSSAF attestation, 100/min."""
    quota_documents: RateOption = Rate.of(DOCUMENTS_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_DOCUMENTS``: the document endpoints, 50/min."""
    quota_inpi: RateOption = Rate.of(INPI_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_INPI``: the INPI RNE, 15/min."""
    quota_dgfip_attestation_fiscale: RateOption = Rate.of(DGFIP_ATTESTATION_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_DGFIP_ATTESTATION_FISCALE``: 5/min."""
    quota_cibtp: RateOption = Rate.of(CIBTP_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_CIBTP``: the CIBTP attestation, 5/min."""
    quota_ping: RateOption = Rate.of(PING_POOL)
    """``DLNUF_API_ENTREPRISE_QUOTA_PING``: dlnuf's own bound on ``/ping``, 600/min."""


# --- The source ---------------------------------------------------------------------------


class ApiEntreprise(SourceBase):
    """The API Entreprise source (token, recipient, context and object required).

    ``scope`` is ``"protected"`` when ``settings.authenticated`` (protected
    endpoints, every value), else ``"public"`` (``diffusibles`` and ``open_data``
    variants where an endpoint has one).
    """

    name: ClassVar[str] = "api_entreprise"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset(ENDPOINTS)
    Options: ClassVar[type[SourceOptions]] = ApiEntrepriseOptions

    def setup(self) -> None:
        """The scope (``settings.authenticated``) and each pool at its option's rate."""
        self.scope = "protected" if self.settings.authenticated else "public"
        self._pools: dict[str, Quota] = {}
        for pool in POOLS:
            rate = getattr(self.options, f"quota_{pool.pool.split(':', 1)[1]}", None)
            self._pools[pool.pool] = rate.quota(pool.pool) if isinstance(rate, Rate) else pool
        self.privileges_quota: Quota = self._pools[JSON_POOL.pool]
        """The pool ``GET /privileges`` counts against."""
        self.ping_quota: Quota = self._pools[PING_POOL.pool]
        """The pool ``GET /ping/<provider>`` counts against."""
        self._query: str | None = None

    def _repr_parts(self) -> list[str]:
        return [*super()._repr_parts(), f"scope={self.scope!r}"]

    def error(self, response: httpx.Response) -> UpstreamError | None:
        """Its ``errors`` bodies: 5-digit codes, titles and details, ``meta.retry_in``
        (see :mod:`~dlnuf.sources.api_entreprise_errors`)."""
        return upstream_error_of(response, self.name)

    @property
    def public(self) -> bool:
        """Whether this source calls the public variants of the endpoints that have one."""
        return self.scope == "public"

    def _endpoint(self, kind: type[Fact]) -> Endpoint:
        endpoint = ENDPOINTS.get(kind)
        if endpoint is None:
            raise UnsupportedKind(
                f"{self.name} does not provide {kind.__name__}; it provides "
                + ", ".join(sorted(k.__name__ for k in ENDPOINTS))
            )
        return endpoint

    def quota(self, kind: type[Fact]) -> Quota:
        """The quota pool ``kind`` counts against (250/min JSON pool for Identity), at the
        rate its ``quota_<pool>`` option sets."""
        pool = self._endpoint(kind).quota
        return self._pools.get(pool.pool, pool)

    def provider(self, kind: type[Fact]) -> str:
        """The upstream provider answering ``kind`` (as in ``/ping/<provider>``)."""
        return self._endpoint(kind).provider

    def required_privileges(self, kind: type[Fact]) -> frozenset[str]:
        """The token privileges of which one allows ``kind`` (empty: not checked)."""
        return self._endpoint(kind).needs(self.public)

    def request(self, kind: type[Fact], ident: Identifier | str) -> httpx.Request:
        """The GET request for ``kind`` about ``ident``, after checking the configuration.

        Raises :class:`ConfigurationError` (token, recipient, context or object
        missing or invalid, recipient being the company itself) before anything
        is built, and :class:`InvalidSiret` when a SIRET-level kind gets a SIREN.
        """
        asked = _as_ident(ident)
        path = self._endpoint(kind).path_for(asked, public=self.public)
        return self._get(path, self._check(asked))

    def privileges_request(self) -> httpx.Request:
        """``GET /privileges``: what the token may call (same checks as a data request)."""
        return self._get("/privileges", self._check(None))

    def parse_privileges(self, response: httpx.Response) -> frozenset[str]:
        """The privileges listed by a ``/privileges`` answer.

        Reads ``{"privileges": [...]}`` and ``{"data": {"privileges": [...]}}``;
        :class:`UnexpectedPayload` when no list of names is there.
        """
        body = json_object(response, self.name)
        for found in (body.get("privileges"), dig(body, "data", "privileges"), body.get("data")):
            if isinstance(found, list):
                granted = frozenset(p.strip() for p in found if isinstance(p, str) and p.strip())
                if granted and not granted & KNOWN_PRIVILEGES:
                    # The names are not documented in the contracts: a list that shares no
                    # name with ours means the vocabulary changed, not that nothing is allowed.
                    raise UnexpectedPayload(
                        f"{self.name}: GET /privileges lists no privilege name dlnuf knows "
                        f"({len(granted)} names); privileges are not checked client-side",
                        source=self.name,
                        status=response.status_code,
                    )
                return granted
        raise UnexpectedPayload(
            f"{self.name} answered GET /privileges without a list of privileges",
            source=self.name,
            status=response.status_code,
        )

    def ping_request(self, provider: str) -> httpx.Request:
        """``GET /ping/<provider>``: whether an upstream provider is up (no token sent)."""
        return httpx.Request(
            "GET",
            f"{self.base_url}/ping/{provider}",
            headers=self.json_headers(),
        )

    def parse_ping(self, response: httpx.Response) -> bool:
        """Whether a 2xx ``/ping`` answer leaves the provider up.

        ``{"status": "ok"}`` (or ``"unknown"``, or a body without a status) is up;
        any other status (``"maintenance"``...) is down.
        """
        try:
            status = json_object(response, self.name).get("status")
        except UnexpectedPayload:
            return True
        return not isinstance(status, str) or status.strip().lower() in _UP_STATUSES

    def _option(self, name: str) -> str:
        value = getattr(self.options, name, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return value.strip() if isinstance(value, str) else ""

    def _token(self) -> str:
        """The bearer token sent ("" when none is configured)."""
        return self._option("token")

    def _params(self) -> dict[str, str]:
        return {name: self._option(name) for name in ("recipient", "context", "object")}

    def _url(self, path: str) -> str | httpx.URL:
        """``base_url + path`` with the purpose parameters as its query string.

        The query string is encoded once (the options are frozen), exactly as httpx
        encodes ``params=``: httpx then only parses the URL, about half the cost of
        encoding the parameters and merging them on every request.
        """
        url = self.base_url + path
        if "?" in url or "#" in url:  # a base URL with its own query: httpx replaces it
            return httpx.URL(url, params=self._params())
        if self._query is None:
            self._query = str(httpx.QueryParams(self._params()))
        return f"{url}?{self._query}"

    def _get(self, path: str, token: str) -> httpx.Request:
        return httpx.Request(
            "GET",
            self._url(path),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": self.user_agent,
            },
        )

    def _check(self, company: Siret | Siren | None) -> str:
        """Validate the options for a call (about ``company``); the token if all is well."""
        token = self._token()
        if not token:
            raise ConfigurationError(
                f"{self.name} needs a token: set api_entreprise_token= "
                "or DLNUF_API_ENTREPRISE_TOKEN"
            )
        recipient = self._option("recipient")
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
        siren = company.siren if company is not None else None
        if siren is not None and Siret(recipient).siren == siren:
            raise ConfigurationError(
                f"recipient {recipient} is the company looked up, or has its SIREN "
                f"({siren}); API Entreprise refuses that (error 00211): set recipient= "
                "or DLNUF_RECIPIENT to the SIRET of the public body the data is for"
            )
        if not self._option("context"):
            raise ConfigurationError(
                f"{self.name} needs the framework of the request: set context= or DLNUF_CONTEXT "
                "(for example 'Marché public')"
            )
        purpose = self._option("object")
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

    def parse(self, kind: type[Fact], ident: Identifier | str, response: httpx.Response) -> Fact:
        """The fact held by a successful response; :class:`UnexpectedPayload` if none."""
        endpoint = self._endpoint(kind)
        body = json_object(response, self.name)
        asked = _as_ident_or_none(ident)
        try:
            path = response.request.url.path
        except RuntimeError:  # a response built by hand or by a bare transport
            path = endpoint.path_for(asked, public=self.public) if asked is not None else ""
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
        except (
            KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError
        ) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc
            raise UnexpectedPayload(
                f"{self.name} answered a {kind.__name__} payload dlnuf cannot read "
                f"({type(exc).__name__}: {detail})",
                source=self.name,
                status=response.status_code,
            ) from None


def _as_ident(ident: Identifier | str) -> Siret | Siren:
    """``ident`` as a SIRET or a SIREN (:class:`InvalidSiret` when it is neither)."""
    return ident if isinstance(ident, (Siret, Siren)) else parse_siret_or_siren(ident)


def _as_ident_or_none(ident: Identifier | str) -> Siret | Siren | None:
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
