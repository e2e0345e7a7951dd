"""Exit statuses of the ``dlnuf`` command, so that a script can branch on them.

==== ===========================================================================
0    done
1    not found: the upstream does not know the identifier (or withholds it)
2    invalid input or usage: a bad SIRET, a bad argument, a bad input file
3    transient: upstream down, timed out or quota exhausted; retry later
4    configuration: a bad setting or ``DLNUF_*`` variable, a missing or refused
     token, no configured source provides what was asked
5    upstream error: the upstream answered something dlnuf cannot use
6    something to act on (``dlnuf watch``: changes found, or pieces due)
130  interrupted (Ctrl-C)
141  output closed early (``dlnuf ... | head -1``)
==== ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import (
    ConfigurationError,
    DlnufError,
    Forbidden,
    InvalidIdentifier,
    NotFound,
    Unauthorized,
    UnsupportedKind,
    Withheld,
)
from ..vigilance.errors import InvalidPortfolioFile

__all__ = [
    "ACT",
    "BROKEN_PIPE",
    "CONFIGURATION",
    "INTERRUPTED",
    "NOT_FOUND",
    "OK",
    "TRANSIENT",
    "UPSTREAM",
    "USAGE",
    "UsageError",
    "exit_code",
    "worst",
]

OK = 0
NOT_FOUND = 1
USAGE = 2
TRANSIENT = 3
CONFIGURATION = 4
UPSTREAM = 5
ACT = 6
INTERRUPTED = 130
BROKEN_PIPE = 141

_SEVERITY = (CONFIGURATION, USAGE, TRANSIENT, UPSTREAM, NOT_FOUND)
"""Which status wins when several lookups failed differently (first is worst)."""


class UsageError(ConfigurationError):
    """A command-line argument or input file is wrong (exit status 2)."""


def exit_code(error: BaseException) -> int:
    """The exit status for ``error``."""
    if isinstance(error, UsageError | InvalidIdentifier | InvalidPortfolioFile):
        return USAGE
    if isinstance(error, ConfigurationError | Unauthorized | Forbidden | UnsupportedKind):
        return CONFIGURATION
    if isinstance(error, DlnufError) and error.transient:
        return TRANSIENT
    if isinstance(error, NotFound | Withheld):
        return NOT_FOUND
    return UPSTREAM


def worst(errors: Iterable[BaseException]) -> int:
    """The exit status for several errors: the most severe one's (0 when there is none)."""
    codes = {exit_code(error) for error in errors}
    return next((code for code in _SEVERITY if code in codes), OK)
