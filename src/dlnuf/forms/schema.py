"""The JSON schema of some of a form's fields (what a draft still has to ask)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .form import Form

__all__ = ["fields_json_schema"]


def fields_json_schema(
    form: type[Form], fields: Iterable[tuple[str, str, bool]]
) -> dict[str, Any]:
    """A JSON schema of exactly ``fields`` (``(name, title, required)``) of ``form``."""
    full = _json_schema(form)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, title, is_required in fields:
        prop = dict(full["properties"][name])
        prop["title"] = title
        properties[name] = prop
        if is_required:
            required.append(name)
    schema: dict[str, Any] = {
        "title": form.title or form.form_name,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    defs = full.get("$defs", {})
    used = _refs(properties, defs)
    if used:
        schema["$defs"] = {name: defs[name] for name in sorted(used)}
    return schema


@functools.cache
def _json_schema(form: type[Form]) -> dict[str, Any]:
    return form.model_json_schema()


def _refs(node: Any, defs: Mapping[str, Any], found: set[str] | None = None) -> set[str]:
    """Names of the ``$defs`` that ``node`` refers to, transitively."""
    found = set() if found is None else found
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name not in found and name in defs:
                found.add(name)
                _refs(defs[name], defs, found)
        for value in node.values():
            _refs(value, defs, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, defs, found)
    return found
