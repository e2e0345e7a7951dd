"""Error responses to typed errors: the generic part, shared by the transport and the sources.

The transport maps every non-2xx answer with :func:`error_from_response`: it asks the
source's own hook first (``source.error(response)``, where each source reads its own
error bodies and codes), else maps the HTTP status alone. Either way the result gets
the ``Retry-After`` header (which wins over a wait the body asked for), the source name
and status, and a message with every credential and query string redacted.

A source's hook builds its error with :func:`upstream_error`, giving what it read in
the body (class, code, the upstream's words, a wait) and, when it has one, its own
advice: the message then has the same shape for every source,
``"<source>: <advice> [HTTP <status>, code <code>, <METHOD> <path>]. Upstream said: ..."``.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .errors import (
    Forbidden,
    InvalidRequest,
    LegallyUnavailable,
    NotFound,
    RateLimited,
    RequestInFlight,
    Unauthorized,
    UpstreamError,
    UpstreamUnavailable,
)
from .redaction import redact, secret_parts

__all__ = [
    "BY_STATUS",
    "ErrorBody",
    "ErrorHook",
    "clean",
    "error_from_response",
    "error_json",
    "generic_body",
    "non_negative",
    "redact_for",
    "request_of",
    "retry_after_header",
    "status_error_class",
    "upstream_error",
]

ErrorHook = Callable[[httpx.Response], UpstreamError | None]
"""A source's ``error`` hook: the typed error for an error response, or ``None`` (generic)."""

BY_STATUS: Mapping[int, type[UpstreamError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: RequestInFlight,
    422: InvalidRequest,
    429: RateLimited,
    451: LegallyUnavailable,
    500: UpstreamUnavailable,
    502: UpstreamUnavailable,
    503: UpstreamUnavailable,
    504: UpstreamUnavailable,
}
"""The error class of each HTTP status; any other non-2xx status is a plain ``UpstreamError``."""

_ADVICE: dict[type[UpstreamError], str] = {
    NotFound: "not found: the identifier is unknown there or holds nothing for this call",
    LegallyUnavailable: (
        "legally unavailable: nobody may access this unit's data; do not retry"
    ),
    InvalidRequest: (
        "the request was refused as invalid: check the identifier and the parameters "
        "(recipient, context, object); retrying will not help"
    ),
    RequestInFlight: "the same request is already being processed upstream: retry shortly",
    UpstreamUnavailable: "the service is unavailable or failed: retry later",
}
_MAX_UPSTREAM_TEXT = 400
_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session", re.IGNORECASE)


def status_error_class(status: int) -> type[UpstreamError]:
    """The error class for an HTTP status alone (pure)."""
    return BY_STATUS.get(status, UpstreamError)


@dataclass(frozen=True)
class ErrorBody:
    """What an error body says: the upstream's ``code``, its words (``text``), the wait it
    asked for (``retry_in``, seconds) and, when it said nothing readable, a ``note``."""

    code: str | None = None
    text: str | None = None
    retry_in: float | None = None
    note: str | None = None


def non_negative(value: Any) -> float | None:
    """``value`` as a finite number of seconds ``>= 0``, else ``None`` (never raises)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            return None
        if math.isfinite(number) and number >= 0:
            return number
    return None


def clean(text: Any) -> str | None:
    """``text`` on one line (a number as text), else ``None``."""
    if not isinstance(text, str | int | float) or isinstance(text, bool):
        return None
    flat = " ".join(str(text).split())
    return flat or None


def error_json(response: httpx.Response) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of an error body, or ``None`` and a note saying why not
    (``empty body``, ``non-JSON body of type text/html``...)."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None, "body not read"
    if not content.strip():
        return None, "empty body"
    try:
        payload = json.loads(content)
    except (ValueError, RecursionError):
        kind = response.headers.get("content-type", "unknown type").split(";")[0].strip()
        return None, f"non-JSON body of type {kind}"
    if not isinstance(payload, dict):
        return None, "unexpected JSON body"
    return payload, None


def generic_body(response: httpx.Response, *keys: str) -> ErrorBody:
    """A body's words under ``keys`` (default ``message``, ``detail``, ``error``), or a note."""
    payload, note = error_json(response)
    if payload is None:
        return ErrorBody(note=note)
    for key in keys or ("message", "detail", "error"):
        said = clean(payload.get(key))
        if said:
            return ErrorBody(text=said)
    return ErrorBody(note="unexpected JSON body")


def retry_after_header(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: delta-seconds, or an HTTP-date (against ``Date`` if sent)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    seconds = non_negative(value.strip())
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    reference = time.time()
    sent = response.headers.get("date")
    if sent:
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            reference = parsedate_to_datetime(sent).timestamp()
    return max(0.0, when - reference)


def _secrets(request: httpx.Request | None) -> list[str]:
    """The request's credential header values, as parts to redact anywhere (any case,
    any echo of 8+ characters, each JWT segment)."""
    if request is None:
        return []
    return secret_parts(v for k, v in request.headers.items() if _SECRET_HEADER.search(k))


def redact_for(text: str, request: httpx.Request | None) -> str:
    """``text`` without the query string and the credentials of ``request``."""
    if request is not None and request.url.query:
        text = text.replace(str(request.url), str(request.url.copy_with(query=None)))
        text = text.replace(request.url.query.decode("ascii", "replace"), "[query]")
    return redact(text, _secrets(request))


def request_of(response: httpx.Response) -> httpx.Request | None:
    """The request ``response`` answers, when it has one."""
    try:
        return response.request
    except RuntimeError:
        return None


def seconds(value: float) -> str:
    """``value`` seconds as shown in messages."""
    return f"{value:g} s"


def _advice(
    cls: type[UpstreamError], status: int, path: str, retry_after: float | None, credential: str
) -> str:
    if cls is RateLimited:
        wait = f"retry after {seconds(retry_after)}" if retry_after is not None else "retry later"
        return f"quota exhausted, {wait}; this says nothing about the company"
    if cls is Unauthorized:
        return f"the {credential} is missing, invalid or expired: renew it"
    if cls is Forbidden:
        return f"access to {path} was refused: check the credentials or ask for access"
    if cls is UpstreamError or cls not in _ADVICE:
        return f"unexpected HTTP {status} answer"
    advice = _ADVICE[cls]
    if cls is UpstreamUnavailable and retry_after is not None:
        advice = f"{advice} (it asks to retry after {seconds(retry_after)})"
    return advice


def upstream_error(
    response: httpx.Response,
    source: str,
    *,
    cls: type[UpstreamError] | None = None,
    body: ErrorBody | None = None,
    advice: str | Mapping[type[UpstreamError], str] | None = None,
    credential: str = "token",
) -> UpstreamError:
    """The typed error for ``response``, in dlnuf's message shape (pure; never raises it).

    ``cls`` defaults to the class of the status; ``body`` is what the source read in the
    error body (default: :func:`generic_body`); ``advice`` replaces the default advice
    (one text, or one per class: ``{Forbidden: "..."}``); ``credential`` names what a 401
    says to renew (``token``, ``API key``). ``retry_after`` is the ``Retry-After`` header,
    else the body's ``retry_in``. The message names the request path only (never the
    query string, a header or a credential).
    """
    request = request_of(response)
    status = response.status_code
    body = body if body is not None else generic_body(response)
    retry_after = retry_after_header(response)
    if retry_after is None:
        retry_after = body.retry_in
    cls = cls or status_error_class(status)
    path = request.url.path if request is not None else "?"
    method = request.method if request is not None else "?"
    chosen = advice.get(cls) if isinstance(advice, Mapping) else advice
    said = chosen or _advice(cls, status, path, retry_after, credential)
    where = f"HTTP {status}" + (f", code {body.code}" if body.code else "") + f", {method} {path}"
    message = f"{source}: {said} [{where}]"
    if body.text:
        text = redact_for(body.text, request)  # before cutting, so no half secret survives
        if len(text) > _MAX_UPSTREAM_TEXT:
            text = text[: _MAX_UPSTREAM_TEXT - 1] + "…"
        message += f". Upstream said: {text}"
    elif body.note:
        message += f" ({body.note})"
    return cls(
        redact_for(message, request),
        source=source,
        status=status,
        code=body.code,
        retry_after=retry_after,
    )


def error_from_response(
    response: httpx.Response, source: str, hook: ErrorHook | None = None
) -> UpstreamError:
    """The typed error for a non-2xx ``response`` from ``source`` (pure; never raises it).

    ``hook`` is the source's ``error`` method: what it returns is used (completed with
    the source, the status and the ``Retry-After`` header, its message redacted); when it
    returns ``None`` (or there is none) the status decides, with the generic body reading.
    """
    found = hook(response) if hook is not None else None
    if found is None:
        return upstream_error(response, source)
    request = request_of(response)
    header = retry_after_header(response)
    if header is not None:
        found.retry_after = header
    if found.source is None:
        found.source = source
    if found.status is None:
        found.status = response.status_code
    found.message = redact_for(found.message, request)
    found.args = (found.message,)
    return found
