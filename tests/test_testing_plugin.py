"""The ``dlnuf_fake`` fixture in a user's suite: immediate retries, a clear error without
respx (issue 9)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import dlnuf
from dlnuf.testing import FakeUpstreams, make_company


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every ``time.sleep`` the client makes (rate pacing and retry backoff), still slept."""
    made: list[float] = []
    real = time.sleep

    def recording(seconds: float) -> None:
        made.append(seconds)
        real(seconds)

    monkeypatch.setattr(time, "sleep", recording)
    return made


def _persistent_503(fake: FakeUpstreams, retries: int) -> None:
    company = fake.add(make_company("active"))
    fake.fail("recherche_entreprises", status=503, times=None)
    with (
        dlnuf.Client(cache=None, retries=retries) as client,
        pytest.raises(dlnuf.UpstreamUnavailable),
    ):
        client.identity(company.siret)
    assert fake.requests["recherche_entreprises"] == retries + 1  # still retried


def test_injected_faults_are_retried_at_once(
    dlnuf_fake: FakeUpstreams, sleeps: list[float]
) -> None:
    _persistent_503(dlnuf_fake, retries=3)
    # No backoff: the 0.25-0.5, 0.5-1 and 1-2 s waits are gone (pacing at the source's
    # 7 requests per second may remain).
    assert all(s < 0.2 for s in sleeps), sleeps


@pytest.mark.dlnuf_real_timing
def test_the_real_backoff_is_kept_on_demand(
    dlnuf_fake: FakeUpstreams, sleeps: list[float]
) -> None:
    _persistent_503(dlnuf_fake, retries=1)
    assert max(sleeps) >= 0.25  # the first backoff: half to all of 0.5 s


def test_without_respx_the_fixture_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.modules['respx'] = None  # as on a plain `pip install dlnuf`\n"
    )
    (tmp_path / "test_user.py").write_text(
        "def test_uses_the_fake(dlnuf_fake):\n    pass\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert 'pip install "dlnuf[testing]"' in done.stdout
    assert "ModuleNotFoundError" not in done.stdout
