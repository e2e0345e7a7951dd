"""The pytest plugin of dlnuf (entry point ``pytest11``): the ``dlnuf_fake`` fixture.

Installed with dlnuf, it only adds a fixture; nothing runs unless a test asks for it::

    from dlnuf.testing import make_company

    def test_closed_supplier(dlnuf_fake):
        company = dlnuf_fake.add(make_company("closed"))
        with dlnuf.Client(cache=None) as client:
            assert client.identity(company.siret).active is False
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake import FakeUpstreams

__all__ = ["dlnuf_fake"]


@pytest.fixture
def dlnuf_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstreams]:
    """Fake Recherche d'entreprises, API Entreprise and INSEE Sirene for one test.

    Every request (sync or async httpx) to their production and staging base URLs,
    and to the ``DLNUF_<SOURCE>_URL`` ones, is answered by the yielded
    :class:`~dlnuf.testing.fake.FakeUpstreams` (add companies, inject faults, read
    counters); any other request fails as not mocked. For the test's duration,
    ``DLNUF_CACHE`` is ``memory`` (a ``Client()`` neither reads nor fills your real
    cache) and clients share a fresh rate limiter (no pause inherited from an
    earlier test). Everything is restored afterwards.
    """
    import dlnuf.client
    from dlnuf.ratelimit import MemoryRateLimiter

    monkeypatch.setenv("DLNUF_CACHE", "memory")
    monkeypatch.setattr(dlnuf.client, "DEFAULT_LIMITER", MemoryRateLimiter())
    fake = FakeUpstreams()
    with fake.mock():
        yield fake
