"""What ``many()`` gives back: :class:`BatchResult` (one per input line, a
:class:`~dlnuf.Dossier` with its line) and :class:`BatchResults` (all of them, in
input order: tables for notebooks and pandas)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .dossier import Dossier
from .errors import DlnufError, InvalidSiret
from .facts.base import Fact
from .identifiers import Siren, Siret
from .records import fact_cells, leaf_paths, pandas

__all__ = ["BatchResult", "BatchResults", "acollect", "collect", "record_columns"]

F = TypeVar("F", bound=Fact)


@dataclass(init=False, repr=False)
class BatchResult(Dossier):
    """The answer for one input line: a :class:`~dlnuf.Dossier` (facts that came back,
    a typed error for each kind that did not: ``ok``, ``get``, ``result[Kind]``,
    ``valid_on``...) with where the line came from.

    ``index`` is the line's position in the input (0-based); ``input`` the value
    as given; ``siret`` the parsed SIRET. A line whose input is not a SIRET has
    ``siret`` and ``ident`` ``None`` (its error says why, for each kind).
    """

    index: int = 0
    input: object = None
    kinds: tuple[type[Fact], ...] = ()
    """The kinds asked for."""

    def __init__(
        self,
        index: int,
        input: object,
        siret: Siret | None,
        kinds: tuple[type[Fact], ...],
        facts: dict[type[Fact], Fact] | None = None,
        errors: dict[type[Fact], DlnufError] | None = None,
    ) -> None:
        # ident is None only for an input that is no SIRET (see siren below).
        super().__init__(cast(Siret, siret), {} if facts is None else facts,
                         {} if errors is None else errors)
        self.index = index
        self.input = input
        self.kinds = kinds

    @property
    def siren(self) -> Siren:
        """The SIREN of the company; the line's error when its input is not a SIRET."""
        if self.ident is None:
            raise next(iter(self.errors.values()), None) or InvalidSiret(
                self.input, "length", "this line's input is not a SIRET"
            )
        return self.ident.siren

    def __repr__(self) -> str:
        from .display.text import batch_result_repr

        return batch_result_repr(self)

    def _repr_html_(self) -> str:
        """The result as an HTML table row (notebooks)."""
        from .display.html import batch_results_html

        return batch_results_html([self])

    def to_record(self) -> dict[str, Any]:
        """One flat row: ``index``, ``input``, ``siret`` (parsed from the input), ``ok``,
        then for each kind its fields as ``Kind.path`` (``Identity.address.city``) and
        ``Kind.error_type`` / ``Kind.error``. Values are JSON scalars; lists of scalars
        are joined with ``"; "``, other lists and mappings are JSON text."""
        row: dict[str, Any] = {
            "index": self.index,
            "input": _text(self.input),
            "siret": str(self.siret) if self.siret else None,
            "ok": self.ok,
        }
        for kind in self.kinds:
            prefix = f"{kind.__name__}."
            row.update(fact_cells(kind, self.facts.get(kind), prefix))
            error = self.errors.get(kind)
            row[prefix + "error_type"] = type(error).__name__ if error else None
            row[prefix + "error"] = str(error) if error else None
        return row

    def to_json(self) -> dict[str, Any]:
        """A nested JSON object: ``facts`` and ``errors`` (type, message, transient) by kind."""
        return {
            "index": self.index,
            "input": _text(self.input),
            "siret": str(self.siret) if self.siret else None,
            "facts": {k.__name__: f.model_dump(mode="json") for k, f in self.facts.items()},
            "errors": {
                k.__name__: {
                    "type": type(e).__name__,
                    "message": str(e),
                    "transient": e.transient,
                }
                for k, e in self.errors.items()
            },
        }


class BatchResults(list[BatchResult]):
    """Collected results, in input order (see :func:`collect`), for notebooks."""

    def __repr__(self) -> str:
        from .display.text import batch_results_repr

        return batch_results_repr(self)

    def _repr_html_(self) -> str:
        """The results as an HTML table, one row per input (notebooks)."""
        from .display.html import batch_results_html

        return batch_results_html(self)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per result (:meth:`BatchResult.to_record`)."""
        return [r.to_record() for r in self]

    def to_pandas(self) -> Any:
        """A :class:`pandas.DataFrame` of :meth:`to_records`, indexed by ``index``.

        Needs pandas (``pip install dlnuf[pandas]``).
        """
        pd = pandas()
        columns = record_columns(self[0].kinds) if self else ["index"]
        return pd.DataFrame.from_records(self.to_records(), columns=columns).set_index("index")


def collect(results: Iterable[BatchResult]) -> BatchResults:
    """Every result of ``client.many(...)``, sorted back into input order."""
    return BatchResults(sorted(results, key=lambda r: r.index))


async def acollect(results: AsyncIterator[BatchResult]) -> BatchResults:
    """Every result of ``async_client.many(...)``, sorted back into input order."""
    return collect([r async for r in results])


def record_columns(kinds: Iterable[type[Fact]]) -> list[str]:
    """The keys of :meth:`BatchResult.to_record` for ``kinds``, in order."""
    columns = ["index", "input", "siret", "ok"]
    for kind in kinds:
        prefix = f"{kind.__name__}."
        columns += [prefix + p for p in leaf_paths(kind)]
        columns += [prefix + "error_type", prefix + "error"]
    return columns


def _text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


