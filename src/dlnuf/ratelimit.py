"""Client-side pacing: one token bucket per upstream quota pool."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Quota"]


@dataclass(frozen=True)
class Quota:
    """A documented upstream quota: ``limit`` requests per ``period`` seconds in ``pool``.

    Requests of the same pool share one bucket, whatever the endpoint.
    """

    pool: str
    limit: int
    period: float = 60.0

    @property
    def rate(self) -> float:
        """Requests per second allowed on average."""
        return self.limit / self.period
