"""French company identifiers: SIREN, SIRET, RNA and the intra-EU VAT number.

Pure functions and ``str`` subclasses, no I/O. ``Siret("552 049 447 76279")``
normalises and validates its input or raises :class:`~dlnuf.errors.InvalidSiret`
saying exactly what is wrong. ``Siret`` and ``Siren`` are also pydantic field
types: a model field typed ``Siret`` validates (and normalises) what it is given.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import GetCoreSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

from .errors import InvalidIdentifier, InvalidRna, InvalidSiren, InvalidSiret

__all__ = ["Rna", "Siren", "Siret", "luhn_valid", "parse_siret_or_siren", "vat_number"]

# Separators a person may type or paste: space, dot, non-breaking spaces, thin spaces.
_SEPARATORS = str.maketrans("", "", " .\u00a0\u202f\u2009\t")

LA_POSTE_SIREN = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"


# Luhn doubles every second digit from the right and adds the digits of the product:
# 0->0, 1->2, 2->4, 3->6, 4->8, 5->1, 6->3, 7->5, 8->7, 9->9 (one digit again).
_LUHN_DOUBLE = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn checksum.

    The digits are summed as bytes in C (``ord("0")`` is 48) and the doubled ones mapped
    to their digit sum by ``str.translate``: no Python loop over the digits.
    """
    total = sum(digits[::-2].encode()) + sum(digits[-2::-2].translate(_LUHN_DOUBLE).encode())
    return (total - 48 * len(digits)) % 10 == 0


def _compact_digits(value: str) -> str | None:
    """``value`` without separators when only ASCII digits remain, else None."""
    if not (value.isascii() and value.isdigit()):
        value = value.strip().translate(_SEPARATORS)
        if not (value.isascii() and value.isdigit()):
            return None
    return value


def _siret_ok(digits: str) -> bool:
    """Whether 14 ASCII digits are a valid SIRET (Luhn on the SIREN and the whole, or La
    Poste's rule: its establishments' digits add up to a multiple of 5)."""
    if digits.startswith(LA_POSTE_SIREN) and digits != LA_POSTE_HEAD_OFFICE:
        return (sum(digits.encode()) - 48 * 14) % 5 == 0
    # luhn_valid(digits[:9]) and luhn_valid(digits), with the slices written out.
    return (
        sum(digits[0:9:2].encode()) + sum(digits[1:9:2].translate(_LUHN_DOUBLE).encode()) - 432
    ) % 10 == 0 and (
        sum(digits[1::2].encode()) + sum(digits[0::2].translate(_LUHN_DOUBLE).encode()) - 672
    ) % 10 == 0


def vat_number(siren: str) -> str:
    """The French intra-EU VAT number of a SIREN: ``FR`` + 2-digit key + SIREN."""
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


class _Identifier(str):
    """Common behaviour of the identifiers: normalise, check, raise a typed error."""

    length: ClassVar[int]
    error: ClassVar[type[InvalidIdentifier]]

    def __new__(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        if type(value) is str and cls._canonical(value):
            # Hot path (cache reads, model validation, clean files): already compact and
            # valid, checked by the bool path without building an error.
            return super().__new__(cls, value)
        digits = cls._normalise(value)
        cls._check(value, digits)
        return super().__new__(cls, digits)

    @classmethod
    def _canonical(cls, value: str) -> bool:
        """Whether ``value`` is already the compact, valid form (the bool twin of ``_check``)."""
        return False

    @classmethod
    def parse(cls, value: object) -> Self:
        """Normalise and validate ``value``; raise the class's error if it is not valid."""
        return cls(value)

    @classmethod
    def is_valid(cls, value: object) -> bool:
        """Whether ``value`` would parse, without raising."""
        if isinstance(value, cls):
            return True
        try:
            cls(value)
        except InvalidIdentifier:
            return False
        return True

    @classmethod
    def _normalise(cls, value: object) -> str:
        if value is None:
            raise cls.error(value, "type", f"expected a {cls.error.label} string, got None")
        if isinstance(value, int) and not isinstance(value, bool):
            # An int loses leading zeros: refuse instead of guessing.
            raise cls.error(
                value, "type", "pass the number as a string: an integer loses its leading zeros"
            )
        if not isinstance(value, str):
            raise cls.error(
                value, "type", f"expected a string, got {type(value).__name__}"
            )
        cleaned = value.strip().translate(_SEPARATORS)
        if not cleaned:
            raise cls.error(value, "empty", f"the {cls.error.label} is empty")
        return cleaned

    @classmethod
    def _check(cls, original: object, digits: str) -> None:
        label = cls.error.label
        if not (digits.isascii() and digits.isdigit()):
            bad = "".join(sorted({c for c in digits if not ("0" <= c <= "9")})[:10])
            raise cls.error(
                original,
                "characters",
                f"a {label} has only digits (spaces and dots allowed), found {bad!r}",
            )
        if len(digits) != cls.length:
            hint = ""
            if cls.length == 14 and len(digits) == 9:
                hint = " (this looks like a SIREN: give the 14-digit SIRET of the establishment)"
            raise cls.error(
                original,
                "length",
                f"a {label} has {cls.length} digits, this one has {len(digits)}{hint}",
            )

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: object) -> _Identifier:
            try:
                return cls(value)
            except InvalidIdentifier as exc:
                raise PydanticCustomError(
                    f"invalid_{cls.error.label.split()[0].lower()}", "{detail}",
                    {"detail": str(exc), "reason": exc.reason},
                ) from None

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema()
            ),
            json_schema_input_schema=core_schema.str_schema(),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class Siren(_Identifier):
    """A validated SIREN: 9 digits passing the Luhn checksum."""

    length = 9
    error = InvalidSiren

    @classmethod
    def _canonical(cls, value: str) -> bool:
        return len(value) == 9 and value.isascii() and value.isdigit() and luhn_valid(value)

    @classmethod
    def is_valid(cls, value: object) -> bool:
        """Whether ``value`` is a valid SIREN: a bool path that builds no exception."""
        if type(value) is str:
            digits = _compact_digits(value)
            return digits is not None and len(digits) == 9 and luhn_valid(digits)
        return super().is_valid(value)

    @classmethod
    def _check(cls, original: object, digits: str) -> None:
        super()._check(original, digits)
        if not luhn_valid(digits):
            raise InvalidSiren(
                original, "checksum", "the Luhn checksum fails: a digit is mistyped"
            )

    @property
    def siren(self) -> Siren:
        """Itself: a SIREN and a SIRET both answer ``.siren`` (the legal unit)."""
        return self

    @property
    def vat_number(self) -> str:
        """The intra-EU VAT number computed from this SIREN (``FR`` + key + SIREN)."""
        return vat_number(self)

    @property
    def formatted(self) -> str:
        """The SIREN grouped for display: ``552 049 447``."""
        return f"{self[:3]} {self[3:6]} {self[6:]}"


class Siret(_Identifier):
    """A validated SIRET: 14 digits, Luhn (or La Poste's own rule), on a valid SIREN."""

    length = 14
    error = InvalidSiret

    @classmethod
    def _canonical(cls, value: str) -> bool:
        return len(value) == 14 and value.isascii() and value.isdigit() and _siret_ok(value)

    @classmethod
    def is_valid(cls, value: object) -> bool:
        """Whether ``value`` is a valid SIRET: a bool path that builds no exception."""
        if type(value) is str:
            # _compact_digits and _siret_ok inlined: this runs a million times a batch.
            if not (value.isascii() and value.isdigit()):
                value = value.strip().translate(_SEPARATORS)
                if not (value.isascii() and value.isdigit()):
                    return False
            return len(value) == 14 and _siret_ok(value)
        return super().is_valid(value)

    @classmethod
    def _check(cls, original: object, digits: str) -> None:
        super()._check(original, digits)
        if digits.startswith(LA_POSTE_SIREN) and digits != LA_POSTE_HEAD_OFFICE:
            if not _siret_ok(digits):
                raise InvalidSiret(
                    original,
                    "checksum",
                    "La Poste establishments (356 000 000 ...) need the sum of the 14 digits "
                    "to be a multiple of 5, and it is not: a digit is mistyped",
                )
            return
        if not luhn_valid(digits[:9]):
            raise InvalidSiret(
                original,
                "checksum",
                "its first 9 digits are not a valid SIREN (Luhn checksum fails)",
            )
        if not luhn_valid(digits):
            raise InvalidSiret(
                original, "checksum", "the Luhn checksum fails: a digit is mistyped"
            )

    @property
    def siren(self) -> Siren:
        """The SIREN of the legal unit this establishment belongs to."""
        # A valid SIRET's first nine digits are a valid SIREN (La Poste's too): no re-check.
        return str.__new__(Siren, self[:9])

    @property
    def nic(self) -> str:
        """The 5-digit establishment number (NIC)."""
        return self[9:]

    @property
    def vat_number(self) -> str:
        """The intra-EU VAT number of the legal unit."""
        return vat_number(self[:9])

    @property
    def formatted(self) -> str:
        """The SIRET grouped for display: ``552 049 447 76279``."""
        return f"{self[:3]} {self[3:6]} {self[6:9]} {self[9:]}"


class Rna(_Identifier):
    """A validated RNA number (associations): ``W`` followed by 9 digits."""

    length = 10
    error = InvalidRna

    @classmethod
    def _check(cls, original: object, digits: str) -> None:
        if (
            len(digits) != 10
            or digits[0] not in "Ww"
            or not digits[1:].isascii()
            or not digits[1:].isdigit()  # isdigit alone accepts "²" and other non-ASCII digits
        ):
            raise InvalidRna(
                original, "characters", "an RNA number is W followed by 9 digits (W751004076)"
            )

    def __new__(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        raw = cls._normalise(value)
        cls._check(value, raw)
        return str.__new__(cls, raw.upper())


def parse_siret_or_siren(value: object) -> Siret | Siren:
    """Parse a SIRET (14 digits) or a SIREN (9 digits), whichever the input is."""
    if isinstance(value, (Siret, Siren)):
        return value
    if type(value) is str and len(value) == 14 and Siret._canonical(value):
        return str.__new__(Siret, value)  # hot path (a clean file): checked once, no cleaning
    cleaned = Siret._normalise(value)  # None, int, empty: InvalidSiret, like any bad SIRET
    if len(cleaned) == 9:
        return Siren(value)
    return Siret(value)
