"""A hostile loopback HTTP server for fault tests and benchmarks: trickled bodies,
redirects to a second origin, gzip bombs, huge and deeply nested bodies, HTML pages.

``Hostile(host)`` serves on ``host`` (``127.0.0.1``, ``127.0.0.2``: two origins on one
machine). ``server.route(path, behaviour)`` sets what a path answers (any query);
every request's headers are recorded in :attr:`Hostile.seen`.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import sys
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Behaviour", "Hostile", "gzip_bomb", "gzipped", "huge", "json_body", "nested", "raw",
    "redirect", "send", "trickle",
]

Behaviour = Callable[[BaseHTTPRequestHandler], None]


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up (it gave up on a bomb or a trickle) is expected, not an error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Hostile:
    """A threaded loopback server whose answers are set per path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Behaviour] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                owner.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                behaviour = owner.routes.get(path) or owner.routes.get("*")
                if behaviour is None:
                    send(self, 404, b'{"erreur": "no route"}')
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    behaviour(self)

            do_GET = do_POST = _serve

        self.server = _QuietServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, path: str, behaviour: Behaviour) -> None:
        """Make ``path`` answer with ``behaviour``."""
        self.routes[path] = behaviour

    def headers_seen(self) -> list[dict[str, str]]:
        """The headers of every request received."""
        return [h for _, h in self.seen]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """Answer ``status`` with ``body``."""
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


def json_body(payload: Any, status: int = 200) -> Behaviour:
    """Answer ``payload`` as JSON."""
    data = json.dumps(payload).encode()
    return lambda h: send(h, status, data)


def raw(body: bytes, status: int = 200, content_type: str = "application/json") -> Behaviour:
    """Answer these bytes."""
    return lambda h: send(h, status, body, content_type)


def redirect(location: str, status: int = 302) -> Behaviour:
    """Answer a redirect to ``location``."""
    return lambda h: send(h, status, b"", headers={"Location": location})


def trickle(byte_every: float = 0.1, total: int = 10_000) -> Behaviour:
    """A 200 whose JSON body arrives one byte at a time (never finishing in time)."""

    def behave(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(total))
        h.end_headers()
        h.wfile.write(b"{")
        h.wfile.flush()
        for _ in range(total - 1):
            time.sleep(byte_every)
            h.wfile.write(b" ")
            h.wfile.flush()

    return behave


def gzip_bomb(unpacked: int) -> Behaviour:
    """A gzip body of ``unpacked`` zero-ish bytes (compressed ~1000:1), built once."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * (1024 * 1024)
    parts = [compressor.compress(b'{"a": "')]
    for _ in range(unpacked // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b'"}'))
    parts.append(compressor.flush())
    data = b"".join(parts)

    def behave(h: BaseHTTPRequestHandler) -> None:
        send(h, 200, data, headers={"Content-Encoding": "gzip"})

    return behave


def gzipped(payload: Any) -> Behaviour:
    """``payload`` as gzip-encoded JSON (an ordinary compressed answer)."""
    data = gzip.compress(json.dumps(payload).encode())
    return lambda h: send(h, 200, data, headers={"Content-Encoding": "gzip"})


def nested(depth: int = 100_000) -> Behaviour:
    """A JSON body nested ``depth`` deep."""
    return raw(b'{"a":' * 1 + b"[" * depth + b"]" * depth + b"}")


def huge(size: int, chunk: int = 1024 * 1024, content_type: str = "application/pdf") -> Behaviour:
    """A 200 of ``size`` bytes written ``chunk`` at a time (never held whole in memory)."""
    block = b"0" * chunk

    def behave(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        left = size
        while left > 0:
            h.wfile.write(block[: min(chunk, left)])
            left -= chunk

    return behave
