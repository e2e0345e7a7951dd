"""Documents' bytes: download a certificate's PDF once, keep it in the client's cache.

API Entreprise serves a certificate's PDF behind a temporary URL (about a day).
:class:`Documents` decides everything around one download and does no I/O: the
bytes already kept (served even after the URL expired), the request (no
credentials: the URL is pre-signed; the documents' timeout), keeping the bytes,
and turning a dead link into :class:`~dlnuf.errors.DocumentExpired`.
:meth:`Documents.flow` is a download written as a flow, like a lookup: it yields
the cache read, the URL check, the download and the cache write as steps, which the
client's driver (:mod:`dlnuf.drivers`, sync or async) performs.
:func:`bind_documents` attaches a fetcher to every document of a fact, so that
``fact.document.fetch()`` works.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Generator, Iterator
from datetime import timedelta
from functools import partial
from typing import Annotated, Any, Literal, get_args, get_origin

import httpx
from pydantic import BaseModel

from .cache.base import Cache, cache_key
from .config import Settings
from .errors import (
    ConfigurationError,
    DlnufError,
    DocumentExpired,
    RefusedUrl,
    UpstreamError,
)
from .facts.base import utcnow
from .facts.evidence import Document
from .flow import AnyStep, Blocking, CacheGet, CacheSet, Download
from .ratelimit import Quota
from .urlpolicy import UrlPolicy, is_local_host

__all__ = [
    "DOCUMENT_TTL",
    "DOWNLOAD_QUOTA",
    "Documents",
    "bind_documents",
    "document_fields",
    "document_key",
    "documents_of",
    "download_name",
]

SOURCE = "documents"
DOWNLOAD_QUOTA = Quota("documents:download", 600, 60)
"""Downloads from the document storage (not an API Entreprise endpoint, not its quota)."""
DOCUMENT_TTL = timedelta(days=90)
"""How long downloaded bytes are kept (the upstream deletes some documents after 3 months)."""

_DEAD_LINK = frozenset({401, 403, 404, 410})
"""What a storage answers for an expired or revoked pre-signed URL."""


def document_key(document: Document) -> str:
    """The cache key of a document's bytes: a digest of its URL (the URL is a capability)."""
    digest = hashlib.sha256(document.url.encode()).hexdigest()[:40]
    return cache_key(SOURCE, "bytes", "Document", digest)


class Documents:
    """The decisions of a download, shared by the sync and the async client (no I/O)."""

    def __init__(self, cache: Cache | None, settings: Settings, ttl: timedelta = DOCUMENT_TTL):
        self.cache = cache
        self.settings = settings
        self.ttl = ttl
        local = (httpx.URL(url).host for url in settings.base_urls.values())
        self.urls = UrlPolicy.parse(
            settings.document_urls, [host for host in local if is_local_host(host)]
        )
        """Which URLs may be fetched (``settings.document_urls``, plus the hosts of
        configured base URLs that are local: a fake server on loopback)."""
        self.max_bytes = settings.max_document_bytes

    def cached(self, document: Document) -> bytes | None:
        """The bytes kept for ``document``, if any (a broken cache is a miss)."""
        if self.cache is None:
            return None
        try:
            entry = self.cache.get(document_key(document))
        except Exception:  # a broken cache never breaks a download
            return None
        return entry.value if entry is not None and entry.is_fresh(utcnow()) else None

    def request(self, document: Document) -> httpx.Request:
        """The download request; :class:`DocumentExpired` if the URL is known to be dead."""
        if document.is_expired():
            raise self._expired(document, "its link expired")
        try:
            url = httpx.URL(document.url)
        except (httpx.InvalidURL, ValueError, TypeError):
            url = None
        if url is None or not url.host:
            raise RefusedUrl(
                f"documents: {document.filename}'s URL is not a valid absolute URL; "
                "collect the fact again",
                source=SOURCE,
            )
        request = httpx.Request(
            "GET",
            document.url,
            headers={
                "Accept": f"{document.media_type}, */*",
                "User-Agent": self.settings.user_agent,
            },
        )
        request.extensions["timeout"] = httpx.Timeout(self.settings.document_timeout).as_dict()
        return request

    def flow(self, document: Document) -> Generator[AnyStep, Any, bytes]:
        """The download of ``document`` as a flow: the kept bytes (a cache read), else
        the URL checked (it may resolve the host: blocking work), the bytes downloaded
        and kept (a cache write). A driver runs it, like a lookup."""
        key = document_key(document)
        if self.cache is not None:
            entry = yield CacheGet(key)
            if entry is not None and entry.is_fresh(utcnow()):
                kept: bytes = entry.value
                return kept
        request = self.request(document)
        try:
            yield Blocking(partial(self.urls.check, request.url))
            response = yield Download(
                request, DOWNLOAD_QUOTA, SOURCE, self.max_bytes, self.urls.check
            )
        except DlnufError as exc:
            raise self.failed(document, exc) from None
        content = self.content(document, response)
        if self.cache is not None:  # a failed write is logged: the bytes are returned
            expires_at = utcnow() + self.ttl
            yield CacheSet(key, content, expires_at, expires_at)
        return content

    def content(self, document: Document, response: httpx.Response) -> bytes:
        """The downloaded bytes; :class:`DocumentExpired` when they are empty."""
        content = response.content
        if not content:
            raise DocumentExpired(
                f"the document {document.filename} came back empty: collect the fact again "
                "for a fresh link"
            )
        return content

    def keep(self, document: Document, response: httpx.Response) -> bytes:
        """The downloaded bytes, kept in the cache (blocking: what :meth:`flow` does
        after a download, for a caller without a driver)."""
        content = self.content(document, response)
        if self.cache is not None:
            expires_at = utcnow() + self.ttl
            with contextlib.suppress(Exception):  # the bytes are returned all the same
                self.cache.set(
                    document_key(document), content, expires_at=expires_at, stale_until=expires_at
                )
        return content

    def failed(self, document: Document, error: DlnufError) -> DlnufError:
        """The error to raise for a failed download: a dead link is :class:`DocumentExpired`."""
        if isinstance(error, UpstreamError) and error.status in _DEAD_LINK:
            return self._expired(document, f"its link answers HTTP {error.status}")
        return error

    def cached_only(self, document: Document) -> bytes:
        """The kept bytes, for a document bound to an async client (no download here)."""
        content = self.cached(document)
        if content is None:
            raise ConfigurationError(
                "this document belongs to an AsyncClient: use "
                "`await client.fetch_document(doc)` to download it"
            )
        return content

    def _expired(self, document: Document, why: str) -> DocumentExpired:
        when = document.url_expires_at
        at = f" (at {when:%Y-%m-%d %H:%M} UTC)" if when is not None else ""
        return DocumentExpired(
            f"the document {document.filename} cannot be downloaded: {why}{at}, and its "
            "bytes were not kept. Collect the fact again for a fresh link, then fetch the "
            "document promptly (dlnuf keeps the bytes once downloaded)"
        )


_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def download_name(kind: type[Any], ident: str, fact: Any, document: Document, number: int) -> str:
    """A safe file name for a downloaded document: ``<Kind>-<SIRET>-<date>[-n].<ext>``.

    Built from the fact's kind, the identifier and the day it was fetched, never from
    the URL (an upstream URL may hold a NUL byte, a newline, a backslash, ``..`` or
    hundreds of characters); the extension comes from the media type.
    """
    provenance = getattr(fact, "provenance", None)
    fetched = getattr(provenance, "fetched_at", None) or utcnow()
    ext = _EXTENSIONS.get(document.media_type, ".bin")
    digits = "".join(c for c in str(ident) if c.isascii() and c.isdigit())[:14] or "unknown"
    suffix = "" if number == 1 else f"-{number}"
    return f"{kind.__name__}-{digits}-{fetched:%Y-%m-%d}{suffix}{ext}"


def documents_of(value: Any) -> Iterator[Document]:
    """Every :class:`Document` in a fact (its own, and its parts', like RGE certificates).

    Only the fields that can hold a document are read (see :func:`document_fields`):
    a fact whose class has none, like :class:`~dlnuf.facts.identity.Identity`, is
    not walked at all.
    """
    if isinstance(value, Document):
        yield value
    elif isinstance(value, BaseModel):
        for name in document_fields(type(value)):
            yield from documents_of(getattr(value, name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from documents_of(item)


_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {}


def document_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The names of the fields of ``cls`` that can hold a :class:`Document` (computed once
    per class, from the annotations).

    A field can when its annotation names ``Document``, a model with such a field
    (at any depth, in a tuple, a list or a union), or something untyped (``Any``,
    ``object``). Fields typed with scalars (``str``, ``date``, ``Siret``,
    literals, tuples of those...) or with document-less models cannot: pydantic
    validates what a field holds, and a fact read back from the cache is rebuilt
    from its annotations anyway.
    """
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = _document_fields(cls, set())
    return fields


def _document_fields(cls: type[BaseModel], busy: set[type[BaseModel]]) -> tuple[str, ...]:
    busy.add(cls)
    try:
        return tuple(
            name for name, info in cls.model_fields.items() if _may_hold(info.annotation, busy)
        )
    finally:
        busy.discard(cls)


def _may_hold(annotation: Any, busy: set[type[BaseModel]]) -> bool:
    """Whether a value typed ``annotation`` can hold a :class:`Document` (``busy``: the
    models being looked at, taken as able to: a model that refers to itself)."""
    if annotation is None or annotation is type(None) or annotation is Ellipsis:
        return False
    if annotation is Any or annotation is object:  # (Any is a class since Python 3.11)
        return True
    if isinstance(annotation, type) and not get_args(annotation):
        if issubclass(annotation, Document):
            return True
        if issubclass(annotation, BaseModel):
            if annotation in busy:
                return True
            known = _FIELDS.get(annotation)
            return bool(known if known is not None else _document_fields(annotation, busy))
        return annotation in (tuple, list)  # bare: their items are untyped
    origin = get_origin(annotation)
    if origin is Literal:
        return False
    if origin is Annotated:
        return _may_hold(get_args(annotation)[0], busy)
    if origin is None:  # Any, a TypeVar, a forward reference left as a string: unknown
        return True
    return any(_may_hold(arg, busy) for arg in get_args(annotation))


def bind_documents(value: Any, fetcher: Callable[[Document], bytes]) -> None:
    """Bind every document of ``value`` to ``fetcher`` (``doc.fetch()`` then calls it)."""
    for document in documents_of(value):
        document.bind(fetcher)
