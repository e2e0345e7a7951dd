"""Evidence a company no longer hands over: certificates, registry extracts, figures.

Each class is a kind of fact fetched from API Entreprise (parsers in
:mod:`dlnuf.sources.api_entreprise.evidence`): the DGFIP tax certificate, the
URSSAF vigilance certificate, the Kbis and the RNE extract, turnover, headcount,
the VAT number, an association's record and professional certifications.

A certificate's PDF sits behind a :class:`Document`, whose URL expires (about a
day): download it promptly with :meth:`Document.fetch` once a client has bound
the document (``client.fetch_document(doc)``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import ClassVar, Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import ConfigDict, PrivateAttr, computed_field

from ..errors import ConfigurationError
from ..identifiers import Rna, Siren, Siret
from .base import Fact, Level, utcnow
from .frozen import FrozenModel
from .identity import Address

__all__ = [
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

_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


class _Part(FrozenModel):
    """A frozen value nested in a fact."""

    model_config = ConfigDict(frozen=True)


class Document(_Part):
    """A file the upstream serves behind a temporary URL (a certificate's PDF, mostly).

    ``url_expires_at`` is when the URL stops working (``None``: unknown); cache the
    bytes, not only the URL. :meth:`fetch` downloads through the client the
    document was bound to; binding is not part of the value (not serialised,
    not compared).
    """

    url: str
    url_expires_at: datetime | None = None
    media_type: str = "application/pdf"

    _fetcher: Callable[[Document], bytes] | None = PrivateAttr(default=None)

    @staticmethod
    def media_type_of(url: str) -> str:
        """The media type a URL's extension suggests (``application/pdf`` when unknown)."""
        suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
        return _MEDIA_TYPES.get(suffix, "application/pdf")

    @property
    def filename(self) -> str:
        """The URL's last path segment, with an extension matching ``media_type``."""
        name = PurePosixPath(unquote(urlsplit(self.url).path)).name or "document"
        if not PurePosixPath(name).suffix:
            name += _EXTENSIONS.get(self.media_type, "")
        return name

    def bind(self, fetcher: Callable[[Document], bytes]) -> Self:
        """Attach the function that downloads this document (the client does it)."""
        self._fetcher = fetcher
        return self

    def fetch(self) -> bytes:
        """The document's bytes, downloaded by the client it is bound to."""
        if self._fetcher is None:
            raise ConfigurationError(
                "this document is not bound to a client: use client.fetch_document(doc)"
            )
        return self._fetcher(self)

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether the URL has expired at ``now`` (default: the current time)."""
        if self.url_expires_at is None:
            return False
        return (now or utcnow()) >= self.url_expires_at

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.url, self.url_expires_at, self.media_type) == (
            other.url,
            other.url_expires_at,
            other.media_type,
        )

    def __hash__(self) -> int:
        return hash((self.url, self.url_expires_at, self.media_type))


class Capital(_Part):
    """Share capital: amount and currency (``EUR``)."""

    amount: float | None = None
    currency: str | None = None


class Director(_Part):
    """A company officer (mandataire social, dirigeant): a person or a company.

    A person has ``last_name`` and ``first_names``; a company ``company_name`` and,
    when the registry gives it, its ``siren``.
    """

    kind: Literal["person", "company"] | None = None
    role: str | None = None
    last_name: str | None = None
    first_names: str | None = None
    company_name: str | None = None
    siren: Siren | None = None

    @property
    def name(self) -> str | None:
        """First names and last name of a person, else the company's name."""
        person = " ".join(p for p in (self.first_names, self.last_name) if p)
        return person or self.company_name


class Observation(_Part):
    """A registrar's note on a registry extract."""

    number: str | None = None
    text: str | None = None
    recorded_on: date | None = None


class TaxCertificate(Fact):
    """The DGFIP attestation de régularité fiscale: the company is up to date with its taxes.

    ``period_analysed`` is the last day of the month before the request (the
    situation is judged then). The upstream gives no validity end, so
    ``valid_until`` stays ``None`` unless a source states it. A refusal is an
    upstream 404 (code ``03003``), not a fact.
    """

    level: ClassVar[Level] = "siren"
    refresh_hour: ClassVar[int] = 8
    """Hour (Paris) at which the upstream refreshes certificates."""

    issued_on: date | None = None
    period_analysed: date | None = None
    valid_until: date | None = None
    document: Document | None = None


class SocialCertificate(Fact):
    """The URSSAF attestation de vigilance: the company pays its social contributions.

    A refusal (``status == "refused"``) is a fact, not an error: the company is
    not up to date and there is no document. ``valid_until`` is computed
    upstream (six months after ``valid_from``, end of month).
    """

    level: ClassVar[Level] = "siren"
    refresh_hour: ClassVar[int] = 8
    """Hour (Paris) at which the upstream refreshes certificates."""

    status: Literal["delivered", "refused"]
    status_label: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    security_code: str | None = None
    """Code to check the certificate with the URSSAF."""
    document: Document | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refused(self) -> bool:
        """Whether the URSSAF refused to deliver the certificate."""
        return self.status == "refused"


class RegistryExtract(Fact):
    """The Infogreffe extrait RCS (the "Kbis"): the company is registered, and how.

    What a DC2 "inscription au registre" needs: ``registration_number``
    (``RCS PARIS 552 049 447``), ``registered_on``, ``court``, ``naf_code``.
    ``head_office`` is the address the registry holds for a sole trader; for a
    company the extract carries none (use :class:`~dlnuf.facts.Identity`).
    """

    level: ClassVar[Level] = "siren"

    siren: Siren
    registration_number: str | None = None
    registered_on: date | None = None
    struck_off_on: date | None = None
    extract_date: date | None = None
    court: str | None = None
    """Greffe holding the registration (``PARIS``)."""
    court_code: str | None = None
    company_name: str | None = None
    trade_name: str | None = None
    legal_form_code: str | None = None
    legal_form_label: str | None = None
    naf_code: str | None = None
    activity: str | None = None
    capital: Capital | None = None
    head_office: Address | None = None
    fiscal_year_end: str | None = None
    """Closing day of the financial year, ``MM-DD``."""
    directors: tuple[Director, ...] = ()
    observations: tuple[Observation, ...] = ()

    @property
    def struck_off(self) -> bool:
        """Whether the company was struck off the register."""
        return self.struck_off_on is not None


class Directors(Fact):
    """The officers of a company registered at the RCS (Infogreffe mandataires sociaux)."""

    level: ClassVar[Level] = "siren"

    directors: tuple[Director, ...] = ()


class RneExtract(Fact):
    """The INPI extract of the Registre national des entreprises: the company is registered."""

    level: ClassVar[Level] = "siren"

    siren: Siren
    legal_name: str | None = None
    registered_on: date | None = None
    activity_started_on: date | None = None
    dissolved_on: date | None = None
    nature: str | None = None
    """``COMMERCIALE``, ``ARTISANALE``, ``LIBERALE``..."""
    legal_form_code: str | None = None
    legal_form_label: str | None = None
    naf_code: str | None = None
    activity: str | None = None
    capital: Capital | None = None
    head_office: Address | None = None
    fiscal_year_end: str | None = None
    """Closing day of the financial year, ``MM-DD``."""
    directors: tuple[Director, ...] = ()
    observations: tuple[Observation, ...] = ()
    document: Document | None = None


class TurnoverYear(_Part):
    """The turnover declared for one financial year, in euros."""

    amount: int
    closing_date: date
    start_date: date | None = None


class Turnover(Fact):
    """Turnover declared to the DGFIP for the last financial years (DC2 F1), newest first."""

    level: ClassVar[Level] = "siret"

    years: tuple[TurnoverYear, ...] = ()

    @property
    def latest(self) -> TurnoverYear | None:
        """The most recent financial year, if any."""
        return self.years[0] if self.years else None


class HeadcountEntry(_Part):
    """One headcount figure of the GIP-MDS: a regime (general, agricultural) and a nature."""

    regime: str | None = None
    nature: str | None = None
    value: float | None = None
    """``None``: nobody in this regime."""
    updated_on: date | None = None


class Headcount(Fact):
    """The annual average headcount of a legal unit (GIP-MDS, from URSSAF and MSA data).

    ``headcount`` adds up the latest figure of each regime; ``None`` when no regime
    has one. ``regimes`` keeps every figure as the upstream gave it.
    """

    level: ClassVar[Level] = "siren"

    year: int
    headcount: float | None = None
    nature: str | None = None
    """``effectif_moyen_annuel``, ``effectif_boeth_annuel``..."""
    regimes: tuple[HeadcountEntry, ...] = ()


class VatNumber(Fact):
    """The intra-EU VAT number, checked by the European Commission (VIES).

    ``matches_computed`` tells whether it is the number computed from its SIREN
    (``FR`` + key + SIREN); a mismatch deserves a look before it goes on a form.
    """

    level: ClassVar[Level] = "siren"

    number: str
    siren: Siren | None = None
    matches_computed: bool


class LegalRepresentative(_Part):
    """A person representing an association, as its establishment declared them."""

    civility: str | None = None
    last_name: str | None = None
    first_names: str | None = None
    role: str | None = None
    phone: str | None = None
    email: str | None = None
    siret: Siret | None = None
    """The establishment that declared them."""


class Approval(_Part):
    """An agrément granted to an association (CERFA 12156 "agréments")."""

    number: str | None = None
    kind: str | None = None
    granted_on: date | None = None
    authority: str | None = None
    level: str | None = None


class LocalRegistration(_Part):
    """The local-law register entry of an Alsace-Moselle association (no RNA number)."""

    court: str | None = None
    volume: str | None = None
    folio: str | None = None
    registered_on: date | None = None


class Association(Fact):
    """An association's record (RNA and SIRENE, via DJEPVA): CERFA 12156 identity.

    An Alsace-Moselle association has no ``rna`` (it is on a court's register,
    ``local_registration``); an association unknown to SIRENE has no ``siren``.
    """

    level: ClassVar[Level] = "siren"

    rna: Rna | None = None
    siren: Siren | None = None
    title: str | None = None
    acronym: str | None = None
    object: str | None = None
    regime: str | None = None
    """``Loi 1901``, ``Alsace-Moselle``..."""
    legal_form_code: str | None = None
    legal_form_label: str | None = None
    head_office: Address | None = None
    head_office_siret: Siret | None = None
    naf_code: str | None = None
    creation_date: date | None = None
    published_on: date | None = None
    """Publication in the Journal officiel."""
    dissolution_date: date | None = None
    active: bool | None = None
    public_utility: bool | None = None
    """Reconnue d'utilité publique (RUP)."""
    public_utility_date: date | None = None
    ess: bool | None = None
    commercial_taxes: bool | None = None
    """Subject to commercial taxes (impôts commerciaux)."""
    local_registration: LocalRegistration | None = None
    legal_representatives: tuple[LegalRepresentative, ...] = ()
    approvals: tuple[Approval, ...] = ()


CertificationScheme = Literal[
    "qualibat",
    "opqibi",
    "rge",
    "qualifelec",
    "fntp",
    "cnetp",
    "cibtp",
    "probtp",
    "probtp_compliance",
    "msa",
]
"""The certification or attestation a :class:`Certification` comes from."""

ComplianceStatus = Literal["compliant", "non_compliant", "under_investigation"]
"""Whether contributions are paid up (MSA, ProBTP)."""


class Insurance(_Part):
    """An insurance a certification body recorded (civil liability, ten-year...)."""

    kind: str | None = None
    name: str | None = None
    reference: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None


class Qualification(_Part):
    """One qualification or domain a certification covers."""

    code: str | None = None
    label: str | None = None
    certificate: str | None = None
    """Name of the certificate holding the qualification (RGE: ``Qualisol CESI``)."""
    rge: bool | None = None
    """Reconnu garant de l'environnement."""
    probationary: bool = False
    body: str | None = None
    """Certification body (``qualibat``, ``qualifelec``...), when the list mixes them."""
    domains: tuple[str, ...] = ()
    granted_on: date | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    document: Document | None = None


class Certification(Fact):
    """A professional certification or a contribution attestation (Qualibat, RGE, MSA...).

    The base of the certification kinds: each scheme is a subclass, and the
    subclass is the kind (``client.get(siret, QualibatCertification)``);
    ``isinstance(fact, Certification)`` holds for all of them and ``scheme``
    says which. A document-only attestation (FNTP, CNETP, CIBTP, ProBTP) has
    just ``document``; MSA and ProBTP compliance have just ``status``. ``level``
    is that of the endpoint (most are per establishment; OPQIBI, FNTP and CNETP
    are per legal unit).
    """

    level: ClassVar[Level] = "siret"

    scheme: CertificationScheme
    holder: str | None = None
    reference: str | None = None
    """Certificate number."""
    valid_from: date | None = None
    valid_until: date | None = None
    status: ComplianceStatus | None = None
    document: Document | None = None
    url: str | None = None
    """Public page describing the certification, when the scheme has one."""
    details: tuple[Qualification, ...] = ()
    insurances: tuple[Insurance, ...] = ()

    def is_valid_on(self, day: date) -> bool | None:
        """Whether ``day`` falls in the validity period (``None``: no end date known)."""
        if self.valid_until is None:
            return None
        return (self.valid_from is None or self.valid_from <= day) and day <= self.valid_until


class QualibatCertification(Certification):
    """Qualibat certification bâtiment: building trade qualifications, insurances, PDF."""

    scheme: Literal["qualibat"] = "qualibat"


class OpqibiCertification(Certification):
    """OPQIBI certification ingénierie: engineering qualifications (per legal unit)."""

    level: ClassVar[Level] = "siren"

    scheme: Literal["opqibi"] = "opqibi"


class RgeCertification(Certification):
    """ADEME RGE (reconnu garant de l'environnement): one qualification per certificate."""

    scheme: Literal["rge"] = "rge"


class QualifelecCertification(Certification):
    """Qualifelec certificates: electrical trade qualifications, insurances."""

    scheme: Literal["qualifelec"] = "qualifelec"


class FntpCertification(Certification):
    """FNTP carte professionnelle travaux publics (a PDF; per legal unit)."""

    level: ClassVar[Level] = "siren"

    scheme: Literal["fntp"] = "fntp"


class CnetpCertification(Certification):
    """CNETP attestation: paid holidays and bad-weather contributions paid (a PDF; per
    legal unit)."""

    level: ClassVar[Level] = "siren"

    scheme: Literal["cnetp"] = "cnetp"


class CibtpCertification(Certification):
    """CIBTP attestation: paid holidays and bad-weather contributions paid (a PDF)."""

    scheme: Literal["cibtp"] = "cibtp"


class ProbtpCertification(Certification):
    """ProBTP attestation: supplementary pension contributions paid (a PDF)."""

    scheme: Literal["probtp"] = "probtp"


class ProbtpCompliance(Certification):
    """ProBTP compliance: whether pension contributions are paid up (``status``)."""

    scheme: Literal["probtp_compliance"] = "probtp_compliance"


class MsaCertification(Certification):
    """MSA compliance: whether agricultural social contributions are paid up (``status``)."""

    scheme: Literal["msa"] = "msa"


CERTIFICATION_KINDS: dict[CertificationScheme, type[Certification]] = {
    "qualibat": QualibatCertification,
    "opqibi": OpqibiCertification,
    "rge": RgeCertification,
    "qualifelec": QualifelecCertification,
    "fntp": FntpCertification,
    "cnetp": CnetpCertification,
    "cibtp": CibtpCertification,
    "probtp": ProbtpCertification,
    "probtp_compliance": ProbtpCompliance,
    "msa": MsaCertification,
}
"""The certification kind of each scheme."""

