"""The one table of what API Entreprise provides: kind of fact -> :class:`Endpoint`."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from ...errors import InvalidSiren, InvalidSiret
from ...facts import evidence as kinds
from ...facts.base import Fact, Level
from ...facts.identity import Identity
from ...identifiers import Rna, Siren, Siret
from ...ratelimit import Quota
from . import evidence as ev
from .identity import parse_identity
from .options import (
    CIBTP_POOL,
    DGFIP_ATTESTATION_POOL,
    DOCUMENTS_POOL,
    INPI_POOL,
    JSON_POOL,
    URSSAF_POOL,
)
from .reply import Parser, with_data

__all__ = [
    "ENDPOINTS",
    "KNOWN_PRIVILEGES",
    "Endpoint",
]

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
    kinds.TaxCertificate: Endpoint(
        path="/v4/dgfip/unites_legales/{siren}/attestation_fiscale",
        level="siren",
        quota=DGFIP_ATTESTATION_POOL,
        parser=with_data(ev.parse_attestation_fiscale),
        provider="dgfip",
        privileges=_any("attestations_fiscales", "attestation_fiscale_dgfip"),
        contract_dir="api_entreprise_v4_dgfip_attestations_fiscales",
    ),
    kinds.SocialCertificate: Endpoint(
        path="/v4/urssaf/unites_legales/{siren}/attestation_vigilance",
        level="siren",
        quota=URSSAF_POOL,
        parser=with_data(ev.parse_attestation_vigilance),
        provider="urssaf",
        privileges=_any("attestations_sociales", "attestation_sociale_urssaf"),
        contract_dir="api_entreprise_v4_acoss_attestations_sociales",
    ),
    kinds.RegistryExtract: Endpoint(
        path="/v3/infogreffe/rcs/unites_legales/{siren}/extrait_kbis",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_extrait_kbis),
        provider="infogreffe",
        privileges=_any("extraits_rcs", "open_data"),
        contract_dir="api_entreprise_v3_infogreffe_extraits_rcs",
    ),
    kinds.Directors: Endpoint(
        path="/v3/infogreffe/rcs/unites_legales/{siren}/mandataires_sociaux",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_mandataires_sociaux),
        provider="infogreffe",
        privileges=_any("entreprises", "mandataires_sociaux_infogreffe"),
        contract_dir="api_entreprise_v3_infogreffe_mandataires_sociaux",
    ),
    kinds.RneExtract: Endpoint(
        path="/v3/inpi/rne/unites_legales/{siren}/extrait_rne",
        level="siren",
        quota=INPI_POOL,
        parser=with_data(ev.parse_extrait_rne),
        provider="inpi",
        contract_dir="api_entreprise_v3_inpi_rne_extrait_rne",
    ),
    kinds.Turnover: Endpoint(
        path="/v3/dgfip/etablissements/{siret}/chiffres_affaires",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_chiffres_affaires),
        provider="dgfip",
        privileges=_any("exercices", "chiffre_affaires_dgfip"),
        contract_dir="api_entreprise_v3_dgfip_chiffres_affaires",
    ),
    kinds.Headcount: Endpoint(
        path="/v3/gip_mds/unites_legales/{siren}/effectifs_annuels/{year}",
        level="siren",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_effectifs_annuels),
        provider="gip_mds",
        privileges=_any("effectifs_urssaf"),
        contract_dir="api_entreprise_v3_gip_mds_effectifs_annuels_entreprise",
    ),
    kinds.VatNumber: Endpoint(
        path="/v3/european_commission/unites_legales/{siren}/numero_tva",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_numero_tva),
        provider="european_commission",
        contract_dir="api_entreprise_v3_european_commission_vies",
    ),
    kinds.Association: Endpoint(
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
    kinds.QualibatCertification: Endpoint(
        path="/v4/qualibat/etablissements/{siret}/certification_batiment",
        level="siret",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_qualibat),
        provider="qualibat",
        privileges=_any("qualibat", "open_data"),
        contract_dir="api_entreprise_v4_qualibat_certifications_batiment",
    ),
    kinds.OpqibiCertification: Endpoint(
        path="/v3/opqibi/unites_legales/{siren}/certification_ingenierie",
        level="siren",
        quota=JSON_POOL,
        parser=with_data(ev.parse_opqibi),
        provider="opqibi",
        privileges=_any("certificat_opqibi", "certification_opqibi", "open_data"),
        contract_dir="api_entreprise_v3_opqibi_certifications_ingenierie",
    ),
    kinds.RgeCertification: Endpoint(
        path="/v3/ademe/etablissements/{siret}/certification_rge",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_rge),
        provider="ademe",
        privileges=_any("certificat_rge_ademe", "open_data"),
        contract_dir="api_entreprise_v3_ademe_certificats_rge",
    ),
    kinds.QualifelecCertification: Endpoint(
        path="/v3/qualifelec/etablissements/{siret}/certificats",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_qualifelec),
        provider="qualifelec",
        privileges=_any("open_data"),
        contract_dir="api_entreprise_v3_qualifelec_certificats",
    ),
    kinds.FntpCertification: Endpoint(
        path="/v3/fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics",
        level="siren",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_fntp),
        provider="fntp",
        privileges=_any("fntp_carte_pro", "open_data"),
        contract_dir="api_entreprise_v3_fntp_carte_professionnelle_travaux_publics",
    ),
    kinds.CnetpCertification: Endpoint(
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
    kinds.CibtpCertification: Endpoint(
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
    kinds.ProbtpCertification: Endpoint(
        path="/v3/probtp/etablissements/{siret}/attestation_cotisations_retraite",
        level="siret",
        quota=DOCUMENTS_POOL,
        parser=with_data(ev.parse_probtp),
        provider="probtp",
        privileges=_any("probtp", "cotisations_probtp"),
        contract_dir="api_entreprise_v3_probtp_attestations_cotisation_retraite",
    ),
    kinds.ProbtpCompliance: Endpoint(
        path="/v3/probtp/etablissements/{siret}/conformite_cotisations_retraite",
        level="siret",
        quota=JSON_POOL,
        parser=with_data(ev.parse_probtp_compliance),
        provider="probtp",
        privileges=_any("probtp", "cotisations_probtp"),
        contract_dir="api_entreprise_v3_probtp_conformites_cotisations_retraite",
    ),
    kinds.MsaCertification: Endpoint(
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
