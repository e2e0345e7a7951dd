"""One page: type a SIRET, get the DC1 or DC2 pre-filled, answer only what is missing.

Run it (offline, on the sandbox), from the repository root::

    python -m pip install -e ".[dev]"     # dlnuf, fastapi, uvicorn
    python -m examples.web                # http://127.0.0.1:8000

Found values are shown read-only with their source and date; only the missing fields
are inputs (rendered from ``draft.missing_json_schema()``); sworn statements are
unticked boxes. The answers the company declares (e-mail, phone...) are stored once
and not asked again on the next form. Plain HTML forms, no script: it works with the
keyboard alone and any browser.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

import dlnuf
from dlnuf.forms import DC1, DC2, Draft, Form, FormInvalid

from .schema_form import parse_answers, render_fields

__all__ = ["FORMS", "app", "create_app"]

FORMS: dict[str, type[Form]] = {"DC1": DC1, "DC2": DC2}
"""The forms the page offers, by the name in its URL."""

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:52em;margin:1em auto;padding:0 1em;color:#222}
label{display:block;font-weight:600;margin:.6em 0 .2em}
.sworn label{display:inline;font-weight:400}
input[type=text],input[type=email],input[type=tel],input[type=url],select{width:100%;padding:.3em}
table{border-collapse:collapse;width:100%}td,th{text-align:left;border-bottom:1px solid #ddd;
padding:.3em;vertical-align:top}.source{color:#555;font-size:.9em}
.error{color:#b00020;font-weight:600;margin:.2em 0}[aria-invalid=true]{outline:2px solid #b00020}
.alert{border:2px solid #b00020;padding:.5em 1em}.notice{border:1px solid #996;padding:.5em 1em}
.required{color:#b00020;font-weight:400;font-size:.9em}
.hint{color:#555;font-size:.9em;margin:.1em 0}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
button{margin-top:1em;padding:.5em 1.5em;font-size:1em}:focus{outline:3px solid #1a73e8}
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")


def _start(siret: str = "", form: str = "DC2", error: str = "") -> str:
    """The first page: which form, which SIRET; a bad SIRET's reason under its input."""
    choices = "".join(
        f'<option value="{name}"{" selected" if name == form else ""}>{name}</option>'
        for name in FORMS
    )
    described = ""
    message = ""
    if error:
        described = ' aria-invalid="true" aria-describedby="error-siret"'
        message = f'<p class="error" id="error-siret" role="alert">{escape(error)}</p>'
    return _page("Pre-filled public procurement forms", f"""
<h1>Your company's forms, pre-filled</h1>
<p>Type your SIRET: what the administration already knows is filled in for you.</p>
<form method="get" action="/form">
<label for="form">Form</label><select id="form" name="form">{choices}</select>
<label for="siret">SIRET (14 digits)</label>
<input type="text" id="siret" name="siret" value="{escape(siret)}" inputmode="numeric"
 autocomplete="off" required{described}>{message}
<button type="submit">Pre-fill</button>
</form>""")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if hasattr(value, "model_dump"):
        fields = value.model_dump(mode="json", exclude_none=True)
        return ", ".join(f"{k} {v}" for k, v in fields.items())
    return str(value)


def _form_page(draft: Draft[Any], values: dict[str, str] | None = None,
               errors: dict[str, str] | None = None) -> str:
    """The form: found values read-only with source and date, inputs for the rest."""
    form = draft.form
    name = draft.values.get("legal_name") or ""
    hints = {m.name: f"Asked because: {m.reason}." for m in draft.missing}
    found = "".join(
        f'<tr><th scope="row">{escape(p.label)}</th><td class="value" data-field="{p.field}">'
        f'{escape(_text(p.value))}</td><td class="source">{escape(p.source)}</td></tr>'
        for p in draft.preview()
    )
    notes = "".join(f"<li>{escape(w)}</li>" for w in draft.warnings)
    summary = ""
    if errors:
        items = "".join(f'<li><a href="#{escape(k)}">{escape(v)}</a></li>'
                        for k, v in errors.items())
        summary = (f'<div class="alert" role="alert" id="errors"><p>The form has '
                   f"{len(errors)} problem(s):</p><ul>{items}</ul></div>")
    return _page(f"{form.form_name} — {name}", f"""
<h1>{escape(form.title or form.form_name)}</h1>
<p>{escape(str(name))} — SIRET {escape(str(draft.ident))}</p>
{f'<ul class="notice" role="status">{notes}</ul>' if notes else ""}
<section aria-labelledby="found-title"><h2 id="found-title">Already known (read-only)</h2>
<table id="found"><thead><tr><th scope="col">Field</th><th scope="col">Value</th>
<th scope="col">Source and date</th></tr></thead><tbody>{found}</tbody></table></section>
<section aria-labelledby="ask-title"><h2 id="ask-title">To fill in</h2>{summary}
<form method="post" action="/form" id="answers" novalidate>
<input type="hidden" name="form" value="{form.form_name}">
<input type="hidden" name="siret" value="{escape(str(draft.ident))}">
{render_fields(draft.missing_json_schema(), values, errors, hints)}
<button type="submit">Submit {form.form_name}</button>
</form></section>""")


def _done(draft: Draft[Any], completed: Form) -> str:
    rows = "".join(
        f'<tr><th scope="row">{escape(key)}</th><td>{escape(_text(value))}</td></tr>'
        for key, value in completed.model_dump(mode="json").items() if value is not None
    )
    others = "".join(
        f'<li><a href="/form?form={other}&amp;siret={quote(str(draft.ident))}">'
        f"Fill in {other} for this company</a></li>"
        for other in FORMS if other != draft.form.form_name
    )
    return _page(f"{draft.form.form_name} completed", f"""
<h1 id="done">{escape(draft.form.form_name)} completed</h1>
<p role="status">Thank you. What you declared (e-mail, phone...) is kept: the next form
will not ask it again.</p><ul>{others}</ul>
<table><tbody>{rows}</tbody></table>""")


def create_app(client: dlnuf.Client | None = None) -> FastAPI:
    """The application, over ``client`` (default: the offline sandbox, memory cache)."""
    dlnuf_client = client or dlnuf.Client(sources=["sandbox"], cache="memory://")
    api = FastAPI(title="Pre-filled DC1 / DC2")

    def prefill(form: str, siret: str) -> Draft[Any] | HTMLResponse:
        kind = FORMS.get(form)
        if kind is None:
            return HTMLResponse(_start(siret, "DC2", f"unknown form {form!r}"), 422)
        try:
            draft = dlnuf_client.prefill(kind, siret)
        except dlnuf.InvalidSiret as exc:
            return HTMLResponse(_start(siret, form, str(exc)), 422)
        if draft.not_found:
            return HTMLResponse(_start(siret, form, f"SIRET {siret} is unknown: check it"), 404)
        return draft

    @api.get("/", response_class=HTMLResponse)
    def start() -> str:
        """The first page: a SIRET and a form to pre-fill."""
        return _start()

    @api.get("/form", response_class=HTMLResponse, response_model=None)
    def show(siret: str = "", form: str = "DC2") -> HTMLResponse | str:
        """The form pre-filled for ``siret``: only what is missing is asked."""
        draft = prefill(form, siret)
        return draft if isinstance(draft, HTMLResponse) else _form_page(draft)

    @api.post("/form", response_class=HTMLResponse, response_model=None)
    async def submit(request: Request) -> HTMLResponse | str:
        """Validate the answers; the completed form, or the form again with its errors."""
        posted = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        draft = prefill(posted.get("form", ""), posted.get("siret", ""))
        if isinstance(draft, HTMLResponse):
            return draft
        answers = parse_answers(draft.missing_json_schema(), posted)
        try:
            completed = draft.complete(**answers)
        except FormInvalid as exc:
            return HTMLResponse(_form_page(draft, posted, exc.field_errors), 422)
        return _done(draft, completed)

    return api


app = create_app()
"""The application ``python -m examples.web`` (or ``uvicorn examples.web.app:app``) serves."""
