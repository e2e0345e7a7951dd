"""What changed about a supplier: observed values compared with the previous ones.

:func:`identity_values` and :func:`vat_values` turn facts into the flat values
kept between runs; :func:`compare` says which differences are changes worth
reporting; :func:`piece_change` does the same for a piece's status (an
attestation refused, or no longer delivered).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..facts.evidence import VatNumber
from ..facts.identity import Identity
from .model import CheckStatus, Severity

__all__ = ["compare", "identity_values", "piece_change", "vat_values"]

ChangeRow = tuple[str, str | None, str | None, Severity]
"""``(what, old, new, severity)``."""

_BAD_AT_FIRST_SIGHT = {"establishment_active": "no", "company_active": "no"}
"""Values reported even on the first observation (a supplier already closed)."""
_WHAT = {
    "establishment_active": "establishment_closed",
    "company_active": "company_closed",
    "legal_form": "legal_form",
    "address": "address",
    "name": "name",
    "vat_number": "vat_number",
}


def identity_values(identity: Identity) -> dict[str, str | None]:
    """The identity values a change of which is reported."""
    legal_form = identity.legal_form_code
    if legal_form and identity.legal_form_label:
        legal_form = f"{legal_form} {identity.legal_form_label}"
    return {
        "establishment_active": "yes" if identity.active else "no",
        "company_active": "yes" if identity.legal_unit_active else "no",
        "legal_form": legal_form,
        "address": identity.address.one_line or None,
        "name": identity.name,
    }


def vat_values(vat: VatNumber) -> dict[str, str | None]:
    """The VAT number, as observed."""
    return {"vat_number": vat.number}


def compare(previous: Mapping[str, str | None], current: Mapping[str, str | None]) -> list[
    ChangeRow
]:
    """The changes from ``previous`` to ``current`` observed values.

    A field never observed before is not a change, except a closed establishment
    or company (a supplier found closed must be acted on). A reopening is
    reported as information.
    """
    rows: list[ChangeRow] = []
    for field, new in current.items():
        what = _WHAT.get(field, field)
        if field not in previous:
            if _BAD_AT_FIRST_SIGHT.get(field) == new:
                rows.append((what, None, new, "alert"))
            continue
        old = previous[field]
        if old == new:
            continue
        if field in _BAD_AT_FIRST_SIGHT and new == "yes":
            rows.append(("reopened" if field == "establishment_active" else "company_reopened",
                         old, new, "info"))
        elif field == "name" and (old is None or new is None):
            continue  # a withheld name is not a new name
        else:
            rows.append((what, old, new, "alert"))
    return rows


def piece_change(
    kind: str, previous: CheckStatus | None, current: CheckStatus
) -> ChangeRow | None:
    """The change a piece's new status makes, if any."""
    if current == previous:
        return None
    if current == "refused":
        return ("attestation_refused", f"{kind} {previous}" if previous else None,
                f"{kind} refused", "alert")
    if current == "not_found" and previous == "delivered":
        return ("no_longer_delivered", f"{kind} delivered", f"{kind} not delivered", "alert")
    if current == "delivered" and previous in ("refused", "not_found"):
        return ("delivered_again", f"{kind} {previous}", f"{kind} delivered", "info")
    return None
