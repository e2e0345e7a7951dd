"""``dlnuf answers list|export|erase``: what companies declared, from the shell.

    dlnuf answers list                 every company with answers, and how many
    dlnuf answers list SIREN           the company's answers (and its establishments')
    dlnuf answers export SIREN         the same as JSON (the GDPR right of access)
    dlnuf answers erase SIREN          forget them all (the GDPR right of erasure)

The store is the one ``dlnuf prefill`` uses with the same options: ``--store FILE``
(or ``$DLNUF_ANSWERS``), else the place :func:`dlnuf.answers.answers_location`
gives for ``--source`` and ``--cache``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from ..answers import AnswerStore, DeclaredAnswer, answers_location
from ..config import Settings
from ._common import add_verbose, documented_parser, print_card
from .exits import OK, UsageError

__all__ = ["register"]


def _store(args: argparse.Namespace) -> AnswerStore:
    given: dict[str, Any] = {}
    if args.source:
        given["sources"] = args.source
    if args.cache:
        given["cache"] = args.cache
    if args.store:
        given["answers"] = args.store
    settings = Settings.from_env(**given)
    location = answers_location(settings)
    if location is None:
        raise UsageError(
            "answers are kept in memory with this configuration (no persistent cache): "
            "there is nothing on disk to read; say which file with --store FILE"
        )
    if not location.exists():  # never create a store just to read it
        raise _Empty(location)
    return AnswerStore(location)


class _Empty(Exception):
    def __init__(self, location: Path) -> None:
        super().__init__(str(location))
        self.location = location


def _json(exported: dict[str, dict[str, DeclaredAnswer]]) -> dict[str, Any]:
    return {
        ident: {key: answer.model_dump(mode="json") for key, answer in answers.items()}
        for ident, answers in exported.items()
    }


def cmd_answers(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf answers ACTION [SIREN]``: list, export or erase declared answers."""
    if args.action in ("export", "erase") and not args.siren:
        raise UsageError(f"dlnuf answers {args.action} needs a SIREN (or a SIRET)")
    try:
        store = _store(args)
    except _Empty as empty:
        if args.action == "export":
            print(json.dumps({}), file=out)
        else:
            print(f"no answers stored ({empty.location} does not exist)", file=out)
        return OK
    with store:
        if args.action == "erase":
            count = store.erase(args.siren)
            print(f"erased {count} answers of {args.siren} from {store.path}", file=out)
        elif args.action == "export" or (args.siren and args.json):
            print(json.dumps(_json(store.export(args.siren)), ensure_ascii=False, indent=2),
                  file=out)
        elif args.siren:
            rows = [
                (f"{ident} {key}", f"{json.dumps(a.value, ensure_ascii=False)} "
                 f"(declared {a.declared_at:%Y-%m-%d}" + (f" in {a.form})" if a.form else ")"))
                for ident, answers in store.export(args.siren).items()
                for key, a in answers.items()
            ]
            if rows:
                print_card(f"Answers of {args.siren} ({store.path})", rows, out)
            else:
                print(f"no answers stored for {args.siren} in {store.path}", file=out)
        else:
            companies = store.companies()
            if args.json:
                print(json.dumps(companies, indent=2), file=out)
            elif not companies:
                print(f"no answers stored in {store.path}", file=out)
            else:
                for siren, count in companies.items():
                    print(f"{siren}  {count} answers", file=out)
    return OK


def register(sub: Any) -> None:
    """Add ``answers`` to the subcommands."""
    answers = documented_parser(
        sub, "answers", "list, export or erase what companies declared", __doc__
    )
    answers.add_argument("action", choices=["list", "export", "erase"])
    answers.add_argument("siren", nargs="?", help="SIREN (or a SIRET: read as its SIREN)")
    answers.add_argument("--store", metavar="FILE", help="the answers file (default: as prefill)")
    answers.add_argument(
        "--source", action="append", metavar="NAME",
        help="as for prefill: 'sandbox' has its own store",
    )
    answers.add_argument("--cache", metavar="URL", help="as for prefill")
    answers.add_argument("--json", action="store_true", help="print JSON")
    add_verbose(answers)
    answers.set_defaults(func=cmd_answers)
