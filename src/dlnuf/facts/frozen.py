"""The base of facts and of the values inside them: frozen models sharing their field sets.

pydantic gives every model instance its own ``__pydantic_fields_set__``, the set of
the fields it was given: for an :class:`~dlnuf.Identity` of 24 given fields, a 1.2 KB
set, and its address and provenance carry one each, about 40% of the memory of the
fact. Facts are frozen, so that set never changes after validation; the facts of a
batch of 100,000 lines have a handful of distinct ones. :class:`FrozenModel` makes
instances with the same given fields share one set (a ``many()`` run keeps fewer
megabytes alive: ``docs/benchmarks.md``, lines).

pydantic itself never changes a frozen model's set in place: ``model_copy`` copies it
before adding the updated fields (and the copy is shared again here). Treat
``model_fields_set`` as read-only, as the frozen model it describes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

__all__ = ["FrozenModel"]

_MAX_SHARED = 4096
"""At most this many distinct field sets are shared (a source's facts have a few)."""
_shared: dict[frozenset[str], set[str]] = {}
_lock = threading.Lock()


def _share(model: BaseModel) -> None:
    """Give ``model`` the shared set equal to its own fields set."""
    own: set[str] = model.__pydantic_fields_set__
    key = frozenset(own)
    shared = _shared.get(key)
    if shared is None:
        with _lock:
            if len(_shared) >= _MAX_SHARED:
                return
            shared = _shared.setdefault(key, own)
    if shared is not own:
        object.__setattr__(model, "__pydantic_fields_set__", shared)


class FrozenModel(BaseModel):
    """A frozen pydantic model whose instances share their set of given fields."""

    model_config = ConfigDict(frozen=True)

    def model_post_init(self, context: Any, /) -> None:
        """Share the fields set of the validated instance."""
        _share(self)

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self:
        """A copy with ``update`` applied (see ``BaseModel.model_copy``), its fields set
        shared."""
        copied = super().model_copy(update=update, deep=deep)
        own = self.__pydantic_fields_set__
        if update is None or own.issuperset(update):  # the usual copy: the same fields
            object.__setattr__(copied, "__pydantic_fields_set__", own)
        else:
            _share(copied)
        return copied
