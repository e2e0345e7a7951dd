"""Which required pieces need action by a date: a pure function of suppliers and checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from .model import Check, DuePiece, DueReason, Supplier

__all__ = ["due_pieces", "reason_for"]


def reason_for(check: Check | None, by: date, today: date) -> DueReason | None:
    """Why a piece whose latest check is ``check`` needs action by ``by`` (``None``: it
    holds). ``today`` splits ``expired`` (already) from ``expiring`` (before ``by``)."""
    if check is None:
        return "missing"
    if check.status == "refused":
        return "refused"
    if check.status == "not_found":
        return "not_delivered"
    if check.valid_until is not None and check.valid_until < by:
        return "expired" if check.valid_until < today else "expiring"
    if check.expects_document and not check.has_proof:
        return "no_document"
    return None


def due_pieces(
    suppliers: Iterable[Supplier],
    latest: Mapping[tuple[str, str], Check],
    *,
    on: date,
    within: int = 0,
) -> list[DuePiece]:
    """For each supplier whose contract runs on ``on``, each required piece that is
    missing, refused, not delivered, without its document, or whose validity ends
    before ``on + within`` days."""
    by = on + timedelta(days=within)
    found: list[DuePiece] = []
    for supplier in suppliers:
        if not supplier.active_on(on):
            continue
        for kind in supplier.kinds:
            check = latest.get((str(supplier.siren), kind))
            reason = reason_for(check, by, on)
            if reason is not None:
                until = check.valid_until if check is not None else None
                found.append(DuePiece(supplier, kind, reason, until, check))
    return found
