"""The Sirene stock files as a local source, on a small generated stock (DuckDB)."""
# ruff: noqa: S608 - queries of generated test files, built from constants

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import dlnuf
from dlnuf.batch import BatchResult, acollect, collect
from dlnuf.errors import ConfigurationError, InvalidSiret, NotFound
from dlnuf.facts.base import Fact
from dlnuf.forms import DC1
from dlnuf.identifiers import Siret
from dlnuf.sources.base import load_source
from dlnuf.sources.sirene_stock import (
    COPY_FILE,
    SireneStock,
    StockOutdated,
    StockUnreadable,
)
from dlnuf.testing import FakeUpstreams, make_company
from dlnuf.testing.stock import ESTABLISHMENTS_FILE, UNITS_FILE, StockSummary, write_stock

COUNT = 3000
ABSENT = "73282932000074"
"""A valid SIRET the generator never makes (its SIRENs start with 4)."""


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> StockSummary:
    """A generated stock of 3,000 establishments (every case), shared by the module."""
    return write_stock(tmp_path_factory.mktemp("stock"), establishments=COUNT, seed=7)


def query(sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of ``sql``, read by DuckDB directly (not through dlnuf)."""
    with duckdb.connect() as con:
        cursor = con.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()


def all_sirets(stock: StockSummary) -> list[str]:
    path = (stock.folder / ESTABLISHMENTS_FILE).as_posix()
    return [r[0] for r in query(f"SELECT siret FROM '{path}' ORDER BY siret")[1]]


def row(stock: StockSummary, siret: str) -> dict[str, Any]:
    path = (stock.folder / ESTABLISHMENTS_FILE).as_posix()
    columns, rows = query(f"SELECT * FROM '{path}' WHERE siret = '{siret}'")
    assert len(rows) == 1
    return dict(zip(columns, rows[0], strict=True))


class CountingStock(SireneStock):
    """The stock source, counting its point and batch queries."""

    batch_size = 500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.points = 0
        self.batches: list[int] = []

    def answer(self, kind: type[Fact], ident: Any) -> dlnuf.Identity:
        self.points += 1
        return super().answer(kind, ident)

    def answer_many(self, kind: type[Fact], idents: Sequence[Siret]) -> dict[Siret, Fact]:
        self.batches.append(len(idents))
        return super().answer_many(kind, idents)


# -- one lookup -----------------------------------------------------------------------------


def test_identity_from_the_stock_through_the_client(
    stock: StockSummary, make_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLNUF_SIRENE_STOCK_DIR", str(stock.folder))
    client = make_client(sources=["sirene_stock"], cache=None)
    siret = stock.examples["company_head_office"]
    identity = client.identity(siret)
    raw = row(stock, siret)
    assert identity.siret == siret
    assert identity.is_head_office is True
    assert identity.head_office_siret == siret
    assert identity.active is True
    assert identity.address.street_name == raw["libelleVoieEtablissement"]
    assert identity.address.postal_code == raw["codePostalEtablissement"]
    assert identity.naf_code == raw["activitePrincipaleEtablissement"]
    units = (stock.folder / UNITS_FILE).as_posix()
    _, names = query(f"SELECT denominationUniteLegale FROM '{units}' WHERE siren = '{siret[:9]}'")
    assert identity.legal_name == names[0][0]
    assert identity.diffusion == "diffusible"
    assert not identity.withheld
    prov = identity.provenance
    assert prov.source == "sirene_stock"
    assert prov.updated_at is not None
    assert f"{prov.updated_at:%Y-%m}" == "2026-11"
    assert prov.age is not None
    assert prov.age == prov.fetched_at - prov.updated_at
    assert prov.public is True


def test_secondary_closed_and_sole_trader_rows(stock: StockSummary) -> None:
    with dlnuf.Client(sources=[SireneStock(folder=stock.folder)], cache=None) as client:
        secondary = client.identity(stock.examples["company_secondary"])
        assert secondary.is_head_office is False
        assert secondary.head_office_siret is not None
        assert secondary.head_office_siret != secondary.siret
        assert secondary.head_office_siret.siren == secondary.siren
        closed = client.identity(stock.examples["closed"])
        raw = row(stock, stock.examples["closed"])
        assert closed.active is False
        assert closed.closing_date == raw["dateDebut"]
        ceased = client.identity(stock.examples["ceased_unit"])
        assert ceased.legal_unit_active is False
        trader = client.identity(stock.examples["sole_trader"])
        assert trader.is_sole_trader is True
        assert trader.legal_name is not None
        assert " " in trader.legal_name


@pytest.mark.parametrize("case", ["partial_masked", "partial_unmasked"])
def test_a_partially_diffusible_person_is_withheld_on_its_status_alone(
    stock: StockSummary, case: str
) -> None:
    siret = stock.examples[case]
    raw = row(stock, siret)
    assert raw["statutDiffusionEtablissement"] == "P"
    masked = raw["libelleVoieEtablissement"] == "[ND]"
    assert masked is (case == "partial_masked")  # the unmasked case really holds the values
    with dlnuf.Client(sources=[SireneStock(folder=stock.folder)], cache=None) as client:
        identity = client.identity(siret)
        assert identity.diffusion == "partiellement_diffusible"
        assert identity.legal_name is None
        assert "legal_name" in identity.withheld
        assert identity.address.street_name is None
        assert "address.street_name" in identity.withheld
        assert identity.address.city == raw["libelleCommuneEtablissement"]  # commune kept
        draft = client.prefill(DC1, siret)
        assert "legal_name" not in draft.values
        assert not any(
            isinstance(v, str) and raw["libelleVoieEtablissement"] in v
            for v in draft.values.values()
        )


def test_unknown_bad_and_siren_inputs(stock: StockSummary) -> None:
    absent = Siret(ABSENT)
    with dlnuf.Client(sources=[SireneStock(folder=stock.folder)], cache=None) as client:
        with pytest.raises(NotFound, match="does not hold 73282932000074"):
            client.identity(absent)
        with pytest.raises(InvalidSiret):
            client.identity("40000000600010")
        with pytest.raises(InvalidSiret, match="SIRET"):
            client.identity(stock.examples["company_head_office"][:9])


def test_the_folder_is_required_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DLNUF_SIRENE_STOCK_DIR", raising=False)
    with pytest.raises(ConfigurationError, match="DLNUF_SIRENE_STOCK_DIR"):
        dlnuf.Client(sources=["sirene_stock"], cache=None)
    monkeypatch.setenv("DLNUF_SIRENE_STOCK_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError, match="dlnuf stock download"):
        dlnuf.Client(sources=["sirene_stock"], cache=None)
    with pytest.raises(ConfigurationError, match="number of days"):
        SireneStock(folder=tmp_path, env={"DLNUF_SIRENE_STOCK_MAX_AGE": "soon"})


def test_the_source_is_registered_under_its_entry_point(
    stock: StockSummary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLNUF_SIRENE_STOCK_DIR", str(stock.folder))
    source = load_source("sirene_stock", dlnuf.Settings())
    assert isinstance(source, SireneStock)
    assert "folder=" in repr(source)


# -- many() ---------------------------------------------------------------------------------


def test_many_answers_by_joins_not_point_queries(stock: StockSummary) -> None:
    sirets = all_sirets(stock)
    source = CountingStock(folder=stock.folder)
    with dlnuf.Client(sources=[source], cache=None) as client:
        results = collect(client.many([*sirets, "40000000600010", sirets[5], ABSENT]))
    assert len(results) == COUNT + 3
    assert sum(r.ok for r in results) == COUNT + 1
    assert type(results[COUNT].errors[dlnuf.Identity]).__name__ == "InvalidSiret"
    missing = results[COUNT + 2].errors[dlnuf.Identity]
    assert isinstance(missing, NotFound)
    assert missing.source == "sirene_stock"
    assert source.points == 0
    assert sum(source.batches) == COUNT + 1  # the repeated SIRET is asked once
    assert len(source.batches) == -(-(COUNT + 1) // source.batch_size)
    found = results[17].get(dlnuf.Identity)
    assert found is not None
    assert found.siret == sirets[17]
    with dlnuf.Client(sources=[SireneStock(folder=stock.folder)], cache=None) as client:
        single = client.identity(sirets[17])
    assert found.model_dump(exclude={"provenance"}) == single.model_dump(exclude={"provenance"})


def test_joins_from_several_threads_at_once_answer_as_one_at_a_time(
    stock: StockSummary,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sirets = [Siret(s) for s in all_sirets(stock)]
    slices = [sirets[i::4] for i in range(4)]
    source = SireneStock(folder=stock.folder)
    one_at_a_time = [source.answer_many(dlnuf.Identity, part) for part in slices]
    with ThreadPoolExecutor(4) as pool:
        side_by_side = list(pool.map(lambda p: source.answer_many(dlnuf.Identity, p), slices))
    assert [set(r) for r in side_by_side] == [set(p) for p in slices]
    def facts(answers: list[dict[Siret, Fact]]) -> list[dict[Siret, Any]]:
        return [{s: f.model_dump(exclude={"provenance"}) for s, f in a.items()} for a in answers]

    assert facts(side_by_side) == facts(one_at_a_time)


def test_many_in_the_async_client(stock: StockSummary) -> None:
    sirets = all_sirets(stock)[:700]
    source = CountingStock(folder=stock.folder)

    async def run() -> list[BatchResult]:
        async with dlnuf.AsyncClient(sources=[source], cache=None) as client:
            return await acollect(client.many(sirets))

    results = asyncio.run(run())
    assert [r.siret for r in results] == sirets
    assert all(r.ok for r in results)
    assert source.batches == [500, 200]
    assert source.points == 0


# -- fallback and staleness -----------------------------------------------------------------


def test_a_siret_missing_from_the_stock_falls_back_to_a_live_source(
    stock: StockSummary, dlnuf_fake: FakeUpstreams
) -> None:
    created_since = dlnuf_fake.add(make_company("active", seed=11))
    in_stock = stock.examples["company_head_office"]
    source = CountingStock(folder=stock.folder)
    with dlnuf.Client(sources=[source, "recherche_entreprises"]) as client:
        live = client.identity(created_since.siret)
        assert live.provenance.source == "recherche_entreprises"
        local = client.identity(in_stock)
        assert local.provenance.source == "sirene_stock"
        again = client.identity(created_since.siret)  # no negative answer kept for the stock
        assert again.siret == created_since.siret
        results = collect(client.many([in_stock, created_since.siret]))
    assert dlnuf_fake.requests["recherche_entreprises"] == 1  # then served from the cache
    assert [r.get(dlnuf.Identity).provenance.source for r in results] == [  # type: ignore[union-attr]
        "sirene_stock", "recherche_entreprises",
    ]


def test_a_stock_older_than_max_age_asks_the_live_source(
    stock: StockSummary, dlnuf_fake: FakeUpstreams
) -> None:
    siret = stock.examples["company_head_office"]
    dlnuf_fake.add(make_company("active", seed=12))
    old = SireneStock(folder=stock.folder, max_age=timedelta(days=1))
    assert old.age is not None
    assert old.age > timedelta(days=1)
    with dlnuf.Client(sources=[old], cache=None) as client, pytest.raises(
        StockOutdated, match="max_age 1 days"
    ):
        client.identity(siret)
    fresh_enough = SireneStock(folder=stock.folder, max_age=3650)
    with dlnuf.Client(sources=[fresh_enough], cache=None) as client:
        assert client.identity(siret).provenance.source == "sirene_stock"
    with dlnuf.Client(sources=[old, "recherche_entreprises"], cache=None) as client:
        results = collect(client.many([siret]))
    error = results[0].errors.get(dlnuf.Identity)
    # the generated company is unknown upstream: the live source was asked and said so
    assert isinstance(error, NotFound)
    assert error.source == "recherche_entreprises"


def test_an_unreadable_stock_is_a_typed_error_and_the_next_source_answers(
    stock: StockSummary, tmp_path: Path, dlnuf_fake: FakeUpstreams
) -> None:
    folder = tmp_path / "stock"
    shutil.copytree(stock.folder, folder)
    live = dlnuf_fake.add(make_company("active", seed=13))
    broken = SireneStock(folder=folder)
    (folder / ESTABLISHMENTS_FILE).write_bytes(b"PAR1 not parquet PAR1")
    with dlnuf.Client(sources=[broken], cache=None) as client, pytest.raises(
        StockUnreadable, match="dlnuf stock download"
    ):
        client.identity(stock.examples["company_head_office"])
    with dlnuf.Client(sources=[broken, "recherche_entreprises"], cache=None) as client:
        results = collect(client.many([live.siret]))
        assert results[0].get(dlnuf.Identity) is not None


# -- the sorted copy ------------------------------------------------------------------------


def test_the_sorted_copy_answers_the_same_and_is_ignored_once_the_files_change(
    stock: StockSummary, tmp_path: Path
) -> None:
    folder = tmp_path / "stock"
    shutil.copytree(stock.folder, folder)
    sirets = [*all_sirets(stock)[:50], stock.examples["partial_unmasked"]]
    plain = SireneStock(folder=folder)
    before = [plain.answer(dlnuf.Identity, s) for s in sirets]
    plain.build_copy()
    assert (folder / COPY_FILE).is_file()
    assert plain.info().copy is True
    indexed = SireneStock(folder=folder)
    after = [indexed.answer(dlnuf.Identity, s) for s in sirets]
    assert [a.model_dump(exclude={"provenance"}) for a in after] == [
        b.model_dump(exclude={"provenance"}) for b in before
    ]
    assert after[0].provenance.updated_at == before[0].provenance.updated_at
    many = indexed.answer_many(dlnuf.Identity, [Siret(s) for s in sirets])
    assert set(many) == set(sirets)
    # the batch query of the copy (rows read by position) answers what point queries do
    assert [many[Siret(s)].model_dump(exclude={"provenance"}) for s in sirets] == [
        b.model_dump(exclude={"provenance"}) for b in before
    ]
    # a new month's files: the copy was built from others and is not used
    write_stock(folder, establishments=100, seed=8, month=date(2026, 12, 1))
    os.utime(folder / ESTABLISHMENTS_FILE)
    changed = SireneStock(folder=folder)
    info = changed.info()
    assert info.copy is False
    assert info.establishments == 100
    assert info.month == "2026-12"
