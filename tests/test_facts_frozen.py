"""Facts share their sets of given fields, and each still reports its own."""

from __future__ import annotations

import pickle
import sys
from datetime import UTC, datetime

import dlnuf
from dlnuf import Identity, Siret
from dlnuf.facts import Address, Provenance
from dlnuf.testing import FakeUpstreams, make_companies

PROVENANCE = Provenance(source="test", endpoint="/x", fetched_at=datetime(2026, 1, 1, tzinfo=UTC))


def _identity(siret: str, **extra: object) -> Identity:
    return Identity(siret=Siret(siret), siren=Siret(siret).siren, provenance=PROVENANCE, **extra)


def test_each_fact_reports_the_fields_it_was_given() -> None:
    plain = _identity("55204944776279")
    named = _identity("55204944776279", legal_name="SNCF")
    assert "legal_name" not in plain.model_fields_set
    assert "legal_name" in named.model_fields_set
    assert plain.model_dump(exclude_unset=True).keys() == {"siret", "siren", "provenance"}
    assert named.model_dump(exclude_unset=True)["legal_name"] == "SNCF"


def test_a_copy_with_changes_leaves_the_original_and_its_twins_alone() -> None:
    first, twin = _identity("55204944776279"), _identity("55204944700014")
    changed = first.model_copy(update={"trade_name": "GARE"})
    assert "trade_name" in changed.model_fields_set
    assert "trade_name" not in first.model_fields_set
    assert "trade_name" not in twin.model_fields_set
    later = first.with_provenance(stale=True)
    assert later.provenance.stale
    assert not first.provenance.stale
    assert "stale" in later.provenance.model_fields_set
    assert "stale" not in first.provenance.model_fields_set


def test_facts_given_the_same_fields_hold_one_set_between_them() -> None:
    companies = make_companies(40, seed="frozen", kinds=("active",))
    fake = FakeUpstreams(companies)
    with fake.mock(), dlnuf.Client(sources=["recherche_entreprises"], cache=None) as client:
        facts = [client.identity(c.siret) for c in companies]
    assert len(facts) == 40
    sets = {id(f.__pydantic_fields_set__) for f in facts}
    addresses = {id(f.address.__pydantic_fields_set__) for f in facts if f.address}
    # A handful of shapes (with or without a trade name...), not one set per fact.
    assert len(sets) <= 4
    assert len(addresses) <= 4
    shared = facts[0].__pydantic_fields_set__
    assert sys.getsizeof(shared) > 500  # what each fact no longer carries on its own


def test_a_fact_survives_pickling_and_compares_equal() -> None:
    fact = _identity("55204944776279", legal_name="SNCF", address=Address(city="PARIS"))
    back = pickle.loads(pickle.dumps(fact))  # noqa: S301 - our own bytes
    assert back == fact
    assert back.model_fields_set == fact.model_fields_set
