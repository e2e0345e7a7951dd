"""``dlnuf watch``: supplier vigilance from the command line (and from cron).

``add``, ``import`` and ``export`` manage the portfolio; ``due`` lists the pieces
needing action; ``refresh`` fetches them and archives the proof; ``changes``
reports what changed (JSON, CSV or HTML); ``proof`` finds the piece valid on a
date; ``erase`` forgets a company. Exit statuses are the command's (see
:mod:`dlnuf.cli.exits`): 0 nothing to act on, 6 changes found or pieces due (act on
them), 3 some fetches failed or another refresh of the portfolio is running (run
again later), 1 no archived proof for that date, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TextIO

from ..vigilance import Portfolio, PortfolioBusy
from ..vigilance.report import changes_csv, changes_html, changes_json, label
from ..vigilance.store import default_portfolio_path
from ._common import add_common, make_client
from .exits import ACT, NOT_FOUND, TRANSIENT, UsageError

__all__ = ["register"]

BUSY = TRANSIENT
"""Exit status when another refresh holds the portfolio: run again later."""


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (write 2026-01-31)") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``watch`` and its subcommands."""
    parser = sub.add_parser("watch", help="supplier vigilance: due pieces, refresh, changes",
                            description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help)
        p.add_argument("--portfolio", metavar="FILE",
                       help="the portfolio's SQLite file (default $DLNUF_PORTFOLIO or "
                       f"{default_portfolio_path()})")
        add_common(p)
        return p

    p = action("add", "add (or replace) a supplier")
    p.add_argument("siret")
    p.add_argument("--contract", default="", help="contract reference")
    p.add_argument("--start", type=_day, help="signature date")
    p.add_argument("--end", type=_day, help="end of the contract")
    p.add_argument("--kinds", help="pieces required, separated by ';' (default: "
                   "SocialCertificate;RegistryExtract;TaxCertificate)")
    p.add_argument("--name", default="", help="a label of your own")
    p.set_defaults(func=_add)

    p = action("import", "add the suppliers of a CSV file (siret,contract,start,end,kinds,name)")
    p.add_argument("file")
    p.set_defaults(func=_import)

    p = action("due", "list the pieces missing, refused or expiring")
    p.add_argument("--on", type=_day, help="date (default today)")
    p.add_argument("--within", type=int, help="days of margin before a validity ends")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_due)

    p = action("refresh", "fetch what is due at the quotas and archive the proof")
    p.add_argument("--within", type=int, help="days of margin before a validity ends")
    p.add_argument("--no-watch", action="store_true",
                   help="do not read identities and VAT numbers (no change detection)")
    p.add_argument("--json", action="store_true", help="print the run's report as JSON")
    p.set_defaults(func=_refresh)

    p = action("changes", "what changed since the previous run")
    p.add_argument("--format", choices=("text", "json", "csv", "html"), default="text")
    p.add_argument("--output", metavar="FILE", help="write the report there")
    p.add_argument("--all", action="store_true", help="every change ever found")
    p.set_defaults(func=_changes)

    p = action("export", "the suppliers as CSV, or everything about one company as JSON")
    p.add_argument("--siren", help="export this company's data (GDPR access), documents "
                   "included")
    p.add_argument("--output", metavar="FILE", help="write there instead of stdout")
    p.set_defaults(func=_export)

    p = action("erase", "forget everything about a company (GDPR erasure)")
    p.add_argument("siren")
    p.set_defaults(func=_erase)

    p = action("proof", "the archived piece valid on a date, and its PDF")
    p.add_argument("siren")
    p.add_argument("kind", help="SocialCertificate, RegistryExtract or TaxCertificate")
    p.add_argument("--on", type=_day, required=True, help="the date an auditor asks about")
    p.add_argument("--save", metavar="FILE", help="write the PDF there")
    p.set_defaults(func=_proof)


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[Portfolio]:
    """The portfolio the options name, with its client; both closed afterwards."""
    path = args.portfolio or os.environ.get("DLNUF_PORTFOLIO") or default_portfolio_path()
    with make_client(args) as client, Portfolio(client, path) as portfolio:
        yield portfolio


def _write(text: str, output: str | None, out: TextIO) -> None:
    if output:
        Path(output).expanduser().write_text(text, encoding="utf-8")
    else:
        out.write(text if text.endswith("\n") else text + "\n")


def _add(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        kinds = [k for k in (args.kinds or "").replace("|", ";").split(";") if k.strip()]
        supplier = portfolio.add(args.siret, contract=args.contract, start=args.start,
                                 end=args.end, kinds=kinds or None, name=args.name)
        print(f"added {supplier.siret} {supplier.contract} ({', '.join(supplier.kinds)})",
              file=out)
    return 0


def _import(args: argparse.Namespace, out: TextIO) -> int:
    if not Path(args.file).expanduser().is_file():
        raise UsageError(f"no such file: {args.file}")
    with _open(args) as portfolio:
        print(f"imported {portfolio.import_csv(args.file)} suppliers", file=out)
    return 0


def _due(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        due = portfolio.due(on=args.on, within=args.within)
    if args.json:
        _write(json.dumps([d.as_dict() for d in due], ensure_ascii=False, indent=2), None, out)
    else:
        for d in due:
            print(f"{d.supplier.siret}  {d.supplier.contract or '-'}  {d.kind}  {d.detail}",
                  file=out)
        if not due:
            print("nothing due", file=out)
    return ACT if due else 0


def _refresh(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        try:
            report = portfolio.refresh(within=args.within, watch=not args.no_watch)
        except PortfolioBusy as exc:
            print(f"dlnuf: {exc}", file=sys.stderr)
            return BUSY
    if args.json:
        _write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), None, out)
    else:
        print(f"run {report.run_id}: {len(report.fetched)} pieces fetched, {report.watched} "
              f"identities read, {len(report.failures)} failures, {len(report.changes)} "
              f"changes, {len(report.due)} pieces still due", file=out)
        for ident, kind, error in report.failures:
            print(f"  failed {kind} {ident}: {error}", file=out)
    return report.exit_code


def _changes(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        changes = portfolio.changes(since_run=0 if args.all else None)
        due = portfolio.due()
    if args.format == "json":
        text = changes_json(changes, due)
    elif args.format == "csv":
        text = changes_csv(changes)
    elif args.format == "html":
        text = changes_html(changes, due)
    else:
        text = "\n".join(f"{c.subject}  {label(c.what)}  {c.old or '-'} -> {c.new or '-'}"
                         for c in changes) or "no change since the previous run"
    _write(text, args.output, out)
    return ACT if changes else 0


def _export(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        if args.siren:
            text = json.dumps(portfolio.export(args.siren), ensure_ascii=False, indent=2)
        else:
            text = portfolio.export_csv()
    _write(text, args.output, out)
    return 0


def _erase(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        print(f"erased {portfolio.erase(args.siren)} records", file=out)
    return 0


def _proof(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as portfolio:
        check = portfolio.proof(args.siren, args.kind, args.on)
        if check is None:
            print(f"no {args.kind} of {args.siren} valid on {args.on} is archived", file=out)
            return NOT_FOUND
        _write(json.dumps(check.as_dict(), ensure_ascii=False, indent=2), None, out)
        if args.save:
            Path(args.save).expanduser().write_bytes(portfolio.document(check))
    return 0
