"""Dossiers built from the operator's contract payloads, parsed by the real parsers (no I/O).

``contract_dossier(siret)`` holds the INSEE establishment of the staging company
and every evidence payload of the contracts about the same SIREN (or SIRET).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import yaml

from contracts import API_ENTREPRISE
from dlnuf.config import Settings
from dlnuf.dossier import Dossier
from dlnuf.facts import Fact, Identity, Provenance
from dlnuf.identifiers import Siret
from dlnuf.sources import source_error
from dlnuf.sources.api_entreprise import ApiEntreprise
from dlnuf.sources.api_entreprise import evidence as ev

__all__ = [
    "ESTABLISHMENTS",
    "contract_dossier",
    "evidence_fact",
    "identity_fact",
    "payloads",
    "staging_sirets",
]

ESTABLISHMENTS = "api_entreprise_v4_insee_etablissements"
FETCHED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
RECIPIENT = "21750001600019"  # the City of Paris: never one of the staging companies



class Evidence(NamedTuple):
    """An evidence endpoint as these tests use it: contracts, the parameter naming the
    company, the real parser, the upstream path, and whether the endpoint is public."""

    contract_dir: str
    param: str
    parse: Callable[[Any, dict[str, Any], Provenance], Fact]
    path: str
    public: bool = False


EVIDENCE_USED = {
    "extrait_kbis": Evidence(
        "api_entreprise_v3_infogreffe_extraits_rcs", "siren", ev.parse_extrait_kbis,
        "/v3/infogreffe/rcs/unites_legales/{siren}/extrait_kbis",
    ),
    "extrait_rne": Evidence(
        "api_entreprise_v3_inpi_rne_extrait_rne", "siren", ev.parse_extrait_rne,
        "/v3/inpi/rne/unites_legales/{siren}/extrait_rne",
    ),
    "numero_tva": Evidence(
        "api_entreprise_v3_european_commission_vies", "siren", ev.parse_numero_tva,
        "/v3/european_commission/unites_legales/{siren}/numero_tva",
    ),
    "chiffres_affaires": Evidence(
        "api_entreprise_v3_dgfip_chiffres_affaires", "siret", ev.parse_chiffres_affaires,
        "/v3/dgfip/etablissements/{siret}/chiffres_affaires",
    ),
    "effectifs_annuels": Evidence(
        "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise", "siren",
        ev.parse_effectifs_annuels, "/v3/gip_mds/unites_legales/{siren}/effectifs_annuels/{year}",
    ),
    "association_open_data": Evidence(
        "api_entreprise_v4_mi_unites_legales_open_data", "siren_or_rna", ev.parse_association,
        "/v4/djepva/api-association/associations/open_data/{siren_or_rna}", public=True,
    ),
}
"""The evidence endpoints whose contracts feed the dossiers (the protected ones are not public)."""


@cache
def payloads(directory: str) -> tuple[tuple[dict[str, str], int, dict[str, Any]], ...]:
    """``(params, status, payload)`` of every contract file of ``directory``."""
    files = sorted([*(API_ENTREPRISE / directory).glob("*.yaml"),
                    *(API_ENTREPRISE / directory).glob("*.yml")])
    if not files:
        raise FileNotFoundError(f"no contract in {API_ENTREPRISE / directory}")
    found = []
    for path in files:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        payload = raw["payload"]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        params = {str(k): str(v) for k, v in (raw.get("params") or {}).items()}
        found.append((params, int(raw["status"]), payload))
    return tuple(found)


def _source(authenticated: bool = True) -> ApiEntreprise:
    return ApiEntreprise(
        Settings(
            api_entreprise_token="contract-token",
            recipient=RECIPIENT,
            context="tests",
            object="forms",
            authenticated=authenticated,
        )
    )


def identity_response(siret: str) -> httpx.Response:
    """The contract's answer of the protected INSEE establishment endpoint for ``siret``."""
    source = _source()
    for params, status, payload in payloads(ESTABLISHMENTS):
        if params.get("siret") == siret:
            request = source.request(Identity, Siret(siret))
            return httpx.Response(status, json=payload, request=request)
    raise LookupError(f"no establishment contract for {siret}")


def identity_fact(siret: str) -> Identity:
    """The :class:`Identity` the real parser reads from the contract of ``siret``."""
    response = identity_response(siret)
    fact = _source().parse(Identity, Siret(siret), response)
    assert isinstance(fact, Identity)
    return fact


def evidence_fact(name: str, key: str) -> Fact | None:
    """The fact of evidence endpoint ``name`` about ``key`` (merged over contract files)."""
    endpoint = EVIDENCE_USED[name]
    matches = [
        p for p in payloads(endpoint.contract_dir)
        if p[0].get(endpoint.param) == key and p[1] == 200
    ]
    if not matches:
        return None
    provenance = Provenance(
        source="api_entreprise",
        endpoint=endpoint.path,
        fetched_at=FETCHED,
        public=endpoint.public,
    )
    if name == "chiffres_affaires":  # one contract file per year: one answer with all of them
        data = [item for _, _, p in matches for item in p["data"]]
        return endpoint.parse(data, {}, provenance)
    if name == "effectifs_annuels":  # the latest year of the plain (not BOETH) figures
        plain = [m for m in matches if "nature_effectif" not in m[0]]
        matches = sorted(plain, key=lambda m: m[0].get("year", ""))[-1:]
    body = matches[0][2]
    return endpoint.parse(body.get("data"), body.get("meta") or {}, provenance)


def contract_dossier(siret: str) -> Dossier:
    """The INSEE establishment of ``siret`` and every evidence contract about its company."""
    dossier = Dossier(Siret(siret))
    response = identity_response(siret)
    if response.status_code != 200:
        dossier.errors[Identity] = source_error(ApiEntreprise(Settings()), response)
        return dossier
    identity = identity_fact(siret)
    dossier.facts[Identity] = identity
    for name, endpoint in EVIDENCE_USED.items():
        key = siret if endpoint.param == "siret" else str(identity.siren)
        fact = evidence_fact(name, key)
        if fact is not None:
            dossier.facts[type(fact)] = fact
    return dossier


def staging_sirets() -> list[str]:
    """The SIRETs of the staging establishments (including the unknown one)."""
    return [params["siret"] for params, _, _ in payloads(ESTABLISHMENTS)]
