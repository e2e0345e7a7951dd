"""Every script in examples/ runs and says what its docstring promises."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_lookup_example_reports_each_case() -> None:
    lines = runpy.run_path(str(EXAMPLES / "lookup.py"))["main"]()
    assert lines[0].startswith("552 049 447 76279: SOCIETE NATIONALE SNCF (active)")
    assert "closed on" in lines[1]
    assert "unknown to sandbox" in lines[2]
    assert "invalid (checksum)" in lines[3]
