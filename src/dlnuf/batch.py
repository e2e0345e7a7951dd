"""Many lookups at the upstream quota: the engine behind ``Client.many`` / ``AsyncClient.many``.

The planning is sans-I/O and shared by both clients: :class:`_Plan` reads the
input lazily (at most a window of unfinished lines in memory), answers each line
for each kind, and hands out *jobs*, generators that yield
:class:`~dlnuf.flow.Fetch` (and the other steps) like a single lookup does. The
drivers (:mod:`dlnuf.drivers`) run them: the sync one on a thread pool, the async
one as tasks; both send through the client's transport, so pacing, retries and
error mapping are those of a single lookup. A cache call of a flow is answered by
the plan itself when the driver gives it a way that does not block
(:attr:`_Plan.inline`: the sync driver's cache, the memory cache), else it becomes
a job like a fetch (the async driver awaits Redis or SQLite).

For each line and kind, the plan:

- validates the identifier (a bad SIRET is an :class:`~dlnuf.InvalidSiret` in
  ``errors``, no I/O);
- deduplicates: a repeated identifier is fetched once and answers every line
  (the last :data:`DEDUP_MEMORY` outcomes are remembered);
- starts the normal lookup flow, which answers at once from the cache (so cached
  lines come out first);
- when the flow needs a source that can answer many SIRETs in one call (a
  :class:`~dlnuf.sources.base.BatchSource`, INSEE Sirene ``POST /siret``), groups
  those SIRETs by up to ``batch_size`` into one call, then feeds each flow the
  fact found for it: it is cached under the same key, with the same expiry, as a
  single lookup's. A SIRET the batch answer leaves out is looked up on its own
  (the single call follows INSEE's duplicate redirects); a failed batch sends its
  error into each flow, which falls back to the next source or a stale entry as
  a single lookup would;
- when the first source is a local copy that answers many SIRETs in one call (a
  :class:`~dlnuf.sources.local.LocalBatchSource`, the Sirene stock files), groups
  the SIRETs by its ``batch_size`` before starting any flow (a waiting line then
  holds no generator: the collector traverses less), and starts the flow over the
  sources after it only for the SIRETs it lacks or when it fails transiently.
"""

from __future__ import annotations

import gc
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import (
    Callable,
    Container,
    Generator,
    Iterable,
    Iterator,
    Sequence,
    Sized,
)
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeGuard, TypeVar, runtime_checkable

import httpx

from .errors import (
    ConfigurationError,
    DlnufError,
    InvalidIdentifier,
    InvalidSiret,
    NotFound,
)
from .facts.base import Fact
from .flow import CACHE_STEPS, Core, Fetch, Flow, LocalCall, Step, coerce_identifier
from .identifiers import Siret, parse_siret_or_siren
from .results import BatchResult, BatchResults, acollect, collect, record_columns
from .sources.base import BatchSource, Identifier, Source
from .sources.local import LocalBatchSource

__all__ = [
    "DEDUP_MEMORY",
    "BatchResult",
    "BatchResults",
    "PagedBatchSource",
    "acollect",
    "ask_local_batch",
    "collect",
    "fetch_batch",
    "record_columns",
]

F = TypeVar("F", bound=Fact)

DEDUP_MEMORY = 10_000
"""How many finished lookups a batch remembers to answer repeated identifiers."""

FULL_COLLECTION_EVERY = 1_000
"""While ``many()`` runs, the cycle collector considers a full collection only after this
many collections of its middle generation (Python's default is 10); see
:class:`_FullCollections`."""

Job = Generator[Step, Any, Any]
"""What a driver runs: yields steps (fetches, local calls, cache calls), receives their
answers, returns an outcome."""


# -- the batch call ------------------------------------------------------------------------


@runtime_checkable
class PagedBatchSource(BatchSource, Protocol):
    """A batch source with cursor pagination (INSEE Sirene ``curseur``)."""

    def request_many(
        self, kind: type[Fact], idents: Sequence[Siret], *, cursor: str | None = None
    ) -> httpx.Request:
        """One request for up to ``batch_size`` identifiers; ``cursor="*"`` asks for pages."""
        ...

    def next_cursor(self, response: httpx.Response) -> str | None:
        """The cursor of the next page, or ``None`` after the last one."""
        ...


def fetch_batch(
    source: BatchSource, kind: type[Fact], sirets: list[Siret]
) -> Generator[Fetch, httpx.Response, dict[Siret, Fact]]:
    """One multi-SIRET call (and its next pages, if any): the facts found, by SIRET.

    A 404 to the whole batch (INSEE: none of them exists) is an empty answer.
    """
    found: dict[Siret, Fact] = {}
    quota = source.quota(kind)
    cursor: str | None = "*"
    while cursor is not None:
        if isinstance(source, PagedBatchSource):
            request = source.request_many(kind, sirets, cursor=cursor)
        else:
            request = source.request_many(kind, sirets)
        try:
            response = yield Fetch(source, request, quota)
        except NotFound:
            break  # INSEE answers 404 when none of the SIRETs (left) exists
        try:
            page = source.parse_many(kind, sirets, response)
            new = page.keys() - found.keys()
            found.update(page)
            if not isinstance(source, PagedBatchSource) or not new or len(found) >= len(sirets):
                break  # one page; never loop on a cursor that brings nothing new
            cursor = source.next_cursor(response)
        finally:
            _release(response)
    return found


_READ = httpx.ByteStream(b"")


def _release(response: httpx.Response) -> None:
    """Break the cycle between a read response and its stream (httpx binds them to each
    other): the response and its body, a megabyte for 1,000 establishments, are then
    freed as soon as they are dropped, not by a later full collection of the cycle
    collector (which ``many()`` spaces out, see :class:`_FullCollections`)."""
    if response.is_closed:
        response.stream = _READ


def ask_local_batch(
    source: LocalBatchSource, kind: type[Fact], sirets: list[Siret]
) -> Generator[Step, Any, dict[Siret, Fact]]:
    """One in-process call answering many SIRETs: the facts found, by SIRET."""
    found: dict[Siret, Fact] = yield LocalCall(
        source, partial(source.answer_many, kind, sirets)
    )
    return found


def _resume(flow: Flow[Fact], step: Step) -> Job:
    """A started flow, paused at ``step``, as a job a driver can run."""
    while True:
        try:
            answer = yield step
        except DlnufError as exc:
            try:
                step = flow.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                step = flow.send(answer)
            except StopIteration as stop:
                return stop.value
            finally:
                if isinstance(answer, httpx.Response):
                    _release(answer)  # read by the flow: freed now, not by a full collection


# -- the plan (sans-I/O) -------------------------------------------------------------------


class _FullCollections:
    """Spaces out the cycle collector's full collections while ``many()`` runs.

    A run keeps tens of thousands of lines in flight, each holding a few tracked objects
    (its result, its fact, the fact's address...) that live long enough to reach the
    oldest generation. Python then starts a full collection each time that generation
    grew by a quarter, which traverses every live object of the process: measured on a
    million SIRETs from the Sirene stock, more than half the run (131 s; 55 to 62 s with
    the collector turned off). Raising the third threshold of :func:`gc.set_threshold`
    (how many middle-generation collections come before a full one is considered) to
    :data:`FULL_COLLECTION_EVERY` makes full collections rare; the young generations
    are collected as usual, so short-lived cycles are freed as before, and objects in
    the oldest generation are still freed by reference counting the moment they are
    dropped (only cyclic garbage that reached it waits longer).

    The setting is process-wide: it is raised when the first run starts reading and
    put back when the last one ends (or is dropped), unless the program changed it in
    between, which is then left alone. A program that set a higher value is not
    changed, nor one that turned automatic collection off (a first threshold of 0);
    ``gc.disable()`` stays in force.
    """

    def __init__(self, every: int) -> None:
        self.every = every
        # Reentrant: a plan dropped in a cycle is finalized by a collection, which may
        # start inside hold() or release() of the same thread (any allocation can).
        self._lock = threading.RLock()
        self._runs = 0
        self._saved: tuple[int, int, int] | None = None
        self._raised: tuple[int, int, int] | None = None

    def hold(self) -> Callable[[], None]:
        """Space full collections out until the returned function is called (once)."""
        with self._lock:
            if self._runs == 0:
                current = gc.get_threshold()
                if current[0] > 0 and current[2] < self.every:
                    self._saved = current
                    self._raised = (current[0], current[1], self.every)
                    gc.set_threshold(*self._raised)
            self._runs += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._runs -= 1
                if self._runs or self._saved is None:
                    return
                if gc.get_threshold() == self._raised:  # else the program set its own
                    gc.set_threshold(*self._saved)
                self._saved = self._raised = None

        return release


_FULL_COLLECTIONS = _FullCollections(FULL_COLLECTION_EVERY)


class _Line:
    """One input line waiting for its kinds."""

    __slots__ = ("remaining", "result")

    def __init__(self, result: BatchResult, remaining: int) -> None:
        self.result = result
        self.remaining = remaining


Key = tuple[type[Fact], Identifier]


class _Lookup:
    """One (kind, identifier) being answered, and the lines waiting for it."""

    __slots__ = ("_flow", "alone", "key", "step", "waiters")

    def __init__(self, key: Key, flow: Flow[Fact] | None, waiter: _Line) -> None:
        self.key = key
        self._flow = flow
        """``None`` while a local source asked first (before any flow) has not answered."""
        self.waiters = [waiter]
        self.step: Step | None = None
        self.alone = False
        """Never batched again (a batch answer left it out)."""

    @property
    def flow(self) -> Flow[Fact]:
        """The lookup flow (started: not waiting for a local source asked first)."""
        assert self._flow is not None  # noqa: S101 - only read once started
        return self._flow

    @property
    def started(self) -> bool:
        """Whether the flow exists (a lookup asked to a local source first has none yet)."""
        return self._flow is not None

    def start(self, flow: Flow[Fact]) -> None:
        """Give the lookup its flow."""
        self._flow = flow


@dataclass
class _Task:
    """A job and the lookups its outcome answers."""

    job: Job
    lookups: list[_Lookup]
    batch: bool
    local: Source | None = None
    """The local source of a local batch: what it leaves out is not in its copy."""


class _Plan:
    """Reads the input, answers lines, hands out jobs, takes their outcomes.

    No I/O of its own but the cache reads and writes of the lookup flows. At most
    ``window`` lines are unanswered at a time; with ``ordered``, answered lines wait
    for the earlier ones (at most ``2 * window`` lines held).
    """

    def __init__(
        self,
        core: Core,
        items: Iterator[tuple[int, object]],
        kinds: tuple[type[Fact], ...],
        *,
        window: int,
        ordered: bool,
    ) -> None:
        self.core = core
        self.kinds = kinds
        self._items = items
        self._window = window
        self._exhausted = False
        self._unanswered = 0
        self._order: deque[_Line] | None = deque() if ordered else None
        self._ready: deque[BatchResult] = deque()
        self._inflight: dict[Key, _Lookup] = {}
        self._memo: OrderedDict[Key, Fact | DlnufError] = OrderedDict()
        """The last DEDUP_MEMORY outcomes, least recently used first."""
        self._batching: dict[int, tuple[Source, bool]] = {}
        """Whether a source is a BatchSource, by id (a runtime protocol check inspects
        every member: once per source, not once per line)."""
        self._collections: weakref.finalize[[], _Plan] | None = None
        self._groups: dict[
            tuple[str, type[Fact]], tuple[BatchSource | LocalBatchSource, list[_Lookup]]
        ] = {}
        self._queue: deque[_Task] = deque()
        self._local_first: dict[type[Fact], LocalBatchSource] = {}
        self.inline: Callable[[Step], Any] | None = None
        """Answers a cache step at once (set by a driver whose cache never blocks its
        caller); ``None``: a cache step becomes a job, like a fetch."""
        for kind in kinds:
            first = core.resolve(kind)[0]
            if core.is_local_batch(first):
                self._local_first[kind] = first

    @property
    def done(self) -> bool:
        """Whether every line was read, answered and handed out (full collections are
        then no longer spaced out for this run)."""
        done = (
            self._exhausted and not self._unanswered and not self._order and not self._ready
        )
        if done and self._collections is not None:
            self._collections()
        return done

    def tasks(self, capacity: int, *, idle: bool) -> list[_Task]:
        """Read what the window allows; return up to ``capacity`` jobs to start.

        Partial batches go out when waiting cannot fill them: nothing is running
        (``idle``), the input is exhausted, or the window is full.
        """
        if self._collections is None:  # the first call: the run starts reading
            # Released when the run is done, or when the plan is dropped (an abandoned
            # iterator): the finalizer holds the release function, not the plan.
            self._collections = weakref.finalize(self, _FULL_COLLECTIONS.hold())
        self._read()
        if not self._queue and (idle or self._exhausted or self._unanswered >= self._window):
            for source, lookups in self._groups.values():
                self._queue.append(self._batch(source, lookups))
            self._groups.clear()
        out: list[_Task] = []
        while self._queue and len(out) < capacity:
            out.append(self._queue.popleft())
        return out

    def results(self) -> list[BatchResult]:
        """The results ready for the caller (taken)."""
        out = list(self._ready)
        self._ready.clear()
        return out

    def finish(self, task: _Task, outcome: Any) -> None:
        """Take a job's outcome: its return value, or the DlnufError it raised."""
        if not task.batch:
            self._settle(task.lookups[0], outcome)
            return
        for lookup in task.lookups:
            if isinstance(outcome, DlnufError):
                error = outcome.with_traceback(None)
                if not lookup.started:
                    self._after_local(lookup, task.local, error)
                else:
                    self._advance(lookup, partial(lookup.flow.throw, error))
                continue
            fact = outcome.get(lookup.key[1])
            if fact is not None:
                if not lookup.started:
                    self._settle(lookup, fact)
                else:
                    self._advance(lookup, partial(lookup.flow.send, fact))
            elif task.local is not None:  # a local copy's answer is complete
                name = task.local.name
                missing = NotFound(
                    f"{name} does not hold {lookup.key[1]} (not in its local copy)",
                    source=name,
                    status=404,
                )
                if not lookup.started:
                    self._after_local(lookup, task.local, missing)
                else:
                    self._advance(lookup, partial(lookup.flow.throw, missing))
            else:
                lookup.alone = True  # left out of the answer: ask for it on its own
                self._route(lookup)

    # -- internals ---------------------------------------------------------------------

    def _after_local(self, lookup: _Lookup, source: Source | None, error: DlnufError) -> None:
        """A local source asked first could not answer: go on to the sources after it, as
        the lookup flow would (on NotFound or a transient error), else settle ``error``."""
        flow = None
        if source is not None and (isinstance(error, NotFound) or error.transient):
            flow = self.core.lookup_after(lookup.key[0], lookup.key[1], source)
        if flow is None:
            self._settle(lookup, error)
            return
        lookup.start(flow)
        self._advance(lookup, partial(next, flow))

    def _read(self) -> None:
        while (
            not self._exhausted
            and self._unanswered < self._window
            and len(self._ready) < self._window
            and (self._order is None or len(self._order) < 2 * self._window)
        ):
            try:
                index, value = next(self._items)
            except StopIteration:
                self._exhausted = True
                return
            self._start(index, value)

    def _start(self, index: int, value: object) -> None:
        siret = _siret_of(value)
        line = _Line(BatchResult(index, value, siret, self.kinds), len(self.kinds))
        self._unanswered += 1
        if self._order is not None:
            self._order.append(line)
        parsed = value if siret is None else siret  # a valid SIRET is parsed once
        for kind in self.kinds:
            try:
                ident = coerce_identifier(kind, parsed)
            except InvalidIdentifier as exc:
                self._answer(line, kind, _as_siret_error(kind, value, exc))
                continue
            key: Key = (kind, ident)
            known = self._memo.get(key)
            if known is not None:
                self._memo.move_to_end(key)
                self._answer(line, kind, known)
            elif (waiting := self._inflight.get(key)) is not None:
                waiting.waiters.append(line)
            elif (local := self._local_first.get(kind)) is not None and isinstance(ident, Siret):
                # The first source is a local copy answering many: ask it in joins before
                # any flow (lines waiting for it hold no generator), the flow only after.
                lookup = _Lookup(key, None, line)
                self._inflight[key] = lookup
                self._group(local, kind, lookup)
            else:
                lookup = _Lookup(key, self.core.lookup(kind, ident), line)
                self._inflight[key] = lookup
                self._advance(lookup, partial(next, lookup.flow))

    def _advance(self, lookup: _Lookup, step: Callable[[], Step]) -> None:
        """Move a flow on: route the fetch it needs next, or settle its outcome."""
        try:
            lookup.step = step()
        except StopIteration as stop:
            self._settle(lookup, stop.value)
        except DlnufError as exc:
            self._settle(lookup, exc)
        else:
            self._route(lookup)

    def _route(self, lookup: _Lookup) -> None:
        step = lookup.step
        assert step is not None  # noqa: S101 - only routed while paused at a fetch
        if isinstance(step, CACHE_STEPS):  # answered now, or by a driver as a job
            if self.inline is not None:
                self._advance(lookup, partial(lookup.flow.send, self.inline(step)))
            else:
                self._queue.append(_Task(_resume(lookup.flow, step), [lookup], batch=False))
            return
        kind, ident = lookup.key
        source = step.source
        if isinstance(step, LocalCall):
            if not lookup.alone and isinstance(ident, Siret) and self.core.is_local_batch(source):
                self._group(source, kind, lookup)
            else:
                self._queue.append(_Task(_resume(lookup.flow, step), [lookup], batch=False))
            return
        batchable = step.shared is None and isinstance(ident, Siret)  # not a privileges fetch
        if batchable and not lookup.alone and self._is_batch(source):
            self._group(source, kind, lookup)
            return
        self._queue.append(_Task(_resume(lookup.flow, step), [lookup], batch=False))

    def _is_batch(self, source: Source) -> TypeGuard[BatchSource]:
        known = self._batching.get(id(source))
        if known is None or known[0] is not source:
            known = self._batching[id(source)] = (source, isinstance(source, BatchSource))
        return known[1]

    def _group(
        self, source: BatchSource | LocalBatchSource, kind: type[Fact], lookup: _Lookup
    ) -> None:
        group_key = (source.name, kind)
        _, group = self._groups.setdefault(group_key, (source, []))
        group.append(lookup)
        if len(group) >= source.batch_size:
            del self._groups[group_key]
            self._queue.append(self._batch(source, group))

    def _batch(self, source: BatchSource | LocalBatchSource, lookups: list[_Lookup]) -> _Task:
        kind = lookups[0].key[0]
        sirets = [ident for _, ident in (lk.key for lk in lookups) if isinstance(ident, Siret)]
        if self.core.is_local_batch(source):
            return _Task(ask_local_batch(source, kind, sirets), lookups, batch=True, local=source)
        assert isinstance(source, BatchSource)  # noqa: S101 - grouped only if one or the other
        return _Task(fetch_batch(source, kind, sirets), lookups, batch=True)

    def _settle(self, lookup: _Lookup, outcome: Any) -> None:
        if isinstance(outcome, DlnufError):
            outcome = outcome.with_traceback(None)  # no frames kept alive by remembered errors
        elif not isinstance(outcome, Fact):
            raise TypeError(f"a lookup ended with {type(outcome).__name__}, not a fact")
        del self._inflight[lookup.key]
        memo = self._memo
        memo[lookup.key] = outcome
        if len(memo) > DEDUP_MEMORY:
            memo.popitem(last=False)
        for line in lookup.waiters:
            self._answer(line, lookup.key[0], outcome)

    def _answer(self, line: _Line, kind: type[Fact], outcome: Fact | DlnufError) -> None:
        if isinstance(outcome, DlnufError):
            line.result.errors[kind] = outcome
        else:
            line.result.facts[kind] = outcome
        line.remaining -= 1
        if line.remaining:
            return
        self._unanswered -= 1
        if self._order is None:
            self._ready.append(line.result)
            return
        while self._order and not self._order[0].remaining:
            self._ready.append(self._order.popleft().result)


def _as_siret_error(kind: type[Fact], value: object, exc: InvalidIdentifier) -> DlnufError:
    """An establishment kind's bad input is a bad SIRET, even when it has 9 characters
    (which :func:`~dlnuf.identifiers.parse_siret_or_siren` judges as a SIREN)."""
    if kind.level != "siret" or isinstance(exc, InvalidSiret):
        return exc
    try:
        Siret(value)
    except InvalidSiret as as_siret:
        return as_siret
    return exc


def _siret_of(value: object) -> Siret | None:
    try:
        ident = parse_siret_or_siren(value)
    except InvalidIdentifier:
        return None
    return ident if isinstance(ident, Siret) else None


# -- the arguments of many() ---------------------------------------------------------------


def _prepare(
    core: Core,
    values: Iterable[object],
    kinds: Iterable[type[Fact]],
    concurrency: int,
    ordered: bool,
    skip: Container[int],
    progress: bool,
) -> tuple[_Plan, int | None]:
    """Check the arguments before any I/O; the plan, and the number of lines when known."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ConfigurationError(
            f"many() takes an iterable of SIRETs (a list, a generator...), not "
            f"{type(values).__name__}: wrap one SIRET in a list"
        )
    asked = tuple(dict.fromkeys(kinds)) if isinstance(kinds, Iterable) else ()
    if not asked:
        raise ConfigurationError("many() needs at least one kind of fact, e.g. [dlnuf.Identity]")
    wrong = [k for k in asked if not (isinstance(k, type) and issubclass(k, Fact))]
    if wrong:
        raise ConfigurationError(
            f"many() kinds are fact classes such as dlnuf.Identity, not {wrong[0]!r}"
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(
            f"concurrency must be an integer of at least 1, not {concurrency!r}"
        )
    if not isinstance(skip, Container):
        raise ConfigurationError(
            f"skip must hold line indexes (a set of int), not {type(skip).__name__}"
        )
    if progress:
        try:
            import rich.progress  # noqa: F401
        except ImportError as exc:
            raise ConfigurationError(
                "progress=True needs rich: pip install 'dlnuf[cli]' (or leave progress off)"
            ) from exc
    batch_sizes = [
        source.batch_size
        for kind in asked
        for source in core.resolve(kind)  # UnsupportedKind now, not on every line
        if isinstance(source, BatchSource | LocalBatchSource)
    ]
    window = max(8 * concurrency, 2 * max(batch_sizes, default=0), 64)
    total: int | None = None
    if isinstance(values, Sized):
        total = sum(1 for i in range(len(values)) if i not in skip) if skip else len(values)
    items = ((i, v) for i, v in enumerate(values) if i not in skip)
    return _Plan(core, items, asked, window=window, ordered=ordered), total
