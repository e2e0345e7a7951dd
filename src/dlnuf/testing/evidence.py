"""Evidence of fake companies, in API Entreprise's payload shapes (attestations, Kbis...).

:func:`render` builds the answer of one evidence endpoint for a
:class:`~dlnuf.testing.companies.FakeCompany`: a delivered (or refused)
attestation, a Kbis, turnover, headcount, VAT number, association record or
certification, with dates around ``today`` and deterministic figures derived
from the SIREN. :func:`register_evidence` teaches :class:`~dlnuf.testing.FakeUpstreams`
every evidence endpoint of :data:`dlnuf.sources.api_entreprise.ENDPOINTS`, with
its quota pool; ``scripts/build_sandbox_evidence.py`` uses :func:`render` for the
sandbox's demo companies.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from ..facts.base import Fact
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
from ..identifiers import Siren
from .companies import FakeCompany
from .upstreams.api_entreprise import NOT_FOUND_PAYLOAD, register_api_entreprise

__all__ = ["EVIDENCE_KINDS", "FILES_URL", "register_evidence", "render"]

FILES_URL = "https://storage.entreprise.api.gouv.fr/files"
"""Where the fake documents' URLs point (mock it to serve the PDFs)."""

Payload = dict[str, Any]
_Renderer = Callable[[FakeCompany, date, str, bool], Payload]


def _number(company: FakeCompany, salt: str, low: int, high: int) -> int:
    """A deterministic number in ``[low, high]`` for this company."""
    digest = hashlib.sha256(f"{company.siren}:{salt}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _month_end(day: date, months: int = 0) -> date:
    """The last day of the month ``months`` after ``day``'s month."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _resource(data: Payload) -> Payload:
    return {"data": data, "links": {}, "meta": {}}


def _collection(items: list[Payload]) -> Payload:
    return {"data": [_resource(item) for item in items], "links": {}, "meta": {}}


def _document(files: str, name: str, company: FakeCompany, seconds: int = 86400) -> Payload:
    url = f"{files}/{name}_{company.siren}.pdf"
    return {"document_url": url, "document_url_expires_in": seconds}


def _name(company: FakeCompany) -> str:
    return company.legal_name or company.trade_name or f"ENTREPRISE {company.siren}"


def _court(company: FakeCompany) -> str:
    city = (company.address.city or "PARIS").upper()
    return city.split(" ")[0] if city.split(" ")[-1].isdigit() else city


def _president(company: FakeCompany) -> tuple[str, str]:
    if company.person is not None:
        return company.person.birth_name, company.person.first_name.title()
    names = ("MARTIN", "BERNARD", "PETIT", "DURAND", "LEROY", "MOREAU", "SIMON", "LAURENT")
    firsts = ("Claire", "Julien", "Sophie", "Nicolas", "Isabelle", "Thomas", "Nathalie", "Marc")
    return names[_number(company, "nom", 0, 7)], firsts[_number(company, "prenom", 0, 7)]


# --- Attestations ------------------------------------------------------------------------


def _tax(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _resource({
        **_document(files, "attestation_fiscale", company),
        "date_delivrance_attestation": today.isoformat(),
        "date_periode_analysee": _month_end(today, -1).isoformat(),
    })


def _social(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    if refused:
        return _resource({
            "document_url": None,
            "document_url_expires_in": None,
            "date_debut_validite": None,
            "date_fin_validite": None,
            "code_securite": None,
            "entity_status": {
                "code": "refus_de_delivrance",
                "libelle": "Délivrance de l'attestation refusée par l'Urssaf",
                "description": "L'entité n'est pas à jour de ses cotisations sociales.",
            },
        })
    start = _month_end(today, -1)
    code = hashlib.sha256(f"{company.siren}:urssaf".encode()).hexdigest()[:15].upper()
    return _resource({
        **_document(files, "attestation_vigilance", company),
        "date_debut_validite": start.isoformat(),
        "date_fin_validite": _month_end(start, 6).isoformat(),
        "code_securite": code,
        "entity_status": {"code": "ok", "libelle": "Attestation délivrée par l'Urssaf"},
    })


# --- Registries ----------------------------------------------------------------------------


def _kbis(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    last, first = _president(company)
    a = company.address
    person = None
    if company.person is not None:
        person = {
            "adresse": {
                "numero": a.number, "type": a.street_type, "voie": a.street,
                "code_postal": a.postal_code, "localite": a.city, "pays": "FRANCE",
            },
            "nom": company.person.birth_name,
            "prenom": company.person.first_name,
        }
    return _resource({
        "siren": company.siren,
        "date_radiation": None,
        "date_extrait": today.isoformat(),
        "date_immatriculation": (company.created or date(2000, 1, 3)).isoformat(),
        "mandataires_sociaux": [] if company.person else [{
            "numero_identification": None, "type": "personne_physique",
            "fonction": "Président", "nom": last, "prenom": first, "raison_sociale": None,
        }],
        "observations": [],
        "nom_commercial": company.trade_name,
        "etablissement_principal": {
            "activite": company.naf[1], "code_ape": company.naf[0].replace(".", ""),
        },
        "capital": None if company.person else {
            "montant": float(_number(company, "capital", 1, 500) * 1000),
            "devise": "EUROS", "code_devise": "EUR",
        },
        "greffe": {"valeur": _court(company), "code": (a.city_code or "7501")[:4]},
        "personne_physique": person,
        "personne_morale": None if company.person else {
            "forme_juridique": {"valeur": company.legal_form[1].upper(),
                                "code": company.legal_form[0]},
            "denomination": company.name,
            "date_cloture_exercice_comptable": "12-31",
        },
    })


def _directors(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    last, first = _president(company)
    return _collection([
        {"type": "personne_physique", "fonction": "PRESIDENT", "nom": last, "prenom": first},
    ])


def _rne(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    last, first = _president(company)
    a = company.address
    street = " ".join(p for p in (a.number, a.street_type, a.street) if p)
    return _resource({
        "document_url": f"{files}/extrait_rne_{company.siren}.pdf",
        "identite_entreprise": {
            "denomination": company.name,
            "nom": company.person.birth_name if company.person else None,
            "prenoms": [company.person.first_name] if company.person else [],
            "siren": company.siren,
            "date_immatriculation_rne": (company.created or date(2000, 1, 3)).isoformat(),
            "date_debut_activite": (company.created or date(2000, 1, 3)).isoformat(),
            "dissolution": {"date": None},
            "date_cloture_exercice": "12-31",
            "nature_entreprise": "COMMERCIALE",
            "forme_juridique": {"code": company.legal_form[0], "libelle": company.legal_form[1]},
            "activite_principales_objet_social": company.naf[1],
            "code_APE": {"code": company.naf[0].replace(".", ""), "libelle": company.naf[1]},
            "capital_social": None if company.person else {
                "montant": float(_number(company, "capital", 1, 500) * 1000), "devise": "EUR",
            },
            "adresse_siege_social": {
                "voie": street or None, "code_postal": a.postal_code, "commune": a.city,
                "pays": "FRANCE", "complement": a.complement,
            },
        },
        "dirigeants_et_associes": [{"qualite": "Président", "nom": last, "prenom": first}],
        "observations": [],
    })


# --- Figures -------------------------------------------------------------------------------


def _turnover(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    base = _number(company, "ca", 80, 9000) * 1000
    return _collection([
        {
            "chiffre_affaires": base + _number(company, f"ca{year}", 0, 400) * 1000,
            "date_fin_exercice": date(year, 12, 31).isoformat(),
        }
        for year in range(today.year - 1, today.year - 4, -1)
    ])


def _headcount(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    year = today.year - 1
    return _resource({
        "siren": company.siren,
        "annee": str(year),
        "effectifs_annuel": [{
            "regime": "regime_general",
            "value": _number(company, "effectif", 1, 240),
            "nature": "effectif_moyen_annuel",
            "date_derniere_mise_a_jour": date(year + 1, 1, 15).isoformat(),
        }],
    })


def _vat(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _resource({"tva_number": Siren(company.siren).vat_number})


def _association(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    a = company.address
    last, first = _president(company)
    return _resource({
        "rna": company.rna,
        "siren": company.siren,
        "nom": _name(company),
        "sigle": company.sigle,
        "reconnue_utilite_publique": False,
        "siret_siege": company.head_office_siret_or_self,
        "forme_juridique": {"code": company.legal_form[0], "libelle": company.legal_form[1]},
        "regime": "Loi 1901",
        "impots_commerciaux": False,
        "date_dissolution": None,
        "date_publication_journal_officiel": (company.created or date(2000, 1, 3)).isoformat(),
        "active": company.active,
        "date_creation": (company.created or date(2000, 1, 3)).isoformat(),
        "adresse_siege": {
            "numero_voie": a.number, "type_voie": a.street_type, "libelle_voie": a.street,
            "complement": a.complement, "code_insee": a.city_code,
            "code_postal": a.postal_code, "commune": a.city,
        },
        "agrements": [],
        "activites": {
            "objet": f"Activités de l'association {_name(company)}",
            "activite_principale": {"code": company.naf[0], "libelle": company.naf[1]},
            "economie_sociale_et_solidaire": bool(company.ess),
        },
        "etablissements": [{
            "siret": company.head_office_siret_or_self,
            "siege": True,
            "representants_legaux": [{
                "civilite": None, "nom": last, "prenom": first, "fonction": "Président",
                "telephone": None, "courriel": None,
            }],
        }],
    })


# --- Certifications ------------------------------------------------------------------------


def _qualibat(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _resource({
        **_document(files, "qualibat", company),
        "date_emission": (today - timedelta(days=200)).isoformat(),
        "date_fin_validite": _month_end(today, 18).isoformat(),
        "entity": {
            "assurance_responsabilite_travaux": {"nom": "MUTUELLE DU BATIMENT",
                                                 "identifiant": company.siren},
            "assurance_responsabilite_civile": {"nom": "MUTUELLE DU BATIMENT",
                                                "identifiant": company.siren},
            "certifications": [{
                "code": "5111", "libelle": "Plomberie sanitaire (technicité courante)",
                "rge": False, "date_attribution": (today - timedelta(days=900)).isoformat(),
            }],
        },
    })


def _opqibi(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _resource({
        "numero_certificat": f"{_number(company, 'opqibi', 1000, 9999)}",
        "url": f"https://www.opqibi.com/fiche/{_number(company, 'opqibi', 1000, 9999)}",
        "date_delivrance_certificat": (today - timedelta(days=300)).isoformat(),
        "assurances": "MUTUELLE DES INGENIEURS",
        "qualifications": [{"nom": "Etude thermique réglementaire", "code_qualification": "1331",
                            "rge": True}],
        "date_validite_qualifications": _month_end(today, 24).isoformat(),
        "qualifications_probatoires": [],
        "date_validite_qualifications_probatoires": None,
    })


def _rge(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _collection([{
        "url": f"{files}/rge_{company.siren}.pdf",
        "nom_certificat": "QualiPAC",
        "domaine": "Pompe à chaleur : chauffage",
        "qualification": {"code": "92", "nom": "QualiPAC Chauffage et ECS"},
        "organisme": "qualit_enr",
        "date_attribution": (today - timedelta(days=400)).isoformat(),
        "date_expiration": _month_end(today, 14).isoformat(),
        "meta": {"archived": False},
    }])


def _qualifelec(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _collection([{
        "document_url": f"{files}/qualifelec_{company.siren}.pdf",
        "numero": _number(company, "qualifelec", 1000, 9999),
        "rge": True,
        "date_debut": (today - timedelta(days=100)).isoformat(),
        "date_fin": _month_end(today, 12).isoformat(),
        "qualification": {"label": "ELECTROTECHNIQUE (E2)", "mentions": [],
                          "domaines": [{"code": "HAB", "label": "Habitat"}]},
        "assurance_decennale": {"nom": "MUTUELLE DU BATIMENT"},
        "assurance_civile": {"nom": "MUTUELLE DU BATIMENT"},
    }])


def _document_only(name: str, seconds: int) -> _Renderer:
    def render_document(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
        return _resource({"document_url": f"{files}/{name}_{company.siren}.pdf",
                          "expires_in": seconds})

    return render_document


def _probtp_compliance(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _resource({"eligible": not refused})


def _msa(company: FakeCompany, today: date, files: str, refused: bool) -> Payload:
    return _resource({"status": "outdated" if refused else "up_to_date"})


_RENDERERS: dict[type[Fact], _Renderer] = {
    TaxCertificate: _tax,
    SocialCertificate: _social,
    RegistryExtract: _kbis,
    Directors: _directors,
    RneExtract: _rne,
    Turnover: _turnover,
    Headcount: _headcount,
    VatNumber: _vat,
    Association: _association,
    QualibatCertification: _qualibat,
    OpqibiCertification: _opqibi,
    RgeCertification: _rge,
    QualifelecCertification: _qualifelec,
    FntpCertification: _document_only("carte_fntp", 86400),
    CnetpCertification: _document_only("attestation_cnetp", 86400),
    CibtpCertification: _document_only("attestation_cibtp", 86400),
    ProbtpCertification: _document_only("attestation_probtp", 86400),
    ProbtpCompliance: _probtp_compliance,
    MsaCertification: _msa,
}

EVIDENCE_KINDS: tuple[type[Fact], ...] = tuple(_RENDERERS)
"""Every evidence kind :func:`render` knows."""


def render(
    kind: type[Fact],
    company: FakeCompany,
    *,
    today: date | None = None,
    files_url: str = FILES_URL,
    refused: bool = False,
) -> tuple[int, Payload]:
    """``(status, payload)`` of ``kind``'s endpoint for ``company``.

    ``refused`` gives a refused vigilance attestation (a 200), a DGFIP refusal (404
    ``03003``), or a non-compliant MSA / ProBTP status. A company that is not an
    association gets the 404 of the association endpoint.
    """
    day = today or date.today()
    if kind is Association and not (company.rna or company.kind == "association"):
        return 404, NOT_FOUND_PAYLOAD
    if kind is TaxCertificate and refused:
        return 404, {"errors": [{
            "code": "03003", "title": "Entité non trouvée",
            "detail": "L'attestation fiscale n'a pas pu être délivrée pour cette entité.",
            "meta": {"provider": "DGFIP - Adélie"},
        }]}
    return 200, _RENDERERS[kind](company, day, files_url.rstrip("/"), refused)


def register_evidence(*, today: date | None = None, files_url: str = FILES_URL) -> None:
    """Teach the fakes every evidence endpoint of the API Entreprise source (and the
    public variants), each in its quota pool."""
    from ..sources.api_entreprise import ENDPOINTS

    for kind, endpoint in ENDPOINTS.items():
        if kind not in _RENDERERS:
            continue

        def answer(company: FakeCompany, asked: str, kind: type[Fact] = kind) -> tuple[int, Any]:
            return render(kind, company, today=today, files_url=files_url)

        quota = (endpoint.quota.limit, endpoint.quota.period)
        for template in dict.fromkeys((endpoint.path, endpoint.template(public=True))):
            register_api_entreprise(template, answer, pool=endpoint.quota.pool, quota=quota)
