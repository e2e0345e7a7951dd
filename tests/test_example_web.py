"""examples/web/ without a browser (FastAPI's TestClient): what each page holds.

The browser test (test_example_web_browser.py) drives the same pages in Chromium; this
one checks, for many companies and both forms, that only the missing fields are inputs,
each labelled, and that a withheld value never reaches the page.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

import dlnuf
from dlnuf.forms import DC1, DC2
from webexample import web_app

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # Starlette's notice about its httpx-based test client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

COMPANIES = ["55204944776279", "35005144700018", "42797966100019", "77567227221138",
             "31931807700017"]


class Fields(HTMLParser):
    """The inputs of the answers form, the labels' targets, the read-only fields."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.labelled: set[str] = set()
        self.shown: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select") and a.get("type") != "hidden":
            self.inputs[str(a["id"])] = a
        if tag == "label" and a.get("for"):
            self.labelled.add(str(a["for"]))
        if tag == "td" and a.get("data-field"):
            self.shown.append(str(a["data-field"]))


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    with web_app() as app, TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("form", [DC1, DC2], ids=lambda f: f.form_name)
@pytest.mark.parametrize("siret", COMPANIES)
def test_only_the_missing_fields_are_inputs_each_labelled(
    http: TestClient, form: type[dlnuf.forms.Form], siret: str
) -> None:
    with dlnuf.Client(sources=["sandbox"], cache=None) as client:
        draft = client.prefill(form, siret)
    page = http.get("/form", params={"form": form.form_name, "siret": siret})
    assert page.status_code == 200
    fields = Fields(page.text)
    assert {name.split("-", 1)[0] for name in fields.inputs} == set(draft.missing_names)
    assert set(fields.inputs) <= fields.labelled
    assert fields.shown == list(draft.values)
    for item in draft.missing:
        assert f"Asked because: {item.reason}." in page.text


def test_a_withheld_name_is_asked_never_shown(http: TestClient) -> None:
    with dlnuf.Client(sources=["sandbox"], cache=None, authenticated=True) as client:
        real = client.identity("42797966100019")
    assert real.legal_name
    assert real.address.street_name
    page = http.get("/form", params={"form": "DC2", "siret": "42797966100019"})
    assert "legal_name" in Fields(page.text).inputs
    assert "Asked because: withheld: not diffusible." in page.text
    assert real.legal_name not in page.text
    assert real.address.street_name not in page.text


def test_bad_and_unknown_sirets_say_why(http: TestClient) -> None:
    bad = http.get("/form", params={"form": "DC2", "siret": "552 049 447 76278"})
    assert bad.status_code == 422
    assert "the Luhn checksum fails" in bad.text
    assert 'aria-describedby="error-siret"' in bad.text
    unknown = http.get("/form", params={"form": "DC1", "siret": "00000000000000"})
    assert unknown.status_code == 404
    assert "SIRET 00000000000000 is unknown" in unknown.text


def test_a_posted_sworn_box_left_unticked_is_not_an_answer(http: TestClient) -> None:
    posted = {"form": "DC1", "siret": "35005144700018", "applies_for": "lot 1",
              "email": "a@example.fr", "phone": "01 02 03 04 05", "no_exclusion": "yes"}
    page = http.post("/form", data=posted)
    assert page.status_code == 422
    assert 'id="error-capacities_honest"' in page.text
    assert 'id="error-no_exclusion"' not in page.text
    posted["capacities_honest"] = "yes"
    assert http.post("/form", data=posted).status_code == 200
