"""Each source's own settings: :class:`SourceOptions`, read from ``DLNUF_<SOURCE>_*``.

A source declares ``class Options(SourceOptions)`` with its base URL, its credentials
(as :class:`~pydantic.SecretStr`), its quota(s) and anything else it needs. A value
comes from, highest first:

1. ``Client(options={"<source>": {...}})`` (a dict, or an ``Options`` instance);
2. a shortcut keyword argument of the client, when the option has one (``insee_api_key=``,
   ``api_entreprise_token=``, ``recipient=``, ``base_urls={"<source>": ...}``) and its
   ``DLNUF_*`` variable (``DLNUF_INSEE_API_KEY``, ``DLNUF_RECIPIENT``...);
3. the variable ``DLNUF_<SOURCE>_<OPTION>`` (``DLNUF_INSEE_SIRENE_API_KEY``,
   ``DLNUF_RECHERCHE_ENTREPRISES_QUOTA``; the base URL is ``DLNUF_<SOURCE>_URL``), read
   when the client reads the environment (``Client()``, ``Settings.from_env``);
4. the default the source declares (the documented quota, the production URL).

A quota is a :class:`Rate`, written ``<requests>/<period>``: ``7/s``, ``250/min``,
``1000/h`` or ``100/10s`` (a number before the unit). A bad value is a
:class:`~dlnuf.ConfigurationError` naming the option and its variable, never echoing the
value (it may be a secret).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import BeforeValidator, PlainSerializer
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ..config import ENV_PREFIX, ArgumentsFirst, validated
from ..errors import ConfigurationError
from ..ratelimit import Quota

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["Rate", "RateOption", "SourceOptions", "env_prefix", "parse_rate"]

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0,
          "hour": 3600.0}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*", re.IGNORECASE)
RATE_FORMAT = "requests per period, like 7/s, 250/min, 1000/h or 100/10s"
"""What a quota option looks like (said by every error about one)."""


@dataclass(frozen=True)
class Rate:
    """``limit`` requests per ``period`` seconds: the value of a quota option."""

    limit: int
    period: float = 1.0

    def __post_init__(self) -> None:
        if self.limit < 1 or not self.period > 0:
            raise ValueError(f"a quota allows at least 1 request per period > 0 ({RATE_FORMAT})")

    def quota(self, pool: str) -> Quota:
        """This rate as the :class:`~dlnuf.ratelimit.Quota` of ``pool``."""
        return Quota(pool, self.limit, self.period)

    @classmethod
    def of(cls, quota: Quota) -> Rate:
        """The rate of a documented :class:`~dlnuf.ratelimit.Quota` (its pool aside)."""
        return cls(quota.limit, quota.period)

    def __str__(self) -> str:
        for unit, length in (("h", 3600.0), ("min", 60.0), ("s", 1.0)):
            if self.period == length:
                return f"{self.limit}/{unit}"
        return f"{self.limit}/{self.period:g}s"


def parse_rate(value: Any) -> Rate:
    """A :class:`Rate` from ``"50/s"``, ``"250/min"``, ``"100/10s"``, a ``Rate`` or a
    ``Quota``; :class:`ValueError` saying the expected form otherwise (never the value)."""
    if isinstance(value, Rate):
        return value
    if isinstance(value, Quota):
        return Rate.of(value)
    if isinstance(value, str):
        found = _RATE.fullmatch(value)
        if found and found.group(3).lower() in _UNITS:
            count = float(found.group(2)) if found.group(2) else 1.0
            return Rate(int(found.group(1)), count * _UNITS[found.group(3).lower()])
    raise ValueError(f"expected {RATE_FORMAT}")


RateOption = Annotated[Rate, BeforeValidator(parse_rate), PlainSerializer(str), NoDecode]
"""The type of a quota option: a :class:`Rate` written ``7/s``, ``250/min``..."""


def env_prefix(source: str) -> str:
    """The prefix of ``source``'s variables: ``DLNUF_<SOURCE>_`` (``insee_sirene`` →
    ``DLNUF_INSEE_SIRENE_``)."""
    return f"{ENV_PREFIX}{source.upper()}_"


_READING: ContextVar[tuple[str, Mapping[str, str]] | None] = ContextVar(
    "dlnuf_source_options_env", default=None
)
"""The prefix and the environment an ``Options`` is being read from (``None``: no env)."""


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over the mapping being read, where each
    option reads ``<prefix><ENV NAME>`` (``base_url`` reads ``..._URL``)."""

    def __init__(self, settings_cls: type[SourceOptions], prefix: str, env: Mapping[str, str]):
        self._env = env
        self._renamed = settings_cls.env_names
        super().__init__(settings_cls, env_prefix=prefix, case_sensitive=False)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        prefix = self.env_prefix.lower()
        found = {k.lower(): v for k, v in self._env.items() if v.strip()}
        for option, name in self._renamed.items():  # the variable named otherwise wins
            found.pop(prefix + option.lower(), None)
            value = found.pop(prefix + name.lower(), None)
            if value is not None:
                found[prefix + option.lower()] = value
        return found


class SourceOptions(ArgumentsFirst):
    """The base of a source's ``Options``: ``base_url`` and whatever the source adds.

    Subclasses set defaults (``base_url: str = "https://api.example.org"``), add
    credentials as ``SecretStr | None = None``, quotas as ``RateOption = "10/s"``
    (see :class:`Rate`), and may declare :attr:`shortcuts` (option → client keyword
    argument that also sets it). Instances are frozen; a secret's repr is ``'**********'``.
    """

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        case_sensitive=False,
        validate_default=True,
    )

    base_url: str = ""
    """Where the upstream answers (staging, a proxy, a mirror, a fake): ``DLNUF_<SOURCE>_URL``."""

    env_names: ClassVar[Mapping[str, str]] = {"base_url": "url"}
    """Options whose variable is not ``DLNUF_<SOURCE>_<OPTION>``: option → variable suffix."""
    shortcuts: ClassVar[Mapping[str, str]] = {}
    """Options a client keyword argument also sets: option → :class:`~dlnuf.Settings` field
    (``{"api_key": "insee_api_key"}``). ``base_url`` always reads ``base_urls[<source>]``."""

    @classmethod
    def environment(cls, settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
        """``DLNUF_<SOURCE>_*`` only inside :meth:`load`."""
        reading = _READING.get()
        if reading is None or not issubclass(settings_cls, SourceOptions):
            return None
        prefix, env = reading
        return _Environment(settings_cls, prefix, env)

    @classmethod
    def variable(cls, source: str, option: str) -> str:
        """The variable that sets ``option`` of ``source`` (``DLNUF_INSEE_SIRENE_API_KEY``)."""
        return env_prefix(source) + cls.env_names.get(option, option).upper()

    @classmethod
    def load(
        cls,
        source: str,
        given: SourceOptions | Mapping[str, Any] | None = None,
        *,
        settings: Settings | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """The options of ``source``: ``given`` (an instance is used as it is), else the
        shortcuts found in ``settings``, the variables of ``env`` and the defaults.

        Raises :class:`~dlnuf.ConfigurationError` naming each bad option and its variable.
        """
        if isinstance(given, cls):
            return given
        if isinstance(given, SourceOptions):
            given = given.model_dump(exclude_unset=True)
        values: dict[str, Any] = {}
        if settings is not None:
            url = settings.base_urls.get(source)
            if url:
                values["base_url"] = url
            for option, field in cls.shortcuts.items():
                shortcut = getattr(settings, field, None)
                if shortcut is not None:
                    values[option] = shortcut
        if given is not None:
            if not isinstance(given, Mapping):
                raise ConfigurationError(
                    f"options for {source} must be a dict or a {cls.__qualname__}, "
                    f"not a {type(given).__name__}"
                )
            values.update(given)
        def where(name: str) -> str:
            if name not in cls.model_fields:
                return f"unknown option {name!r} (options[{source!r}])"
            variable = cls.variable(source, name)
            return f"option {name!r} (options[{source!r}] or variable {variable})"

        with _reading(env_prefix(source), env):
            return validated(cls, values, f"{source} options", where)


@contextmanager
def _reading(prefix: str, env: Mapping[str, str] | None) -> Iterator[None]:
    token = _READING.set(None if env is None else (prefix, env))
    try:
        yield
    finally:
        _READING.reset(token)
