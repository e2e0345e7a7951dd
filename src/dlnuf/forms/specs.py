"""What dlnuf reads from a form's annotations: :class:`FieldSpec`, :func:`field_specs`.

Markers are checked here (a bad path fails at class definition), and each field
gets the validator that answers and pre-filled values go through.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..facts.base import Fact
from .kinds import KINDS
from .markers import MARKERS, Derived, From, Origin, Protected, Sworn, origin_name

if TYPE_CHECKING:
    from .form import Form

__all__ = ["FieldSpec", "checked", "field_specs", "required_kinds", "validation_message"]


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
        return origin_name(self.origin)


def field_specs(form: type[Form]) -> tuple[FieldSpec, ...]:
    """The fields of ``form`` with their origin, in form order. Raises TypeError on bad markers."""
    return _field_specs(form)


@functools.cache
def _field_specs(form: type[Form]) -> tuple[FieldSpec, ...]:
    specs = []
    for name, info in form.model_fields.items():
        origins = [m for m in info.metadata if isinstance(m, MARKERS)]
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
        constraints = [m for m in info.metadata if not isinstance(m, (*MARKERS, Protected))]
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


def validation_message(exc: ValidationError) -> str:
    """The messages of a validation error, on one line."""
    return "; ".join(e["msg"] for e in exc.errors()) or str(exc)


def checked(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """``value`` validated for the field, or ``None`` and why it does not fit."""
    try:
        return spec.adapter.validate_python(value), None
    except ValidationError as exc:
        return None, f"value does not fit the field: {validation_message(exc)}"
