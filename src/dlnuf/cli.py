"""The ``dlnuf`` command: ``lookup``, ``sources``, ``cache``.

Exit status: 0 done, 1 the upstream could not answer (not found, down...),
2 bad input or configuration. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from .client import Client
from .config import Settings
from .errors import ConfigurationError, DlnufError, InvalidIdentifier
from .facts.identity import Identity
from .sources.base import available_sources

__all__ = ["main"]

_FLAGS = {"True": "yes", "False": "no", "None": "-"}


def _client(args: argparse.Namespace) -> Client:
    kwargs: dict[str, Any] = {}
    if args.source:
        kwargs["sources"] = args.source
    if args.no_cache:
        kwargs["cache"] = None
    elif args.cache:
        kwargs["cache"] = args.cache
    if args.authenticated:
        kwargs["authenticated"] = True
    return Client(**kwargs)


def _value(value: object) -> str:
    text = str(value)
    return _FLAGS.get(text, text)


def render_identity(ident: Identity) -> list[tuple[str, str]]:
    """The rows of an identity card: (label, value), withheld values shown as such."""

    def field(label: str, name: str, value: object) -> tuple[str, str]:
        if value is None and ident.is_withheld(name):
            return label, "[withheld: not diffusible]"
        return label, _value(value) if value is not None else "-"

    state = "active" if ident.active else f"CLOSED since {ident.closing_date or '?'}"
    prov = ident.provenance
    rows = [
        field("Name", "legal_name", ident.legal_name),
        field("Trade name", "trade_name", ident.trade_name),
        field("Sigle", "sigle", ident.sigle),
        ("SIRET", ident.siret.formatted),
        ("SIREN", ident.siren.formatted),
        ("VAT number", ident.siren.vat_number),
        ("State", state),
        ("Legal form", " ".join(p for p in (ident.legal_form_code, ident.legal_form_label) if p)
         or "-"),
        ("Activity (NAF)", " ".join(p for p in (ident.naf_code, ident.naf_label) if p) or "-"),
        field("Category", "company_category", ident.company_category),
        field("Headcount", "headcount_bracket",
              ident.headcount_bracket_label or ident.headcount_bracket),
        field("Created", "creation_date", ident.creation_date),
        ("Head office", _value(ident.is_head_office)
         + (f" (head office SIRET {ident.head_office_siret})"
            if ident.head_office_siret and not ident.is_head_office else "")),
        field("ESS", "ess", ident.ess),
        field("RNA", "rna", ident.rna),
        ("Address", ident.address.one_line or "-"),
        ("Diffusion", ident.diffusion),
    ]
    if ident.withheld:
        rows.append(("Withheld", ", ".join(sorted(ident.withheld))))
    if ident.redirected_from:
        rows.append(("Redirected from", ident.redirected_from.formatted))
    source = f"{prov.source} {prov.endpoint}"
    if prov.from_cache:
        source += " (cache, stale)" if prov.stale else " (cache)"
    rows.append(("Source", source))
    rows.append(("Fetched", f"{prov.fetched_at:%Y-%m-%d %H:%M} UTC"))
    return rows


def _print_card(title: str, rows: list[tuple[str, str]], out: TextIO) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # the cli extra is optional: plain text then
        width = max(len(label) for label, _ in rows)
        print(title, file=out)
        for label, value in rows:
            print(f"  {label:<{width}}  {value}", file=out)
        return
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, value)
    Console(file=out, soft_wrap=True).print(table)


def cmd_lookup(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf lookup SIRET``: the identity card of an establishment."""
    with _client(args) as client:
        ident = client.identity(args.siret)
    if args.json:
        print(json.dumps(ident.model_dump(mode="json"), ensure_ascii=False, indent=2), file=out)
    else:
        _print_card(ident.name or str(ident.siret), render_identity(ident), out)
    return 0


def cmd_sources(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf sources``: installed sources and the kinds each provides."""
    settings = Settings.from_env()
    from .sources.base import load_source

    for name in sorted(available_sources()):
        try:
            source = load_source(name, settings)
        except DlnufError as exc:
            print(f"{name:<24} (cannot load: {exc})", file=out)
            continue
        kinds = ", ".join(sorted(k.__name__ for k in source.provides))
        used = "*" if name in settings.sources else " "
        print(f"{used} {name:<22} {kinds}", file=out)
    return 0


def cmd_cache(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf cache clear``: forget every cached fact."""
    with _client(args) as client:
        if client.cache is None:
            print("no cache configured", file=out)
            return 0
        client.cache.clear()
        print(f"cleared {type(client.cache).__name__}", file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dlnuf`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--source", action="append", metavar="NAME",
        help="source to use, repeat for a priority order (default: $DLNUF_SOURCES or "
        "recherche_entreprises; 'sandbox' answers offline)",
    )
    common.add_argument("--cache", metavar="URL", help="memory://, sqlite:///file.db, redis://…")
    common.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    common.add_argument(
        "--authenticated", action="store_true",
        help="authenticated, entitled use: protected (non-diffusible) data allowed",
    )
    parser = argparse.ArgumentParser(
        prog="dlnuf", description="Dites-le-nous une fois: company facts from a SIRET."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    lookup = sub.add_parser("lookup", parents=[common], help="identity card of a SIRET")
    lookup.add_argument("siret", help="14-digit SIRET (spaces and dots allowed)")
    lookup.add_argument("--json", action="store_true", help="print JSON instead of a card")
    lookup.set_defaults(func=cmd_lookup)
    sources = sub.add_parser("sources", help="list installed sources")
    sources.set_defaults(func=cmd_sources)
    cache = sub.add_parser("cache", parents=[common], help="manage the cache")
    cache.add_argument("action", choices=["clear"])
    cache.set_defaults(func=cmd_cache)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``dlnuf`` command; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, TextIO], int] = args.func
    try:
        return func(args, out)
    except (InvalidIdentifier, ConfigurationError) as exc:
        print(f"dlnuf: error: {exc}", file=sys.stderr)
        return 2
    except DlnufError as exc:
        print(f"dlnuf: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
