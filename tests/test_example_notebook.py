"""examples/notebook.ipynb is kept without outputs and runs, top to bottom, on the sandbox.

Executed by nbclient in a fresh kernel, as ``jupyter nbconvert --execute`` would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("pandas")


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert [c.outputs for c in code] == [[] for _ in code]
    assert {c.execution_count for c in code} == {None}
    assert "widgets" not in notebook.metadata


def _shown(cell: Any) -> tuple[str, str]:
    """The text and the HTML a cell displayed."""
    text, html = [], []
    for output in cell.outputs:
        data = output.get("data", {})
        text.append(data.get("text/plain", "") or output.get("text", ""))
        html.append(data.get("text/html", ""))
    return "\n".join(text), "\n".join(html)


def test_the_supplier_checks_notebook_runs_on_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    shown = {
        cell.source.splitlines()[-1]: _shown(cell)
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.outputs
    }
    text, html = shown["results"]
    assert text.startswith("<BatchResults 9 result(s): 6 ok")
    assert 'class="dlnuf-batch"' in html
    assert html.count('class="dlnuf-error"') == 3  # the typo, two suppliers without attestation
    closed, _ = shown['closed[["siret", "name", "closed on"]]']
    assert [line.split()[1] for line in closed.splitlines()[2:]] == [
        "35005144700018", "80467560100020", "41410106300017",
    ]
    expiring, _ = shown['expiring[["siret", "name", "attestation", "valid until"]]']
    rows = {line.split()[1]: line for line in expiring.splitlines()[2:]}
    assert set(rows) == {"55204944776279", "80467560100012"}
    assert "2023-07-31" in rows["55204944776279"]  # expired long before the deadline
    assert "refused" in rows["80467560100012"]
    _, dossier = shown["dossier"]
    assert 'class="dlnuf-dossier"' in dossier
    _, draft = shown['client.prefill(DC2, "319 318 077 00017")']
    assert 'class="dlnuf-draft"' in draft
    assert 'class="dlnuf-missing"' in draft
