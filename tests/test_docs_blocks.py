"""Every Python block of README.md and of every page under docs/ runs as written.

Pages are found when the tests are collected, so a new page is tested with no edit
here. How the blocks of a page run (in order, one namespace, offline on the sandbox;
``<!-- run: fake -->`` and ``<!-- run: skip (reason) -->``) is in ``tests/docblocks.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from docblocks import blocks, run_page

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
WITH_CODE = [page for page in PAGES if blocks(page)]


class SkippedDocBlock(UserWarning):
    """A documentation block marked ``<!-- run: skip (reason) -->``."""


@pytest.mark.parametrize("page", WITH_CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    skipped = run_page(page, tmp_path, monkeypatch)
    for block in skipped:
        warnings.warn(f"{block.where} not run: {block.reason}", SkippedDocBlock, stacklevel=1)


def test_the_readme_and_the_docs_have_python_examples() -> None:
    assert len(blocks(ROOT / "README.md")) >= 2
    assert sum(len(blocks(page)) for page in PAGES) >= 40


def test_skipped_blocks_are_few_and_say_why() -> None:
    skipped = [b for page in PAGES for b in blocks(page) if b.mode == "skip"]
    assert [b.where for b in skipped if not b.reason] == []
    total = sum(len(blocks(page)) for page in PAGES)
    assert len(skipped) * 10 <= total, [b.where for b in skipped]


def test_a_marker_applies_to_the_next_block_only(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- run: fake -->\n```python\na = 1\n```\n\n```python\nb = a\n```\n"
        "<!-- run: skip (needs a printer) -->\n```python\nprint(b)\n```\n"
        "```python\ndef test_x():\n    assert True\n```\n",
        encoding="utf-8",
    )
    assert [(b.mode, b.reason, b.line) for b in blocks(page)] == [
        ("fake", "", 2), ("offline", "", 6), ("skip", "needs a printer", 10), ("pytest", "", 13),
    ]


def page_of(tmp_path: Path, *blocks: str) -> Path:
    """A page in ``tmp_path`` made of ``blocks`` (Markdown, fences included)."""
    page = tmp_path / "page.md"
    page.write_text("".join(blocks), encoding="utf-8")
    return page


def test_an_offline_block_that_reaches_for_the_network_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = page_of(
        tmp_path,
        "```python\nimport dlnuf\nwith dlnuf.Client(cache=None) as client:\n"
        "    results = list(client.many(['55204944776279']))\n```\n",
    )  # many() reports the failure in the result instead of raising: still caught
    with pytest.raises(AssertionError, match="tried the network"):
        run_page(page, tmp_path, monkeypatch)


def test_a_fake_block_reaches_the_fake_upstreams_and_a_skipped_one_does_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = page_of(
        tmp_path,
        "<!-- run: fake -->\n```python\nimport dlnuf\nwith dlnuf.Client() as client:\n"
        "    ident = client.identity('55204944776279')\n```\n",
        "<!-- run: skip (would fail) -->\n```python\nraise SystemExit('ran')\n```\n",
        "```python\nassert ident.provenance.source == 'recherche_entreprises'\n```\n",
    )
    assert [b.line for b in run_page(page, tmp_path, monkeypatch)] == [8]


def test_blocks_share_one_namespace_and_may_await(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = page_of(
        tmp_path,
        "```python\nimport dlnuf\n"
        "client = dlnuf.AsyncClient(sources=['sandbox'], cache=None)\n```\n",
        "```python\nident = await client.identity('55204944776279')\nawait client.aclose()\n```\n",
        "```python\nassert ident.legal_name == 'SNCF'\n```\n",
    )
    with pytest.raises(AssertionError, match=r"page.md:9 failed: AssertionError"):
        run_page(page, tmp_path, monkeypatch)
