"""The FastAPI DC2 back-end of examples/, driven through its TestClient."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dlnuf

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # Starlette's notice about its httpx-based test client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "form_backend.py"
SNCF = "55204944776279"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("form_backend", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def http() -> Iterator[TestClient]:
    client = dlnuf.Client(sources=["sandbox"], cache="memory://")
    with TestClient(load_example().create_app(client)) as test_client:
        yield test_client
    client.close()


def start(http: TestClient, siret: str = SNCF) -> dict[str, Any]:
    response = http.post("/dc2", json={"siret": siret})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_siret_gives_the_values_and_the_schema_of_the_missing_fields_only(
    http: TestClient,
) -> None:
    body = start(http)
    assert body["values"]["legal_name"] == "SOCIETE NATIONALE SNCF"
    assert body["sources"]["legal_name"].startswith("sandbox /v4/insee/sirene/etablissements/")
    schema = body["schema"]
    assert list(schema["properties"]) == [m["name"] for m in body["missing"]]
    assert "legal_name" not in schema["properties"]
    assert schema["required"] == ["email", "phone", "turnover"]
    assert schema["properties"]["email"]["title"] == "Adresse électronique"
    assert schema["properties"]["turnover"]["items"] == {"$ref": "#/$defs/TurnoverLine"}
    assert set(schema["$defs"]) == {"TurnoverLine"}


def test_answers_are_validated_then_stored_and_not_asked_again(http: TestClient) -> None:
    bad = http.post(f"/dc2/{SNCF}/answers", json={"email": "marches@sncf.fr", "turnover": "lots"})
    assert bad.status_code == 422
    assert set(bad.json()["field_errors"]) == {"phone", "turnover"}
    good = http.post(
        f"/dc2/{SNCF}/answers",
        json={
            "email": "marches@sncf.fr",
            "phone": "+33 1 23 45 67 89",
            "turnover": [{"end": "2024-12-31", "amount": 1200000, "share_percent": 10}],
        },
    )
    assert good.status_code == 200, good.text
    assert good.json()["form"]["email"] == "marches@sncf.fr"
    assert good.json()["form"]["turnover"][0]["amount"] == 1200000
    again = start(http)
    assert again["values"]["email"] == "marches@sncf.fr"
    assert again["sources"]["email"].startswith("declared by the company on ")
    assert again["schema"]["required"] == ["turnover"]  # declared once, asked once


def test_a_contradicting_answer_is_reported_and_the_verified_value_kept(
    http: TestClient,
) -> None:
    response = http.post(
        f"/dc2/{SNCF}/answers",
        json={
            "legal_name": "SNCF VOYAGEURS",
            "email": "a@sncf.fr",
            "phone": "01 23 45 67 89",
            "turnover": [],
        },
    )
    assert response.status_code == 200
    assert response.json()["form"]["legal_name"] == "SOCIETE NATIONALE SNCF"
    assert response.json()["conflicts"] == [
        {"field": "legal_name", "kept": "SOCIETE NATIONALE SNCF", "answered": "SNCF VOYAGEURS"}
    ]


def test_bad_and_unknown_sirets(http: TestClient) -> None:
    assert http.post("/dc2", json={"siret": "552 049 447 76278"}).status_code == 422
    assert http.post("/dc2", json={"siret": "00000000000000"}).status_code == 404


def test_a_closed_company_is_flagged(http: TestClient) -> None:
    body = start(http, "35005144700018")
    assert body["closed"] is True
    assert body["values"]["legal_name"] == "SCI SERGENT"
