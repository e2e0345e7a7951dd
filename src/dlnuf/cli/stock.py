"""``dlnuf stock download [DIR]``, ``dlnuf stock info [DIR]``, ``dlnuf stock index [DIR]``.

``DIR`` defaults to ``$DLNUF_SIRENE_STOCK_DIR``. ``download`` fetches the two monthly
files (resumed after a cut, checked, replacing the previous month's atomically), then
builds the sorted copy that makes single lookups fast (``--no-index`` to skip it);
``info`` shows the stock's month, row counts and sizes; ``index`` (re)builds the copy.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from ..config import Settings
from ..errors import ConfigurationError
from ..sources.sirene_stock import ENV_DIR, SireneStock
from ..sources.sirene_stock_download import DEFAULT_BASE_URL, download_stock
from ._common import print_card

__all__ = ["register"]


def _folder(args: argparse.Namespace) -> str:
    folder: str | None = args.dir or os.environ.get(ENV_DIR)
    if not folder:
        raise ConfigurationError(
            f"give the stock's folder: dlnuf stock {args.action} DIR, or {ENV_DIR}"
        )
    return folder


class _Bar:
    """A progress line per file on stderr (rich when installed, else nothing)."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        try:
            from rich.console import Console
            from rich.progress import DownloadColumn, Progress, TransferSpeedColumn
        except ImportError:
            return
        self._progress = Progress(
            *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
            console=Console(stderr=True), transient=False,
        )

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if self._progress is None:
            return
        if name not in self._tasks:
            if not self._tasks:
                self._progress.start()
            self._tasks[name] = self._progress.add_task(name, total=total)
        self._progress.update(self._tasks[name], completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None and self._tasks:
            self._progress.stop()


def cmd_download(args: argparse.Namespace, out: TextIO) -> int:
    """Fetch the current stock into DIR, then build its sorted copy."""
    folder = _folder(args)
    base_url = args.base_url or Settings.from_env().base_url("sirene_stock", DEFAULT_BASE_URL)
    bar = _Bar() if not args.quiet else None
    try:
        files = download_stock(folder, base_url=base_url, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    for done in files:
        resumed = f", resumed {done.resumed}x" if done.resumed else ""
        print(f"{done.name}: {done.size:,} bytes, {done.rows:,} rows{resumed}", file=out)
    if not args.no_index:
        path = SireneStock(folder=folder).build_copy()
        print(f"sorted copy: {path}", file=out)
    return 0


def cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    """Month, row counts and sizes of the stock in DIR."""
    info = SireneStock(folder=_folder(args)).info()
    rows = [
        ("Folder", str(info.folder)),
        ("Month", info.month or "-"),
        ("Latest treatment", f"{info.updated_at:%Y-%m-%d %H:%M}" if info.updated_at else "-"),
        ("Establishments", f"{info.establishments:,}"),
        ("Legal units", f"{info.units:,}"),
        *((name, f"{size:,} bytes") for name, size in info.sizes.items()),
        ("Sorted copy", "in use" if info.copy else "none (dlnuf stock index builds it)"),
    ]
    print_card("Sirene stock", rows, out)
    return 0


def cmd_index(args: argparse.Namespace, out: TextIO) -> int:
    """Build the sorted copy of the stock in DIR."""
    path = SireneStock(folder=_folder(args)).build_copy()
    print(f"sorted copy: {path}", file=out)
    return 0


def register(sub: Any) -> None:
    """Add ``stock`` (download, info, index) to the subcommands."""
    stock = sub.add_parser("stock", help="the Sirene stock files (the whole register, local)")
    stock.add_argument("action", choices=["download", "info", "index"])
    stock.add_argument("dir", nargs="?", help=f"the stock's folder (default: ${ENV_DIR})")
    stock.add_argument(
        "--base-url", help=f"where the files are published (default: {DEFAULT_BASE_URL})"
    )
    stock.add_argument("--no-index", action="store_true", help="download: skip the sorted copy")
    stock.add_argument("--quiet", action="store_true", help="download: no progress bar")
    stock.set_defaults(func=_dispatch)


def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    command = {"download": cmd_download, "info": cmd_info, "index": cmd_index}[args.action]
    return command(args, out or sys.stdout)
