"""The embedded default backend: an Oxigraph database answered by a pool of worker processes.

Why processes: neither pyoxigraph nor rdflib can cancel a running query. Each query runs in a
worker (``multiprocessing``, ``spawn`` context) that holds ``pyoxigraph.Store.read_only(path)``;
when the time limit passes, the parent kills that worker, starts a fresh one and raises
:class:`~ezgraph.store.base.QueryTimeout`, while the other workers keep answering. Workers
serialize in the negotiated format, so only bytes cross the pipe.

The exception is reading whose work is bounded before it starts, or that stops itself at a
bound, so that it never needs stopping from outside: resource descriptions, and lookups
(queries that are one triple pattern, see :mod:`ezgraph.store.lookup`), both read in the web
process itself within :data:`IN_PROCESS_BUDGET`.

Behaviour every client can rely on:

* the default graph is the union of all graphs unless the query has ``FROM``/``FROM NAMED`` or the
  request gives ``default-graph-uri``/``named-graph-uri`` (which then replace the dataset);
* at most ``max_rows`` solutions (SELECT) or triples (CONSTRUCT/DESCRIBE) are returned; when more
  existed ``QueryResponse.truncated`` is true and SPARQL JSON results carry a top-level
  ``"truncated": true`` member;
* answers are cached in memory (LRU bounded by bytes, keyed with the release) because the data
  never changes while the store is open.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import itertools
import json
import logging
import multiprocessing
import multiprocessing.util
import os
import pickle
import queue
import re
import select
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

from ezgraph.store import guard
from ezgraph.store.base import (
    DescribeRequest,
    GraphInfo,
    NotAcceptable,
    QueryForm,
    QueryRefused,
    QueryRequest,
    QueryResponse,
    QuerySyntaxError,
    QueryTimeout,
    Store,
    StoreError,
    StoreInfo,
    StoreUnavailable,
)
from ezgraph.store.lookup import Lookup, TriplePattern, as_lookup
from ezgraph.store.lookup_results import JSON_RESULTS, OverBudget, json_results
from ezgraph.store.memory_copy import CopySource, MemoryCopy, copy_source
from ezgraph.store.pages import Pages, PageSpec, subject_iris
from ezgraph.store.sandbox import warn_unsandboxed
from ezgraph.store.worker import (
    GRAPH_FORMATS,
    RESULTS_FORMATS,
    Budget,
    DescribeJob,
    Job,
    LabelCache,
    Outcome,
    label_index,
    run_describe,
    run_job,
    worker_main,
)

log = logging.getLogger(__name__)

_Answer = TypeVar("_Answer", QueryResponse, QueryResponse | None)

DEFAULT_CACHE_BYTES = 64 * 2**20
#: Seconds the background count of a store without matching manifest counts may take.
COUNT_TIMEOUT = 3600.0
#: Graphs missing from the manifest that are counted on their own (else everything is).
_FEW_GRAPHS = 8
#: Descriptions read in the web process (:class:`_Reader`) stay within this. Of 600 pages of
#: the 1M benchmark, 590 took at most 62 lookups (the median 20: about 1 ms when first read); a
#: zone's page takes ~580 (7-60 ms, which would hold up the process's other requests), most of
#: them reading labels, which the in-memory copy's label index answers without a lookup. Lookup
#: queries run there within ``triples`` solutions, or quads matching their pattern.
IN_PROCESS_BUDGET = Budget(triples=2_000, reads=64)
#: A worker that has not opened the store after this long is considered broken.
WORKER_START_TIMEOUT = 60.0
#: Longest parser message passed on to clients (Oxigraph lists every expected token).
_MAX_SYNTAX_MESSAGE = 400
_SYNTAX_POSITION = re.compile(r"^error at (\d+):(\d+):\s*")


class StoreOpenError(StoreError):
    """The store directory is missing or is not an Oxigraph database."""

    http_status = 503


class RdfLoadError(Exception):
    """An RDF file could not be loaded; the message names the file and the parser's position."""

    def __init__(self, path: Path, message: str, line: int | None = None,
                 column: int | None = None):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.line = line
        self.column = column


class OxigraphStore(Store):
    """A read-only Oxigraph database (``ezgraph build`` writes one to ``dist/store``).

    ``workers`` query processes are started at once, in parallel (default: the CPU count, at
    least 2); ``cache_bytes`` bounds the response cache (0 disables it). ``delete_on_close``
    removes ``path`` on :meth:`close` (for temporary stores made from files).

    ``in_memory``: each process that reads the store (the workers, and this one for lookups and
    descriptions) also loads an in-memory copy of it in the background, from the publish
    directory around ``path``, and reads the copy once it is ready (see
    :mod:`ezgraph.store.memory_copy`): several times faster, for about 420 MB per process at a
    million triples. This process also indexes the copy's labels for its descriptions
    (:func:`~ezgraph.store.worker.label_index`: 33 MB more at a million triples). With
    ``pages`` as well, every resource's document to that spec is made once per release from the
    copy, into files beside ``path``, and :meth:`describe` answers from them
    (:mod:`ezgraph.store.pages`).

    Relative IRIs in queries resolve against ``base_iri``: by default the data's persistent base
    (``base`` of the sibling ``manifest.json``, else ``https://w3id.org/ezgraph/``), so
    ``DESCRIBE <id/zone/x>`` works. ``prefixes`` (default: the project's prefix table for that
    base) abbreviate Turtle and TriG answers.
    """

    describes_resources = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        workers: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        prefixes: Mapping[str, str] | None = None,
        base_iri: str | None = None,
        start_method: str = "spawn",
        delete_on_close: bool = False,
        in_memory: bool = False,
        pages: PageSpec | None = None,
    ):
        self.path = Path(path)
        if not (self.path / "CURRENT").is_file():
            raise StoreOpenError(f"{self.path} is not an Oxigraph store (no CURRENT file)")
        manifest = _sibling_manifest(self.path)
        copy = copy_source(self.path, manifest) if in_memory else None
        if in_memory and copy is None:
            log.warning("%s has no manifest.json beside it to copy it from: reading it from "
                        "disk, not memory", self.path)
        size = max(2, workers if workers is not None else (os.cpu_count() or 2))
        # Workers start now and open the store while the parent lists the graphs.
        self._pool = _WorkerPool(str(self.path), size, start_method, copy)
        # multiprocessing's finalizer, not weakref's: a process started by multiprocessing (a
        # forked granian worker) exits through multiprocessing's exit function, which skips
        # atexit but runs these before it kills the daemon workers, so no query thread sees
        # its worker die and starts a new one while the process ends.
        self._finalizer = multiprocessing.util.Finalize(
            self, _shutdown, args=(self._pool, self.path if delete_on_close else None),
            exitpriority=10,
        )
        try:
            self._counts = _Counts(
                self.path, manifest, lambda job: self._pool.run(job, COUNT_TIMEOUT)
            )
        except BaseException:
            self.close()
            raise
        self._graph_iris = self._counts.graph_iris
        from ezgraph.namespaces import DEFAULT_BASE, LABEL_PREDICATES, prefixes_for

        data_base = (manifest or {}).get("base") or DEFAULT_BASE
        self.base_iri = base_iri or data_base
        self._prefixes = tuple((prefixes or prefixes_for(data_base)).items())
        self._cache = _ResponseCache(cache_bytes)
        self._data_base = data_base
        #: The documents of the release once they are made (:mod:`ezgraph.store.pages`).
        self._pages: Pages | None = None
        self._page_spec = pages if copy is not None else None
        self._reader = _Reader(str(self.path), copy, LABEL_PREDICATES,
                               self._make_pages if self._page_spec is not None else None)
        if copy is not None:
            self._reader.get()  # starts loading this process's copy

    @property
    def workers(self) -> int:
        return self._pool.size

    def info(self) -> StoreInfo:
        return self._counts.info()

    def release_if_known(self) -> str | None:
        """The release id once it is known (at once when the build's manifest gives it), without
        waiting for the background count; ``None`` before. Caches of whole answers key on it."""
        return self._counts.release_if_known()

    def worker_pids(self) -> list[int]:
        """Process ids of the current query workers (for monitoring and tests)."""
        return self._pool.pids()

    def query(self, request: QueryRequest) -> QueryResponse:
        # Looked up before the guard: an answer is only kept after its request passed the guard
        # and the media type checks, and the same request passes them again.
        key = self._cache_key(
            ("query", request.query, request.results_media_type, request.graph_media_type,
             request.default_graph_uris, request.named_graph_uris, request.max_rows))
        if key is not None:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        lookup = None
        if not (request.default_graph_uris or request.named_graph_uris):
            lookup = as_lookup(request.query)
        if lookup is None:
            response = self._run_query(request)
        else:
            # A lookup leaves the guard nothing to refuse (see ezgraph.store.lookup).
            _check_media_types(request, lookup.form)
            # A lookup answered here is not kept: read again in tens of microseconds, while the
            # cache is for answers that cost a worker milliseconds, which lookups asked once
            # each would push out. The web tier's cache keeps a lookup asked twice.
            try:
                written = self._lookup_written_here(request, lookup)
            except OverBudget:  # known to outgrow the budget: read no further here
                written, read_here = None, False
            else:
                read_here = True
            if written is not None:
                return written
            job = self._job(request, lookup.form, union_default_graph=True)
            outcome = self._query_here(job, lookup) if read_here else None
            if outcome is not None:
                return _response_from(outcome)
            # Past this process's budget: a worker runs it, under the time limit.
            response = _response_from(self._pool.run(job, request.timeout))
        if key is not None:
            self._cache.put(key, response)
        return response

    def _run_query(self, request: QueryRequest) -> QueryResponse:
        """``request``, not a lookup, checked by the guard and run by a worker."""
        scan = guard.scan_query(request.query, self.base_iri)
        guard.check_scan(scan, self._graph_iris)
        guard.check_dataset_params(
            request.default_graph_uris, request.named_graph_uris, self._graph_iris
        )
        _check_media_types(request, scan.form)
        job = self._job(request, scan.form, union_default_graph=not scan.has_dataset_clause)
        return _response_from(self._pool.run(job, request.timeout))

    def _job(self, request: QueryRequest, form: QueryForm | None, union_default_graph: bool
             ) -> Job:
        return Job(
            query=request.query,
            form=form,
            results_media_type=request.results_media_type,
            graph_media_type=request.graph_media_type,
            default_graph_uris=request.default_graph_uris,
            named_graph_uris=request.named_graph_uris,
            union_default_graph=union_default_graph,
            max_rows=request.max_rows,
            prefixes=self._prefixes,
            base_iri=self.base_iri,
        )

    def describe(self, request: DescribeRequest) -> QueryResponse | None:
        if request.media_type not in GRAPH_FORMATS:
            raise ValueError(f"unsupported graph media type {request.media_type!r}")
        pages = self._pages
        if pages is not None and pages.spec.answers(request):
            page = pages.get(request.iri)
            if page is not None:
                return QueryResponse("DESCRIBE", request.media_type, page[0], truncated=page[1])
        key = ("describe", request.iri, request.media_type, request.label_predicates,
               request.blank_node_depth, request.max_triples)
        return self._remembered(key, lambda: self._run_describe(request))

    def _describe_job(self, request: DescribeRequest) -> DescribeJob:
        return DescribeJob(
            iri=request.iri, graph_media_type=request.media_type,
            label_predicates=request.label_predicates,
            blank_node_depth=request.blank_node_depth, max_triples=request.max_triples,
            prefixes=self._prefixes,
        )

    def _run_describe(self, request: DescribeRequest) -> QueryResponse | None:
        job = self._describe_job(request)
        outcome = self._read_here(job)
        if outcome is None:
            outcome = self._pool.run(job, request.timeout)
        if outcome.status == "ok" and outcome.form is None:
            return None  # the store knows nothing about the IRI
        return _response_from(outcome)

    def _remembered(self, key: tuple[Hashable, ...], answer: Callable[[], _Answer]) -> _Answer:
        """``answer()``, kept in the cache under ``key`` and the release. Nothing is kept while
        the release is unknown, nor a ``None`` (unknown IRIs cost a worker trip each time)."""
        full_key = self._cache_key(key)
        if full_key is None:
            return answer()
        cached = self._cache.get(full_key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        response = answer()
        if response is not None:
            self._cache.put(full_key, response)
        return response

    def _cache_key(self, key: tuple[Hashable, ...]) -> tuple[Hashable, ...] | None:
        """``key`` with the release, once it is known: answers are kept per release."""
        release = self._counts.release_if_known()
        return None if release is None else (release, *key)

    def _make_pages(self, memory: MemoryCopy) -> None:
        """Make (or find) the documents of the release from this process's in-memory copy,
        then answer from them (see :mod:`ezgraph.store.pages`). Runs in the copy's loading
        thread; any failure leaves every document to be described on request."""
        spec, release = self._page_spec, self._counts.release_if_known()
        if spec is None or release is None:
            return
        pages = Pages(self.path.parent, release, spec, self._prefixes)
        if self._reader.get() is not memory.store:
            return  # closed meanwhile

        def render(iri: str) -> tuple[bytes, bool] | None:
            # Read here as on request (the copy, its labels, the budget); past the budget, the
            # document is left to a worker on request.
            outcome = self._read_here(self._describe_job(spec.request(iri)))
            if outcome is None or outcome.form is None:
                return None
            return outcome.body, outcome.truncated

        started = time.perf_counter()
        try:
            if not pages.complete():
                pages.make(subject_iris(memory.store, self._data_base), render)
            pages.open()
        except (OSError, sqlite3.Error) as error:
            log.warning("the documents of release %s could not be made in %s, so each is "
                        "described on request: %s", release, self.path.parent, error)
            return
        self._pages = pages
        log.info("documents of release %s ready (%.1f s)", release,
                 time.perf_counter() - started)

    def knows(self, iri: str, timeout: float) -> bool:
        job = DescribeJob(iri=iri, graph_media_type=None)
        outcome = self._read_here(job)
        if outcome is None:
            outcome = self._pool.run(job, timeout)
        if outcome.status != "ok":
            raise StoreError(f"the store could not be read: {outcome.message}")
        return outcome.form is not None

    def _read_here(self, job: DescribeJob) -> Outcome | None:
        """``job`` answered from this process's own read-only handle on the store, or ``None``
        when the description outgrows :data:`IN_PROCESS_BUDGET` (a worker, which can be
        stopped at the time limit, takes it then) or the store cannot be opened here."""
        reader = self._reader.get()
        if reader is None:
            return None
        outcome = run_describe(reader, job, IN_PROCESS_BUDGET, self._reader.labels_for(reader))
        if outcome is not None and outcome.status != "ok":
            return None  # the worker answers, or reports the error the same way as always
        return outcome

    def _lookup_written_here(self, request: QueryRequest, lookup: Lookup
                             ) -> QueryResponse | None:
        """``lookup``'s answer written from the quads matching its pattern, without the query
        engine (:mod:`ezgraph.store.lookup_results`), when it is asked in JSON and streams;
        else ``None``. Raises :class:`~ezgraph.store.lookup_results.OverBudget` past
        :data:`IN_PROCESS_BUDGET`."""
        if request.results_media_type != JSON_RESULTS:
            return None
        reader = self._reader.get()
        if reader is None:
            return None
        started = time.perf_counter()
        answer = json_results(reader, request.query, lookup, request.max_rows,
                              IN_PROCESS_BUDGET.triples)
        if answer is None:
            return None
        return QueryResponse(lookup.form, JSON_RESULTS, answer.body, answer.truncated,
                             time.perf_counter() - started)

    def _query_here(self, job: Job, lookup: Lookup) -> Outcome | None:
        """``job``, the ``lookup`` (one triple pattern over the default dataset, see
        :mod:`ezgraph.store.lookup`), answered from this process's own handle within
        ``IN_PROCESS_BUDGET.triples``: solutions, for a lookup whose solutions stream (it is
        stopped past them), else quads matching its pattern, counted first. A worker round
        trip cost twice such a query. ``None`` when it outgrows the budget: a worker then runs
        it under the time limit."""
        reader = self._reader.get()
        if reader is None:
            return None
        budget = IN_PROCESS_BUDGET.triples
        streams = lookup.streams and lookup.offset <= budget
        # An answer known to fit in max_rows is written at once in the asked format, without
        # the capped first writing (a third of a lookup's time once the store is in memory).
        within_cap = False
        if streams and lookup.limit is not None and lookup.limit <= min(budget, job.max_rows):
            within_cap = True
        elif not streams or self._reader.in_memory:
            # Counted first: that bounds the work of a lookup whose solutions do not stream,
            # and costs little in memory (from disk, each quad read costs a term lookup).
            fits = _matches_at_most(reader, lookup.pattern, budget)
            if not fits and (not streams or budget < job.max_rows):
                return None  # past the budget before the row cap: a worker answers
            within_cap = fits and budget <= job.max_rows
        outcome = run_job(reader, job, max_solutions=None if within_cap else budget,
                          within_cap=within_cap)
        if outcome is None or outcome.status == "error":
            return None  # the worker answers, or reports the error the same way as always
        return outcome

    def close(self) -> None:
        self._reader.close()
        self._finalizer()


def _matches_at_most(store: Any, pattern: TriplePattern, limit: int) -> bool:
    """Whether at most ``limit`` quads, in any graph, match ``pattern`` (reading at most one
    more than ``limit``)."""
    import pyoxigraph as ox

    try:
        terms = [None if iri is None else ox.NamedNode(iri)
                 for iri in (pattern.subject, pattern.predicate, pattern.object)]
    except ValueError:  # Oxigraph will not take the IRI; a worker reports the error
        return False
    beyond = itertools.islice(store.quads_for_pattern(*terms, None), limit, None)
    return next(beyond, None) is None


def _check_media_types(request: QueryRequest, form: str | None) -> None:
    if request.results_media_type not in (None, *RESULTS_FORMATS):
        raise ValueError(f"unsupported results media type {request.results_media_type!r}")
    if request.graph_media_type not in (None, *GRAPH_FORMATS):
        raise ValueError(f"unsupported graph media type {request.graph_media_type!r}")
    # Refuse early when the form is known: no worker time for an answer nobody can read.
    if form in ("SELECT", "ASK") and request.results_media_type is None:
        raise NotAcceptable(form)  # type: ignore[arg-type]
    if form in ("CONSTRUCT", "DESCRIBE") and request.graph_media_type is None:
        raise NotAcceptable(form)  # type: ignore[arg-type]


def _response_from(outcome: Outcome) -> QueryResponse:
    if outcome.status == "ok":
        return QueryResponse(
            form=outcome.form,  # type: ignore[arg-type]
            media_type=outcome.media_type or "",
            body=outcome.body,
            truncated=outcome.truncated,
            elapsed=outcome.elapsed,
        )
    if outcome.status == "syntax":
        raise syntax_error(outcome.message)
    if outcome.status == "refused":
        raise QueryRefused(outcome.message)
    if outcome.status == "not_acceptable":
        raise NotAcceptable(outcome.form)  # type: ignore[arg-type]
    raise StoreError(f"the query failed: {outcome.message}")


def syntax_error(message: str) -> QuerySyntaxError:
    """Turn Oxigraph's ``error at LINE:COLUMN: ...`` message into a positioned error."""
    match = _SYNTAX_POSITION.match(message)
    if match is None:
        return QuerySyntaxError(f"the query does not parse: {message}")
    line, column = int(match.group(1)), int(match.group(2))
    detail = message[match.end():]
    if len(detail) > _MAX_SYNTAX_MESSAGE:
        detail = detail[:_MAX_SYNTAX_MESSAGE] + " …"
    return QuerySyntaxError(
        f"the query does not parse at line {line}, column {column}: {detail}", line, column
    )


# --- counts and release --------------------------------------------------------------------------


def _sibling_manifest(path: Path) -> dict[str, Any] | None:
    """``manifest.json`` of the publish directory the store sits in, if any."""
    candidate = path.parent / "manifest.json"
    try:
        manifest = json.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


class _Counts:
    """Graph names at once; triple counts and release from the manifest, or counted in the
    background so that a big store answers queries while it is being counted.

    The count runs in a query worker (``run`` hands it a :class:`Job`), not in a thread of
    this process: pyoxigraph holds the GIL while it counts, which froze every request of the
    web process for up to 0.1 s at a time during the first half second at a million triples."""

    def __init__(self, path: Path, manifest: dict[str, Any] | None,
                 run: Callable[[Job], Outcome]):
        import pyoxigraph as ox

        try:
            store = ox.Store.read_only(str(path))
        except OSError as error:
            raise StoreOpenError(f"cannot open the Oxigraph store at {path}: {error}") from None
        graphs = list(store.named_graphs())
        self.graph_iris = frozenset(
            graph.value for graph in graphs if isinstance(graph, ox.NamedNode)
        )
        only_iris = len(self.graph_iris) == len(graphs)
        del store
        self._path = path
        self._manifest = manifest
        self._info: StoreInfo | None = None
        self._error: Exception | None = None
        self._ready = threading.Event()
        manifest_graphs = (manifest or {}).get("graphs")
        if (
            isinstance(manifest_graphs, dict)
            and set(manifest_graphs) == self.graph_iris
            and isinstance((manifest or {}).get("triples"), int)
        ):
            # The build wrote these counts from the same data: no need to count again.
            counts = {iri: int(manifest_graphs[iri]) for iri in self.graph_iris}
            self._finish(counts, int(manifest["triples"]))  # type: ignore[index]
        elif (
            isinstance(manifest_graphs, dict)
            and only_iris
            and set(manifest_graphs) < self.graph_iris
            and len(self.graph_iris) - len(manifest_graphs) <= _FEW_GRAPHS
            and all(isinstance(n, int) for n in manifest_graphs.values())
        ):
            # The store holds a few graphs more than the manifest lists (the build adds its
            # metadata graph): only those, and the default graph, are counted.
            threading.Thread(
                target=self._count_extra, args=(run, dict(manifest_graphs)),
                name="ezgraph-count", daemon=True,
            ).start()
        else:
            threading.Thread(
                target=self._count, args=(run,), name="ezgraph-count", daemon=True
            ).start()

    def _count(self, run: Callable[[Job], Outcome]) -> None:
        try:
            counts = dict.fromkeys(self.graph_iris, 0)
            total = 0
            # Every quad is in a named graph (IRI or blank node) or in the default graph.
            for row in _count_rows(run, "SELECT ?g (COUNT(*) AS ?n) "
                                        "WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
                total += int(row["n"]["value"])
                if row["g"]["type"] == "uri":
                    counts[row["g"]["value"]] = int(row["n"]["value"])
            for row in _count_rows(run, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"):
                total += int(row["n"]["value"])
        except Exception as error:  # reported by info()
            self._error = error
            self._ready.set()
            return
        self._finish(counts, total)

    def _count_extra(self, run: Callable[[Job], Outcome], known: dict[str, int]) -> None:
        try:
            counts = {iri: int(known[iri]) for iri in known}
            for iri in sorted(self.graph_iris - set(known)):
                rows = _count_rows(run, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH "
                                        f"<{iri}> {{ ?s ?p ?o }} }}")
                counts[iri] = int(rows[0]["n"]["value"])
            total = sum(counts.values())
            for row in _count_rows(run, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"):
                total += int(row["n"]["value"])
        except Exception as error:  # reported by info()
            self._error = error
            self._ready.set()
            return
        self._finish(counts, total)

    def _finish(self, counts: dict[str, int], total: int) -> None:
        self._info = StoreInfo(
            backend="oxigraph",
            triples=total,
            graphs=tuple(GraphInfo(iri, counts[iri]) for iri in sorted(self.graph_iris)),
            release=_release(self._path, self._manifest, counts, total),
        )
        self._ready.set()

    def info(self) -> StoreInfo:
        self._ready.wait()
        if self._info is None:
            raise StoreOpenError(f"cannot count the triples of {self._path}: {self._error}")
        return self._info

    def release_if_known(self) -> str | None:
        if self._info is not None:
            return self._info.release
        # The manifest's release is the one _release() will report once the counts are in
        # (the counts only decide when there is none): known at once, while a store whose
        # graphs differ from the manifest's (say, the metadata graph) is still being counted.
        manifest_release = (self._manifest or {}).get("release")
        return manifest_release if isinstance(manifest_release, str) and manifest_release else None


def _count_rows(run: Callable[[Job], Outcome], query: str) -> list[dict[str, Any]]:
    """The SPARQL JSON bindings of a counting query run by a worker over the store's own
    default graph (not the union)."""
    outcome = run(Job(
        query=query, form="SELECT", results_media_type=JSON_RESULTS,
        graph_media_type=None, default_graph_uris=(), named_graph_uris=(),
        union_default_graph=False, max_rows=2**31,
    ))
    if outcome.status != "ok":
        raise StoreError(outcome.message or outcome.status)
    return json.loads(outcome.body)["results"]["bindings"]


def _release(
    path: Path, manifest: dict[str, Any] | None, counts: Mapping[str, int], total: int
) -> str:
    if manifest and isinstance(manifest.get("release"), str) and manifest["release"]:
        return manifest["release"]
    for candidate in (path / "release", path.parent / "release"):
        with contextlib.suppress(OSError):
            text = candidate.read_text(encoding="utf-8").strip()
            if text:
                return text
    digest = hashlib.sha256(json.dumps([total, sorted(counts.items())]).encode())
    return "counts-" + digest.hexdigest()[:16]


# --- worker pool ---------------------------------------------------------------------------------


class _WorkerGone(Exception):
    pass


class _WorkerTimedOut(Exception):
    pass


class _Worker:
    def __init__(self, context: Any, store_path: str, copy: CopySource | None = None):
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(
            target=worker_main,
            args=(child_conn, store_path, copy),
            name="ezgraph-query-worker",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self._ready = False
        # One poll object for the worker's life: Connection.poll builds, fills and closes a
        # selector on every call, a fifth of the web process's cost of a quick query.
        self._answer = select.poll()
        self._answer.register(self.conn.fileno(), select.POLLIN)

    def call(self, job: Job | DescribeJob, timeout: float) -> Outcome:
        if not self._ready:
            self._wait_ready()
        try:
            self.conn.send_bytes(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
            if not self._answer.poll(max(timeout, 0.0) * 1000):
                raise _WorkerTimedOut
            return pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError) as error:
            raise _WorkerGone(f"a query worker stopped unexpectedly ({error!r})") from error

    def _wait_ready(self) -> None:
        try:
            if not self.conn.poll(WORKER_START_TIMEOUT):
                raise _WorkerGone("a query worker did not start in time")
            kind, detail = self.conn.recv()
        except (EOFError, OSError) as error:
            # The usual cause: spawn re-imports the program's main module in the worker, and a
            # main script that opens a store at import time crashes it.
            raise _WorkerGone(
                "a query worker exited while starting (if the main script opens a store at "
                "import time, move that under `if __name__ == '__main__':`)"
            ) from error
        if kind != "ready":
            raise _WorkerGone(detail)
        if detail:
            warn_unsandboxed(detail)
        self._ready = True

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)

    def discard(self) -> None:
        self.kill()
        self.conn.close()


class _Reader:
    """This process's own read-only handle on the store, opened at first use, for the reads
    whose cost is bounded by their size: whether an IRI is known (four index lookups),
    descriptions and lookup queries within :data:`IN_PROCESS_BUDGET`. A worker round trip for
    those cost more than the reading itself (two per Linked Data page: the 303 and the
    document). Other queries never run here: nothing can stop one at its time limit but killing
    the process it runs in."""

    def __init__(self, path: str, copy: CopySource | None = None,
                 label_predicates: tuple[str, ...] = (),
                 then: Callable[[MemoryCopy], None] | None = None):
        self._path = path
        self._copy_source = copy
        self._label_predicates = label_predicates
        self._then = then
        self._memory: MemoryCopy | None = None
        # Labels read by descriptions (see labels_for): the disk store's and the copy's, which
        # names its blank nodes otherwise.
        self._disk_labels: LabelCache = {}
        self._copy_labels: LabelCache = {}
        self._lock = threading.Lock()
        self._store: Any = None
        self._pid: int | None = None
        self._failed = False
        self._closed = False
        #: True once the in-memory copy is what :meth:`get` returns.
        self.in_memory = False

    def get(self) -> Any:
        store, pid, memory = self._store, self._pid, self._memory
        if store is not None and pid == os.getpid():
            if memory is not None and memory.store is not None:
                # The copy is ready: it answers from now on, and the disk handle goes.
                with self._lock:
                    if self._memory is memory and not self._closed:
                        if memory.prepared is not None:  # its label index
                            self._copy_labels = {self._label_predicates: memory.prepared}
                        self._store, self._memory = memory.store, None
                        self.in_memory = True
                return memory.store
            return store
        with self._lock:
            if self._closed or self._failed:
                return None
            if self._store is None or self._pid != os.getpid():
                # A forked child never uses its parent's handle.
                try:
                    import pyoxigraph

                    self._store = pyoxigraph.Store.read_only(self._path)
                except Exception as error:  # the workers answer instead
                    log.warning("reading %s in the web process failed: %s", self._path, error)
                    self._failed = True
                    return None
                self._pid = os.getpid()
                if self._copy_source is not None:
                    prepare = None
                    if self._label_predicates:
                        prepare = functools.partial(label_index,
                                                    predicates=self._label_predicates)
                    self._memory = MemoryCopy(self._copy_source, self._store, prepare,
                                              self._then)
            return self._store

    def labels_for(self, store: Any) -> LabelCache:
        """The labels of ``store``, a handle :meth:`get` returned: once the in-memory copy
        answers, an index of all its labels (:func:`~ezgraph.store.worker.label_index`)."""
        return self._copy_labels if self.in_memory and store is self._store else self._disk_labels

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._store = self._memory = None


class _IdleWorkers(queue.LifoQueue):
    """Idle workers, last in first out: the worker that answered last takes the next query,
    while its CPU caches and its RocksDB block cache are warm (taking turns doubled the time of
    a quick query inside the worker). ``None`` tells waiters the pool is closed."""

    def put_last_choice(self, item: _Worker | None) -> None:
        """Put ``item`` where it is taken after every other idle worker."""
        with self.not_empty:  # shares queue.Queue's mutex, like put()
            self.queue.insert(0, item)
            self.unfinished_tasks += 1
            self.not_empty.notify()


class _WorkerPool:
    """A fixed number of worker processes; a thread borrows one per query."""

    def __init__(self, store_path: str, size: int, start_method: str,
                 copy: CopySource | None = None):
        self.size = size
        self._store_path = store_path
        self._copy = copy
        self._context = multiprocessing.get_context(start_method)
        self._idle = _IdleWorkers()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        with self._lock:
            for _ in range(size):
                self._idle.put(self._start_worker())

    def pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self._workers]

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._context, self._store_path, self._copy)
        self._workers.add(worker)
        return worker

    def run(self, job: Job | DescribeJob, timeout: float) -> Outcome:
        try:
            # Waiting for a free worker has its own limit: the query then gets its full time.
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise StoreUnavailable(
                f"all {self.size} query workers are busy; try again shortly",
                retry_after=max(1, round(timeout)),
            ) from None
        if worker is None:  # the pool was closed; pass the news on to the next waiter
            self._idle.put(None)
            raise StoreUnavailable("the store is closed")
        try:
            outcome = worker.call(job, timeout)
        except _WorkerTimedOut:
            self._replace(worker)
            raise QueryTimeout(timeout) from None
        except _WorkerGone as error:
            self._replace(worker)
            if self._closed:
                raise StoreUnavailable("the store is closed") from None
            log.error("query worker failed: %s", error)
            raise StoreError(f"the query could not be answered: {error}") from None
        self._idle.put(worker)
        return outcome

    def _replace(self, worker: _Worker) -> None:
        worker.discard()
        with self._lock:
            self._workers.discard(worker)
            if not self._closed:
                # Still opening the store: the ready workers are asked first.
                self._idle.put_last_choice(self._start_worker())

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        idle: list[_Worker] = []
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._idle.get_nowait()
                if item is not None:
                    idle.append(item)
        for worker in workers:
            # Busy workers are only killed here: the thread waiting on them closes their pipe.
            if worker in idle:
                worker.discard()
            else:
                worker.kill()
        self._idle.put(None)


def _shutdown(pool: _WorkerPool, delete: Path | None) -> None:
    pool.close()
    if delete is not None:
        shutil.rmtree(delete, ignore_errors=True)


# --- response cache ------------------------------------------------------------------------------


class _ResponseCache:
    """Least-recently-used responses, bounded by the bytes of their bodies."""

    def __init__(self, max_bytes: int):
        self._max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, QueryResponse] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> QueryResponse | None:
        with self._lock:
            response = self._entries.get(key)
            if response is not None:
                self._entries.move_to_end(key)
            return response

    def put(self, key: Hashable, response: QueryResponse) -> None:
        size = len(response.body)
        # One huge answer must not flush everything else out.
        if size > self._max_bytes // 4:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = response
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body)


# --- loading files -------------------------------------------------------------------------------


def load_rdf_files(store_dir: str | os.PathLike[str], paths: Iterable[str | os.PathLike[str]]
                   ) -> None:
    """Load RDF files into a new Oxigraph database at ``store_dir``.

    The format follows the extension (``.ttl .nt .nq .trig .rdf .owl .jsonld .n3``, each
    optionally ``.gz``); quads keep their graph, triples go to the default graph (which the
    union default graph includes).
    """
    import pyoxigraph as ox

    store = ox.Store(os.fspath(store_dir))
    try:
        for raw_path in paths:
            path = Path(raw_path)
            rdf_format = _rdf_format_for(ox, path)
            try:
                with _open_rdf(path) as stream:
                    store.bulk_load(
                        input=stream, format=rdf_format, base_iri=path.resolve().as_uri()
                    )
            except SyntaxError as error:
                raise RdfLoadError(
                    path, error.msg or str(error), error.lineno, error.offset
                ) from None
            except (OSError, ValueError) as error:
                raise RdfLoadError(path, f"cannot be loaded: {error}") from None
        store.flush()
    finally:
        # Dropping the last reference closes the database before workers reopen it read-only.
        del store


def oxigraph_store_from_files(
    paths: Iterable[str | os.PathLike[str]], **options: Any
) -> OxigraphStore:
    """An :class:`OxigraphStore` over RDF files, loaded once into a temporary directory that is
    removed when the store is closed (used by ``ezgraph serve --data FILE...``)."""
    paths = [Path(path) for path in paths]
    if not paths:
        raise RdfLoadError(Path("."), "no RDF file given")
    directory = Path(tempfile.mkdtemp(prefix="ezgraph-store-"))
    started = time.perf_counter()
    try:
        load_rdf_files(directory, paths)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    log.info("loaded %d file(s) in %.1f s", len(paths), time.perf_counter() - started)
    return OxigraphStore(directory, delete_on_close=True, **options)


_EXTRA_EXTENSIONS = {"owl": "RDF_XML", "xml": "RDF_XML", "json": "JSON_LD"}


def _rdf_format_for(ox: Any, path: Path) -> Any:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    extension = suffixes[-1].lstrip(".") if suffixes else ""
    rdf_format = ox.RdfFormat.from_extension(extension) if extension else None
    if rdf_format is None and extension in _EXTRA_EXTENSIONS:
        rdf_format = getattr(ox.RdfFormat, _EXTRA_EXTENSIONS[extension])
    if rdf_format is None:
        raise RdfLoadError(
            path,
            "cannot tell the RDF format from the file name; expected one of .ttl .nt .nq "
            ".trig .rdf .owl .jsonld .n3 (optionally followed by .gz)",
        )
    return rdf_format


def _open_rdf(path: Path) -> IO[bytes]:
    if not path.is_file():
        raise RdfLoadError(path, "no such file")
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")
