"""The errors of supplier vigilance (rooted at :class:`~dlnuf.errors.DlnufError`)."""

from __future__ import annotations

from ..errors import ConfigurationError, DlnufError

__all__ = ["InvalidPortfolioFile", "PortfolioBusy"]


class InvalidPortfolioFile(ConfigurationError, ValueError):
    """A supplier file (CSV) cannot be read: the message names the line and the column.

    Nothing of the file is imported: fix the line and import it again.
    """


class PortfolioBusy(DlnufError):
    """Another refresh of the same portfolio is running: one run at a time.

    Wait for it to finish (a cron job can simply try again at its next tick).
    """

    transient = True
