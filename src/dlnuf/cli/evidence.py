"""``dlnuf evidence``: the evidence of a company for a tender, as a table, PDFs saved.

    dlnuf evidence SIRET [--kinds TaxCertificate,SocialCertificate,...] [--download DIR] [--json]

Prints one row per piece: its status (delivered, refused, compliant... or the
error that kept it away) and its validity. ``--download DIR`` saves every
document the pieces carry (certificates' PDFs) into ``DIR``. Exit status 0 when
every piece came back, else that of the worst error (see :mod:`dlnuf.cli.exits`).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from ..client import Client
from ..documents import documents_of, download_name
from ..dossier import Dossier
from ..errors import ConfigurationError, DlnufError
from ..facts.base import Fact
from ..facts.evidence import (
    Headcount,
    RegistryExtract,
    SocialCertificate,
    TaxCertificate,
    Turnover,
    VatNumber,
)
from ..sources.base import available_sources, load_source
from ._common import add_common, make_client
from .exits import UsageError, worst

__all__ = ["DEFAULT_KINDS", "register", "rows"]

DEFAULT_KINDS: tuple[type[Fact], ...] = (
    TaxCertificate, SocialCertificate, RegistryExtract, Turnover, Headcount, VatNumber,
)
"""What a public buyer checks for a tender (``--kinds all``: every kind the sources provide)."""

_HEADERS = ("Piece", "Status", "Valid from", "Valid until", "Detail")


def _kinds(client: Client, names: str | None) -> list[type[Fact]]:
    known = {k.__name__.lower(): k for s in client.sources for k in s.provides}
    if not names:
        return list(DEFAULT_KINDS)
    if names.strip().lower() == "all":
        return sorted(known.values(), key=lambda k: k.__name__)
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        kind = known.get(name.lower())
        if kind is None:
            raise UsageError(
                f"unknown kind {name!r} for the configured sources; known: "
                + ", ".join(sorted(k.__name__ for k in known.values()))
            )
        chosen.append(kind)
    return chosen


def _status(fact: Fact, today: date) -> str:
    if getattr(fact, "refused", False):
        return "REFUSED"
    compliance = str(getattr(fact, "status", None))
    if compliance in ("non_compliant", "under_investigation"):
        return compliance.replace("_", " ").upper()
    until = getattr(fact, "valid_until", None)
    if isinstance(until, date) and until < today:
        return "EXPIRED"
    return "compliant" if compliance == "compliant" else "ok"


def _detail(fact: Fact) -> str:
    if isinstance(fact, Turnover) and fact.latest is not None:
        return f"{fact.latest.amount:,} EUR ({fact.latest.closing_date:%Y})".replace(",", " ")
    if isinstance(fact, Headcount):
        return f"{fact.headcount:g} ({fact.year})" if fact.headcount is not None else "-"
    if isinstance(fact, VatNumber):
        return fact.number + ("" if fact.matches_computed else " (key differs from SIREN's)")
    if isinstance(fact, RegistryExtract):
        return fact.registration_number or "-"
    if isinstance(fact, SocialCertificate):
        return f"code {fact.security_code}" if fact.security_code else fact.status_label or "-"
    documents = list(documents_of(fact))
    return documents[0].filename if documents else "-"


def rows(dossier: Dossier, kinds: list[type[Fact]], today: date) -> list[tuple[str, ...]]:
    """One row per kind: piece, status, valid from, valid until, detail."""
    table: list[tuple[str, ...]] = []
    for kind in kinds:
        fact = dossier.facts.get(kind)
        if fact is None:
            error = dossier.errors.get(kind)
            message = str(error).split(" [", 1)[0] if error else "not collected"
            name = type(error).__name__ if error else "-"
            code = getattr(error, "code", None)
            if code:
                name += f" ({code})"
            table.append((kind.__name__, name, "-", "-", message[:90]))
            continue
        start = getattr(fact, "valid_from", None) or getattr(fact, "issued_on", None)
        until = getattr(fact, "valid_until", None)
        table.append((
            kind.__name__, _status(fact, today), str(start or "-"), str(until or "-"),
            _detail(fact),
        ))
    return table


def _download(client: Client, dossier: Dossier, folder: Path) -> dict[str, list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    saved: dict[str, list[str]] = {}
    for kind, fact in dossier.facts.items():
        for number, document in enumerate(documents_of(fact), start=1):
            target = folder / download_name(kind, dossier.ident, fact, document, number)
            try:
                target.write_bytes(client.fetch_document(document))
            except (DlnufError, OSError) as exc:  # one bad document never stops the others
                saved.setdefault(kind.__name__, []).append(f"not saved: {exc}")
                continue
            saved.setdefault(kind.__name__, []).append(str(target))
    return saved


def _print_table(title: str, table: list[tuple[str, ...]], out: TextIO) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # the cli extra is optional: plain text then
        widths = [max(len(r[i]) for r in [_HEADERS, *table]) for i in range(len(_HEADERS))]
        print(title, file=out)
        for row in [_HEADERS, *table]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)), file=out)
        return
    rich_table = Table(title=title, title_justify="left")
    for header in _HEADERS:
        rich_table.add_column(header)
    for row in table:
        rich_table.add_row(*row)
    Console(file=out, soft_wrap=True, width=160).print(rich_table)


def _json(dossier: Dossier, saved: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "ident": str(dossier.ident),
        "facts": {k.__name__: f.model_dump(mode="json") for k, f in dossier.facts.items()},
        "errors": {
            k.__name__: {"error": type(e).__name__, "message": str(e)}
            for k, e in dossier.errors.items()
        },
        "downloaded": saved,
    }


def _no_source_for(client: Client, kinds: list[type[Fact]]) -> ConfigurationError | None:
    """When no configured source provides any of ``kinds``: one error saying which
    installed source does and how to use it (instead of one UnsupportedKind per row)."""
    provided = {k for source in client.sources for k in source.provides}
    if provided & set(kinds):
        return None
    providers = []
    for name in sorted(available_sources()):
        try:
            source = load_source(name, client.settings)
        except DlnufError:
            continue
        if source.provides & set(kinds):
            providers.append(name)
    configured = ", ".join(s.name for s in client.sources)
    message = f"the configured source ({configured}) provides no evidence"
    real = [name for name in providers if name != "sandbox"]
    if real:
        message += (
            f"; {', '.join(real)} does: --source {real[0]} (or DLNUF_SOURCES={real[0]}) with "
            "DLNUF_API_ENTREPRISE_TOKEN, DLNUF_RECIPIENT, DLNUF_CONTEXT and DLNUF_OBJECT set"
            if real[0] == "api_entreprise"
            else f"; {', '.join(real)} does: --source {real[0]}"
        )
    if "sandbox" in providers:
        message += "; --source sandbox tries it offline on sample data"
    return ConfigurationError(message)


def cmd_evidence(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf evidence SIRET``: each piece of evidence, its status and validity."""
    with make_client(args) as client:
        kinds = _kinds(client, args.kinds)
        unsupported = _no_source_for(client, kinds)
        if unsupported is not None:
            raise unsupported
        dossier = client.collect(args.siret, kinds)
        saved = _download(client, dossier, Path(args.download)) if args.download else {}
    if args.json:
        print(json.dumps(_json(dossier, saved), ensure_ascii=False, indent=2), file=out)
    else:
        _print_table(f"Evidence for {dossier.ident}", rows(dossier, kinds, date.today()), out)
        for kind, paths in saved.items():
            for path in paths:
                print(f"{kind}: {path}", file=out)
    return worst(dossier.errors.values())


def register(sub: Any) -> None:
    """Add ``evidence`` to the subcommands."""
    evidence = sub.add_parser("evidence", help="evidence for a tender: certificates, Kbis...")
    add_common(evidence)
    evidence.add_argument("siret", help="14-digit SIRET (or a SIREN for legal-unit kinds)")
    evidence.add_argument(
        "--kinds",
        metavar="K1,K2",
        help="kinds to collect, comma-separated (default: "
        + ",".join(k.__name__ for k in DEFAULT_KINDS) + "; 'all': every kind)",
    )
    evidence.add_argument("--download", metavar="DIR", help="save the documents (PDFs) in DIR")
    evidence.add_argument("--json", action="store_true", help="print JSON instead of a table")
    evidence.set_defaults(func=cmd_evidence)
