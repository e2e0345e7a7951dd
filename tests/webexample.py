"""The FastAPI app of examples/web/, over a fresh offline sandbox client (for its tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlnuf

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def web_app() -> Iterator[Any]:
    """``examples.web.app.create_app`` over a sandbox client with a memory cache."""
    sys.path.insert(0, str(ROOT))
    try:
        from examples.web.app import create_app
    finally:
        sys.path.remove(str(ROOT))
    client = dlnuf.Client(sources=["sandbox"], cache="memory://")
    try:
        yield create_app(client)
    finally:
        client.close()
