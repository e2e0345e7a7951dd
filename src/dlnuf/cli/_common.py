"""What every subcommand shares: the common options, the client, printing a card."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO

from ..client import Client
from ..errors import ConfigurationError, DlnufError, InvalidIdentifier

__all__ = [
    "add_common",
    "add_global",
    "add_verbose",
    "documented_parser",
    "error_line",
    "make_client",
    "print_card",
    "setup_logging",
    "show",
    "silence",
]

OFFLINE_SOURCE = "sandbox"


def _version() -> str:
    try:
        return version("dlnuf")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def add_global(parser: argparse.ArgumentParser) -> None:
    """Options of the ``dlnuf`` command itself: ``--version``, ``-v``."""
    parser.add_argument("--version", action="version", version=f"dlnuf {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="show dlnuf's log on stderr (-vv: debug)",
    )


def documented_parser(sub: Any, name: str, help: str, doc: str | None) -> Any:
    """A subcommand whose ``--help`` shows its module's docstring (after the title line)."""
    return sub.add_parser(
        name,
        help=help,
        description=(doc or "").split("\n\n", 1)[-1].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """``-v`` also after the subcommand (``dlnuf lookup SIRET -v``)."""
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="show dlnuf's log on stderr (-vv: debug)",
    )


@contextmanager
def setup_logging(verbose: int) -> Iterator[None]:
    """While the command runs, send the ``dlnuf.*`` logs to stderr: INFO with ``-v``,
    DEBUG with ``-vv`` (the logger is left as it was afterwards)."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("dlnuf")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def error_line(error: DlnufError, args: argparse.Namespace) -> str:
    """The one line printed for ``error``, with a hint where one helps."""
    if isinstance(error, InvalidIdentifier | ConfigurationError):
        return f"dlnuf: error: {error}"
    line = f"dlnuf: {type(error).__name__}: {error}"
    sources = getattr(args, "source", None) or []
    if error.transient and OFFLINE_SOURCE not in sources:
        line += (
            f"\ndlnuf: hint: retry later (exit status 3); offline, --source {OFFLINE_SOURCE} "
            "answers from the shipped sample data"
        )
    return line


def silence(out: TextIO) -> None:
    """After a closed pipe: point stdout at /dev/null so that the exit flush stays quiet."""
    if out is sys.stdout:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # no real file descriptor behind stdout
            pass

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
        "--timeout", type=float, metavar="SECONDS",
        help="seconds for one upstream call (default: $DLNUF_TIMEOUT or 5)",
    )
    parser.add_argument(
        "--authenticated",
        action="store_true",
        help="authenticated, entitled use: protected (non-diffusible) data allowed",
    )
    add_verbose(parser)


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
    if args.timeout is not None:
        kwargs["timeout"] = args.timeout
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
