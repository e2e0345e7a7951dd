"""Every Python block of README.md runs as written (offline: the blocks use the sandbox).

A block with a top-level ``await`` runs inside an async function. Blocks run in
a temporary working directory with the cache pointed there, so they leave nothing behind.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    code = BLOCKS[index]
    namespace: dict[str, object] = {}
    if re.search(r"^def test_", code, re.M):
        # A test module for the user's own suite: run it with pytest, as a user would.
        (tmp_path / "test_readme_block.py").write_text(code, encoding="utf-8")
        run = subprocess.run(  # noqa: S603 - our own interpreter, our own file
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
            capture_output=True, text=True, timeout=120, check=False,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert " passed" in run.stdout
        return
    if re.search(r"^\s*(async with|await) ", code, re.M) and "async def" not in code:
        body = "import dlnuf\nasync def _block():\n" + textwrap.indent(code, "    ")
        exec(compile(body, f"README block {index}", "exec"), namespace)  # noqa: S102
        asyncio.run(namespace["_block"]())  # type: ignore[arg-type]
    else:
        exec(compile(code, f"README block {index}", "exec"), namespace)  # noqa: S102
