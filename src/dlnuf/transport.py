"""The only place in dlnuf that does network I/O: a sync and an async driver over httpx.

Both drivers share every decision through the pure pieces of this module:
:func:`~dlnuf.httperrors.error_from_response` (an error response to a typed error: the
source's own ``error`` hook, else the status; given by name at construction, ``errors=``),
:class:`RetryPolicy` (what is retried, how long to wait) and a private core that
prepares requests, paces them with a :class:`~dlnuf.ratelimit.RateLimiter`,
reads responses and logs. The drivers only send and sleep.

Logs go to ``logging.getLogger("dlnuf.transport")`` at DEBUG: method, path,
status, attempt, elapsed time. Never a header, a query string or a token.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from ._closing import Closing
from .config import Settings
from .errors import (
    ConfigurationError,
    RateLimited,
    RefusedUrl,
    ResponseTooLarge,
    UnexpectedPayload,
    UpstreamError,
    UpstreamUnavailable,
)
from .httperrors import ErrorHook, error_from_response, seconds
from .ratelimit import (
    AsyncRateLimiter,
    MemoryRateLimiter,
    Quota,
    RateLimiter,
    as_async_limiter,
)
from .wire import open_async, open_sync

__all__ = [
    "RETRY_STATUSES",
    "AsyncTransport",
    "RetryPolicy",
    "SyncTransport",
    "error_from_response",
]

logger = logging.getLogger("dlnuf.transport")

T = TypeVar("T")

RETRY_STATUSES: frozenset[int] = frozenset({409, 429, 502, 503, 504})
"""HTTP statuses retried (with timeouts and connection errors); everything else is final."""

_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session", re.IGNORECASE)


def _seconds(value: float) -> str:
    return seconds(value)


def _error_from_exception(
    exc: httpx.HTTPError, request: httpx.Request, source: str
) -> UpstreamError:
    """The typed error for a failure without a response (timeout, connection, decoding)."""
    path = request.url.path
    where = f"{request.method} {path}"
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "read")
        limit = request.extensions.get("timeout", {}).get(phase)
        after = f" after {float(limit):.1f} s" if isinstance(limit, int | float) else ""
        return UpstreamUnavailable(
            f"{source}: timed out{after} ({phase}) on {where}: "
            "the service is slow or down; retry later",
            source=source,
        )
    if isinstance(exc, httpx.ConnectError):
        return UpstreamUnavailable(
            f"{source}: could not connect to {request.url.host} for {where} "
            f"({type(exc).__name__}): check the network or retry later",
            source=source,
        )
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError | httpx.ProxyError):
        return UpstreamUnavailable(
            f"{source}: the connection failed during {where} ({type(exc).__name__}): "
            "retry later",
            source=source,
        )
    if isinstance(exc, httpx.DecodingError):
        return UnexpectedPayload(
            f"{source}: the answer to {where} could not be decoded ({type(exc).__name__})",
            source=source,
        )
    return UpstreamError(
        f"{source}: could not complete {where} ({type(exc).__name__}): "
        "check the configured base URL",
        source=source,
    )


# -- retry policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """What is retried and how long to wait (pure; shared by both drivers).

    Retried: timeouts, connection errors and HTTP 409, 429, 502, 503, 504, at most
    ``retries`` times. A 429 waits what the upstream asked (``Retry-After`` or
    ``retry_in``); the others wait an exponential backoff with jitter (``base``
    doubling, capped at ``cap`` and ``max_wait``), never less than what the
    upstream asked. A required wait above ``max_wait`` is not retried at all.
    """

    retries: int = 3
    max_wait: float = 30.0
    base: float = 0.5
    cap: float = 8.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy configured by ``settings.retries`` and ``settings.max_retry_wait``."""
        return cls(retries=max(settings.retries, 0), max_wait=settings.max_retry_wait)

    def should_retry(self, error: BaseException) -> bool:
        """Whether trying again may succeed and the upstream's required wait is acceptable."""
        if not isinstance(error, UpstreamError) or not error.transient:
            return False
        if error.status is not None and error.status not in RETRY_STATUSES:
            return False
        return error.retry_after is None or error.retry_after <= self.max_wait

    def ceiling(self, attempt: int) -> float:
        """The longest backoff after failed ``attempt`` (1-based): ``base * 2**(attempt-1)``,
        capped."""
        return min(self.cap, self.max_wait, self.base * 2.0 ** max(attempt - 1, 0))

    def backoff(self, attempt: int, jitter: float) -> float:
        """Exponential backoff with jitter after failed ``attempt``; ``jitter`` in [0, 1)
        gives a wait between half the ceiling and the ceiling."""
        return self.ceiling(attempt) * (0.5 + jitter / 2)

    def wait(self, error: BaseException, attempt: int, jitter: float) -> float:
        """Seconds to wait before retrying after ``error`` on ``attempt``."""
        asked = error.retry_after if isinstance(error, UpstreamError) else None
        if isinstance(error, RateLimited) and asked is not None:
            return asked
        return max(self.backoff(attempt, jitter), asked or 0.0)

    def penalty(self, error: UpstreamError, attempt: int) -> float | None:
        """For a 429: how long the whole pool must pause (``None`` for other errors)."""
        if not isinstance(error, RateLimited) or error.status != 429:
            return None
        if error.retry_after is not None:
            return error.retry_after
        return self.ceiling(attempt)


# -- reading a body under a size cap and a deadline ------------------------------------

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_STEP = 64 * 1024
"""The most bytes one decompression step may produce (a gzip bomb grows by this much)."""


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host.lower(), url.port or default)


def _shown(url: httpx.URL) -> str:
    """``url`` without user info, query or fragment (they may carry a secret)."""
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


class _Body:
    """Collects a streamed body: decodes gzip/deflate step by step, and stops at the size
    cap (:class:`ResponseTooLarge`) or the deadline, so memory stays bounded."""

    def __init__(
        self,
        call: _Call,
        response: httpx.Response,
        deadline_error: Callable[[_Call], UpstreamError],
    ) -> None:
        self.call = call
        self.response = response
        self._deadline_error = deadline_error
        self.parts: list[bytes] = []
        self.size = 0
        coding = response.headers.get("content-encoding", "").strip().lower()
        self._decoder: Any = None
        if coding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            self._decoder = zlib.decompressobj()
        self._unsupported = coding not in ("", "identity", "gzip", "x-gzip", "deflate")
        self._coding = coding

    def feed(self, raw: bytes) -> None:
        """Take one raw chunk off the wire."""
        if self.call.remaining() <= 0:
            raise self._deadline_error(self.call)
        if self._unsupported:
            raise self._unreadable(f"an unsupported content encoding {self._coding[:30]!r}")
        if self._decoder is None:
            self._add(raw)
            return
        try:
            while raw:
                self._add(self._decoder.decompress(raw, _STEP))
                raw = self._decoder.unconsumed_tail
        except zlib.error:
            raise self._unreadable("a body that could not be decoded") from None

    def whole(self, content: bytes) -> None:
        """Take a body already read and decoded (an in-process transport's response)."""
        self._decoder = None
        self._unsupported = False
        self.feed(content)

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.call.max_bytes:
            self.parts.clear()
            raise ResponseTooLarge(
                f"{self.call.source}: the answer to {self.call.request.method} "
                f"{self.response.request.url.path} is larger than {self.call.max_bytes} bytes "
                "once decoded: dropped, nothing kept. Raise max_response_bytes= (JSON) or "
                "max_document_bytes= (documents) if it is legitimate",
                source=self.call.source,
                status=self.response.status_code,
            )
        if data:
            self.parts.append(data)

    def _unreadable(self, what: str) -> UnexpectedPayload:
        return UnexpectedPayload(
            f"{self.call.source}: the answer to {self.call.request.method} "
            f"{self.response.request.url.path} came with {what}",
            source=self.call.source,
            status=self.response.status_code,
        )

    def done(self, history: list[httpx.Response]) -> httpx.Response:
        """The response, body read and decoded (``Content-Encoding`` dropped)."""
        if self._decoder is not None:
            try:
                self._add(self._decoder.flush())
            except zlib.error:
                raise self._unreadable("a body that could not be decoded") from None
        if self._decoder is None:
            # The usual case, nothing decoded: keep httpx's response and give it its body,
            # as its own read() does (a new Response would cost a header copy per call).
            self.response._content = b"".join(self.parts)
            self.response.history = history
            self.parts.clear()
            return self.response
        skip = {"content-encoding", "content-length"}
        headers = [(k, v) for k, v in self.response.headers.multi_items() if k.lower() not in skip]
        response = httpx.Response(
            self.response.status_code,
            headers=headers,
            content=b"".join(self.parts),
            request=self.response.request,
            history=history,
            extensions=dict(self.response.extensions),
        )
        self.parts.clear()
        return response


# -- the shared core --------------------------------------------------------------------


@dataclass
class _Call:
    """One ``send``: the request and how far its attempts went."""

    request: httpx.Request
    quota: Quota
    source: str
    attempt: int = 0
    started: float = 0.0
    deadline_at: float = math.inf
    """``time.monotonic()`` after which the call gives up (retries and waits included)."""
    deadline: float = math.inf
    max_bytes: int = 0
    check_url: Callable[[httpx.URL], None] | None = None
    """``None``: a redirect to another origin is refused; else this checks each hop."""
    timeout: dict[str, float | None] = field(default_factory=dict)
    longest: float = math.inf
    """The longest timeout of the request (no clamping while more time than that is left)."""
    give_up: UpstreamError | None = None
    """Set when the next retry would start past the deadline: raised instead."""

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline_at - time.monotonic()


class _Core:
    """Every decision of a send, shared by both drivers; it neither sends nor sleeps."""

    def __init__(
        self,
        settings: Settings,
        limiter: RateLimiter | None,
        jitter: Callable[[], float] = random.random,
        errors: Mapping[str, ErrorHook] | None = None,
    ) -> None:
        self.settings = settings
        self.errors: Mapping[str, ErrorHook] = dict(errors or {})
        """Each source's ``error`` hook, by source name (none: the status decides)."""
        self.limiter: RateLimiter = limiter if limiter is not None else MemoryRateLimiter()
        self._admit: Callable[[Quota], float] | None = getattr(self.limiter, "admit", None)
        """The limiter's check at the moment of sending, when it has one."""
        self.policy = RetryPolicy.from_settings(settings)
        self._jitter = jitter
        self._timeout = httpx.Timeout(settings.timeout).as_dict()  # settings are frozen

    def start(
        self,
        request: httpx.Request,
        quota: Quota,
        source: str,
        max_bytes: int | None = None,
        check_url: Callable[[httpx.URL], None] | None = None,
    ) -> _Call:
        """Set the User-Agent and the timeout when the request has none; start the
        deadline clock (``settings.deadline``) and the size cap (``max_bytes``, else
        ``settings.max_response_bytes``)."""
        request.headers.setdefault("User-Agent", self.settings.user_agent)
        if "timeout" not in request.extensions:
            request.extensions["timeout"] = dict(self._timeout)
        deadline = self.settings.deadline
        timeout = dict(request.extensions["timeout"])
        return _Call(
            request, quota, source,
            deadline_at=time.monotonic() + deadline,
            deadline=deadline,
            max_bytes=max_bytes if max_bytes is not None else self.settings.max_response_bytes,
            check_url=check_url,
            timeout=timeout,
            longest=max((v for v in timeout.values() if v is not None), default=math.inf),
        )

    def arm(self, call: _Call, request: httpx.Request) -> None:
        """Clamp every timeout of ``request`` to the time left; the deadline error if none."""
        left = call.remaining()
        if left <= 0:
            raise self.deadline_error(call)
        if left >= call.longest:
            return  # the usual case: every timeout ends before the deadline anyway
        request.extensions["timeout"] = {
            phase: left if limit is None else min(float(limit), left)
            for phase, limit in (call.timeout or self._timeout).items()
        }

    @staticmethod
    def deadline_error(call: _Call) -> UpstreamUnavailable:
        """The transient error of a call that ran out of time."""
        return UpstreamUnavailable(
            f"{call.source}: no complete answer to {call.request.method} "
            f"{call.request.url.path} within the deadline of {_seconds(call.deadline)} "
            "(connect, reads and retries included): the service is slow or down; retry "
            "later, or raise deadline=",
            source=call.source,
        )

    def in_memory(
        self, call: _Call, response: httpx.Response, history: list[httpx.Response]
    ) -> httpx.Response:
        """A response an in-process transport built whole: only the size cap applies."""
        if len(response.content) > call.max_bytes:
            self.body(call, response).whole(response.content)  # raises ResponseTooLarge
        response.history = list(history)
        return response

    def body(self, call: _Call, response: httpx.Response) -> _Body:
        """A reader of ``response``'s body under the call's size cap and deadline."""
        return _Body(call, response, self.deadline_error)

    def redirect(
        self, call: _Call, response: httpx.Response, hops: int
    ) -> httpx.Request | None:
        """The next request when ``response`` is a redirect to follow, else ``None``.

        A redirect within the origin of the request is followed (INSEE's 301 for a
        replaced SIRET); to another origin it is refused with :class:`RefusedUrl`,
        unless the call has a ``check_url`` (documents): then the hop is checked and
        followed without any credential header.
        """
        if response.status_code not in _REDIRECTS:
            return None
        location = response.headers.get("location")
        if not location:
            return None
        request = response.request
        try:
            url = request.url.join(location)
        except (httpx.InvalidURL, ValueError):
            raise UnexpectedPayload(
                f"{call.source}: {request.method} {request.url.path} redirected to an invalid "
                "URL",
                source=call.source,
                status=response.status_code,
            ) from None
        if hops >= _MAX_REDIRECTS:
            raise UnexpectedPayload(
                f"{call.source}: more than {_MAX_REDIRECTS} redirects from "
                f"{call.request.method} {call.request.url.path}",
                source=call.source,
                status=response.status_code,
            )
        same = _origin(url) == _origin(call.request.url)
        if not same and call.check_url is None:
            raise RefusedUrl(
                f"{call.source}: {call.request.method} {call.request.url.path} was redirected "
                f"(HTTP {response.status_code}) to another origin, {_shown(url)}: not "
                "followed, so no credential left the source's origin. Check the configured "
                "base URL (https, the right host) or the proxy in between",
                source=call.source,
                status=response.status_code,
            )
        if not same and call.check_url is not None:
            call.check_url(url)
        method = request.method
        if response.status_code == 303 or (
            response.status_code in (301, 302) and method == "POST"
        ):
            method = "GET"
        headers = httpx.Headers(request.headers)
        del headers["host"]
        if method != request.method:
            for name in ("content-length", "content-type", "transfer-encoding"):
                headers.pop(name, None)
        if not same:
            for name in list(headers.keys()):
                if _SECRET_HEADER.search(name):
                    del headers[name]
        content = request.content if method == request.method else None
        follow = httpx.Request(method, url, headers=headers, content=content)
        follow.extensions = dict(request.extensions)
        return follow

    def retried(self, error: UpstreamError) -> bool:
        """Whether the failed first attempt of a send is tried again (through tenacity).

        The first attempt is made without the retry machinery: most sends succeed
        at once. After a failure, :meth:`replay` gives tenacity the attempts with
        this one first, so waits, logs and the attempt count are the same.
        """
        return self.policy.retries > 0 and self.policy.should_retry(error)

    @staticmethod
    def replay(
        first: UpstreamError, attempt: Callable[[_Call], T]
    ) -> Callable[[_Call], T]:
        """``attempt``, except that its first call raises ``first`` (the attempt made)."""
        pending: list[UpstreamError] = [first]

        def again(call: _Call) -> T:
            if pending:
                raise pending.pop()
            return attempt(call)

        return again

    @staticmethod
    def replay_async(
        first: UpstreamError, attempt: Callable[[_Call], Awaitable[T]]
    ) -> Callable[[_Call], Awaitable[T]]:
        """The asyncio twin of :meth:`replay` (a coroutine function, as tenacity wants)."""
        pending: list[UpstreamError] = [first]

        async def again(call: _Call) -> T:
            if pending:
                raise pending.pop()
            return await attempt(call)

        return again

    def pace(self, call: _Call) -> float:
        """Book a slot for the next attempt; the seconds to sleep first.

        Raises :class:`RateLimited` (nothing sent) when the pool is paused for
        longer than ``max_retry_wait``.
        """
        longest = self.next_attempt(call)
        return self.booked(call, self.limiter.reserve(call.quota, max_wait=longest), longest)

    def next_attempt(self, call: _Call) -> float:
        """Count an attempt; the longest wait for its slot that is accepted (raises when
        the call gave up or ran out of time). :meth:`pace` without the booking."""
        call.attempt += 1
        if call.give_up is not None:
            raise call.give_up
        if call.remaining() <= 0:
            raise self.deadline_error(call)
        return min(self.policy.max_wait, call.remaining())

    def booked(self, call: _Call, wait: float, longest: float) -> float:
        """The limiter booked a slot ``wait`` seconds away: the seconds to sleep first."""
        self._refuse_longer(call, wait, longest)
        return wait if wait > 0 else self.admit(call)

    def admit(self, call: _Call) -> float:
        """At the moment of sending: 0 when the request may go out now (it is counted),
        else the seconds to sleep before asking again (see
        :class:`~dlnuf.ratelimit.SendWindow`; a limiter without ``admit`` always says 0).
        Raises :class:`RateLimited` like :meth:`pace` when that wait is too long."""
        wait = self._admit(call.quota) if self._admit is not None else 0.0
        if wait > 0:
            self._refuse_longer(call, wait, min(self.policy.max_wait, call.remaining()))
        return wait

    def _refuse_longer(self, call: _Call, wait: float, longest: float) -> None:
        """Raise :class:`RateLimited` (nothing sent) when ``wait`` exceeds ``longest``."""
        if wait <= longest:
            return
        logger.debug(
            "%s %s not sent: pool %s paused for %.3f s",
            call.request.method, call.request.url.path, call.quota.pool, wait,
        )
        raise RateLimited(
            f"{call.source}: quota exhausted, retry after {_seconds(round(wait, 3))} "
            f"(pool {call.quota.pool!r} is paused longer than max_retry_wait="
            f"{_seconds(self.policy.max_wait)} or the time left before the deadline; "
            "nothing was sent)",
            source=call.source,
            retry_after=wait,
        )

    def sending(self, call: _Call) -> None:
        """Mark the moment the attempt goes on the wire."""
        call.started = time.perf_counter()

    def received(self, call: _Call, response: httpx.Response) -> httpx.Response:
        """Feed the limiter, log, and return a 2xx response or raise the mapped error."""
        for hop in (*response.history, response):  # redirects count against the quota too
            self.limiter.observe(call.quota, hop.headers)
        error, penalty = self.verdict(call, response)
        if error is None:
            return response
        if penalty is not None:
            self.limiter.penalize(call.quota, penalty)
        raise error

    def verdict(
        self, call: _Call, response: httpx.Response
    ) -> tuple[UpstreamError | None, float | None]:
        """Log the answer: no error for a 2xx, else the mapped error and how long its
        pool pauses (``None``: no pause). :meth:`received` without the limiter."""
        elapsed = time.perf_counter() - call.started
        logger.debug(
            "%s %s -> %d (%s, attempt %d, %.3f s)",
            call.request.method, call.request.url.path, response.status_code,
            call.source, call.attempt, elapsed,
        )
        if response.is_success:
            return None, None
        error = error_from_response(response, call.source, self.errors.get(call.source))
        return error, self.policy.penalty(error, call.attempt)

    def failed(self, call: _Call, exc: httpx.HTTPError) -> UpstreamError:
        """Log a failure without a response and map it (a timeout that hit the deadline
        says so)."""
        logger.debug(
            "%s %s -> %s (%s, attempt %d, %.3f s)",
            call.request.method, call.request.url.path, type(exc).__name__,
            call.source, call.attempt, time.perf_counter() - call.started,
        )
        if isinstance(exc, httpx.TimeoutException) and call.remaining() <= 0.01:
            return self.deadline_error(call)
        return _error_from_exception(exc, call.request, call.source)

    def retry_options(self, call: _Call) -> dict[str, Any]:
        """Arguments for tenacity's ``Retrying`` / ``AsyncRetrying`` (all but ``sleep``)."""
        policy = self.policy

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if error is None:
                return 0.0
            asked = policy.wait(error, state.attempt_number, self._jitter())
            if asked >= call.remaining() and isinstance(error, UpstreamError):
                call.give_up = error  # waiting would pass the deadline: fail now, with it
                return 0.0
            return asked

        def retry(error: BaseException) -> bool:
            return policy.should_retry(error) and call.give_up is None and call.remaining() > 0

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.debug(
                "%s %s: retrying in %.3f s after %s (attempt %d of %d)",
                call.request.method, call.request.url.path,
                state.next_action.sleep if state.next_action else 0.0,
                type(error).__name__, state.attempt_number, policy.retries + 1,
            )

        return {
            "stop": stop_after_attempt(policy.retries + 1),
            "retry": retry_if_exception(retry),
            "wait": wait,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def _timed(response: httpx.Response, started: float) -> httpx.Response:
    """``response`` with its ``elapsed`` set (request sent to body read), as httpx's client
    sets it; also on a response rebuilt after decoding, which had none."""
    response.elapsed = timedelta(seconds=time.perf_counter() - started)
    return response


def _check_client_args(mounts: Mapping[str, httpx.MockTransport] | None, client: object) -> None:
    if mounts and client is not None:
        raise ConfigurationError(
            "give either mounts or http_client, not both (mount transports on your own client)"
        )


# -- the drivers ------------------------------------------------------------------------


class SyncTransport(Closing):
    """Sends requests with pacing, retries, timeouts and error mapping (blocking).

    ``mounts`` maps a base URL to an in-process transport (the offline sandbox);
    ``http_client`` replaces the default client (it is then not closed here);
    ``errors`` maps a source name to its ``error`` hook (its own error vocabulary);
    ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: RateLimiter | None = None,
        mounts: Mapping[str, httpx.MockTransport] | None = None,
        http_client: httpx.Client | None = None,
        errors: Mapping[str, ErrorHook] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        _check_client_args(mounts, http_client)
        self._core = _Core(settings, limiter, errors=errors)
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(
            mounts={url: transport for url, transport in (mounts or {}).items()}
        )
        self._sleep = sleep or time.sleep

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter pacing this transport."""
        return self._core.limiter

    def send(
        self,
        request: httpx.Request,
        quota: Quota,
        *,
        source: str,
        max_bytes: int | None = None,
        check_url: Callable[[httpx.URL], None] | None = None,
    ) -> httpx.Response:
        """Send ``request`` counted against ``quota``; a 2xx response or the mapped error.

        The whole call (retries included) ends by ``settings.deadline``; the decoded
        body is capped at ``max_bytes`` (default ``settings.max_response_bytes``); a
        redirect leaves the request's origin only when ``check_url`` accepts the target.
        """
        call = self._core.start(request, quota, source, max_bytes, check_url)
        try:
            return self._attempt(call)
        except UpstreamError as exc:
            if not self._core.retried(exc):
                raise
            first = exc
        retrying = Retrying(sleep=self._sleep, **self._core.retry_options(call))
        return retrying(self._core.replay(first, self._attempt), call)

    def _attempt(self, call: _Call) -> httpx.Response:
        wait = self._core.pace(call)
        while wait > 0:
            self._sleep(wait)
            wait = self._core.admit(call)
        self._core.sending(call)
        request = call.request
        history: list[httpx.Response] = []
        while True:
            self._core.arm(call, request)
            try:
                response = self._read(call, request, history)
            except httpx.HTTPError as exc:
                error = self._core.failed(call, exc)
                break
            following = self._core.redirect(call, response, len(history))
            if following is None:
                return self._core.received(call, response)
            history.append(response)
            request = following
        raise error  # outside the except block: the httpx exception is not chained

    def _read(
        self, call: _Call, request: httpx.Request, history: list[httpx.Response]
    ) -> httpx.Response:
        started = time.perf_counter()
        response = open_sync(self._client, request)
        try:
            if response.is_stream_consumed:  # built in memory (a mock): already decoded
                return _timed(self._core.in_memory(call, response, history), started)
            body = self._core.body(call, response)
            for chunk in response.iter_raw():
                body.feed(chunk)
            return _timed(body.done(list(history)), started)
        finally:
            response.close()

    def close(self) -> None:
        """Close the HTTP client if this transport created it."""
        if self._owns_client:
            self._client.close()


class AsyncTransport:
    """The asyncio twin of :class:`SyncTransport` (same decisions, awaited I/O).

    The limiter is awaited through its asyncio twin (``limiter`` may be a
    :class:`~dlnuf.ratelimit.RateLimiter`, whose twin is made with
    :func:`~dlnuf.ratelimit.as_async_limiter`, or an
    :class:`~dlnuf.ratelimit.AsyncRateLimiter`): a Redis limiter never blocks the loop.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        limiter: RateLimiter | AsyncRateLimiter | None = None,
        mounts: Mapping[str, httpx.MockTransport] | None = None,
        http_client: httpx.AsyncClient | None = None,
        errors: Mapping[str, ErrorHook] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        _check_client_args(mounts, http_client)
        given = limiter if limiter is not None else MemoryRateLimiter()
        self._limiter = as_async_limiter(given)
        """The limiter awaited (the twin of the one given)."""
        self._own_twin = self._limiter is not cast(object, given)
        self._core = _Core(settings, given, errors=errors)  # type: ignore[arg-type]
        self._core._admit = getattr(self._limiter, "admit", None)
        self._owns_client = http_client is None
        self._client = http_client or httpx.AsyncClient(
            mounts={url: transport for url, transport in (mounts or {}).items()}
        )
        self._sleep = sleep or asyncio.sleep

    @property
    def limiter(self) -> RateLimiter | AsyncRateLimiter:
        """The rate limiter pacing this transport (as given)."""
        return self._core.limiter

    async def send(
        self,
        request: httpx.Request,
        quota: Quota,
        *,
        source: str,
        max_bytes: int | None = None,
        check_url: Callable[[httpx.URL], None] | None = None,
    ) -> httpx.Response:
        """Send ``request`` counted against ``quota``; see :meth:`SyncTransport.send`
        (``check_url`` runs in a worker thread: it may resolve a host)."""
        call = self._core.start(request, quota, source, max_bytes, check_url)
        try:
            return await self._attempt(call)
        except UpstreamError as exc:
            if not self._core.retried(exc):
                raise
            first = exc
        retrying = AsyncRetrying(sleep=self._sleep, **self._core.retry_options(call))
        response: httpx.Response = await retrying(
            self._core.replay_async(first, self._attempt), call
        )
        return response

    async def _attempt(self, call: _Call) -> httpx.Response:
        longest = self._core.next_attempt(call)
        booked = await self._limiter.reserve(call.quota, max_wait=longest)
        wait = self._core.booked(call, booked, longest)
        while wait > 0:
            await self._sleep(wait)
            wait = self._core.admit(call)
        self._core.sending(call)
        request = call.request
        history: list[httpx.Response] = []
        while True:
            self._core.arm(call, request)
            try:
                async with asyncio.timeout(max(call.remaining(), 0.0)):
                    response = await self._read(call, request, history)
            except TimeoutError:
                error: UpstreamError = self._core.deadline_error(call)
                break
            except httpx.HTTPError as exc:
                error = self._core.failed(call, exc)
                break
            following = await asyncio.to_thread(
                self._core.redirect, call, response, len(history)
            ) if call.check_url is not None else self._core.redirect(call, response, len(history))
            if following is None:
                return await self._received(call, response)
            history.append(response)
            request = following
        raise error  # outside the except block: the httpx exception is not chained

    async def _received(self, call: _Call, response: httpx.Response) -> httpx.Response:
        """:meth:`_Core.received`, the limiter awaited."""
        for hop in (*response.history, response):  # redirects count against the quota too
            await self._limiter.observe(call.quota, hop.headers)
        error, penalty = self._core.verdict(call, response)
        if error is None:
            return response
        if penalty is not None:
            await self._limiter.penalize(call.quota, penalty)
        raise error

    async def _read(
        self, call: _Call, request: httpx.Request, history: list[httpx.Response]
    ) -> httpx.Response:
        started = time.perf_counter()
        response = await open_async(self._client, request)
        try:
            if response.is_stream_consumed:  # built in memory (a mock): already decoded
                return _timed(self._core.in_memory(call, response, history), started)
            body = self._core.body(call, response)
            async for chunk in response.aiter_raw():
                body.feed(chunk)
            return _timed(body.done(list(history)), started)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this transport created it, and the limiter's twin
        if this transport made one (the limiter given is closed by its owner)."""
        if self._owns_client:
            await self._client.aclose()
        if self._own_twin:
            close = getattr(self._limiter, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
