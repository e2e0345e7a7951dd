"""How long a fact stays cached: a TTL per kind, capped by what the fact itself says.

The caps are generic, read from attributes, so a new kind plugs in without a
change here:

- a fact attribute ``valid_until`` (``date`` or ``datetime``): the entry never
  outlives it, not even as a stale entry (a certificate past its validity end
  is never served);
- a kind ClassVar ``refresh_hour`` (``int``, Paris time): the upstream refreshes
  the data every day at that hour, so the entry expires then;
- a kind ClassVar ``ttl`` (``timedelta``): the kind's own TTL, over the table;
- a fact attribute ``refused`` (``True``): a refusal (an attestation not
  delivered...) is kept :attr:`CachePolicy.refused_ttl` and never served stale.

Transient failures (rate limits, outages) are never cached: the client does not
call the policy for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigurationError
from ..facts.base import Fact

__all__ = ["DEFAULT_TTL_BY_KIND", "PARIS", "CachePolicy", "next_hour_in_paris", "validity_end"]

PARIS: tzinfo
"""Europe/Paris: French upstreams refresh and date their data in Paris time."""
try:
    PARIS = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # pragma: no cover - depends on the machine
    # No time zone database (Windows without the ``tzdata`` package): use CET,
    # UTC+1, all year. In summer a refresh at 08:00 CEST is then taken as 09:00
    # CEST: entries expire one hour after the refresh, never before it (an early
    # expiry would refetch the old data and keep it a whole day more).
    # ``pip install tzdata`` gives the exact hour.
    PARIS = timezone(timedelta(hours=1), "CET")

DEFAULT_TTL_BY_KIND: Mapping[str, timedelta] = MappingProxyType(
    {"Identity": timedelta(days=1)}
)
"""TTLs of the kinds that have one of their own (by class name); others get ``default_ttl``."""


@dataclass(frozen=True)
class CachePolicy:
    """When a cached fact expires, and how long it may then be served stale.

    The TTL of a kind is its ClassVar ``ttl`` if it declares one, else
    ``ttl_by_kind[kind name]`` (which replaces :data:`DEFAULT_TTL_BY_KIND` when
    given), else ``default_ttl``. A stale entry is served only when every
    source fails transiently (``Settings.stale_if_error``).
    """

    default_ttl: timedelta = timedelta(days=1)
    ttl_by_kind: Mapping[str, timedelta] = field(
        default_factory=lambda: DEFAULT_TTL_BY_KIND, hash=False
    )
    max_stale: timedelta = timedelta(days=30)
    """How long past its expiry an entry may still be served stale when the upstream fails."""
    not_found_ttl: timedelta = timedelta(hours=1)
    """How long a "not found" answer is remembered (never served stale)."""
    refused_ttl: timedelta = timedelta(hours=1)
    """The TTL of a fact whose ``refused`` is true (never served stale)."""

    def __post_init__(self) -> None:
        durations = {
            "default_ttl": self.default_ttl,
            "max_stale": self.max_stale,
            "not_found_ttl": self.not_found_ttl,
            "refused_ttl": self.refused_ttl,
            **{f"ttl_by_kind[{k!r}]": v for k, v in self.ttl_by_kind.items()},
        }
        for name, value in durations.items():
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise ConfigurationError(
                    f"CachePolicy {name} must be a timedelta of zero or more, not {value!r}"
                )
        object.__setattr__(self, "ttl_by_kind", MappingProxyType(dict(self.ttl_by_kind)))

    def ttl_for(self, kind: type[Fact]) -> timedelta:
        """The TTL of ``kind`` before any cap: its ClassVar ``ttl``, the table, or the default."""
        declared = getattr(kind, "ttl", None)
        if declared is not None:
            if not isinstance(declared, timedelta) or declared < timedelta(0):
                raise ConfigurationError(
                    f"{kind.__name__}.ttl must be a timedelta of zero or more, not {declared!r}"
                )
            return declared
        return self.ttl_by_kind.get(kind.__name__, self.default_ttl)

    def expiry(self, kind: type[Fact], fact: Fact, now: datetime) -> tuple[datetime, datetime]:
        """``(expires_at, stale_until)`` of ``fact`` cached at ``now``, both aware, in UTC."""
        now = _aware(now)
        ttl = self.ttl_for(kind)
        refused = getattr(fact, "refused", False) is True
        if refused:
            ttl = min(ttl, self.refused_ttl)
        expires_at = now + ttl
        hour = _refresh_hour(kind)
        if hour is not None:
            expires_at = min(expires_at, next_hour_in_paris(now, hour))
        # An old refusal is worse than an error: the company may have put things right.
        stale_until = expires_at if refused else expires_at + self.max_stale
        end = validity_end(getattr(fact, "valid_until", None))
        if end is not None:
            expires_at = min(expires_at, end)
            stale_until = min(stale_until, end)
        return expires_at.astimezone(UTC), stale_until.astimezone(UTC)

    def not_found_expiry(self, now: datetime) -> tuple[datetime, datetime]:
        """``(expires_at, stale_until)`` of a "not found" answer: brief, with no stale period."""
        expires_at = (_aware(now) + self.not_found_ttl).astimezone(UTC)
        return expires_at, expires_at


def next_hour_in_paris(now: datetime, hour: int) -> datetime:
    """The first ``hour``:00 Paris time strictly after ``now`` (daylight saving time aware)."""
    local = _aware(now).astimezone(PARIS)
    day = local.date()
    candidate = datetime.combine(day, time(hour), tzinfo=PARIS)
    if candidate <= local:
        candidate = datetime.combine(day + timedelta(days=1), time(hour), tzinfo=PARIS)
    return candidate.astimezone(UTC)


def validity_end(valid_until: object) -> datetime | None:
    """The moment a validity ends: a ``datetime`` as is (naive: UTC), a ``date`` at the end
    of that day in Paris; anything else (``None``...): no end."""
    if isinstance(valid_until, datetime):
        return _aware(valid_until)
    if isinstance(valid_until, date):
        return datetime.combine(valid_until + timedelta(days=1), time(0), tzinfo=PARIS)
    return None


def _refresh_hour(kind: type[Fact]) -> int | None:
    hour = getattr(kind, "refresh_hour", None)
    if hour is None:
        return None
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise ConfigurationError(
            f"{kind.__name__}.refresh_hour must be an hour from 0 to 23 or None, not {hour!r}"
        )
    return hour


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
