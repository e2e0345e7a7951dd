"""One place for the drivers: a download is a flow like a lookup, a batch result is a
dossier, and both clients drive the same flows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import httpx
import pytest
from pydantic import Field

from conftest import ClientFacade
from dlnuf import Dossier, Identity, InvalidSiret, NotFound
from dlnuf.cache import MemoryCache
from dlnuf.config import Settings
from dlnuf.documents import Documents, document_key
from dlnuf.errors import DocumentExpired
from dlnuf.facts import Document
from dlnuf.flow import Blocking, CacheGet, CacheSet, Download
from dlnuf.forms import Form, From, prefill
from dlnuf.results import BatchResult, collect
from dlnuf.testing import FakeUpstreams, make_companies

URL = "https://storage.example/files/abc123/attestation.pdf"


class NameForm(Form):
    """One field read from the identity."""

    name: Annotated[str, From("identity.legal_name"), Field(title="Nom")]


# -- a download is a flow ------------------------------------------------------------------


def test_a_download_yields_its_cache_read_check_download_and_cache_write() -> None:
    documents = Documents(MemoryCache(), Settings())
    doc = Document(url=URL)
    flow = documents.flow(doc)
    read = next(flow)
    assert isinstance(read, CacheGet)
    assert read.key == document_key(doc)
    check = flow.send(None)  # nothing kept
    assert isinstance(check, Blocking)  # the URL check may resolve a host: off the loop
    download = flow.send(None)
    assert isinstance(download, Download)
    assert download.request.url == URL
    assert download.max_bytes == Settings().max_document_bytes
    keep = flow.send(httpx.Response(200, content=b"%PDF-1"))
    assert isinstance(keep, CacheSet)
    assert (keep.key, keep.value) == (document_key(doc), b"%PDF-1")
    with pytest.raises(StopIteration) as done:
        flow.send(None)
    assert done.value.value == b"%PDF-1"


def test_a_download_serves_kept_bytes_without_a_request() -> None:
    cache = MemoryCache()
    documents = Documents(cache, Settings())
    doc = Document(url=URL, url_expires_at=datetime.now(UTC) - timedelta(days=1))
    later = datetime.now(UTC) + timedelta(days=1)
    cache.set(document_key(doc), b"%PDF-kept", expires_at=later, stale_until=later)
    flow = documents.flow(doc)
    step = next(flow)
    with pytest.raises(StopIteration) as done:
        flow.send(cache.get(step.key) if isinstance(step, CacheGet) else None)
    assert done.value.value == b"%PDF-kept"


def test_a_dead_link_thrown_into_a_download_is_document_expired() -> None:
    flow = Documents(None, Settings()).flow(Document(url=URL))
    assert isinstance(next(flow), Blocking)  # no cache: no read
    assert isinstance(flow.send(None), Download)
    with pytest.raises(DocumentExpired, match="HTTP 404"):
        flow.throw(NotFound("gone", status=404))


# -- a batch result is a dossier -----------------------------------------------------------


@pytest.fixture
def fake(dlnuf_fake: FakeUpstreams) -> FakeUpstreams:
    dlnuf_fake.add(*make_companies(3, kinds=("active",)))
    dlnuf_fake.set_quota("recherche_entreprises", None)
    return dlnuf_fake


def _results(client: ClientFacade, values: list[object]) -> list[BatchResult]:
    if client.mode == "sync":
        return list(collect(client.client.many(values)))

    async def gather() -> list[BatchResult]:
        return [r async for r in client.client.many(values)]

    return list(collect(client._loop.run_until_complete(gather())))


def test_a_batch_result_is_a_dossier_of_its_line(
    make_client: Callable[..., ClientFacade], fake: FakeUpstreams
) -> None:
    company = fake.companies[0]
    good, bad = _results(make_client(), [company.siret, "not a siret"])
    assert isinstance(good, Dossier)
    assert good[Identity].legal_name == company.legal_name  # the dossier's verbs
    assert good.siren == company.siren
    assert Identity in good.valid_on(date.today())
    assert good.ok
    assert not good.transient
    assert prefill(NameForm, good).values["name"] == company.legal_name
    assert bad.siret is None
    assert bad.ident is None
    assert not bad.ok
    with pytest.raises(InvalidSiret):
        bad.siren  # noqa: B018 - the line's error, not an AttributeError
    assert bad.to_record()["Identity.error_type"] == "InvalidSiret"
