"""Documents' bytes (dlnuf.documents) and shared fetches (dlnuf.singleflight)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel

from dlnuf.cache import MemoryCache
from dlnuf.config import Settings
from dlnuf.documents import (
    Documents,
    bind_documents,
    document_fields,
    document_key,
    documents_of,
)
from dlnuf.errors import DocumentExpired, NotFound, UpstreamUnavailable
from dlnuf.facts import (
    Document,
    Identity,
    Provenance,
    Qualification,
    RgeCertification,
    TaxCertificate,
    Turnover,
)
from dlnuf.singleflight import AsyncSingleFlight, SyncSingleFlight

PROVENANCE = Provenance(source="api_entreprise", endpoint="/v3/ademe/x")
URL = "https://storage.example/files/abc123-secret-looking-id/rge.pdf"
SIRET = "55204944776279"


def rge() -> RgeCertification:
    return RgeCertification(
        details=(
            Qualification(code="92", document=Document(url=URL)),
            Qualification(code="93"),
            Qualification(code="94", document=Document(url=URL + "?n=2")),
        ),
        provenance=PROVENANCE,
    )


def test_documents_of_finds_the_documents_of_the_parts_too() -> None:
    fact = rge()
    assert [d.url for d in documents_of(fact)] == [URL, URL + "?n=2"]
    bind_documents(fact, lambda doc: doc.url.encode())
    assert [d.fetch() for d in documents_of(fact)] == [URL.encode(), (URL + "?n=2").encode()]


def test_only_the_fields_that_can_hold_a_document_are_read() -> None:
    assert document_fields(Identity) == ()
    assert document_fields(Turnover) == ()
    assert document_fields(TaxCertificate) == ("document",)
    assert document_fields(RgeCertification) == ("document", "details")
    # A document-less kind is not walked at all: even a document slipped into one of
    # its fields without validation is not looked at.
    odd = Identity.model_construct(
        siret=SIRET, siren=SIRET[:9], legal_name=Document(url=URL), provenance=PROVENANCE
    )
    assert list(documents_of(odd)) == []


class _Deep(BaseModel):
    parts: tuple[Qualification, ...] = ()


class _Loose(BaseModel):
    anything: Any = None
    plain: dict[str, int] = {}
    words: tuple[str, ...] = ()
    mode: Literal["a", "b"] = "a"


class _Tree(BaseModel):
    children: tuple[_Tree, ...] = ()
    label: str = ""


class _Holder(BaseModel):
    deep: _Deep | None = None
    tree: _Tree | None = None


def test_documents_are_found_at_any_depth_and_in_untyped_fields() -> None:
    assert document_fields(_Deep) == ("parts",)
    assert document_fields(_Loose) == ("anything",)  # untyped: kept, to be safe
    assert document_fields(_Tree) == ("children",)  # refers to itself: kept, to be safe
    assert document_fields(_Holder) == ("deep", "tree")
    holder = _Holder(deep=_Deep(parts=(Qualification(document=Document(url=URL)),)))
    assert [d.url for d in documents_of(holder)] == [URL]
    loose = _Loose(anything=[Document(url=URL + "?n=3")])
    assert [d.url for d in documents_of(loose)] == [URL + "?n=3"]


def test_the_cache_key_of_bytes_does_not_reveal_the_url() -> None:
    key = document_key(Document(url=URL))
    assert "abc123" not in key
    assert key == document_key(Document(url=URL, url_expires_at=datetime.now(UTC)))
    assert key != document_key(Document(url=URL + "x"))


def test_kept_bytes_are_served_even_after_the_url_expired() -> None:
    documents = Documents(MemoryCache(), Settings())
    fresh = Document(url=URL, url_expires_at=datetime.now(UTC) + timedelta(hours=1))
    request = documents.request(fresh)
    assert request.extensions["timeout"]["read"] == Settings().document_timeout == 12.0
    assert "authorization" not in request.headers
    assert documents.keep(fresh, httpx.Response(200, content=b"%PDF-x")) == b"%PDF-x"
    expired = fresh.model_copy(update={"url_expires_at": datetime.now(UTC) - timedelta(1)})
    assert documents.cached(expired) == b"%PDF-x"
    with pytest.raises(DocumentExpired, match="Collect the fact again"):
        Documents(None, Settings()).request(expired)


def test_a_dead_link_is_document_expired_other_failures_are_kept() -> None:
    documents = Documents(None, Settings())
    doc = Document(url=URL)
    assert isinstance(documents.failed(doc, NotFound("gone", status=404)), DocumentExpired)
    down = UpstreamUnavailable("down", status=503)
    assert documents.failed(doc, down) is down


def test_sync_single_flight_sends_once_for_concurrent_callers() -> None:
    flight: SyncSingleFlight[int] = SyncSingleFlight()
    calls: list[int] = []
    started = threading.Barrier(8)

    def call() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 42

    def worker() -> int:
        started.wait()
        return flight.run("privileges", call)

    threads = []
    results: list[int] = []
    for _ in range(8):
        thread = threading.Thread(target=lambda: results.append(worker()))
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert 1 <= len(calls) < 8
    assert flight.run(None, lambda: 7) == 7  # not shared: always called


def test_async_single_flight_shares_the_outcome_errors_included() -> None:
    flight: AsyncSingleFlight[int] = AsyncSingleFlight()
    calls: list[int] = []

    async def call() -> int:
        calls.append(1)
        await asyncio.sleep(0.01)
        raise UpstreamUnavailable("down")

    async def scenario() -> list[BaseException | int]:
        return await asyncio.gather(*(flight.run("ping", call) for _ in range(5)),
                                    return_exceptions=True)

    results = asyncio.run(scenario())
    assert len(calls) == 1
    assert all(isinstance(r, UpstreamUnavailable) for r in results)
