"""What a parser of an API Entreprise answer gets (:class:`Reply`), and :func:`with_data`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ...facts.base import Fact, Provenance
from ...identifiers import Siren, Siret
from ..parsing import as_dict, make_provenance, unix_datetime
from . import evidence as ev

__all__ = [
    "Parser",
    "Reply",
    "with_data",
]

@dataclass(frozen=True)
class Reply:
    """What a parser gets: the decoded body and the response it came from.

    ``ident`` is the identifier asked for; ``endpoint`` the path answered (from the
    response's request, else the path this source builds for ``ident``);
    ``public`` is true when that is a public (``diffusibles``, ``open_data``) endpoint.
    """

    source: str
    body: dict[str, Any]
    response: httpx.Response
    ident: Siret | Siren | None
    endpoint: str
    public: bool

    def provenance(self, *, updated_at: datetime | None, public: bool) -> Provenance:
        """The provenance of a fact parsed from this reply."""
        made = make_provenance(self.source, self.response, updated_at=updated_at, public=public)
        return made if made.endpoint else made.model_copy(update={"endpoint": self.endpoint})


Parser = Callable[[Reply], Fact]
"""Turns a :class:`Reply` into a fact; may raise KeyError/TypeError/ValueError on junk."""


def with_data(parse: ev.EvidenceParser) -> Parser:
    """A :data:`Parser` from an evidence parser taking ``(data, meta, provenance)``.

    The fact is public only when it comes from a public (open data) endpoint.
    """

    def parser(reply: Reply) -> Fact:
        meta = as_dict(reply.body.get("meta"))
        provenance = reply.provenance(
            updated_at=unix_datetime(meta.get("date_derniere_mise_a_jour")), public=reply.public
        )
        return parse(reply.body.get("data"), meta, provenance)

    parser.__name__ = parser.__qualname__ = parse.__name__
    parser.__doc__ = parse.__doc__
    return parser
