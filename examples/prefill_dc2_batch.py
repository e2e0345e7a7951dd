"""Pre-fill DC2 for a list of SIRETs (notebook-style: run it cell by cell, or at once).

Run: ``python examples/prefill_dc2_batch.py`` (no network, no key: the offline
sandbox answers). Each ``# %%`` cell runs as a Jupyter/VS Code cell. Swap
``sources=["sandbox"]`` for your configured sources to do it for real.
"""

# %% Setup: one client for the whole batch, an in-memory answer store.
from __future__ import annotations

from typing import Any

import dlnuf
from dlnuf.forms import DC2, WITHHELD
from dlnuf.sources.sandbox import Sandbox

SIRETS = [*Sandbox.sirets(), "00000000000000"]  # every sandbox company, and an unknown one


# %% Pre-fill DC2 for each SIRET and keep one row per company.
def prefill_all(client: dlnuf.Client, sirets: list[str]) -> list[dict[str, Any]]:
    """One row per SIRET: what was found, what is left to ask, and why."""
    rows = []
    for siret in sirets:
        draft = client.prefill(DC2, siret)
        rows.append(
            {
                "siret": siret,
                "legal_name": draft.values.get("legal_name"),
                "found": len(draft.values),
                "to_ask": [m.name for m in draft.missing if m.required],
                "withheld": [m.name for m in draft.missing if m.reason == WITHHELD],
                "closed": draft.closed,
                "not_found": draft.not_found,
                "warnings": draft.warnings,
            }
        )
    return rows


# %% Show the table (pandas when installed, plain text otherwise).
def show(rows: list[dict[str, Any]]) -> None:
    """Print the rows as a table."""
    try:
        import pandas as pd
    except ImportError:
        for row in rows:
            print(row)
        return
    frame = pd.DataFrame(rows).set_index("siret")
    print(frame[["legal_name", "found", "to_ask", "closed", "not_found"]].to_string())


def main() -> list[dict[str, Any]]:
    """Run the batch and return the rows (the test reads them back)."""
    with dlnuf.Client(sources=["sandbox"], cache="memory://") as client:
        rows = prefill_all(client, SIRETS)
    show(rows)
    return rows


# %% Run
if __name__ == "__main__":
    main()
