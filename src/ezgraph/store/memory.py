"""The ``memory:`` backend: RDF files held in an rdflib Dataset, queried with rdflib's engine.

rdflib's SPARQL engine is not thread-safe (rdflib issue 1282) and cannot be interrupted, so the
dataset lives in worker *processes*: each parses the files once, then answers one query at a time
from its pipe. The parent never parses SPARQL or holds the data; on a timeout it kills the worker
(the only way to stop rdflib) and starts a fresh one, which reloads the files while the other
workers keep answering.

How files become the dataset (the default graph is always the union of the named graphs):

* TriG, N-Quads, TriX and JSON-LD keep their named graphs;
* every triple that is not in a named graph - all of a Turtle, N-Triples, RDF/XML or N3 file,
  and the default graph of a quad file - goes into a named graph per file, named by the file's
  ``file:`` IRI (the IRI rdflib already uses as the file's base);
* ``.gz`` files are read through gzip; the format comes from the extension before it.

rdflib never fetches anything here: the guard refuses ``SERVICE`` and ``FROM`` IRIs that are not
graphs of the dataset before a query is dispatched, and the workers switch rdflib's
``SPARQL_LOAD_GRAPHS`` off, so even a ``FROM`` of an empty graph cannot make it dereference IRIs.

The answer encoders at the end of this module (SPARQL JSON results or triples → any media type
of :mod:`ezgraph.store.base`, with pyoxigraph's serializers) are shared with the remote backend.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib.plugins.sparql
from pyparsing import ParseException
from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import Result
from rdflib.util import guess_format

from ezgraph.namespaces import PREFIXES
from ezgraph.store.base import (
    GRAPH_MEDIA_TYPES,
    RESULTS_MEDIA_TYPES,
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
from ezgraph.store.guard import check_dataset_params, check_query, tokenize
from ezgraph.store.sandbox import NETWORK_REFUSED, deny_network, warn_unsandboxed

#: Formats whose documents can name graphs; the others fill the file's own graph.
_QUAD_FORMATS = frozenset({"trig", "nquads", "trix", "json-ld"})
_KNOWN_EXTENSIONS = ".ttl .nt .nq .trig .trix .jsonld .json .rdf .owl .xml .n3 (optionally + .gz)"
_ALGEBRA_FORMS: dict[str, QueryForm] = {
    "SelectQuery": "SELECT",
    "AskQuery": "ASK",
    "ConstructQuery": "CONSTRUCT",
    "DescribeQuery": "DESCRIBE",
}


# --------------------------------------------------------------------------- the parent side


class MemoryStore(Store):
    """RDF files queried with rdflib in ``workers`` killable worker processes.

    Loading errors (a missing file, a syntax error with its line) are raised here, by the
    constructor, as :class:`StoreError` naming the file.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        *,
        workers: int = 2,
        startup_timeout: float = 300.0,
        prefixes: Mapping[str, str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._paths = [Path(path) for path in paths]
        for path in self._paths:
            if not path.is_file():
                raise StoreError(f"{path}: no such RDF file")
            if _rdf_format(path) is None:
                raise StoreError(f"{path}: unknown RDF format; expected {_KNOWN_EXTENSIONS}")
        self._size = workers
        self._startup_timeout = startup_timeout
        self._prefixes = tuple((prefixes if prefixes is not None else PREFIXES).items())
        self._release = _files_digest(self._paths)
        self._lock = threading.Lock()
        self._closed = False
        self._start_pool()

    # The pool belongs to the process that started it: a server that forks after opening the
    # store (gunicorn --preload) must not share pipes between processes, so a forked child
    # starts its own workers on first use.
    def _start_pool(self) -> None:
        self._owner_pid = os.getpid()
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()
        started = [self._spawn() for _ in range(self._size)]
        deadline = time.monotonic() + self._startup_timeout
        try:
            for worker in started:
                if not worker.wait_ready(max(0.0, deadline - time.monotonic())):
                    raise StoreError(
                        f"loading {len(self._paths)} RDF file(s) took longer than "
                        f"{self._startup_timeout:g} s"
                    )
        except StoreError:
            self._stop_workers()
            raise
        info = started[0].info
        assert info is not None
        self._info = StoreInfo(
            backend="memory",
            triples=info["triples"],
            graphs=tuple(GraphInfo(iri, count) for iri, count in info["graphs"]),
            release=self._release,
        )
        self._graph_iris = frozenset(graph.iri for graph in self._info.graphs)
        for worker in started:
            self._idle.put(worker)

    def _spawn(self) -> _Worker:
        worker = _Worker(self._context, [str(path) for path in self._paths])
        self._workers.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and put a freshly started one (still loading) in the idle queue."""
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            if self._closed:
                return
            self._idle.put(self._spawn())

    def _acquire(self, wait: float) -> _Worker:
        deadline = time.monotonic() + wait
        try:
            worker = self._idle.get(timeout=max(0.0, wait))
        except queue.Empty:
            raise StoreUnavailable(
                f"all {self._size} query workers are busy; try again shortly", retry_after=5
            ) from None
        try:
            ready = worker.wait_ready(max(0.0, deadline - time.monotonic()))
        except StoreError:
            self._replace(worker)
            raise
        if not ready:
            self._idle.put(worker)
            raise StoreUnavailable(
                "the query workers are restarting after a timed-out query; try again shortly",
                retry_after=5,
            )
        return worker

    def query(self, request: QueryRequest) -> QueryResponse:
        if self._closed:
            raise StoreUnavailable("the store is closed")
        if os.getpid() != self._owner_pid:
            with self._lock:
                if os.getpid() != self._owner_pid:
                    self._start_pool()
        check_query(request.query, self._graph_iris)
        check_dataset_params(
            request.default_graph_uris, request.named_graph_uris, self._graph_iris
        )
        job = _Job(
            query=request.query,
            results_media_type=request.results_media_type,
            graph_media_type=request.graph_media_type,
            default_graph_uris=tuple(request.default_graph_uris),
            named_graph_uris=tuple(request.named_graph_uris),
            max_rows=request.max_rows,
            prefixes=self._prefixes,
        )
        # Waiting for a free worker gets the same budget as the query itself.
        worker = self._acquire(request.timeout)
        try:
            worker.conn.send(job)
            if not worker.conn.poll(request.timeout):
                self._replace(worker)
                raise QueryTimeout(request.timeout)
            outcome: _Outcome = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
            raise StoreUnavailable(
                "the query worker stopped unexpectedly (out of memory?); try again",
                retry_after=5,
            ) from None
        self._idle.put(worker)
        return outcome.response()

    def info(self) -> StoreInfo:
        return self._info

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop_workers()

    def _stop_workers(self) -> None:
        for worker in list(self._workers):
            worker.kill()
        self._workers.clear()


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, context: Any, paths: list[str]) -> None:
        self.conn, child_end = context.Pipe()
        self.process = context.Process(
            target=_worker_main,
            args=(child_end, paths),
            name="ezgraph-memory-worker",
            daemon=True,
        )
        self.process.start()
        child_end.close()
        self.ready = False
        self.info: dict[str, Any] | None = None

    def wait_ready(self, timeout: float) -> bool:
        """True once the worker has loaded the data; False if still loading after ``timeout``."""
        if self.ready:
            return True
        try:
            if not self.conn.poll(timeout):
                return False
            status, payload = self.conn.recv()
        except (EOFError, OSError):
            raise StoreError("a query worker died while loading the RDF files") from None
        if status != "ready":
            raise StoreError(payload)
        self.ready = True
        self.info = payload
        if payload.get("unsandboxed"):
            warn_unsandboxed(payload["unsandboxed"])
        return True

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


@dataclass(frozen=True)
class _Job:
    query: str
    results_media_type: str | None
    graph_media_type: str | None
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    max_rows: int
    prefixes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Outcome:
    """A worker's answer; exceptions do not cross the pipe (their constructors differ)."""

    #: "ok", "syntax", "not_acceptable", "refused" or "error".
    status: str
    form: QueryForm = "SELECT"
    media_type: str = ""
    body: bytes = b""
    truncated: bool = False
    elapsed: float = 0.0
    message: str = ""
    line: int | None = None
    column: int | None = None

    def response(self) -> QueryResponse:
        if self.status == "ok":
            return QueryResponse(
                self.form, self.media_type, self.body, self.truncated, self.elapsed
            )
        if self.status == "syntax":
            raise QuerySyntaxError(self.message, self.line, self.column)
        if self.status == "not_acceptable":
            raise NotAcceptable(self.form)
        if self.status == "refused":
            raise QueryRefused(self.message)
        raise StoreError(self.message)


# --------------------------------------------------------------------------- the worker side


def _worker_main(conn: Connection, paths: list[str]) -> None:
    """Entry point of a worker process: load the files, then answer jobs until the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    unsandboxed = deny_network()  # before any query: SERVICE must find no network
    # Never dereference a FROM IRI, whatever the guard let through.
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    try:
        dataset = _load_dataset([Path(path) for path in paths])
    except StoreError as error:
        conn.send(("failed", str(error)))
        return
    graphs = sorted(
        (str(graph.identifier), len(graph))
        for graph in dataset.graphs()
        if graph.identifier != DATASET_DEFAULT_GRAPH_ID
    )
    dataset.query("ASK {}")  # the first query pays for rdflib's lazy set-up; not a user's
    conn.send(("ready", {"triples": len(dataset), "graphs": graphs, "unsandboxed": unsandboxed}))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_answer(dataset, job))


def _rdf_format(path: Path) -> str | None:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    if name.endswith(".json"):
        return "json-ld"
    return guess_format(name)


def _load_dataset(paths: list[Path]) -> Any:
    dataset = Dataset(default_union=True)
    default_graph = dataset.graph(DATASET_DEFAULT_GRAPH_ID)
    for path in paths:
        rdf_format = _rdf_format(path)
        file_iri = path.resolve().as_uri()
        try:
            with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as f:
                if rdf_format in _QUAD_FORMATS:
                    dataset.parse(f, format=rdf_format, publicID=file_iri)
                    file_graph = dataset.graph(URIRef(file_iri))
                    for triple in default_graph:
                        file_graph.add(triple)
                    default_graph.remove((None, None, None))
                else:
                    dataset.graph(URIRef(file_iri)).parse(
                        f, format=rdf_format, publicID=file_iri
                    )
        except Exception as error:  # noqa: BLE001 - parsers raise many types; all mean "bad file"
            raise StoreError(f"{path}: cannot read it as {rdf_format}: {error}") from None
    for graph in list(dataset.graphs()):
        if graph.identifier != DATASET_DEFAULT_GRAPH_ID and len(graph) == 0:
            dataset.remove_graph(graph)
    return dataset


def _answer(dataset: Any, job: _Job) -> _Outcome:
    started = time.perf_counter()
    try:
        prepared = _prepare(job)
    except QuerySyntaxError as error:
        return _Outcome("syntax", message=str(error), line=error.line, column=error.column)
    form = _ALGEBRA_FORMS[prepared.algebra.name]
    media_type = job.graph_media_type if form in ("CONSTRUCT", "DESCRIBE") else (
        job.results_media_type
    )
    if media_type is None or media_type not in RESULTS_MEDIA_TYPES + GRAPH_MEDIA_TYPES:
        return _Outcome("not_acceptable", form=form)
    try:
        result = dataset.query(prepared)
        if form == "SELECT":
            body, truncated = _encode_select(result, media_type, job.max_rows)
        elif form == "ASK":
            body, truncated = encode_boolean(bool(result.askAnswer), media_type), False
        else:
            body, truncated = _encode_graph(result.graph, media_type, job)
    except Exception as error:  # noqa: BLE001 - the worker must survive any query
        if isinstance(error, PermissionError) or isinstance(
            getattr(error, "reason", None), PermissionError  # urllib's URLError around it
        ):
            # The sandbox refused a socket: the query reached for another server.
            return _Outcome("refused", message=NETWORK_REFUSED)
        return _Outcome("error", message=f"the query failed: {type(error).__name__}: {error}")
    return _Outcome(
        "ok", form, media_type, body, truncated, elapsed=time.perf_counter() - started
    )


def _prepare(job: _Job) -> Any:
    try:
        parsed = parseQuery(job.query)
        prepared = translateQuery(parsed)
    except ParseException as error:
        raise QuerySyntaxError(
            f"syntax error at line {error.lineno}, column {error.col}: {error.msg}",
            error.lineno,
            error.col,
        ) from None
    except Exception as error:  # noqa: BLE001 - e.g. "Unknown namespace prefix"
        raise QuerySyntaxError(f"{error}") from None
    if job.default_graph_uris or job.named_graph_uris:
        # A dataset given in the protocol replaces the query's own (SPARQL 1.1 Protocol 2.1.4).
        prepared.algebra["datasetClause"] = [
            CompValue("DatasetClause", default=URIRef(iri)) for iri in job.default_graph_uris
        ] + [CompValue("DatasetClause", named=URIRef(iri)) for iri in job.named_graph_uris]
    if prepared.algebra.name == "SelectQuery" and "projection" not in parsed[1]:
        # rdflib collects the variables of SELECT * in a set; answer them in the order they
        # first appear in the query, as other engines do, so the columns do not shuffle.
        first_seen: dict[str, int] = {}
        for token in tokenize(job.query):
            if token.kind == "var":
                first_seen.setdefault(token.text[1:], token.offset)
        prepared.algebra["PV"] = sorted(
            prepared.algebra["PV"], key=lambda variable: first_seen.get(str(variable), 1 << 62)
        )
    return prepared


def _encode_select(result: Any, media_type: str, max_rows: int) -> tuple[bytes, bool]:
    variables = list(result.vars or ())
    # rdflib yields solutions lazily: stopping after max_rows + 1 stops the work as well.
    rows = list(itertools.islice(result, max_rows + 1))
    truncated = len(rows) > max_rows
    kept = Result("SELECT")
    kept.vars = variables
    kept.bindings = [
        {name: value for name, value in zip(variables, row, strict=True) if value is not None}
        for row in rows[:max_rows]
    ]
    return encode_solutions(kept.serialize(format="json"), media_type, truncated), truncated


def _encode_graph(graph: Any, media_type: str, job: _Job) -> tuple[bytes, bool]:
    kept = Graph()
    triples = iter(graph)
    for triple in itertools.islice(triples, job.max_rows):
        kept.add(triple)
    truncated = next(triples, None) is not None
    ntriples = kept.serialize(format="nt", encoding="utf-8")
    parsed = ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES)
    return encode_triples(parsed, media_type, dict(job.prefixes)), truncated


# --------------------------------------------------------------------------- answer encoders


def encode_solutions(results_json: bytes, media_type: str, truncated: bool = False) -> bytes:
    """SPARQL JSON results (already cut to the row cap) written as ``media_type``.

    A truncated JSON answer carries a top-level ``"truncated": true`` member (an extension the
    other backends share; clients that do not know it ignore it).
    """
    results_format = _results_format(media_type)
    parsed = ox.parse_query_results(results_json, format=ox.QueryResultsFormat.JSON)
    body = parsed.serialize(format=results_format)
    if truncated and results_format == ox.QueryResultsFormat.JSON:
        body = b'{"truncated":true,' + body.lstrip()[1:]
    return body


def encode_boolean(value: bool, media_type: str) -> bytes:
    """An ASK answer as ``media_type`` (CSV and TSV carry a bare ``true``/``false``, as
    Oxigraph writes them)."""
    document = b'{"head":{},"boolean":%s}' % (b"true" if value else b"false")
    parsed = ox.parse_query_results(document, format=ox.QueryResultsFormat.JSON)
    return parsed.serialize(format=_results_format(media_type))


def encode_triples(
    triples: Iterable[ox.Triple | ox.Quad],
    media_type: str,
    prefixes: Mapping[str, str] | None = None,
) -> bytes:
    """Triples written as ``media_type``; Turtle and TriG declare only the prefixes they use."""
    rdf_format = _graph_format(media_type)
    # pyoxigraph's parsers yield quads (in the default graph for triple formats).
    triples = [item.triple if isinstance(item, ox.Quad) else item for item in triples]
    used = None
    if prefixes and rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG):
        used = _used_prefixes(triples, prefixes)
    return ox.serialize(triples, format=rdf_format, prefixes=used)


def _results_format(media_type: str) -> ox.QueryResultsFormat:
    if media_type not in RESULTS_MEDIA_TYPES:
        raise ValueError(f"not a SPARQL results media type: {media_type}")
    return ox.QueryResultsFormat.from_media_type(media_type)


def _graph_format(media_type: str) -> ox.RdfFormat:
    if media_type not in GRAPH_MEDIA_TYPES:
        raise ValueError(f"not an RDF media type: {media_type}")
    return ox.RdfFormat.from_media_type(media_type)


def _used_prefixes(triples: list[ox.Triple], prefixes: Mapping[str, str]) -> dict[str, str]:
    iris = set()
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    return {
        name: namespace
        for name, namespace in prefixes.items()
        if any(iri.startswith(namespace) and iri != namespace for iri in iris)
    }


def _files_digest(paths: Iterable[Path]) -> str:
    """SHA-256 over the files' bytes: changes exactly when the data does."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()
