"""Request URLs built without parsing the whole URL again on every call.

``httpx.URL("https://host/path?query")`` checks and normalises every character of the
URL: about 13 µs for an API Entreprise URL, a fifth of what dlnuf adds to a lookup. A
source's URLs differ only by a path of plain characters (``/siret/<14 digits>``) and a
query that is fixed or made of plain characters, so :func:`url_for` parses a base URL
once and, for such a path and query, puts them into the parsed form directly.

The parsed form is httpx's own (``URL._uri_reference``, a named tuple). Before using it
for a base URL, the shortcut is checked once against a full parse of the same URL; if
it differs (another httpx version), or if the base URL has a query, a fragment or
credentials, or the path or query needs any encoding or normalising, :func:`url_for`
returns what a full parse gives. Either way the URL is the same.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx

__all__ = ["url_for"]

_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9_~-]+)+/?\Z")
"""A path httpx leaves as it is: segments of unreserved characters but dots (no dot
segment to normalise), nothing to percent-encode."""
_PLAIN_QUERY = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:/?@-]|%[0-9A-Fa-f]{2})*\Z")
"""A query httpx leaves as it is (what it would escape or re-escape is absent)."""
_PROBE_PATH = "/dlnuf/0"
_PROBE_QUERY = "q=0&a=%C3%A9+b"

_templates: dict[str, Any] = {}
"""The parsed base URL by base URL string, or ``None`` when the shortcut is off for it."""
_plain_queries: dict[str, bool] = {}
_lock = threading.Lock()
_MAX = 256
"""At most this many base URLs and queries remembered (a client has a few)."""


def url_for(base_url: str, path: str, query: str | None = None) -> httpx.URL:
    """``httpx.URL(base_url + path + "?" + query)``, parsed once per base URL.

    ``path`` starts with ``/``; ``query`` is already encoded (``a=1&b=x%20y``), or
    ``None`` for none.
    """
    template = _templates.get(base_url, _lock)
    if template is _lock:
        template = _template(base_url)
    if (
        template is not None
        and _PLAIN_PATH.match(path)
        and (query is None or _plain(query))
    ):
        url: httpx.URL = object.__new__(httpx.URL)
        url._uri_reference = template._replace(path=template.path + path, query=query)
        return url
    return httpx.URL(base_url + path + ("" if query is None else f"?{query}"))


def _plain(query: str) -> bool:
    known = _plain_queries.get(query)
    if known is None:
        known = bool(_PLAIN_QUERY.match(query))
        # A fixed query (API Entreprise's) is remembered; one that changes with each call
        # (Recherche's q=<siret>) fills the table once, then costs the match alone.
        if len(_plain_queries) < _MAX:
            with _lock:
                if len(_plain_queries) < _MAX:
                    _plain_queries[query] = known
    return known


def _template(base_url: str) -> Any:
    """The parsed ``base_url`` when the shortcut gives the same URLs as a full parse."""
    template: Any = None
    try:
        parsed = httpx.URL(base_url)
        ref = parsed._uri_reference
        if (
            parsed.is_absolute_url
            and not ref.userinfo
            and ref.query is None
            and ref.fragment is None
        ):  # its path is normalised already: a plain path after it adds no dot segment
            probe: httpx.URL = object.__new__(httpx.URL)
            probe._uri_reference = ref._replace(
                path=ref.path + _PROBE_PATH, query=_PROBE_QUERY
            )
            full = httpx.URL(f"{base_url}{_PROBE_PATH}?{_PROBE_QUERY}")
            if (
                probe == full
                and str(probe) == str(full)
                and probe.raw_path == full.raw_path
                and probe.netloc == full.netloc
            ):
                template = ref
    except Exception:
        template = None
    with _lock:
        if len(_templates) < _MAX:
            _templates[base_url] = template
    return template
