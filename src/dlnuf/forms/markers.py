"""The field markers saying where a form field's value comes from.

:class:`From` (a fact path), :class:`Derived` (computed from facts),
:class:`Declared` (the company says it once, for every form), :class:`Sworn`
(never pre-filled) and :class:`Protected` (authenticated forms only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .view import FactView

__all__ = ["MARKERS", "Declared", "Derived", "From", "Origin", "Protected", "Sworn", "origin_name"]


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
"""Where a field's value comes from (``None``: asked on every form)."""

MARKERS = (From, Derived, Declared, Sworn)
"""The origin markers: a field carries at most one of them."""


def origin_name(origin: Origin) -> str:
    """``fact``, ``derived``, ``declared``, ``sworn`` or ``asked``."""
    if isinstance(origin, From):
        return "fact"
    if isinstance(origin, Derived):
        return "derived"
    if isinstance(origin, Declared):
        return "declared"
    if isinstance(origin, Sworn):
        return "sworn"
    return "asked"
