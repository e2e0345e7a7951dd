"""E-mail and phone answers are validated before they are stored (issue 9)."""

from __future__ import annotations

import pytest

import dlnuf
from dlnuf.answers import AnswerStore
from dlnuf.forms import DC1, DC2, FormInvalid

SNCF = "55204944776279"
TURNOVER = [{"end": "2025-12-31", "amount": 1_250_000}]


@pytest.mark.parametrize(
    ("email", "phone", "wrong"),
    [
        ("not-an-email", "+33 1 23 45 67 89", "email"),
        ("marches@example.fr", "x", "phone"),
        ("marches@example.fr", "01 23", "phone"),
        ("a@@example.fr", "01 23 45 67 89", "email"),
    ],
)
def test_a_wrong_email_or_phone_is_refused_and_not_stored(
    email: str, phone: str, wrong: str
) -> None:
    with AnswerStore.memory() as store, dlnuf.Client(["sandbox"], answers=store) as client:
        draft = client.prefill(DC2, SNCF)
        with pytest.raises(FormInvalid) as excinfo:
            draft.complete(email=email, phone=phone, turnover=TURNOVER)
        assert wrong in excinfo.value.field_errors
        assert "valid" in excinfo.value.field_errors[wrong]
        assert store.get(SNCF) == {}  # so it is asked again next time
        assert wrong in {m.name for m in client.prefill(DC1, SNCF).missing}


@pytest.mark.parametrize(
    "phone", ["01 23 45 67 89", "0123456789", "+33 1 23 45 67 89", "+44 20 7946 0958"]
)
def test_french_and_international_numbers_are_accepted(phone: str) -> None:
    with dlnuf.Client(["sandbox"], answers="memory") as client:
        form = client.prefill(DC2, SNCF).complete(
            email="marches@example.fr", phone=phone, turnover=TURNOVER
        )
        assert form.phone == phone
        assert client.prefill(DC1, SNCF).values["phone"] == phone
