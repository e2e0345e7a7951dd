"""One error hierarchy for dlnuf, rooted at :class:`DlnufError`.

Every failure a caller can meet is one of these classes. Messages say what is
wrong and what to do; none ever contains a token, an API key or a header.

``transient`` tells whether retrying later may succeed: transient errors are
retried by the transport, trigger the fallback to the next source, allow a stale
cache entry to be served, and are never cached.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConfigurationError",
    "DlnufError",
    "DocumentExpired",
    "Forbidden",
    "InvalidIdentifier",
    "InvalidRequest",
    "InvalidRna",
    "InvalidSiren",
    "InvalidSiret",
    "LegallyUnavailable",
    "NotFound",
    "RateLimited",
    "RefusedUrl",
    "RequestInFlight",
    "ResponseTooLarge",
    "Unauthorized",
    "UnexpectedPayload",
    "UnsupportedKind",
    "UpstreamError",
    "UpstreamUnavailable",
    "Withheld",
]


class DlnufError(Exception):
    """Root of every error raised by dlnuf."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidIdentifier(DlnufError, ValueError):
    """A SIRET, SIREN or RNA number typed by a person is not valid.

    ``value`` is the input as given, ``reason`` is one of ``"empty"``, ``"type"``,
    ``"characters"``, ``"length"``, ``"checksum"``.
    """

    label: ClassVar[str] = "identifier"

    def __init__(self, value: object, reason: str, detail: str) -> None:
        self.value = value
        self.reason = reason
        self.detail = detail
        super().__init__(f"invalid {self.label} {_echo(value)}: {detail}")


_ECHO = 40
"""The most characters of a bad input an error message repeats."""


def _echo(value: object) -> str:
    """``repr(value)`` cut to :data:`_ECHO` characters, never raising (the input is foreign:
    a huge string, or an object whose ``__repr__`` fails)."""
    if isinstance(value, str) and len(value) > _ECHO:
        return f"{value[:_ECHO]!r}… ({len(value)} characters)"
    try:
        shown = repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"
    if not isinstance(shown, str):
        return f"<{type(value).__name__} object>"
    return shown if len(shown) <= _ECHO else shown[:_ECHO] + "…"


class InvalidSiret(InvalidIdentifier):
    """The input is not a valid SIRET (14 digits, Luhn or the La Poste rule)."""

    label = "SIRET"


class InvalidSiren(InvalidIdentifier):
    """The input is not a valid SIREN (9 digits, Luhn)."""

    label = "SIREN"


class InvalidRna(InvalidIdentifier):
    """The input is not a valid RNA number (``W`` followed by 9 digits)."""

    label = "RNA number"


class ConfigurationError(DlnufError, ValueError):
    """The client is configured in a way that cannot work (missing token, bad recipient...).

    Also a :class:`ValueError`: a bad argument or ``DLNUF_*`` value is a bad value."""


class DocumentExpired(DlnufError):
    """A document's temporary URL no longer works and its bytes were never kept.

    Collect the fact again for a fresh URL, and fetch the document promptly:
    dlnuf keeps the bytes once they are downloaded.
    """


class UnsupportedKind(DlnufError):
    """No configured source provides this kind of fact."""


class UpstreamError(DlnufError):
    """An upstream API answered with an error, or could not be reached.

    ``source`` is the dlnuf source name, ``status`` the HTTP status (``None`` when
    no response came back), ``code`` the upstream error code when it gave one
    (API Entreprise ``"03003"`` for instance), ``retry_after`` the seconds the
    upstream asked us to wait, when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.source = source
        self.status = status
        self.code = code
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, source={self.source!r}, "
            f"status={self.status!r}, code={self.code!r})"
        )


class NotFound(UpstreamError):
    """The upstream does not know this identifier (or holds nothing for this call)."""


class Withheld(UpstreamError):
    """The upstream holds the data but may not give it to this caller."""


class LegallyUnavailable(Withheld):
    """HTTP 451: nobody may access this unit's data (INSEE legal unavailability)."""


class Unauthorized(UpstreamError):
    """The token or API key is missing, invalid or expired (HTTP 401): renew it."""


class Forbidden(UpstreamError):
    """The token may not call this endpoint (HTTP 403, missing privilege)."""


class InvalidRequest(UpstreamError):
    """The upstream refused the parameters (HTTP 400/422): a bug or a bad configuration."""


class UnexpectedPayload(UpstreamError):
    """The upstream answered something dlnuf cannot read (HTML, missing fields...)."""


class UpstreamUnavailable(UpstreamError):
    """The upstream is down, timed out or could not be reached (5xx, timeout, network)."""

    transient = True


class RequestInFlight(UpstreamUnavailable):
    """HTTP 409: the same request is already being processed upstream; retry shortly."""


class RateLimited(UpstreamError):
    """The upstream quota is exhausted (HTTP 429). Never a negative answer: retry later."""

    transient = True


class ResponseTooLarge(UnexpectedPayload):
    """An answer grew past the configured cap while being read (``max_response_bytes``,
    ``max_document_bytes``): it was dropped, nothing was kept."""


class RefusedUrl(UpstreamError):
    """dlnuf refused to send a request to a URL: a redirect to another origin on an API
    call, or a document URL outside the document URL policy (``document_urls``)."""
