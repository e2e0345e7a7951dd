"""Parsing helpers shared by every source: JSON bodies, dates, withheld markers.

Upstream payloads are untrusted: a missing key, a wrong type or an absurd
timestamp becomes ``None`` (unknown), never a crash; only a body that holds no
usable object at all raises :class:`~dlnuf.errors.UnexpectedPayload`.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import httpx

from ..errors import UnexpectedPayload
from ..facts.base import Provenance

__all__ = [
    "WITHHELD_MARKERS",
    "Reader",
    "dig",
    "iso_date",
    "json_object",
    "make_provenance",
    "unix_date",
    "unix_datetime",
]

WITHHELD_MARKERS = frozenset({"[ND]", "[NON-DIFFUSIBLE]", "[NON DIFFUSIBLE]"})
"""Strings upstreams put in place of a value they may not give. Never a value."""

# Timestamps outside this window are treated as unknown (upstream placeholders, bugs).
_MIN_TS = datetime(1800, 1, 1, tzinfo=UTC).timestamp()
_MAX_TS = datetime(2200, 1, 1, tzinfo=UTC).timestamp()


def json_object(response: httpx.Response, source: str) -> dict[str, Any]:
    """The response body as a JSON object, or :class:`UnexpectedPayload` saying why not."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        kind = response.headers.get("content-type", "unknown content type")
        raise UnexpectedPayload(
            f"{source} answered HTTP {response.status_code} with a body that is not JSON "
            f"({kind}); the upstream or a proxy in between is misbehaving",
            source=source,
            status=response.status_code,
        ) from None
    if not isinstance(body, dict):
        raise UnexpectedPayload(
            f"{source} answered a JSON {type(body).__name__} where an object was expected",
            source=source,
            status=response.status_code,
        )
    return body


def dig(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``, or ``None`` as soon as a step is missing or mistyped."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
        if data is None:
            return None
    return data


def unix_datetime(value: Any) -> datetime | None:
    """A Unix timestamp (seconds) as an aware UTC datetime; out-of-range or junk: ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not _MIN_TS <= value <= _MAX_TS:
        return None
    return datetime.fromtimestamp(value, UTC)


def unix_date(value: Any) -> date | None:
    """A Unix timestamp as a calendar date in Paris (INSEE stores local midnight)."""
    moment = unix_datetime(value)
    if moment is None:
        return None
    # INSEE dates are midnight Europe/Paris; +3 h lands on the right day in winter and summer.
    return datetime.fromtimestamp(moment.timestamp() + 3 * 3600, UTC).date()


def iso_date(value: Any) -> date | None:
    """An ISO date (``2024-05-31``, or the date part of a datetime); junk: ``None``."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return parsed if 1800 <= parsed.year <= 2200 else None


class Reader:
    """Reads untrusted values and records the withheld ones.

    ``reader.text("legal_name", raw)`` returns ``raw`` stripped, ``None`` if it is
    empty or not a string, and ``None`` *plus* ``"legal_name"`` added to
    :attr:`withheld` if it is an upstream non-diffusion marker.
    """

    def __init__(self) -> None:
        self.withheld: set[str] = set()

    def text(self, field: str, value: Any) -> str | None:
        """A string value for ``field``, or ``None``; markers are recorded as withheld."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            return None
        value = value.strip()
        if value.upper() in WITHHELD_MARKERS:
            self.withheld.add(field)
            return None
        return value or None

    def flag(self, field: str, value: Any) -> bool | None:
        """A boolean for ``field`` (accepts ``true``/``O``/``oui``), or ``None``."""
        if isinstance(value, bool):
            return value
        text = self.text(field, value)
        if text is None:
            return None
        return text.lower() in {"true", "o", "oui", "1", "yes"}


def make_provenance(
    source: str,
    response: httpx.Response,
    *,
    updated_at: datetime | None = None,
    public: bool = True,
) -> Provenance:
    """Provenance for a fact parsed from ``response`` (endpoint = path, no query string)."""
    return Provenance(
        source=source,
        endpoint=response.request.url.path if _has_request(response) else "",
        updated_at=updated_at,
        public=public,
    )


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True
