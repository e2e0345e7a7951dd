"""``Client`` and ``AsyncClient``: configuration and the public verbs.

Both run the same flows (:mod:`dlnuf.flow`, :mod:`dlnuf.batch`,
:meth:`dlnuf.documents.Documents.flow`) through a driver (:mod:`dlnuf.drivers`):
blocking for ``Client``, awaited for ``AsyncClient``, whose cache, limiter and
answer store never block its event loop. ``collect`` fetches independent kinds
concurrently in the async client.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Container, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import httpx

from .answers import AnswerStore, answers_location, open_answers
from .cache import Cache, CachePolicy, as_async, open_cache
from .config import Settings
from .documents import Documents
from .dossier import Dossier
from .drivers import AsyncDriver, SyncDriver
from .errors import ConfigurationError, DlnufError
from .facts.base import Fact
from .facts.evidence import Document
from .facts.identity import Identity
from .flow import Core, Flow, Session
from .forms.base import Draft, Form, required_kinds
from .forms.base import prefill as prefill_form
from .identifiers import parse_siret_or_siren
from .ratelimit import AsyncRateLimiter, MemoryRateLimiter, RateLimiter
from .results import BatchResult
from .sources.base import Source, available_sources, load_source
from .sources.options import SourceOptions
from .transport import AsyncTransport, SyncTransport

__all__ = ["AsyncClient", "Client"]

F = TypeVar("F", bound=Fact)
T = TypeVar("T")
FormT = TypeVar("FormT", bound=Form)

_UNSET: Any = object()

DEFAULT_LIMITER: RateLimiter = MemoryRateLimiter()
"""One limiter per process: every client of the process shares the upstream quotas."""


def _check_cache_argument(cache: object) -> None:
    """Refuse a ``cache=`` the client would otherwise ignore (or call wrongly)."""
    if cache is _UNSET or cache is None or isinstance(cache, str):
        return
    if isinstance(cache, Cache) and not inspect.iscoroutinefunction(getattr(cache, "get", None)):
        return
    raise ConfigurationError(
        f"cache= takes a cache URL ('sqlite', 'memory://', 'redis://...'), a "
        f"dlnuf.cache.Cache (MemoryCache, SQLiteCache, RedisCache) or None, not a "
        f"{type(cache).__name__}; the async client makes its own asyncio twin of the cache "
        "it is given"
    )


class _ClientBase:
    """Configuration shared by the two clients.

    Arguments (each also read from the environment, ``DLNUF_*``, when not given):

    - ``sources``: source names (or :class:`~dlnuf.sources.base.Source` instances) in
      priority order; the next one is tried when one fails transiently.
      Default ``["recherche_entreprises"]``; ``["sandbox"]`` answers offline.
    - ``options``: each source's own options, by source name:
      ``{"insee_sirene": {"api_key": ...}, "recherche_entreprises": {"quota": "50/s"}}``
      (dicts, or the source's ``Options`` instances); each also reads
      ``DLNUF_<SOURCE>_<OPTION>``. See the source pages of the documentation.
    - ``api_entreprise_token``, ``recipient`` (the public body's SIRET), ``context``,
      ``object`` (under 50 characters): API Entreprise credentials and purpose
      (shortcuts for its options ``token``, ``recipient``, ``context``, ``object``).
    - ``authenticated``: the caller serves an authenticated, entitled purpose, so
      protected (non-diffusible) data may be fetched. Default ``False``.
    - ``insee_api_key``: the INSEE Sirene key (shortcut for its option ``api_key``).
    - ``cache``: ``"sqlite"`` (default file), ``"sqlite:///file.db"``, ``"memory://"``,
      ``"redis://..."``, a :class:`~dlnuf.cache.Cache` instance, or ``None`` (no cache).
    - ``base_urls``: per-source base URL (staging, a proxy, a fake server); a shortcut for
      each source's option ``base_url`` (``DLNUF_<SOURCE>_URL``).
    - ``timeout``: seconds for one JSON call (default 5); ``retries``: how many times a
      transient failure is retried (default 3); ``document_timeout``,
      ``max_retry_wait``, ``stale_if_error``, ``user_agent``: see :class:`~dlnuf.Settings`.
    - ``answers``: where the company's declared answers are kept: an
      :class:`~dlnuf.AnswerStore`, a file path, or ``"memory"``. Default: see
      :func:`dlnuf.answers.answers_location` (never the cache's file; in memory with
      ``cache=None``, a memory cache, or the sandbox).
    - ``settings``: a ready :class:`~dlnuf.Settings`; arguments given beside it win
      over its values (it reads no environment itself).
    - ``policy``: the :class:`~dlnuf.cache.CachePolicy` (expiry per kind).
    - ``limiter``: the rate limiter (default: one shared by every client of the process;
      a :class:`~dlnuf.ratelimit_redis.RedisRateLimiter` shares it across processes).
      The async client awaits its asyncio twin (it also takes an
      :class:`~dlnuf.ratelimit.AsyncRateLimiter`).
    - ``http_client``: your own ``httpx.Client`` (``httpx.AsyncClient`` for the async
      client), e.g. for proxies or custom TLS; calls go through the transport it picks
      for each URL, and through ``send`` when it has an auth or event hooks
      (:mod:`dlnuf.wire`).
    - ``deadline``: seconds a whole call may take, retries included (default 30).
    - ``max_response_bytes`` / ``max_document_bytes``: the largest decoded JSON answer
      (8 MiB) and document (20 MiB) read; larger ones are :class:`~dlnuf.ResponseTooLarge`.
    - ``document_urls``: which document URLs are fetched (``public-https`` by default;
      see :mod:`dlnuf.urlpolicy`).
    """

    def __init__(
        self,
        sources: Iterable[str | Source] | str | None = None,
        *,
        api_entreprise_token: str | None = None,
        recipient: str | None = None,
        context: str | None = None,
        object: str | None = None,
        authenticated: bool | None = None,
        insee_api_key: str | None = None,
        cache: str | Cache | None = _UNSET,
        base_urls: Mapping[str, str] | None = None,
        settings: Settings | None = None,
        policy: CachePolicy | None = None,
        limiter: RateLimiter | AsyncRateLimiter | None = None,
        http_client: httpx.Client | httpx.AsyncClient | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        answers: AnswerStore | str | None = None,
        document_timeout: float | None = None,
        max_retry_wait: float | None = None,
        stale_if_error: bool | None = None,
        user_agent: str | None = None,
        deadline: float | None = None,
        max_response_bytes: int | None = None,
        max_document_bytes: int | None = None,
        document_urls: str | None = None,
        options: Mapping[str, SourceOptions | Mapping[str, Any]] | None = None,
    ) -> None:
        options = _check_options(options)
        given_sources: list[str | Source] | None = (
            [sources] if isinstance(sources, str) else None if sources is None else list(sources)
        )
        instances = {s.name: s for s in given_sources or () if not isinstance(s, str)}
        given: dict[str, Any] = {
            "sources": [s if isinstance(s, str) else s.name for s in given_sources]
            if given_sources is not None
            else None,
            "api_entreprise_token": api_entreprise_token,
            "recipient": recipient,
            "context": context,
            "object": object,
            "authenticated": authenticated,
            "insee_api_key": insee_api_key,
            "base_urls": _option_urls(options, base_urls),
            "timeout": timeout,
            "retries": retries,
            "document_timeout": document_timeout,
            "max_retry_wait": max_retry_wait,
            "stale_if_error": stale_if_error,
            "user_agent": user_agent,
            "deadline": deadline,
            "max_response_bytes": max_response_bytes,
            "max_document_bytes": max_document_bytes,
            "document_urls": document_urls,
        }
        given = {k: v for k, v in given.items() if v is not None}
        _check_cache_argument(cache)
        if isinstance(cache, str) or cache is None:
            given["cache"] = cache
        if isinstance(answers, str):
            given["answers"] = answers
        # Arguments win over settings= (which reads no environment), or over DLNUF_*.
        settings = settings.merged(**given) if settings is not None else Settings.from_env(**given)
        self.settings = settings
        """The validated configuration (secrets masked in its repr)."""
        loaded: list[Source] = [
            instances.get(name) or load_source(name, settings, options.get(name))
            for name in settings.sources
        ]
        cache_obj = cache if isinstance(cache, Cache) else open_cache(settings.cache)
        self._core = Core(settings, loaded, cache_obj, policy or CachePolicy())
        self._documents = Documents(cache_obj, settings)
        self._limiter: RateLimiter | AsyncRateLimiter = limiter or DEFAULT_LIMITER
        self._mounts = {s.base_url: s.mount for s in loaded if s.mount is not None}
        self._errors = {
            s.name: hook for s in loaded if callable(hook := getattr(s, "error", None))
        }
        self._answers: AnswerStore | None = answers if isinstance(answers, AnswerStore) else None
        self._own_answers = self._answers is None
        self._setup_transport(http_client)

    def _setup_transport(self, http_client: httpx.Client | httpx.AsyncClient | None) -> None:
        raise NotImplementedError

    @property
    def sources(self) -> list[Source]:
        """The configured sources, in priority order."""
        return list(self._core.sources)

    @property
    def cache(self) -> Cache | None:
        """The cache backend, or ``None`` when caching is off."""
        return self._core.cache

    @property
    def answers(self) -> AnswerStore:
        """What companies declared themselves (opened on first use), where
        :func:`~dlnuf.answers.answers_location` says: never the cache's file, nothing on
        disk with ``cache=None`` or a memory cache, never the real store for the sandbox."""
        if self._answers is None:
            self._answers = open_answers(answers_location(self.settings, self._core.cache))
        return self._answers

    def _close_answers(self) -> None:
        if self._answers is not None and self._own_answers:
            self._answers.close()
            self._answers = None

    def __repr__(self) -> str:
        names = ",".join(s.name for s in self._core.sources)
        cache = type(self._core.cache).__name__ if self._core.cache else None
        return (
            f"{type(self).__name__}(sources=[{names}], cache={cache}, "
            f"authenticated={self.settings.authenticated})"
        )

    def _kinds_flows(
        self, value: object, kinds: Iterable[type[Fact]], dossier: Dossier
    ) -> list[tuple[type[Fact], Flow[Fact]]]:
        flows: list[tuple[type[Fact], Flow[Fact]]] = []
        session = Session()  # what one kind learns about a provider serves the next ones
        for kind in dict.fromkeys(kinds):
            try:
                flows.append((kind, self._core.lookup(kind, value, session=session)))
            except DlnufError as exc:
                dossier.errors[kind] = exc
        return flows


def _check_options(
    options: Mapping[str, SourceOptions | Mapping[str, Any]] | None,
) -> dict[str, SourceOptions | Mapping[str, Any]]:
    """``options`` by source name, each name an installed source (a typo fails here)."""
    if not options:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigurationError("options must map source names to their options")
    known = available_sources()
    unknown = sorted(str(name) for name in options if name not in known)
    if unknown:
        raise ConfigurationError(
            f"options name unknown sources: {', '.join(unknown)}; installed sources: "
            f"{', '.join(sorted(known))}"
        )
    return dict(options)


def _option_urls(
    options: Mapping[str, SourceOptions | Mapping[str, Any]], base_urls: Mapping[str, str] | None
) -> Mapping[str, str] | None:
    """``base_urls`` with the ``base_url`` options given (so that every part of the client,
    documents and answers included, knows which upstreams are not the production ones)."""
    found = dict(base_urls or {})
    for name, given in options.items():
        fields = given.model_dump(exclude_unset=True) if isinstance(given, SourceOptions) else given
        url = fields.get("base_url") if isinstance(fields, Mapping) else None
        if isinstance(url, str) and url:
            found[name] = url
    return found or base_urls


class Client(_ClientBase):
    """The synchronous client.

    ``Client()`` uses Recherche d'entreprises (no key) with the SQLite cache;
    ``Client(sources=["sandbox"])`` answers offline from the shipped data set.
    Every argument also reads from the environment (``DLNUF_*``); the arguments
    are listed on the base class below. Use it as a context manager, or call
    :meth:`close`.
    """

    def _setup_transport(self, http_client: httpx.Client | httpx.AsyncClient | None) -> None:
        if isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("Client needs an httpx.Client, not an httpx.AsyncClient")
        if asyncio.iscoroutinefunction(getattr(self._limiter, "reserve", None)):
            raise ConfigurationError(
                "Client needs a blocking RateLimiter (MemoryRateLimiter, RedisRateLimiter), "
                "not an asyncio one"
            )
        self._transport = SyncTransport(
            self.settings, limiter=cast(RateLimiter, self._limiter), mounts=self._mounts,
            http_client=http_client, errors=self._errors,
        )
        self._driver = SyncDriver(self._core, self._transport, self._documents)

    def get(self, value: object, kind: type[F], *, source: str | None = None) -> F:
        """The fact ``kind`` about ``value`` (a SIRET, or a SIREN for legal-unit kinds).

        Raises :class:`~dlnuf.InvalidSiret` before any I/O when ``value`` is not
        valid, and a :class:`~dlnuf.DlnufError` subclass when no source could answer.
        """
        return self._driver.drive(self._core.lookup(kind, value, source=source))

    def identity(self, siret: object, *, source: str | None = None) -> Identity:
        """The identity of the establishment ``siret``."""
        return self.get(siret, Identity, source=source)

    def collect(self, value: object, kinds: Iterable[type[Fact]]) -> Dossier:
        """Every kind in ``kinds`` for one company: facts, and a typed error per missing kind."""
        dossier = Dossier(parse_siret_or_siren(value))
        for kind, flow in self._kinds_flows(value, kinds, dossier):
            try:
                dossier.facts[kind] = self._driver.drive(flow)
            except DlnufError as exc:
                dossier.errors[kind] = exc
        return dossier

    def prefill(
        self, form_cls: type[FormT], value: object, answers: AnswerStore | None = None
    ) -> Draft[FormT]:
        """Pre-fill ``form_cls`` for ``value``: collects only the kinds the form reads, then
        :func:`~dlnuf.forms.prefill` with ``answers`` (default: :attr:`answers`)."""
        dossier = self.collect(value, required_kinds(form_cls))
        return prefill_form(form_cls, dossier, answers if answers is not None else self.answers)

    def many(
        self,
        values: Iterable[object],
        kinds: Iterable[type[Fact]] = (Identity,),
        *,
        concurrency: int = 8,
        progress: bool = False,
        ordered: bool = False,
        skip: Container[int] = (),
    ) -> Iterator[BatchResult]:
        """Look up many SIRETs at the upstream quota: one :class:`~dlnuf.batch.BatchResult`
        per input value, streamed as answers arrive (see :mod:`dlnuf.batch`).

        Results come in completion order (cached ones first), each tagged with its
        input ``index``; ``ordered=True`` keeps input order. ``concurrency`` threads
        share this client; ``progress=True`` shows a rich bar on stderr; indexes in
        ``skip`` are not looked up (to resume a run). Bad SIRETs get an
        :class:`~dlnuf.InvalidSiret` in ``errors``; repeated ones are fetched once.
        """
        return self._driver.many(
            values, kinds, concurrency=concurrency, progress=progress, ordered=ordered, skip=skip
        )

    def fetch_document(self, document: Document) -> bytes:
        """The bytes of ``document`` (a certificate's PDF): kept ones, else downloaded
        (12 s timeout) and kept in the cache. Raises :class:`~dlnuf.DocumentExpired`
        when its URL is dead and no bytes were kept: collect the fact again."""
        return self._driver.fetch_document(document)

    def close(self) -> None:
        """Close the HTTP connections and the cache."""
        self._driver.close()
        self._close_answers()
        if self._core.cache is not None:
            self._core.cache.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_ClientBase):
    """The asynchronous client: same arguments and behaviour as :class:`Client`.

    ``collect`` fetches independent kinds concurrently. Nothing blocks the event loop:
    the cache is awaited through its asyncio twin (:func:`dlnuf.cache.as_async`:
    Redis on ``redis.asyncio``, SQLite in worker threads, memory inline), so is the
    limiter (:func:`dlnuf.ratelimit.as_async_limiter`), and the answer store is read
    in a worker thread.
    """

    def _setup_transport(self, http_client: httpx.Client | httpx.AsyncClient | None) -> None:
        if isinstance(http_client, httpx.Client):
            raise ConfigurationError("AsyncClient needs an httpx.AsyncClient, not an httpx.Client")
        self._transport = AsyncTransport(
            self.settings, limiter=self._limiter, mounts=self._mounts, http_client=http_client,
            errors=self._errors,
        )
        cache = self._core.cache
        self._driver = AsyncDriver(
            self._core, self._transport, self._documents,
            as_async(cache) if cache is not None else None,
        )

    async def get(self, value: object, kind: type[F], *, source: str | None = None) -> F:
        """The fact ``kind`` about ``value``; see :meth:`Client.get`."""
        return await self._driver.drive(self._core.lookup(kind, value, source=source))

    async def identity(self, siret: object, *, source: str | None = None) -> Identity:
        """The identity of the establishment ``siret``."""
        return await self.get(siret, Identity, source=source)

    async def collect(self, value: object, kinds: Iterable[type[Fact]]) -> Dossier:
        """Every kind in ``kinds`` for one company, fetched concurrently."""
        dossier = Dossier(parse_siret_or_siren(value))
        flows = self._kinds_flows(value, kinds, dossier)
        results = await asyncio.gather(
            *(self._driver.drive(flow) for _, flow in flows), return_exceptions=True
        )
        for (kind, _), result in zip(flows, results, strict=True):
            if isinstance(result, DlnufError):
                dossier.errors[kind] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                dossier.facts[kind] = result
        return dossier

    async def prefill(
        self, form_cls: type[FormT], value: object, answers: AnswerStore | None = None
    ) -> Draft[FormT]:
        """Pre-fill ``form_cls`` for ``value``; see :meth:`Client.prefill` (the answer store
        is opened and read in a worker thread: it is a SQLite file)."""
        dossier = await self.collect(value, required_kinds(form_cls))
        if answers is None:
            answers = await asyncio.to_thread(lambda: self.answers)
        return await asyncio.to_thread(prefill_form, form_cls, dossier, answers)

    def many(
        self,
        values: Iterable[object],
        kinds: Iterable[type[Fact]] = (Identity,),
        *,
        concurrency: int = 8,
        progress: bool = False,
        ordered: bool = False,
        skip: Container[int] = (),
    ) -> AsyncIterator[BatchResult]:
        """An async iterator of results (``async for r in client.many(...)``): up to
        ``concurrency`` lookups at once; otherwise as :meth:`Client.many`."""
        return self._driver.many(
            values, kinds, concurrency=concurrency, progress=progress, ordered=ordered, skip=skip
        )

    async def fetch_document(self, document: Document) -> bytes:
        """The bytes of ``document``; see :meth:`Client.fetch_document`."""
        return await self._driver.fetch_document(document)

    async def aclose(self) -> None:
        """Close the HTTP connections and the cache (the files in a worker thread)."""
        await self._driver.aclose()
        await asyncio.to_thread(self._close_files)

    def _close_files(self) -> None:
        self._close_answers()
        if self._core.cache is not None:
            self._core.cache.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

