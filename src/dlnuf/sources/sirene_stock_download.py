"""Fetch the Sirene stock files: resume, size and Parquet checks, atomic replace.

:func:`download_stock` fetches ``StockEtablissement_utf8.parquet`` and
``StockUniteLegale_utf8.parquet`` from their stable URLs (``DEFAULT_BASE_URL``) into a
folder. Each file goes to ``<name>.part`` beside its final place; a cut connection
is resumed with an HTTP ``Range`` request (``If-Range`` on the validator, so a file
that changed upstream starts over). A finished file must have the announced size and
be readable Parquet (``PAR1`` at both ends, a footer DuckDB reads); otherwise it is
deleted and :class:`StockDownloadError` is raised. Only when both files passed are
they moved over the previous month's (``os.replace``): until then the previous copy
is untouched and keeps serving.

This is a file download, not an API call, so it streams with its own
:class:`httpx.Client` instead of the client's transport (which reads whole bodies).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from ..errors import UpstreamError
from ..facts.base import utcnow
from .sirene_stock import ESTABLISHMENTS_FILE, UNITS_FILE, _duckdb

__all__ = [
    "DEFAULT_BASE_URL",
    "META_FILE",
    "Downloaded",
    "StockDownloadError",
    "download_stock",
]

DEFAULT_BASE_URL = "https://object.files.data.gouv.fr/data-pipeline-open/siren/stock"
"""Where data.gouv.fr publishes the current stock (see the reference page)."""
META_FILE = "sirene_stock.json"
"""What the last download fetched (URLs, sizes, validators), beside the files."""
ATTEMPTS = 5
"""Tries per file (the first, then resumes after a cut)."""

Progress = Callable[[str, int, int | None], None]
"""``progress(name, bytes_so_far, total)``, called as bytes arrive."""


class StockDownloadError(UpstreamError):
    """A stock file could not be fetched whole and valid; the previous copy is kept."""


@dataclass(frozen=True)
class Downloaded:
    """One file fetched: where it is, its size, and the upstream's validator and date."""

    name: str
    url: str
    size: int
    rows: int
    etag: str | None
    last_modified: datetime | None
    resumed: int
    """How many times the transfer resumed after a cut."""


def _total(response: httpx.Response, start: int) -> int | None:
    """The whole file's size, from ``Content-Range`` (206) or ``Content-Length`` (200)."""
    content_range = response.headers.get("content-range", "")
    if "/" in content_range:
        tail = content_range.rsplit("/", 1)[1].strip()
        return int(tail) if tail.isdigit() else None
    length = response.headers.get("content-length")
    return start + int(length) if length and length.isdigit() else None


def _fetch(
    http: httpx.Client, url: str, part: Path, name: str, progress: Progress | None
) -> tuple[int | None, httpx.Headers, int]:
    """Fetch ``url`` into ``part``, resuming; (total size, last headers, resumes)."""
    validator: str | None = None
    total: int | None = None
    headers = httpx.Headers()
    resumed = 0
    last_error: Exception | None = None
    for attempt in range(ATTEMPTS):
        start = part.stat().st_size if part.exists() else 0
        request_headers = {}
        if start:
            request_headers["Range"] = f"bytes={start}-"
            if validator:
                request_headers["If-Range"] = validator
        try:
            with http.stream("GET", url, headers=request_headers) as response:
                if response.status_code == 416 and start:
                    return start, headers, resumed  # already whole (checked next)
                if response.status_code not in (200, 206):
                    raise StockDownloadError(
                        f"{url} answered HTTP {response.status_code}: the stock's URL may "
                        "have changed (see data.gouv.fr, 'Base Sirene des entreprises'); "
                        "give the new one with --base-url",
                        source="sirene_stock",
                        status=response.status_code,
                    )
                headers = response.headers
                validator = headers.get("etag") or headers.get("last-modified") or validator
                if response.status_code == 200:
                    start = 0  # a full answer (no range support, or the file changed)
                total = _total(response, start)
                if attempt:
                    resumed += 1
                with part.open("r+b" if start else "wb") as out:
                    out.seek(start)
                    out.truncate()
                    done = start
                    for chunk in response.iter_bytes():  # as received: a cut loses nothing
                        out.write(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(name, done, total)
            if total is None or part.stat().st_size >= total:
                return total, headers, resumed
            last_error = None  # the server closed early without an error: resume
        except (httpx.TransportError, httpx.RemoteProtocolError) as exc:
            last_error = exc
    raise StockDownloadError(
        f"{url}: still incomplete after {ATTEMPTS} tries"
        + (f" ({type(last_error).__name__})" if last_error else "")
        + "; run the command again to resume",
        source="sirene_stock",
    )


def _check(part: Path, url: str, total: int | None) -> int:
    """The number of rows of a finished file; :class:`StockDownloadError` if it is not whole,
    valid Parquet (and then the file is deleted: resuming it would not help)."""
    size = part.stat().st_size
    problem = None
    if total is not None and size != total:
        problem = f"{size} bytes where the server announced {total}"
    else:
        with part.open("rb") as f:
            head = f.read(4)
            f.seek(max(size - 4, 0))
            tail = f.read(4)
        if head != b"PAR1" or tail != b"PAR1":
            problem = "not a Parquet file (no PAR1 magic at both ends)"
    rows = 0
    if problem is None:
        duckdb = _duckdb()
        try:
            con = duckdb.connect()
            try:
                row = con.execute(
                    "SELECT sum(num_rows) FROM parquet_file_metadata($1)", [str(part)]
                ).fetchone()
            finally:
                con.close()
            rows = int(row[0]) if row and row[0] is not None else 0
        except duckdb.Error as exc:
            problem = f"its Parquet footer cannot be read ({str(exc).splitlines()[0]})"
    if problem is not None:
        part.unlink(missing_ok=True)
        raise StockDownloadError(
            f"{url}: the file downloaded is corrupt: {problem}; it was deleted and the "
            "previous stock is kept",
            source="sirene_stock",
        )
    return rows


def download_stock(
    folder: str | os.PathLike[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    progress: Progress | None = None,
    http: httpx.Client | None = None,
) -> list[Downloaded]:
    """Fetch both stock files into ``folder`` (see the module); replace the previous ones
    only once both are whole and valid, then record :data:`META_FILE`."""
    out = Path(folder).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    client = http or httpx.Client(timeout=httpx.Timeout(30.0), follow_redirects=True)
    fetched: list[tuple[Path, Downloaded]] = []
    try:
        for name in (ESTABLISHMENTS_FILE, UNITS_FILE):
            url = f"{base_url.rstrip('/')}/{name}"
            part = out / f"{name}.part"
            total, headers, resumed = _fetch(client, url, part, name, progress)
            rows = _check(part, url, total)
            modified = headers.get("last-modified")
            fetched.append((part, Downloaded(
                name=name,
                url=url,
                size=part.stat().st_size,
                rows=rows,
                etag=headers.get("etag"),
                last_modified=parsedate_to_datetime(modified) if modified else None,
                resumed=resumed,
            )))
    finally:
        if http is None:
            client.close()
    for part, done in fetched:
        os.replace(part, out / done.name)
    meta: dict[str, Any] = {
        "downloaded_at": utcnow().isoformat(),
        "files": {
            d.name: {
                "url": d.url, "size": d.size, "rows": d.rows, "etag": d.etag,
                "last_modified": d.last_modified.isoformat() if d.last_modified else None,
            }
            for _, d in fetched
        },
    }
    tmp = out / f"{META_FILE}.part"
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out / META_FILE)
    return [d for _, d in fetched]
