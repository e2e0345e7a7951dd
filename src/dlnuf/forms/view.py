"""Reading facts as a form may see them: paths, withheld values, protected facts.

:class:`FactView` is what a :class:`~dlnuf.forms.Derived` function receives;
:class:`FormFacts` is the dossier as one form sees it, which :func:`~dlnuf.forms.prefill`
reads field paths from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from pydantic import BaseModel

from ..dossier import Dossier
from ..errors import DlnufError
from ..facts.base import Fact
from .kinds import KINDS
from .reasons import PROTECTED, WITHHELD

__all__ = ["FactView", "FormFacts", "Read", "short_error", "value_at"]


def value_at(fact: Fact, path: str) -> tuple[Any, bool]:
    """The value at ``path`` (attributes after the kind key) in ``fact``, and whether
    it is withheld (then the value is not to be used)."""
    attrs = path.split(".")
    value, is_field = _resolve(fact, attrs)
    return value, _withheld(fact, attrs, is_field)


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


class Read(NamedTuple):
    """What reading a path gave: the value, the fact it is from, or why there is none."""

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
        value, withheld = value_at(fact, rest)
        if withheld:
            self.withheld.append(path)
            return None
        if value is None:
            return None
        self._use(fact)
        return value

    def _use(self, fact: Fact) -> None:
        if not any(f is fact for f in self.used):
            self.used.append(fact)


class FormFacts:
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
                self.reasons[key] = f"{kind.__name__} could not be fetched: {short_error(error)}"
            else:
                self.facts[key] = None
                self.reasons[key] = f"no {kind.__name__} in the dossier"

    def read(self, path: str) -> Read:
        """The value at ``path`` (``kind.attr...``), or why the form gets none."""
        key, _, rest = path.partition(".")
        fact = self.facts.get(key)
        if fact is None:
            return Read(None, None, self.reasons.get(key, f"no {key} fact"))
        value, withheld = value_at(fact, rest)
        if withheld:
            return Read(None, fact, WITHHELD)
        if value is None:
            return Read(None, fact, f"not known to {fact.provenance.source}")
        return Read(value, fact, None)


def short_error(error: DlnufError) -> str:
    """The first part of an error message (before the bracketed request details)."""
    text = str(error).split(" [", 1)[0].strip()
    return text if len(text) <= 160 else text[:157] + "..."
