"""HTML inputs from a draft's ``missing_json_schema()``, and the answers back from the post.

Only what the form still needs becomes an input: a text, e-mail, phone, date or number
input, a ``<select>`` for a choice, an unticked checkbox for a sworn statement, a small
table of rows for a list of objects (the DC2 turnover years). Every input has a
``<label>``; an error is tied to its field (``aria-describedby``, ``aria-invalid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

__all__ = ["ROWS", "parse_answers", "render_fields"]

ROWS = 3
"""Rows offered for a list of objects (DC2: the last three financial years)."""

_INPUT_TYPES = {"email": "email", "phone": "tel", "fax": "tel", "evidence_url": "url"}
_AUTOCOMPLETE = {"email": "email", "phone": "tel", "fax": "tel"}


def _unwrap(prop: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null branch of ``anyOf: [X, null]`` and whether null is allowed."""
    options = prop.get("anyOf")
    if not options:
        return dict(prop), False
    kept = [o for o in options if o.get("type") != "null"]
    merged = {**kept[0], **{k: v for k, v in prop.items() if k != "anyOf"}} if kept else {}
    return merged, len(kept) < len(options)


def _ref(schema: Mapping[str, Any], prop: Mapping[str, Any]) -> dict[str, Any]:
    ref = str(prop.get("$ref", ""))
    return dict(schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}))


def _notes(name: str, errors: Mapping[str, str], hints: Mapping[str, str]) -> tuple[str, str]:
    """The hint and error paragraphs of field ``name`` and the attributes tying the
    input to them (``aria-describedby``; ``aria-invalid`` on an error)."""
    ids: list[str] = []
    html = ""
    if name in hints:
        ids.append(f"hint-{name}")
        html += f'<p class="hint" id="hint-{name}">{escape(hints[name])}</p>'
    if name in errors:
        ids.append(f"error-{name}")
        html += f'<p class="error" id="error-{name}">{escape(errors[name])}</p>'
    attrs = f' aria-describedby="{" ".join(ids)}"' if ids else ""
    if name in errors:
        attrs = ' aria-invalid="true"' + attrs
    return html, attrs


def _input(name: str, prop: Mapping[str, Any], value: str, required: bool, attrs: str) -> str:
    kind = "text"
    if prop.get("format") == "date":
        kind = "date"
    elif prop.get("format") == "email":
        kind = "email"
    elif prop.get("type") in ("number", "integer"):
        kind = "number"
    kind = _INPUT_TYPES.get(name.rsplit("-", 1)[-1], kind)
    extra = ' step="any"' if prop.get("type") == "number" else ""
    if "minimum" in prop:
        extra += f' min="{prop["minimum"]}"'
    if "maximum" in prop:
        extra += f' max="{prop["maximum"]}"'
    auto = _AUTOCOMPLETE.get(name)
    extra += f' autocomplete="{auto}"' if auto else ""
    extra += " required" if required else ""
    return (f'<input type="{kind}" id="{name}" name="{name}" value="{escape(value)}"'
            f"{extra}{attrs}>")


def _field(schema: Mapping[str, Any], name: str, raw: Mapping[str, Any], required: bool,
           values: Mapping[str, str], errors: Mapping[str, str],
           hints: Mapping[str, str]) -> str:
    prop, _nullable = _unwrap(raw)
    title = escape(str(prop.get("title", name)))
    star = ' <span class="required">(required)</span>' if required else ""
    paragraph, attrs = _notes(name, errors, hints)
    if prop.get("type") == "boolean":
        return (f'<div class="field sworn"><input type="checkbox" id="{name}" name="{name}" '
                f'value="yes"{attrs}> <label for="{name}">{title}{star}</label>{paragraph}</div>')
    if "enum" in prop:
        chosen = values.get(name, str(prop.get("default") or ""))
        options = [] if required and prop.get("default") else ['<option value="">—</option>']
        for option in prop["enum"]:
            selected = " selected" if str(option) == chosen else ""
            options.append(f'<option value="{escape(str(option))}"{selected}>'
                           f"{escape(str(option))}</option>")
        return (f'<div class="field"><label for="{name}">{title}{star}</label>'
                f'<select id="{name}" name="{name}"{attrs}>{"".join(options)}</select>'
                f"{paragraph}</div>")
    if prop.get("type") == "array":
        item = _ref(schema, prop.get("items", {})) or dict(prop.get("items", {}))
        columns = item.get("properties", {})
        needed = set(item.get("required", []))
        head = "".join(f'<th scope="col">{escape(str(c.get("title", k)))}</th>'
                       for k, c in columns.items())
        rows = []
        for row in range(ROWS):
            cells = []
            for key, column in columns.items():
                sub, _ = _unwrap(column)
                cell = f"{name}-{row}-{key}"
                label = f'{escape(str(sub.get("title", key)))}, {row + 1}'
                cells.append(f'<td><label class="visually-hidden" for="{cell}">{label}</label>'
                             f"{_input(cell, sub, values.get(cell, ''), False, '')}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        note = f"columns {', '.join(sorted(needed))} needed on a filled row" if needed else ""
        return (f'<fieldset class="field" id="{name}"{attrs}><legend>{title}{star}</legend>'
                f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
                f'<p class="hint">{escape(note)}</p>{paragraph}</fieldset>')
    return (f'<div class="field"><label for="{name}">{title}{star}</label>'
            f"{_input(name, prop, values.get(name, ''), required, attrs)}{paragraph}</div>")


def render_fields(schema: Mapping[str, Any], values: Mapping[str, str] | None = None,
                  errors: Mapping[str, str] | None = None,
                  hints: Mapping[str, str] | None = None) -> str:
    """The inputs of every property of ``schema``, with ``values`` typed so far,
    ``errors`` and ``hints`` (why the field is asked) by field."""
    required = set(schema.get("required", []))
    return "".join(
        _field(schema, name, prop, name in required, values or {}, errors or {}, hints or {})
        for name, prop in schema.get("properties", {}).items()
    )


def _scalar(prop: Mapping[str, Any], text: str) -> Any:
    """A posted text as the JSON value the schema asks for (the form validates it)."""
    kind = prop.get("type")
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text


def parse_answers(schema: Mapping[str, Any], posted: Mapping[str, str]) -> dict[str, Any]:
    """The answers in a posted form: empty inputs and unticked boxes are not answers."""
    answers: dict[str, Any] = {}
    for name, raw in schema.get("properties", {}).items():
        prop, _ = _unwrap(raw)
        if prop.get("type") == "boolean":
            if posted.get(name) == "yes":
                answers[name] = True
            continue
        if prop.get("type") == "array":
            item = _ref(schema, prop.get("items", {}))
            lines = []
            for row in range(ROWS):
                line = {}
                for key, column in item.get("properties", {}).items():
                    text = posted.get(f"{name}-{row}-{key}", "").strip()
                    if text:
                        line[key] = _scalar(_unwrap(column)[0], text)
                if line:
                    lines.append(line)
            if lines:
                answers[name] = lines
            continue
        text = posted.get(name, "").strip()
        if text:
            answers[name] = _scalar(prop, text)
    return answers
