"""The ``dlnuf`` command. Each subcommand lives in its own module with a ``register`` function.

Exit statuses are listed in :mod:`dlnuf.cli.exits` (0 done, 1 not found, 2 invalid
input or usage, 3 transient: retry later, 4 configuration, 5 upstream error, 130
interrupted). Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ..errors import DlnufError
from . import answers, batch, evidence, lookup, prefill, stock, watch
from ._common import add_global, error_line, setup_logging, silence
from .exits import BROKEN_PIPE, INTERRUPTED, exit_code

__all__ = ["build_parser", "main"]

COMMANDS = [lookup, evidence, prefill, batch, answers, watch, stock]
"""Modules that add subcommands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dlnuf`` command."""
    parser = argparse.ArgumentParser(
        prog="dlnuf", description="Dites-le-nous une fois: company facts from a SIRET."
    )
    add_global(parser)
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
        with setup_logging(args.verbose):
            code = func(args, out)
        out.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except DlnufError as exc:
        print(error_line(exc, args), file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:  # Ctrl-C: quietly, with the shell's status for SIGINT
        return INTERRUPTED
    except BrokenPipeError:  # `dlnuf ... | head -1`: the reader has what it wanted
        silence(out)
        return BROKEN_PIPE
