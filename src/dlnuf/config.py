"""Client configuration: keyword arguments, else ``DLNUF_*`` environment variables.

Every field of :class:`Settings` has a keyword argument (on ``Settings``,
``Client`` and ``AsyncClient``) and an environment variable: the field's name in
capitals after ``DLNUF_`` (``timeout`` → ``DLNUF_TIMEOUT``), read by
pydantic-settings when the settings are built with :meth:`Settings.from_env`
(which ``Client()`` does). Per-source base URLs come from ``DLNUF_<SOURCE>_URL``.

What belongs to one source (its key, its quota...) is not here: each source declares
its own options (:class:`dlnuf.sources.SourceOptions`, ``DLNUF_<SOURCE>_*``), read from
the variables :attr:`Settings.environ` holds. The API Entreprise and INSEE fields below
are shortcuts for those options, kept for existing code.
A malformed value (``DLNUF_AUTHENTICATED=yes-please``, ``DLNUF_TIMEOUT=soon``) is a
:class:`~dlnuf.ConfigurationError` naming the variable, never a silent default.

Secrets (the API Entreprise token, the INSEE key) are held as
:class:`pydantic.SecretStr`: their repr is ``'**********'`` and they never reach
a log, an exception or a cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any, TypeVar

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_SOURCES",
    "ENV_PREFIX",
    "ArgumentsFirst",
    "Settings",
    "validated",
]

_Model = TypeVar("_Model", bound=BaseSettings)

DEFAULT_SOURCES: tuple[str, ...] = ("recherche_entreprises",)
DEFAULT_CACHE = "sqlite"
"""``sqlite`` alone means the default file, ``~/.cache/dlnuf/cache.db`` (or ``$XDG_CACHE_HOME``)."""
ENV_PREFIX = "DLNUF_"
"""Every setting ``name`` reads the variable ``DLNUF_NAME``."""

_CACHE_VARIABLE = ENV_PREFIX + "CACHE"
_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("dlnuf_settings_env", default=None)
"""The environment :meth:`Settings.from_env` is reading; ``None``: build from arguments only."""


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over the mapping ``from_env`` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _ENVIRON.get() or {}
        # A variable set but empty is unset, except DLNUF_CACHE= which turns the cache off.
        return {
            k.lower(): v for k, v in env.items() if v.strip() or k.upper() == _CACHE_VARIABLE
        }


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if isinstance(value, list | tuple):
        value = tuple(v for v in value if not isinstance(v, str) or v)
        return value or DEFAULT_SOURCES
    return value


class ArgumentsFirst(BaseSettings):
    """pydantic-settings reading its arguments, then the environment only when
    :meth:`environment` gives a source for it (never a ``.env`` file or secrets dir)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments first, then :meth:`environment` if any."""
        found = cls.environment(settings_cls)
        return (init_settings,) if found is None else (init_settings, found)

    @classmethod
    def environment(cls, settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
        """The environment source being read, or ``None`` (arguments only)."""
        return None


class Settings(ArgumentsFirst):
    """Everything a client needs to know, validated once.

    ``Settings(...)`` takes the arguments only; :meth:`from_env` also reads a
    ``DLNUF_*`` variable for every argument not given. Give a client both
    ``settings=`` and arguments, and the arguments win (see :meth:`merged`).
    """

    # hide_input_in_errors: a misspelled or mistyped token argument must not be echoed
    # back in the validation error (and so in ConfigurationError).
    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
    )

    sources: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SOURCES
    """Source names in priority order (``DLNUF_SOURCES=a,b``)."""
    api_entreprise_token: SecretStr | None = None
    """The API Entreprise token (a shortcut for its option ``token``)."""
    recipient: str | None = None
    """SIRET of the public body the data is for (a shortcut for API Entreprise's and the
    sandbox's option ``recipient``)."""
    context: str | None = None
    """Framework of the request (API Entreprise ``context``, e.g. ``Marché public``)."""
    object: str | None = None
    """Reason or procedure id (API Entreprise ``object``, under 50 characters)."""
    authenticated: bool = False
    """Whether the caller serves an authenticated, entitled purpose (protected data allowed)."""
    insee_api_key: SecretStr | None = None
    """The INSEE Sirene API key (a shortcut for its option ``api_key``)."""
    cache: str | None = DEFAULT_CACHE
    """Cache URL; ``None`` (or ``DLNUF_CACHE=``, empty) turns caching off."""
    answers: str | None = None
    """Where declared answers are kept: a SQLite file path, or ``memory``. Default: the
    file ``answers.db`` in dlnuf's data folder when a persistent cache is configured,
    memory otherwise (see :mod:`dlnuf.answers`)."""
    base_urls: Mapping[str, str] = Field(default_factory=dict)
    """Per-source base URL (``DLNUF_<SOURCE>_URL``; a shortcut for each source's option
    ``base_url``, and what tells documents and answers which upstreams are not the
    production ones)."""
    user_agent: str = "dlnuf (+https://pypi.org/project/dlnuf/)"
    """The ``User-Agent`` sent upstream."""
    timeout: float = Field(default=5.0, gt=0)
    """Seconds for a JSON call (documents get :attr:`document_timeout`)."""
    document_timeout: float = Field(default=12.0, gt=0)
    """Seconds for a document (PDF) download."""
    retries: int = Field(default=3, ge=0)
    """How many times a transient failure is retried (so ``retries + 1`` tries at most)."""
    max_retry_wait: float = Field(default=30.0, ge=0)
    """The longest single wait a retry may take (a longer ``Retry-After`` fails at once)."""
    stale_if_error: bool = True
    """Serve an expired cache entry, flagged ``stale``, when every source fails transiently."""
    deadline: float = Field(default=30.0, gt=0)
    """Seconds a whole call may take: connect, send, every read, every retry and wait."""
    max_response_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    """The largest decoded JSON answer read (8 MiB; INSEE's 1000-SIRET page is ~3 MB)."""
    max_document_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    """The largest decoded document (PDF...) downloaded (20 MiB)."""
    document_urls: str = "public-https"
    """Which document URLs are fetched: ``public-https`` (default), ``https`` or ``any``,
    optionally followed by ``,host`` entries always allowed (see ``docs/errors.md``)."""

    _environ: Mapping[str, str] | None = PrivateAttr(default=None)

    @property
    def environ(self) -> Mapping[str, str] | None:
        """The ``DLNUF_*`` variables :meth:`from_env` read (``None``: built from arguments
        only). Each source reads its own options there (``DLNUF_<SOURCE>_*``)."""
        return self._environ

    @field_validator("sources", mode="before")
    @classmethod
    def _split_sources(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("cache", "answers", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("authenticated", "stale_if_error", mode="before")
    @classmethod
    def _strip_flag(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @classmethod
    def environment(cls, settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
        """The environment only inside :meth:`from_env`."""
        return None if _ENVIRON.get() is None else _Environment(settings_cls)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> Settings:
        """Settings from keyword arguments, falling back on ``DLNUF_*`` variables
        (``env``, default ``os.environ``).

        An argument explicitly given (even ``None``) wins over the environment. A bad
        argument or variable raises :class:`~dlnuf.ConfigurationError` naming it.
        """
        env = os.environ if env is None else env
        urls = {
            key[len(ENV_PREFIX):-len("_URL")].lower(): value
            for key, value in env.items()
            if key.upper().startswith(ENV_PREFIX) and key.upper().endswith("_URL") and value
        }
        urls.update(given.get("base_urls") or {})
        given["base_urls"] = urls
        with _reading(env):
            built = cls._build(given)
        built._environ = _Variables(env)
        return built

    def merged(self, **given: Any) -> Settings:
        """A copy with ``given`` arguments replacing these values (validated again)."""
        if "base_urls" in given:
            given["base_urls"] = {**self.base_urls, **(given["base_urls"] or {})}
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(given)
        built = type(self)._build(values)
        built._environ = self._environ
        return built

    @classmethod
    def _build(cls, values: dict[str, Any]) -> Settings:
        return validated(cls, values, "dlnuf configuration", _where)

    def base_url(self, source: str, default: str) -> str:
        """The base URL configured for ``source`` (staging, proxy, fake), or ``default``."""
        return self.base_urls.get(source, default).rstrip("/")


class _Variables(Mapping[str, str]):
    """A copy of the ``DLNUF_*`` variables of an environment; its repr shows no value."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._values = {k: v for k, v in env.items() if k.upper().startswith(ENV_PREFIX)}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<{len(self._values)} DLNUF_* variables>"


@contextmanager
def _reading(env: Mapping[str, str]) -> Iterator[None]:
    token = _ENVIRON.set(env)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


def _where(name: str) -> str:
    return f"{name} (argument {name}= or variable {ENV_PREFIX}{name.upper()})"


def validated(
    cls: type[_Model], values: Mapping[str, Any], what: str, where: Callable[[str], str]
) -> _Model:
    """``cls(**values)``, or a :class:`~dlnuf.ConfigurationError` saying, for each wrong
    field, ``where(name)`` (its argument and variable) and what is expected: never the
    value, which may be a secret."""
    try:
        return cls(**values)
    except ValidationError as exc:
        parts = []
        for error in exc.errors(include_input=False, include_url=False):
            name = ".".join(str(p) for p in error["loc"][:1]) or "settings"
            parts.append(f"{where(name)}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigurationError(f"invalid {what}: {'; '.join(parts)}") from None
    except SettingsError as exc:  # a variable that should hold JSON does not
        found = re.search(r'field "(\w+)"', str(exc))
        name = found.group(1) if found else "settings"
        raise ConfigurationError(f"invalid {what}: {where(name)}: not valid JSON") from None
