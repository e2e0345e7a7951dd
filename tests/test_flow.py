"""The lookup flow's own memory (dlnuf.flow): facts decoded from the cache are reused
only while the cached bytes are unchanged, and nothing is serialised without a cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import respx
from pydantic import ConfigDict

import dlnuf
from dlnuf.cache import CacheEntry, CachePolicy, MemoryCache, SQLiteCache
from dlnuf.cache.base import cache_key
from dlnuf.cache.codec import DecodedFacts
from dlnuf.facts import Fact, Identity, Provenance, utcnow
from dlnuf.ratelimit import Quota
from dlnuf.sources.parsing import json_object, make_provenance

SIRET = "55204944776279"
URL = f"https://mini.test/e/{SIRET}"
KEY = cache_key("mini", "public", "Identity", SIRET)


class MiniSource:
    """Answers ``GET https://mini.test/e/{siret}`` with ``{"name": ...}``."""

    name = "mini"
    provides = frozenset({Identity})
    scope = "public"
    mount = None
    base_url = "https://mini.test"

    def quota(self, kind: type[Fact]) -> Quota:
        return Quota("mini", 1000, 1.0)

    def request(self, kind: type[Fact], ident: Any) -> httpx.Request:
        return httpx.Request("GET", f"{self.base_url}/e/{ident}")

    def parse(self, kind: type[Fact], ident: Any, response: httpx.Response) -> Identity:
        body = json_object(response, self.name)
        return Identity(
            siret=ident, siren=ident[:9], legal_name=body["name"],
            provenance=make_provenance(self.name, response),
        )


def named(name: str) -> httpx.Response:
    return httpx.Response(200, json={"name": name})


@pytest.fixture
def build(make_client: Callable[..., Any]) -> Callable[..., Any]:
    def factory(cache: Any, **kwargs: Any) -> Any:
        settings = dlnuf.Settings(sources=("mini",), cache=None, retries=0)
        return make_client(sources=[MiniSource()], settings=settings, cache=cache, **kwargs)

    return factory


def renamed(entry: CacheEntry, old: str, new: str) -> bytes:
    assert old.encode() in entry.value
    return entry.value.replace(old.encode(), new.encode())


@respx.mock
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_hit_never_serves_a_fact_whose_cached_bytes_changed(
    build: Callable[..., Any], tmp_path: Path, backend: str
) -> None:
    cache = MemoryCache() if backend == "memory" else SQLiteCache(tmp_path / "c.db")
    route = respx.get(URL).mock(return_value=named("ACME"))
    client = build(cache)
    assert client.identity(SIRET).legal_name == "ACME"
    assert client.identity(SIRET).legal_name == "ACME"  # decoded, then reused
    entry = cache.get(KEY)
    assert entry is not None
    # Another process (or another client on the same SQLite file) rewrites the entry.
    cache.set(KEY, renamed(entry, "ACME", "BETA"), expires_at=entry.expires_at,
              stale_until=entry.stale_until)
    again = client.identity(SIRET)
    assert again.legal_name == "BETA"
    assert (again.provenance.from_cache, again.provenance.stale) == (True, False)
    # Equal bytes written again (a new object): the same answer.
    entry = cache.get(KEY)
    assert entry is not None
    cache.set(KEY, bytes(bytearray(entry.value)), expires_at=entry.expires_at,
              stale_until=entry.stale_until)
    assert client.identity(SIRET).legal_name == "BETA"
    assert route.call_count == 1


@respx.mock
def test_hits_are_fresh_and_a_stale_answer_does_not_leak_into_them(
    build: Callable[..., Any],
) -> None:
    clock = {"now": utcnow()}
    cache = MemoryCache(clock=lambda: clock["now"])
    respx.get(URL).mock(side_effect=[named("ACME"), httpx.Response(503)])
    client = build(cache, policy=CachePolicy(ttl_by_kind={"Identity": timedelta(hours=1)}))
    first = client.identity(SIRET)
    assert not first.provenance.from_cache
    hit = client.identity(SIRET)
    assert (hit.provenance.from_cache, hit.provenance.stale) == (True, False)
    assert hit.provenance.expires_at == first.provenance.expires_at
    # Past its expiry the entry is only served stale, when the upstream fails.
    entry = cache.get(KEY)
    assert entry is not None
    cache.set(KEY, entry.value, expires_at=utcnow() - timedelta(seconds=1),
              stale_until=entry.stale_until)
    stale = client.identity(SIRET)
    assert (stale.provenance.from_cache, stale.provenance.stale) == (True, True)
    # Fresh again (same bytes): served fresh, not stale.
    cache.set(KEY, entry.value, expires_at=entry.expires_at, stale_until=entry.stale_until)
    fresh = client.identity(SIRET)
    assert (fresh.provenance.from_cache, fresh.provenance.stale) == (True, False)


def identity(name: str) -> Identity:
    return Identity(
        siret=SIRET, siren=SIRET[:9], legal_name=name,
        provenance=Provenance(source="mini", endpoint="/e"),
    )


def test_decoded_facts_match_the_kind_and_the_bytes() -> None:
    decoded = DecodedFacts()
    value = identity("ACME").model_dump_json().encode()
    decoded.put("k", Identity, value, identity("ACME"))
    found = decoded.get("k", Identity, bytes(bytearray(value)))  # equal bytes, other object
    assert found is not None
    assert found.fact.legal_name == "ACME"
    assert found.hit().provenance.from_cache
    assert not found.fact.provenance.from_cache  # the decoded fact itself is left as it was
    assert decoded.get("k", Identity, value + b" ") is None
    assert decoded.get("k", Fact, value) is None  # another kind under the same key
    assert decoded.get("other", Identity, value) is None


def test_decoded_facts_drop_the_least_recently_used() -> None:
    decoded = DecodedFacts(maxsize=2)
    for key in ("a", "b"):
        decoded.put(key, Identity, key.encode(), identity(key))
    assert decoded.get("a", Identity, b"a") is not None  # "b" is now the oldest
    decoded.put("c", Identity, b"c", identity("c"))
    assert len(decoded) == 2
    assert decoded.get("b", Identity, b"b") is None
    assert decoded.get("a", Identity, b"a") is not None
    decoded.discard("a")
    assert decoded.get("a", Identity, b"a") is None


class Opaque:
    """A value pydantic can hold but not serialise."""


class Odd(Fact):
    """A kind that cannot be written to a cache."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    level: ClassVar[Any] = "siret"
    blob: Opaque


class OddSource(MiniSource):
    provides = frozenset({Odd})  # type: ignore[assignment]

    def parse(self, kind: type[Fact], ident: Any, response: httpx.Response) -> Odd:  # type: ignore[override]
        return Odd(blob=Opaque(), provenance=make_provenance(self.name, response))


@respx.mock
def test_without_a_cache_nothing_is_serialised(make_client: Callable[..., Any]) -> None:
    respx.get(URL).mock(return_value=named("ACME"))
    settings = dlnuf.Settings(sources=("mini",), cache=None, retries=0)
    client = make_client(sources=[OddSource()], settings=settings, cache=None)
    fact = client.get(SIRET, Odd)
    assert isinstance(fact.blob, Opaque)
    assert fact.provenance.expires_at is not None  # the expiry is still computed
