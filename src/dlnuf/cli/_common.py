"""What every subcommand shares: the common options, the client, printing a card."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ..client import Client

__all__ = ["add_common", "make_client", "print_card", "show"]

_FLAGS = {"True": "yes", "False": "no", "None": "-"}


def add_common(parser: argparse.ArgumentParser) -> None:
    """Add the options every data command takes (sources, cache, authenticated)."""
    parser.add_argument(
        "--source",
        action="append",
        metavar="NAME",
        help="source to use, repeat for a priority order (default: $DLNUF_SOURCES or "
        "recherche_entreprises; 'sandbox' answers offline)",
    )
    parser.add_argument("--cache", metavar="URL", help="memory://, sqlite:///file.db, redis://…")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    parser.add_argument(
        "--authenticated",
        action="store_true",
        help="authenticated, entitled use: protected (non-diffusible) data allowed",
    )


def make_client(args: argparse.Namespace) -> Client:
    """A client configured from the common options (and the environment)."""
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


def show(value: object) -> str:
    """A value for display: booleans as yes/no, None as a dash."""
    text = str(value)
    return _FLAGS.get(text, text)


def print_card(title: str, rows: list[tuple[str, str]], out: TextIO) -> None:
    """Print a two-column card, with rich when installed, plain text otherwise."""
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
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
        table.add_row(Text(label), Text(value))  # Text: '[...]' in data is not markup
    Console(file=out, soft_wrap=True).print(table)
