"""The Sirene stock files as a local source: the whole register, no quota (DuckDB).

INSEE publishes the whole register every month as two Parquet files,
``StockEtablissement_utf8.parquet`` and ``StockUniteLegale_utf8.parquet`` (see
``dlnuf stock download``). :class:`SireneStock` answers :class:`Identity` from a
folder holding them, with DuckDB (``pip install 'dlnuf[stock]'``)::

    client = dlnuf.Client(sources=["sirene_stock", "recherche_entreprises"])

The folder is ``SireneStock(folder=...)`` or ``DLNUF_SIRENE_STOCK_DIR``. It is a
:class:`~dlnuf.sources.local.LocalBatchSource`: a lookup is one query, and
``client.many()`` answers :attr:`SireneStock.batch_size` SIRETs per query (a join of
the input against the files), with no request, no pacing and no cache.

The columns are those of the Sirene API 3.11, flattened: a row is read by the same
code as an INSEE API answer (:func:`~dlnuf.sources.insee_sirene.read_establishment`).
Provenance: ``source="sirene_stock"``, ``updated_at`` = the stock's latest treatment
(``dateDernierTraitementEtablissement``, so its month), and
:attr:`~dlnuf.facts.base.Provenance.age` says how old it was when read.

Staleness: with ``max_age`` (``DLNUF_SIRENE_STOCK_MAX_AGE``, days) a stock older
than that raises :class:`StockOutdated` (transient): the client asks the next
configured source instead. A SIRET the stock lacks (created since) also moves on
to the next source.

Privacy: a partially diffusible unit or establishment (status ``P``) has its
personal fields (names, sigle, trade name, street) withheld whatever the file
holds, masked or not.

A sorted copy (``sirene_stock.duckdb``, built by :meth:`SireneStock.build_copy` or
``dlnuf stock index``) makes a single lookup about twelve times faster than the
Parquet files (1.8 ms); it is used when present and built from the files now in the
folder.
"""

# ruff: noqa: S608 - SQL is built from constant column names and quoted paths; values are
# bound as parameters.
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx

from ..config import Settings
from ..errors import ConfigurationError, NotFound, UpstreamUnavailable
from ..facts.base import Fact, Provenance, utcnow
from ..facts.identity import Identity
from ..identifiers import Siret
from ..ratelimit import Quota
from .base import Identifier
from .insee_sirene import read_establishment
from .options import SourceOptions
from .parsing import establishment_siret, iso_datetime, siret_or_none

__all__ = [
    "BATCH_SIZE",
    "COPY_FILE",
    "ENV_DIR",
    "ENV_MAX_AGE",
    "ESTABLISHMENTS_FILE",
    "UNITS_FILE",
    "SireneStock",
    "SireneStockOptions",
    "StockInfo",
    "StockOutdated",
    "StockUnreadable",
]

ESTABLISHMENTS_FILE = "StockEtablissement_utf8.parquet"
UNITS_FILE = "StockUniteLegale_utf8.parquet"
COPY_FILE = "sirene_stock.duckdb"
"""The sorted local copy, built from the two files (optional)."""
ENV_DIR = "DLNUF_SIRENE_STOCK_DIR"
ENV_MAX_AGE = "DLNUF_SIRENE_STOCK_MAX_AGE"
BATCH_SIZE = 25_000
"""SIRETs per query in ``many()``: each query scans the SIRET column once (the sorted
copy; the Parquet files are scanned in full), so fewer, larger joins are cheaper;
``many()`` holds twice this many unanswered lines."""
POOL = Quota("sirene_stock", 1_000_000, 1.0)
"""Never paced (nothing upstream); present because every source names a pool."""

_ETABLISSEMENT = (
    "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "etablissementSiege", "dateDernierTraitementEtablissement",
    "complementAdresseEtablissement", "numeroVoieEtablissement",
    "indiceRepetitionEtablissement", "typeVoieEtablissement", "libelleVoieEtablissement",
    "codePostalEtablissement", "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement", "distributionSpecialeEtablissement",
    "codeCommuneEtablissement", "codeCedexEtablissement", "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement", "libellePaysEtrangerEtablissement", "dateDebut",
    "etatAdministratifEtablissement", "activitePrincipaleEtablissement",
    "enseigne1Etablissement", "denominationUsuelleEtablissement",
    "caractereEmployeurEtablissement",
)
_UNITE_LEGALE = (
    "statutDiffusionUniteLegale", "etatAdministratifUniteLegale", "denominationUniteLegale",
    "sigleUniteLegale", "nomUniteLegale", "nomUsageUniteLegale", "prenom1UniteLegale",
    "prenomUsuelUniteLegale", "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale", "nicSiegeUniteLegale", "categorieEntreprise",
    "trancheEffectifsUniteLegale", "dateCreationUniteLegale",
    "economieSocialeSolidaireUniteLegale", "identifiantAssociationUniteLegale",
)
COLUMNS = (*_ETABLISSEMENT, *_UNITE_LEGALE)
"""The columns read, in query order (names of the files and of the API)."""

_PERSONAL = (
    "denominationUniteLegale", "sigleUniteLegale", "nomUniteLegale", "nomUsageUniteLegale",
    "prenom1UniteLegale", "prenomUsuelUniteLegale", "complementAdresseEtablissement",
    "numeroVoieEtablissement", "indiceRepetitionEtablissement", "typeVoieEtablissement",
    "libelleVoieEtablissement", "distributionSpecialeEtablissement",
    "enseigne1Etablissement", "denominationUsuelleEtablissement",
)
"""What INSEE masks (``[ND]``) for a partially diffusible person: withheld on status alone."""
_MASK = "[ND]"
_CHUNK = 2048
_MEMORY_LIMIT = "512MB"
"""DuckDB's own memory (its buffer pool over the files); the rest of a run is Python's."""

_SELECT = ", ".join(
    [f'CAST(e."{c}" AS VARCHAR) AS "{c}"' for c in _ETABLISSEMENT]
    + [f'CAST(u."{c}" AS VARCHAR) AS "{c}"' for c in _UNITE_LEGALE]
)
_QUOTED = ", ".join(f'"{c}"' for c in COLUMNS)


class StockOutdated(UpstreamUnavailable):
    """The stock is older than the ``max_age`` the client was given: ask a live source."""


class StockUnreadable(UpstreamUnavailable):
    """DuckDB cannot read the stock files (deleted, truncated, not Parquet): the next
    source is asked; fetch the stock again."""


@dataclass(frozen=True)
class StockInfo:
    """What a stock folder holds: :meth:`SireneStock.info`, ``dlnuf stock info``."""

    folder: Path
    updated_at: datetime | None
    """The latest treatment in the establishment file (so the stock's month)."""
    establishments: int
    units: int
    sizes: Mapping[str, int]
    """Bytes per file present (the two Parquet files, the sorted copy)."""
    copy: bool
    """Whether lookups use the sorted copy (present and built from these files)."""

    @property
    def month(self) -> str | None:
        """``YYYY-MM`` of :attr:`updated_at`."""
        return f"{self.updated_at:%Y-%m}" if self.updated_at else None


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:
        raise ConfigurationError(
            "sirene_stock needs DuckDB: pip install 'dlnuf[stock]'"
        ) from exc
    return duckdb


def _sql_path(path: Path) -> str:
    return "'" + path.as_posix().replace("'", "''") + "'"


def _fingerprint(folder: Path) -> str:
    """Size and modification time of the two files: a copy is valid for these only."""
    parts = []
    for name in (ESTABLISHMENTS_FILE, UNITS_FILE):
        st = (folder / name).stat()
        parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)


def _days(value: object, origin: str) -> timedelta | None:
    if value is None or value == "":
        return None
    if isinstance(value, timedelta):
        return value
    try:
        days = float(str(value)) if not isinstance(value, int | float) else float(value)
    except ValueError:
        raise ConfigurationError(
            f"{origin} is a number of days (like 45), not {value!r}"
        ) from None
    if days <= 0:
        raise ConfigurationError(f"{origin} must be a positive number of days, not {value!r}")
    return timedelta(days=days)


class SireneStockOptions(SourceOptions):
    """Options of the Sirene stock (``DLNUF_SIRENE_STOCK_*``)."""

    dir: str | None = None
    """``DLNUF_SIRENE_STOCK_DIR``: the folder holding the two stock files."""
    max_age: timedelta | float | str | None = None
    """``DLNUF_SIRENE_STOCK_MAX_AGE``: days above which the stock defers to the next source."""
    use_copy: bool = True
    """``DLNUF_SIRENE_STOCK_USE_COPY``: read the sorted copy when there is one."""


class SireneStock:
    """Identity from the Sirene stock files in a local folder (DuckDB); see the module.

    ``folder`` (else ``DLNUF_SIRENE_STOCK_DIR``) holds the two files; ``max_age`` (a
    :class:`~datetime.timedelta` or days; else ``DLNUF_SIRENE_STOCK_MAX_AGE``) is the
    age above which the stock defers to the next source. ``use_copy=False`` ignores
    the sorted copy. Safe to share between threads (one query at a time).
    """

    name: ClassVar[str] = "sirene_stock"
    provides: ClassVar[frozenset[type[Fact]]] = frozenset({Identity})
    Options: ClassVar[type[SourceOptions]] = SireneStockOptions
    batch_size: ClassVar[int] = BATCH_SIZE

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        folder: str | os.PathLike[str] | None = None,
        max_age: timedelta | float | None = None,
        use_copy: bool = True,
        env: Mapping[str, str] | None = None,
        options: SourceOptions | Mapping[str, Any] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        given: dict[str, Any] = {"dir": os.fspath(folder)} if folder is not None else {}
        if max_age is not None:
            given["max_age"] = max_age
        if not use_copy:
            given["use_copy"] = False
        if isinstance(options, SourceOptions):
            options = options.model_dump(exclude_unset=True)
        self.options = self.Options.load(self.name, {**(options or {}), **given}, env=env)
        chosen = getattr(self.options, "dir", None)
        raw_age = getattr(self.options, "max_age", None)
        self.max_age = _days(raw_age, "max_age" if max_age is not None else ENV_MAX_AGE)
        use_copy = bool(getattr(self.options, "use_copy", True))
        if not chosen:
            raise ConfigurationError(
                f"{self.name} needs the folder holding the stock files: "
                f"SireneStock(folder=...) or {ENV_DIR}; fetch them with "
                "`dlnuf stock download DIR`"
            )
        self.folder = Path(chosen).expanduser()
        missing = [n for n in (ESTABLISHMENTS_FILE, UNITS_FILE) if not (self.folder / n).is_file()]
        if missing:
            raise ConfigurationError(
                f"{self.name}: {', '.join(missing)} not found in {self.folder}; fetch the "
                f"stock with `dlnuf stock download {self.folder}`"
            )
        self.use_copy = use_copy
        self.base_url: str = self.folder.resolve().as_uri()
        self.scope: str = "public"
        self.mount: httpx.MockTransport | None = None
        self._lock = threading.Lock()
        self._con: Any = None
        self._table = ""
        self._updated_at: datetime | None = None

    def __repr__(self) -> str:
        return f"SireneStock(folder={str(self.folder)!r}, max_age={self.max_age})"

    # -- the Source protocol: a local source sends no request ---------------------------

    def quota(self, kind: type[Fact]) -> Quota:
        """:data:`POOL` (never used: nothing is sent)."""
        return POOL

    def request(self, kind: type[Fact], ident: Identifier) -> httpx.Request:
        """Not used: the client asks a local source through :meth:`answer`."""
        raise ConfigurationError(f"{self.name} is local: it builds no request, use answer()")

    def parse(self, kind: type[Fact], ident: Identifier, response: httpx.Response) -> Fact:
        """Not used: the client asks a local source through :meth:`answer`."""
        raise ConfigurationError(f"{self.name} is local: it parses no response, use answer()")

    # -- answers --------------------------------------------------------------------------

    def answer(self, kind: type[Fact], ident: Identifier) -> Identity:
        """The identity of the establishment ``ident``; :class:`NotFound` when the stock
        lacks it, :class:`StockOutdated` when it is older than ``max_age``."""
        siret = establishment_siret(self.name, kind, ident)
        with self._lock, self._reading():
            con = self._open()
            provenance = self._provenance()
            sql = (
                f"SELECT {_QUOTED} FROM {self._table} WHERE siret = $1"
                if self._table == "stock"
                else f"SELECT {_SELECT} FROM etab e LEFT JOIN unit u "
                "ON u.siren = e.siren AND u.siren = $2 WHERE e.siret = $1"
            )
            params = [str(siret)] if self._table == "stock" else [str(siret), siret[:9]]
            rows = con.execute(sql, params).fetchall()
        if not rows:
            raise NotFound(
                f"{self.name} does not hold {siret} (stock of {self._month()}; "
                "an establishment created since is only known to the live sources)",
                source=self.name,
                status=404,
            )
        identity = self._read(rows[0], provenance)
        if identity is None:
            raise NotFound(f"{self.name} holds no valid row for {siret}", source=self.name)
        return identity

    def answer_many(self, kind: type[Fact], idents: Sequence[Siret]) -> dict[Siret, Fact]:
        """The identities of ``idents`` found in the stock (one join), by SIRET."""
        # By text: a row's SIRET is then the one asked (already parsed), not parsed again.
        asked: dict[str, Siret] = {}
        for ident in idents:
            siret = establishment_siret(self.name, kind, ident)
            asked[siret] = siret
        if not asked:
            return {}
        sirets = list(asked)
        with self._lock, self._reading():
            con = self._open()
            provenance = self._provenance()
            con.execute(
                "CREATE OR REPLACE TEMP TABLE ask AS SELECT unnest($1::VARCHAR[]) AS siret",
                [sirets],
            )
            if self._table == "stock":
                # The join reads the SIRET column only; the rows found are then read by
                # position. Joining on every column scans all of them in full each time:
                # measured 29 us of CPU per SIRET asked, 20 this way (25,000 per query,
                # 5 million establishments).
                sql = (
                    f"SELECT {_QUOTED} FROM stock WHERE rowid IN "
                    "(SELECT rowid FROM stock SEMI JOIN ask USING (siret))"
                )
            else:
                sql = (
                    f"SELECT {_SELECT} FROM etab e SEMI JOIN ask ON ask.siret = e.siret "
                    "LEFT JOIN unit u ON u.siren = e.siren"
                )
            found: dict[Siret, Fact] = {}
            cursor = con.execute(sql)
            # Read in chunks: rows are turned into facts and dropped as they come.
            while rows := cursor.fetchmany(_CHUNK):
                for row in rows:
                    identity = self._read(row, provenance, asked)
                    if identity is not None:
                        found[identity.siret] = identity
            con.execute("DROP TABLE ask")
        return found

    @property
    def updated_at(self) -> datetime | None:
        """The stock's latest treatment (``dateDernierTraitementEtablissement``)."""
        with self._lock:
            self._open()
            return self._updated_at

    @property
    def age(self) -> timedelta | None:
        """How old the stock is now."""
        updated = self.updated_at
        return None if updated is None else utcnow() - updated

    def info(self) -> StockInfo:
        """Month, row counts and sizes of the stock (counts read from the files' footers)."""
        with self._lock:
            con = self._open()
            counts = {}
            for name in (ESTABLISHMENTS_FILE, UNITS_FILE):
                row = con.execute(
                    "SELECT sum(num_rows) FROM parquet_file_metadata("
                    f"{_sql_path(self.folder / name)})"
                ).fetchone()
                counts[name] = int(row[0]) if row and row[0] is not None else 0
            copy = self._table == "stock"
            updated = self._updated_at
        sizes = {
            name: (self.folder / name).stat().st_size
            for name in (ESTABLISHMENTS_FILE, UNITS_FILE, COPY_FILE)
            if (self.folder / name).is_file()
        }
        return StockInfo(
            self.folder, updated, counts[ESTABLISHMENTS_FILE], counts[UNITS_FILE], sizes, copy
        )

    def build_copy(self, *, threads: int | None = None) -> Path:
        """Build ``sirene_stock.duckdb``: the establishments joined with their unit, only
        the columns read, sorted and indexed by SIRET (written aside, then moved into
        place)."""
        duckdb = _duckdb()
        target = self.folder / COPY_FILE
        partial = target.with_name(target.name + ".part")
        partial.unlink(missing_ok=True)
        con = duckdb.connect(str(partial))
        try:
            con.execute("SET enable_progress_bar = false")
            if threads is not None:
                con.execute(f"SET threads = {int(threads)}")
            self._views(con)
            con.execute(
                f"CREATE TABLE stock AS SELECT {_SELECT} FROM etab e "
                "LEFT JOIN unit u ON u.siren = e.siren ORDER BY e.siret"
            )
            # A point lookup through the index reads one row, not a row group of every
            # column: measured 1.4 ms instead of 4.1 ms on 5 million establishments.
            con.execute("CREATE INDEX stock_siret ON stock (siret)")
            updated = con.execute('SELECT max("dateDernierTraitementEtablissement") FROM stock')
            latest = updated.fetchone()
            con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
            con.execute(
                "INSERT INTO meta VALUES ('fingerprint', $1), ('updated_at', $2)",
                [_fingerprint(self.folder), latest[0] if latest else None],
            )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
            os.replace(partial, target)
        return target

    # -- internals ------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn a DuckDB failure into :class:`StockUnreadable` (and reopen next time)."""
        duckdb = _duckdb()
        try:
            yield
        except duckdb.Error as exc:
            if self._con is not None:
                self._con.close()
                self._con = None
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StockUnreadable(
                f"{self.name} cannot read the stock in {self.folder}: {first}; fetch it "
                "again with `dlnuf stock download`",
                source=self.name,
            ) from None

    def _views(self, con: Any) -> None:
        con.execute(
            "CREATE OR REPLACE VIEW etab AS SELECT * FROM read_parquet("
            f"{_sql_path(self.folder / ESTABLISHMENTS_FILE)})"
        )
        con.execute(
            "CREATE OR REPLACE VIEW unit AS SELECT * FROM read_parquet("
            f"{_sql_path(self.folder / UNITS_FILE)})"
        )

    def _open(self) -> Any:
        """The DuckDB connection (opened once, under the lock): the copy, else the files."""
        if self._con is not None:
            return self._con
        duckdb = _duckdb()
        copy = self.folder / COPY_FILE
        con = None
        if self.use_copy and copy.is_file():
            con = duckdb.connect(str(copy), read_only=True)
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("fingerprint") == _fingerprint(self.folder):
                self._table = "stock"
                self._updated_at = iso_datetime(meta.get("updated_at"))
            else:  # built from other files: stale, ignore it
                con.close()
                con = None
        if con is None:
            con = duckdb.connect()
            self._views(con)
            self._table = "etab"
            latest = con.execute(
                'SELECT CAST(max("dateDernierTraitementEtablissement") AS VARCHAR) FROM etab'
            ).fetchone()
            self._updated_at = iso_datetime(latest[0] if latest else None)
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{_MEMORY_LIMIT}'")
        self._con = con
        return con

    def _month(self) -> str:
        return f"{self._updated_at:%Y-%m}" if self._updated_at else "unknown month"

    def _provenance(self) -> Provenance:
        """The provenance of this call's answers; :class:`StockOutdated` past ``max_age``."""
        now = utcnow()
        updated = self._updated_at
        if self.max_age is not None and (updated is None or now - updated > self.max_age):
            age = "of unknown age" if updated is None else f"{(now - updated).days} days old"
            raise StockOutdated(
                f"{self.name}: the stock of {self._month()} is {age}, more than max_age "
                f"{self.max_age.days} days: a live source is asked instead (or run "
                "`dlnuf stock download`)",
                source=self.name,
            )
        return Provenance(
            source=self.name,
            endpoint=ESTABLISHMENTS_FILE,
            fetched_at=now,
            updated_at=updated,
            public=True,
        )

    def _read(
        self,
        row: Sequence[Any],
        provenance: Provenance,
        asked: Mapping[str, Siret] | None = None,
    ) -> Identity | None:
        """A row as an identity. The flat row holds each field under its API name, so one
        dict serves as the establishment, its unit, its address and its current period."""
        etab: dict[str, Any] = dict(zip(COLUMNS, row, strict=True))
        siret = asked.get(etab["siret"]) if asked is not None else None
        if siret is None:
            siret = siret_or_none(etab["siret"])
        if siret is None:
            return None
        if "P" in (etab["statutDiffusionUniteLegale"], etab["statutDiffusionEtablissement"]):
            for name in _PERSONAL:  # withheld on the status alone, masked in the file or not
                etab[name] = _MASK
        etab["uniteLegale"] = etab["adresseEtablissement"] = etab
        etab["periodesEtablissement"] = [etab]
        try:
            return read_establishment(siret, etab, provenance)
        finally:
            etab.clear()  # break the self-references: freed now, not by the cycle collector

