"""API Entreprise's error vocabulary: its ``errors`` bodies, 5-digit codes and ``retry_in``.

Every error answer is ``{"errors": [{"code": "03003", "title": ..., "detail": ...,
"meta": {"retry_in": 30}}]}``. The code's last three digits say what happened
(``003`` not found, ``005`` legally unavailable, ``001/002/008/020`` the provider is
unavailable) unless the HTTP status is about the request itself (400, 401, 403, 409,
422, 429: parameters, credentials, quota): a 429 in particular is never turned into
anything that looks like a negative answer. ``meta.retry_in`` is the wait asked when
no ``Retry-After`` header says it.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from ...errors import Forbidden, LegallyUnavailable, NotFound, UpstreamError, UpstreamUnavailable
from ...httperrors import (
    ErrorBody,
    clean,
    error_json,
    generic_body,
    non_negative,
    request_of,
    status_error_class,
    upstream_error,
)

__all__ = ["error_class", "read_errors", "upstream_error_of"]

_BY_SUBCODE: dict[str, type[UpstreamError]] = {
    "003": NotFound,
    "005": LegallyUnavailable,
    "001": UpstreamUnavailable,
    "002": UpstreamUnavailable,
    "008": UpstreamUnavailable,
    "020": UpstreamUnavailable,
}
_STATUS_WINS = frozenset({400, 401, 403, 409, 422, 429})
"""Statuses about the request itself (parameters, credentials, quota): they beat the subcode."""
_CODE = re.compile(r"\d{5}")


def error_class(status: int, code: str | None) -> type[UpstreamError]:
    """The error class for an HTTP status and an API Entreprise code (pure)."""
    if code is not None and status not in _STATUS_WINS and _CODE.fullmatch(code):
        by_code = _BY_SUBCODE.get(code[-3:])
        if by_code is not None:
            return by_code
    return status_error_class(status)


def read_errors(response: httpx.Response) -> ErrorBody:
    """The first code, the titles and details, and ``meta.retry_in`` of an ``errors`` body
    (another body: its generic reading)."""
    payload, _ = error_json(response)
    errors = payload.get("errors") if payload is not None else None
    if not isinstance(errors, list) or not errors:
        return generic_body(response)
    parts: list[str] = []
    code: str | None = None
    retry_in: float | None = None
    for item in errors[:5]:
        if not isinstance(item, dict):
            continue
        if code is None and isinstance(item.get("code"), str | int):
            code = str(item["code"])
        meta: Any = item.get("meta")
        if retry_in is None and isinstance(meta, dict):
            retry_in = non_negative(meta.get("retry_in"))
        title, detail = clean(item.get("title")), clean(item.get("detail"))
        part = ": ".join(p for p in (title, detail) if p)
        if part and part not in parts:
            parts.append(part)
    return ErrorBody(code=code, text="; ".join(parts) or None, retry_in=retry_in)


def upstream_error_of(response: httpx.Response, source: str) -> UpstreamError:
    """The typed error for an API Entreprise error answer (the source's ``error`` hook)."""
    body = read_errors(response)
    request = request_of(response)
    path = request.url.path if request is not None else "?"
    return upstream_error(
        response,
        source,
        cls=error_class(response.status_code, body.code),
        body=body,
        advice={Forbidden: (
            f"the token lacks the privilege for {path}: list its privileges "
            "(GET /privileges) or ask for access"
        )},
    )
