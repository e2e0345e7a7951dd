"""The :class:`AnswerStore`: what a company declared itself, kept once for every form.

A company states its e-mail, phone, contact person, website, bank details...
once; every later pre-fill of any form reuses it. Answers are kept per SIREN
(or per SIRET for what is specific to one establishment), with the date and
the form they were declared in.

Storage is SQLite, in a file of its own (never the cache's file: clearing or
deleting the cache loses no answer) or in memory. :func:`answers_location` says
where a client keeps them:

- ``answers="path/to/answers.db"`` (or ``DLNUF_ANSWERS``): that file;
  ``answers="memory"``: in memory, gone with the client;
- ``cache=None`` or a memory cache: in memory (nothing is written to disk);
- the default SQLite cache (or Redis): :func:`default_answers_path`,
  ``$XDG_DATA_HOME/dlnuf/answers.db`` (``~/.local/share/dlnuf/answers.db``);
- a SQLite cache file of your own, ``dir/name.db``: ``dir/name.answers.db``;
- with the sandbox among the sources, the same places with ``sandbox-`` before
  the file name (``sandbox-answers.db``); with other base URLs (``base_urls``,
  ``DLNUF_<SOURCE>_URL``: staging, the fake server), a file named after them
  (``answers-1a2b3c4d.db``): made-up answers never reach the store real lookups read.

dlnuf never deletes or rewrites an answers file it cannot read: it raises a
:class:`~dlnuf.ConfigurationError` naming the file.

Writes are transactions (``BEGIN IMMEDIATE``, each answer its own row), so
several threads or processes writing answers for the same company at once lose
nothing. :meth:`AnswerStore.export` and :meth:`AnswerStore.erase` implement the
GDPR rights of access and erasure.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python

from .private_db import PrivateDatabase

if TYPE_CHECKING:
    from .cache.base import Cache
    from .config import Settings
from .facts.base import utcnow
from .identifiers import Siren, Siret, parse_siret_or_siren

__all__ = [
    "MEMORY",
    "AnswerStore",
    "DeclaredAnswer",
    "answers_location",
    "default_answers_path",
    "open_answers",
]

MEMORY = "memory"
"""The ``answers`` setting that keeps answers in memory only."""
_URL: Any = object()
OFFLINE_SOURCES = frozenset({"sandbox"})
"""Sources whose made-up data must never mix with real answers."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS dlnuf_answers ("
    "siren TEXT NOT NULL, ident TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, "
    "declared_at REAL NOT NULL, form TEXT, PRIMARY KEY (ident, key))",
    "CREATE INDEX IF NOT EXISTS dlnuf_answers_siren ON dlnuf_answers (siren)",
)
_UPSERT = (
    "INSERT INTO dlnuf_answers (siren, ident, key, value, declared_at, form) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ident, key) DO UPDATE SET "
    "value = excluded.value, declared_at = excluded.declared_at, form = excluded.form"
)
_SELECT = "SELECT ident, key, value, declared_at, form FROM dlnuf_answers WHERE ident IN (?, ?)"
_EXPORT = "SELECT ident, key, value, declared_at, form FROM dlnuf_answers WHERE siren = ?"
_COMPANIES = "SELECT siren, COUNT(*) FROM dlnuf_answers GROUP BY siren ORDER BY siren"
_ERASE = "DELETE FROM dlnuf_answers WHERE siren = ?"
_DELETE = "DELETE FROM dlnuf_answers WHERE ident = ? AND key = ?"


class DeclaredAnswer(BaseModel):
    """One value a company declared: the value, when, and in which form."""

    model_config = ConfigDict(frozen=True)

    value: Any
    declared_at: datetime
    form: str | None = None


Ident = Siret | Siren | str
"""A SIRET (establishment-specific answers) or a SIREN (answers about the company)."""


class AnswerStore(PrivateDatabase):
    """Answers declared by companies, in the SQLite file ``path`` or in memory (``None``).

    The file is private to its owner and never the cache's (see :mod:`dlnuf.private_db`).

    ``get(siret)`` gives the company's answers (SIREN level) overlaid with those
    of that establishment (SIRET level); ``set(ident, key, value, form=...)``
    records one. Values are stored as JSON (a date comes back as its ISO text;
    forms validate what they read). ``clock`` replaces the system clock, for tests.
    """

    what = "the dlnuf answer store"
    schema = _SCHEMA
    synchronous = "FULL"  # answers are not a cache: a commit survives a power cut

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._clock = clock or utcnow
        memory = path is None or str(path) == ":memory:"
        super().__init__(None if memory else Path(path).expanduser())  # type: ignore[arg-type]

    @classmethod
    def memory(cls) -> AnswerStore:
        """A store that lives as long as the object (tests, demos, one-off scripts)."""
        return cls(None)

    # -- reading --------------------------------------------------------------------------

    def get(self, ident: Ident) -> dict[str, DeclaredAnswer]:
        """Every answer that applies to ``ident``, by key.

        For a SIRET: the company's answers, overlaid with the establishment's own.
        For a SIREN: the company's answers only.
        """
        parsed = parse_siret_or_siren(ident)
        siren = parsed.siren
        with self._cursor() as conn:
            rows = conn.execute(_SELECT, (str(siren), str(parsed))).fetchall()
        found: dict[str, DeclaredAnswer] = {}
        # SIREN-level rows first, so that the establishment's own answers win.
        for row in sorted(rows, key=lambda r: len(r[0])):
            found[row[1]] = _answer(row)
        return found

    def export(self, siren: Ident) -> dict[str, dict[str, DeclaredAnswer]]:
        """Everything declared for the company (GDPR access): ``{siren or siret: {key: answer}}``.

        Includes the answers of every establishment of the company. A SIRET is
        read as its SIREN.
        """
        key = _siren_of(siren)
        with self._cursor() as conn:
            rows = conn.execute(_EXPORT, (key,)).fetchall()
        exported: dict[str, dict[str, DeclaredAnswer]] = {}
        for row in sorted(rows, key=lambda r: (len(r[0]), r[0], r[1])):
            exported.setdefault(row[0], {})[row[1]] = _answer(row)
        return exported

    def companies(self) -> dict[str, int]:
        """Every SIREN with declared answers, and how many answers it has."""
        with self._cursor() as conn:
            rows = conn.execute(_COMPANIES).fetchall()
        return {str(siren): int(count) for siren, count in rows}

    # -- writing --------------------------------------------------------------------------

    def set(
        self,
        ident: Ident,
        key: str,
        value: Any,
        *,
        form: str | None = None,
        declared_at: datetime | None = None,
    ) -> DeclaredAnswer:
        """Record that the company (SIREN) or establishment (SIRET) declared ``key = value``."""
        answers = self.set_many([(ident, key, value)], form=form, declared_at=declared_at)
        return answers[0]

    def set_many(
        self,
        entries: Iterable[tuple[Ident, str, Any]],
        *,
        form: str | None = None,
        declared_at: datetime | None = None,
    ) -> list[DeclaredAnswer]:
        """Record several answers in one transaction (all or none)."""
        when = declared_at or self._clock()
        if when.tzinfo is None:
            raise ValueError("declared_at must be timezone-aware")
        rows = []
        made = []
        for ident, key, value in entries:
            if not isinstance(key, str) or not key:
                raise ValueError(f"an answer key must be a non-empty string, not {key!r}")
            parsed = parse_siret_or_siren(ident)
            siren = parsed.siren
            jsonable = to_jsonable_python(value)
            text = json.dumps(jsonable, ensure_ascii=False, sort_keys=True)
            rows.append((str(siren), str(parsed), key, text, when.timestamp(), form))
            made.append(DeclaredAnswer(value=jsonable, declared_at=when, form=form))
        if rows:
            with self._cursor() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(_UPSERT, rows)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        return made

    def delete(self, ident: Ident, key: str) -> bool:
        """Forget one answer; whether there was one."""
        parsed = parse_siret_or_siren(ident)
        with self._cursor() as conn:
            return conn.execute(_DELETE, (str(parsed), key)).rowcount > 0

    def erase(self, siren: Ident) -> int:
        """Forget everything declared for the company and its establishments (GDPR erasure).

        Returns how many answers were deleted. A SIRET is read as its SIREN.
        """
        with self._cursor() as conn:
            return int(conn.execute(_ERASE, (_siren_of(siren),)).rowcount)

    # -- lifecycle ------------------------------------------------------------------------


def _siren_of(value: Ident) -> str:
    parsed = parse_siret_or_siren(value)
    return str(parsed.siren)


def _answer(row: tuple[Any, ...]) -> DeclaredAnswer:
    return DeclaredAnswer(
        value=json.loads(row[2]),
        declared_at=datetime.fromtimestamp(row[3], UTC),
        form=row[4],
    )


def default_answers_path() -> Path:
    """``$XDG_DATA_HOME/dlnuf/answers.db``, else ``~/.local/share/dlnuf/answers.db``.

    Answers are data the company gave, not a cache: they live in the data folder.
    """
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "dlnuf" / "answers.db"


def answers_location(settings: Settings, cache: Cache | str | None = _URL) -> Path | None:
    """Where a client configured by ``settings`` keeps answers: a file, or ``None`` for
    memory (see the module doc). ``cache`` is the client's cache (default: the one
    ``settings.cache`` names; nothing is opened)."""
    from .cache import MemoryCache, SQLiteCache, cache_target, default_cache_path

    if settings.answers is not None:
        chosen = settings.answers.strip()
        return None if chosen.lower() in (MEMORY, ":memory:") else Path(chosen)
    if cache is _URL:
        cache = settings.cache
    cache_file: Path | None = None
    if isinstance(cache, str):
        target = cache_target(cache)
        if target is None or target[0] == "memory":
            return None
        cache_file = target[1] if isinstance(target[1], Path) else None
    elif cache is None or isinstance(cache, MemoryCache):
        return None
    elif isinstance(cache, SQLiteCache):
        cache_file = cache.path
    path = default_answers_path()
    if cache_file is not None and cache_file != default_cache_path():
        path = cache_file.with_name(cache_file.stem + ".answers.db")
    if OFFLINE_SOURCES & set(settings.sources):
        return path.with_name("sandbox-" + path.name)
    if settings.base_urls:  # staging, a fake server...: not the store production reads
        urls = json.dumps(dict(settings.base_urls), sort_keys=True).encode()
        return path.with_name(f"{path.stem}-{hashlib.sha256(urls).hexdigest()[:8]}.db")
    return path


def open_answers(location: Path | None) -> AnswerStore:
    """The store at ``location`` (a file), or in memory for ``None``."""
    return AnswerStore.memory() if location is None else AnswerStore(location)
