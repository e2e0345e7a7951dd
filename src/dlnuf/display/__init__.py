"""How dlnuf's results look to a person: short ``repr`` and notebook HTML.

The models call these from their ``__repr__`` and ``_repr_html_``; call them
directly to render elsewhere (a web page, a report).
"""

from .html import batch_results_html, dossier_html, draft_html, fact_html
from .summary import WITHHELD_TEXT, Summary, summarise
from .text import batch_result_repr, batch_results_repr, dossier_repr, draft_repr, fact_repr

__all__ = [
    "WITHHELD_TEXT",
    "Summary",
    "batch_result_repr",
    "batch_results_html",
    "batch_results_repr",
    "dossier_html",
    "dossier_repr",
    "draft_html",
    "draft_repr",
    "fact_html",
    "fact_repr",
    "summarise",
]
