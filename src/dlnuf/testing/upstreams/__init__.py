"""Upstream fakes, one per source: the protocol, the registry and dlnuf's own three.

* :class:`Upstream`: what an upstream fake is (name, base URLs, quota pools, which
  paths are its own, how it answers from the fake world, its error body);
* the registry: entry points ``dlnuf.fakes`` (name: the source's name, value: the
  :class:`Upstream` subclass or instance), :func:`register_upstream` at run time,
  :func:`available_upstreams`;
* dlnuf's own, registered the same way: :mod:`.recherche_entreprises`,
  :mod:`.api_entreprise`, :mod:`.insee_sirene` (each with its payload builders).

:class:`~dlnuf.testing.FakeUpstreams` (the ``dlnuf_fake`` fixture, the loopback
server) serves every one of them with the generic quotas, faults and counters. See
``docs/testing.md``, "Shipping a fake for your source".
"""

from .base import (
    Answer,
    FakeUpstreamError,
    Quota,
    UnknownUpstream,
    Upstream,
    UpstreamConflict,
)
from .registry import (
    ENTRY_POINT_GROUP,
    available_upstreams,
    builtin_upstreams,
    check_upstreams,
    load_upstream,
    register_upstream,
    route,
    unregister_upstream,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Answer",
    "FakeUpstreamError",
    "Quota",
    "UnknownUpstream",
    "Upstream",
    "UpstreamConflict",
    "available_upstreams",
    "builtin_upstreams",
    "check_upstreams",
    "load_upstream",
    "register_upstream",
    "route",
    "unregister_upstream",
]
