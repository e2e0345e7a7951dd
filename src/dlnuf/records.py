"""Facts as flat rows: dotted column names, JSON scalars, and pandas frames of them.

One flattening for every tabular view of facts: batch results
(:meth:`~dlnuf.batch.BatchResults.to_pandas`), dossiers
(:meth:`~dlnuf.dossier.Dossier.to_pandas`) and lists of facts (:func:`to_frame`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from .errors import ConfigurationError
from .facts.base import Fact

__all__ = [
    "cell",
    "fact_cells",
    "fact_records",
    "frame",
    "leaf_paths",
    "pandas",
    "to_frame",
    "value_at",
]


@cache
def leaf_paths(model: type[BaseModel], prefix: str = "") -> tuple[str, ...]:
    """Dotted paths of a model's fields, nested models flattened; a fact's own fields
    first, its ``withheld`` and ``provenance`` last."""
    paths: list[str] = []
    fields = model.model_fields
    if issubclass(model, Fact):
        last = [n for n in ("withheld", "provenance") if n in fields]
        fields = {n: fields[n] for n in [*(n for n in fields if n not in last), *last]}
    for name, info in fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += leaf_paths(annotation, f"{prefix}{name}.")
        else:
            paths.append(prefix + name)
    return tuple(paths)


def value_at(data: Any, path: str) -> Any:
    """The value at dotted ``path`` in nested dicts (``None`` when absent)."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def cell(value: Any) -> Any:
    """A JSON value as one table cell: lists of scalars joined with ``"; "``, other
    lists and mappings as JSON text, scalars as they are."""
    if isinstance(value, list):
        if all(isinstance(v, str | int | float | bool) for v in value):
            return "; ".join(str(v) for v in value)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def fact_cells(kind: type[Fact], fact: Fact | None, prefix: str = "") -> dict[str, Any]:
    """The fields of ``fact`` (of ``kind``; ``None``: all empty) as ``prefix + path`` cells."""
    dumped = fact.model_dump(mode="json") if fact is not None else None
    return {prefix + path: cell(value_at(dumped, path)) for path in leaf_paths(kind)}


def fact_records(facts: Iterable[Fact]) -> list[dict[str, Any]]:
    """One flat row per fact: ``kind``, then its fields (``address.city``,
    ``provenance.source``...)."""
    return [{"kind": type(f).__name__, **fact_cells(type(f), f)} for f in facts]


def pandas() -> Any:
    """The pandas module, or a :class:`~dlnuf.errors.ConfigurationError` saying how to get it."""
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise ConfigurationError(
            "to_pandas() needs pandas: pip install 'dlnuf[pandas]'"
        ) from exc


def frame(records: list[dict[str, Any]], first: Iterable[str] = ()) -> Any:
    """A DataFrame of ``records``; columns in order of first appearance, ``first`` first
    and the ``provenance.*`` ones last."""
    columns: dict[str, None] = dict.fromkeys(first)
    for record in records:
        columns.update(dict.fromkeys(record))
    order = [c for c in columns if "provenance." not in c] + [
        c for c in columns if "provenance." in c
    ]
    return pandas().DataFrame.from_records(records, columns=order)


def to_frame(facts: Iterable[Fact] | Mapping[Any, Fact]) -> Any:
    """A :class:`pandas.DataFrame` of facts, one row per fact (see :func:`fact_records`).

    Facts of different kinds share the columns they have in common; the others are
    empty. Needs pandas (``pip install 'dlnuf[pandas]'``).
    """
    values = facts.values() if isinstance(facts, Mapping) else facts
    return frame(fact_records(values), first=["kind"])
