"""``dlnuf prefill FORM SIRET`` and ``dlnuf forms``: pre-fill a form, list the ready forms."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ..forms import READY_FORMS, Draft, Form, FormInvalid, field_specs, form_by_name
from ._common import add_common, make_client, print_card, show
from .exits import NOT_FOUND, OK, USAGE, UsageError

__all__ = ["register", "render_draft"]


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value) or "(none)"
    if hasattr(value, "model_dump"):
        return ", ".join(f"{k}={show(v)}" for k, v in value.model_dump().items() if v is not None)
    return show(value)


def render_draft(draft: Draft[Any]) -> list[tuple[str, str]]:
    """The rows of a draft card: found values with their source, then what is missing."""
    rows: list[tuple[str, str]] = []
    specs = {s.name: s for s in field_specs(draft.form)}
    for name, value in draft.values.items():
        rows.append((specs[name].label, f"{_value(value)} (source: {draft.describe(name)})"))
    for item in draft.missing:
        need = "to ask" if item.required else "optional"
        rows.append((item.label, f"MISSING ({need}): {item.reason}"))
    for kind, (error, fields) in draft.errors.items():
        rows.append((f"error {kind.__name__}", f"{error} (fields left empty: "
                     f"{', '.join(fields) or 'none'})"))
    for conflict in draft.conflicts:
        rows.append((f"conflict {conflict.field}", f"answered {_value(conflict.answered)}, "
                     f"kept verified {_value(conflict.verified)}"))
    rows.extend(("warning", warning) for warning in draft.warnings)
    return rows


def _load_answers(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the answers file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError(f"the answers file {path} must hold a JSON object field -> value")
    return data


def _for_form(
    form_cls: type[Form], answers: dict[str, Any], verbose: int
) -> dict[str, Any]:
    """The answers that are fields of ``form_cls``: an answers file is the company's, not
    one form's, so the others are ignored (listed on stderr with ``-v``)."""
    names = {spec.name for spec in field_specs(form_cls)}
    ignored = sorted(set(answers) - names)
    if ignored and verbose:
        print(
            f"dlnuf: ignored answers that are not fields of {form_cls.form_name}: "
            + ", ".join(ignored),
            file=sys.stderr,
        )
    return {name: value for name, value in answers.items() if name in names}


def cmd_prefill(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf prefill FORM SIRET``: found values, missing fields and provenance."""
    try:
        form_cls: type[Form] = form_by_name(args.form)
    except (ValueError, ImportError) as exc:
        raise UsageError(str(exc)) from exc
    if args.authenticated:
        form_cls = form_cls.as_authenticated()
    answers = (
        _for_form(form_cls, _load_answers(args.answers), args.verbose) if args.answers else None
    )
    completed = None
    with make_client(args) as client:
        draft = client.prefill(form_cls, args.siret)
        if answers is not None:
            try:
                draft = draft.answer(**answers)
                if draft.complete_enough:
                    completed = draft.complete()
            except FormInvalid as exc:
                for name, message in exc.field_errors.items():
                    print(f"dlnuf: invalid answer {name}: {message}", file=sys.stderr)
                return USAGE
    if args.json:
        data = draft.as_dict()
        data["completed"] = completed is not None
        print(json.dumps(data, ensure_ascii=False, indent=2), file=out)
    else:
        title = f"{form_cls.title or form_cls.form_name} — {args.siret}"
        print_card(title, render_draft(draft), out)
        if completed is not None:
            print("complete: the form is valid; declared answers saved", file=out)
    if draft.not_found:
        print(f"dlnuf: NotFound: {args.siret} is unknown to the identity source", file=sys.stderr)
        return NOT_FOUND
    return OK


def cmd_forms(args: argparse.Namespace, out: TextIO) -> int:
    """``dlnuf forms``: the ready forms and their fields."""
    if args.json:
        listed = [
            {
                "name": name,
                "title": form_cls.title,
                "fields": [
                    {"name": spec.name, "origin": spec.origin_name, "protected": spec.protected}
                    for spec in field_specs(form_cls)
                ],
            }
            for name, form_cls in READY_FORMS.items()
        ]
        print(json.dumps(listed, ensure_ascii=False, indent=2), file=out)
        return OK
    for name, form_cls in READY_FORMS.items():
        specs = field_specs(form_cls)
        print(f"{name:<11} {form_cls.title}", file=out)
        if args.verbose:
            for spec in specs:
                extra = " protected" if spec.protected else ""
                print(f"    {spec.name:<22} {spec.origin_name}{extra}", file=out)
    return 0


def register(sub: Any) -> None:
    """Add ``prefill`` and ``forms`` to the subcommands."""
    prefill = sub.add_parser("prefill", help="pre-fill a form (DC1, DC2, DUME, CERFA12156)")
    add_common(prefill)
    prefill.add_argument("form", help="DC1, DC2, DUME, CERFA12156, or module:Class")
    prefill.add_argument("siret", help="14-digit SIRET (spaces and dots allowed)")
    prefill.add_argument("--json", action="store_true", help="print JSON instead of a card")
    prefill.add_argument(
        "--answers",
        metavar="FILE",
        help="JSON object of answers (field -> value) to apply; fields the form does not "
        "have are ignored (listed with -v); when the form is then complete, it is "
        "validated and the declared answers are saved",
    )
    prefill.set_defaults(func=cmd_prefill)
    forms = sub.add_parser("forms", help="list the ready forms")
    forms.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS,
        help="list each form's fields",
    )
    forms.add_argument("--json", action="store_true", help="print JSON (with the fields)")
    forms.set_defaults(func=cmd_forms)
