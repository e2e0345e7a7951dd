"""Short ``repr`` of facts, dossiers, drafts and batch results: what a person wants first.

A fact's full content is one attribute away; its repr says what it is about, its
state, its validity and its source, in one line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..facts.base import Fact
from ..facts.identity import Identity
from .summary import summarise, validity_text

if TYPE_CHECKING:
    from ..batch import BatchResult
    from ..dossier import Dossier
    from ..errors import DlnufError
    from ..forms.draft import Draft

__all__ = ["batch_result_repr", "batch_results_repr", "dossier_repr", "draft_repr", "fact_repr"]

_SHOWN = 6
"""How many names a repr lists before saying how many more there are."""


def _names(names: Iterable[str]) -> str:
    items = list(names)
    shown = ", ".join(items[:_SHOWN])
    return shown + (f", +{len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def fact_repr(fact: Fact) -> str:
    """``<Identity 55204944776279: SOCIETE NATIONALE SNCF | active | sandbox, fetched ...>``."""
    s = summarise(fact)
    head = s.kind + (f" {s.ident}" if s.ident else "")
    parts = [p for p in (s.title, s.status, validity_text(s.valid_from, s.valid_until)) if p]
    parts.append(s.source)
    return f"<{head}: {' | '.join(parts)}>"


def _errors(errors: Mapping[type[Fact], DlnufError]) -> str:
    return _names(f"{kind.__name__} {type(err).__name__}" for kind, err in errors.items())


def _who(facts: Mapping[type[Fact], Fact]) -> str:
    identity = facts.get(Identity)
    if not isinstance(identity, Identity):
        return ""
    s = summarise(identity)
    state = f" ({s.status})" if s.status and s.status != "active" else ""
    return f" {s.title or ''}{state}".rstrip()


def dossier_repr(dossier: Dossier) -> str:
    """``<Dossier 55204944776279 SNCF: 5 facts (Identity, ...); 1 error (Turnover NotFound)>``."""
    text = f"<Dossier {dossier.ident}{_who(dossier.facts)}: {len(dossier.facts)} fact(s)"
    if dossier.facts:
        text += f" ({_names(k.__name__ for k in dossier.facts)})"
    if dossier.errors:
        text += f"; {len(dossier.errors)} error(s) ({_errors(dossier.errors)})"
    return text + ">"


def draft_repr(draft: Draft[Any]) -> str:
    """``<Draft DC2 for 55204944776279: 12 values, 3 missing (email, phone, turnover)>``."""
    text = f"<Draft {draft.form.form_name} for {draft.ident}: {len(draft.values)} value(s)"
    if draft.missing:
        text += f", {len(draft.missing)} missing ({_names(draft.missing_names)})"
    else:
        text += ", nothing missing"
    flags = [f for f, on in (("closed", draft.closed), ("not found", draft.not_found)) if on]
    if draft.errors:
        flags.append(f"{len(draft.errors)} kind(s) not fetched")
    if draft.conflicts:
        flags.append(f"{len(draft.conflicts)} conflict(s)")
    return text + "".join(f"; {f}" for f in flags) + ">"


def batch_result_repr(result: BatchResult) -> str:
    """``<BatchResult #0 55204944776279 SOCIETE NATIONALE SNCF: ok>`` or its errors."""
    ident = str(result.siret) if result.siret else repr(result.input)
    state = "ok" if result.ok else _errors(result.errors)
    return f"<BatchResult #{result.index} {ident}{_who(result.facts)}: {state}>"


def batch_results_repr(results: Iterable[BatchResult]) -> str:
    """``<BatchResults 4 results: 3 ok, 1 with errors (InvalidSiret 1)>``."""
    items = list(results)
    failed = [r for r in items if not r.ok]
    text = f"<BatchResults {len(items)} result(s): {len(items) - len(failed)} ok"
    if failed:
        counts = Counter(type(e).__name__ for r in failed for e in r.errors.values())
        detail = ", ".join(f"{name} {n}" for name, n in counts.most_common())
        text += f", {len(failed)} with errors ({detail})"
    return text + ">"
