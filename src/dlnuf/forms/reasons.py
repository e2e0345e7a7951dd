"""Why a field is left to ask, and the sources of the values the company gives itself."""

from __future__ import annotations

__all__ = [
    "ANSWERED_SOURCE",
    "ASKED",
    "DECLARED_SOURCE",
    "NOT_DECLARED",
    "PROTECTED",
    "REJECTED",
    "SWORN",
    "WITHHELD",
]

WITHHELD = "withheld: not diffusible"
PROTECTED = "protected data: needs an authenticated form"
SWORN = "sworn statement: never pre-filled"
NOT_DECLARED = "not declared yet"
ASKED = "asked on every form"
REJECTED = "rejected by the user"

DECLARED_SOURCE = "declared"
"""``Provenance.source`` of a value the company declared earlier (the answer store)."""
ANSWERED_SOURCE = "answered"
"""``Provenance.source`` of a value answered on this draft."""
