"""SIREN, SIRET, RNA and VAT numbers: parsing, checksums, errors, pydantic use."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from dlnuf.errors import InvalidIdentifier, InvalidRna, InvalidSiren, InvalidSiret
from dlnuf.identifiers import Rna, Siren, Siret, luhn_valid, parse_siret_or_siren, vat_number

SNCF_SIRET = "55204944776279"
SNCF_SIREN = "552049447"
LA_POSTE_HEAD_OFFICE = "35600000000048"
LA_POSTE_SIREN = "356000000"


# An oracle written independently of dlnuf.identifiers.luhn_valid.
def luhn_sum(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value // 10 + value % 10
    return total


def luhn_complete(payload: str) -> str:
    """``payload`` followed by the one digit that makes the whole Luhn-valid."""
    check = next(d for d in "0123456789" if luhn_sum(payload + d) % 10 == 0)
    return payload + check


def expected_vat(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
sirens = st.text(alphabet="0123456789", min_size=8, max_size=8).map(luhn_complete)
non_la_poste_sirets = st.tuples(
    sirens.filter(lambda s: s != LA_POSTE_SIREN),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
).map(lambda parts: luhn_complete(parts[0] + parts[1]))


# --- accepted input forms -----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "55204944776279",
        "552 049 447 76279",
        "552.049.447.76279",
        "552\u00a0049\u00a0447\u00a076279",  # non-breaking space
        "552\u202f049\u202f447\u202f76279",  # narrow non-breaking space (French typography)
        "552\t049\t447\t76279",
        "552\u2009049\u2009447\u200976279",  # thin space
        "  552 049 447 76279  ",
        "\n55204944776279\r\n",
        "552 . 049 447\u00a0 76279",
    ],
)
def test_siret_accepts_separators_and_surrounding_whitespace(raw: str) -> None:
    siret = Siret(raw)
    assert siret == SNCF_SIRET
    assert str(siret) == SNCF_SIRET
    assert isinstance(siret, str)


@pytest.mark.parametrize(
    "raw", ["552049447", "552 049 447", "552.049.447", "552\u00a0049\u202f447", " 552049447\t"]
)
def test_siren_accepts_separators_and_surrounding_whitespace(raw: str) -> None:
    assert Siren(raw) == SNCF_SIREN


def test_siret_parts() -> None:
    siret = Siret("552 049 447 76279")
    assert siret.siren == SNCF_SIREN
    assert isinstance(siret.siren, Siren)
    assert siret.nic == "76279"
    assert siret.formatted == "552 049 447 76279"
    assert repr(siret) == "Siret('55204944776279')"


def test_siren_formatted() -> None:
    assert Siren("552049447").formatted == "552 049 447"
    assert repr(Siren("552049447")) == "Siren('552049447')"


@pytest.mark.parametrize(
    ("siren", "vat"),
    [
        ("356000000", "FR39356000000"),
        ("404833048", "FR83404833048"),
        (SNCF_SIREN, expected_vat(SNCF_SIREN)),
    ],
)
def test_vat_number(siren: str, vat: str) -> None:
    assert Siren(siren).vat_number == vat
    assert vat_number(siren) == vat


def test_siret_vat_number_is_its_legal_units() -> None:
    assert Siret(SNCF_SIRET).vat_number == expected_vat(SNCF_SIREN)
    assert Siret(LA_POSTE_HEAD_OFFICE).vat_number == "FR39356000000"


def test_vat_key_has_two_digits() -> None:
    # Keys below 10 keep their leading zero: FR + 2 digits + 9 digits, always 13 characters.
    siren = next(
        s
        for s in (luhn_complete(f"{n:08d}") for n in range(10_000))
        if (12 + 3 * (int(s) % 97)) % 97 < 10
    )
    assert Siren(siren).vat_number == f"FR0{(12 + 3 * (int(siren) % 97)) % 97}{siren}"
    assert len(Siren(siren).vat_number) == 13


def test_parse_returns_the_same_instance_for_an_already_valid_value() -> None:
    siret = Siret(SNCF_SIRET)
    assert Siret(siret) is siret
    assert Siret.parse("552 049 447 76279") == siret


def test_is_valid() -> None:
    assert Siret.is_valid("552 049 447 76279")
    assert not Siret.is_valid("55204944776278")
    assert not Siret.is_valid(None)
    assert Siren.is_valid(SNCF_SIREN)
    assert not Siren.is_valid("552049448")


# --- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u00a0.\t", "empty"),
        (None, "type"),
        (55204944776279, "type"),
        (True, "type"),
        (b"55204944776279", "type"),
        ("5520494477627A", "characters"),
        ("SIRET 55204944776279", "characters"),
        ("552-049-447-76279", "characters"),
        ("55204944776279\u00b2", "characters"),  # "²" is a digit for str.isdigit
        (
            "\u0665\u0665\u0662\u0660\u0664\u0669\u0664\u0664\u0667\u0667\u0666\u0662\u0667\u0669",
            "characters",
        ),  # Arabic-Indic digits
        ("5520494477627", "length"),  # 13 digits
        ("552049447762790", "length"),  # 15 digits
        ("55204944776278", "checksum"),  # last digit mistyped
        ("55304944776279", "checksum"),  # a SIREN digit mistyped
    ],
)
def test_invalid_siret_reason_and_message(value: object, reason: str) -> None:
    with pytest.raises(InvalidSiret) as excinfo:
        Siret(value)
    error = excinfo.value
    assert error.reason == reason
    assert error.value == value
    assert repr(value) in str(error), "the message shows the input back"
    assert str(error).startswith("invalid SIRET ")
    assert error.detail in str(error)


def test_integer_input_explains_leading_zeros() -> None:
    with pytest.raises(InvalidSiret, match="leading zeros") as excinfo:
        Siret(55204944776279)
    assert "55204944776279" in str(excinfo.value)


def test_length_message_counts_digits() -> None:
    with pytest.raises(InvalidSiret, match="14 digits, this one has 13"):
        Siret("552 049 447 7627")


def test_characters_message_names_the_bad_characters() -> None:
    with pytest.raises(InvalidSiret, match="'-'"):
        Siret("552-049-447-76279")


def test_siren_given_where_a_siret_is_required() -> None:
    with pytest.raises(InvalidSiret) as excinfo:
        Siret("552 049 447")
    assert excinfo.value.reason == "length"
    assert "SIREN" in str(excinfo.value)
    assert "14-digit SIRET" in str(excinfo.value)


def test_siret_given_where_a_siren_is_required() -> None:
    with pytest.raises(InvalidSiren) as excinfo:
        Siren(SNCF_SIRET)
    assert excinfo.value.reason == "length"
    assert "9 digits" in str(excinfo.value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        (None, "type"),
        (552049447, "type"),
        ("55204944A", "characters"),
        ("55204944", "length"),
        ("552049448", "checksum"),
    ],
)
def test_invalid_siren_reason(value: object, reason: str) -> None:
    with pytest.raises(InvalidSiren) as excinfo:
        Siren(value)
    assert excinfo.value.reason == reason
    assert repr(value) in str(excinfo.value)


def test_errors_are_value_errors_and_identifier_errors() -> None:
    with pytest.raises(ValueError, match="checksum"):
        Siret("55204944776278")
    with pytest.raises(InvalidIdentifier):
        Siren("552049448")


def test_siret_on_an_invalid_siren_is_refused_even_if_the_14_digits_pass_luhn() -> None:
    siren = "552049448"  # Luhn-invalid SIREN
    assert luhn_sum(siren) % 10
    siret = luhn_complete(siren + "0001")
    with pytest.raises(InvalidSiret, match="first 9 digits") as excinfo:
        Siret(siret)
    assert excinfo.value.reason == "checksum"


# --- La Poste -------------------------------------------------------------------


def test_la_poste_head_office_is_valid_under_luhn() -> None:
    assert luhn_sum(LA_POSTE_HEAD_OFFICE) % 10 == 0
    assert sum(map(int, LA_POSTE_HEAD_OFFICE)) % 5 != 0
    siret = Siret("356 000 000 00048")
    assert siret == LA_POSTE_HEAD_OFFICE
    assert siret.siren == LA_POSTE_SIREN


def test_la_poste_establishment_with_digit_sum_multiple_of_5_is_valid() -> None:
    siret = "35600000000001"  # digit sum 15; fails Luhn
    assert sum(map(int, siret)) % 5 == 0
    assert luhn_sum(siret) % 10 != 0
    assert Siret(siret) == siret
    assert Siret("356 000 000 00001").nic == "00001"


def test_la_poste_establishment_passing_only_luhn_is_invalid() -> None:
    assert luhn_sum("35600000000055") % 10 == 0
    with pytest.raises(InvalidSiret, match="multiple of 5") as excinfo:
        Siret("35600000000055")
    assert excinfo.value.reason == "checksum"


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_la_poste_validity_is_the_digit_sum_rule(nic: str) -> None:
    siret = LA_POSTE_SIREN + nic
    assume(siret != LA_POSTE_HEAD_OFFICE)
    assert Siret.is_valid(siret) == (sum(map(int, siret)) % 5 == 0)


# --- parse_siret_or_siren ---------------------------------------------------------


def test_parse_siret_or_siren() -> None:
    siret = parse_siret_or_siren("552 049 447 76279")
    assert isinstance(siret, Siret)
    assert siret == SNCF_SIRET
    siren = parse_siret_or_siren("552 049 447")
    assert isinstance(siren, Siren)
    assert siren == SNCF_SIREN
    already = Siren(SNCF_SIREN)
    assert parse_siret_or_siren(already) is already


@pytest.mark.parametrize(
    ("value", "error", "reason"),
    [
        ("", InvalidSiret, "empty"),
        (None, InvalidSiret, "type"),
        (55204944776279, InvalidSiret, "type"),
        ("552049448", InvalidSiren, "checksum"),  # 9 digits: judged as a SIREN
        ("55204944776278", InvalidSiret, "checksum"),
        ("5520494477", InvalidSiret, "length"),
        ("55204944x", InvalidSiren, "characters"),  # 9 characters: judged as a SIREN
        ("5520494477627x", InvalidSiret, "characters"),
    ],
)
def test_parse_siret_or_siren_errors(
    value: object, error: type[InvalidIdentifier], reason: str
) -> None:
    with pytest.raises(error) as excinfo:
        parse_siret_or_siren(value)
    assert excinfo.value.reason == reason
    assert repr(value) in str(excinfo.value)


# --- RNA ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["W751004076", "w751004076", " W 751 004 076 ", "W751.004.076"])
def test_rna_valid(raw: str) -> None:
    assert Rna(raw) == "W751004076"
    assert isinstance(Rna(raw), Rna)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        (None, "type"),
        (751004076, "type"),
        ("751004076", "characters"),  # W missing
        ("X751004076", "characters"),
        ("W75100407", "characters"),  # 8 digits
        ("W7510040761", "characters"),  # 10 digits
        ("W75100407A", "characters"),
        ("W75100407\u00b2", "characters"),
    ],
)
def test_rna_invalid(value: object, reason: str) -> None:
    with pytest.raises(InvalidRna) as excinfo:
        Rna(value)
    assert excinfo.value.reason == reason
    assert repr(value) in str(excinfo.value)


# --- pydantic -------------------------------------------------------------------


class Supplier(BaseModel):
    siret: Siret
    siren: Siren | None = None
    rna: Rna | None = None


def test_pydantic_field_validates_and_normalises() -> None:
    supplier = Supplier(siret="552 049 447 76279", siren="552.049.447", rna="w751004076")
    assert supplier.siret == SNCF_SIRET
    assert isinstance(supplier.siret, Siret)
    assert supplier.siret.siren == SNCF_SIREN
    assert isinstance(supplier.siren, Siren)
    assert supplier.rna == "W751004076"


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("55204944776278", "checksum"),
        ("5520494477627", "14 digits"),
        ("5520494477627A", "only digits"),
        (55204944776279, "leading zeros"),
        ("", "empty"),
    ],
)
def test_pydantic_field_rejects_with_the_reason(value: Any, needle: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Supplier(siret=value)
    [error] = excinfo.value.errors()
    assert error["type"] == "invalid_siret"
    assert error["loc"] == ("siret",)
    assert needle in error["msg"]
    assert needle in str(excinfo.value)
    assert repr(value) in error["msg"]


def test_pydantic_siren_and_rna_error_types() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Supplier(siret=SNCF_SIRET, siren="552049448", rna="X1")
    assert [e["type"] for e in excinfo.value.errors()] == ["invalid_siren", "invalid_rna"]


def test_pydantic_serialises_to_plain_strings() -> None:
    supplier = Supplier(siret="552 049 447 76279", siren="552049447")
    dumped = supplier.model_dump_json()
    assert json.loads(dumped) == {"siret": SNCF_SIRET, "siren": SNCF_SIREN, "rna": None}
    assert type(supplier.model_dump()["siret"]) is str
    assert Supplier.model_validate_json(dumped) == supplier


@pytest.mark.parametrize("mode", ["validation", "serialization"])
def test_pydantic_json_schema_is_a_string(mode: Any) -> None:
    schema = Supplier.model_json_schema(mode=mode)
    assert schema["properties"]["siret"]["type"] == "string"
    assert schema["required"] == ["siret"]
    assert {"type": "string"} in schema["properties"]["siren"]["anyOf"]


# --- properties -----------------------------------------------------------------


@given(sirens)
def test_every_luhn_valid_9_digit_string_is_a_siren(siren: str) -> None:
    assert Siren(siren) == siren
    assert luhn_valid(siren)
    assert Siren(siren).vat_number == expected_vat(siren)


@given(non_la_poste_sirets)
def test_a_luhn_valid_siret_on_a_valid_siren_is_valid_and_round_trips(siret: str) -> None:
    parsed = Siret(siret)
    assert parsed == siret
    assert parsed.siren == siret[:9]
    assert parsed.nic == siret[9:]
    assert Siret(parsed.siren + parsed.nic) == parsed


@given(non_la_poste_sirets, st.integers(min_value=0, max_value=13), st.integers(1, 9))
def test_changing_any_single_digit_makes_a_siret_invalid(
    siret: str, position: int, shift: int
) -> None:
    mutated = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    assume(not mutated.startswith(LA_POSTE_SIREN))  # La Poste has its own rule
    assert mutated != siret
    with pytest.raises(InvalidSiret) as excinfo:
        Siret(mutated)
    assert excinfo.value.reason == "checksum"


@given(non_la_poste_sirets)
def test_formatted_siret_parses_back(siret: str) -> None:
    parsed = Siret(siret)
    assert Siret(parsed.formatted) == parsed
    assert Siren(parsed.siren.formatted) == parsed.siren


_separators_and_digits = st.text(alphabet="0123456789 .\u00a0\u202f\t-xW²", max_size=20)


@given(st.one_of(st.text(), _separators_and_digits))
def test_random_text_raises_only_invalid_siret(text: str) -> None:
    if Siret.is_valid(text):  # is_valid swallows InvalidIdentifier only
        siret = Siret(text)
        assert len(siret) == 14
        assert siret.isascii()
        assert siret.isdigit()
    else:
        with pytest.raises(InvalidSiret) as excinfo:
            Siret(text)
        assert excinfo.value.reason in {"empty", "characters", "length", "checksum"}


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.binary(),
        st.lists(st.text(alphabet="0123456789")),
    )
)
def test_non_text_raises_invalid_siret_type(value: object) -> None:
    with pytest.raises(InvalidSiret) as excinfo:
        Siret(value)
    assert excinfo.value.reason == "type"


def test_pydantic_error_carries_the_reason_code_for_form_back_ends() -> None:
    class Applicant(BaseModel):
        siret: Siret

    with pytest.raises(ValidationError) as caught:
        Applicant(siret="55204944776278")
    error = caught.value.errors()[0]
    assert error["ctx"]["reason"] == "checksum"
    assert "checksum" in error["msg"]


def test_siret_and_siren_both_answer_siren() -> None:
    siren = Siren("552049447")
    assert siren.siren is siren
    assert Siret("55204944776279").siren == siren
    assert type(Siret("55204944776279").siren) is Siren


# --- the bool path: is_valid agrees with the constructor and with python-stdnum ------------

_SIRET_LIKE = st.one_of(
    st.text(alphabet="0123456789", min_size=12, max_size=16),
    st.text(alphabet="0123456789 .\u00a0\t-A", min_size=0, max_size=20),
    st.from_regex(r"356000000[0-9]{5}", fullmatch=True),  # La Poste establishments
    st.text(max_size=20),
)


def _reference_luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_luhn_valid_matches_the_textbook_loop(digits: str) -> None:
    assert luhn_valid(digits) is _reference_luhn(digits)


@given(_SIRET_LIKE)
def test_siret_is_valid_is_true_exactly_when_the_constructor_accepts(value: str) -> None:
    try:
        Siret(value)
    except InvalidSiret:
        accepted = False
    else:
        accepted = True
    assert Siret.is_valid(value) is accepted


@given(_SIRET_LIKE)
def test_siren_is_valid_is_true_exactly_when_the_constructor_accepts(value: str) -> None:
    try:
        Siren(value)
    except InvalidSiren:
        accepted = False
    else:
        accepted = True
    assert Siren.is_valid(value) is accepted


@given(st.one_of(st.text(alphabet="0123456789 .", max_size=18),
                 st.from_regex(r"356000000[0-9]{5}", fullmatch=True)))
def test_is_valid_agrees_with_python_stdnum(value: str) -> None:
    # stdnum strips only spaces and dots (dlnuf also takes non-breaking spaces and tabs):
    # on that common alphabet the two must never disagree.
    from stdnum.fr import siren as stdnum_siren
    from stdnum.fr import siret as stdnum_siret

    assert Siret.is_valid(value) is bool(stdnum_siret.is_valid(value))
    assert Siren.is_valid(value) is bool(stdnum_siren.is_valid(value))
