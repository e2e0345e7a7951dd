"""Supplier vigilance against the fake API Entreprise, with a clock the test controls.

The six-month run: 200 suppliers, pieces expiring, refused, establishments closed,
addresses, legal forms and VAT numbers changed; every due piece is fetched once,
nothing still valid is fetched, every change is reported, and the fake (enforcing
the documented pools, sped up) never answers 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

import dlnuf
import dlnuf.documents
from dlnuf.ratelimit import MemoryRateLimiter, Quota
from dlnuf.testing import FakeAddress, make_company
from dlnuf.testing.evidence import FILES_URL
from dlnuf.testing.vigilance import SupplierWorld
from dlnuf.vigilance import AsyncPortfolio, InvalidPortfolioFile, Portfolio, PortfolioBusy
from vigilance_kit import TOKEN, Clock, Recording, scaled_source, settings

SPEEDUP = 300.0
START = date(2026, 1, 5)
STORAGE = FILES_URL.rsplit("/files", 1)[0]


@pytest.fixture
def scaled_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The document download pool sped up like the upstream pools."""
    monkeypatch.setattr(dlnuf.documents, "DOWNLOAD_QUOTA",
                        Quota("documents:download", int(600 * SPEEDUP), 60))


def _client(
    speedup: float = SPEEDUP, *, is_async: bool = False
) -> dlnuf.Client | dlnuf.AsyncClient:
    config = settings()
    cls = dlnuf.AsyncClient if is_async else dlnuf.Client
    # Paced at 50 % of the quotas: at 300 times the speed a minute lasts 0.2 s, and in the
    # 5/min DGFIP window a thread admitted then kept off the GIL by twenty others (~100 ms
    # on a loaded 2-core machine) reaches the fake late, beside the next one: a 429. The
    # send gate's window is 0.2 s x (2 - 0.5) = 0.3 s, which absorbs 100 ms; on a real
    # minute that slack is seconds.
    return cls(sources=[scaled_source(speedup, config)], settings=config, cache=None,
               limiter=MemoryRateLimiter(safety=0.5))


def _other_vat(siren: str) -> str:
    """A VAT number other than the one the SIREN gives."""
    key = int(dlnuf.Siren(siren).vat_number[2:4])
    return f"FR{(key + 1) % 100:02d}{siren}"


def test_six_months_of_200_suppliers(tmp_path, scaled_downloads: None) -> None:
    companies = [make_company("active", seed=f"vigilance-{n}") for n in range(200)]
    sirens = [c.siren for c in companies]
    assert len(set(sirens)) == 200
    fake = Recording(companies, speedup=SPEEDUP)
    clock = Clock(START)
    world = SupplierWorld(fake, today=clock.today)
    with fake.mock(base_urls=[STORAGE]), world.installed(), _client() as client, \
            Portfolio(client, tmp_path / "portfolio.db", clock=clock) as portfolio:
        assert isinstance(client, dlnuf.Client)
        for n, company in enumerate(companies):  # the first 40 under a public contract
            kinds = None if n < 40 else ["SocialCertificate", "RegistryExtract"]
            portfolio.add(company.siret, contract=f"C-{n}", start=START, kinds=kinds)

        events = {
            30: lambda: ([world.change(c.siret, address=FakeAddress(street="DES LILAS"))
                          for c in companies[0:5]],
                         [world.change(c.siret, legal_form=("5499", "SARL"))
                          for c in companies[5:8]]),
            90: lambda: ([world.change(c.siret, closed=clock.today - timedelta(days=3))
                          for c in companies[20:25]],
                         [world.refuse(c.siren, "SocialCertificate") for c in companies[10:20]]),
            150: lambda: ([world.set_vat(c.siren, _other_vat(c.siren)) for c in companies[30:33]],
                          [world.refuse(c.siren, "TaxCertificate") for c in companies[0:3]]),
        }
        expected_changes = {
            30: {(c.siret, "address") for c in companies[0:5]}
            | {(c.siret, "legal_form") for c in companies[5:8]},
            90: {(c.siret, "establishment_closed") for c in companies[20:25]},
            150: {(c.siren, "vat_number") for c in companies[30:33]},
            # refusals are seen when the piece is renewed, six months on
            180: {(c.siren, "attestation_refused") for c in companies[10:20]}
            | {(c.siren, "attestation_refused") for c in companies[0:3]},
        }
        fetched_per_run: dict[int, int] = {}
        for day in (0, 30, 90, 150, 180):
            clock.now = clock.now.replace(year=START.year, month=START.month, day=START.day) \
                + timedelta(days=day)
            world.today = clock.today
            if day in events:
                events[day]()
            due = {(str(d.supplier.siren), d.kind) for d in portfolio.due()}
            mark = len(fake.paths)
            report = portfolio.refresh()
            asked = fake.piece_requests(sirens, mark)
            assert asked == dict.fromkeys(due, 1), f"day {day}"  # each due piece once, no other
            assert report.failures == []
            fetched_per_run[day] = len(report.fetched)
            assert {(c.subject, c.what) for c in portfolio.changes()} \
                == expected_changes.get(day, set()), f"day {day}"

        # first run: every piece; day 90 and 180: the Kbis (90 days) and then everything
        assert fetched_per_run[0] == 200 * 2 + 40
        assert fetched_per_run[30] == fetched_per_run[150] == 0
        assert fetched_per_run[90] == 200
        assert fetched_per_run[180] == 200 * 2 + 40
        assert fake.stats()["rate_limited"] == {}
        assert fake.requests["documents"] == (200 + 40) + (190 + 37)  # one PDF per delivery

        # what was due is gone, except the refusals
        left = {(str(d.supplier.siren), d.kind, d.reason) for d in portfolio.due()}
        assert left == {(c.siren, "SocialCertificate", "refused") for c in companies[10:20]} \
            | {(c.siren, "TaxCertificate", "refused") for c in companies[0:3]}

        # the proof valid on a given day, with its PDF
        early = portfolio.proof(companies[10].siren, "SocialCertificate", START + timedelta(10))
        assert early is not None
        assert early.security_code
        assert START.isoformat().encode() in portfolio.document(early)
        late = portfolio.proof(companies[50].siren, dlnuf.SocialCertificate,
                               START + timedelta(days=200))
        assert late is not None
        assert late.checked_at.date() == START + timedelta(days=180)
        assert portfolio.proof(companies[10].siren, "SocialCertificate",
                               START + timedelta(days=200)) is None


def test_async_refresh_then_nothing_twice(tmp_path, scaled_downloads: None) -> None:
    companies = [make_company("active", seed=f"vigilance-async-{n}") for n in range(6)]
    fake = Recording(companies, speedup=SPEEDUP)
    clock = Clock(START)
    world = SupplierWorld(fake, today=clock.today)

    async def scenario() -> tuple[int, int, int]:
        client = _client(is_async=True)
        assert isinstance(client, dlnuf.AsyncClient)
        async with client:
            with AsyncPortfolio(client, tmp_path / "p.db", clock=clock) as portfolio:
                for c in companies:
                    portfolio.add(c.siret)
                first = await portfolio.refresh()
                again = await portfolio.refresh()
                return len(first.fetched), len(again.fetched), again.watched

    with fake.mock(base_urls=[STORAGE]), world.installed():
        fetched, refetched, rewatched = asyncio.run(scenario())
    assert (fetched, refetched, rewatched) == (18, 0, 0)
    assert fake.piece_requests([c.siren for c in companies]) == {
        (c.siren, kind): 1 for c in companies
        for kind in ("SocialCertificate", "RegistryExtract", "TaxCertificate")
    }


def test_a_transient_fault_records_no_negative_answer(tmp_path, scaled_downloads: None) -> None:
    companies = [make_company("active", seed=f"vigilance-down-{n}") for n in range(3)]
    fake = Recording(companies, speedup=SPEEDUP)
    clock = Clock(START)
    world = SupplierWorld(fake, today=clock.today)
    with fake.mock(base_urls=[STORAGE]), world.installed(), _client() as client, \
            Portfolio(client, tmp_path / "p.db", clock=clock) as portfolio:
        for c in companies:
            portfolio.add(c.siret)
        fake.fail("api_entreprise", 503, times=None)
        report = portfolio.refresh()
        assert report.fetched == []
        assert portfolio.archive() == []
        assert len(report.failures) == 3 * 3 + 3 * 2  # pieces, identities, VAT numbers
        assert report.exit_code == 3
        assert {d.reason for d in portfolio.due()} == {"missing"}
        fake.clear_faults()
        again = portfolio.refresh()  # a fault is not an answer: asked again at once
        assert len(again.fetched) == 9
        assert again.failures == []
        assert again.exit_code == 0


def test_one_refresh_at_a_time(tmp_path) -> None:
    with dlnuf.Client(sources=["sandbox"], cache=None) as client, \
            Portfolio(client, tmp_path / "p.db") as portfolio, \
            Portfolio(client, tmp_path / "p.db") as other:
        portfolio.add("55204944776279")
        with portfolio._lock, pytest.raises(PortfolioBusy, match="another refresh"):
            other.refresh()
        assert len(other.refresh().fetched) == 3  # released: the next run goes


@pytest.fixture
def sandbox_portfolio(tmp_path) -> Iterator[Portfolio]:
    with dlnuf.Client(sources=["sandbox"], cache=None) as client, \
            Portfolio(client, tmp_path / "p.db") as portfolio:
        yield portfolio


# --- On the offline sandbox: due, archive, retention, privacy -----------------------------------


def test_due_says_why(sandbox_portfolio: Portfolio) -> None:
    p = sandbox_portfolio
    p.add("55204944776279", contract="A")
    p.add("80467560100012", contract="ended", end=date(2020, 1, 1))
    assert {(d.kind, d.reason) for d in p.due()} == {
        ("SocialCertificate", "missing"), ("RegistryExtract", "missing"),
        ("TaxCertificate", "missing")}
    p.refresh(watch=False)
    # the sandbox's URSSAF attestation runs 2023-01-31 .. 2023-07-31
    assert [d.reason for d in p.due(on=date(2023, 3, 1), within=0)
            if d.kind == "SocialCertificate"] == []
    assert [d.reason for d in p.due(on=date(2023, 7, 20), within=15)
            if d.kind == "SocialCertificate"] == ["expiring"]
    assert [d.reason for d in p.due(on=date(2023, 8, 1), within=0)
            if d.kind == "SocialCertificate"] == ["expired"]
    assert all(d.supplier.contract == "A" for d in p.due())  # the ended contract needs nothing


def test_csv_round_trip_and_bad_lines(sandbox_portfolio: Portfolio, tmp_path) -> None:
    p = sandbox_portfolio
    p.add("55204944776279", contract="A", start=date(2026, 1, 5), end=date(2026, 12, 31),
          kinds=[dlnuf.SocialCertificate], name="SNCF")
    text = p.export_csv()
    assert text.splitlines()[1] == "55204944776279,A,2026-01-05,2026-12-31,SocialCertificate,SNCF"
    assert p.remove("55204944776279") == 1
    assert p.import_csv(text) == 1
    assert p.export_csv() == text
    for bad, where in (("siret\n123\n", "line 2"), ("name\nX\n", "no 'siret' column"),
                       ("siret,start\n55204944776279,31-01-2026\n", "line 2, column start"),
                       ("siret,kinds\n55204944776279,Kbis\n", "unknown piece kind")):
        with pytest.raises(InvalidPortfolioFile, match=where):
            p.import_csv(bad)
    assert len(p.suppliers) == 1  # nothing of a bad file is kept


def test_the_cache_file_is_not_a_portfolio(tmp_path) -> None:
    cache = f"sqlite:///{tmp_path / 'cache.db'}"
    with dlnuf.Client(sources=["sandbox"], cache=cache) as client, \
            pytest.raises(dlnuf.ConfigurationError, match="cache's file"):
        Portfolio(client, tmp_path / "cache.db")


def test_retention_keeps_each_pieces_latest(tmp_path) -> None:
    clock = Clock(date(2026, 6, 1))
    with dlnuf.Client(sources=["sandbox"], cache=None) as client, \
            Portfolio(client, tmp_path / "p.db", clock=clock, retention_days=30) as p:
        p.add("55204944776279")
        p.refresh(watch=False)
        clock.advance(1)
        p.refresh(watch=False)  # the 2023 pieces, fetched again: the first ones are purged
        kept = p.archive()
        assert len(kept) == 3
        assert {c.checked_at.date() for c in kept} == {date(2026, 6, 2)}
        assert all(p.document(c) for c in kept if c.has_proof)


def test_no_secret_and_no_url_in_the_archive(tmp_path, scaled_downloads: None) -> None:
    companies = [make_company("sole_trader", seed="vigilance-secret")]
    fake = Recording(companies, speedup=SPEEDUP)
    world = SupplierWorld(fake, today=START)
    with fake.mock(base_urls=[STORAGE]), world.installed(), _client() as client, \
            Portfolio(client, tmp_path / "p.db", clock=Clock(START)) as portfolio:
        portfolio.add(companies[0].siret)
        assert len(portfolio.refresh().fetched) == 3
    raw = b"".join(f.read_bytes() for f in tmp_path.iterdir())
    assert TOKEN.encode() not in raw
    assert b"https://" not in raw
    assert b"%PDF" in raw  # the proof itself is there


def test_changes_compare_rules() -> None:
    from dlnuf.vigilance.changes import compare, piece_change

    assert compare({}, {"establishment_active": "yes", "address": "1 RUE X"}) == []
    assert compare({}, {"establishment_active": "no"}) == [
        ("establishment_closed", None, "no", "alert")]
    assert compare({"name": "ACME"}, {"name": None}) == []  # withheld is not renamed
    assert compare({"establishment_active": "no"}, {"establishment_active": "yes"}) == [
        ("reopened", "no", "yes", "info")]
    assert piece_change("TaxCertificate", "delivered", "not_found") == (
        "no_longer_delivered", "TaxCertificate delivered", "TaxCertificate not delivered",
        "alert")
    assert piece_change("SocialCertificate", "delivered", "delivered") is None


def test_the_vigilance_page_runs(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/vigilance.md's Python blocks, in order, in one namespace, on the sandbox."""
    import re
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    page = Path(__file__).resolve().parents[1] / "docs" / "vigilance.md"
    namespace: dict[str, object] = {}
    for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - our own page
    assert namespace["everything"]
