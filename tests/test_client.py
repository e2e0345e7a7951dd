"""Client and AsyncClient: one suite, parametrised over both (fixture ``make_client``).

A minimal source (below) stands in for a real one so that these tests are about
the client's own policies: cache, fallback, negative caching, stale-if-error,
validation before I/O, partial dossiers, secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

import dlnuf
from dlnuf.cache import CacheEntry, CachePolicy, MemoryCache
from dlnuf.facts import Identity
from dlnuf.ratelimit import Quota
from dlnuf.sources.parsing import json_object, make_provenance

SIRET = "55204944776279"
TOKEN = "secret-token-abcdef123456"


class MiniSource:
    """A source answering ``GET {base}/e/{siret}`` with ``{"siret": .., "name": ..}``."""

    provides = frozenset({Identity})
    scope = "public"
    mount = None

    def __init__(self, name: str) -> None:
        self.name = name
        self.base_url = f"https://{name}.test"

    def quota(self, kind: type[dlnuf.Fact]) -> Quota:
        return Quota(self.name, 1000, 1.0)

    def request(self, kind: type[dlnuf.Fact], ident: Any) -> httpx.Request:
        return httpx.Request(
            "GET", f"{self.base_url}/e/{ident}", headers={"Authorization": f"Bearer {TOKEN}"}
        )

    def parse(self, kind: type[dlnuf.Fact], ident: Any, response: httpx.Response) -> Identity:
        body = json_object(response, self.name)
        return Identity(
            siret=body["siret"],
            siren=body["siret"][:9],
            legal_name=body["name"],
            provenance=make_provenance(self.name, response),
        )


class DictCache:
    """The smallest Cache: proves any implementation of the protocol plugs in."""

    def __init__(self) -> None:
        self.data: dict[str, CacheEntry] = {}

    def get(self, key: str) -> CacheEntry | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes, *, expires_at: Any, stale_until: Any) -> None:
        self.data[key] = CacheEntry(value, expires_at, stale_until)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def clear(self) -> None:
        self.data.clear()

    def close(self) -> None:
        pass


def ok(name: str = "ACME") -> httpx.Response:
    return httpx.Response(200, json={"siret": SIRET, "name": name})


Build = Callable[..., Any]


@pytest.fixture
def build(make_client: Callable[..., Any]) -> Build:
    """A client over MiniSources ``first`` then ``second``, no retries, memory cache."""

    def factory(names: tuple[str, ...] = ("first", "second"), **kwargs: Any) -> Any:
        settings = dlnuf.Settings(sources=names, cache=None, retries=kwargs.pop("retries", 0))
        return make_client(
            sources=[MiniSource(n) for n in names],
            settings=settings,
            cache=kwargs.pop("cache", MemoryCache()),
            **kwargs,
        )

    return factory


@respx.mock
def test_identity_from_first_source_then_from_cache(build: Build) -> None:
    route = respx.get(f"https://first.test/e/{SIRET}").mock(return_value=ok())
    client = build()
    first = client.identity("552 049 447 76279")
    assert first.legal_name == "ACME"
    assert first.provenance.source == "first"
    assert not first.provenance.from_cache
    assert first.provenance.expires_at is not None
    again = client.identity(SIRET)
    assert again.provenance.from_cache
    assert again.legal_name == "ACME"
    assert route.call_count == 1


@respx.mock
@pytest.mark.parametrize("status", [502, 503, 504, 429])
def test_transient_failure_falls_back_to_next_source(build: Build, status: int) -> None:
    respx.get(f"https://first.test/e/{SIRET}").mock(return_value=httpx.Response(status))
    respx.get(f"https://second.test/e/{SIRET}").mock(return_value=ok("FROM SECOND"))
    ident = build().identity(SIRET)
    assert ident.legal_name == "FROM SECOND"
    assert ident.provenance.source == "second"


@respx.mock
def test_timeout_falls_back_to_next_source(build: Build) -> None:
    respx.get(f"https://first.test/e/{SIRET}").mock(side_effect=httpx.ReadTimeout("slow"))
    respx.get(f"https://second.test/e/{SIRET}").mock(return_value=ok())
    assert build().identity(SIRET).provenance.source == "second"


@respx.mock
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, dlnuf.Unauthorized),
        (403, dlnuf.Forbidden),
        (422, dlnuf.InvalidRequest),
        (451, dlnuf.LegallyUnavailable),
    ],
)
def test_final_errors_do_not_fall_back(build: Build, status: int, error: type[Exception]) -> None:
    respx.get(f"https://first.test/e/{SIRET}").mock(return_value=httpx.Response(status))
    second = respx.get(f"https://second.test/e/{SIRET}").mock(return_value=ok())
    with pytest.raises(error):
        build().identity(SIRET)
    assert second.call_count == 0


@respx.mock
def test_not_found_is_cached_briefly_and_not_retried(build: Build) -> None:
    route = respx.get(f"https://first.test/e/{SIRET}").mock(return_value=httpx.Response(404))
    client = build()
    for _ in range(2):
        with pytest.raises(dlnuf.NotFound):
            client.identity(SIRET)
    assert route.call_count == 1


@respx.mock
def test_rate_limit_is_never_cached_as_an_answer(build: Build) -> None:
    route = respx.get(f"https://first.test/e/{SIRET}").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "120"}), ok()]
    )
    cache = DictCache()
    client = build(names=("first",), cache=cache)
    with pytest.raises(dlnuf.RateLimited) as caught:
        client.identity(SIRET)
    assert caught.value.transient
    assert caught.value.retry_after == 120
    assert cache.data == {}  # nothing negative (nor anything else) was cached
    # The pool is paused: the next call is refused without sending anything.
    with pytest.raises(dlnuf.RateLimited):
        client.identity(SIRET)
    assert route.call_count == 1
    # Another process (a fresh limiter) sharing the cache asks again and gets the answer.
    assert build(names=("first",), cache=cache).identity(SIRET).legal_name == "ACME"
    assert route.call_count == 2


@respx.mock
def test_stale_entry_is_served_when_every_source_fails(build: Build) -> None:
    clock = {"now": dlnuf.facts.utcnow()}
    cache = MemoryCache(clock=lambda: clock["now"])
    respx.get(f"https://first.test/e/{SIRET}").mock(side_effect=[ok("OLD"), httpx.Response(503)])
    client = build(
        names=("first",), cache=cache, policy=CachePolicy(ttl_by_kind={"Identity": timedelta(0)})
    )
    assert client.identity(SIRET).legal_name == "OLD"
    stale = client.identity(SIRET)
    assert stale.legal_name == "OLD"
    assert stale.provenance.stale
    assert stale.provenance.from_cache


@respx.mock
def test_failure_without_stale_entry_raises_last_error(build: Build) -> None:
    respx.get(f"https://first.test/e/{SIRET}").mock(return_value=httpx.Response(503))
    respx.get(f"https://second.test/e/{SIRET}").mock(return_value=httpx.Response(502))
    with pytest.raises(dlnuf.UpstreamUnavailable) as caught:
        build().identity(SIRET)
    assert caught.value.source == "second"


@pytest.mark.parametrize(
    "value", ["", "abc", "5520494477627", "552049447762790", "55204944776278", None]
)
def test_invalid_input_raises_before_any_request(build: Build, value: object) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route().mock(return_value=ok())
        with pytest.raises(dlnuf.InvalidSiret):
            build().identity(value)
    assert route.call_count == 0


def test_siren_where_a_siret_is_required_says_so(build: Build) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.route().mock(return_value=ok())
        with pytest.raises(dlnuf.InvalidSiret, match="SIRET"):
            build().identity("552049447")
    assert route.call_count == 0


def test_unknown_kind_for_sources_is_a_typed_error(build: Build) -> None:
    class Other(dlnuf.Fact):
        pass

    with pytest.raises(dlnuf.UnsupportedKind, match="Other"):
        build().get(SIRET, Other)


@respx.mock
def test_source_argument_selects_one_source(build: Build) -> None:
    respx.get(f"https://second.test/e/{SIRET}").mock(return_value=ok("SECOND"))
    assert build().identity(SIRET, source="second").provenance.source == "second"


@respx.mock
def test_collect_reports_each_kind(build: Build) -> None:
    respx.get(f"https://first.test/e/{SIRET}").mock(return_value=ok())

    class Missing(dlnuf.Fact):
        pass

    dossier = build().collect(SIRET, [Identity, Missing])
    assert dossier[Identity].legal_name == "ACME"
    assert isinstance(dossier.errors[Missing], dlnuf.UnsupportedKind)
    assert not dossier.ok


@respx.mock
def test_secrets_never_in_errors_logs_or_reprs(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    respx.get(f"https://first.test/e/{SIRET}").mock(return_value=httpx.Response(401))
    client = build(names=("first",))
    with pytest.raises(dlnuf.Unauthorized) as caught:
        client.identity(SIRET)
    assert TOKEN not in str(caught.value) + repr(caught.value)
    assert TOKEN not in caplog.text
    real = dlnuf.Client(sources=["api_entreprise"], api_entreprise_token=TOKEN, cache=None)
    assert TOKEN not in repr(real) + repr(real.settings) + str(real.settings)
    real.close()


@respx.mock
def test_cached_value_holds_no_secret(build: Build) -> None:
    respx.get(f"https://first.test/e/{SIRET}").mock(return_value=ok())
    cache = DictCache()
    build(cache=cache).identity(SIRET)
    assert cache.data
    for key, entry in cache.data.items():
        assert TOKEN.encode() not in entry.value
        assert TOKEN not in key
        assert SIRET in key


@respx.mock
def test_unreadable_cache_entry_is_dropped_and_refetched(build: Build) -> None:
    route = respx.get(f"https://first.test/e/{SIRET}").mock(return_value=ok())
    cache = DictCache()
    client = build(names=("first",), cache=cache)
    client.identity(SIRET)
    (key,) = cache.data
    old = cache.data[key]
    cache.data[key] = CacheEntry(b"{not json", old.expires_at, old.stale_until)
    assert client.identity(SIRET).legal_name == "ACME"
    assert route.call_count == 2


def test_own_http_client_is_used_and_a_wrong_kind_is_refused() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return ok()

    mine = httpx.Client(transport=httpx.MockTransport(handler))
    settings = dlnuf.Settings(sources=("first",), cache=None)
    with dlnuf.Client(sources=[MiniSource("first")], settings=settings, http_client=mine) as c:
        assert c.identity(SIRET).legal_name == "ACME"
    assert seen == [f"/e/{SIRET}"]
    with pytest.raises(dlnuf.ConfigurationError, match=r"needs an httpx\.AsyncClient"):
        dlnuf.AsyncClient(
            sources=[MiniSource("first")], settings=settings, http_client=httpx.Client()
        )
    with pytest.raises(dlnuf.ConfigurationError, match=r"needs an httpx\.Client"):
        dlnuf.Client(
            sources=[MiniSource("first")], settings=settings, http_client=httpx.AsyncClient()
        )
