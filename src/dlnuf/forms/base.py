"""Forms that fill themselves: :class:`Form`, the field markers, :func:`prefill`, :class:`Draft`.

A form is a pydantic model whose fields say where their value comes from::

    class MyForm(Form):
        siret: Annotated[Siret, From("identity.siret"), Field(title="Numéro SIRET")]
        email: Annotated[str, Declared("contact.email"), Field(title="Adresse électronique")]
        honest: Annotated[bool, Sworn(), Field(title="Je certifie sur l'honneur...")]

Markers (one per field, :class:`Protected` may be added to any of the first three):

- :class:`From` -- a fact path: a kind key (``identity``, ``turnover``, ``headcount``,
  ``vat``, ``registry``, ``rne``, ``association``, ``tax``, ``social``; see :data:`KINDS`)
  then attributes (``identity.address.one_line``). Several paths: the first that has a value.
- :class:`Derived` -- computed from facts by a function (the PME question, the turnover table).
- :class:`Declared` -- something the company declares itself, kept in the
  :class:`~dlnuf.answers.AnswerStore` under a key shared by every form.
- :class:`Sworn` -- a sworn statement: never pre-filled, always asked.
- :class:`Protected` -- needs an authenticated context: never pre-filled on a form
  whose ``authenticated`` class variable is false.
- no marker -- asked on every form, never stored (the lot applied for...).

Privacy: a form that is not ``authenticated`` never receives a withheld value
(``[ND]``) nor any value of a fact whose ``provenance.public`` is false; the field
is left missing, with the reason.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, ClassVar, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from ..answers import AnswerStore, DeclaredAnswer
from ..dossier import Dossier
from ..errors import DlnufError, NotFound
from ..facts.base import Fact, Provenance, utcnow
from ..facts.evidence import (
    Association,
    Headcount,
    RegistryExtract,
    RneExtract,
    SocialCertificate,
    TaxCertificate,
    Turnover,
    VatNumber,
)
from ..facts.identity import Identity
from ..identifiers import Siren, Siret

__all__ = [
    "ASKED",
    "KINDS",
    "NOT_DECLARED",
    "PROTECTED",
    "SWORN",
    "WITHHELD",
    "Conflict",
    "Declared",
    "Derived",
    "Draft",
    "FactView",
    "Form",
    "FormInvalid",
    "From",
    "KindError",
    "MissingField",
    "Proposal",
    "Protected",
    "Sworn",
    "field_specs",
    "prefill",
    "register_kind",
    "required_kinds",
]

log = logging.getLogger("dlnuf.forms")

KINDS: dict[str, type[Fact]] = {
    "identity": Identity,
    "turnover": Turnover,
    "headcount": Headcount,
    "vat": VatNumber,
    "registry": RegistryExtract,
    "rne": RneExtract,
    "association": Association,
    "tax": TaxCertificate,
    "social": SocialCertificate,
}
"""Kind keys usable as the first segment of a :class:`From` path, and their fact class."""

WITHHELD = "withheld: not diffusible"
PROTECTED = "protected data: needs an authenticated form"
SWORN = "sworn statement: never pre-filled"
NOT_DECLARED = "not declared yet"
ASKED = "asked on every form"
REJECTED = "rejected by the user"

DECLARED_SOURCE = "declared"
"""``Provenance.source`` of a value the company declared earlier (the answer store)."""
ANSWERED_SOURCE = "answered"
"""``Provenance.source`` of a value answered on this draft."""


def register_kind(key: str, kind: type[Fact]) -> None:
    """Make ``key`` usable in :class:`From` paths and :class:`Derived` needs for ``kind``."""
    if not (isinstance(kind, type) and issubclass(kind, Fact)):
        raise TypeError(f"{kind!r} is not a Fact subclass")
    if key in KINDS and KINDS[key] is not kind:
        raise ValueError(f"kind key {key!r} already names {KINDS[key].__name__}")
    KINDS[key] = kind


# --- Markers ------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class From:
    """The field's value is a fact's attribute: ``From("identity.legal_name")``.

    With several paths the first one giving a value (allowed on the form) wins.
    """

    paths: tuple[str, ...]

    def __init__(self, *paths: str) -> None:
        if not paths:
            raise TypeError("From() needs at least one path, like From('identity.legal_name')")
        object.__setattr__(self, "paths", tuple(paths))


@dataclass(frozen=True)
class Derived:
    """The field's value is computed from facts: ``Derived(func, needs=("identity",))``.

    ``func`` receives a :class:`FactView` (the needed facts this form may use)
    and returns the value, or ``None`` when it cannot tell. The value's
    provenance is that of the first fact the function read a value from.
    ``authenticated_needs`` are kinds read only on an authenticated form (they
    come from protected endpoints: a public form neither fetches nor sees them).
    An exception raised by ``func`` is a bug in the form: it propagates.
    """

    func: Callable[[FactView], Any]
    needs: tuple[str, ...]
    authenticated_needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("needs", "authenticated_needs"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))

    def kinds(self, authenticated: bool) -> tuple[str, ...]:
        """The kind keys read on a form that is (or is not) authenticated."""
        if authenticated:
            return tuple(dict.fromkeys((*self.needs, *self.authenticated_needs)))
        return self.needs


@dataclass(frozen=True)
class Declared:
    """A value the company declares itself, stored once under ``key`` for every form.

    ``level="siret"`` keeps it per establishment instead of per company.
    """

    key: str
    level: str = "siren"

    def __post_init__(self) -> None:
        if self.level not in ("siren", "siret"):
            raise ValueError(f"Declared level must be 'siren' or 'siret', not {self.level!r}")


@dataclass(frozen=True)
class Sworn:
    """A sworn statement (déclaration sur l'honneur): never pre-filled, always asked."""


@dataclass(frozen=True)
class Protected:
    """The field needs an authenticated context: empty on a form that is not authenticated."""


Origin = From | Derived | Declared | Sworn | None


# --- The form -----------------------------------------------------------------------------


class Form(BaseModel):
    """Base of every pre-fillable form. Subclass it and annotate the fields with markers.

    Class variables: ``authenticated`` (the form is shown in an authenticated,
    entitled context: protected data allowed), ``form_name`` (short name stored
    with declared answers, the class name by default), ``title``.
    """

    model_config = ConfigDict(extra="forbid")

    authenticated: ClassVar[bool] = False
    form_name: ClassVar[str] = ""
    title: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "form_name" not in cls.__dict__:
            cls.form_name = cls.__name__
        if cls.__pydantic_complete__:  # else (forward references) checked on first use
            field_specs(cls)  # check the markers now: a bad path fails at class definition

    @classmethod
    def as_authenticated(cls) -> type[Form]:
        """The same form, marked authenticated (for an entitled, authenticated context)."""
        if cls.authenticated:
            return cls
        return _authenticated_variant(cls)


@functools.cache
def _authenticated_variant(cls: type[Form]) -> type[Form]:
    namespace = {
        "authenticated": True,
        "form_name": cls.form_name,
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
    }
    variant: type[Form] = type(cls.__name__, (cls,), namespace)
    return variant


F = TypeVar("F", bound=Form)


@dataclass(frozen=True)
class FieldSpec:
    """What dlnuf knows about one form field (read from its annotation)."""

    name: str
    label: str
    annotation: Any
    required: bool
    origin: Origin
    protected: bool
    adapter: TypeAdapter[Any] = field(repr=False, compare=False)

    def kinds(self, authenticated: bool) -> tuple[str, ...]:
        """Kind keys the field reads on a form that is (or is not) authenticated."""
        if self.protected and not authenticated:
            return ()
        if isinstance(self.origin, From):
            return tuple(dict.fromkeys(p.split(".", 1)[0] for p in self.origin.paths))
        if isinstance(self.origin, Derived):
            return self.origin.kinds(authenticated)
        return ()

    @property
    def origin_name(self) -> str:
        """``fact``, ``derived``, ``declared``, ``sworn`` or ``asked``."""
        return _origin_name(self.origin)


def _origin_name(origin: Origin) -> str:
    if isinstance(origin, From):
        return "fact"
    if isinstance(origin, Derived):
        return "derived"
    if isinstance(origin, Declared):
        return "declared"
    if isinstance(origin, Sworn):
        return "sworn"
    return "asked"


_MARKERS = (From, Derived, Declared, Sworn)


def field_specs(form: type[Form]) -> tuple[FieldSpec, ...]:
    """The fields of ``form`` with their origin, in form order. Raises TypeError on bad markers."""
    return _field_specs(form)


@functools.cache
def _field_specs(form: type[Form]) -> tuple[FieldSpec, ...]:
    specs = []
    for name, info in form.model_fields.items():
        origins = [m for m in info.metadata if isinstance(m, _MARKERS)]
        if len(origins) > 1:
            raise TypeError(f"{form.__name__}.{name} has several origins: {origins}")
        origin: Origin = origins[0] if origins else None
        protected = any(isinstance(m, Protected) for m in info.metadata)
        if protected and isinstance(origin, Sworn):
            raise TypeError(f"{form.__name__}.{name}: a sworn statement is never pre-filled")
        if isinstance(origin, From):
            for path in origin.paths:
                _check_path(form, name, path)
        elif isinstance(origin, Derived):
            if not callable(origin.func):
                raise TypeError(
                    f"{form.__name__}.{name}: Derived got {origin.func!r}, not a function "
                    "(a field named like the function hides it in annotations: use an alias)"
                )
            for need in origin.kinds(True):
                if need not in KINDS:
                    raise TypeError(
                        f"{form.__name__}.{name}: unknown kind {need!r} in Derived needs; "
                        f"known: {', '.join(sorted(KINDS))}"
                    )
        constraints = [m for m in info.metadata if not isinstance(m, (*_MARKERS, Protected))]
        annotation: Any = info.annotation
        if constraints:
            adapter: TypeAdapter[Any] = TypeAdapter(_annotated(annotation, constraints))
        else:
            adapter = TypeAdapter(annotation)
        specs.append(
            FieldSpec(
                name=name,
                label=info.title or name.replace("_", " ").capitalize(),
                annotation=annotation,
                required=info.is_required(),
                origin=origin,
                protected=protected,
                adapter=adapter,
            )
        )
    return tuple(specs)


def _annotated(annotation: Any, constraints: list[Any]) -> Any:
    return Annotated[(annotation, *constraints)]


def _check_path(form: type[Form], name: str, path: str) -> None:
    key, _, rest = path.partition(".")
    where = f"{form.__name__}.{name}: From({path!r})"
    if key not in KINDS:
        raise TypeError(f"{where}: unknown kind {key!r}; known: {', '.join(sorted(KINDS))}")
    if not rest:
        raise TypeError(f"{where}: name an attribute after the kind, like 'identity.legal_name'")
    current: type[BaseModel] | None = KINDS[key]
    for attr in rest.split("."):
        if current is None:
            return  # past a property or a non-model value: checked when read
        if attr in current.model_fields:
            current = _model_of(current.model_fields[attr].annotation)
        elif hasattr(current, attr):
            current = None
        else:
            raise TypeError(f"{where}: {current.__name__} has no attribute {attr!r}")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [
        a for a in getattr(annotation, "__args__", ()) if isinstance(a, type) and issubclass(
            a, BaseModel
        )
    ]
    return models[0] if len(models) == 1 else None


def required_kinds(form: type[Form]) -> frozenset[type[Fact]]:
    """The kinds of fact ``form`` reads (none for a protected field on a public form)."""
    keys: dict[str, None] = {}
    for spec in field_specs(form):
        keys.update(dict.fromkeys(spec.kinds(form.authenticated)))
    return frozenset(KINDS[k] for k in keys)


# --- Reading facts --------------------------------------------------------------------------


def _resolve(fact: Fact, attrs: list[str]) -> tuple[Any, bool]:
    """The value at ``attrs`` in ``fact`` and whether its last step is a declared model field."""
    value: Any = fact
    is_field = True
    for attr in attrs:
        if value is None:
            return None, True
        is_field = isinstance(value, BaseModel) and attr in type(value).model_fields
        value = getattr(value, attr, None)
    if isinstance(value, str) and not value.strip():
        value = None
    return value, is_field


def _withheld(fact: Fact, attrs: list[str], is_field: bool) -> bool:
    """Whether the value at ``attrs`` is, or is computed from, something withheld upstream.

    A model holding withheld parts is withheld; a computed value (a property like
    ``address.one_line``) is withheld when anything of its container is.
    """
    if not fact.withheld:
        return False
    path = ".".join(attrs)
    if fact.is_withheld(path) or any(w.startswith(path + ".") for w in fact.withheld):
        return True
    if is_field:
        return False
    container = ".".join(attrs[:-1])
    if not container:
        return True
    return any(w.startswith(container + ".") for w in fact.withheld)


class _Read(NamedTuple):
    value: Any
    fact: Fact | None
    reason: str | None


class FactView:
    """The facts a :class:`Derived` function may use: only those the form is entitled to.

    ``get("identity")`` is the fact (or ``None``); ``value("identity.address.one_line")``
    reads a path and gives ``None`` when it is absent, withheld or not allowed.
    """

    def __init__(self, facts: Mapping[str, Fact | None]) -> None:
        self._facts = facts
        self.used: list[Fact] = []
        """Facts a value was read from, in order."""
        self.withheld: list[str] = []
        """Paths read that were withheld upstream."""

    def get(self, key: str) -> Fact | None:
        """The fact of kind ``key`` if the form may use it, else ``None``."""
        fact = self._facts.get(key)
        if fact is not None:
            self._use(fact)
        return fact

    def value(self, path: str) -> Any:
        """The value at ``path`` (``kind.attr...``); ``None``: unknown, withheld or not allowed."""
        key, _, rest = path.partition(".")
        fact = self._facts.get(key)
        if fact is None:
            return None
        attrs = rest.split(".")
        value, is_field = _resolve(fact, attrs)
        if _withheld(fact, attrs, is_field):
            self.withheld.append(path)
            return None
        if value is None:
            return None
        self._use(fact)
        return value

    def _use(self, fact: Fact) -> None:
        if not any(f is fact for f in self.used):
            self.used.append(fact)


# --- The draft ----------------------------------------------------------------------------


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
        return self.ident.siren if isinstance(self.ident, Siret) else self.ident

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
            missing[name] = _missing(specs[name], REJECTED)
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
                field_errors[name] = _message(exc)
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

    def missing_json_schema(self) -> dict[str, Any]:
        """A JSON schema of exactly the missing fields (titles are the form's labels)."""
        full = _json_schema(self.form)
        properties: dict[str, Any] = {}
        for item in self.missing:
            prop = dict(full["properties"][item.name])
            prop["title"] = item.label
            properties[item.name] = prop
        schema: dict[str, Any] = {
            "title": self.form.title or self.form.form_name,
            "type": "object",
            "properties": properties,
            "required": [m.name for m in self.missing if m.required],
            "additionalProperties": False,
        }
        defs = full.get("$defs", {})
        used = _refs(properties, defs)
        if used:
            schema["$defs"] = {name: defs[name] for name in sorted(used)}
        return schema

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


def _message(exc: ValidationError) -> str:
    return "; ".join(e["msg"] for e in exc.errors()) or str(exc)


@functools.cache
def _json_schema(form: type[Form]) -> dict[str, Any]:
    return form.model_json_schema()


def _refs(node: Any, defs: Mapping[str, Any], found: set[str] | None = None) -> set[str]:
    """Names of the ``$defs`` that ``node`` refers to, transitively."""
    found = set() if found is None else found
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name not in found and name in defs:
                found.add(name)
                _refs(defs[name], defs, found)
        for value in node.values():
            _refs(value, defs, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, defs, found)
    return found


def _missing(spec: FieldSpec, reason: str) -> MissingField:
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


# --- prefill --------------------------------------------------------------------------------


class _Context:
    """The facts of a dossier as one form may see them."""

    def __init__(self, dossier: Dossier, authenticated: bool) -> None:
        self.dossier = dossier
        self.authenticated = authenticated
        self.facts: dict[str, Fact | None] = {}
        self.reasons: dict[str, str] = {}
        for key, kind in KINDS.items():
            fact = dossier.facts.get(kind)
            error = dossier.errors.get(kind)
            if fact is not None:
                if authenticated or fact.provenance.public:
                    self.facts[key] = fact
                else:
                    self.facts[key] = None
                    self.reasons[key] = PROTECTED
            elif error is not None:
                self.facts[key] = None
                self.reasons[key] = f"{kind.__name__} could not be fetched: {_short(error)}"
            else:
                self.facts[key] = None
                self.reasons[key] = f"no {kind.__name__} in the dossier"

    def read(self, path: str) -> _Read:
        key, _, rest = path.partition(".")
        fact = self.facts.get(key)
        if fact is None:
            return _Read(None, None, self.reasons.get(key, f"no {key} fact"))
        attrs = rest.split(".")
        value, is_field = _resolve(fact, attrs)
        if _withheld(fact, attrs, is_field):
            return _Read(None, fact, WITHHELD)
        if value is None:
            return _Read(None, fact, f"not known to {fact.provenance.source}")
        return _Read(value, fact, None)


def _short(error: DlnufError) -> str:
    """The first part of an error message (before the bracketed request details)."""
    text = str(error).split(" [", 1)[0].strip()
    return text if len(text) <= 160 else text[:157] + "..."


def prefill(
    form: type[F], dossier: Dossier, answers: AnswerStore | None = None
) -> Draft[F]:
    """Pre-fill ``form`` from ``dossier`` and the company's earlier ``answers``.

    Pure: no I/O besides one read of the answer store. Never raises for missing
    data: a field that cannot be filled is in ``draft.missing`` with the reason.
    """
    specs = field_specs(form)
    ctx = _Context(dossier, form.authenticated)
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
            missing.append(_missing(spec, PROTECTED))
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
            missing.append(_missing(spec, reason))
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
    _report(draft, specs, dossier)
    return draft


def _checked(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    try:
        return spec.adapter.validate_python(value), None
    except ValidationError as exc:
        return None, f"value does not fit the field: {_message(exc)}"


def _from(
    spec: FieldSpec, origin: From, ctx: _Context
) -> tuple[tuple[Any, Provenance] | None, str]:
    reasons: list[str] = []
    for path in origin.paths:
        read = ctx.read(path)
        if read.value is not None and read.fact is not None:
            value, problem = _checked(spec, read.value)
            if problem is None:
                return (value, read.fact.provenance), ""
            reasons.append(problem)
        elif read.reason:
            reasons.append(read.reason)
    return None, "; ".join(dict.fromkeys(reasons))


def _derived(
    spec: FieldSpec, origin: Derived, ctx: _Context
) -> tuple[tuple[Any, Provenance] | None, str]:
    needs = origin.kinds(ctx.authenticated)
    view = FactView({key: ctx.facts.get(key) for key in needs})
    value = origin.func(view)
    basis = view.used[0] if view.used else None
    if value is not None and basis is not None:
        checked, problem = _checked(spec, value)
        if problem is None:
            return (checked, basis.provenance), ""
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
    value, problem = _checked(spec, answer.value)
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


def _report(draft: Draft[Any], specs: Iterable[FieldSpec], dossier: Dossier) -> None:
    """Fill ``errors``, ``closed``, ``not_found`` and ``warnings`` of a fresh draft."""
    form = draft.form
    missing = set(draft.missing_names)
    for spec in specs:
        for key in spec.kinds(form.authenticated):
            kind = KINDS[key]
            error = dossier.errors.get(kind)
            if error is None:
                continue
            previous = draft.errors.get(kind)
            fields = previous.fields if previous else ()
            if spec.name in missing:
                fields = (*fields, spec.name)
            draft.errors[kind] = KindError(error, fields)
    identity = dossier.get(Identity)
    if isinstance(dossier.errors.get(Identity), NotFound):
        draft.not_found = True
        draft.warnings.append(f"{dossier.ident} is unknown: {dossier.errors[Identity]}")
    if identity is not None:
        if not identity.active:
            draft.closed = True
            since = f" since {identity.closing_date}" if identity.closing_date else ""
            draft.warnings.append(f"the establishment {identity.siret} is closed{since}")
        if not identity.legal_unit_active:
            draft.closed = True
            draft.warnings.append(f"the company {identity.siren} has ceased trading")
        if identity.redirected_from is not None:
            draft.warnings.append(
                f"{identity.redirected_from} was a duplicate: the values are those of "
                f"{identity.siret}"
            )
    registry = dossier.get(RegistryExtract)
    if registry is not None and registry.struck_off_on is not None:
        draft.closed = True
        draft.warnings.append(f"struck off the trade register on {registry.struck_off_on}")
    association = dossier.get(Association)
    if association is not None and (association.active is False or association.dissolution_date):
        draft.closed = True
        on = f" on {association.dissolution_date}" if association.dissolution_date else ""
        draft.warnings.append(f"the association is dissolved{on}")
    for name, prov in draft.provenance.items():
        if prov.stale:
            draft.warnings.append(
                f"{name}: served from the cache past its expiry ({prov.source} did not answer)"
            )
    vat = dossier.get(VatNumber)
    if vat is not None and not vat.matches_computed:
        draft.warnings.append(
            f"the VAT number {vat.number} is not the one computed from the SIREN"
        )

