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

from ..errors import ConfigurationError
from .fake import FakeUpstreams

__all__ = ["REAL_TIMING_MARK", "dlnuf_fake", "pytest_configure"]

REAL_TIMING_MARK = "dlnuf_real_timing"
"""``@pytest.mark.dlnuf_real_timing``: keep the real retry backoff under ``dlnuf_fake``."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``dlnuf_real_timing`` marker."""
    config.addinivalue_line(
        "markers",
        f"{REAL_TIMING_MARK}: under dlnuf_fake, keep dlnuf's real retry backoff "
        "(by default retries are immediate)",
    )


def _require_respx() -> None:
    try:
        import respx  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "the dlnuf_fake fixture needs respx, which fakes httpx: "
            'pip install "dlnuf[testing]"'
        ) from None


@pytest.fixture
def dlnuf_fake(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeUpstreams]:
    """Fake Recherche d'entreprises, API Entreprise and INSEE Sirene for one test (and every
    other upstream fake installed or registered: :mod:`dlnuf.testing.upstreams`).

    Every request (sync or async httpx) to their production and staging base URLs,
    and to the ``DLNUF_<SOURCE>_URL`` ones, is answered by the yielded
    :class:`~dlnuf.testing.fake.FakeUpstreams` (add companies, inject faults, read
    counters); any other request fails as not mocked. For the test's duration,
    ``DLNUF_CACHE`` and ``DLNUF_ANSWERS`` are ``memory`` (a ``Client()`` neither reads
    nor fills your real cache or answer store), clients share a fresh rate limiter
    (no pause inherited from an earlier test), and retries of injected faults are
    immediate (no backoff wait; an upstream's explicit ``Retry-After`` is still
    honoured): mark a test ``@pytest.mark.dlnuf_real_timing`` to keep the real
    backoff. Everything is restored afterwards. Needs respx (``dlnuf[testing]``).
    """
    _require_respx()
    import dlnuf.client
    from dlnuf.ratelimit import MemoryRateLimiter
    from dlnuf.transport import RetryPolicy

    monkeypatch.setenv("DLNUF_CACHE", "memory")
    monkeypatch.setenv("DLNUF_ANSWERS", "memory")
    if request.node.get_closest_marker(REAL_TIMING_MARK) is None:
        monkeypatch.setattr(RetryPolicy, "ceiling", _no_backoff)
    monkeypatch.setattr(dlnuf.client, "DEFAULT_LIMITER", MemoryRateLimiter())
    fake = FakeUpstreams()
    with fake.mock():
        yield fake


def _no_backoff(self: object, attempt: int) -> float:
    """``RetryPolicy.ceiling`` under ``dlnuf_fake``: retry at once."""
    return 0.0
