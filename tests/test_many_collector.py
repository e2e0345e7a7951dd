"""many() spaces out the cycle collector's full collections while it runs, and only then."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pytest

import dlnuf
from dlnuf.batch import FULL_COLLECTION_EVERY
from dlnuf.errors import NotFound
from dlnuf.facts.base import Fact, Provenance
from dlnuf.identifiers import Siret
from dlnuf.ratelimit import Quota
from dlnuf.testing import make_company


class LocalCopy:
    """A local batch source over a few companies (what the Sirene stock is to many())."""

    name: ClassVar[str] = "local_copy"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset({dlnuf.Identity})
    batch_size: ClassVar[int] = 50

    def __init__(self, identities: Sequence[dlnuf.Identity]) -> None:
        self.identities = {i.siret: i for i in identities}
        self.scope = "public"
        self.base_url = "file:///local-copy"
        self.mount = None
        self.thresholds: list[tuple[int, int, int]] = []

    def quota(self, kind: type[Fact]) -> Quota:
        return Quota(self.name, 1_000_000, 1.0)

    def request(self, kind: type[Fact], ident: Any) -> Any:
        raise AssertionError("a local source builds no request")

    def parse(self, kind: type[Fact], ident: Any, response: Any) -> Fact:
        raise AssertionError("a local source parses no response")

    def answer(self, kind: type[Fact], ident: Any) -> Fact:
        found = self.identities.get(ident)
        if found is None:
            raise NotFound(f"{ident} not in the copy", source=self.name, status=404)
        return found

    def answer_many(self, kind: type[Fact], idents: Sequence[Siret]) -> dict[Siret, Fact]:
        self.thresholds.append(gc.get_threshold())
        return {s: self.identities[s] for s in idents if s in self.identities}


@pytest.fixture
def copy() -> LocalCopy:
    provenance = Provenance(source="local_copy", endpoint="copy")
    identities = []
    for i in range(120):
        company = make_company(seed=f"collector-{i}")
        identities.append(
            dlnuf.Identity(siret=company.siret, siren=company.siren, provenance=provenance)
        )
    return LocalCopy(identities)


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*saved)


def test_full_collections_are_spaced_out_during_a_run_and_restored_after(
    copy: LocalCopy, default_thresholds: tuple[int, int, int]
) -> None:
    sirets = list(copy.identities)
    with dlnuf.Client(sources=[copy], cache=None) as client:
        results = list(client.many(sirets))
    assert all(r.ok for r in results)
    assert copy.thresholds  # asked in batches
    assert all(t == (700, 10, FULL_COLLECTION_EVERY) for t in copy.thresholds)
    assert gc.get_threshold() == default_thresholds


def test_an_abandoned_run_gives_the_setting_back(
    copy: LocalCopy, default_thresholds: tuple[int, int, int]
) -> None:
    with dlnuf.Client(sources=[copy], cache=None) as client:
        run = client.many(list(copy.identities))
        first = list(itertools.islice(run, 3))
        assert len(first) == 3
        assert gc.get_threshold()[2] == FULL_COLLECTION_EVERY
        del run  # dropped half-way: the iterator is closed, the plan freed
    assert gc.get_threshold() == default_thresholds


def test_overlapping_runs_restore_once_the_last_ends(
    copy: LocalCopy, default_thresholds: tuple[int, int, int]
) -> None:
    with dlnuf.Client(sources=[copy], cache=None) as client:
        first = client.many(list(copy.identities))
        next(first)
        second = client.many(list(copy.identities))
        assert len(list(second)) == len(copy.identities)
        assert gc.get_threshold()[2] == FULL_COLLECTION_EVERY  # the first still runs
        assert len(list(first)) == len(copy.identities) - 1
    assert gc.get_threshold() == default_thresholds


def test_a_setting_the_program_made_is_left_alone(copy: LocalCopy) -> None:
    with dlnuf.Client(sources=[copy], cache=None) as client:
        run = client.many(list(copy.identities))
        next(run)
        gc.set_threshold(500, 5, 5)  # the program's own choice, during the run
        list(run)
        assert gc.get_threshold() == (500, 5, 5)
        gc.set_threshold(1000, 10, 50_000)  # a higher one is not lowered
        list(client.many(list(copy.identities)))
        assert copy.thresholds[-1] == (1000, 10, 50_000)
        assert gc.get_threshold() == (1000, 10, 50_000)


def test_a_disabled_collector_stays_disabled(copy: LocalCopy) -> None:
    gc.disable()
    try:
        with dlnuf.Client(sources=[copy], cache=None) as client:
            assert all(r.ok for r in client.many(list(copy.identities)))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_batch_answers_are_freed_without_the_cycle_collector() -> None:
    """A batch answer (a megabyte for 1,000 establishments) must not wait for a full
    collection, which many() spaces out: nothing cyclic is left by a run."""
    import httpx

    from dlnuf.ratelimit import MemoryRateLimiter
    from dlnuf.testing import FakeUpstreams
    from dlnuf.testing.companies import make_companies

    companies = make_companies(60, seed="freed", kinds=("active", "secondary", "closed"))
    fake = FakeUpstreams(companies, rate=1e6, insee_api_key="key")
    client = dlnuf.Client(
        sources=["insee_sirene"],
        base_urls={"insee_sirene": "http://insee.test"},
        insee_api_key="key",
        cache=None,
        limiter=MemoryRateLimiter(burst=10**9, safety=1.0),
        http_client=httpx.Client(transport=httpx.MockTransport(fake.handle)),
    )
    gc.collect()
    gc.disable()  # nothing collected during the run: what is left cyclic stays to be seen
    try:
        with client:
            assert all(r.ok for r in client.many([c.siret for c in companies]))
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, httpx.Response)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert fake.stats()["total_requests"] == 1  # one batch call answered the 60
    assert left == []
