"""The query worker process of :class:`~ezgraph.store.oxigraph.OxigraphStore`.

Neither pyoxigraph nor rdflib can cancel a running query, so each query runs in a worker process
that the parent kills when the time limit passes. A worker opens the store read-only once, then
answers :class:`Job` messages on its pipe with :class:`Outcome` messages carrying bytes already
serialized in the negotiated format: terms and iterators never cross the process boundary.

This module is imported in every worker: it must stay light (stdlib and pyoxigraph only).
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

RESULTS_FORMATS = {
    "application/sparql-results+json": "JSON",
    "application/sparql-results+xml": "XML",
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV",
}
GRAPH_FORMATS = {
    "text/turtle": "TURTLE",
    "application/n-triples": "N_TRIPLES",
    "application/ld+json": "JSON_LD",
    "application/rdf+xml": "RDF_XML",
    "application/trig": "TRIG",
    "application/n-quads": "N_QUADS",
}


@dataclass(frozen=True)
class Job:
    query: str
    #: The form found by the guard's scanner; tells CONSTRUCT from DESCRIBE (same result type).
    form: str | None
    results_media_type: str | None
    graph_media_type: str | None
    default_graph_uris: tuple[str, ...]
    named_graph_uris: tuple[str, ...]
    #: True unless the query has FROM / FROM NAMED (the union would override them).
    union_default_graph: bool
    max_rows: int
    #: Prefixes written into Turtle and TriG answers.
    prefixes: tuple[tuple[str, str], ...] = ()
    #: Base IRI the query's relative IRIs resolve against.
    base_iri: str | None = None


@dataclass(frozen=True)
class Outcome:
    #: "ok", "syntax" (message), "not_acceptable" (form) or "error" (message).
    status: str
    form: str | None = None
    media_type: str | None = None
    body: bytes = b""
    truncated: bool = False
    elapsed: float = 0.0
    message: str = ""


def worker_main(conn: Connection, store_path: str) -> None:
    """Entry point of a worker process: open the store, then answer jobs until the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import pyoxigraph

        store = pyoxigraph.Store.read_only(store_path)
    except Exception as error:  # reported to the parent, which raises it
        conn.send(("fatal", f"cannot open the Oxigraph store at {store_path}: {error}"))
        return
    # A closed pipe means the parent has gone (it stopped while this worker started, or it
    # exited): nothing is left to answer, so leave quietly.
    try:
        conn.send(("ready", None))
        while True:
            job = conn.recv()
            conn.send(run_job(store, job))
    except (EOFError, OSError):
        return


def run_job(store: Any, job: Job) -> Outcome:
    """Run one query on an open pyoxigraph store and serialize its answer."""
    import pyoxigraph as ox

    options: dict[str, Any] = {"base_iri": job.base_iri}
    if job.default_graph_uris or job.named_graph_uris:
        # A dataset given in the protocol replaces the query's own (SPARQL 1.1 Protocol 2.1.4):
        # a graph list left out is empty, not "everything".
        options["default_graph"] = [ox.NamedNode(iri) for iri in job.default_graph_uris]
        options["named_graphs"] = [ox.NamedNode(iri) for iri in job.named_graph_uris]
    elif job.union_default_graph:
        options["use_default_graph_as_union"] = True
    started = time.perf_counter()
    try:
        result = store.query(job.query, **options)
        if isinstance(result, ox.QueryBoolean):
            return _boolean_outcome(result, job, started)
        if isinstance(result, ox.QuerySolutions):
            return _solutions_outcome(result, job, started)
        return _triples_outcome(result, job, started)
    except SyntaxError as error:
        return Outcome("syntax", message=str(error))
    except Exception as error:  # the worker must survive any query
        return Outcome("error", message=f"{type(error).__name__}: {error}")


def _boolean_outcome(result: Any, job: Job, started: float) -> Outcome:
    import pyoxigraph as ox

    if job.results_media_type is None:
        return Outcome("not_acceptable", form="ASK")
    body = result.serialize(format=_results_format(ox, job.results_media_type))
    return Outcome(
        "ok", "ASK", job.results_media_type, body, elapsed=time.perf_counter() - started
    )


def _solutions_outcome(result: Any, job: Job, started: float) -> Outcome:
    import pyoxigraph as ox

    if job.results_media_type is None:
        return Outcome("not_acceptable", form="SELECT")
    variables = [variable.value for variable in result.variables]
    rows: list[Any] = []
    truncated = False
    # Evaluation is lazy: stopping after max_rows + 1 solutions stops the work as well.
    for solution in result:
        if len(rows) == job.max_rows:
            truncated = True
            break
        rows.append(solution)
    # pyoxigraph serializes a whole result iterator, not a list of kept solutions, so the kept
    # rows go through TSV (pyoxigraph's own term syntax) and back to be written in any format.
    lines = ["\t".join(f"?{name}" for name in variables)]
    for solution in rows:
        lines.append("\t".join(_tsv_term(solution[name]) for name in variables))
    kept = ox.parse_query_results(("\n".join(lines) + "\n").encode(), ox.QueryResultsFormat.TSV)
    body = kept.serialize(format=_results_format(ox, job.results_media_type))
    if truncated and job.results_media_type == "application/sparql-results+json":
        # Documented extension: a top-level "truncated" member next to "head" and "results".
        body = b'{"truncated":true,' + body[1:]
    return Outcome(
        "ok",
        "SELECT",
        job.results_media_type,
        body,
        truncated=truncated,
        elapsed=time.perf_counter() - started,
    )


def _triples_outcome(result: Any, job: Job, started: float) -> Outcome:
    import pyoxigraph as ox

    form = job.form if job.form in ("CONSTRUCT", "DESCRIBE") else "CONSTRUCT"
    if job.graph_media_type is None:
        return Outcome("not_acceptable", form=form)
    triples: list[Any] = []
    truncated = False
    for triple in result:
        if len(triples) == job.max_rows:
            truncated = True
            break
        triples.append(triple)
    rdf_format = getattr(ox.RdfFormat, GRAPH_FORMATS[job.graph_media_type])
    prefixes = None
    if job.graph_media_type in ("text/turtle", "application/trig"):
        prefixes = _used_prefixes(ox, triples, job.prefixes)
    body = ox.serialize(triples, format=rdf_format, prefixes=prefixes)
    return Outcome(
        "ok",
        form,
        job.graph_media_type,
        body,
        truncated=truncated,
        elapsed=time.perf_counter() - started,
    )


def _used_prefixes(
    ox: Any, triples: list[Any], prefixes: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    """The prefixes that abbreviate some IRI of ``triples`` (Oxigraph would declare them all)."""
    iris: set[str] = set()
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if isinstance(term, ox.NamedNode):
                iris.add(term.value)
            elif isinstance(term, ox.Literal):
                iris.add(term.datatype.value)
    # Every namespace ends in "/" or "#": collect each IRI's heads cut after those characters.
    heads: set[str] = set()
    for iri in iris:
        for position, character in enumerate(iri):
            if character in "/#":
                heads.add(iri[: position + 1])
    return {name: iri for name, iri in prefixes if iri in heads}


def _results_format(ox: Any, media_type: str) -> Any:
    return getattr(ox.QueryResultsFormat, RESULTS_FORMATS[media_type])


def _tsv_term(term: Any) -> str:
    # str() of a pyoxigraph term is its N-Triples form, which SPARQL TSV accepts; unbound is empty.
    return "" if term is None else str(term)
