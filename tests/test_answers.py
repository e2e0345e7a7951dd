"""The AnswerStore: what companies declared, per SIREN or SIRET, durable, GDPR-ready."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import dlnuf
from dlnuf.answers import AnswerStore, DeclaredAnswer
from dlnuf.cache import SQLiteCache
from dlnuf.errors import ConfigurationError, InvalidSiret
from dlnuf.identifiers import Siren, Siret

SIREN = Siren("552049447")
HEAD_OFFICE = Siret("55204944776279")
OTHER_SITE = Siret("55204944700014")
OTHER_COMPANY = Siren("130025265")
WHEN = datetime(2024, 5, 2, 8, 30, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnswerStore]:
    made = AnswerStore.memory() if request.param == "memory" else AnswerStore(tmp_path / "a.db")
    yield made
    made.close()


def test_an_answer_comes_back_with_its_date_and_form(store: AnswerStore) -> None:
    made = store.set(SIREN, "contact.email", "marches@sncf.fr", form="DC1", declared_at=WHEN)
    assert made == DeclaredAnswer(value="marches@sncf.fr", declared_at=WHEN, form="DC1")
    assert store.get(SIREN) == {"contact.email": made}
    assert store.get(HEAD_OFFICE) == {"contact.email": made}  # company answers hold for sites
    assert store.get("552 049 447") == {"contact.email": made}


def test_values_are_stored_as_json(store: AnswerStore) -> None:
    store.set(SIREN, "x.date", date(2024, 1, 31))
    store.set(SIREN, "x.list", [{"amount": 10}, None, True])
    got = store.get(SIREN)
    assert got["x.date"].value == "2024-01-31"
    assert got["x.list"].value == [{"amount": 10}, None, True]


def test_establishment_answers_overlay_the_company_ones_for_that_site_only(
    store: AnswerStore,
) -> None:
    store.set(SIREN, "contact.phone", "01 00 00 00 00", form="DC1")
    store.set(HEAD_OFFICE, "contact.phone", "01 11 11 11 11", form="DC2")
    assert store.get(HEAD_OFFICE)["contact.phone"].value == "01 11 11 11 11"
    assert store.get(OTHER_SITE)["contact.phone"].value == "01 00 00 00 00"
    assert store.get(SIREN)["contact.phone"].value == "01 00 00 00 00"


def test_set_replaces_an_earlier_answer(store: AnswerStore) -> None:
    store.set(SIREN, "contact.email", "old@sncf.fr", form="DC1", declared_at=WHEN)
    later = WHEN + timedelta(days=3)
    store.set(SIREN, "contact.email", "new@sncf.fr", form="DC2", declared_at=later)
    assert store.get(SIREN)["contact.email"] == DeclaredAnswer(
        value="new@sncf.fr", declared_at=later, form="DC2"
    )


def test_export_gives_everything_declared_for_the_company_and_its_sites(
    store: AnswerStore,
) -> None:
    store.set(SIREN, "contact.email", "a@sncf.fr", form="DC1", declared_at=WHEN)
    store.set(HEAD_OFFICE, "site.desk", "12", form="DC1", declared_at=WHEN)
    store.set(OTHER_COMPANY, "contact.email", "x@dinum.fr", form="DC1", declared_at=WHEN)
    exported = store.export(SIREN)
    assert exported == {
        "552049447": {"contact.email": DeclaredAnswer(value="a@sncf.fr", declared_at=WHEN,
                                                      form="DC1")},
        "55204944776279": {"site.desk": DeclaredAnswer(value="12", declared_at=WHEN,
                                                       form="DC1")},
    }
    assert store.export(HEAD_OFFICE) == exported  # a SIRET stands for its company


def test_erase_forgets_the_company_and_its_sites_and_nobody_else(store: AnswerStore) -> None:
    store.set(SIREN, "contact.email", "a@sncf.fr")
    store.set(OTHER_SITE, "site.desk", "12")
    store.set(OTHER_COMPANY, "contact.email", "x@dinum.fr")
    assert store.erase(SIREN) == 2
    assert store.export(SIREN) == {}
    assert store.get(OTHER_SITE) == {}
    assert store.get(OTHER_COMPANY)["contact.email"].value == "x@dinum.fr"
    assert store.erase(SIREN) == 0


def test_delete_forgets_one_answer(store: AnswerStore) -> None:
    store.set(SIREN, "contact.email", "a@sncf.fr")
    assert store.delete(SIREN, "contact.email") is True
    assert store.delete(SIREN, "contact.email") is False


def test_bad_input_is_refused_before_anything_is_written(store: AnswerStore) -> None:
    with pytest.raises(InvalidSiret):
        store.set("552 049 447 76278", "contact.email", "a@b.fr")
    with pytest.raises(ValueError, match="non-empty"):
        store.set_many([(SIREN, "ok", 1), (SIREN, "", 2)])
    with pytest.raises(ValueError, match="timezone"):
        store.set(SIREN, "k", 1, declared_at=datetime(2024, 1, 1))
    assert store.get(SIREN) == {}


def test_a_closed_store_says_so(store: AnswerStore) -> None:
    store.close()
    store.close()
    with pytest.raises(ConfigurationError, match="closed"):
        store.get(SIREN)


def test_answers_persist_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "answers.db"
    with AnswerStore(path) as first:
        first.set(SIREN, "contact.email", "a@sncf.fr", form="DC1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with AnswerStore(path) as second:
        assert second.get(SIREN)["contact.email"].value == "a@sncf.fr"


def test_the_cache_never_touches_the_answers_in_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    cache = SQLiteCache(path)
    answers = AnswerStore(path)
    past = datetime(2000, 1, 1, tzinfo=UTC)
    cache.set("k", b"v", expires_at=past, stale_until=past)
    answers.set(SIREN, "contact.email", "a@sncf.fr")
    cache.purge()
    cache.clear()
    assert answers.get(SIREN)["contact.email"].value == "a@sncf.fr"
    tables = {row[0] for row in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )}
    assert {"dlnuf_cache", "dlnuf_answers"} <= tables
    cache.close()
    answers.close()


def test_an_unusable_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigurationError, match="answer store"):
        AnswerStore(path)


def _write_answers(path: str, prefix: str, count: int) -> None:
    """In a child process: declare ``count`` answers one transaction at a time."""
    store = AnswerStore(path)
    for i in range(count):
        store.set(SIREN, f"{prefix}.{i}", i, form=prefix)
        store.set(SIREN, "shared", prefix, form=prefix)
    store.close()


def test_two_processes_writing_for_the_same_company_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    AnswerStore(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_answers, args=(path, name, 40)) for name in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    with AnswerStore(path) as store:
        answers = store.get(SIREN)
    assert {f"a.{i}" for i in range(40)} | {f"b.{i}" for i in range(40)} <= set(answers)
    assert len(answers) == 81
    assert answers["shared"].value in ("a", "b")


def test_the_client_keeps_answers_in_their_own_file_beside_its_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with dlnuf.Client(sources=["recherche_entreprises"], cache=f"sqlite:///{path}") as client:
        assert client.answers.path == tmp_path / "cache.answers.db"
        assert client.answers is client.answers
        client.answers.set(SIREN, "contact.email", "a@sncf.fr")
        client.cache.clear()  # type: ignore[union-attr]
    with AnswerStore(tmp_path / "cache.answers.db") as store:
        assert store.get(SIREN)["contact.email"].value == "a@sncf.fr"
    with sqlite3.connect(path) as conn:  # the cache's file holds no answer
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "dlnuf_answers" not in tables


def test_the_default_cache_keeps_answers_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with dlnuf.Client(sources=["recherche_entreprises"]) as client:
        assert client.answers.path == tmp_path / "data" / "dlnuf" / "answers.db"


def test_answers_argument_or_variable_chooses_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dlnuf.Client(sources=["sandbox"], cache=None, answers=str(tmp_path / "a.db")) as client:
        assert client.answers.path == tmp_path / "a.db"
    monkeypatch.setenv("DLNUF_ANSWERS", str(tmp_path / "b.db"))
    with dlnuf.Client(sources=["sandbox"], cache=None) as client:
        assert client.answers.path == tmp_path / "b.db"
    with AnswerStore.memory() as mine:
        with dlnuf.Client(["sandbox"], answers=mine) as client:
            assert client.answers is mine
        assert mine.get(SIREN) == {}  # the client did not close a store it was given


def test_a_corrupt_answers_file_is_a_typed_error_and_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "answers.db"
    garbage = b"this is not a SQLite database" * 100
    path.write_bytes(garbage)
    with pytest.raises(ConfigurationError, match=str(path)):
        AnswerStore(path)
    assert path.read_bytes() == garbage
