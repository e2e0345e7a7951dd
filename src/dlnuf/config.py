"""Client configuration: keyword arguments, else ``DLNUF_*`` environment variables.

Secrets (the API Entreprise token, the INSEE key) are held as
:class:`pydantic.SecretStr`: their repr is ``'**********'`` and they never reach
a log, an exception or a cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .errors import ConfigurationError

__all__ = ["DEFAULT_CACHE", "DEFAULT_SOURCES", "Settings"]

DEFAULT_SOURCES: tuple[str, ...] = ("recherche_entreprises",)
DEFAULT_CACHE = "sqlite"
"""``sqlite`` alone means the default file, ``~/.cache/dlnuf/cache.db`` (or ``$XDG_CACHE_HOME``)."""

_UNSET: Any = object()


class Settings(BaseModel):
    """Everything a client needs to know, validated once.

    Build it with :meth:`from_env`, which reads ``DLNUF_*`` variables for every
    argument not given.
    """

    # hide_input_in_errors: a misspelled or mistyped token argument must not be echoed
    # back in the validation error (and so in ConfigurationError).
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    sources: tuple[str, ...] = DEFAULT_SOURCES
    api_entreprise_token: SecretStr | None = None
    recipient: str | None = None
    """SIRET of the public body the data is for (API Entreprise ``recipient``)."""
    context: str | None = None
    """Framework of the request (API Entreprise ``context``, e.g. ``Marché public``)."""
    object: str | None = None
    """Reason or procedure id (API Entreprise ``object``, under 50 characters)."""
    authenticated: bool = False
    """Whether the caller serves an authenticated, entitled purpose (protected data allowed)."""
    insee_api_key: SecretStr | None = None
    cache: str | None = DEFAULT_CACHE
    base_urls: Mapping[str, str] = Field(default_factory=dict)
    user_agent: str = "dlnuf (+https://pypi.org/project/dlnuf/)"
    timeout: float = 5.0
    """Seconds for a JSON call (documents get :attr:`document_timeout`)."""
    document_timeout: float = 12.0
    retries: int = 3
    """How many times a transient failure is retried (so ``retries + 1`` tries at most)."""
    max_retry_wait: float = 30.0
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

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, **given: Any
    ) -> Settings:
        """Settings from keyword arguments, falling back on ``DLNUF_*`` variables.

        An argument explicitly given (even ``None``) wins over the environment.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {k: v for k, v in given.items() if v is not _UNSET}

        def pick(name: str, var: str) -> None:
            if name not in values and env.get(var):
                values[name] = env[var]

        pick("api_entreprise_token", "DLNUF_API_ENTREPRISE_TOKEN")
        pick("recipient", "DLNUF_RECIPIENT")
        pick("context", "DLNUF_CONTEXT")
        pick("object", "DLNUF_OBJECT")
        pick("insee_api_key", "DLNUF_INSEE_API_KEY")
        if "cache" not in values and "DLNUF_CACHE" in env:
            values["cache"] = env["DLNUF_CACHE"]  # set but empty turns the cache off
        pick("user_agent", "DLNUF_USER_AGENT")
        if "sources" not in values and env.get("DLNUF_SOURCES"):
            values["sources"] = [s.strip() for s in env["DLNUF_SOURCES"].split(",") if s.strip()]
        if "authenticated" not in values and env.get("DLNUF_AUTHENTICATED"):
            values["authenticated"] = env["DLNUF_AUTHENTICATED"].strip().lower() in {
                "1", "true", "yes", "on",
            }
        if isinstance(values.get("sources"), str):
            values["sources"] = [s.strip() for s in values["sources"].split(",") if s.strip()]
        urls = {
            key[len("DLNUF_"):-len("_URL")].lower(): value
            for key, value in env.items()
            if key.startswith("DLNUF_") and key.endswith("_URL") and value
        }
        urls.update(values.get("base_urls") or {})
        values["base_urls"] = urls
        if values.get("cache") == "":
            values["cache"] = None
        if not values.get("sources"):
            values["sources"] = DEFAULT_SOURCES
        try:
            return cls(**values)
        except ValueError as exc:
            raise ConfigurationError(f"invalid dlnuf configuration: {exc}") from None

    def base_url(self, source: str, default: str) -> str:
        """The base URL configured for ``source`` (staging, proxy, fake), or ``default``."""
        return self.base_urls.get(source, default).rstrip("/")
