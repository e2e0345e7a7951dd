"""Where upstream fakes are found: entry points ``dlnuf.fakes``, and run-time registrations.

dlnuf's own fakes are registered exactly like a third party's, in ``pyproject.toml``::

    [project.entry-points."dlnuf.fakes"]
    recherche_entreprises = "dlnuf.testing.upstreams.recherche_entreprises:RechercheEntreprisesFake"

The entry point's name is the upstream's :attr:`~dlnuf.testing.upstreams.Upstream.name`;
its value an :class:`~dlnuf.testing.upstreams.Upstream` subclass (instantiated without
arguments) or instance. :func:`register_upstream` adds one for the running process
(tests), :func:`available_upstreams` lists them all.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import TypeVar

from .base import FakeUpstreamError, UnknownUpstream, Upstream, UpstreamConflict, check_name

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_upstreams",
    "builtin_upstreams",
    "check_upstreams",
    "load_upstream",
    "register_upstream",
    "route",
    "unregister_upstream",
]

ENTRY_POINT_GROUP = "dlnuf.fakes"
"""The entry point group upstream fakes are registered in (name: the source's name)."""

_DLNUF = "dlnuf"
_U = TypeVar("_U", bound=Upstream)
_lock = threading.RLock()
_registered: dict[str, Upstream] = {}
_loaded: dict[tuple[str, str], Upstream] = {}


@functools.cache
def _entry_points() -> tuple[EntryPoint, ...]:
    """The installed entry points of the group, by name (read once per process)."""
    return tuple(sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name))


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) or "?"
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def _instantiate(ep: EntryPoint, where: str) -> Upstream:
    try:
        target = ep.load()
        upstream = target() if isinstance(target, type) else target
    except Exception as exc:
        raise FakeUpstreamError(
            f"{where} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    return check_name(upstream, where)


def _load(ep: EntryPoint) -> Upstream:
    """The upstream fake an entry point names (loaded once), checked."""
    key = (ep.name, ep.value)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        where = f"the {ENTRY_POINT_GROUP} entry point {ep.name} = {ep.value!r}"
        upstream = _instantiate(ep, f"{where} (package {_distribution(ep)})")
        if upstream.name != ep.name:
            raise FakeUpstreamError(f"{where} is named {upstream.name!r}: name it {ep.name!r}")
        _loaded[key] = upstream
        return upstream


def load_upstream(target: str) -> Upstream:
    """The upstream fake ``"module:attribute"`` names (a class, instantiated, or an
    instance), as an entry point's value is loaded; :class:`FakeUpstreamError` if it
    cannot be. ``python -m dlnuf.testing.server --upstream`` uses it."""
    ep = EntryPoint(name="", value=target, group=ENTRY_POINT_GROUP)
    return _instantiate(ep, f"the upstream fake {target!r}")


def builtin_upstreams() -> dict[str, Upstream]:
    """dlnuf's own upstream fakes (its entry points), by name; empty when dlnuf's installed
    metadata predates them."""
    return {ep.name: _load(ep) for ep in _entry_points() if _distribution(ep) == _DLNUF}


def _installed() -> dict[str, Upstream]:
    seen: dict[str, EntryPoint] = {}
    for ep in _entry_points():
        other = seen.get(ep.name)
        if other is not None and other.value != ep.value:
            raise UpstreamConflict(
                f"two installed packages ship a fake upstream named {ep.name!r}: "
                f"{_distribution(other)} ({other.value}) and {_distribution(ep)} ({ep.value})"
            )
        seen[ep.name] = ep
    if not any(_distribution(ep) == _DLNUF for ep in seen.values()):
        raise FakeUpstreamError(
            f"dlnuf's fake upstreams are not registered: the installed metadata of dlnuf has "
            f"no {ENTRY_POINT_GROUP!r} entry points (an older install): reinstall it, e.g. "
            '`pip install -e ".[dev]"` in a checkout'
        )
    return {name: _load(ep) for name, ep in seen.items()}


def available_upstreams() -> dict[str, Upstream]:
    """Every upstream fake: the installed ones (entry points ``dlnuf.fakes``) and those
    registered at run time, by name; what a new
    :class:`~dlnuf.testing.FakeUpstreams` serves."""
    found = _installed()
    with _lock:
        found.update(_registered)
    return found


def register_upstream(upstream: _U, *, replace: bool = False) -> _U:
    """Serve ``upstream`` from every :class:`~dlnuf.testing.FakeUpstreams` created from now
    on in this process (``dlnuf_fake``, :class:`~dlnuf.testing.server.FakeServer`...);
    returns it. For one existing fake, use
    :meth:`~dlnuf.testing.FakeUpstreams.add_upstream`.

    Raises :class:`UpstreamConflict` when its name is taken (unless ``replace``: it
    then stands in for the other until :func:`unregister_upstream`) or when it and
    another claim the same example path.
    """
    check_name(upstream, "the upstream registered")
    with _lock:
        current = available_upstreams()
        if upstream.name in current and not replace:
            raise UpstreamConflict(
                f"a fake upstream named {upstream.name!r} exists already "
                f"({current[upstream.name]!r}): pick another name, or replace=True"
            )
        current[upstream.name] = upstream
        check_upstreams(current.values())
        _registered[upstream.name] = upstream
    return upstream


def unregister_upstream(name: str) -> None:
    """Undo :func:`register_upstream` (an installed upstream it replaced is back)."""
    with _lock:
        if _registered.pop(name, None) is None:
            raise UnknownUpstream(
                f"no fake upstream {name!r} was registered at run time; registered: "
                f"{', '.join(sorted(_registered)) or 'none'}"
            )


def check_upstreams(upstreams: Iterable[Upstream]) -> None:
    """Raise :class:`UpstreamConflict` when two of ``upstreams`` share a name or one claims
    another's example path, :class:`FakeUpstreamError` when one's example is not its own."""
    listed = list(upstreams)
    names: dict[str, Upstream] = {}
    for upstream in listed:
        if upstream.name in names and names[upstream.name] is not upstream:
            raise UpstreamConflict(
                f"two fake upstreams are named {upstream.name!r}: "
                f"{names[upstream.name]!r} and {upstream!r}"
            )
        names[upstream.name] = upstream
    for upstream in names.values():
        for example in upstream.examples:
            if upstream.match(example) is None:
                raise FakeUpstreamError(
                    f"{upstream!r} does not match its own example path {example!r}"
                )
            route(names.values(), example)


def route(upstreams: Iterable[Upstream], path: str) -> tuple[Upstream, str] | None:
    """The upstream among ``upstreams`` claiming ``path`` and the path relative to its root,
    ``None`` when none does; :class:`UpstreamConflict` when several do."""
    found: tuple[Upstream, str] | None = None
    for upstream in upstreams:
        relative = upstream.match(path)
        if relative is None:
            continue
        if found is not None:
            raise UpstreamConflict(
                f"two fake upstreams claim the path {path!r}: {found[0].name!r} "
                f"(as {found[1]!r}) and {upstream.name!r} (as {relative!r}); make their "
                "match() stricter"
            )
        found = upstream, relative
    return found
