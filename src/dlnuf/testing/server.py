"""The fake upstreams over real HTTP, for end-to-end tests and benchmarks.

    python -m dlnuf.testing.server --port 8089 --rate 50 --latency-ms 30

serves :class:`~dlnuf.testing.fake.FakeUpstreams` on loopback (standard library
only): Recherche d'entreprises at ``/search``, API Entreprise at ``/v4/...``, INSEE
Sirene at ``/siret``, all on the same root, so a client points every source at it::

    dlnuf.Client(base_urls={name: "http://127.0.0.1:8089" for name in dlnuf.testing.SOURCES})

Every other upstream fake installed (entry points ``dlnuf.fakes``) is served on the
same root too, with the same quotas, faults and counters; ``--upstream
module:attribute`` adds one that is not installed.

It holds ``--companies`` generated companies (deterministic for ``--seed``) plus
the sandbox's staging and demo companies, and enforces the documented quotas, or
``--rate`` requests per second in every pool. Control endpoints:

* ``GET /__stats``: the counters (requests and 429s by source, peak requests in any
  one-second window by pool...), as JSON;
* ``GET /__companies``: ``[{"siret", "siren", "kind", "redirected_from"}, ...]``;
* ``POST /__reset``: zero the counters and windows, drop the faults;
* ``POST /__fault`` with a JSON body ``{"action": "fail" | "latency" | "rate_limit" |
  "malformed" | "down" | "clear", "source": ..., ...}`` (the other keys are the
  arguments of the :class:`FakeUpstreams` method of that name).

It prints ``listening on http://127.0.0.1:PORT`` once ready (``--port 0`` picks a
free port) and stops on SIGTERM, SIGINT or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx

from .companies import FakeCompany, make_companies
from .fake import FakeUpstreams
from .upstreams import FakeUpstreamError, load_upstream

__all__ = ["FakeServer", "add_sandbox_payloads", "main", "sandbox_companies", "serve"]

_FAULTS = ("fail", "latency", "rate_limit", "malformed", "down")


def sandbox_companies() -> list[FakeCompany]:
    """The sandbox's companies (staging contracts and demo ones) as fake companies."""
    from ..config import Settings
    from ..errors import DlnufError
    from ..facts.identity import Identity
    from ..identifiers import Siret
    from ..sources.sandbox import Sandbox, load_responses

    source = Sandbox(Settings(authenticated=True))
    notes = Sandbox.companies()
    companies: dict[str, FakeCompany] = {}
    redirects: dict[str, str] = {}
    for siret in Sandbox.sirets():
        stored = load_responses()[f"/v4/insee/sirene/etablissements/{siret}"]
        request = source.request(Identity, Siret(siret))
        response = httpx.Response(200, json=stored["payload"], request=request)
        try:
            identity = source.parse(Identity, Siret(siret), response)
        except DlnufError:  # pragma: no cover - the sandbox tests parse every one
            continue
        if not isinstance(identity, Identity):  # pragma: no cover
            continue
        if identity.redirected_from is not None:
            redirects[str(identity.siret)] = siret
            continue
        companies[siret] = FakeCompany.from_identity(identity, note=notes.get(siret, ""))
    for kept, duplicate in redirects.items():
        if kept in companies:
            companies[kept] = companies[kept].with_(redirected_from=duplicate,
                                                    kind="redirected")
    return list(companies.values())


def add_sandbox_payloads(fake: FakeUpstreams) -> None:
    """Serve the sandbox's stored API Entreprise payloads exactly (real staging shapes)."""
    from ..sources.sandbox import load_responses

    for path, stored in load_responses().items():
        fake.respond(path, int(stored["status"]), stored["payload"])


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into an :class:`httpx.Request` for the fake."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "dlnuf-fake/1"
    fake: ClassVar[FakeUpstreams]
    quiet: ClassVar[bool] = True

    def log_message(self, format: str, *args: Any) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._body()
        path = self.path.split("?", 1)[0]
        if path.startswith("/__"):
            self._control(path, body)
            return
        host = self.headers.get("Host") or "127.0.0.1"
        request = httpx.Request(
            self.command,
            f"http://{host}{self.path}",
            headers=[(k, v) for k, v in self.headers.items() if k.lower() != "host"],
            content=body,
        )
        try:
            response = self.fake.handle(request)
        except FakeUpstreamError as exc:  # two upstream fakes claim the path
            self._json(500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        except httpx.TransportError:
            self.close_connection = True  # down: the connection drops without an answer
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(response.status_code, response.content, response.headers)

    def _send(self, status: int, content: bytes, headers: httpx.Headers | dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _json(self, status: int, payload: Any) -> None:
        content = json.dumps(payload, ensure_ascii=False).encode()
        self._send(status, content, {"Content-Type": "application/json"})

    def _control(self, path: str, body: bytes) -> None:
        fake = self.fake
        if path == "/__stats" and self.command == "GET":
            self._json(200, fake.stats())
        elif path == "/__companies" and self.command == "GET":
            self._json(200, [
                {"siret": c.siret, "siren": c.siren, "kind": c.kind,
                 "redirected_from": c.redirected_from}
                for c in fake.companies
            ])
        elif path == "/__reset" and self.command == "POST":
            fake.reset()
            self._json(200, {"reset": True})
        elif path == "/__fault" and self.command == "POST":
            try:
                args = json.loads(body or b"{}")
                action = args.pop("action")
                if action == "clear":
                    fake.clear_faults(args.get("source"))
                elif action in _FAULTS:
                    getattr(fake, action)(**args)
                else:
                    raise ValueError(f"unknown action {action!r}")
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                self._json(400, {"error": f"{type(exc).__name__}: {exc}"})
            else:
                self._json(200, {"ok": True})
        else:
            self._json(404, {"error": f"no control endpoint {self.command} {path}"})


class FakeServer(ThreadingHTTPServer):
    """A threading HTTP server around one :class:`FakeUpstreams`, on loopback only."""

    daemon_threads = True
    request_queue_size = 256  # many clients connecting at once (batch benchmarks)

    def __init__(self, fake: FakeUpstreams, host: str = "127.0.0.1", port: int = 0,
                 *, quiet: bool = True) -> None:
        _check_loopback(host)
        handler = type("Handler", (_Handler,), {"fake": fake, "quiet": quiet})
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), handler)
        self.fake = fake

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    @contextlib.contextmanager
    def running(self, poll_interval: float = 0.05) -> Iterator[FakeServer]:
        """Serve in a background thread for the block; then stop and close the server::

            with FakeServer(fake).running() as server:
                client = dlnuf.Client(base_urls={"recherche_entreprises": server.url})
        """
        worker = threading.Thread(target=self.serve_forever,
                                  kwargs={"poll_interval": poll_interval}, daemon=True)
        worker.start()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()
            worker.join(timeout=5)


def _check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the fake server binds loopback only (127.0.0.1, ::1), not {host!r}")


def serve(
    fake: FakeUpstreams,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_seconds: float | None = None,
    quiet: bool = True,
) -> None:
    """Serve ``fake`` until SIGTERM, SIGINT or ``max_seconds``; print the URL when ready."""
    server = FakeServer(fake, host, port, quiet=quiet)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with server.running(poll_interval=0.1):
            print(f"listening on {server.url}", flush=True)
            stop.wait(max_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m dlnuf.testing.server [--port N] [--rate R] ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m dlnuf.testing.server",
        description="Fake Recherche d'entreprises, API Entreprise, INSEE Sirene and every "
        "other installed upstream fake (entry points dlnuf.fakes) on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="loopback address (default %(default)s)")
    parser.add_argument("--port", type=int, default=8089,
                        help="0 picks a free port (default %(default)s)")
    parser.add_argument("--rate", type=float, default=None,
                        help="requests per second allowed in every pool "
                        "(default: the documented quotas)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay of every answer")
    parser.add_argument("--companies", type=int, default=1000,
                        help="generated companies served (default %(default)s)")
    parser.add_argument("--seed", default="0", help="seed of the generated companies")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="do not serve the sandbox's staging and demo companies")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop by itself after this many seconds")
    parser.add_argument("--upstream", action="append", default=[], metavar="MODULE:ATTR",
                        help="also serve this upstream fake (a dlnuf.testing.upstreams."
                        "Upstream class or instance; repeatable); installed ones "
                        "(entry points dlnuf.fakes) are served anyway")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        _check_loopback(args.host)
    except ValueError as exc:
        parser.error(str(exc))
    fake = FakeUpstreams(make_companies(args.companies, seed=args.seed), rate=args.rate,
                         latency=args.latency_ms / 1000.0)
    try:
        for target in args.upstream:
            fake.add_upstream(load_upstream(target))
    except FakeUpstreamError as exc:
        parser.error(str(exc))
    if not args.no_sandbox:
        staged = sandbox_companies()
        if staged:
            fake.add(*staged)
        add_sandbox_payloads(fake)
    try:
        serve(fake, args.host, args.port, max_seconds=args.max_seconds, quiet=not args.verbose)
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
