"""Contact values a company declares, validated before they are stored.

An e-mail address is checked with ``email-validator`` (syntax only, no DNS: forms
are filled offline), a phone number with ``phonenumbers`` (French numbers as
dialled in France, ``01 23 45 67 89``, or any international one, ``+44 20 7946
0958``). A wrong value is refused when answered, so it is never stored and never
taken as answered.
"""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator

__all__ = ["DEFAULT_REGION", "EmailAddress", "PhoneNumber", "check_email", "check_phone"]

DEFAULT_REGION = "FR"
"""Numbers without a ``+country`` prefix are read as French ones."""


def check_email(value: str) -> str:
    """``value`` stripped, when it is a well-formed e-mail address; else ``ValueError``."""
    text = value.strip()
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address ({exc})") from None
    return text


def check_phone(value: str) -> str:
    """``value`` stripped, when it is a valid French or international phone number; else
    ``ValueError``."""
    text = value.strip()
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(
            "not a valid phone number: give a French one (01 23 45 67 89) or an "
            "international one (+44 20 7946 0958)"
        )
    return text


EmailAddress = Annotated[str, AfterValidator(check_email)]
"""A ``str`` that is a well-formed e-mail address."""
PhoneNumber = Annotated[str, AfterValidator(check_phone)]
"""A ``str`` that is a valid French or international phone number."""
