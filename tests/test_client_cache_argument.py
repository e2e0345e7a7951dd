"""A ``cache=`` the client cannot use is refused with a clear error, never ignored."""

from __future__ import annotations

import pytest

import dlnuf
from dlnuf.cache import MemoryCache
from dlnuf.cache.aio import AsyncMemoryCache


@pytest.mark.parametrize("client_class", [dlnuf.Client, dlnuf.AsyncClient])
def test_an_asyncio_cache_is_refused_not_replaced_by_the_default(client_class: type) -> None:
    with pytest.raises(dlnuf.ConfigurationError, match="AsyncMemoryCache"):
        client_class(sources=["sandbox"], cache=AsyncMemoryCache(MemoryCache()))


@pytest.mark.parametrize("client_class", [dlnuf.Client, dlnuf.AsyncClient])
def test_something_that_is_no_cache_is_refused(client_class: type) -> None:
    with pytest.raises(dlnuf.ConfigurationError, match="cache="):
        client_class(sources=["sandbox"], cache={"url": "memory://"})


def test_a_cache_instance_is_used_as_given() -> None:
    cache = MemoryCache()
    with dlnuf.Client(sources=["sandbox"], cache=cache) as client:
        assert client.cache is cache
        assert not client.identity("55204944776279").provenance.from_cache
        assert client.identity("55204944776279").provenance.from_cache
