"""One request onto the wire: through the httpx client's transport, without its client layer.

``httpx.Client.send`` wraps the transport call in layers dlnuf does not use: an auth
flow (dlnuf sets its own headers), redirect handling (dlnuf follows redirects itself,
origin-checked: :meth:`dlnuf.transport._Core.redirect`), a cookie jar filled from every
answer (through a ``urllib.request.Request`` per response; dlnuf never sends cookies)
and a timer stream around the body. Measured on loopback, these cost about 90 µs a
call, more than all of dlnuf's own work on a lookup (``docs/benchmarks.md``, lookup).

:func:`open_sync` / :func:`open_async` send straight through the transport the client
would pick for the URL (its mounts and proxies included), and fall back to
``client.send`` whenever a layer would change something: the client has an ``auth``,
event hooks, or the URL carries credentials (httpx then sends Basic auth), or the
client does not expose its transport choice (another httpx version). The response
is streamed, as with ``client.send(request, stream=True)``, and its ``request`` is set
(the caller reads the body and sets ``elapsed``: :class:`~dlnuf.transport.SyncTransport`).

What the fast path does not do: fill ``client.cookies`` from the answers, and log
httpx's own ``HTTP Request:`` INFO line (dlnuf logs each call on ``dlnuf.transport``).
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["open_async", "open_sync"]


def _direct(client: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> Any:
    """The transport to send ``request`` through directly, or ``None`` (use the client)."""
    if client.is_closed or client.auth is not None or request.url.userinfo:
        return None
    hooks = client.event_hooks
    if hooks["request"] or hooks["response"]:
        return None
    pick = getattr(client, "_transport_for_url", None)
    return None if pick is None else pick(request.url)


def _attach(exc: httpx.RequestError, request: httpx.Request) -> None:
    """Give a transport error its request, as the client layer does."""
    try:
        exc.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        exc.request = request


def open_sync(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """``client.send(request, stream=True, follow_redirects=False)``, minus the layers
    that change nothing here (see the module docstring)."""
    transport = _direct(client, request)
    if transport is None:
        return client.send(request, stream=True, follow_redirects=False)
    try:
        response: httpx.Response = transport.handle_request(request)
    except httpx.RequestError as exc:
        _attach(exc, request)
        raise
    response.request = request
    return response


async def open_async(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The asyncio twin of :func:`open_sync`."""
    transport = _direct(client, request)
    if transport is None:
        return await client.send(request, stream=True, follow_redirects=False)
    try:
        response: httpx.Response = await transport.handle_async_request(request)
    except httpx.RequestError as exc:
        _attach(exc, request)
        raise
    response.request = request
    return response

