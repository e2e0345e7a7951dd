"""Run the Python blocks of a Markdown page the way a reader would, like a notebook.

The convention (see ``docs/index.md``, "Code blocks"): the ```` ```python ```` blocks
of one page run in order in one shared namespace, offline, against the sandbox. The
line just before a block may say how it runs:

* ``<!-- run: fake -->``: with the :mod:`dlnuf.testing` fake upstreams active (respx
  intercepting the real upstream URLs; they know the sandbox's companies and serve its
  stored API Entreprise payloads), a memory cache and a fresh rate limiter;
* ``<!-- run: skip (reason) -->``: not run at all (counted and reported).

Any other block runs offline: resolving any host name but a loopback one fails the
block, even when the code under the block catches the error. A block that defines
``test_`` functions is a test module for the reader's own suite: the page's test
modules run with pytest in a subprocess, as a user would run them. A block with a
top-level ``await`` runs in an event loop, still in the page's namespace.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

Mode = Literal["offline", "fake", "skip", "pytest"]

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_MARKER = re.compile(r"<!--\s*run:\s*(fake|skip)\s*(?:\((.*?)\))?\s*-->")
_TEST_MODULE = re.compile(r"^(async )?def test_", re.M)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Block:
    """One ```` ```python ```` block of a page: where it is, its code, how it runs."""

    page: Path
    line: int
    code: str
    mode: Mode
    reason: str = ""

    @property
    def where(self) -> str:
        """``page.md:line``, for messages."""
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The Python blocks of ``page``, in order, each with its run mode."""
    text = page.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 1
        code = match.group(1)
        marker = _MARKER.search(before)
        mode: Mode = "offline"
        reason = ""
        if marker:
            mode = "fake" if marker.group(1) == "fake" else "skip"
            reason = (marker.group(2) or "").strip()
        elif _TEST_MODULE.search(code):
            mode = "pytest"
        found.append(Block(page, line, code, mode, reason))
    return found


class NetworkAttempt(AssertionError):
    """An offline block tried to reach the network."""


@contextmanager
def offline(attempts: list[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse to resolve any host but loopback, recording each refused one.

    Below httpx and respx (at name resolution), so a block may still mock httpx itself.
    """
    resolve = socket.getaddrinfo

    def guarded(host: object, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            attempts.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"docs blocks run offline: {name}")
        return resolve(host, *args, **kwargs)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", guarded)
        yield


@contextmanager
def fake_upstreams(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ``dlnuf_fake`` fixture's set-up, with the sandbox's companies and payloads."""
    import dlnuf.client
    from dlnuf.ratelimit import MemoryRateLimiter
    from dlnuf.testing import FakeUpstreams
    from dlnuf.testing.server import add_sandbox_payloads, sandbox_companies

    with monkeypatch.context() as patch:
        patch.setenv("DLNUF_CACHE", "memory")
        patch.setattr(dlnuf.client, "DEFAULT_LIMITER", MemoryRateLimiter())
        fake = FakeUpstreams(sandbox_companies())
        add_sandbox_payloads(fake)
        with fake.mock():
            yield


def run_block(block: Block, namespace: dict[str, object]) -> None:
    """Execute ``block`` in ``namespace``; top-level ``await`` runs in an event loop."""
    code = compile(
        block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    result = eval(code, namespace)  # noqa: S307 - the documentation's own code
    if inspect.iscoroutine(result):
        asyncio.run(result)


def run_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Block]:
    """Run every block of ``page`` (see the module docstring); the skipped blocks."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    skipped: list[Block] = []
    modules: list[Block] = []
    for block in blocks(page):
        if block.mode == "skip":
            skipped.append(block)
            continue
        if block.mode == "pytest":
            modules.append(block)
            continue
        attempts: list[str] = []
        if block.mode == "fake":
            guard = fake_upstreams(monkeypatch)
        else:
            guard = offline(attempts, monkeypatch)
        try:
            with guard:
                run_block(block, namespace)
        except Exception as exc:
            raise AssertionError(
                f"{block.where} failed: {type(exc).__name__}: {exc}\n{block.code}"
            ) from exc
        if attempts:
            raise NetworkAttempt(
                f"{block.where} tried the network ({', '.join(attempts)}): mark it "
                "<!-- run: fake --> or use the sandbox"
            )
    if modules:
        run_test_modules(modules, tmp_path)
    return skipped


def run_test_modules(modules: list[Block], tmp_path: Path) -> None:
    """Run the page's test-module blocks with pytest in a subprocess; all must pass."""
    folder = tmp_path / "doc_tests"
    folder.mkdir()
    for number, block in enumerate(modules):
        (folder / f"test_block_{block.line}_{number}.py").write_text(block.code, encoding="utf-8")
    run = subprocess.run(  # noqa: S603 - our own interpreter, our own files
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )
    where = ", ".join(b.where for b in modules)
    assert run.returncode == 0, f"test modules at {where} failed:\n{run.stdout}{run.stderr}"
    assert re.search(r"\b\d+ passed\b", run.stdout), run.stdout
