"""Supplier vigilance: know before a certificate lapses, keep the proof, see what changed.

A buyer must obtain from each contractor, at signature and every six months, the
URSSAF attestation de vigilance and a registry extract (Code du travail L8222-1,
D8222-5); public buyers also check the tax certificate. A :class:`Portfolio`
lists the suppliers, says what is :meth:`~Portfolio.due`, fetches it at the
upstream quotas (:meth:`~Portfolio.refresh`), archives each delivered PDF with its
security code and validity, and reports what changed since the previous run.
See ``docs/vigilance.md``.
"""

from .errors import InvalidPortfolioFile, PortfolioBusy
from .model import DEFAULT_KINDS, PIECE_KINDS, Change, Check, DuePiece, Supplier
from .portfolio import AsyncPortfolio, Portfolio
from .refresh import RefreshReport
from .report import changes_csv, changes_html, changes_json
from .store import default_portfolio_path

__all__ = [
    "DEFAULT_KINDS",
    "PIECE_KINDS",
    "AsyncPortfolio",
    "Change",
    "Check",
    "DuePiece",
    "InvalidPortfolioFile",
    "Portfolio",
    "PortfolioBusy",
    "RefreshReport",
    "Supplier",
    "changes_csv",
    "changes_html",
    "changes_json",
    "default_portfolio_path",
]
