"""The form machinery: markers, prefill, privacy, the Draft and its completion.

Forms here are written the way a user writes their own: a few annotated fields.
Facts are built by hand so that each rule is checked in isolation.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

import dlnuf
from dlnuf.answers import AnswerStore
from dlnuf.dossier import Dossier
from dlnuf.errors import NotFound, UpstreamUnavailable
from dlnuf.facts import Address, Headcount, Identity, Provenance, Turnover, TurnoverYear
from dlnuf.forms import (
    ASKED,
    NOT_DECLARED,
    PROTECTED,
    SWORN,
    WITHHELD,
    Declared,
    Derived,
    FactView,
    Form,
    FormInvalid,
    From,
    Protected,
    Sworn,
    prefill,
    required_kinds,
)
from dlnuf.identifiers import Siren, Siret

SIRET = Siret("55204944776279")
FETCHED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PUBLIC = Provenance(source="api_entreprise", endpoint="/diffusibles", fetched_at=FETCHED)
PROTECTED_PROV = Provenance(
    source="api_entreprise", endpoint="/protected", fetched_at=FETCHED, public=False
)


def identity(**changes: Any) -> Identity:
    values: dict[str, Any] = {
        "siret": SIRET,
        "siren": SIRET.siren,
        "legal_name": "ACME",
        "trade_name": "ACME SHOP",
        "legal_form_label": "SAS",
        "company_category": "PME",
        "is_head_office": True,
        "address": Address(
            number="2", street_type="PLACE", street_name="AUX ETOILES",
            postal_code="93210", city="SAINT-DENIS",
        ),
        "provenance": PUBLIC,
    }
    values.update(changes)
    return Identity(**values)


def dossier(*facts: Any, errors: dict[type[Any], Any] | None = None) -> Dossier:
    return Dossier(SIRET, {type(f): f for f in facts}, dict(errors or {}))


def sme(facts: FactView) -> bool | None:
    category = facts.value("identity.company_category")
    if category is not None:
        return bool(category == "PME")
    count = facts.value("headcount.headcount")
    return None if count is None else bool(count < 250)


class Mini(Form):
    """A user's own form: every kind of origin, in a few lines."""

    legal_name: Annotated[str, From("identity.legal_name"), Field(title="Dénomination")]
    address: Annotated[str, From("identity.address.one_line"), Field(title="Adresse")]
    small: Annotated[
        bool, Derived(sme, needs=("identity",), authenticated_needs=("headcount",)),
        Field(title="PME"),
    ]
    email: Annotated[str, Declared("contact.email"), Field(title="Adresse électronique")]
    honest: Annotated[bool, Sworn(), Field(title="Je le jure")]
    lot: Annotated[str | None, Field(title="Lot")] = None
    staff: Annotated[
        float | None, From("headcount.headcount"), Protected(), Field(title="Effectif")
    ] = None


class MiniAuth(Mini):
    authenticated: ClassVar[bool] = True


# --- Markers and form definition -------------------------------------------------------------


def test_required_kinds_leave_protected_data_out_of_a_public_form() -> None:
    assert required_kinds(Mini) == {Identity}
    assert required_kinds(MiniAuth) == {Identity, Headcount}
    assert required_kinds(Mini.as_authenticated()) == {Identity, Headcount}


def test_as_authenticated_is_the_same_form_marked_authenticated() -> None:
    variant = Mini.as_authenticated()
    assert variant.authenticated
    assert not Mini.authenticated
    assert variant.form_name == "Mini"
    assert variant is Mini.as_authenticated()
    assert MiniAuth.as_authenticated() is MiniAuth


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (Annotated[str, From("nothing.legal_name")], "unknown kind 'nothing'"),
        (Annotated[str, From("identity.no_such_field")], "has no attribute 'no_such_field'"),
        (Annotated[str, From("identity.address.nowhere")], "has no attribute 'nowhere'"),
        (Annotated[str, From("identity")], "name an attribute"),
        (Annotated[str, From("identity.siret"), Declared("x")], "several origins"),
        (Annotated[bool, Sworn(), Protected()], "sworn statement is never pre-filled"),
        (Annotated[str, Derived(sme, needs=("nowhere",))], "unknown kind 'nowhere'"),
        (Annotated[str, Derived(None, needs=("identity",))], "not a function"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_marker_fails_when_the_form_is_defined(annotation: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        type("Bad", (Form,), {"__annotations__": {"x": annotation}, "__module__": __name__})


def test_declared_level_is_checked() -> None:
    with pytest.raises(ValueError, match="level"):
        Declared("contact.email", level="street")


# --- prefill: values, missing, provenance ----------------------------------------------------


def test_prefill_gives_values_with_provenance_and_the_rest_as_missing_in_form_order() -> None:
    draft = prefill(Mini, dossier(identity()))
    assert draft.values == {
        "legal_name": "ACME",
        "address": "2 PLACE AUX ETOILES, 93210 SAINT-DENIS",
        "small": True,
    }
    assert draft.provenance == {"legal_name": PUBLIC, "address": PUBLIC, "small": PUBLIC}
    assert draft.origins == {"legal_name": "fact", "address": "fact", "small": "derived"}
    assert [(m.name, m.reason, m.required) for m in draft.missing] == [
        ("email", NOT_DECLARED, True),
        ("honest", SWORN, True),
        ("lot", ASKED, False),
        ("staff", PROTECTED, False),
    ]
    email = draft.missing[0]
    assert (email.label, email.type, email.origin, email.key) == (
        "Adresse électronique", str, "declared", "contact.email"
    )
    assert draft.siret == SIRET
    assert draft.siren == SIRET.siren
    assert not draft.closed
    assert not draft.errors
    assert not draft.warnings


def test_a_withheld_value_is_missing_with_the_reason_never_the_marker() -> None:
    partial = identity(
        legal_name=None,
        address=Address(postal_code="93210", city="SAINT-DENIS"),
        withheld=frozenset({"legal_name", "address.street_name", "address.number"}),
        diffusion="partiellement_diffusible",
    )
    draft = prefill(Mini, dossier(partial))
    reasons = {m.name: m.reason for m in draft.missing}
    assert reasons["legal_name"] == WITHHELD
    # one_line would print "93210 SAINT-DENIS" alone: a computed value over withheld parts
    # is withheld too.
    assert reasons["address"] == WITHHELD
    assert "legal_name" not in draft.values
    assert "address" not in draft.values
    assert draft.values["small"] is True  # the rest of the fact still fills the form


def test_a_public_form_never_gets_a_value_from_a_non_public_fact() -> None:
    protected_identity = identity(provenance=PROTECTED_PROV)
    public = prefill(Mini, dossier(protected_identity))
    assert public.values == {}
    assert {m.name: m.reason for m in public.missing}["legal_name"] == PROTECTED
    assert {m.name: m.reason for m in public.missing}["small"] == (
        f"could not be computed: {PROTECTED}"
    )
    entitled = prefill(MiniAuth, dossier(protected_identity))
    assert entitled.values["legal_name"] == "ACME"
    assert entitled.provenance["legal_name"].public is False


def test_a_protected_field_is_filled_only_on_an_authenticated_form() -> None:
    headcount = Headcount(year=2024, headcount=12.0, provenance=PROTECTED_PROV)
    facts = dossier(identity(company_category=None), headcount)
    public = prefill(Mini, facts)
    assert "staff" not in public.values
    assert "small" not in public.values  # the headcount is not read on a public form
    entitled = prefill(MiniAuth, facts)
    assert entitled.values["staff"] == 12.0
    assert entitled.values["small"] is True
    assert entitled.provenance["small"] is PROTECTED_PROV  # the fact the value came from


def test_a_kind_that_failed_leaves_its_fields_missing_with_the_error() -> None:
    down = UpstreamUnavailable("api_entreprise: upstream down [HTTP 503]", status=503)
    draft = prefill(Mini, dossier(errors={Identity: down}))
    reasons = {m.name: m.reason for m in draft.missing}
    assert reasons["legal_name"] == "Identity could not be fetched: api_entreprise: upstream down"
    assert reasons["small"].startswith("could not be computed: Identity could not be fetched")
    assert draft.errors[Identity] == (down, ("legal_name", "address", "small"))
    error, fields = draft.errors[Identity]
    assert error is down
    assert fields == ("legal_name", "address", "small")
    assert not draft.not_found


def test_an_unknown_company_is_not_found_not_an_exception() -> None:
    draft = prefill(Mini, dossier(errors={Identity: NotFound("unknown", status=404)}))
    assert draft.not_found
    assert draft.values == {}
    assert any("unknown" in w for w in draft.warnings)


def test_a_closed_company_is_said_so_and_still_prefilled() -> None:
    closed = identity(active=False, closing_date=date(2020, 5, 31), legal_unit_active=False)
    draft = prefill(Mini, dossier(closed))
    assert draft.closed
    assert draft.values["legal_name"] == "ACME"
    assert "the establishment 55204944776279 is closed since 2020-05-31" in draft.warnings
    assert "the company 552049447 has ceased trading" in draft.warnings


def test_a_value_of_the_wrong_type_for_the_field_is_missing_not_forced() -> None:
    class Strict(Form):
        created: Annotated[int, From("identity.legal_name")]

    draft = prefill(Strict, dossier(identity()))
    assert draft.missing[0].reason.startswith("value does not fit the field")


def test_from_with_several_paths_takes_the_first_that_has_a_value() -> None:
    class Either(Form):
        name: Annotated[str, From("identity.trade_name", "identity.legal_name")]

    assert prefill(Either, dossier(identity())).values["name"] == "ACME SHOP"
    assert prefill(Either, dossier(identity(trade_name=None))).values["name"] == "ACME"


def test_a_stale_value_is_reported() -> None:
    stale = identity(provenance=PUBLIC.model_copy(update={"stale": True, "from_cache": True}))
    draft = prefill(Mini, dossier(stale))
    assert any("past its expiry" in w for w in draft.warnings)
    assert "(cache, stale)" in draft.describe("legal_name")


# --- Declared answers ------------------------------------------------------------------------


def test_declared_answers_prefill_with_their_date_and_form() -> None:
    store = AnswerStore.memory()
    when = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    store.set(SIRET.siren, "contact.email", "marches@acme.fr", form="DC1", declared_at=when)
    draft = prefill(Mini, dossier(identity()), store)
    assert draft.values["email"] == "marches@acme.fr"
    assert draft.origins["email"] == "declared"
    assert draft.provenance["email"].source == "declared"
    assert draft.provenance["email"].fetched_at == when
    assert draft.describe("email") == "declared by the company on 2024-05-02 (DC1)"
    assert "email" not in draft.missing_names


def test_a_stored_answer_that_no_longer_fits_the_field_is_asked_again() -> None:
    store = AnswerStore.memory()
    store.set(SIRET.siren, "contact.email", ["not", "a", "string"], form="Old")
    draft = prefill(Mini, dossier(identity()), store)
    assert draft.missing[0].name == "email"
    assert draft.missing[0].reason.startswith("declared value no longer valid")


def test_establishment_level_answers_stay_with_their_establishment() -> None:
    class Site(Form):
        desk: Annotated[str, Declared("site.desk_phone", level="siret")]

    store = AnswerStore.memory()
    draft = prefill(Site, dossier(identity()), store)
    draft.complete(desk="01 02 03 04 05")
    assert store.export(SIRET.siren) == {
        str(SIRET): {"site.desk_phone": store.get(SIRET)["site.desk_phone"]}
    }
    other = Dossier(Siret("55204944700014"), {}, {})
    assert prefill(Site, other, store).missing_names == ["desk"]


# --- complete() --------------------------------------------------------------------------------


def test_complete_validates_stores_declared_answers_and_never_sworn_ones() -> None:
    store = AnswerStore.memory()
    draft = prefill(Mini, dossier(identity()), store)
    form = draft.complete(email="marches@acme.fr", honest=True, lot="2")
    assert isinstance(form, Mini)
    assert (form.legal_name, form.email, form.honest, form.lot) == (
        "ACME", "marches@acme.fr", True, "2"
    )
    stored = store.get(SIRET)
    assert set(stored) == {"contact.email"}  # not the sworn statement, not the lot
    assert stored["contact.email"].value == "marches@acme.fr"
    assert stored["contact.email"].form == "Mini"
    again = prefill(Mini, dossier(identity()), store)
    assert again.missing_names == ["honest", "lot", "staff"]


def test_a_wrong_type_answer_is_a_field_error_and_nothing_is_stored() -> None:
    store = AnswerStore.memory()
    draft = prefill(Mini, dossier(identity()), store)
    with pytest.raises(FormInvalid) as caught:
        draft.complete(email="marches@acme.fr", honest="perhaps")
    assert set(caught.value.field_errors) == {"honest"}
    assert "boolean" in caught.value.field_errors["honest"]
    assert isinstance(caught.value, dlnuf.DlnufError)
    assert store.get(SIRET) == {}


def test_a_missing_required_answer_is_a_field_error_naming_the_label() -> None:
    draft = prefill(Mini, dossier(identity()))
    with pytest.raises(FormInvalid) as caught:
        draft.complete(honest=True)
    assert caught.value.field_errors == {"email": "required, not answered (Adresse électronique)"}


def test_an_answer_to_an_unknown_field_is_refused_not_dropped() -> None:
    draft = prefill(Mini, dossier(identity()))
    with pytest.raises(FormInvalid) as caught:
        draft.complete(email="a@b.fr", honest=True, emial="typo@b.fr")
    assert caught.value.field_errors == {"emial": "not a field of Mini"}


def test_an_answer_contradicting_a_verified_value_loses_and_is_reported() -> None:
    draft = prefill(Mini, dossier(identity()))
    form = draft.complete(legal_name="ACME INTERNATIONAL", email="a@b.fr", honest=True)
    assert form.legal_name == "ACME"
    [conflict] = draft.conflicts
    assert (conflict.field, conflict.verified, conflict.answered) == (
        "legal_name", "ACME", "ACME INTERNATIONAL"
    )
    assert conflict.provenance is PUBLIC
    same = prefill(Mini, dossier(identity()))
    same.complete(legal_name="ACME", email="a@b.fr", honest=True)
    assert same.conflicts == []


def test_a_new_answer_replaces_an_earlier_declaration() -> None:
    store = AnswerStore.memory()
    store.set(SIRET.siren, "contact.email", "old@acme.fr", form="DC1")
    draft = prefill(Mini, dossier(identity()), store)
    draft.complete(email="new@acme.fr", honest=True)
    assert draft.conflicts == []
    assert store.get(SIRET)["contact.email"].value == "new@acme.fr"
    assert store.get(SIRET)["contact.email"].form == "Mini"


def test_answer_applies_answers_step_by_step_without_storing() -> None:
    store = AnswerStore.memory()
    draft = prefill(Mini, dossier(identity()), store)
    step = draft.answer(email="a@b.fr")
    assert step.values["email"] == "a@b.fr"
    assert step.origins["email"] == "answered"
    assert step.describe("email") == "answered on this form"
    assert "email" not in step.missing_names
    assert "email" in draft.missing_names
    assert store.get(SIRET) == {}
    assert not step.complete_enough
    assert step.answer(honest=False).complete_enough


def test_reject_drops_a_proposed_value_and_asks_for_it() -> None:
    draft = prefill(Mini, dossier(identity()))
    preview = {p.field: p for p in draft.preview()}
    assert preview["legal_name"].value == "ACME"
    assert preview["legal_name"].source.startswith("api_entreprise /diffusibles, fetched")
    assert preview["small"].source.startswith("computed from api_entreprise")
    rejected = draft.reject("legal_name")
    assert "legal_name" not in rejected.values
    assert rejected.missing_names[0] == "legal_name"
    form = rejected.complete(legal_name="ACME HOLDING", email="a@b.fr", honest=True)
    assert form.legal_name == "ACME HOLDING"
    assert rejected.conflicts == []
    with pytest.raises(FormInvalid):
        draft.reject("email")


# --- JSON -------------------------------------------------------------------------------------


def test_missing_json_schema_has_exactly_the_missing_fields_with_their_labels() -> None:
    draft = prefill(Mini, dossier(identity()))
    schema = draft.missing_json_schema()
    assert list(schema["properties"]) == ["email", "honest", "lot", "staff"]
    assert schema["required"] == ["email", "honest"]
    assert schema["properties"]["email"]["title"] == "Adresse électronique"
    assert schema["properties"]["honest"]["type"] == "boolean"
    assert schema["additionalProperties"] is False
    assert "$defs" not in schema


def test_as_dict_is_json_ready() -> None:
    store = AnswerStore.memory()
    store.set(SIRET.siren, "contact.email", "a@b.fr", form="DC1")
    down = UpstreamUnavailable("down", status=503)
    facts = dossier(identity(), errors={Headcount: down})
    data = json.loads(json.dumps(prefill(MiniAuth, facts, store).as_dict()))
    assert data["values"]["legal_name"] == "ACME"
    assert data["provenance"]["email"]["origin"] == "declared"
    assert data["errors"] == {
        "Headcount": {"error": "UpstreamUnavailable", "message": "down", "fields": ["staff"]}
    }


def test_a_draft_for_a_siren_has_no_siret() -> None:
    draft = prefill(Mini, Dossier(Siren("552049447"), {}, {}))
    assert draft.siret is None
    assert draft.siren == "552049447"


def test_derived_values_come_from_turnover_years() -> None:
    def latest(facts: FactView) -> int | None:
        year = facts.value("turnover.latest")
        return year.amount if year is not None else None

    class Money(Form):
        amount: Annotated[int, Derived(latest, needs=("turnover",))]

    turnover = Turnover(
        years=(TurnoverYear(amount=10, closing_date=date(2023, 12, 31)),), provenance=PUBLIC
    )
    assert prefill(Money, dossier(turnover)).values == {"amount": 10}
    empty = Turnover(provenance=PUBLIC)
    assert prefill(Money, dossier(empty)).missing[0].reason == (
        "could not be computed: not enough data"
    )
