"""Helpers shared by the tests of the Sirene-backed sources (Recherche d'entreprises, INSEE).

Fixture loading, a response to a source's own request, what both sources must
read from the companies both fixture sets describe, and the property tests'
machinery: any JSON, or a real payload corrupted in one to four places, must give
an :class:`Identity` without a withheld marker in it, or a typed error.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from hypothesis import strategies as st

from dlnuf.config import Settings
from dlnuf.errors import NotFound, UnexpectedPayload
from dlnuf.facts.identity import Identity
from dlnuf.identifiers import Siren, Siret
from dlnuf.sources.base import Source, load_source

__all__ = [
    "FIXTURES",
    "answer",
    "any_json",
    "assert_association",
    "assert_exemple_industries_head_office",
    "assert_registered",
    "assert_withheld_sole_trader",
    "check_outcome",
    "corrupt",
    "load_fixture",
    "parse_identity",
]

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(folder: str, name: str) -> dict[str, Any]:
    """``tests/fixtures/<folder>/<name>.json``."""
    data: dict[str, Any] = json.loads((FIXTURES / folder / f"{name}.json").read_text())
    return data


def assert_registered(name: str, settings: Settings, cls: type[Source]) -> Source:
    """The source loaded under ``name``: an instance of ``cls``, a public Identity source."""
    loaded = load_source(name, settings)
    assert isinstance(loaded, cls)
    assert isinstance(loaded, Source)
    assert loaded.provides == frozenset({Identity})
    assert loaded.scope == "public"
    assert loaded.mount is None
    return loaded


def answer(
    source: Source, siret: Siret, body: Any = None, *, content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A 200 answering ``source``'s request for ``siret``: ``body`` as JSON, or ``content``."""
    request = source.request(Identity, siret)
    if content is not None:
        return httpx.Response(200, content=content, headers=headers, request=request)
    return httpx.Response(200, json=body, request=request)


def parse_identity(source: Source, siret: Siret, body: Any) -> Identity:
    """What ``source`` reads from ``body`` answered for ``siret``."""
    fact = source.parse(Identity, siret, answer(source, siret, body))
    assert isinstance(fact, Identity)
    return fact


def assert_exemple_industries_head_office(identity: Identity, siret: Siret) -> None:
    """The head office ``siret`` of EXEMPLE INDUSTRIES, an active diffusible PME."""
    assert identity.siret == siret
    assert identity.siren == Siren("912345675")
    assert identity.legal_name == "EXEMPLE INDUSTRIES"
    assert identity.trade_name == "EXEMPLE ATELIERS"
    assert identity.sigle == "EXI"
    assert identity.legal_form_code == "5710"
    assert identity.legal_form_label is None
    assert identity.naf_code == "28.29B"
    assert identity.company_category == "PME"
    assert identity.headcount_bracket == "22"
    assert identity.legal_unit_headcount_bracket == "31"
    assert identity.creation_date == date(2012, 3, 1)
    assert identity.establishment_creation_date == date(2012, 3, 1)
    assert identity.active is True
    assert identity.closing_date is None
    assert identity.legal_unit_active is True
    assert identity.is_head_office is True
    assert identity.head_office_siret == siret
    assert identity.ess is False
    assert identity.rna is None
    assert identity.is_sole_trader is False
    assert identity.diffusion == "diffusible"
    assert identity.redirected_from is None
    assert identity.withheld == frozenset()
    address = identity.address
    assert (address.number, address.repetition, address.street_type, address.street_name) == (
        "22", "B", "RUE", "DES ARTISANS",
    )
    assert address.complement == "BATIMENT C"
    assert (address.postal_code, address.city, address.city_code) == ("69007", "LYON", "69387")
    assert address.country == "FRANCE"
    assert address.postal_lines == (
        "EXEMPLE INDUSTRIES", "BATIMENT C", "22 B RUE DES ARTISANS", "69007 LYON", "FRANCE",
    )


def assert_withheld_sole_trader(identity: Identity, marker: str) -> None:
    """A partially diffusible sole trader: name and street withheld (never ``marker``),
    the commune kept."""
    assert identity.diffusion == "partiellement_diffusible"
    assert identity.is_sole_trader is True
    assert identity.legal_name is None
    assert identity.sigle is None
    assert identity.trade_name is None
    assert identity.address.street is None
    assert identity.address.postal_lines == ()
    assert (identity.address.city, identity.address.city_code) == ("BORDEAUX", "33063")
    assert identity.withheld == {
        "legal_name", "sigle", "trade_name", "address.number", "address.repetition",
        "address.street_type", "address.street_name", "address.complement",
        "address.special_distribution", "address.postal_code", "address.cedex_code",
        "address.cedex_label", "address.postal_lines",
    }
    assert marker not in identity.model_dump_json()


def assert_association(identity: Identity) -> None:
    """The association AAJP of Rennes: its RNA number, ESS, its postal lines with a BP."""
    assert identity.rna == "W353012345"
    assert identity.ess is True
    assert identity.legal_form_code == "9220"
    assert identity.address.postal_lines == (
        "ASSOCIATION DES AMIS DU JARDIN PARTAGE", "MAISON DES ASSOCIATIONS",
        "12 RUE DU JARDIN", "BP 45", "35000 RENNES", "FRANCE",
    )


def any_json(keys: Sequence[str], samples: Sequence[str]) -> st.SearchStrategy[Any]:
    """Any JSON value, its objects keyed by ``keys`` (or anything), its strings often
    ``samples`` (markers, states, identifiers, bad dates)."""
    scalars = (
        st.none() | st.booleans() | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=12)
        | st.sampled_from(list(samples))
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(list(keys)) | st.text(max_size=6), children, max_size=5),
        max_leaves=25,
    )


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    data = copy.copy(data)
    data[path[0]] = _replace(data[path[0]], path[1:], value)
    return data


def corrupt(body: Any, data: st.DataObject, values: st.SearchStrategy[Any]) -> Any:
    """``body`` with one to four of its parts (or itself) replaced by ``values``."""
    paths = _paths(body)
    for _ in range(data.draw(st.integers(1, 4))):
        body = _replace(body, data.draw(st.sampled_from(paths)), data.draw(values))
        paths = _paths(body)
    return body


def check_outcome(source: Source, siret: Siret, body: Any, marker: str) -> None:
    """``body`` gives an Identity without ``marker`` in it, or NotFound/UnexpectedPayload."""
    try:
        fact = source.parse(Identity, siret, answer(source, siret, body))
    except (UnexpectedPayload, NotFound):
        return
    assert isinstance(fact, Identity)
    assert marker not in fact.model_dump_json()
