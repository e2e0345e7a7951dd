"""mkdocs hooks for the docs site (``hooks:`` in mkdocs.yml).

The docstrings use Sphinx roles (``:class:`~dlnuf.Dossier```); mkdocstrings renders
them as text. This shows them as the code name alone, as Sphinx would.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data|obj):<code>(~?)([\w.]+)</code>")


def _name(match: re.Match[str]) -> str:
    shortened, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if shortened else target}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    """Replace each rendered Sphinx role with its code name."""
    return _ROLE.sub(_name, html)
