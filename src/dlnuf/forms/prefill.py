"""Pre-filling a form from a dossier and the company's earlier answers: :func:`prefill`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..answers import AnswerStore, DeclaredAnswer
from ..dossier import Dossier
from ..facts.base import Provenance
from ..identifiers import Siren, Siret
from .draft import Draft, MissingField, missing_field
from .form import F
from .markers import Declared, Derived, From, Sworn
from .reasons import ASKED, DECLARED_SOURCE, NOT_DECLARED, PROTECTED, SWORN, WITHHELD
from .report import report
from .specs import FieldSpec, checked, field_specs
from .view import FactView, FormFacts

__all__ = ["prefill"]


def prefill(
    form: type[F], dossier: Dossier, answers: AnswerStore | None = None
) -> Draft[F]:
    """Pre-fill ``form`` from ``dossier`` and the company's earlier ``answers``.

    Pure: no I/O besides one read of the answer store. Never raises for missing
    data: a field that cannot be filled is in ``draft.missing`` with the reason.
    """
    specs = field_specs(form)
    ctx = FormFacts(dossier, form.authenticated)
    stored: dict[str, DeclaredAnswer] = {}
    if answers is not None and any(isinstance(s.origin, Declared) for s in specs):
        stored = answers.get(dossier.ident)
    values: dict[str, Any] = {}
    provenance: dict[str, Provenance] = {}
    origins: dict[str, str] = {}
    declared: dict[str, DeclaredAnswer] = {}
    missing: list[MissingField] = []
    for spec in specs:
        origin = spec.origin
        if spec.protected and not form.authenticated:
            missing.append(missing_field(spec, PROTECTED))
            continue
        found: tuple[Any, Provenance] | None = None
        reason = ASKED
        if isinstance(origin, From):
            found, reason = _from(spec, origin, ctx)
        elif isinstance(origin, Derived):
            found, reason = _derived(spec, origin, ctx)
        elif isinstance(origin, Declared):
            found, reason = _declared(spec, origin, stored, dossier.ident)
            if found is not None:
                declared[spec.name] = stored[origin.key]
        elif isinstance(origin, Sworn):
            reason = SWORN
        if found is None:
            missing.append(missing_field(spec, reason))
        else:
            values[spec.name], provenance[spec.name] = found
            origins[spec.name] = spec.origin_name
    draft: Draft[F] = Draft(
        form=form,
        ident=dossier.ident,
        values=values,
        provenance=provenance,
        missing=missing,
        declared=declared,
        origins=origins,
        answers=answers,
    )
    report(draft, specs, dossier)
    return draft


def _from(
    spec: FieldSpec, origin: From, ctx: FormFacts
) -> tuple[tuple[Any, Provenance] | None, str]:
    reasons: list[str] = []
    for path in origin.paths:
        read = ctx.read(path)
        if read.value is not None and read.fact is not None:
            value, problem = checked(spec, read.value)
            if problem is None:
                return (value, read.fact.provenance), ""
            reasons.append(problem)
        elif read.reason:
            reasons.append(read.reason)
    return None, "; ".join(dict.fromkeys(reasons))


def _derived(
    spec: FieldSpec, origin: Derived, ctx: FormFacts
) -> tuple[tuple[Any, Provenance] | None, str]:
    needs = origin.kinds(ctx.authenticated)
    view = FactView({key: ctx.facts.get(key) for key in needs})
    value = origin.func(view)
    basis = view.used[0] if view.used else None
    if value is not None and basis is not None:
        result, problem = checked(spec, value)
        if problem is None:
            return (result, basis.provenance), ""
        return None, problem
    reasons = [WITHHELD] if view.withheld else []
    reasons += [ctx.reasons[k] for k in needs if k in ctx.reasons]
    detail = "; ".join(dict.fromkeys(reasons)) or "not enough data"
    return None, f"could not be computed: {detail}"


def _declared(
    spec: FieldSpec,
    origin: Declared,
    stored: Mapping[str, DeclaredAnswer],
    ident: Siret | Siren,
) -> tuple[tuple[Any, Provenance] | None, str]:
    answer = stored.get(origin.key)
    if answer is None:
        return None, NOT_DECLARED
    value, problem = checked(spec, answer.value)
    if problem is not None:
        return None, f"declared value no longer valid ({problem})"
    prov = Provenance(
        source=DECLARED_SOURCE,
        endpoint=origin.key,
        fetched_at=answer.declared_at,
        updated_at=answer.declared_at,
        public=False,
    )
    return (value, prov), ""

