"""Documents' bytes (dlnuf.documents) and shared fetches (dlnuf.singleflight)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dlnuf.cache import MemoryCache
from dlnuf.config import Settings
from dlnuf.documents import Documents, bind_documents, document_key, documents_of
from dlnuf.errors import DocumentExpired, NotFound, UpstreamUnavailable
from dlnuf.facts import Document, Provenance, Qualification, RgeCertification
from dlnuf.singleflight import AsyncSingleFlight, SyncSingleFlight

PROVENANCE = Provenance(source="api_entreprise", endpoint="/v3/ademe/x")
URL = "https://storage.example/files/abc123-secret-looking-id/rge.pdf"


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
