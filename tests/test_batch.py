"""``Client.many`` / ``AsyncClient.many``: one result per input line, deduplicated, cached
first, batched through INSEE, faults typed and never cached negative.

Every test runs against the fake upstreams of :mod:`dlnuf.testing` (respx, no network),
for the sync and the async client alike (the ``make_client`` facade).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import dlnuf
from conftest import ClientFacade
from dlnuf import Identity, InvalidSiret, NotFound, RateLimited, Settings, UpstreamUnavailable
from dlnuf.batch import BatchResult, BatchResults, acollect, collect, record_columns
from dlnuf.cache import MemoryCache, cache_key
from dlnuf.errors import ConfigurationError, UnsupportedKind
from dlnuf.facts import TaxCertificate
from dlnuf.ratelimit import MemoryRateLimiter
from dlnuf.testing import FakeUpstreams, make_companies, make_company

NO_QUOTAS: dict[str, tuple[int, float] | None] = {
    "recherche_entreprises": None,
    "insee_sirene": None,
}


@pytest.fixture
def fake(dlnuf_fake: FakeUpstreams) -> FakeUpstreams:
    """The ``dlnuf_fake`` upstreams with 30 companies, quotas off (pacing is not under test)."""
    dlnuf_fake.add(*make_companies(30, kinds=("active",)))
    for pool in NO_QUOTAS:
        dlnuf_fake.set_quota(pool, None)
    return dlnuf_fake


def sirets(fake: FakeUpstreams) -> list[str]:
    return [c.siret for c in fake.companies]


def run_many(client: ClientFacade, values: Any, **kwargs: Any) -> list[BatchResult]:
    """Every result of ``client.many(values, ...)``, in the order they came out."""
    if client.mode == "sync":
        return list(client.client.many(values, **kwargs))

    async def gather() -> list[BatchResult]:
        return [r async for r in client.client.many(values, **kwargs)]

    return list(client._loop.run_until_complete(gather()))


def insee(make_client: Callable[..., ClientFacade], **kwargs: Any) -> ClientFacade:
    return make_client(sources=["insee_sirene"], insee_api_key="test-key", **kwargs)


# -- one result per input line ---------------------------------------------------------------


def test_one_result_per_line_bad_sirets_included(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    good = sirets(fake)[:3]
    values = [good[0], "not a siret", good[1], "", "30613890001295", good[2]]
    results = run_many(make_client(), values)
    assert sorted(r.index for r in results) == list(range(len(values)))
    by_index = {r.index: r for r in results}
    for i in (0, 2, 5):
        result = by_index[i]
        assert result.ok
        assert result.input == values[i]
        assert result.siret == values[i]
        assert result.facts[Identity].siret == values[i]
    for i in (1, 3, 4):
        result = by_index[i]
        assert not result.ok
        assert result.siret is None
        assert isinstance(result.errors[Identity], InvalidSiret)
        assert result.facts == {}
    assert by_index[4].errors[Identity].reason == "checksum"
    assert fake.requests["recherche_entreprises"] == 3


def test_ordered_keeps_input_order(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    values = [*sirets(fake)[:10], "bad", *sirets(fake)[10:20]]
    fake.latency("recherche_entreprises", 0.002)
    results = run_many(make_client(), values, ordered=True, concurrency=4)
    assert [r.index for r in results] == list(range(len(values)))
    assert [r.input for r in results] == values


def test_a_repeated_siret_is_fetched_once_and_answers_every_line(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    one, two = sirets(fake)[:2]
    spaced = f"{one[:3]} {one[3:6]} {one[6:9]} {one[9:]}"
    values = [one, two, spaced, one, two, one]
    results = run_many(make_client(cache=None), values)
    assert len(results) == 6
    assert all(r.ok for r in results)
    assert {r.index: r.get(Identity).siret for r in results if r.get(Identity)} == dict(
        enumerate([one, two, one, one, two, one])
    )
    assert fake.requests["recherche_entreprises"] == 2


def test_cached_sirets_come_out_first_without_a_request(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    values = sirets(fake)[:12]
    cached = set(values[6:])
    client = make_client()
    for siret in cached:
        client.identity(siret)
    fake.reset()
    results = run_many(client, values, concurrency=2)
    first = results[: len(cached)]
    assert {r.input for r in first} == cached
    assert all(r.facts[Identity].provenance.from_cache for r in first)
    assert not any(r.facts[Identity].provenance.from_cache for r in results[len(cached) :])
    assert fake.requests["recherche_entreprises"] == 6


def test_skip_leaves_those_lines_out(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    values = sirets(fake)[:6]
    results = run_many(make_client(), values, skip={0, 3, 4})
    assert sorted(r.index for r in results) == [1, 2, 5]
    assert fake.requests["recherche_entreprises"] == 3


def test_several_kinds_per_line_each_with_its_outcome(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    # Recherche d'entreprises provides Identity only: asking it for a tax certificate
    # is refused before any I/O, not on every line.
    client = make_client()
    with pytest.raises(UnsupportedKind, match="TaxCertificate"):
        run_many(client, sirets(fake)[:2], kinds=[Identity, TaxCertificate])
    assert fake.requests["recherche_entreprises"] == 0


def test_arguments_are_checked_before_any_io(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    client = make_client()
    with pytest.raises(ConfigurationError, match="iterable of SIRETs"):
        client.client.many(sirets(fake)[0])
    with pytest.raises(ConfigurationError, match="at least one kind"):
        client.client.many(sirets(fake), kinds=[])
    with pytest.raises(ConfigurationError, match="concurrency"):
        client.client.many(sirets(fake), concurrency=0)
    assert fake.requests["recherche_entreprises"] == 0


BAD_ARGUMENTS: dict[str, dict[str, Any]] = {
    "one string": {"values": "55204944776279"},
    "None": {"values": None},
    "a number": {"values": 5},
    "kind names": {"kinds": ["Identity"]},
    "a kind that is no fact": {"kinds": [int]},
    "concurrency as text": {"concurrency": "8"},
    "concurrency as a float": {"concurrency": 2.5},
    "skip of None": {"skip": None},
}


@pytest.mark.parametrize("bad", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_are_a_configuration_error_never_a_bare_builtin(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams, bad: dict[str, Any]
) -> None:
    client = make_client()
    arguments: dict[str, Any] = {"values": sirets(fake)[:2], **bad}
    values = arguments.pop("values")
    with pytest.raises(ConfigurationError) as excinfo:
        client.client.many(values, **arguments)
    assert type(excinfo.value) is ConfigurationError  # a DlnufError, and a ValueError
    assert fake.requests["recherche_entreprises"] == 0


def test_the_input_is_read_lazily(fake: FakeUpstreams) -> None:
    read = 0

    def endless() -> Iterator[str]:
        nonlocal read
        for siret in itertools.cycle(sirets(fake)):
            read += 1
            yield siret

    with dlnuf.Client(cache="memory://", limiter=MemoryRateLimiter(burst=1000)) as client:
        first = list(itertools.islice(client.many(endless(), concurrency=2), 5))
    assert len(first) == 5
    assert read <= 200  # a window of lines, not the whole (endless) input


def test_concurrency_runs_that_many_lookups_at_once() -> None:
    companies = make_companies(16, kinds=("active",))
    upstreams = FakeUpstreams(companies, quotas=NO_QUOTAS)
    in_flight = peak = 0
    lock = threading.Lock()
    released = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            if in_flight == 4:
                released.set()
        released.wait(timeout=5)
        with lock:
            in_flight -= 1
        return upstreams.handle(request)

    client = dlnuf.Client(
        cache=None,
        limiter=MemoryRateLimiter(burst=1000),
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )
    with client:
        results = list(client.many([c.siret for c in companies], concurrency=4))
    assert all(r.ok for r in results)
    assert peak == 4


# -- progress ----------------------------------------------------------------------------------


def test_progress_needs_rich_and_says_so(
    make_client: Callable[..., ClientFacade],
    fake: FakeUpstreams,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    with pytest.raises(ConfigurationError, match=r"dlnuf\[cli\]"):
        make_client().client.many(sirets(fake), progress=True)


def test_progress_bar_goes_to_stderr(
    make_client: Callable[..., ClientFacade],
    fake: FakeUpstreams,
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = run_many(make_client(), sirets(fake)[:5], progress=True)
    assert len(results) == 5
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "5/5" in captured.err


# -- INSEE Sirene: many SIRETs per call ---------------------------------------------------------


def test_insee_answers_a_thousand_sirets_per_call(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    companies = make_companies(2100, seed="insee", kinds=("active",))
    fake.add(*companies)
    client = insee(make_client)
    results = run_many(client, [c.siret for c in companies])
    assert len(results) == 2100
    assert all(r.ok for r in results)
    assert fake.requests["insee_sirene"] == 3
    assert fake.statuses["insee_sirene"] == {200: 3}
    # Each fact is cached under the key of a single lookup: no request for it.
    again = client.get(companies[1234].siret, Identity)
    assert again.provenance.from_cache
    assert fake.requests["insee_sirene"] == 3


def test_insee_batch_facts_expire_as_single_lookups_do(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    company = fake.add(make_company("active", seed=3))
    cache = MemoryCache()
    (result,) = run_many(insee(make_client, cache=cache), [company.siret])
    fact = result.facts[Identity]
    key = cache_key("insee_sirene", "public", "Identity", company.siret)
    entry = cache.get(key)
    assert entry is not None
    assert entry.expires_at == fact.provenance.expires_at
    assert Identity.model_validate_json(entry.value).legal_name == fact.legal_name


def test_insee_left_out_sirets_are_asked_on_their_own(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    present = fake.add(make_company("active", seed=1))
    moved = fake.add(make_company("redirected", seed=2))  # only GET /siret/{x} redirects
    unknown = make_company("active", seed=4).siret  # valid, never registered
    assert moved.redirected_from is not None
    values = [present.siret, moved.redirected_from, unknown]
    results = {r.index: r for r in run_many(insee(make_client), values)}
    assert results[0].ok
    assert results[1].facts[Identity].siret == moved.siret
    assert results[1].facts[Identity].redirected_from == moved.redirected_from
    assert isinstance(results[2].errors[Identity], NotFound)
    # one batch, then one GET for each SIRET it left out (the redirect is followed)
    assert fake.statuses["insee_sirene"] == {200: 2, 301: 1, 404: 1}


def test_insee_batch_of_unknown_sirets_only_is_not_found(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    unknown = [make_company("active", seed=s).siret for s in range(3)]
    results = run_many(insee(make_client), unknown)
    assert all(isinstance(r.errors[Identity], NotFound) for r in results)
    assert fake.requests["insee_sirene"] == 1 + 3  # the batch's 404, then confirmed


def test_insee_pages_are_followed_by_cursor(make_client: Callable[..., ClientFacade]) -> None:
    companies = make_companies(5, kinds=("active",))
    upstreams = FakeUpstreams(companies, quotas=NO_QUOTAS)
    pages: list[dict[str, str]] = []
    original = upstreams.handle

    def two_per_page(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            form = dict(httpx.QueryParams(request.content.decode()))
            pages.append(form)
            request = httpx.Request(
                "POST", request.url, headers=request.headers, data={**form, "nombre": "2"}
            )
        return original(request)

    client = dlnuf.Client(
        sources=["insee_sirene"],
        insee_api_key="test-key",
        cache=None,
        limiter=MemoryRateLimiter(burst=1000),
        http_client=httpx.Client(transport=httpx.MockTransport(two_per_page)),
    )
    with client:
        results = list(client.many([c.siret for c in companies]))
    assert all(r.ok for r in results)
    assert pages[0]["curseur"] == "*"
    assert len(pages) == 3  # 2 + 2 + 1, by cursor
    assert len({p["curseur"] for p in pages}) == 3


def test_insee_batch_failing_falls_back_to_the_next_source(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    fake.fail("insee_sirene", status=503, times=None)
    client = make_client(
        settings=Settings.from_env(
            sources=["insee_sirene", "recherche_entreprises"],
            insee_api_key="test-key",
            retries=0,
        )
    )
    results = run_many(client, sirets(fake)[:5])
    assert all(r.ok for r in results)
    assert {r.facts[Identity].provenance.source for r in results} == {"recherche_entreprises"}
    assert fake.requests["insee_sirene"] == 1  # one failed batch, not five calls


# -- faults ------------------------------------------------------------------------------------


def test_429_mid_batch_never_reaches_the_caller(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    fake.rate_limit("recherche_entreprises", retry_after=0.01, times=3)
    cache = MemoryCache()
    results = run_many(make_client(cache=cache), sirets(fake)[:10], concurrency=3)
    assert all(r.ok for r in results), [r.errors for r in results if not r.ok]
    assert fake.rate_limited["recherche_entreprises"] == 3
    assert fake.requests["recherche_entreprises"] == 13


def test_quota_exhausted_is_typed_and_not_cached(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    fake.rate_limit("recherche_entreprises", retry_after=120, times=None)
    cache = MemoryCache()
    values = sirets(fake)[:4]
    results = run_many(make_client(cache=cache), values)
    assert all(isinstance(r.errors[Identity], RateLimited) for r in results)
    assert all(r.transient for r in results)
    for siret in values:
        assert cache.get(cache_key("recherche_entreprises", "public", "Identity", siret)) is None


def test_upstream_down_then_back_a_rerun_fills_the_gaps(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    cache = MemoryCache()
    client = make_client(
        cache=cache, settings=Settings.from_env(sources=["recherche_entreprises"], retries=0)
    )
    values = sirets(fake)[:8]
    fake.down("recherche_entreprises", seconds=3600)
    down = run_many(client, values)
    assert all(isinstance(r.errors[Identity], UpstreamUnavailable) for r in down)
    for siret in values:  # nothing negative was cached
        assert cache.get(cache_key("recherche_entreprises", "public", "Identity", siret)) is None
    fake.clear_faults()
    back = run_many(client, values)
    assert all(r.ok for r in back)


def test_upstream_down_with_connections_refused_is_typed(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    client = make_client(settings=Settings.from_env(retries=0))
    fake.down("recherche_entreprises", seconds=3600, status=None)
    results = run_many(client, sirets(fake)[:3])
    assert all(isinstance(r.errors[Identity], UpstreamUnavailable) for r in results)


def test_async_many_streams_while_other_tasks_run(fake: FakeUpstreams) -> None:
    async def main() -> tuple[int, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        async with dlnuf.AsyncClient(
            cache=None, limiter=MemoryRateLimiter(burst=1000)
        ) as client:
            results = await acollect(client.many(sirets(fake)[:10], concurrency=3))
        task.cancel()
        return len(results), ticks

    count, ticks = asyncio.run(main())
    assert count == 10
    assert ticks > 10  # the event loop was never blocked for the whole batch


# -- collected results ---------------------------------------------------------------------------


def _collected(fake: FakeUpstreams) -> BatchResults:
    values = [sirets(fake)[1], "bad", sirets(fake)[0]]
    with dlnuf.Client(cache=None, limiter=MemoryRateLimiter(burst=1000)) as client:
        return collect(client.many(values))


def test_collect_sorts_back_into_input_order(fake: FakeUpstreams) -> None:
    results = _collected(fake)
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.input for r in results] == [sirets(fake)[1], "bad", sirets(fake)[0]]


def test_to_records_is_one_flat_row_per_line(fake: FakeUpstreams) -> None:
    records = _collected(fake).to_records()
    assert [list(r) for r in records] == [record_columns([Identity])] * 3
    good, bad = records[0], records[1]
    company = fake.get(sirets(fake)[1])
    assert company is not None
    assert good["ok"] is True
    assert good["Identity.legal_name"] == company.legal_name
    assert good["Identity.address.postal_code"] == company.address.postal_code
    assert good["Identity.provenance.source"] == "recherche_entreprises"
    assert good["Identity.error_type"] is None
    assert bad["ok"] is False
    assert bad["Identity.legal_name"] is None
    assert bad["Identity.error_type"] == "InvalidSiret"
    assert "only digits" in bad["Identity.error"]


def test_to_json_names_each_error_and_whether_it_may_pass(fake: FakeUpstreams) -> None:
    bad = _collected(fake)[1].to_json()
    assert bad["facts"] == {}
    assert bad["errors"]["Identity"]["type"] == "InvalidSiret"
    assert bad["errors"]["Identity"]["transient"] is False


def test_to_pandas(fake: FakeUpstreams) -> None:
    pytest.importorskip("pandas")
    frame = _collected(fake).to_pandas()
    assert list(frame.index) == [0, 1, 2]
    assert frame.loc[1, "Identity.error_type"] == "InvalidSiret"
    assert bool(frame.loc[0, "ok"]) is True


def test_to_pandas_without_pandas_says_how_to_get_it(
    fake: FakeUpstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigurationError, match=r"dlnuf\[pandas\]"):
        _collected(fake).to_pandas()
