"""``refresh``: fetch what is due, pool by pool at the quota, and archive the proof.

:class:`Refresher` plans a run and records its answers (no network I/O of its
own); :func:`dlnuf.drivers.refresh_sync` and :func:`dlnuf.drivers.refresh_async`
drive it with a :class:`~dlnuf.Client` or an :class:`~dlnuf.AsyncClient`. Work is
grouped by quota pool, each pool
drained by a few workers that the client's rate limiter paces: the run lasts
about as long as its busiest pool needs (the DGFIP attestation pool, 5/min), the
other pools work meanwhile, and nothing is sent in bursts. Each answer is
committed as soon as it is known: a run killed halfway keeps what it fetched,
and the next run does not fetch it again (a piece checked less than ``recheck``
ago is not fetched again, whatever it said).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import (
    ConfigurationError,
    DlnufError,
    Forbidden,
    NotFound,
    Unauthorized,
    UnsupportedKind,
)
from ..facts.base import Fact
from ..facts.evidence import Document, RegistryExtract, SocialCertificate, TaxCertificate
from ..facts.identity import Identity
from ..identifiers import Siren, Siret
from .changes import compare, identity_values, piece_change, vat_values
from .due import due_pieces
from .model import WATCHED_KINDS, Change, Check, CheckStatus, DuePiece, kind_named

if TYPE_CHECKING:
    from .portfolio import PortfolioBase

__all__ = ["Answer", "RefreshReport", "Refresher", "Task"]

_CHECKED = "_checked:"
"""Prefix of the observation recording when a watched kind was last read."""
_STOP_KIND = (Forbidden,)
_STOP_ALL = (Unauthorized, ConfigurationError)


@dataclass(frozen=True)
class Task:
    """One fetch of a run: ``kind`` about ``ident`` (a SIREN for pieces and VAT)."""

    kind: type[Fact]
    ident: Siret | Siren
    pool: str


@dataclass(frozen=True)
class Answer:
    """A fetch's result worth recording: the fact (or the ``NotFound`` answered) and the
    document to download."""

    fact: Fact | None
    missing: NotFound | None
    document: Document | None


@dataclass
class RefreshReport:
    """What a run did: fetched pieces, failures, changes, and what is still due after it."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None = None
    fetched: list[Check] = field(default_factory=list)
    watched: int = 0
    """Identity and VAT reads made to detect changes."""
    skipped_recent: int = 0
    """Due pieces not fetched because they were checked less than ``recheck`` ago."""
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    """``(identifier, kind, error)`` of the fetches that failed (tried again next run)."""
    changes: list[Change] = field(default_factory=list)
    due: list[DuePiece] = field(default_factory=list)
    """What is still due after the run."""

    @property
    def exit_code(self) -> int:
        """For cron, the ``dlnuf`` exit statuses: 6 changes detected (act on them); else
        3 some fetches failed (transient: run again later); else 6 pieces still due
        (refused, not delivered...); else 0."""
        # The numbers of dlnuf.cli.exits (ACT, TRANSIENT, OK), which the library does not import.
        if self.changes:
            return 6
        if self.failures:
            return 3
        return 6 if self.due else 0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view."""
        return {
            "run_id": self.run_id, "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "fetched": [c.as_dict() for c in self.fetched], "watched": self.watched,
            "skipped_recent": self.skipped_recent,
            "failures": [{"ident": i, "kind": k, "error": e} for i, k, e in self.failures],
            "changes": [c.as_dict() for c in self.changes],
            "due": [d.as_dict() for d in self.due], "exit_code": self.exit_code,
        }


class Refresher:
    """The plan of one run and the recording of its answers, for either client."""

    def __init__(self, portfolio: PortfolioBase, sources: list[Any], *, within: int,
                 watch: bool) -> None:
        self.portfolio = portfolio
        self.store = portfolio.store
        self.sources = sources
        self.within = within
        self.watch = watch
        self.now = portfolio.now()
        self.today = portfolio.today()
        self.run_id = self.store.start_run(self.now)
        self.report = RefreshReport(self.run_id, self.now)
        self._lock = threading.Lock()
        self._stopped: set[type[Fact]] = set()
        self._abort: DlnufError | None = None

    # -- the plan ---------------------------------------------------------------------------

    def _pool(self, kind: type[Fact]) -> str | None:
        for src in self.sources:
            if kind in src.provides:
                return str(src.quota(kind).pool)
        return None

    def plan(self) -> dict[str, deque[Task]]:
        """The tasks of the run, by quota pool (pieces first in each pool)."""
        suppliers = [s for s in self.store.suppliers() if s.active_on(self.today)]
        latest = self.store.latest_checks()
        recent = self.now - self.portfolio.recheck
        pools: dict[str, deque[Task]] = {}
        seen: set[tuple[str, type[Fact]]] = set()

        def add(kind: type[Fact], ident: Siret | Siren) -> None:
            if (str(ident), kind) in seen:
                return
            seen.add((str(ident), kind))
            pool = self._pool(kind)
            if pool is None:
                if kind not in WATCHED_KINDS:
                    self.report.failures.append(
                        (str(ident), kind.__name__, f"no configured source provides "
                         f"{kind.__name__} (add api_entreprise to the client's sources)"))
                return
            pools.setdefault(pool, deque()).append(Task(kind, ident, pool))

        for piece in due_pieces(suppliers, latest, on=self.today, within=self.within):
            check = piece.last_check
            if check is not None and check.checked_at > recent:
                self.report.skipped_recent += 1
                continue
            add(kind_named(piece.kind), piece.supplier.siren)
        if self.watch:
            for supplier in suppliers:
                for kind in WATCHED_KINDS:
                    ident: Siret | Siren = supplier.siret if kind is Identity else supplier.siren
                    when = self.store.observed_at(str(ident), _CHECKED + kind.__name__)
                    if when is None or when <= recent:
                        add(kind, ident)
        return pools

    def workers(self, pool: str, tasks: int) -> int:
        """How many workers drain ``pool``: enough to keep it busy, few enough that no
        one waits longer than the client's ``max_retry_wait`` for its slot."""
        spacing = self._spacing(pool)
        most = max(1, math.floor(self.portfolio.max_wait / spacing)) if spacing > 0 else 8
        return max(1, min(tasks, 8, most))

    def _spacing(self, pool: str) -> float:
        for src in self.sources:
            for kind in src.provides:
                quota = src.quota(kind)
                if quota.pool == pool:
                    return float(quota.period / quota.limit)
        return 0.0

    # -- while running ----------------------------------------------------------------------

    def skip(self, task: Task) -> bool:
        """Whether ``task`` must not run (the run was aborted, or its kind stopped)."""
        return self._abort is not None or task.kind in self._stopped

    def answered(self, task: Task, fact: Fact | None, error: DlnufError | None) -> Answer | None:
        """What a fetch's result means: an :class:`Answer` to record (a fact, or a
        ``NotFound`` that is an answer about the company), else ``None`` (a failure,
        reported and not recorded: asked again next run)."""
        if isinstance(error, NotFound):
            return Answer(None, error, None)
        if isinstance(error, UnsupportedKind):
            return None
        if error is not None:
            self.failed(task, error)
            return None
        if fact is None or fact.provenance.stale:
            self.failed(task, _stale(task))
            return None
        return Answer(fact, None, _document(fact))

    def failed(self, task: Task, error: DlnufError) -> None:
        """A fetch failed: reported, retried next run; a credentials error stops the run."""
        with self._lock:
            self.report.failures.append((str(task.ident), task.kind.__name__, str(error)))
            if isinstance(error, _STOP_ALL):
                self._abort = error
            elif isinstance(error, _STOP_KIND):
                self._stopped.add(task.kind)

    def record(self, task: Task, fact: Fact | None, missing: NotFound | None,
               content: bytes | None) -> None:
        """Record an answer: a piece's check (and its proof), or an observation."""
        now = self.portfolio.now()
        if task.kind in WATCHED_KINDS:
            self._observe(task, fact, now)
            return
        check = self._check(task, fact, missing, now, content)
        previous = self.store.latest_checks_of(str(task.ident), check.kind)
        stored = self.store.add_check(check, content)
        change = piece_change(check.kind, previous.status if previous else None, check.status)
        if change is not None:
            self.store.add_changes(Siren(task.ident), str(task.ident), now, self.run_id,
                                   [change])
        with self._lock:
            self.report.fetched.append(stored)

    def _observe(self, task: Task, fact: Fact | None, now: datetime) -> None:
        subject = str(task.ident)
        if isinstance(fact, Identity):
            values = identity_values(fact)
        elif fact is not None:
            values = vat_values(fact)  # type: ignore[arg-type]
        else:
            values = {}
        previous = {k: v for k, v in self.store.observations(subject).items()
                    if not k.startswith(_CHECKED)}
        rows = compare(previous, values)
        values[_CHECKED + task.kind.__name__] = now.isoformat()
        self.store.observe(subject, Siren(task.ident.siren), values, now, rows, self.run_id)
        with self._lock:
            self.report.watched += 1

    def _check(self, task: Task, fact: Fact | None, missing: NotFound | None,
               now: datetime, content: bytes | None) -> Check:
        name = task.kind.__name__
        siren = Siren(task.ident.siren)
        if fact is None:
            refused = name == "TaxCertificate" and missing is not None and missing.code == "03003"
            status: CheckStatus = "refused" if refused else "not_found"
            return Check(0, siren, name, status, now, self.run_id)
        digest = hashlib.sha256(content).hexdigest() if content is not None else None
        document = getattr(fact, "document", None)
        proof = {
            "document_sha256": digest,
            "media_type": document.media_type if isinstance(document, Document) else None,
            "size": len(content) if content is not None else None,
            "expects_document": isinstance(document, Document),
        }
        days = self.portfolio.validity_days
        if isinstance(fact, SocialCertificate):
            if fact.refused:
                return Check(0, siren, name, "refused", now, self.run_id)
            return Check(0, siren, name, "delivered", now, self.run_id, None, fact.valid_from,
                         fact.valid_until, fact.security_code, **proof)  # type: ignore[arg-type]
        issued: date | None = None
        until: date | None = None
        if isinstance(fact, TaxCertificate):
            issued, until = fact.issued_on, fact.valid_until
        elif isinstance(fact, RegistryExtract):
            issued = fact.extract_date
        if until is None and issued is not None and name in days:
            until = issued + timedelta(days=days[name])
        return Check(0, siren, name, "delivered", now, self.run_id, issued, None, until,
                     None, **proof)  # type: ignore[arg-type]

    def finish(self) -> RefreshReport:
        """Close the run: purge past retention, list what is still due and the changes."""
        now = self.portfolio.now()
        self.portfolio.purge()
        self.store.finish_run(self.run_id, now, len(self.report.fetched),
                              len(self.report.failures))
        self.report.finished_at = now
        self.report.changes = self.store.changes(after_run=self.run_id - 1)
        self.report.due = self.portfolio.due(within=self.within)
        if self._abort is not None:
            raise self._abort
        return self.report


def _document(fact: Fact) -> Document | None:
    document = getattr(fact, "document", None)
    return document if isinstance(document, Document) else None


def _stale(task: Task) -> DlnufError:
    return DlnufError(
        f"{task.kind.__name__} for {task.ident}: the upstream failed and only a stale copy "
        "was served; it is not archived (the next run tries again)"
    )

