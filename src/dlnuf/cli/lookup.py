"""``dlnuf lookup``, ``dlnuf sources`` and ``dlnuf cache``: identity cards and housekeeping."""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from ..cache import Cache, open_cache
from ..config import Settings
from ..errors import DlnufError
from ..facts.identity import Identity
from ..sources.base import available_sources, load_source
from ._common import add_common, add_verbose, make_client, print_card, show

__all__ = ["register", "render_identity"]


def render_identity(ident: Identity) -> list[tuple[str, str]]:
    """The rows of an identity card: (label, value), withheld values shown as such."""

    def field(label: str, name: str, value: object) -> tuple[str, str]:
        if value is None and ident.is_withheld(name):
            return label, "[withheld: not diffusible]"
        return label, show(value) if value is not None else "-"

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
        (
            "Legal form",
            " ".join(p for p in (ident.legal_form_code, ident.legal_form_label) if p) or "-",
        ),
        ("Activity (NAF)", " ".join(p for p in (ident.naf_code, ident.naf_label) if p) or "-"),
        field("Category", "company_category", ident.company_category),
        field(
            "Headcount",
            "headcount_bracket",
            ident.headcount_bracket_label or ident.headcount_bracket,
        ),
        field("Created", "creation_date", ident.creation_date),
        (
            "Head office",
            show(ident.is_head_office)
            + (
                f" (head office SIRET {ident.head_office_siret})"
                if ident.head_office_siret and not ident.is_head_office
                else ""
            ),
        ),
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


def cmd_lookup(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf lookup SIRET``: the identity card of an establishment."""
    with make_client(args) as client:
        ident = client.identity(args.siret)
    if args.json:
        print(json.dumps(ident.model_dump(mode="json"), ensure_ascii=False, indent=2), file=out)
    else:
        print_card(ident.name or str(ident.siret), render_identity(ident), out)
    return 0


def cmd_sources(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf sources``: installed sources and the kinds each provides."""
    settings = Settings.from_env()
    listed: list[dict[str, Any]] = []
    for name in sorted(available_sources()):
        entry: dict[str, Any] = {"name": name, "configured": name in settings.sources}
        try:
            source = load_source(name, settings)
        except DlnufError as exc:
            entry.update(kinds=[], error=str(exc))
        else:
            entry["kinds"] = sorted(k.__name__ for k in source.provides)
        listed.append(entry)
    if args.json:
        print(json.dumps(listed, ensure_ascii=False, indent=2), file=out)
        return 0
    for entry in listed:
        if "error" in entry:
            print(f"  {entry['name']:<22} (cannot load: {entry['error']})", file=out)
            continue
        used = "*" if entry["configured"] else " "
        print(f"{used} {entry['name']:<22} {', '.join(entry['kinds'])}", file=out)
    return 0


def cmd_cache(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf cache clear``: forget every cached fact (declared answers are kept)."""
    settings = Settings.from_env(**({"cache": args.cache} if args.cache else {}))
    cache = open_cache(settings.cache)
    if cache is None:
        print("no cache configured ($DLNUF_CACHE is empty): nothing to clear", file=out)
        return 0
    try:
        cache.clear()
    finally:
        cache.close()
    print(f"cleared the cache {_where(cache)}", file=out)
    return 0


def _where(cache: Cache) -> str:
    """Where a cache lives, for a person: its file, its Redis URL (no password), memory."""
    path = getattr(cache, "path", None)
    if path is not None:
        return str(path)
    url = getattr(cache, "url", None)
    return str(url) if url is not None else "in memory"


def register(sub: Any) -> None:
    """Add ``lookup``, ``sources`` and ``cache`` to the subcommands."""
    lookup = sub.add_parser("lookup", help="identity card of a SIRET")
    add_common(lookup)
    lookup.add_argument("siret", help="14-digit SIRET (spaces and dots allowed)")
    lookup.add_argument("--json", action="store_true", help="print JSON instead of a card")
    lookup.set_defaults(func=cmd_lookup)
    sources = sub.add_parser("sources", help="list installed sources")
    sources.add_argument("--json", action="store_true", help="print JSON instead of a list")
    add_verbose(sources)
    sources.set_defaults(func=cmd_sources)
    cache = sub.add_parser(
        "cache",
        help="manage the cache",
        description="clear: forget every cached fact (the declared answers are kept).",
    )
    cache.add_argument("action", choices=["clear"])
    cache.add_argument(
        "--cache", metavar="URL",
        help="the cache to clear (default: $DLNUF_CACHE or the default SQLite file)",
    )
    add_verbose(cache)
    cache.set_defaults(func=cmd_cache)
