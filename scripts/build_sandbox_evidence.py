"""Regenerate the sandbox's evidence: ``src/dlnuf/sources/sandbox_data/evidence.json``.

    python scripts/build_sandbox_evidence.py [--contracts DIR] [--out DIR] [--today YYYY-MM-DD]

Run it after ``scripts/build_sandbox.py`` (it reads the companies that script
writes, and appends its section to the NOTICE that script writes). Deterministic:
the same inputs give byte-identical files. The data set is:

* every payload of the operator's contracts for the evidence endpoints the API
  Entreprise source provides (``../shared/contracts/api-entreprise``, MIT
  licence), at the path of the staging identifiers in each file's ``params``;
  the turnover years of one SIRET are merged into one answer. The DGFIP and
  URSSAF staging certificates are also answered for SNCF (SIREN 552049447), so
  that the README's example runs;
* evidence of a few of the sandbox's fictitious companies, rendered by
  :mod:`dlnuf.testing.evidence` around ``--today`` (default :data:`REFERENCE_DAY`):
  a building firm with its trade certifications, a software firm, a bakery whose
  certificates are refused, an association, a farmers' cooperative (MSA) and an
  industrial firm whose CIBTP provider is down (HTTP 504);
* ``/privileges`` (every privilege) and the documents: every ``document_url`` is
  rewritten to the sandbox's ``/files/`` path, which the sandbox answers with a PDF.

The file is a table keyed by request path, like ``responses.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

import dlnuf
from dlnuf.facts.base import Fact
from dlnuf.sources.api_entreprise import ENDPOINTS, Endpoint
from dlnuf.sources.sandbox import SANDBOX_URL
from dlnuf.testing.companies import FakeCompany
from dlnuf.testing.evidence import render
from dlnuf.testing.server import sandbox_companies

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT.parent / "shared" / "contracts" / "api-entreprise"
OUT = ROOT / "src" / "dlnuf" / "sources" / "sandbox_data"
FILES = f"{SANDBOX_URL}/files"
REFERENCE_DAY = date(2026, 11, 2)
"""The day the demo companies' evidence was issued (their validity runs from there)."""
NOTICE_MARK = "--- evidence.json ---"
_FILE_SUFFIXES = frozenset({".pdf", ".jpg", ".jpeg", ".png"})
SNCF = "552049447"
HEADCOUNT_YEARS = range(2020, 2036)
"""Years the demo companies have a headcount for (the client asks for last year)."""

_COMMON = (
    dlnuf.TaxCertificate, dlnuf.SocialCertificate, dlnuf.RegistryExtract, dlnuf.Directors,
    dlnuf.Turnover, dlnuf.Headcount, dlnuf.VatNumber,
)
_BUILDING = (
    dlnuf.RneExtract, dlnuf.QualibatCertification, dlnuf.RgeCertification,
    dlnuf.FntpCertification, dlnuf.CnetpCertification, dlnuf.CibtpCertification,
    dlnuf.ProbtpCertification, dlnuf.ProbtpCompliance,
)


@dataclass(frozen=True)
class Demo:
    """A sandbox company and the evidence it is given."""

    siret: str
    note: str
    kinds: tuple[type[Fact], ...]
    refused: tuple[type[Fact], ...] = ()
    down: tuple[type[Fact], ...] = ()


DEMOS = (
    Demo("31931807700017", "building firm (plumbing): every trade certification",
         _COMMON + _BUILDING),
    Demo("85240503400012", "software firm: OPQIBI engineering certification, RNE extract",
         (*_COMMON, dlnuf.RneExtract, dlnuf.OpqibiCertification)),
    Demo("80467560100012", "bakery: URSSAF refusal (a fact) and DGFIP refusal (404 03003)",
         (*_COMMON, dlnuf.MsaCertification),
         refused=(dlnuf.SocialCertificate, dlnuf.TaxCertificate, dlnuf.MsaCertification)),
    Demo("56643414800011", "association: its record (protected and open data)",
         (dlnuf.Association, dlnuf.TaxCertificate, dlnuf.SocialCertificate, dlnuf.VatNumber,
          dlnuf.Headcount)),
    Demo("46246071800010", "farmers' cooperative: MSA contributions paid up",
         (dlnuf.SocialCertificate, dlnuf.VatNumber, dlnuf.MsaCertification, dlnuf.Turnover)),
    Demo("45043197800011", "industrial firm: Qualifelec; its CIBTP provider is down (504)",
         (*_COMMON, dlnuf.QualifelecCertification, dlnuf.CibtpCertification),
         down=(dlnuf.CibtpCertification,)),
)

_DOWN_PAYLOAD = {"errors": [{
    "code": "38002",
    "title": "Intermédiaire hors-délai",
    "detail": "Temps d'attente d'une réponse du fournisseur de données écoulé.",
    "meta": {"provider": "CIBTP"},
}]}


def _file_url(url: str) -> str:
    """``url`` moved to the sandbox's ``/files/`` (its last path segment kept)."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name or "document"
    if not PurePosixPath(name).suffix:
        name += ".pdf"
    return f"{FILES}/{name}"


def _is_document(key: str, value: Any) -> bool:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        return False
    suffix = PurePosixPath(urlsplit(value).path).suffix.lower()
    return key == "document_url" or (key == "url" and suffix in _FILE_SUFFIXES)


def _sandboxed(value: Any) -> Any:
    """``value`` with every document URL pointing at the sandbox (not public pages)."""
    if isinstance(value, dict):
        return {
            k: _file_url(v) if _is_document(k, v) else _sandboxed(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_sandboxed(v) for v in value]
    return value


def _fill(template: str, params: dict[str, str]) -> str | None:
    names = [n for _, n, _, _ in string.Formatter().parse(template) if n]
    if any(n not in params for n in names):
        return None
    return template.format(**params)


def _variants(endpoint: Endpoint) -> list[tuple[str, str]]:
    """(contract folder, path template) of the protected and public variant."""
    found = []
    if endpoint.contract_dir:
        found.append((endpoint.contract_dir, endpoint.path))
    if endpoint.public_contract_dir and endpoint.public_path:
        found.append((endpoint.public_contract_dir, endpoint.public_path))
    return found


def _contract_answers(contracts: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    table: dict[str, dict[str, Any]] = {}
    listed: list[str] = []
    for kind, endpoint in ENDPOINTS.items():
        if kind is dlnuf.Identity:
            continue  # scripts/build_sandbox.py serves the establishments
        for folder, template in _variants(endpoint):
            here = contracts / folder
            files = sorted([*here.glob("*.yaml"), *here.glob("*.yml")])
            for path in files:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
                params = {str(k): str(v) for k, v in (raw.get("params") or {}).items()}
                extra = set(params) - {"siren", "siret", "siren_or_rna", "siret_or_rna", "year"}
                request_path = _fill(template, params)
                if request_path is None or extra:
                    continue  # a query-parameter variant (boeth...): not a path of its own
                payload = raw["payload"]
                payload = _sandboxed(json.loads(payload) if isinstance(payload, str) else payload)
                status = int(raw["status"])
                held = table.get(request_path)
                if held is not None:
                    if status == held["status"] == 200 and isinstance(payload.get("data"), list):
                        held["payload"]["data"].extend(payload["data"])  # turnover years
                        listed.append(f"  {folder}/{path.name}  (merged into the answer above)")
                    continue
                table[request_path] = {"status": status, "payload": payload}
                listed.append(f"  {folder}/{path.name}  ({request_path}, HTTP {status})")
    for kind, case in ((dlnuf.TaxCertificate, "api_entreprise_v4_dgfip_attestations_fiscales"),
                       (dlnuf.SocialCertificate, "api_entreprise_v4_acoss_attestations_sociales")):
        raw = yaml.safe_load((contracts / case / "attestation_delivree.yaml").read_text("utf-8"))
        target = ENDPOINTS[kind].path.format(siren=SNCF)
        table[target] = {"status": 200, "payload": _sandboxed(json.loads(raw["payload"]))}
        listed.append(f"  {case}/attestation_delivree.yaml  (also {target})")
    return table, listed


def _demo_answers(today: date) -> dict[str, dict[str, Any]]:
    companies: dict[str, FakeCompany] = {c.siret: c for c in sandbox_companies()}
    table: dict[str, dict[str, Any]] = {}
    for demo in DEMOS:
        company = companies[demo.siret]
        for kind in demo.kinds:
            endpoint = ENDPOINTS[kind]
            if kind is dlnuf.Headcount:
                for year in HEADCOUNT_YEARS:
                    status, payload = render(kind, company, today=date(year + 1, 2, 1),
                                             files_url=FILES)
                    path = endpoint.path.format(siren=company.siren, year=year)
                    table[path] = {"status": status, "payload": payload}
                continue
            if kind in demo.down:
                status, payload = 504, copy.deepcopy(_DOWN_PAYLOAD)
            else:
                status, payload = render(kind, company, today=today, files_url=FILES,
                                         refused=kind in demo.refused)
            for template in dict.fromkeys((endpoint.path, endpoint.template(public=True))):
                path = template.format(siret=company.siret, siren=company.siren,
                                       siren_or_rna=company.siren)
                table[path] = {"status": status, "payload": payload}
    return table


def _privileges() -> dict[str, Any]:
    granted: set[str] = set()
    for endpoint in ENDPOINTS.values():
        granted |= endpoint.privileges | endpoint.public_privileges
    return {"status": 200, "payload": {"data": {"privileges": sorted(granted)},
                                       "links": {}, "meta": {}}}


def build(contracts: Path, today: date = REFERENCE_DAY) -> dict[str, str]:
    """The evidence file and the NOTICE section, by name, as text."""
    table, listed = _contract_answers(contracts)
    table.update(_demo_answers(today))
    table["/privileges"] = _privileges()
    demos = "\n".join(f"  {d.siret}  {d.note}" for d in DEMOS)
    section = (
        f"{NOTICE_MARK}\n"
        "evidence.json holds payloads copied from the API Entreprise staging data set\n"
        "(the operator's contract payloads, same licence as above), their document URLs\n"
        "moved to the sandbox:\n\n"
        + "\n".join(listed)
        + "\n\nand the evidence of these fictitious sandbox companies, generated by\n"
        f"scripts/build_sandbox_evidence.py (issued on {today.isoformat()}):\n\n"
        f"{demos}\n"
    )
    return {"evidence.json": json.dumps(table, ensure_ascii=False, sort_keys=True, indent=1)
            + "\n", "NOTICE section": section}


def with_section(notice: str, section: str) -> str:
    """``notice`` with its evidence section replaced by ``section`` (or added)."""
    head = notice.split(NOTICE_MARK, 1)[0].rstrip("\n")
    return f"{head}\n\n{section}" if head else section


def main(argv: list[str] | None = None) -> None:
    """Write ``evidence.json`` to ``--out`` and update the NOTICE there."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=Path, default=CONTRACTS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--today", type=date.fromisoformat, default=REFERENCE_DAY)
    args = parser.parse_args(argv)
    built = build(args.contracts, args.today)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "evidence.json"
    target.write_text(built["evidence.json"], encoding="utf-8", newline="\n")
    print(f"wrote {target} ({len(built['evidence.json'].encode())} bytes)")
    notice = args.out / "NOTICE"
    current = notice.read_text(encoding="utf-8") if notice.exists() else ""
    notice.write_text(with_section(current, built["NOTICE section"]), encoding="utf-8",
                      newline="\n")
    print(f"updated {notice}")


if __name__ == "__main__":
    main()
