"""Where answers go: sandbox and real data never mix; ``cache=None`` writes nothing (issue 9)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dlnuf
from dlnuf.forms import DC2
from dlnuf.testing import FakeUpstreams, make_company

SNCF = "55204944776279"
TURNOVER = [{"end": "2025-12-31", "amount": 1_250_000}]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home: every default place dlnuf could write to is under it."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "DLNUF_CACHE", "DLNUF_ANSWERS"):
        monkeypatch.delenv(name, raising=False)
    return home


def files_under(folder: Path) -> list[str]:
    return sorted(str(Path(root, name)) for root, _, names in os.walk(folder) for name in names)


def test_no_cache_and_no_answers_store_writes_no_file(
    home: Path, dlnuf_fake: FakeUpstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DLNUF_ANSWERS")  # the fixture's safety net: test the plain default
    company = dlnuf_fake.add(make_company("active", siret=SNCF))
    with dlnuf.Client(cache=None) as client:
        draft = client.prefill(DC2, company.siret)
        draft.complete(
            email="marches@example.fr", phone="+33 1 23 45 67 89", turnover=TURNOVER,
            legal_form="SA",
        )
        assert client.prefill(DC2, company.siret).values["email"] == "marches@example.fr"
    assert files_under(home) == []  # used to create ~/.cache/dlnuf/cache.db with the e-mail


def test_sandbox_answers_never_reach_the_store_real_lookups_read(
    home: Path, dlnuf_fake: FakeUpstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DLNUF_ANSWERS", "DLNUF_CACHE"):  # the fixture's safety net: test defaults
        monkeypatch.delenv(name)
    # The README's example, on the default persistent cache.
    with dlnuf.Client(sources=["sandbox"]) as client:
        client.prefill(DC2, SNCF).complete(
            email="marches@example.fr", phone="+33 1 23 45 67 89", turnover=TURNOVER
        )
    with dlnuf.Client(sources=["sandbox"]) as client:  # the sandbox remembers its own
        assert client.prefill(DC2, SNCF).values["email"] == "marches@example.fr"
    dlnuf_fake.add(make_company("active", siret=SNCF))
    with dlnuf.Client(cache="sqlite") as client:  # real source, default files
        draft = client.prefill(DC2, SNCF)
        assert "email" not in draft.values
        assert "phone" not in draft.values
        assert client.answers.get(SNCF) == {}
        assert client.answers.path == home / ".local" / "share" / "dlnuf" / "answers.db"


def test_answers_given_against_a_fake_or_staging_url_are_kept_apart(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = home / ".local" / "share" / "dlnuf" / "answers.db"
    with dlnuf.Client(cache="sqlite") as client:
        assert client.answers.path == real
    monkeypatch.setenv("DLNUF_RECHERCHE_ENTREPRISES_URL", "http://127.0.0.1:8089")
    with dlnuf.Client(cache="sqlite") as client:  # the fake server of dlnuf.testing
        client.answers.set(SNCF, "contact.email", "fake@example.fr")
        fake_store = client.answers.path
    assert fake_store is not None
    assert fake_store != real
    assert fake_store.parent == real.parent
    with dlnuf.Client(cache="sqlite") as client:  # the same fake server: the same store
        assert client.answers.get(SNCF)["contact.email"].value == "fake@example.fr"
    monkeypatch.delenv("DLNUF_RECHERCHE_ENTREPRISES_URL")
    with dlnuf.Client(cache="sqlite") as client:
        assert client.answers.get(SNCF) == {}
