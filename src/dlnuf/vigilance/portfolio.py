"""The portfolio: suppliers, what is due, refresh, the proof archive, the changes.

``Portfolio(client, path)`` works with a :class:`~dlnuf.Client`;
``AsyncPortfolio(client, path)`` with an :class:`~dlnuf.AsyncClient` (only
``refresh`` is awaited: everything else reads or writes the local file). The
portfolio lives in its own SQLite file (default
:func:`~dlnuf.vigilance.store.default_portfolio_path`), never in the cache.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._closing import Closing
from ..cache.policy import PARIS
from ..drivers import refresh_async, refresh_sync
from ..errors import ConfigurationError
from ..facts.base import Fact, utcnow
from ..identifiers import Siret, parse_siret_or_siren
from .csvio import read_suppliers, write_suppliers
from .due import due_pieces
from .lock import RunLock
from .model import DEFAULT_VALIDITY_DAYS, Change, Check, DuePiece, Supplier, kinds_named
from .refresh import Refresher, RefreshReport
from .store import PortfolioStore, default_portfolio_path

if TYPE_CHECKING:
    from ..client import AsyncClient, Client

__all__ = ["AsyncPortfolio", "Portfolio", "PortfolioBase"]

DEFAULT_MARGIN_DAYS = 15
"""A piece is due this many days before its validity ends (time to fetch a new one)."""
DEFAULT_RECHECK = timedelta(hours=20)
"""A piece or identity read less than this ago is not read again (a nightly cron
reads each once a night; a run resumed after a crash fetches nothing twice)."""
DEFAULT_RETENTION_DAYS = 5 * 365 + 1
"""Archived proof is kept five years after its validity ends, unless told otherwise."""


class PortfolioBase(Closing):
    """What both portfolios share (everything but ``refresh``); see :class:`Portfolio`."""

    def __init__(
        self,
        client: Client | AsyncClient,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        margin_days: int = DEFAULT_MARGIN_DAYS,
        recheck: timedelta = DEFAULT_RECHECK,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        validity_days: Mapping[str, int] | None = None,
    ) -> None:
        if margin_days < 0 or retention_days < 0:
            raise ConfigurationError("margin_days and retention_days must be 0 or more")
        self.client = client
        where = default_portfolio_path() if path is None else path
        cache = client.cache
        cache_path = getattr(cache, "path", None)
        if cache_path is not None and str(where) != ":memory:" and \
                Path(where).expanduser().resolve() == Path(cache_path).resolve():
            raise ConfigurationError(
                f"{where} is the cache's file: a portfolio keeps proof, give it its own file"
            )
        self.store = PortfolioStore(where)
        self._clock = clock or utcnow
        self.margin_days = margin_days
        """Default ``within`` of :meth:`due` and :meth:`refresh`."""
        self.recheck = recheck
        self.retention_days = retention_days
        self.validity_days = {**DEFAULT_VALIDITY_DAYS, **(validity_days or {})}
        self._lock = RunLock(self.store.path, key=f"memory:{id(self.store)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store.path or ':memory:'!s})"

    # -- time -----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current time of the portfolio's clock (timezone-aware)."""
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigurationError("the portfolio's clock must return timezone-aware times")
        return now

    def today(self) -> date:
        """Today's date in Paris, by the portfolio's clock."""
        return self.now().astimezone(PARIS).date()

    @property
    def max_wait(self) -> float:
        """The longest a request may wait for its quota slot (the client's setting)."""
        return float(self.client.settings.max_retry_wait)

    # -- suppliers ------------------------------------------------------------------------

    def add(
        self,
        siret: object,
        *,
        contract: str = "",
        start: date | None = None,
        end: date | None = None,
        kinds: Iterable[str | type[Fact]] | None = None,
        name: str = "",
    ) -> Supplier:
        """Add (or replace) a supplier: its SIRET, contract reference, dates and pieces."""
        if start and end and end < start:
            raise ConfigurationError(f"the contract ends ({end}) before it starts ({start})")
        supplier = Supplier(Siret(siret), contract, start, end, kinds_named(kinds), name)
        self.store.put_suppliers([supplier])
        return supplier

    def remove(self, siret: object, contract: str | None = None) -> int:
        """Remove a supplier (every contract of it unless ``contract`` is given); its
        archive stays (use :meth:`erase` to forget a company)."""
        return self.store.remove_supplier(str(Siret(siret)), contract)

    @property
    def suppliers(self) -> list[Supplier]:
        """Every supplier of the portfolio."""
        return self.store.suppliers()

    def import_csv(self, source: str | os.PathLike[str]) -> int:
        """Add the suppliers of a CSV file (or CSV text); how many. All or nothing."""
        text = str(source)
        if "\n" not in text:
            try:
                text = Path(source).expanduser().read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise ConfigurationError(f"cannot read {source}: {exc.strerror or exc}") from None
        return self.store.put_suppliers(read_suppliers(text))

    def export_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """The suppliers as CSV text (written to ``path`` too when given)."""
        text = write_suppliers(self.suppliers)
        if path is not None:
            Path(path).expanduser().write_text(text, encoding="utf-8")
        return text

    # -- due ------------------------------------------------------------------------------

    def due(self, on: date | None = None, within: int | None = None) -> list[DuePiece]:
        """Each required piece that is missing, refused, not delivered, without its
        document, or whose validity ends before ``on`` (default today) + ``within`` days
        (default :attr:`margin_days`), with the reason."""
        return due_pieces(self.store.suppliers(), self.store.latest_checks(),
                          on=on or self.today(),
                          within=self.margin_days if within is None else within)

    # -- the archive ------------------------------------------------------------------------

    def archive(self, siren: object | None = None, kind: str | None = None) -> list[Check]:
        """Every check kept (of a company, of a kind), oldest first."""
        key = None if siren is None else str(parse_siret_or_siren(siren).siren)
        return self.store.checks(key, kind)

    def proof(self, siren: object, kind: str | type[Fact], on: date) -> Check | None:
        """The delivered piece that was valid on ``on`` (what an auditor asks for): the
        latest fetched one covering that day, else ``None``."""
        name = kind if isinstance(kind, str) else kind.__name__
        covering = [c for c in self.archive(siren, name) if c.covers(on)]
        return covering[-1] if covering else None

    def document(self, check: Check) -> bytes:
        """The archived bytes of a check's document."""
        content = self.store.document(check.document_sha256) if check.document_sha256 else None
        if content is None:
            raise ConfigurationError(
                f"no document is archived for this {check.kind} of {check.siren} "
                f"(checked {check.checked_at:%Y-%m-%d}, status {check.status})"
            )
        return content

    def purge(self) -> int:
        """Forget proof whose validity ended more than ``retention_days`` ago."""
        cutoff = self.today() - timedelta(days=self.retention_days)
        return self.store.purge_checks_before(
            cutoff, self.now() - timedelta(days=self.retention_days))

    # -- changes ----------------------------------------------------------------------------

    def changes(self, since_run: int | None = None) -> list[Change]:
        """The changes found since the previous complete run (``since_run``: after that
        run's id; ``0``: every change ever found)."""
        if since_run is None:
            finished = self.store.finished_runs()
            since_run = finished[-2] if len(finished) >= 2 else 0
        return self.store.changes(after_run=since_run)

    # -- a company's data -------------------------------------------------------------------

    def export(self, siren: object) -> dict[str, Any]:
        """Everything the portfolio holds about a company (GDPR access), JSON-ready:
        suppliers, checks with their documents (base64), observations, changes."""
        key = str(parse_siret_or_siren(siren).siren)
        checks = self.store.checks(key)
        documents = {
            c.document_sha256: base64.b64encode(self.document(c)).decode("ascii")
            for c in checks if c.document_sha256
        }
        return {
            "siren": key,
            "suppliers": [
                {"siret": str(s.siret), "contract": s.contract,
                 "start": s.start.isoformat() if s.start else None,
                 "end": s.end.isoformat() if s.end else None, "kinds": list(s.kinds),
                 "name": s.name}
                for s in self.store.suppliers(key)
            ],
            "checks": [c.as_dict() for c in checks],
            "documents": documents,
            "observations": self.store.observations_of(key),
            "changes": [c.as_dict() for c in self.store.changes(siren=key)],
        }

    def erase(self, siren: object) -> int:
        """Forget the company (GDPR erasure): its suppliers, checks, documents,
        observations and changes; how many records went."""
        return self.store.erase(str(parse_siret_or_siren(siren).siren))

    def close(self) -> None:
        """Close the portfolio's file (the client stays open: it is yours)."""
        self.store.close()

    def _refresher(self, within: int | None, watch: bool) -> Refresher:
        return Refresher(self, self.client.sources,
                         within=self.margin_days if within is None else within, watch=watch)


class Portfolio(PortfolioBase):
    """A portfolio of suppliers watched with a :class:`~dlnuf.Client`.

    ``path`` is the portfolio's SQLite file; ``clock`` (a callable returning an
    aware datetime) replaces the system clock; ``margin_days`` is how early a piece
    is due before its validity ends; ``recheck`` how long an answer stands before
    it is asked again; ``retention_days`` how long proof is kept after its
    validity; ``validity_days`` the validity of pieces that state none (by kind
    name).
    """

    def refresh(self, within: int | None = None, *, watch: bool = True) -> RefreshReport:
        """Fetch what is due (and, with ``watch``, each supplier's identity and VAT number
        to detect changes), archive the proof; raises
        :class:`~dlnuf.vigilance.PortfolioBusy` when another run holds the portfolio."""
        from ..client import Client

        if not isinstance(self.client, Client):
            raise ConfigurationError("Portfolio needs a dlnuf.Client; use AsyncPortfolio with "
                                     "an AsyncClient")
        with self._lock:
            return refresh_sync(self._refresher(within, watch), self.client)


class AsyncPortfolio(PortfolioBase):
    """A portfolio watched with an :class:`~dlnuf.AsyncClient`: ``await refresh()``;
    the rest as :class:`Portfolio`."""

    async def refresh(self, within: int | None = None, *, watch: bool = True) -> RefreshReport:
        """The asyncio twin of :meth:`Portfolio.refresh`."""
        from ..client import AsyncClient

        if not isinstance(self.client, AsyncClient):
            raise ConfigurationError("AsyncPortfolio needs a dlnuf.AsyncClient; use Portfolio "
                                     "with a Client")
        with self._lock:
            return await refresh_async(self._refresher(within, watch), self.client)
