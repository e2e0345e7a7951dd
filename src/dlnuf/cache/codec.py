"""The fact cache codec: how a fact becomes cached bytes and back, and the negative cache.

A fact is cached as its JSON (``model_dump_json``); a ``NotFound`` answer as the
marker :data:`NOT_FOUND`. Decoding is the expensive part of a hit, so
:class:`FactCodec` keeps the last facts it decoded (:class:`DecodedFacts`, by cache
key) and serves them again while the cached bytes are unchanged. It does no I/O:
the lookup flow (:mod:`dlnuf.flow`) asks the cache through the steps it yields and
hands the entries it gets to :meth:`FactCodec.decode`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any, Generic, Literal, TypeVar

from pydantic import ValidationError

from ..facts.base import Fact
from .base import CacheEntry

__all__ = ["DECODED_FACTS", "NOT_FOUND", "DecodedFact", "DecodedFacts", "FactCodec"]

log = logging.getLogger("dlnuf.client")

F = TypeVar("F", bound=Fact)

NOT_FOUND = b'{"__dlnuf_not_found__":true}'
"""What is cached for an identifier the source does not know (the negative cache)."""

DECODED_FACTS = 512
"""How many facts decoded from the cache a client keeps, to skip decoding them again."""


class DecodedFact(Generic[F]):
    """A fact decoded from cached bytes, and its copy served as a fresh cache hit."""

    __slots__ = ("_hit", "fact", "kind", "value")

    def __init__(self, kind: type[F], value: bytes, fact: F) -> None:
        self.kind = kind
        self.value = value
        self.fact = fact
        self._hit: F | None = None

    def hit(self) -> F:
        """The fact as served fresh from the cache (``from_cache``, not ``stale``)."""
        hit = self._hit
        if hit is None:
            hit = self._hit = self.fact.with_provenance(from_cache=True, stale=False)
        return hit


class DecodedFacts:
    """The last facts decoded from the cache, by cache key (least recently used dropped).

    A fact is reused only for the same kind and cached bytes equal to the ones it
    was decoded from (the same object, for the memory cache): bytes that changed
    are decoded again. Facts are frozen, so one decoded fact serves every hit.
    Safe to share between threads.
    """

    def __init__(self, maxsize: int = DECODED_FACTS) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[str, DecodedFact[Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, kind: type[F], value: bytes) -> DecodedFact[F] | None:
        """What was decoded from ``value`` as ``kind`` under ``key``, if still kept."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            self._data.move_to_end(key)
        if found.kind is not kind or (found.value is not value and found.value != value):
            return None
        decoded: DecodedFact[F] = found
        return decoded

    def put(self, key: str, kind: type[F], value: bytes, fact: F) -> DecodedFact[F]:
        """Keep ``fact``, decoded from ``value`` as ``kind``, under ``key``."""
        decoded = DecodedFact(kind, value, fact)
        if self.maxsize > 0:
            with self._lock:
                self._data[key] = decoded
                self._data.move_to_end(key)
                while len(self._data) > self.maxsize:
                    self._data.popitem(last=False)
        return decoded

    def discard(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._data.pop(key, None)

    def __len__(self) -> int:
        return len(self._data)


class FactCodec:
    """Encodes facts for the cache and decodes cached entries, reusing decoded facts.

    ``keeps_objects``: the cache keeps its entries in this process (the memory
    cache), so :meth:`encode` also hands it the fact: its hits never decode.
    """

    def __init__(self, *, keeps_objects: bool = False, maxsize: int = DECODED_FACTS) -> None:
        self.keeps_objects = keeps_objects
        self.decoded = DecodedFacts(maxsize)
        """Facts decoded from the cache, reused while their cached bytes are unchanged."""

    def encode(self, kind: type[F], fact: F) -> tuple[bytes, DecodedFact[F] | None]:
        """The bytes to cache for ``fact``, and what they decode to for a cache that
        keeps objects (``None`` for the others)."""
        value = fact.model_dump_json().encode()
        return value, DecodedFact(kind, value, fact) if self.keeps_objects else None

    def decode(
        self, kind: type[F], entry: CacheEntry, key: str
    ) -> DecodedFact[F] | Literal[False] | None:
        """The fact cached in ``entry``: decoded once, then reused while its bytes are equal.

        ``None`` for the negative-cache marker (:data:`NOT_FOUND`); ``False`` when the
        bytes cannot be read (written by another version of dlnuf, or damaged): the
        caller deletes the entry.
        """
        known = entry.decoded  # kept on the entry itself by an in-process cache
        if known is not None and known.kind is kind:
            checked: DecodedFact[F] = known
            return checked
        value = entry.value
        known = self.decoded.get(key, kind, value)
        if known is not None:
            entry.remember(known)
            return known
        if value == NOT_FOUND:
            return None
        try:
            fact = kind.model_validate_json(value)
        except (ValidationError, json.JSONDecodeError, ValueError):
            log.warning("dropping unreadable cache entry %s", key)
            self.decoded.discard(key)
            return False
        decoded = self.decoded.put(key, kind, value, fact)
        entry.remember(decoded)
        return decoded
