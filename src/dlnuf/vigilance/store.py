"""The portfolio's SQLite file: suppliers, checks, archived documents, observations, changes.

One file of its own (never the cache's). Writes are short transactions, each
check committed as soon as it is known, so a run killed halfway keeps every piece
it fetched. Documents are kept by SHA-256 (one copy of identical bytes) and never
by URL: a document URL is a capability, and it expires anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..identifiers import Siren, Siret
from ..private_db import PrivateDatabase
from .model import Change, Check, Severity, Supplier

__all__ = ["PortfolioStore", "default_portfolio_path"]


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS suppliers (siret TEXT NOT NULL, contract TEXT NOT NULL, "
    "siren TEXT NOT NULL, start TEXT, end_ TEXT, kinds TEXT NOT NULL, name TEXT NOT NULL, "
    "PRIMARY KEY (siret, contract))",
    "CREATE INDEX IF NOT EXISTS suppliers_siren ON suppliers (siren)",
    "CREATE TABLE IF NOT EXISTS checks (id INTEGER PRIMARY KEY, siren TEXT NOT NULL, "
    "kind TEXT NOT NULL, status TEXT NOT NULL, checked_at REAL NOT NULL, run_id INTEGER, "
    "issued_on TEXT, valid_from TEXT, valid_until TEXT, security_code TEXT, "
    "document_sha256 TEXT, media_type TEXT, size INTEGER, expects_document INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS checks_piece ON checks (siren, kind, checked_at)",
    "CREATE TABLE IF NOT EXISTS documents (sha256 TEXT PRIMARY KEY, content BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS observations (subject TEXT NOT NULL, field TEXT NOT NULL, "
    "siren TEXT NOT NULL, value TEXT, observed_at REAL NOT NULL, PRIMARY KEY (subject, field))",
    "CREATE INDEX IF NOT EXISTS observations_siren ON observations (siren)",
    "CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY, run_id INTEGER, "
    "siren TEXT NOT NULL, subject TEXT NOT NULL, what TEXT NOT NULL, old TEXT, new TEXT, "
    "detected_at REAL NOT NULL, severity TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS changes_siren ON changes (siren)",
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, "
    "finished_at REAL, fetched INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0)",
)
_CHECK_COLUMNS = (
    "id, siren, kind, status, checked_at, run_id, issued_on, valid_from, valid_until, "
    "security_code, document_sha256, media_type, size, expects_document"
)


def default_portfolio_path() -> Path:
    """``$XDG_DATA_HOME/dlnuf/portfolio.db``, else ``~/.local/share/dlnuf/portfolio.db``
    (data to keep, not a cache)."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "dlnuf" / "portfolio.db"


class PortfolioStore(PrivateDatabase):
    """The tables of one portfolio, in the SQLite file ``path`` (``":memory:"``: in memory).

    Thread-safe (one connection behind a lock); a forked child opens its own; the file
    is private to its owner (see :mod:`dlnuf.private_db`).
    """

    what = "a dlnuf portfolio"
    schema = _SCHEMA
    # Committed answers survive a crash of the process; a power cut may lose the last
    # ones, which the next run simply fetches again.
    synchronous = "NORMAL"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(None if str(path) == ":memory:" else Path(path).expanduser())

    # -- suppliers ------------------------------------------------------------------------

    def put_suppliers(self, suppliers: Iterable[Supplier]) -> int:
        """Insert or replace suppliers (same SIRET and contract: replaced), in one transaction."""
        rows = [
            (str(s.siret), s.contract, str(s.siren), _day(s.start), _day(s.end),
             ",".join(s.kinds), s.name)
            for s in suppliers
        ]
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO suppliers (siret, contract, siren, start, end_, kinds, "
                "name) VALUES (?, ?, ?, ?, ?, ?, ?)", rows,
            )
        return len(rows)

    def remove_supplier(self, siret: str, contract: str | None = None) -> int:
        """Drop a supplier (every contract of it when ``contract`` is ``None``)."""
        with self.transaction() as conn:
            if contract is None:
                cur = conn.execute("DELETE FROM suppliers WHERE siret = ?", (siret,))
            else:
                cur = conn.execute(
                    "DELETE FROM suppliers WHERE siret = ? AND contract = ?", (siret, contract)
                )
            return int(cur.rowcount)

    def suppliers(self, siren: str | None = None) -> list[Supplier]:
        """Every supplier (of ``siren`` only, when given), by SIRET then contract."""
        sql = "SELECT siret, contract, start, end_, kinds, name FROM suppliers"
        args: tuple[str, ...] = ()
        if siren is not None:
            sql, args = sql + " WHERE siren = ?", (siren,)
        with self._cursor() as conn:
            rows = conn.execute(sql + " ORDER BY siret, contract", args).fetchall()
        return [
            Supplier(Siret(r[0]), r[1], _date(r[2]), _date(r[3]), tuple(r[4].split(",")), r[5])
            for r in rows
        ]

    # -- checks and documents ---------------------------------------------------------------

    def add_check(self, check: Check, content: bytes | None = None) -> Check:
        """Record a check (and its document's bytes) in one transaction; the stored check."""
        with self.transaction() as conn:
            if content is not None and check.document_sha256 is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO documents (sha256, content) VALUES (?, ?)",
                    (check.document_sha256, content),
                )
            cur = conn.execute(
                f"INSERT INTO checks ({_CHECK_COLUMNS}) VALUES "  # noqa: S608 - fixed names
                "(NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (str(check.siren), check.kind, check.status, check.checked_at.timestamp(),
                 check.run_id, _day(check.issued_on), _day(check.valid_from),
                 _day(check.valid_until), check.security_code, check.document_sha256,
                 check.media_type, check.size, int(check.expects_document)),
            )
            return replace(check, id=int(cur.lastrowid or 0))

    def checks(self, siren: str | None = None, kind: str | None = None) -> list[Check]:
        """Checks (of ``siren``, of ``kind``), oldest first."""
        where, args = _where(siren=siren, kind=kind)
        with self._cursor() as conn:
            rows = conn.execute(
                f"SELECT {_CHECK_COLUMNS} FROM checks{where} ORDER BY checked_at, id", args  # noqa: S608 - fixed names
            ).fetchall()
        return [_check(r) for r in rows]

    def latest_checks(self) -> dict[tuple[str, str], Check]:
        """The latest check of every (SIREN, kind)."""
        latest: dict[tuple[str, str], Check] = {}
        for check in self.checks():
            latest[(str(check.siren), check.kind)] = check
        return latest

    def latest_checks_of(self, siren: str, kind: str) -> Check | None:
        """The latest check of one piece."""
        with self._cursor() as conn:
            row = conn.execute(
                f"SELECT {_CHECK_COLUMNS} FROM checks WHERE siren = ? AND kind = ? "  # noqa: S608 - fixed names
                "ORDER BY checked_at DESC, id DESC LIMIT 1", (siren, kind),
            ).fetchone()
        return _check(row) if row else None

    def document(self, sha256: str) -> bytes | None:
        """The archived bytes named ``sha256``."""
        with self._cursor() as conn:
            row = conn.execute("SELECT content FROM documents WHERE sha256 = ?",
                               (sha256,)).fetchone()
        return bytes(row[0]) if row else None

    def purge_checks_before(self, cutoff: date, checked_before: datetime) -> int:
        """Forget checks whose validity ended before ``cutoff`` (or, without a validity,
        made before ``checked_before``), except each piece's latest, and the documents no
        check names any more."""
        with self.transaction() as conn:
            cur = conn.execute(  # the latest check of a piece is its state: always kept
                "DELETE FROM checks WHERE ((valid_until IS NOT NULL AND valid_until < ?) OR "
                "(valid_until IS NULL AND checked_at < ?)) AND id NOT IN "
                "(SELECT max(id) FROM checks GROUP BY siren, kind)",
                (cutoff.isoformat(), checked_before.timestamp()),
            )
            conn.execute(
                "DELETE FROM documents WHERE sha256 NOT IN "
                "(SELECT document_sha256 FROM checks WHERE document_sha256 IS NOT NULL)"
            )
            return int(cur.rowcount)

    # -- observations and changes ------------------------------------------------------------

    def observations(self, subject: str) -> dict[str, str | None]:
        """The latest observed value of each field of ``subject``."""
        with self._cursor() as conn:
            rows = conn.execute("SELECT field, value FROM observations WHERE subject = ?",
                                (subject,)).fetchall()
        return {r[0]: r[1] for r in rows}

    def observed_at(self, subject: str, field: str) -> datetime | None:
        """When ``field`` of ``subject`` was last observed."""
        with self._cursor() as conn:
            row = conn.execute(
                "SELECT observed_at FROM observations WHERE subject = ? AND field = ?",
                (subject, field),
            ).fetchone()
        return datetime.fromtimestamp(row[0], UTC) if row else None

    def observe(
        self,
        subject: str,
        siren: Siren,
        values: dict[str, str | None],
        when: datetime,
        changes: Iterable[tuple[str, str | None, str | None, Severity]],
        run_id: int | None,
    ) -> None:
        """Record observed values and the changes they make, in one transaction."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO observations (subject, field, siren, value, observed_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(subject, k, str(siren), v, when.timestamp()) for k, v in values.items()],
            )
            conn.executemany(
                "INSERT INTO changes (run_id, siren, subject, what, old, new, detected_at, "
                "severity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, str(siren), subject, what, old, new, when.timestamp(), severity)
                 for what, old, new, severity in changes],
            )

    def add_changes(
        self, siren: Siren, subject: str, when: datetime, run_id: int | None,
        changes: Iterable[tuple[str, str | None, str | None, Severity]],
    ) -> None:
        """Record changes without observations (a piece's status)."""
        self.observe(subject, siren, {}, when, changes, run_id)

    def changes(self, after_run: int | None = None, siren: str | None = None) -> list[Change]:
        """Changes detected in runs after ``after_run`` (every one when ``None``)."""
        where, args = _where(siren=siren)
        if after_run is not None:
            where += (" AND" if where else " WHERE") + " (run_id IS NULL OR run_id > ?)"
            args = (*args, after_run)
        with self._cursor() as conn:
            rows = conn.execute(
                "SELECT id, run_id, subject, what, old, new, detected_at, severity FROM changes"  # noqa: S608 - fixed names
                f"{where} ORDER BY id", args,
            ).fetchall()
        return [
            Change(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromtimestamp(r[6], UTC), r[7])
            for r in rows
        ]

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, when: datetime) -> int:
        """A new run's id."""
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO runs (started_at) VALUES (?)", (when.timestamp(),))
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, when: datetime, fetched: int, failed: int) -> None:
        """Mark a run complete."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, fetched = ?, failed = ? WHERE id = ?",
                (when.timestamp(), fetched, failed, run_id),
            )

    def finished_runs(self) -> list[int]:
        """The ids of the runs that completed, oldest first."""
        with self._cursor() as conn:
            rows = conn.execute(
                "SELECT id FROM runs WHERE finished_at IS NOT NULL ORDER BY id"
            ).fetchall()
        return [int(r[0]) for r in rows]

    # -- a company's data (GDPR access and erasure) ----------------------------------------

    def erase(self, siren: str) -> int:
        """Forget everything about the company ``siren``; how many rows went."""
        with self.transaction() as conn:
            gone = 0
            for table in ("suppliers", "checks", "observations", "changes"):
                gone += int(conn.execute(f"DELETE FROM {table} WHERE siren = ?",  # noqa: S608
                                         (siren,)).rowcount)
            conn.execute(
                "DELETE FROM documents WHERE sha256 NOT IN "
                "(SELECT document_sha256 FROM checks WHERE document_sha256 IS NOT NULL)"
            )
            return gone

    def observations_of(self, siren: str) -> list[dict[str, Any]]:
        """Every observation about the company ``siren``."""
        with self._cursor() as conn:
            rows = conn.execute(
                "SELECT subject, field, value, observed_at FROM observations WHERE siren = ? "
                "ORDER BY subject, field", (siren,),
            ).fetchall()
        return [
            {"subject": r[0], "field": r[1], "value": r[2],
             "observed_at": datetime.fromtimestamp(r[3], UTC).isoformat()}
            for r in rows
        ]

    # -- plumbing ---------------------------------------------------------------------------


def _where(**conditions: str | None) -> tuple[str, tuple[Any, ...]]:
    given = {k: v for k, v in conditions.items() if v is not None}
    if not given:
        return "", ()
    return " WHERE " + " AND ".join(f"{k} = ?" for k in given), tuple(given.values())


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _check(r: tuple[Any, ...]) -> Check:
    return Check(
        id=r[0], siren=Siren(r[1]), kind=r[2], status=r[3],
        checked_at=datetime.fromtimestamp(r[4], UTC), run_id=r[5], issued_on=_date(r[6]),
        valid_from=_date(r[7]), valid_until=_date(r[8]), security_code=r[9],
        document_sha256=r[10], media_type=r[11], size=r[12], expects_document=bool(r[13]),
    )
