"""Sources of facts, and the kit to write one (see ``docs/sources/writing.md``).

A source is one class: subclass :class:`SourceBase`, set ``name`` and ``provides``,
declare its :class:`SourceOptions` (``DLNUF_<NAME>_*``), build requests, parse
responses, and read its own error bodies in ``error``; register it with one entry point
in the group ``dlnuf.sources``. :mod:`dlnuf.testing.conformance` checks it.

Everything an author needs is importable from here: the protocols (:class:`Source`,
:class:`BatchSource`, :class:`GuardedSource`), :class:`SourceBase`, the options
(:class:`SourceOptions`, :data:`RateOption`, :class:`Rate`), :class:`Quota`, the
parsing helpers (:mod:`dlnuf.sources.parsing`), :func:`url_for` (a request URL, its
base parsed once), the error helpers
(:func:`upstream_error`, :class:`ErrorBody`, :func:`error_json`, :func:`generic_body`)
and the registry (:func:`load_source`, :func:`available_sources`).
"""

from ..httperrors import ErrorBody, error_json, generic_body, upstream_error
from ..ratelimit import Quota
from . import parsing
from .base import (
    ENTRY_POINT_GROUP,
    BatchSource,
    GuardedSource,
    Identifier,
    Source,
    SourceBase,
    available_sources,
    check_source,
    load_source,
    source_error,
)
from .options import Rate, RateOption, SourceOptions, env_prefix, parse_rate
from .urls import url_for

__all__ = [
    "ENTRY_POINT_GROUP",
    "BatchSource",
    "ErrorBody",
    "GuardedSource",
    "Identifier",
    "Quota",
    "Rate",
    "RateOption",
    "Source",
    "SourceBase",
    "SourceOptions",
    "available_sources",
    "check_source",
    "env_prefix",
    "error_json",
    "generic_body",
    "load_source",
    "parse_rate",
    "parsing",
    "source_error",
    "upstream_error",
    "url_for",
]
