"""The result of :func:`~dlnuf.forms.prefill`: :class:`Draft` and what it holds.

A draft has the values found, the fields still to ask (:class:`MissingField`),
where each value comes from; it takes answers (:meth:`Draft.answer`), lets the
user reject a proposed value (:meth:`Draft.reject`) and builds the validated
form (:meth:`Draft.complete`), storing the company's declared answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Generic, NamedTuple

from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from ..answers import AnswerStore, DeclaredAnswer
from ..errors import DlnufError
from ..facts.base import Fact, Provenance, utcnow
from ..identifiers import Siren, Siret
from .form import F
from .markers import Declared
from .reasons import ANSWERED_SOURCE, REJECTED
from .schema import fields_json_schema
from .specs import FieldSpec, field_specs, validation_message

__all__ = [
    "Conflict",
    "Draft",
    "FormInvalid",
    "KindError",
    "MissingField",
    "Proposal",
    "missing_field",
]

log = logging.getLogger("dlnuf.forms")


@dataclass(frozen=True)
class MissingField:
    """A field to ask the user: its label, its type, why it is not pre-filled."""

    name: str
    label: str
    type: Any
    reason: str
    required: bool = True
    origin: str = "asked"
    """``fact``, ``derived``, ``declared``, ``sworn`` or ``asked``."""
    key: str | None = None
    """The answer-store key of a declared field."""


class KindError(NamedTuple):
    """A kind that could not be fetched, and the fields it leaves empty."""

    error: DlnufError
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Conflict:
    """An answer contradicting a verified value: the verified value was kept."""

    field: str
    label: str
    verified: Any
    answered: Any
    provenance: Provenance


@dataclass(frozen=True)
class Proposal:
    """A pre-filled value offered for the user to accept or reject (:meth:`Draft.preview`)."""

    field: str
    label: str
    value: Any
    origin: str
    source: str
    """Where the value comes from, in words."""
    provenance: Provenance


class FormInvalid(DlnufError, ValueError):
    """Answers do not make a valid form: ``field_errors`` says what is wrong, by field."""

    def __init__(self, form: str, field_errors: dict[str, str]) -> None:
        self.form = form
        self.field_errors = field_errors
        detail = "; ".join(f"{name}: {msg}" for name, msg in field_errors.items())
        super().__init__(f"{form} is not valid: {detail}")


@dataclass
class Draft(Generic[F]):
    """A pre-fill result: values found, fields to ask, where each value comes from.

    ``values`` (field -> value, in form order) and ``provenance`` (field ->
    :class:`~dlnuf.facts.Provenance`; ``source="declared"`` for an earlier answer
    of the company) cover the same fields; ``missing`` lists the others, in form
    order, with the reason. ``errors``: kinds that could not be fetched, with the
    fields they leave empty. ``closed``: the establishment or the company is
    closed (the draft is still filled); ``warnings`` says so, and more.
    """

    form: type[F]
    ident: Siret | Siren
    values: dict[str, Any]
    provenance: dict[str, Provenance]
    missing: list[MissingField]
    errors: dict[type[Fact], KindError] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    closed: bool = False
    not_found: bool = False
    """The company is unknown to the identity source (every fact field is missing)."""
    conflicts: list[Conflict] = field(default_factory=list)
    declared: dict[str, DeclaredAnswer] = field(default_factory=dict)
    """Values that come from the answer store, by field: when and in which form."""
    origins: dict[str, str] = field(default_factory=dict)
    """How each value was obtained: ``fact``, ``derived``, ``declared`` or ``answered``."""
    answers: AnswerStore | None = field(default=None, repr=False)

    @property
    def siret(self) -> Siret | None:
        """The SIRET the draft was pre-filled for, if a SIRET was given."""
        return self.ident if isinstance(self.ident, Siret) else None

    @property
    def siren(self) -> Siren:
        """The SIREN of the company."""
        return self.ident.siren

    @property
    def missing_names(self) -> list[str]:
        """The names of the missing fields, in form order."""
        return [m.name for m in self.missing]

    @property
    def complete_enough(self) -> bool:
        """Whether every required field has a value (``complete()`` may still reject one)."""
        return not any(m.required for m in self.missing)

    def describe(self, name: str) -> str:
        """Where the value of field ``name`` comes from, in words."""
        prov = self.provenance[name]
        origin = self.origins.get(name, "fact")
        if origin == "declared":
            answer = self.declared.get(name)
            when = f"{prov.fetched_at:%Y-%m-%d}"
            form = f" ({answer.form})" if answer is not None and answer.form else ""
            return f"declared by the company on {when}{form}"
        if origin == "answered":
            return "answered on this form"
        text = f"{prov.source} {prov.endpoint}".strip()
        if prov.from_cache:
            text += " (cache, stale)" if prov.stale else " (cache)"
        text += f", fetched {prov.fetched_at:%Y-%m-%d %H:%M} UTC"
        return f"computed from {text}" if origin == "derived" else text

    def preview(self) -> list[Proposal]:
        """Every value that will be applied, with its source, to accept or :meth:`reject`."""
        specs = {s.name: s for s in field_specs(self.form)}
        return [
            Proposal(
                field=name,
                label=specs[name].label,
                value=value,
                origin=self.origins.get(name, "fact"),
                source=self.describe(name),
                provenance=self.provenance[name],
            )
            for name, value in self.values.items()
        ]

    def reject(self, *names: str) -> Draft[F]:
        """A copy where the pre-filled values of ``names`` are dropped and asked instead."""
        specs = {s.name: s for s in field_specs(self.form)}
        unknown = [n for n in names if n not in self.values]
        if unknown:
            raise FormInvalid(
                self.form.form_name, {n: "no pre-filled value to reject" for n in unknown}
            )
        rejected = set(names)
        missing = {m.name: m for m in self.missing}
        for name in rejected:
            missing[name] = missing_field(specs[name], REJECTED)
        return replace(
            self,
            values={k: v for k, v in self.values.items() if k not in rejected},
            provenance={k: v for k, v in self.provenance.items() if k not in rejected},
            origins={k: v for k, v in self.origins.items() if k not in rejected},
            declared={k: v for k, v in self.declared.items() if k not in rejected},
            missing=[missing[s.name] for s in specs.values() if s.name in missing],
            conflicts=list(self.conflicts),
        )

    def answer(self, **answers: Any) -> Draft[F]:
        """A copy with ``answers`` applied (each validated); nothing is stored.

        An unknown field or a value of the wrong type raises :class:`FormInvalid`
        and applies nothing. An answer that contradicts a verified value (from
        a fact) is not applied: the verified value wins and the contradiction
        is added to ``conflicts``. An answer to a declared field replaces the
        earlier declaration (stored by :meth:`complete`).
        """
        specs = {s.name: s for s in field_specs(self.form)}
        field_errors: dict[str, str] = {}
        accepted: dict[str, Any] = {}
        conflicts = list(self.conflicts)
        for name, raw in answers.items():
            spec = specs.get(name)
            if spec is None:
                field_errors[name] = f"not a field of {self.form.form_name}"
                continue
            try:
                value = spec.adapter.validate_python(raw)
            except ValidationError as exc:
                field_errors[name] = validation_message(exc)
                continue
            if self.origins.get(name) in ("fact", "derived"):
                if value != self.values[name]:
                    conflicts.append(
                        Conflict(name, spec.label, self.values[name], value, self.provenance[name])
                    )
                    log.warning(
                        "%s.%s: answer contradicts the verified value; the verified value is kept",
                        self.form.form_name,
                        name,
                    )
                continue
            accepted[name] = value
        if field_errors:
            raise FormInvalid(self.form.form_name, field_errors)
        now = utcnow()
        values = dict(self.values)
        provenance = dict(self.provenance)
        origins = dict(self.origins)
        declared = dict(self.declared)
        for name, value in accepted.items():
            spec = specs[name]
            values[name] = value
            key = spec.origin.key if isinstance(spec.origin, Declared) else name
            provenance[name] = Provenance(
                source=ANSWERED_SOURCE, endpoint=key, fetched_at=now, public=False
            )
            origins[name] = "answered"
            declared.pop(name, None)
        order = [s.name for s in specs.values()]
        return replace(
            self,
            values={n: values[n] for n in order if n in values},
            provenance={n: provenance[n] for n in order if n in provenance},
            origins={n: origins[n] for n in order if n in origins},
            declared=declared,
            missing=[m for m in self.missing if m.name not in accepted],
            conflicts=conflicts,
        )

    def complete(self, **answers: Any) -> F:
        """The whole form, validated, with ``answers`` applied; declared answers are stored.

        Raises :class:`FormInvalid` (``field_errors`` by field) when an answer is
        wrong or a required field is still missing. A contradicting answer does
        not override a verified value: it is recorded in :attr:`conflicts`.
        Declared answers go to the answer store (with the date and the form
        name) only once the whole form is valid; sworn statements never do.
        """
        specs = {s.name: s for s in field_specs(self.form)}
        try:
            answered = self.answer(**answers)
        except FormInvalid as exc:  # report the unanswered required fields at the same time
            for item in self.missing:
                if item.required and item.name not in answers:
                    exc.field_errors.setdefault(
                        item.name, f"required, not answered ({specs[item.name].label})"
                    )
            raise FormInvalid(self.form.form_name, exc.field_errors) from None
        self.conflicts[:] = answered.conflicts
        try:
            form = self.form.model_validate(answered.values)
        except ValidationError as exc:
            field_errors: dict[str, str] = {}
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "__root__"
                if error["type"] == "missing" and name in specs:
                    message = f"required, not answered ({specs[name].label})"
                else:
                    message = error["msg"]
                field_errors.setdefault(name, message)
            raise FormInvalid(self.form.form_name, field_errors) from None
        if self.answers is not None:
            entries = []
            for name, origin in answered.origins.items():
                spec = specs[name]
                if origin == "answered" and isinstance(spec.origin, Declared):
                    site = spec.origin.level == "siret" and self.siret is not None
                    ident = self.siret if site and self.siret else self.siren
                    entries.append((ident, spec.origin.key, answered.values[name]))
            if entries:
                self.answers.set_many(entries, form=self.form.form_name)
        return form

    def __repr__(self) -> str:
        from ..display.text import draft_repr

        return draft_repr(self)

    def _repr_html_(self) -> str:
        """The draft as the form: values with their source, missing fields highlighted."""
        from ..display.html import draft_html

        return draft_html(self)

    def missing_json_schema(self) -> dict[str, Any]:
        """A JSON schema of exactly the missing fields (titles are the form's labels)."""
        return fields_json_schema(
            self.form, [(m.name, m.label, m.required) for m in self.missing]
        )

    def as_dict(self) -> dict[str, Any]:
        """The draft as JSON-ready data (for an API answer or ``dlnuf prefill --json``)."""
        return {
            "form": self.form.form_name,
            "authenticated": self.form.authenticated,
            "siret": self.siret,
            "siren": self.siren,
            "closed": self.closed,
            "not_found": self.not_found,
            "values": to_jsonable_python(self.values),
            "provenance": {
                name: {**prov.model_dump(mode="json"), "origin": self.origins.get(name, "fact"),
                       "description": self.describe(name)}
                for name, prov in self.provenance.items()
            },
            "missing": [
                {
                    "name": m.name,
                    "label": m.label,
                    "reason": m.reason,
                    "required": m.required,
                    "origin": m.origin,
                    **({"key": m.key} if m.key else {}),
                }
                for m in self.missing
            ],
            "errors": {
                kind.__name__: {
                    "error": type(err.error).__name__,
                    "message": str(err.error),
                    "fields": list(err.fields),
                }
                for kind, err in self.errors.items()
            },
            "warnings": list(self.warnings),
            "conflicts": [
                {
                    "field": c.field,
                    "verified": to_jsonable_python(c.verified),
                    "answered": to_jsonable_python(c.answered),
                }
                for c in self.conflicts
            ],
        }



def missing_field(spec: FieldSpec, reason: str) -> MissingField:
    """The :class:`MissingField` asking for ``spec``, left empty for ``reason``."""
    key = spec.origin.key if isinstance(spec.origin, Declared) else None
    return MissingField(
        name=spec.name,
        label=spec.label,
        type=spec.annotation,
        reason=reason,
        required=spec.required,
        origin=spec.origin_name,
        key=key,
    )
