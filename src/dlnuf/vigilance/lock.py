"""One refresh at a time per portfolio: an exclusive lock on ``<portfolio>.lock``.

The operating system holds the lock (``flock``) for the process: a run that is
killed releases it at once, so the next cron tick never waits for a stale lease.
A second run, in this process or another, gets :class:`PortfolioBusy`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from ..errors import ConfigurationError
from .errors import PortfolioBusy

__all__ = ["RunLock"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_HELD: set[str] = set()
"""Lock files held by this process (``flock`` does not exclude a second open in the
same process reliably across platforms, so threads are excluded here)."""
_HELD_LOCK = threading.Lock()


class RunLock:
    """The run lock of the portfolio stored at ``path`` (``None``: an in-memory portfolio,
    locked for this process only)."""

    def __init__(self, path: Path | None, key: str) -> None:
        self.path = None if path is None else path.with_name(path.name + ".lock")
        self.key = str(self.path) if self.path is not None else key
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock now, or raise :class:`PortfolioBusy`."""
        with _HELD_LOCK:
            if self.key in _HELD:
                raise self._busy()
            if self.path is not None:
                self._fd = self._lock_file(self.path)
            _HELD.add(self.key)

    def release(self) -> None:
        """Let the next run go."""
        with _HELD_LOCK:
            _HELD.discard(self.key)
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def _lock_file(self, path: Path) -> int:
        if fcntl is None:  # pragma: no cover - Windows
            raise ConfigurationError("refresh needs file locks (fcntl): not available here")
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._busy() from None
        except OSError:
            os.close(fd)
            raise
        return fd

    def _busy(self) -> PortfolioBusy:
        where = self.path.with_suffix("") if self.path is not None else "this portfolio"
        return PortfolioBusy(
            f"another refresh of {where} is running; wait for it to finish (a cron job "
            "can simply try again at its next run)"
        )

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
