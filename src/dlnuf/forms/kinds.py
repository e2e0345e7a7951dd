"""The kind keys of :class:`~dlnuf.forms.From` paths and :class:`~dlnuf.forms.Derived` needs."""

from __future__ import annotations

from ..facts.base import Fact
from ..facts.kinds import KINDS

__all__ = ["KINDS", "register_kind"]


def register_kind(key: str, kind: type[Fact]) -> None:
    """Make ``key`` usable in :class:`From` paths and :class:`Derived` needs for ``kind``."""
    if not (isinstance(kind, type) and issubclass(kind, Fact)):
        raise TypeError(f"{kind!r} is not a Fact subclass")
    if key in KINDS and KINDS[key] is not kind:
        raise ValueError(f"kind key {key!r} already names {KINDS[key].__name__}")
    KINDS[key] = kind
