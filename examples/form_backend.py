"""A small DC2 form back-end: a SIRET in, only the missing fields out, answers stored.

Run: ``pip install fastapi uvicorn`` then ``uvicorn examples.form_backend:app`` (offline:
the sandbox answers). The front end:

1. ``POST /dc2`` with ``{"siret": "55204944776279"}``: the pre-filled values with their
   source, and ``schema``, the JSON schema of exactly the fields left to ask
   (render it with any JSON-schema form library);
2. ``POST /dc2/{siret}/answers`` with the answers: ``200`` and the completed form, or
   ``422`` with an error per field. Declared answers (e-mail, phone...) are stored in
   the company's answer store: the next form for the company does not ask them again.

The server keeps no session: each call pre-fills again (from the cache).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import dlnuf
from dlnuf.forms import DC2, Draft, FormInvalid

__all__ = ["SiretIn", "app", "create_app"]


class SiretIn(BaseModel):
    """The body of ``POST /dc2``."""

    siret: str


def create_app(client: dlnuf.Client | None = None) -> FastAPI:
    """The application, over ``client`` (default: the offline sandbox, memory cache)."""
    dlnuf_client = client or dlnuf.Client(sources=["sandbox"], cache="memory://")
    api = FastAPI(title="DC2 pre-filled")

    def draft_for(siret: str) -> Draft[DC2]:
        try:
            draft = dlnuf_client.prefill(DC2, siret)
        except dlnuf.InvalidSiret as exc:
            raise HTTPException(status_code=422, detail={"siret": str(exc)}) from None
        if draft.not_found:
            raise HTTPException(status_code=404, detail=f"unknown SIRET {siret}")
        return draft

    @api.post("/dc2")
    def start(body: SiretIn) -> dict[str, Any]:
        """Pre-fill DC2: found values with their source, and the schema of what to ask."""
        draft = draft_for(body.siret)
        data = draft.as_dict()
        return {
            "siret": data["siret"],
            "closed": data["closed"],
            "warnings": data["warnings"],
            "values": data["values"],
            "sources": {name: p["description"] for name, p in data["provenance"].items()},
            "missing": data["missing"],
            "schema": draft.missing_json_schema(),
        }

    @api.post("/dc2/{siret}/answers", response_model=None)
    def answer(siret: str, answers: dict[str, Any]) -> dict[str, Any] | JSONResponse:
        """Validate and store the answers; the completed DC2, or 422 with field errors."""
        draft = draft_for(siret)
        try:
            form = draft.complete(**answers)
        except FormInvalid as exc:
            return JSONResponse(status_code=422, content={"field_errors": exc.field_errors})
        return {
            "form": form.model_dump(mode="json"),
            "conflicts": [
                {"field": c.field, "kept": c.verified, "answered": c.answered}
                for c in draft.conflicts
            ],
        }

    return api


app = create_app()
"""The application ``uvicorn examples.form_backend:app`` serves."""
