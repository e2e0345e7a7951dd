"""What the lookup flow checks before a call, without I/O: privileges and providers down.

:class:`Privileges` remembers, per source, what its credentials may call (read
once per client from the source's privileges request, kept in memory only).
:class:`Session` is what one ``collect`` learned about upstream providers: which
ones failed, and what their ping then said. The flow (:mod:`dlnuf.flow`) asks
the network for both and uses these to refuse a call before it is sent.
"""

from __future__ import annotations

from .errors import Forbidden, UpstreamUnavailable
from .facts.base import Fact
from .sources.base import GuardedSource

__all__ = ["Privileges", "Session"]


class Privileges:
    """The privileges of each source's credentials, read once per client.

    ``None`` for a source means they could not be read: nothing is refused then
    (the upstream still answers 403 to a call the token may not make).
    """

    def __init__(self) -> None:
        self._granted: dict[str, frozenset[str] | None] = {}

    def known(self, source: str) -> bool:
        """Whether the privileges of ``source`` were already read (or tried)."""
        return source in self._granted

    def record(self, source: str, granted: frozenset[str] | None) -> None:
        """Remember what ``source``'s credentials may call (``None``: unknown)."""
        self._granted[source] = granted

    def check(self, source: GuardedSource, kind: type[Fact]) -> None:
        """Raise :class:`~dlnuf.errors.Forbidden` when the credentials may not call ``kind``."""
        needed = source.required_privileges(kind)
        granted = self._granted.get(source.name)
        if not needed or granted is None or needed & granted:
            return
        raise Forbidden(
            f"{source.name}: the token lacks the privilege for {kind.__name__} (it needs one "
            f"of: {', '.join(sorted(needed))}; its GET /privileges lists none of them). "
            "Nothing was sent: ask for access to this data on your API account",
            source=source.name,
        )


class Session:
    """What one collect learned about the upstream providers of its sources.

    After a provider failed (down, timed out), the next kind it answers is only
    requested if a ping says it is up again; a provider pinged down is not
    called again in this session.
    """

    def __init__(self) -> None:
        self._failed: set[tuple[str, str]] = set()
        self._up: dict[tuple[str, str], bool] = {}

    def failed(self, source: str, provider: str) -> None:
        """``provider`` of ``source`` just failed: ping it before calling it again."""
        key = (source, provider)
        if self._up.get(key) is not False:
            self._failed.add(key)
            self._up.pop(key, None)

    def needs_ping(self, source: str, provider: str) -> bool:
        """Whether ``provider`` failed and was not pinged since."""
        key = (source, provider)
        return key in self._failed and key not in self._up

    def record_ping(self, source: str, provider: str, up: bool) -> None:
        """What the ping of ``provider`` said."""
        self._up[(source, provider)] = up

    def check(self, source: str, provider: str, kind: type[Fact]) -> None:
        """Raise :class:`~dlnuf.errors.UpstreamUnavailable` when ``provider`` was pinged down."""
        if self._up.get((source, provider)) is False:
            raise UpstreamUnavailable(
                f"{source}: the provider {provider} failed earlier in this collect and its "
                f"/ping/{provider} says it is still down; {kind.__name__} was not requested: "
                "retry later",
                source=source,
            )
