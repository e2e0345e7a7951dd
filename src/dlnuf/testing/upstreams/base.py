"""What an upstream fake is (:class:`Upstream`), and the errors of the upstream registry.

An upstream fake knows one upstream: where it lives (:attr:`~Upstream.base_urls`), its
quotas (:attr:`~Upstream.quotas`), which request paths are its own
(:meth:`~Upstream.match`), how it answers them from the fake world
(:meth:`~Upstream.answer`) and how it says it failed (:meth:`~Upstream.error_body`).
Everything else is generic and done once by :class:`~dlnuf.testing.fake.FakeUpstreams`
for every upstream: routing, quota windows and 429s, injected faults, latency,
counters, respx and the loopback server. An upstream fake holds no state of its own:
what it knows of the world comes from the fake passed to :meth:`~Upstream.answer`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

if TYPE_CHECKING:
    from ..fake import FakeUpstreams

__all__ = [
    "Answer",
    "FakeUpstreamError",
    "Quota",
    "UnknownUpstream",
    "Upstream",
    "UpstreamConflict",
]

Quota = tuple[int, float]
"""A quota: ``(limit, period in seconds)``, e.g. ``(7, 1.0)`` for 7 requests per second."""

Answer = httpx.Response | tuple[int, Any] | tuple[int, Any, Mapping[str, str]]
"""What an upstream fake answers: ``(status, payload)`` or ``(status, payload, headers)``,
the payload sent as JSON (``bytes`` are sent as they are), or a whole
:class:`httpx.Response` for anything else (HTML, a PDF...)."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class FakeUpstreamError(ValueError):
    """An upstream fake cannot be registered, found or loaded (a :class:`ValueError`)."""


class UnknownUpstream(FakeUpstreamError):
    """No upstream fake has this name (the message lists the known ones)."""


class UpstreamConflict(FakeUpstreamError):
    """Two upstream fakes have the same name, or both claim the same request path."""


class Upstream(ABC):
    """One upstream faked: subclass it, set :attr:`name`, write :meth:`match` and :meth:`answer`.

    ::

        class ToyFake(Upstream):
            name = "toy"                                   # the source's name
            base_urls = ("https://api.toy.example",)       # intercepted under dlnuf_fake
            quotas = {"toy": (5, 1.0)}                     # pool -> (limit, period)
            examples = ("/toy/v1/companies/55204944776279",)

            def match(self, path):
                found = re.search(r"/toy/v1/.*$", path)
                return found.group() if found else None

            def answer(self, request, path, fake):
                company = fake.get(path.rsplit("/", 1)[-1])
                if company is None:
                    return 404, {"error": "unknown"}
                return 200, {"siret": company.siret, "name": company.legal_name}

            def error_body(self, status):
                return {"error": f"toy says {status}"}

    Register it with an entry point in the group ``dlnuf.fakes`` (name: :attr:`name`;
    value: the class, instantiated without arguments, or an instance), or at run time
    with :func:`~dlnuf.testing.upstreams.register_upstream`. An instance is shared by
    every fake: keep no state in it.
    """

    name: str = ""
    """The source's name (as in the ``dlnuf.sources`` entry points): what
    :meth:`~dlnuf.testing.FakeUpstreams.fail` and the counters
    call it, and what ``DLNUF_<NAME>_URL`` is read for."""

    base_urls: tuple[str, ...] = ()
    """The upstream's real base URLs (production, staging): ``dlnuf_fake`` and
    :meth:`~dlnuf.testing.FakeUpstreams.mock` intercept them."""

    quotas: ClassVar[Mapping[str, Quota]] = {}
    """The documented quota of each pool: ``{pool: (limit, period in seconds)}``; a
    pool not listed is unlimited. By default every request counts in the pool named
    :attr:`name` (see :meth:`pool`)."""

    examples: tuple[str, ...] = ()
    """A few paths the upstream answers (``/search``, ``/siret/55204944776279``...):
    :meth:`match` must claim each and no other upstream may, checked when the
    upstream is registered or added to a fake."""

    @abstractmethod
    def match(self, path: str) -> str | None:
        """The request path relative to the upstream's root when the request is for this
        upstream, else ``None``.

        ``path`` is the whole URL path: whatever the host, and with any prefix (a proxy,
        the loopback server's root, ``/api-sirene/3.11``...). Claim only what is
        unambiguously yours: when two upstreams claim a path, the request fails with
        :class:`UpstreamConflict`.
        """

    @abstractmethod
    def answer(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer:
        """Answer ``request`` (``path``: what :meth:`match` returned) from ``fake``'s world:
        :meth:`~dlnuf.testing.FakeUpstreams.get` (a company by SIRET),
        :meth:`~dlnuf.testing.FakeUpstreams.find` (by SIRET, SIREN or RNA number),
        :meth:`~dlnuf.testing.FakeUpstreams.establishments` (of a SIREN),
        :attr:`~dlnuf.testing.FakeUpstreams.companies`,
        :attr:`~dlnuf.testing.FakeUpstreams.credentials`...

        Called once quotas and faults let the request through, under the fake's lock.
        """

    def error_body(self, status: int) -> Any:
        """The body the upstream sends with an error ``status`` (a 429 beyond the quota,
        an injected :meth:`~dlnuf.testing.FakeUpstreams.fail`...), sent as JSON."""
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = f"HTTP {status}"
        return {"status": status, "error": reason}

    def pool(self, path: str) -> str | None:
        """The quota pool a request to ``path`` counts in (default: :attr:`name`);
        ``None``: the request is not metered at all (no quota, no peak)."""
        return self.name

    def quota(self, pool: str) -> Quota | None:
        """The documented quota of ``pool`` (default: from :attr:`quotas`), ``None``:
        unlimited. A fake's own setting (``set_quota``, ``quotas=``) comes first."""
        return self.quotas.get(pool)

    def faultable(self, path: str) -> bool:
        """Whether injected faults apply to ``path`` (default: always)."""
        return True

    def refuse(self, request: httpx.Request, path: str, fake: FakeUpstreams) -> Answer | None:
        """The refusal of a request lacking credentials or required parameters, checked
        before any answer pinned with :meth:`~dlnuf.testing.FakeUpstreams.respond`
        (default: none)."""
        return None

    def rate_headers(
        self, limit: int, period: float, remaining: int, reset_at: float
    ) -> Mapping[str, str]:
        """Headers telling the quota state on every metered answer (default: none):
        ``limit`` requests per ``period`` s, ``remaining`` left, the oldest slot freed
        at Unix time ``reset_at``. 429s get ``Retry-After`` whatever this returns."""
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def check_name(upstream: object, where: str) -> Upstream:
    """``upstream`` if it is an :class:`Upstream` with a usable name, else a clear error."""
    if not isinstance(upstream, Upstream):
        raise FakeUpstreamError(
            f"{where} is {upstream!r}, not a dlnuf.testing.upstreams.Upstream"
        )
    if not isinstance(upstream.name, str) or not _NAME.fullmatch(upstream.name):
        raise FakeUpstreamError(
            f"{where} has no usable name ({upstream.name!r}): set Upstream.name to the "
            "source's name (letters, digits and _)"
        )
    return upstream
