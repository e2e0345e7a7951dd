"""Local sources: answered in-process from a local copy, with no request and no transport.

A :class:`LocalSource` (the Sirene stock files, :mod:`dlnuf.sources.sirene_stock`)
is still a :class:`~dlnuf.sources.base.Source` (name, kinds, priority, entry point),
but the lookup flow asks it :meth:`LocalSource.answer` through a
:class:`~dlnuf.flow.LocalCall` step instead of yielding a request: the sync client
calls it, the async client runs it in a worker thread (it may block on disk), and
nothing reaches the transport, the rate limiter or the cache (the copy is local
already). A :class:`LocalBatchSource` answers many SIRETs in one call:
``many()`` groups them by :attr:`~LocalBatchSource.batch_size` as it does for an
HTTP batch source.

Two rules of the flow differ for a local source, because its copy may be older
than the register: a :class:`~dlnuf.errors.NotFound` from it moves on to the next
configured source (a SIRET created since the copy), and is never cached as a
negative answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

from ..facts.base import Fact
from ..identifiers import Siret
from .base import Identifier, Source

__all__ = ["LocalBatchSource", "LocalSource"]


@runtime_checkable
class LocalSource(Source, Protocol):
    """A source answered in-process (no HTTP): :meth:`answer` replaces request/parse."""

    def answer(self, kind: type[Fact], ident: Identifier) -> Fact:
        """The fact ``kind`` about ``ident``; :class:`~dlnuf.errors.NotFound` when the
        local copy does not hold it."""
        ...


@runtime_checkable
class LocalBatchSource(LocalSource, Protocol):
    """A local source that answers many SIRETs in one call (a join, not point queries)."""

    batch_size: ClassVar[int]

    def answer_many(self, kind: type[Fact], idents: Sequence[Siret]) -> dict[Siret, Fact]:
        """The facts found for ``idents``, by SIRET (absent ones are not in the copy)."""
        ...
