"""The ``dlnuf`` command. Each subcommand lives in its own module with a ``register`` function.

Exit status: 0 done, 1 the upstream could not answer (not found, down...),
2 bad input or configuration. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ..errors import ConfigurationError, DlnufError, InvalidIdentifier
from . import batch, evidence, lookup, prefill, stock

__all__ = ["build_parser", "main"]

COMMANDS = [lookup, evidence, prefill, batch, stock]
"""Modules that add subcommands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dlnuf`` command."""
    parser = argparse.ArgumentParser(
        prog="dlnuf", description="Dites-le-nous une fois: company facts from a SIRET."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
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
