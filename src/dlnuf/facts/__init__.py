"""Canonical models of the facts dlnuf knows about a company.

The model class *is* the kind: ``client.get(siret, Identity)`` returns an
:class:`Identity`. Every fact carries its :class:`Provenance`.
"""

from .base import Fact, Level, Provenance, utcnow
from .identity import Address, Diffusion, Identity

__all__ = ["Address", "Diffusion", "Fact", "Identity", "Level", "Provenance", "utcnow"]

# Evidence fetched for the company (certificates, registry extracts, figures).
from .evidence import (
    CERTIFICATION_KINDS,
    Approval,
    Association,
    Capital,
    Certification,
    CertificationScheme,
    CibtpCertification,
    CnetpCertification,
    ComplianceStatus,
    Director,
    Directors,
    Document,
    FntpCertification,
    Headcount,
    HeadcountEntry,
    Insurance,
    LegalRepresentative,
    LocalRegistration,
    MsaCertification,
    Observation,
    OpqibiCertification,
    ProbtpCertification,
    ProbtpCompliance,
    QualibatCertification,
    QualifelecCertification,
    Qualification,
    RegistryExtract,
    RgeCertification,
    RneExtract,
    SocialCertificate,
    TaxCertificate,
    Turnover,
    TurnoverYear,
    VatNumber,
)

__all__ += [
    "CERTIFICATION_KINDS",
    "Approval",
    "Association",
    "Capital",
    "Certification",
    "CertificationScheme",
    "CibtpCertification",
    "CnetpCertification",
    "ComplianceStatus",
    "Director",
    "Directors",
    "Document",
    "FntpCertification",
    "Headcount",
    "HeadcountEntry",
    "Insurance",
    "LegalRepresentative",
    "LocalRegistration",
    "MsaCertification",
    "Observation",
    "OpqibiCertification",
    "ProbtpCertification",
    "ProbtpCompliance",
    "QualibatCertification",
    "QualifelecCertification",
    "Qualification",
    "RegistryExtract",
    "RgeCertification",
    "RneExtract",
    "SocialCertificate",
    "TaxCertificate",
    "Turnover",
    "TurnoverYear",
    "VatNumber",
]
