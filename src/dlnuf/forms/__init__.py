"""Pre-filled forms: the :class:`Form` machinery and the ready forms (DC1, DC2, DUME, CERFA).

>>> from dlnuf.forms import DC2
>>> draft = client.prefill(DC2, "55204944776279")        # doctest: +SKIP
>>> draft.values["legal_name"], [m.name for m in draft.missing]  # doctest: +SKIP
"""

from __future__ import annotations

from . import base
from .base import *  # noqa: F403 - the machinery's public names, listed in base.__all__
from .base import Form
from .cerfa_12156 import Cerfa12156Identity
from .dc1 import DC1
from .dc2 import DC2, TurnoverLine
from .dume import DumeEconomicOperator

__all__ = [
    "DC1",
    "DC2",
    "READY_FORMS",
    "Cerfa12156Identity",
    "DumeEconomicOperator",
    "TurnoverLine",
    "form_by_name",
]
__all__ += base.__all__

READY_FORMS: dict[str, type[Form]] = {
    "DC1": DC1,
    "DC2": DC2,
    "DUME": DumeEconomicOperator,
    "CERFA12156": Cerfa12156Identity,
}
"""The forms dlnuf ships, by short name."""


def form_by_name(name: str) -> type[Form]:
    """A ready form by short name (``dc2``, ``DUME``, ``cerfa-12156``...), or ``module:Class``."""
    import importlib

    if ":" in name:
        module, _, attr = name.partition(":")
        found = getattr(importlib.import_module(module), attr, None)
        if not (isinstance(found, type) and issubclass(found, Form)):
            raise ValueError(f"{name} is not a dlnuf Form")
        return found
    key = name.upper().replace("-", "").replace("_", "").replace(" ", "")
    if key not in READY_FORMS:
        raise ValueError(
            f"unknown form {name!r}; ready forms: {', '.join(READY_FORMS)} (or module:Class)"
        )
    return READY_FORMS[key]
