"""``dlnuf stock download`` against a loopback server serving generated stock files."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

import dlnuf
from dlnuf.cli import main
from dlnuf.cli.exits import CONFIGURATION, UPSTREAM
from dlnuf.sources.sirene_stock import SireneStock
from dlnuf.testing.stock import ESTABLISHMENTS_FILE, UNITS_FILE, StockSummary, write_stock


@dataclass
class Served:
    """What the loopback server serves, its faults, and what it saw."""

    files: dict[str, bytes]
    cut_once: set[str] = field(default_factory=set)
    """Files whose next full answer stops halfway (the connection closes)."""
    ranges: list[tuple[str, str]] = field(default_factory=list)
    gets: int = 0


class Handler(BaseHTTPRequestHandler):
    served: ClassVar[Served]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        served = self.served
        served.gets += 1
        folder, _, name = self.path.rpartition("/")
        body = served.files.get(name) if folder == "/siren/stock" else None
        if body is None:
            self.send_error(404)
            return
        start = 0
        wanted = self.headers.get("Range")
        if wanted:
            served.ranges.append((name, wanted))
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("ETag", f'"{hash(body) & 0xFFFFFFFF:x}"')
        self.send_header("Last-Modified", "Sun, 01 Nov 2026 03:00:00 GMT")
        self.end_headers()
        if name in served.cut_once and not wanted:
            served.cut_once.discard(name)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> StockSummary:
    return write_stock(tmp_path_factory.mktemp("upstream"), establishments=800, seed=3)


@pytest.fixture
def server(stock: StockSummary) -> Iterator[tuple[str, Served]]:
    files = {n: (stock.folder / n).read_bytes() for n in (ESTABLISHMENTS_FILE, UNITS_FILE)}
    served = Served(files)
    handler = type("H", (Handler,), {"served": served})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/siren/stock", served
    httpd.shutdown()
    httpd.server_close()


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_download_then_info_then_lookups(
    server: tuple[str, Served], stock: StockSummary, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, _ = server
    folder = tmp_path / "stock"
    status, text = run("stock", "download", str(folder), "--base-url", url, "--quiet")
    assert status == 0, capsys.readouterr().err
    assert "800 rows" in text
    assert "sorted copy" in text
    for name in (ESTABLISHMENTS_FILE, UNITS_FILE):
        assert (folder / name).read_bytes() == (stock.folder / name).read_bytes()
    assert (folder / "sirene_stock.json").is_file()
    assert not list(folder.glob("*.part"))
    status, text = run("stock", "info", str(folder))
    assert status == 0
    assert "2026-11" in text
    assert "800" in text
    assert "in use" in text
    with dlnuf.Client(sources=[SireneStock(folder=folder)], cache=None) as client:
        siret = stock.examples["company_head_office"]
        assert client.identity(siret).siret == siret


def test_a_cut_download_resumes_with_a_range_request(
    server: tuple[str, Served], stock: StockSummary, tmp_path: Path
) -> None:
    url, served = server
    served.cut_once.add(ESTABLISHMENTS_FILE)
    folder = tmp_path / "stock"
    status, text = run("stock", "download", str(folder), "--base-url", url, "--quiet",
                       "--no-index")
    assert status == 0
    half = len(served.files[ESTABLISHMENTS_FILE]) // 2
    assert served.ranges == [(ESTABLISHMENTS_FILE, f"bytes={half}-")]
    assert "resumed 1x" in text
    assert (folder / ESTABLISHMENTS_FILE).read_bytes() == served.files[ESTABLISHMENTS_FILE]


def test_a_corrupt_file_is_refused_and_the_previous_stock_kept(
    server: tuple[str, Served], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, served = server
    folder = tmp_path / "stock"
    assert run("stock", "download", str(folder), "--base-url", url, "--quiet",
               "--no-index")[0] == 0
    before = {n: (folder / n).read_bytes() for n in (ESTABLISHMENTS_FILE, UNITS_FILE)}
    good = served.files[UNITS_FILE]
    served.files[UNITS_FILE] = good[:-8] + b"garbage!"  # same size, footer broken
    status, _ = run("stock", "download", str(folder), "--base-url", url, "--quiet",
                    "--no-index")
    err = capsys.readouterr().err
    assert status == UPSTREAM  # the upstream served something dlnuf cannot use
    assert "corrupt" in err
    assert "previous stock is kept" in err
    for name, content in before.items():
        assert (folder / name).read_bytes() == content
    assert not (folder / f"{UNITS_FILE}.part").exists()
    served.files[UNITS_FILE] = good[: len(good) // 3]  # truncated: not Parquet either
    assert run("stock", "download", str(folder), "--base-url", url, "--quiet",
               "--no-index")[0] == UPSTREAM
    assert (folder / UNITS_FILE).read_bytes() == before[UNITS_FILE]


def test_a_url_that_no_longer_answers_says_so(
    server: tuple[str, Served], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = server
    status, _ = run("stock", "download", str(tmp_path), "--base-url", url + "/moved",
                    "--quiet")
    assert status == UPSTREAM
    assert "HTTP 404" in capsys.readouterr().err


def test_the_folder_is_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DLNUF_SIRENE_STOCK_DIR", raising=False)
    assert run("stock", "info")[0] == CONFIGURATION
    assert "DLNUF_SIRENE_STOCK_DIR" in capsys.readouterr().err
