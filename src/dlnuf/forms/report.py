"""What a fresh draft says besides its values: fetch errors, a closed company, warnings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..dossier import Dossier
from ..errors import NotFound
from ..facts.evidence import Association, RegistryExtract, VatNumber
from ..facts.identity import Identity
from .draft import Draft, KindError
from .kinds import KINDS
from .specs import FieldSpec

__all__ = ["report"]


def report(draft: Draft[Any], specs: Iterable[FieldSpec], dossier: Dossier) -> None:
    """Fill ``errors``, ``closed``, ``not_found`` and ``warnings`` of a fresh draft."""
    form = draft.form
    missing = set(draft.missing_names)
    for spec in specs:
        for key in spec.kinds(form.authenticated):
            kind = KINDS[key]
            error = dossier.errors.get(kind)
            if error is None:
                continue
            previous = draft.errors.get(kind)
            fields = previous.fields if previous else ()
            if spec.name in missing:
                fields = (*fields, spec.name)
            draft.errors[kind] = KindError(error, fields)
    identity = dossier.get(Identity)
    if isinstance(dossier.errors.get(Identity), NotFound):
        draft.not_found = True
        draft.warnings.append(f"{dossier.ident} is unknown: {dossier.errors[Identity]}")
    if identity is not None:
        if not identity.active:
            draft.closed = True
            since = f" since {identity.closing_date}" if identity.closing_date else ""
            draft.warnings.append(f"the establishment {identity.siret} is closed{since}")
        if not identity.legal_unit_active:
            draft.closed = True
            draft.warnings.append(f"the company {identity.siren} has ceased trading")
        if identity.redirected_from is not None:
            draft.warnings.append(
                f"{identity.redirected_from} was a duplicate: the values are those of "
                f"{identity.siret}"
            )
    registry = dossier.get(RegistryExtract)
    if registry is not None and registry.struck_off_on is not None:
        draft.closed = True
        draft.warnings.append(f"struck off the trade register on {registry.struck_off_on}")
    association = dossier.get(Association)
    if association is not None and (association.active is False or association.dissolution_date):
        draft.closed = True
        on = f" on {association.dissolution_date}" if association.dissolution_date else ""
        draft.warnings.append(f"the association is dissolved{on}")
    for name, prov in draft.provenance.items():
        if prov.stale:
            draft.warnings.append(
                f"{name}: served from the cache past its expiry ({prov.source} did not answer)"
            )
    vat = dossier.get(VatNumber)
    if vat is not None and not vat.matches_computed:
        draft.warnings.append(
            f"the VAT number {vat.number} is not the one computed from the SIREN"
        )

