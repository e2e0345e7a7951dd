"""Parsing helpers shared by every source: JSON bodies, dates, withheld markers.

Upstream payloads are untrusted: a missing key, a wrong type or an absurd
timestamp becomes ``None`` (unknown), never a crash; only a body that holds no
usable object at all raises :class:`~dlnuf.errors.UnexpectedPayload`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from ..errors import (
    DlnufError,
    InvalidIdentifier,
    InvalidSiret,
    UnexpectedPayload,
    UnsupportedKind,
    UpstreamUnavailable,
)
from ..facts.base import Fact, Provenance
from ..facts.identity import Address, Diffusion, Identity
from ..identifiers import Rna, Siren, Siret, parse_siret_or_siren

__all__ = [
    "SOLE_TRADER_FORM",
    "WITHHELD_MARKERS",
    "Reader",
    "SchemaDrift",
    "as_dict",
    "as_list",
    "build_address",
    "diffusion_status",
    "dig",
    "establishment_siret",
    "first_text",
    "iso_date",
    "iso_datetime",
    "json_object",
    "make_provenance",
    "naf_code",
    "or_unexpected",
    "person_name",
    "rna_or_none",
    "siret_or_none",
    "unexpected",
    "unix_date",
    "unix_datetime",
    "withhold_protected",
]

WITHHELD_MARKERS = frozenset({"[ND]", "[NON-DIFFUSIBLE]", "[NON DIFFUSIBLE]"})
"""Strings upstreams put in place of a value they may not give. Never a value."""

_T = TypeVar("_T")

# Timestamps outside this window are treated as unknown (upstream placeholders, bugs).
_MIN_TS = datetime(1800, 1, 1, tzinfo=UTC).timestamp()
_MAX_TS = datetime(2200, 1, 1, tzinfo=UTC).timestamp()


def json_object(response: httpx.Response, source: str) -> dict[str, Any]:
    """The response body as a JSON object, or :class:`UnexpectedPayload` saying why not.

    An HTML page (a maintenance or proxy page answered with 200) is
    :class:`~dlnuf.errors.UpstreamUnavailable`: transient, so the next source or a
    stale cache entry may answer. A body nested too deeply to read is unexpected.
    """
    kind = response.headers.get("content-type", "unknown content type")
    if _looks_like_html(kind, response.content):
        raise UpstreamUnavailable(
            f"{source} answered HTTP {response.status_code} with an HTML page where JSON was "
            "expected (a maintenance or proxy page): taken as unavailable; retry later",
            source=source,
            status=response.status_code,
        )
    try:
        body = json.loads(response.content)
    except RecursionError:
        raise UnexpectedPayload(
            f"{source} answered a JSON body nested too deeply to read",
            source=source,
            status=response.status_code,
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise UnexpectedPayload(
            f"{source} answered HTTP {response.status_code} with a body that is not JSON "
            f"({kind}); the upstream or a proxy in between is misbehaving",
            source=source,
            status=response.status_code,
        ) from None
    if not isinstance(body, dict):
        raise UnexpectedPayload(
            f"{source} answered a JSON {type(body).__name__} where an object was expected",
            source=source,
            status=response.status_code,
        )
    return body


def _looks_like_html(content_type: str, content: bytes) -> bool:
    if "html" in content_type.lower():
        return True
    start = content[:64].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def dig(data: Any, *path: str | int) -> Any:
    """``data[path[0]][path[1]]...``, or ``None`` as soon as a step is missing or mistyped."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(data, list) or not -len(data) <= step < len(data):
                return None
        elif not isinstance(data, dict):
            return None
        data = data[step] if isinstance(step, int) else data.get(step)
        if data is None:
            return None
    return data


def unix_datetime(value: Any) -> datetime | None:
    """A Unix timestamp (seconds) as an aware UTC datetime; out-of-range or junk: ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not _MIN_TS <= value <= _MAX_TS:
        return None
    return datetime.fromtimestamp(value, UTC)


def unix_date(value: Any) -> date | None:
    """A Unix timestamp as a calendar date in Paris (INSEE stores local midnight)."""
    moment = unix_datetime(value)
    if moment is None:
        return None
    # INSEE dates are midnight Europe/Paris; +3 h lands on the right day in winter and summer.
    return datetime.fromtimestamp(moment.timestamp() + 3 * 3600, UTC).date()


def iso_date(value: Any) -> date | None:
    """An ISO date (``2024-05-31``, or the date part of a datetime); junk: ``None``."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        parsed = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return parsed if 1800 <= parsed.year <= 2200 else None


def naf_code(value: str | None) -> str | None:
    """A NAF/APE code in its dotted form (``8411Z`` and ``84.11Z`` both give ``84.11Z``)."""
    if not value:
        return None
    code = value.strip().upper()
    if len(code) == 5 and "." not in code:
        code = f"{code[:2]}.{code[2:]}"
    return code


def person_name(first: str | None, usage: str | None, birth: str | None) -> str | None:
    """A sole trader's display name: first name and usage name, else birth name."""
    last = usage or birth
    text = " ".join(p for p in (first, last) if p)
    return text or None


class SchemaDrift(ValueError):
    """A value of the wrong JSON type for ``field`` (a number where a name is expected)."""

    def __init__(self, field: str, value: Any) -> None:
        self.field = field
        kind = {bool: "boolean", int: "number", float: "number", dict: "object", list: "array"}
        super().__init__(
            f"{field or 'a text field'} is a JSON {kind.get(type(value), type(value).__name__)}"
            ", not a string"
        )


class Reader:
    """Reads untrusted values and records the withheld ones.

    ``reader.text("legal_name", raw)`` returns ``raw`` stripped, ``None`` if it is
    empty or not a string, and ``None`` *plus* ``"legal_name"`` added to
    :attr:`withheld` if it is an upstream non-diffusion marker.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.withheld: set[str] = set()
        self.strict = strict
        """Whether a value of another JSON type is :class:`SchemaDrift` (identity payloads,
        whose every text field is a string) rather than read leniently (numbers as text,
        other types as missing: evidence payloads, where providers vary)."""

    def text(self, field: str, value: Any) -> str | None:
        """A string value for ``field``, ``None`` when missing; markers are recorded as
        withheld. Another JSON type is :class:`SchemaDrift` naming ``field`` when
        :attr:`strict` (sources turn it into ``UnexpectedPayload``)."""
        if type(value) is not str:  # the usual case first: a plain string
            if value is None:
                return None
            if self.strict:
                if not isinstance(value, str):
                    raise SchemaDrift(field, value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            elif not isinstance(value, str):
                return None
        value = value.strip()
        # Every marker starts with "[" (which has no case): most values skip upper().
        if value[:1] == "[" and value.upper() in WITHHELD_MARKERS:
            self.withheld.add(field)
            return None
        return value or None

    def flag(self, field: str, value: Any) -> bool | None:
        """A boolean for ``field`` (accepts ``true``/``O``/``oui``), or ``None``."""
        if isinstance(value, bool):
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        text = self.text(field, value)
        if text is None:
            return None
        return text.lower() in {"true", "o", "oui", "1", "yes"}


def make_provenance(
    source: str,
    response: httpx.Response,
    *,
    updated_at: datetime | None = None,
    public: bool = True,
) -> Provenance:
    """Provenance for a fact parsed from ``response`` (endpoint = path, no query string)."""
    return Provenance(
        source=source,
        endpoint=response.request.url.path if _has_request(response) else "",
        updated_at=updated_at,
        public=public,
    )


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


# --- Helpers of the Sirene-shaped sources (Recherche d'entreprises, INSEE Sirene) ----------

try:
    _PARIS: tzinfo = ZoneInfo("Europe/Paris")
except ZoneInfoNotFoundError:  # no time zone database (Windows without ``tzdata``)
    _PARIS = timezone(timedelta(hours=1), "CET")


def iso_datetime(value: Any) -> datetime | None:
    """An ISO datetime (``2024-03-22T14:26:06.000``) as an aware datetime; junk: ``None``.

    Sirene timestamps carry no offset: they are Paris local time.
    """
    if not isinstance(value, str) or len(value.strip()) < 10:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, OverflowError):
        return None
    if not 1800 <= parsed.year <= 2200:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=_PARIS)


def establishment_siret(source: str, kind: type[Fact], ident: object) -> Siret:
    """The SIRET an :class:`Identity` is asked for; refuses other kinds and SIRENs."""
    if not (isinstance(kind, type) and issubclass(kind, Identity)):
        name = getattr(kind, "__name__", repr(kind))
        raise UnsupportedKind(f"{source} provides Identity only, not {name}")
    parsed = parse_siret_or_siren(ident)
    if isinstance(parsed, Siren):
        raise InvalidSiret(
            ident, "length", "Identity is about one establishment: give its 14-digit SIRET"
        )
    return parsed


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def siret_or_none(value: Any) -> Siret | None:
    """``value`` as a valid :class:`~dlnuf.identifiers.Siret`, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        return Siret(value)
    except InvalidIdentifier:
        return None


def first_text(reader: Reader, field: str, *values: Any) -> str | None:
    """The first of ``values`` holding text, read for ``field`` with ``reader``.

    ``field`` ends up withheld only when no value gave text and one was a marker.
    """
    was_withheld = field in reader.withheld
    for value in values:
        text = reader.text(field, value)
        if text is not None:
            if not was_withheld:
                reader.withheld.discard(field)
            return text
    return None


_DIFFUSION_CODES: dict[str, Diffusion] = {
    "o": "diffusible",
    "diffusible": "diffusible",
    "p": "partiellement_diffusible",
    "partiellement_diffusible": "partiellement_diffusible",
    "n": "non_diffusible",
    "non_diffusible": "non_diffusible",
}
_DIFFUSION_ORDER: tuple[Diffusion, ...] = (
    "diffusible", "partiellement_diffusible", "non_diffusible",
)


def diffusion_status(*raw: Any) -> Diffusion:
    """The most restrictive of INSEE diffusion statuses (``O``/``P``/``N`` or spelled out).

    Missing statuses are ignored; an unknown one counts as partially diffusible.
    """
    found = [
        _DIFFUSION_CODES.get(str(value).strip().lower(), "partiellement_diffusible")
        for value in raw
        if value is not None
    ]
    return max(found, key=_DIFFUSION_ORDER.index) if found else "diffusible"


_LINE_PARTS = (
    "number", "repetition", "street_type", "street_name", "complement",
    "special_distribution", "postal_code", "city", "cedex_code", "cedex_label", "country",
)
_LINE_FIELDS = frozenset(f"address.{part}" for part in _LINE_PARTS)
_ADDRESS_PATHS = {
    part: f"address.{part}" for part in (*_LINE_PARTS, "city_code", "country_code")
}
"""The withheld path of each field read (built once, not for each address)."""


def build_address(
    reader: Reader,
    raw: Mapping[str, Any],
    *,
    name: str | None = None,
    name_withheld: bool = False,
) -> Address:
    """An :class:`Address` from upstream values keyed by ``Address`` field names.

    Each value is read for ``address.<field>`` (markers are withheld). The postal
    lines are composed like API Entreprise's ``acheminement_postal``: ``name``,
    complement, street, special distribution, postal code and city (or cedex),
    country. When a part of them (or the name) is withheld they are left empty and
    ``address.postal_lines`` is withheld: the rest would print a wrong address.
    """

    def text(field: str) -> str | None:
        return reader.text(_ADDRESS_PATHS[field], raw.get(field))

    # Read in the order of the fields (the withheld ones are recorded in that order), and
    # built once: the postal lines are composed from the values read, as Address.street
    # and Address.one_line compose theirs.
    fields: dict[str, Any] = {
        "number": text("number"),
        "repetition": text("repetition"),
        "street_type": text("street_type"),
        "street_name": text("street_name"),
        "complement": text("complement"),
        "special_distribution": text("special_distribution"),
        "postal_code": text("postal_code"),
        "city": text("city"),
        "city_code": text("city_code"),
        "cedex_code": text("cedex_code"),
        "cedex_label": text("cedex_label"),
        "country": text("country") or "FRANCE",
        "country_code": text("country_code"),
    }
    postal_code, city = fields["postal_code"], fields["city"]
    cedex_code, cedex_label = fields["cedex_code"], fields["cedex_label"]
    locality = " ".join(p for p in (postal_code, city) if p)
    if cedex_code and cedex_label:
        locality = f"{cedex_code} {cedex_label}"
    if name_withheld or not reader.withheld.isdisjoint(_LINE_FIELDS):
        reader.withheld.add("address.postal_lines")
        return Address(**fields)
    street = " ".join(
        p for p in (
            fields["number"], fields["repetition"], fields["street_type"],
            fields["street_name"],
        ) if p
    )
    if street or locality:
        lines = (
            name, fields["complement"], street, fields["special_distribution"],
            locality, fields["country"],
        )
        fields["postal_lines"] = tuple(line for line in lines if line)
    return Address(**fields)


def unexpected(response: httpx.Response, source: str, detail: str) -> UnexpectedPayload:
    """The :class:`UnexpectedPayload` saying ``source`` answered ``detail`` (a phrase)."""
    return UnexpectedPayload(
        f"{source} answered {detail}", source=source, status=response.status_code
    )


def or_unexpected(
    response: httpx.Response, source: str, what: str, read: Callable[[], _T]
) -> _T:
    """``read()``; a payload it trips over (a missing key, a wrong type...) raises
    :class:`UnexpectedPayload` saying ``source`` answered ``what`` dlnuf cannot read.
    A dlnuf error raised by ``read`` (``NotFound``...) passes through."""
    try:
        return read()
    except DlnufError:
        raise
    except SchemaDrift as exc:
        raise unexpected(response, source, f"{what} dlnuf cannot read: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise unexpected(
            response, source, f"{what} dlnuf cannot read ({type(exc).__name__})"
        ) from None


SOLE_TRADER_FORM = "1000"
"""INSEE catégorie juridique of an entrepreneur individuel."""


def rna_or_none(value: Any) -> Rna | None:
    """``value`` as a valid :class:`~dlnuf.identifiers.Rna`, or ``None``."""
    return Rna(value) if isinstance(value, str) and Rna.is_valid(value) else None


_PROTECTED_ADDRESS = (
    "number", "repetition", "street_type", "street_name", "complement",
    "special_distribution", "postal_code", "cedex_code", "cedex_label",
)


def withhold_protected(identity: Identity) -> Identity:
    """``identity`` as a public answer must show it: when the unit or establishment is
    not fully diffusible, the values INSEE protects (the person's name, trade name,
    sigle, street and postal code, postal lines) are withheld exactly as if the
    upstream had answered ``[ND]``, whatever the endpoint sent. Facts not marked
    public, and diffusible ones, are returned unchanged."""
    if not identity.provenance.public or identity.diffusion == "diffusible":
        return identity
    withheld = set(identity.withheld)
    update: dict[str, Any] = {}
    for name in ("trade_name", "sigle"):
        if getattr(identity, name) is not None:
            update[name] = None
            withheld.add(name)
    if identity.is_sole_trader and identity.legal_name is not None:
        update["legal_name"] = None
        withheld.add("legal_name")
    address = identity.address
    hidden: dict[str, Any] = {
        part: None for part in _PROTECTED_ADDRESS if getattr(address, part) is not None
    }
    withheld.update(f"address.{part}" for part in hidden)
    if address.postal_lines:
        hidden["postal_lines"] = ()
        withheld.add("address.postal_lines")
    if hidden:
        update["address"] = address.model_copy(update=hidden)
    if not update:
        return identity
    update["withheld"] = frozenset(withheld)
    return identity.model_copy(update=update)
