"""API Entreprise evidence parsers: one pure function per endpoint.

Each ``parse_<name>(data, meta, provenance)`` takes the ``data`` and ``meta``
members of a successful payload (``data`` is an object, or a list for the
collection endpoints: turnover, RGE, Qualifelec, directors) and returns one
fact. A missing or mistyped field becomes ``None``; a payload without the
field(s) the fact cannot do without raises
:class:`~dlnuf.errors.UnexpectedPayload`, and nothing else ever escapes.

Error payloads (non-2xx) are not for these parsers: the source's error hook reads them
(:mod:`dlnuf.sources.api_entreprise.errors`). Which endpoint each parser reads,
its path, level and quota pool are in :data:`dlnuf.sources.api_entreprise.ENDPOINTS`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, TypeVar

from ...errors import UnexpectedPayload
from ...facts import evidence as kinds
from ...facts.base import Fact, Provenance
from ...facts.identity import Address
from ...identifiers import Rna, Siren, Siret
from ..parsing import Reader, as_dict, as_list, dig, iso_date, naf_code, person_name, siret_or_none

__all__ = [
    "EvidenceParser",
    "parse_association",
    "parse_association_rna",
    "parse_attestation_fiscale",
    "parse_attestation_vigilance",
    "parse_chiffres_affaires",
    "parse_cibtp",
    "parse_cnetp",
    "parse_effectifs_annuels",
    "parse_extrait_kbis",
    "parse_extrait_rne",
    "parse_fntp",
    "parse_mandataires_sociaux",
    "parse_msa",
    "parse_numero_tva",
    "parse_opqibi",
    "parse_probtp",
    "parse_probtp_compliance",
    "parse_qualibat",
    "parse_qualifelec",
    "parse_rge",
]

SOURCE: Final = "api_entreprise"

F = TypeVar("F", bound=Fact)
C = TypeVar("C", bound=kinds.Certification)
T = TypeVar("T")
EvidenceParser = Callable[[Any, dict[str, Any], Provenance], Fact]
"""``parse(data, meta, provenance) -> Fact``; raises only :class:`UnexpectedPayload`."""

_MAX_URL_SECONDS = 10 * 366 * 24 * 3600
_SHOW = 60


# --- Guard: every failure of a parser is an UnexpectedPayload -----------------------------


def _guarded(
    kind: type[F],
) -> Callable[
    [Callable[[Any, dict[str, Any], Provenance], F]],
    Callable[[Any, dict[str, Any], Provenance], F],
]:
    """Turn any reading error of the decorated parser into :class:`UnexpectedPayload`."""

    def decorate(
        parse: Callable[[Any, dict[str, Any], Provenance], F],
    ) -> Callable[[Any, dict[str, Any], Provenance], F]:
        @functools.wraps(parse)
        def guarded(data: Any, meta: dict[str, Any], provenance: Provenance) -> F:
            try:
                return parse(data, meta, provenance)
            except UnexpectedPayload:
                raise
            except (
                KeyError,
                TypeError,
                ValueError,  # also pydantic's ValidationError and InvalidIdentifier
                AttributeError,
                IndexError,
                OverflowError,
            ) as exc:
                source = getattr(provenance, "source", SOURCE)
                raise UnexpectedPayload(
                    f"{source} answered a {kind.__name__} payload dlnuf cannot read "
                    f"({type(exc).__name__}: {_clip(str(exc))})",
                    source=source,
                ) from None

        return guarded

    return decorate


def _clip(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW else text[:_SHOW] + "..."


# --- Small readers --------------------------------------------------------------------------


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a list (anything else in it is skipped); not a list: empty."""
    return [v for v in as_list(value) if isinstance(v, dict)]


def _object(data: Any, what: str = "data") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"'{what}' is {type(data).__name__}, not an object")
    return data


def _members(data: Any) -> list[dict[str, Any]]:
    """The resources of a collection payload: ``[{"data": {...}}, ...]`` -> the inner objects."""
    if not isinstance(data, list):
        raise ValueError(f"'data' is {type(data).__name__}, not a list")
    members = [inner for item in _dicts(data) if isinstance(inner := item.get("data"), dict)]
    if data and not members:
        raise ValueError("'data' holds no resource ({\"data\": {...}})")
    return members


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None else None


def _siren(value: Any) -> Siren | None:
    return Siren(value) if isinstance(value, str) and Siren.is_valid(value) else None


def _rna(value: Any) -> Rna | None:
    return Rna(value) if isinstance(value, str) and Rna.is_valid(value) else None


def _pick(mapping: Mapping[str, T], value: Any) -> T | None:
    """``mapping[value]`` for a string ``value``, else ``None`` (never a TypeError)."""
    return mapping.get(value) if isinstance(value, str) else None


def _span(details: Iterable[kinds.Qualification]) -> tuple[date | None, date | None]:
    """Earliest start and latest end over qualifications (granted or valid-from dates)."""
    starts: list[date] = []
    ends: list[date] = []
    for item in details:
        start = item.valid_from or item.granted_on
        if start is not None:
            starts.append(start)
        if item.valid_until is not None:
            ends.append(item.valid_until)
    return (min(starts) if starts else None, max(ends) if ends else None)


# --- Shared pieces: document, address, capital, people ------------------------------------


def _document(
    r: Reader,
    field: str,
    raw: dict[str, Any],
    provenance: Provenance,
    url_key: str = "document_url",
) -> kinds.Document | None:
    """The document behind ``raw[url_key]``; its URL expiry from ``*expires_in`` seconds.

    Only ``http(s)`` URLs are kept: anything else is not a document to download.
    """
    url = r.text(field, raw.get(url_key))
    if url is None or not url.lower().startswith(("https://", "http://")):
        return None
    seconds = _number(raw.get("document_url_expires_in", raw.get("expires_in")))
    expires_at = None
    if seconds is not None and 0 <= seconds <= _MAX_URL_SECONDS:
        expires_at = provenance.fetched_at + timedelta(seconds=seconds)
    return kinds.Document(
        url=url, url_expires_at=expires_at, media_type=kinds.Document.media_type_of(url)
    )


AddressKeys = Mapping[str, tuple[str, ...]]
"""Address field -> payload keys to try in order."""

_ASSOCIATION_ADDRESS: AddressKeys = {
    "number": ("numero_voie",),
    "street_type": ("type_voie",),
    "street_name": ("libelle_voie",),
    "complement": ("complement",),
    "special_distribution": ("distribution",),
    "postal_code": ("code_postal",),
    "city": ("commune",),
    "city_code": ("code_insee",),
}
_INFOGREFFE_ADDRESS: AddressKeys = {
    "number": ("numero",),
    "street_type": ("type",),
    # Infogreffe gives the street as number/type/voie, or as nom_postal, or as ligne_1.
    "street_name": ("voie", "nom_postal", "ligne_1"),
    "complement": ("ligne_2",),
    "postal_code": ("code_postal",),
    "city": ("bureau_distributeur", "localite"),
    "country": ("pays",),
}
_RNE_ADDRESS: AddressKeys = {
    "street_name": ("voie",),
    "complement": ("complement",),
    "postal_code": ("code_postal",),
    "city": ("commune",),
    "country": ("pays",),
}


def _address(r: Reader, field: str, raw: Any, keys: AddressKeys) -> Address | None:
    """An :class:`Address` read through ``keys``; ``None`` when nothing is known."""
    raw = as_dict(raw)
    values: dict[str, str] = {}
    for name, candidates in keys.items():
        for key in candidates:
            text = r.text(f"{field}.{name}", raw.get(key))
            if text is not None:
                values[name] = text
                break
    return Address(**values) if values else None


def _capital(r: Reader, raw: Any, currency_keys: tuple[str, ...]) -> kinds.Capital | None:
    raw = as_dict(raw)
    amount = _number(raw.get("montant"))
    currency = next(
        (c for key in currency_keys if (c := r.text("capital.currency", raw.get(key)))), None
    )
    if amount is None and currency is None:
        return None
    return kinds.Capital(amount=amount, currency=currency)


_DIRECTOR_KINDS: dict[str, Literal["person", "company"]] = {
    "personne_physique": "person",
    "personne_morale": "company",
}


def _director(r: Reader, raw: dict[str, Any]) -> kinds.Director:
    """An officer from an Infogreffe (mandataire social) or RNE (dirigeant) entry."""
    last = r.text("directors.last_name", raw.get("nom"))
    first = r.text("directors.first_names", raw.get("prenom"))
    company = r.text("directors.company_name", raw.get("raison_sociale")) or r.text(
        "directors.company_name", raw.get("denomination")
    )
    kind = _pick(_DIRECTOR_KINDS, raw.get("type"))
    if kind is None and (last or company):
        kind = "person" if last else "company"
    return kinds.Director(
        kind=kind,
        role=r.text("directors.role", raw.get("fonction"))
        or r.text("directors.role", raw.get("qualite")),
        last_name=last,
        first_names=first,
        company_name=company,
        siren=_siren(raw.get("numero_identification") or raw.get("siren")),
    )


def _directors(r: Reader, entries: Iterable[dict[str, Any]]) -> tuple[kinds.Director, ...]:
    return tuple(_director(r, entry) for entry in entries)


def _observations(r: Reader, raw: Any, text_key: str) -> tuple[kinds.Observation, ...]:
    return tuple(
        kinds.Observation(
            number=r.text("observations.number", entry.get("numero")),
            text=r.text("observations.text", entry.get(text_key)),
            recorded_on=iso_date(entry.get("date")),
        )
        for entry in _dicts(raw)
    )


def _insurance(r: Reader, kind: str | None, raw: Any) -> kinds.Insurance | None:
    raw = as_dict(raw)
    name = r.text("insurances.name", raw.get("nom"))
    reference = r.text("insurances.reference", raw.get("identifiant"))
    if name is None and reference is None:
        return None
    return kinds.Insurance(
        kind=kind,
        name=name,
        reference=reference,
        valid_from=iso_date(raw.get("date_debut")),
        valid_until=iso_date(raw.get("date_fin")),
    )


def _withheld(r: Reader) -> frozenset[str]:
    return frozenset(r.withheld)


# --- Attestations: DGFIP, URSSAF ------------------------------------------------------------


@_guarded(kinds.TaxCertificate)
def parse_attestation_fiscale(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.TaxCertificate:
    """DGFIP attestation fiscale (v4; v3 payloads read the same, ``expires_in`` aside)."""
    raw = _object(data)
    r = Reader()
    document = _document(r, "document", raw, provenance)
    if document is None:
        raise ValueError(f"no usable document_url ({_show(raw.get('document_url'))})")
    return kinds.TaxCertificate(
        issued_on=iso_date(raw.get("date_delivrance_attestation")),
        period_analysed=iso_date(raw.get("date_periode_analysee")),
        document=document,
        withheld=_withheld(r),
        provenance=provenance,
    )


_VIGILANCE_STATUS: dict[str, Literal["delivered", "refused"]] = {
    "ok": "delivered",
    "refus_de_delivrance": "refused",
}


@_guarded(kinds.SocialCertificate)
def parse_attestation_vigilance(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.SocialCertificate:
    """URSSAF attestation de vigilance (v4); a refusal is a fact with no document.

    A v3 payload (a document and no ``entity_status``) reads as delivered.
    """
    raw = _object(data)
    r = Reader()
    document = _document(r, "document", raw, provenance)
    code = dig(raw, "entity_status", "code")
    status = _pick(_VIGILANCE_STATUS, code)
    if status is None and code is None and document is not None:
        status = "delivered"
    if status is None:
        raise ValueError(f"entity_status.code {_show(code)} is neither 'ok' nor a refusal")
    return kinds.SocialCertificate(
        status=status,
        status_label=r.text("status_label", dig(raw, "entity_status", "libelle")),
        valid_from=iso_date(raw.get("date_debut_validite")),
        valid_until=iso_date(raw.get("date_fin_validite")),
        security_code=r.text("security_code", raw.get("code_securite")),
        document=document if status == "delivered" else None,
        withheld=_withheld(r),
        provenance=provenance,
    )


# --- Registries: Infogreffe, INPI -----------------------------------------------------------


@_guarded(kinds.RegistryExtract)
def parse_extrait_kbis(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.RegistryExtract:
    """Infogreffe extrait RCS (Kbis), with the officers it lists."""
    raw = _object(data)
    siren = _siren(raw.get("siren"))
    if siren is None:
        raise ValueError(f"data.siren {_show(raw.get('siren'))} is not a valid SIREN")
    r = Reader()
    court_info = as_dict(raw.get("greffe"))
    company = as_dict(raw.get("personne_morale"))
    person = as_dict(raw.get("personne_physique"))
    legal_form = as_dict(company.get("forme_juridique"))
    main = as_dict(raw.get("etablissement_principal"))
    court = r.text("court", court_info.get("valeur"))
    return kinds.RegistryExtract(
        siren=siren,
        registration_number=f"RCS {court.upper()} {siren.formatted}" if court else None,
        registered_on=iso_date(raw.get("date_immatriculation")),
        struck_off_on=iso_date(raw.get("date_radiation")),
        extract_date=iso_date(raw.get("date_extrait")),
        court=court,
        court_code=r.text("court_code", court_info.get("code")),
        company_name=r.text("company_name", company.get("denomination")),
        trade_name=r.text("trade_name", raw.get("nom_commercial")),
        legal_form_code=r.text("legal_form_code", legal_form.get("code")),
        legal_form_label=r.text("legal_form_label", legal_form.get("valeur")),
        naf_code=naf_code(r.text("naf_code", main.get("code_ape"))),
        activity=r.text("activity", main.get("activite")),
        capital=_capital(r, raw.get("capital"), ("code_devise", "devise")),
        head_office=_address(r, "head_office", person.get("adresse"), _INFOGREFFE_ADDRESS),
        fiscal_year_end=r.text("fiscal_year_end", company.get("date_cloture_exercice_comptable")),
        directors=_directors(r, _dicts(raw.get("mandataires_sociaux"))),
        observations=_observations(r, raw.get("observations"), "libelle"),
        withheld=_withheld(r),
        provenance=provenance,
    )


@_guarded(kinds.Directors)
def parse_mandataires_sociaux(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.Directors:
    """Infogreffe mandataires sociaux: the officers of a company registered at the RCS."""
    r = Reader()
    return kinds.Directors(
        directors=_directors(r, _members(data)), withheld=_withheld(r), provenance=provenance
    )


@_guarded(kinds.RneExtract)
def parse_extrait_rne(data: Any, meta: dict[str, Any], provenance: Provenance) -> kinds.RneExtract:
    """INPI extrait RNE: registration, legal form, capital, head office, officers."""
    raw = _object(data)
    company = _object(raw.get("identite_entreprise"), "data.identite_entreprise")
    siren = _siren(company.get("siren"))
    if siren is None:
        raise ValueError(
            f"identite_entreprise.siren {_show(company.get('siren'))} is not a valid SIREN"
        )
    r = Reader()
    given = company.get("prenoms")
    first_names = " ".join(
        name for value in as_list(given) if (name := r.text("legal_name", value))
    )
    legal_form = as_dict(company.get("forme_juridique"))
    return kinds.RneExtract(
        siren=siren,
        legal_name=r.text("legal_name", company.get("denomination"))
        or person_name(first_names or None, r.text("legal_name", company.get("nom")), None),
        registered_on=iso_date(company.get("date_immatriculation_rne")),
        activity_started_on=iso_date(company.get("date_debut_activite")),
        dissolved_on=iso_date(dig(company, "dissolution", "date")),
        nature=r.text("nature", company.get("nature_entreprise")),
        legal_form_code=r.text("legal_form_code", legal_form.get("code")),
        legal_form_label=r.text("legal_form_label", legal_form.get("libelle")),
        naf_code=naf_code(r.text("naf_code", dig(company, "code_APE", "code"))),
        activity=r.text("activity", company.get("activite_principales_objet_social")),
        capital=_capital(r, company.get("capital_social"), ("devise",)),
        head_office=_address(r, "head_office", company.get("adresse_siege_social"), _RNE_ADDRESS),
        fiscal_year_end=r.text("fiscal_year_end", company.get("date_cloture_exercice")),
        directors=_directors(r, _dicts(raw.get("dirigeants_et_associes"))),
        observations=_observations(r, raw.get("observations"), "texte"),
        document=_document(r, "document", raw, provenance),
        withheld=_withheld(r),
        provenance=provenance,
    )


# --- Figures: turnover, headcount, VAT ----------------------------------------------------


@_guarded(kinds.Turnover)
def parse_chiffres_affaires(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.Turnover:
    """DGFIP chiffres d'affaires: one entry per financial year, sorted newest first.

    An entry without an amount or a closing date is skipped; a non-empty list
    where no entry is usable is an :class:`UnexpectedPayload`.
    """
    entries = _members(data)
    years: list[kinds.TurnoverYear] = []
    for entry in entries:
        amount = _integer(entry.get("chiffre_affaires"))
        closing = iso_date(entry.get("date_fin_exercice"))
        if amount is None or closing is None:
            continue
        years.append(
            kinds.TurnoverYear(
                amount=amount,
                closing_date=closing,
                start_date=iso_date(entry.get("date_debut_exercice")),
            )
        )
    if entries and not years:
        raise ValueError("no financial year has both chiffre_affaires and date_fin_exercice")
    years.sort(key=lambda year: year.closing_date, reverse=True)
    return kinds.Turnover(years=tuple(years), provenance=provenance)


def _year(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit() and value.isascii():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1800 <= value <= 2200:
        return value
    return None


@_guarded(kinds.Headcount)
def parse_effectifs_annuels(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.Headcount:
    """GIP-MDS effectifs annuels: the latest figure of each regime, added up."""
    raw = _object(data)
    year = _year(raw.get("annee"))
    if year is None:
        raise ValueError(f"data.annee {_show(raw.get('annee'))} is not a year")
    if not isinstance(raw.get("effectifs_annuel"), list):
        raise ValueError("data.effectifs_annuel is not a list")
    r = Reader()
    entries = tuple(
        kinds.HeadcountEntry(
            regime=r.text("regimes.regime", entry.get("regime")),
            nature=r.text("regimes.nature", entry.get("nature")),
            value=_number(entry.get("value")),
            updated_on=iso_date(entry.get("date_derniere_mise_a_jour")),
        )
        for entry in _dicts(raw.get("effectifs_annuel"))
    )
    nature = next((e.nature for e in entries if e.nature), None)
    latest: dict[str | None, kinds.HeadcountEntry] = {}
    for entry in sorted(entries, key=lambda e: e.updated_on or date.min):
        if entry.nature == nature:
            latest[entry.regime] = entry  # a later update of a regime replaces the earlier
    values = [e.value for e in latest.values() if e.value is not None]
    return kinds.Headcount(
        year=year,
        headcount=sum(values) if values else None,
        nature=nature,
        regimes=entries,
        withheld=_withheld(r),
        provenance=provenance,
    )


@_guarded(kinds.VatNumber)
def parse_numero_tva(data: Any, meta: dict[str, Any], provenance: Provenance) -> kinds.VatNumber:
    """European Commission numéro de TVA, checked against the number computed from its SIREN."""
    raw = _object(data)
    r = Reader()
    text = r.text("number", raw.get("tva_number"))
    if text is None:
        raise ValueError(f"data.tva_number {_show(raw.get('tva_number'))} is not a number")
    number = "".join(text.split()).upper()
    siren = _siren(number[4:]) if number.startswith("FR") and len(number) == 13 else None
    return kinds.VatNumber(
        number=number,
        siren=siren,
        matches_computed=siren is not None and siren.vat_number == number,
        withheld=_withheld(r),
        provenance=provenance,
    )


# --- Associations ---------------------------------------------------------------------------


def _updated(provenance: Provenance, meta: dict[str, Any], *keys: str) -> Provenance:
    """``provenance`` with ``updated_at`` from the latest ISO date of ``meta[keys]``."""
    if provenance.updated_at is not None:
        return provenance
    days = [d for key in keys if (d := iso_date(as_dict(meta).get(key))) is not None]
    if not days:
        return provenance
    return provenance.model_copy(update={"updated_at": datetime.combine(max(days), time(), UTC)})


def _representatives(
    r: Reader, establishments: list[dict[str, Any]], head_office: Siret | None
) -> tuple[kinds.LegalRepresentative, ...]:
    """Representatives declared by each establishment, the head office's first."""

    def is_head_office(establishment: dict[str, Any]) -> bool:
        siret = siret_or_none(establishment.get("siret"))
        return establishment.get("siege") is True or (siret is not None and siret == head_office)

    people: list[kinds.LegalRepresentative] = []
    for establishment in sorted(establishments, key=lambda e: not is_head_office(e)):
        siret = siret_or_none(establishment.get("siret"))
        for person in _dicts(establishment.get("representants_legaux")):
            people.append(
                kinds.LegalRepresentative(
                    civility=r.text("legal_representatives.civility", person.get("civilite")),
                    last_name=r.text("legal_representatives.last_name", person.get("nom")),
                    first_names=r.text("legal_representatives.first_names", person.get("prenom")),
                    role=r.text("legal_representatives.role", person.get("fonction")),
                    phone=r.text("legal_representatives.phone", person.get("telephone")),
                    email=r.text("legal_representatives.email", person.get("courriel")),
                    siret=siret,
                )
            )
    return tuple(people)


def _local_registration(r: Reader, raw: Any) -> kinds.LocalRegistration | None:
    raw = as_dict(raw)
    registration = kinds.LocalRegistration(
        court=r.text("local_registration.court", raw.get("tribunal_instance")),
        volume=r.text("local_registration.volume", raw.get("volume")),
        folio=r.text("local_registration.folio", raw.get("folio")),
        registered_on=iso_date(raw.get("date_publication_registre_association")),
    )
    return registration if registration != kinds.LocalRegistration() else None


@_guarded(kinds.Association)
def parse_association(data: Any, meta: dict[str, Any], provenance: Provenance) -> kinds.Association:
    """DJEPVA api-association (v4, protected or open data): an association's record."""
    raw = _object(data)
    r = Reader()
    rna = _rna(raw.get("rna"))
    siren = _siren(raw.get("siren"))
    title = r.text("title", raw.get("nom"))
    if rna is None and siren is None and title is None:
        raise ValueError("the association has no rna, siren or nom")
    activities = as_dict(raw.get("activites"))
    legal_form = as_dict(raw.get("forme_juridique"))
    head_office_siret = siret_or_none(raw.get("siret_siege"))
    return kinds.Association(
        rna=rna,
        siren=siren,
        title=title,
        acronym=r.text("acronym", raw.get("sigle")),
        object=r.text("object", activities.get("objet")),
        regime=r.text("regime", raw.get("regime")),
        legal_form_code=r.text("legal_form_code", legal_form.get("code")),
        legal_form_label=r.text("legal_form_label", legal_form.get("libelle")),
        head_office=_address(r, "head_office", raw.get("adresse_siege"), _ASSOCIATION_ADDRESS),
        head_office_siret=head_office_siret,
        naf_code=naf_code(r.text("naf_code", dig(activities, "activite_principale", "code"))),
        creation_date=iso_date(raw.get("date_creation")),
        published_on=iso_date(raw.get("date_publication_journal_officiel")),
        dissolution_date=iso_date(raw.get("date_dissolution")),
        active=r.flag("active", raw.get("active")),
        public_utility=r.flag("public_utility", raw.get("reconnue_utilite_publique")),
        public_utility_date=iso_date(raw.get("date_publication_reconnue_utilite_publique")),
        ess=r.flag("ess", activities.get("economie_sociale_et_solidaire")),
        commercial_taxes=r.flag("commercial_taxes", raw.get("impots_commerciaux")),
        local_registration=_local_registration(r, raw.get("alsace_moselle")),
        legal_representatives=_representatives(
            r, _dicts(raw.get("etablissements")), head_office_siret
        ),
        approvals=tuple(
            kinds.Approval(
                number=r.text("approvals.number", item.get("numero")),
                kind=r.text("approvals.kind", item.get("type")),
                granted_on=iso_date(item.get("date_attribution")),
                authority=r.text("approvals.authority", item.get("attributeur")),
                level=r.text("approvals.level", item.get("niveau")),
            )
            for item in _dicts(raw.get("agrements"))
        ),
        withheld=_withheld(r),
        provenance=_updated(
            provenance, meta, "date_derniere_mise_a_jour_rna", "date_derniere_mise_a_jour_sirene"
        ),
    )


@_guarded(kinds.Association)
def parse_association_rna(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.Association:
    """Ministère de l'Intérieur RNA (v3): the declared record of an association."""
    raw = _object(data)
    r = Reader()
    rna = _rna(raw.get("rna_id"))
    title = r.text("title", raw.get("titre"))
    head_office_siret = siret_or_none(raw.get("siret_siege_social"))
    some_siret = head_office_siret or siret_or_none(raw.get("siret"))
    if rna is None and title is None and some_siret is None:
        raise ValueError("the association has no rna_id, titre or siret")
    return kinds.Association(
        rna=rna,
        siren=some_siret.siren if some_siret else None,
        title=title,
        object=r.text("object", raw.get("objet")),
        head_office=_address(r, "head_office", raw.get("adresse_siege"), _ASSOCIATION_ADDRESS),
        head_office_siret=head_office_siret,
        creation_date=iso_date(raw.get("date_creation")),
        published_on=iso_date(raw.get("date_publication")),
        dissolution_date=iso_date(raw.get("date_dissolution")),
        active=r.flag("active", raw.get("etat")),
        withheld=_withheld(r),
        provenance=_updated(provenance, meta, "date_derniere_mise_a_jour"),
    )


# --- Certifications -------------------------------------------------------------------------


def _document_only(kind: type[C], data: Any, provenance: Provenance) -> C:
    """An attestation that is a document and nothing else (FNTP, CNETP, CIBTP, ProBTP)."""
    raw = _object(data)
    r = Reader()
    document = _document(r, "document", raw, provenance)
    if document is None:
        raise ValueError(f"no usable document_url ({_show(raw.get('document_url'))})")
    return kind.model_validate(
        {"document": document, "withheld": _withheld(r), "provenance": provenance}
    )


@_guarded(kinds.FntpCertification)
def parse_fntp(data: Any, meta: dict[str, Any], provenance: Provenance) -> kinds.FntpCertification:
    """FNTP carte professionnelle travaux publics (a document)."""
    return _document_only(kinds.FntpCertification, data, provenance)


@_guarded(kinds.CnetpCertification)
def parse_cnetp(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.CnetpCertification:
    """CNETP attestation congés payés / chômage intempéries (a document)."""
    return _document_only(kinds.CnetpCertification, data, provenance)


@_guarded(kinds.CibtpCertification)
def parse_cibtp(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.CibtpCertification:
    """CIBTP attestation congés payés / chômage intempéries (a document)."""
    return _document_only(kinds.CibtpCertification, data, provenance)


@_guarded(kinds.ProbtpCertification)
def parse_probtp(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.ProbtpCertification:
    """ProBTP attestation de cotisations retraite (a document)."""
    return _document_only(kinds.ProbtpCertification, data, provenance)


@_guarded(kinds.ProbtpCompliance)
def parse_probtp_compliance(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.ProbtpCompliance:
    """ProBTP conformité cotisations retraite: paid up (``compliant``) or not."""
    eligible = _object(data).get("eligible")
    if not isinstance(eligible, bool):
        raise ValueError(f"data.eligible {_show(eligible)} is not a boolean")
    return kinds.ProbtpCompliance(
        status="compliant" if eligible else "non_compliant",
        provenance=provenance,
    )


_MSA_STATUS: dict[str, kinds.ComplianceStatus] = {
    "up_to_date": "compliant",
    "outdated": "non_compliant",
    "under_investigation": "under_investigation",
}


@_guarded(kinds.MsaCertification)
def parse_msa(data: Any, meta: dict[str, Any], provenance: Provenance) -> kinds.MsaCertification:
    """MSA conformité cotisations (agricultural social security): paid up or not."""
    raw_status = _object(data).get("status")
    status = _pick(_MSA_STATUS, raw_status)
    if status is None:
        raise ValueError(f"data.status {_show(raw_status)} is not an MSA status")
    return kinds.MsaCertification(status=status, provenance=provenance)


@_guarded(kinds.QualibatCertification)
def parse_qualibat(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.QualibatCertification:
    """Qualibat certification bâtiment (v4; a v3 payload gives the document alone)."""
    raw = _object(data)
    r = Reader()
    entity = as_dict(raw.get("entity"))
    details = tuple(
        kinds.Qualification(
            code=r.text("details.code", item.get("code")),
            label=r.text("details.label", item.get("libelle")),
            rge=r.flag("details.rge", item.get("rge")),
            granted_on=iso_date(item.get("date_attribution")),
        )
        for item in _dicts(entity.get("certifications"))
    )
    document = _document(r, "document", raw, provenance)
    if document is None and not details:
        raise ValueError("neither a document_url nor certifications")
    insurances = (
        _insurance(r, "works_liability", entity.get("assurance_responsabilite_travaux")),
        _insurance(r, "civil_liability", entity.get("assurance_responsabilite_civile")),
    )
    return kinds.QualibatCertification(
        valid_from=iso_date(raw.get("date_emission")),
        valid_until=iso_date(raw.get("date_fin_validite")),
        document=document,
        details=details,
        insurances=tuple(i for i in insurances if i is not None),
        withheld=_withheld(r),
        provenance=provenance,
    )


def _opqibi_qualifications(
    r: Reader, raw: Any, probationary: bool, valid_until: date | None
) -> tuple[kinds.Qualification, ...]:
    return tuple(
        kinds.Qualification(
            code=r.text("details.code", item.get("code_qualification")),
            label=r.text("details.label", item.get("nom")),
            rge=r.flag("details.rge", item.get("rge")),
            probationary=probationary,
            valid_until=valid_until,
        )
        for item in _dicts(raw)
    )


@_guarded(kinds.OpqibiCertification)
def parse_opqibi(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.OpqibiCertification:
    """OPQIBI certification ingénierie: qualifications, probationary ones flagged."""
    raw = _object(data)
    r = Reader()
    valid_until = iso_date(raw.get("date_validite_qualifications"))
    details = _opqibi_qualifications(
        r, raw.get("qualifications"), False, valid_until
    ) + _opqibi_qualifications(
        r,
        raw.get("qualifications_probatoires"),
        True,
        iso_date(raw.get("date_validite_qualifications_probatoires")),
    )
    reference = r.text("reference", raw.get("numero_certificat"))
    valid_from = iso_date(raw.get("date_delivrance_certificat"))
    if reference is None and valid_from is None and not details:
        raise ValueError("no numero_certificat, date_delivrance_certificat or qualifications")
    insurer = r.text("insurances.name", raw.get("assurances"))
    url = r.text("url", raw.get("url"))
    return kinds.OpqibiCertification(
        reference=reference,
        valid_from=valid_from,
        valid_until=valid_until,
        url=url if url and url.lower().startswith(("https://", "http://")) else None,
        details=details,
        insurances=(kinds.Insurance(name=insurer),) if insurer else (),
        withheld=_withheld(r),
        provenance=provenance,
    )


@_guarded(kinds.RgeCertification)
def parse_rge(data: Any, meta: dict[str, Any], provenance: Provenance) -> kinds.RgeCertification:
    """ADEME certificats RGE: one qualification per certificate; archived ones are left out."""
    r = Reader()
    details = tuple(
        kinds.Qualification(
            code=r.text("details.code", dig(item, "qualification", "code")),
            label=r.text("details.label", dig(item, "qualification", "nom")),
            certificate=r.text("details.certificate", item.get("nom_certificat")),
            rge=True,
            body=r.text("details.body", item.get("organisme")),
            domains=tuple(d for d in (r.text("details.domains", item.get("domaine")),) if d),
            granted_on=iso_date(item.get("date_attribution")),
            valid_until=iso_date(item.get("date_expiration")),
            document=_document(r, "details.document", item, provenance, url_key="url"),
        )
        for item in _members(data)
        if dig(item, "meta", "archived") is not True
    )
    valid_from, valid_until = _span(details)
    return kinds.RgeCertification(
        valid_from=valid_from,
        valid_until=valid_until,
        details=details,
        withheld=_withheld(r),
        provenance=provenance,
    )


_QUALIFELEC_INSURANCES = (
    ("ten_year", "assurance_decennale"),
    ("civil_liability", "assurance_civile"),
)


@_guarded(kinds.QualifelecCertification)
def parse_qualifelec(
    data: Any, meta: dict[str, Any], provenance: Provenance
) -> kinds.QualifelecCertification:
    """Qualifelec certificats: one qualification per certificate, with its document."""
    r = Reader()
    details: list[kinds.Qualification] = []
    insurances: dict[kinds.Insurance, None] = {}
    for item in _members(data):
        qualification = as_dict(item.get("qualification"))
        mentions = {m.get("code") for m in _dicts(qualification.get("mentions"))}
        details.append(
            kinds.Qualification(
                code=r.text("details.code", item.get("numero")),
                label=r.text("details.label", qualification.get("label")),
                rge=r.flag("details.rge", item.get("rge")),
                probationary="PRGE" in mentions,
                domains=tuple(
                    label
                    for domain in _dicts(qualification.get("domaines"))
                    if (label := r.text("details.domains", domain.get("label")))
                ),
                valid_from=iso_date(item.get("date_debut")),
                valid_until=iso_date(item.get("date_fin")),
                document=_document(r, "details.document", item, provenance),
            )
        )
        for kind, key in _QUALIFELEC_INSURANCES:
            insurance = _insurance(r, kind, item.get(key))
            if insurance is not None:
                insurances[insurance] = None
    valid_from, valid_until = _span(details)
    return kinds.QualifelecCertification(
        valid_from=valid_from,
        valid_until=valid_until,
        details=tuple(details),
        insurances=tuple(insurances),
        withheld=_withheld(r),
        provenance=provenance,
    )
