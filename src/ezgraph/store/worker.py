"""The query worker process of :class:`~ezgraph.store.oxigraph.OxigraphStore`.

Neither pyoxigraph nor rdflib can cancel a running query, so each query runs in a worker process
that the parent kills when the time limit passes. A worker opens the store read-only once, then
answers :class:`Job` messages on its pipe with :class:`Outcome` messages carrying bytes already
serialized in the negotiated format: terms and iterators never cross the process boundary.

This module is imported in every worker: it must stay light (stdlib, pyoxigraph and
:mod:`ezgraph.store.sandbox`).
"""

from __future__ import annotations

import functools
import pickle
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ezgraph.store.memory_copy import CopySource, MemoryCopy
from ezgraph.store.sandbox import NETWORK_REFUSED, deny_network

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
class DescribeJob:
    """The bounded description of one resource, read from the store's indexes (see
    :class:`~ezgraph.store.base.DescribeRequest`); ``graph_media_type`` ``None`` only asks
    whether the store knows the IRI at all."""

    iri: str
    graph_media_type: str | None
    label_predicates: tuple[str, ...] = ()
    blank_node_depth: int = 0
    max_triples: int = 0
    prefixes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Outcome:
    #: "ok", "syntax" (message), "not_acceptable" (form), "refused" (message) or "error"
    #: (message).
    status: str
    #: "DESCRIBE" for a :class:`DescribeJob`; ``None`` there means the IRI is unknown.
    form: str | None = None
    media_type: str | None = None
    body: bytes = b""
    truncated: bool = False
    elapsed: float = 0.0
    message: str = ""


def worker_main(conn: Connection, store_path: str, copy: CopySource | None = None) -> None:
    """Entry point of a worker process: open the store, then answer jobs until the pipe closes.
    With ``copy``, jobs are answered from an in-memory copy of the store once it is loaded
    (:mod:`ezgraph.store.memory_copy`), from the store on disk until then."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker inherits the signals its starter blocked (a uWSGI request thread blocks all,
    # ezgraph.web.wsgi blocks the stop signals while the app loads): SIGTERM must still end it.
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    unsandboxed = deny_network()  # before any query: SERVICE must find no network
    try:
        import pyoxigraph

        store = pyoxigraph.Store.read_only(store_path)
    except Exception as error:  # reported to the parent, which raises it
        conn.send(("fatal", f"cannot open the Oxigraph store at {store_path}: {error}"))
        return
    # A closed pipe means the parent has gone (it stopped while this worker started, or it
    # exited): nothing is left to answer, so leave quietly.
    try:
        conn.send(("ready", unsandboxed))
        labels: LabelCache = {}
        memory = None if copy is None else MemoryCopy(copy, store)
        while True:
            # Plain pickle: Connection.send/recv go through ForkingPickler, made per message.
            job = pickle.loads(conn.recv_bytes())
            if memory is not None and memory.store is not None:
                # From now on the copy answers, and the disk store's handle and caches go,
                # the labels read with it too: the copy names its blank nodes otherwise.
                store, memory, labels = memory.store, None, {}
            if isinstance(job, DescribeJob):
                outcome = run_describe(store, job, labels=labels)
            else:
                outcome = run_job(store, job)
            conn.send_bytes(pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL))
    except (EOFError, OSError):
        return


def run_job(store: Any, job: Job, max_solutions: int | None = None,
            within_cap: bool = False) -> Outcome | None:
    """Run one query on an open pyoxigraph store and serialize its answer.

    With ``max_solutions``, ``None`` is returned as soon as a SELECT has more solutions than
    that (and than ``job.max_rows``, past which the answer is truncated anyway): the reading
    stops there, and the caller passes the job to a worker that has a time limit.
    ``within_cap``: the caller knows that a SELECT has at most ``job.max_rows`` solutions, so
    they are written at once in the asked format, uncounted."""
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
            return _solutions_outcome(result, job, started, max_solutions, within_cap)
        return _triples_outcome(result, job, started)
    except SyntaxError as error:
        return Outcome("syntax", message=str(error))
    except PermissionError:
        # The sandbox refused a socket: the query reached for another server (a SERVICE
        # clause the guard did not read as one). The client's request, not a server fault.
        return Outcome("refused", message=NETWORK_REFUSED)
    except Exception as error:  # the worker must survive any query
        return Outcome("error", message=f"{type(error).__name__}: {error}")


@dataclass(frozen=True)
class Budget:
    """How much reading a description or a lookup query may take where nothing can stop it at
    a time limit."""

    #: Triples in a description; solutions of a lookup query, or quads matching its pattern.
    triples: int
    #: Index lookups of a description (``quads_for_pattern`` calls): one per resource read, and
    #: one per label predicate for each resource named whose labels are not cached yet.
    reads: int


def run_describe(store: Any, job: DescribeJob, budget: Budget | None = None,
                 labels: LabelCache | None = None) -> Outcome | None:
    """Describe one resource from the store's indexes: the same triples as the Linked Data
    document's CONSTRUCT (``ezgraph.web.rdfdoc.document_query``), without parsing and planning
    its fifteen branches, which took two thirds of a millisecond for every page.

    Reading stops once more than ``job.max_triples`` triples are found (the answer is then
    truncated), so the work is bounded by that cap. With a ``budget``, ``None`` is returned as
    soon as the description outgrows it: the caller has no time limit of its own and passes the
    job to a worker that has one. ``labels`` keeps the labels read, for the next descriptions
    of the same ``store``."""
    import pyoxigraph as ox

    started = time.perf_counter()
    try:
        node = ox.NamedNode(job.iri)
    except ValueError:  # not an IRI, so no statement can name it
        return Outcome("ok", None)
    try:
        if job.graph_media_type is None:
            known = _knows(store, node)
            return Outcome("ok", "DESCRIBE" if known else None,
                           elapsed=time.perf_counter() - started)
        stop_after = job.max_triples if budget is None else min(budget.triples, job.max_triples)
        reads = None if budget is None else budget.reads
        try:
            triples, complete = _description(ox, store, node, job, stop_after, reads,
                                             {} if labels is None else labels)
        except _OverBudget:
            return None
        if not complete and stop_after < job.max_triples:
            return None
        if not triples and not _knows(store, node):
            return Outcome("ok", None, elapsed=time.perf_counter() - started)
        body = _graph_body(ox, triples[: job.max_triples], job.graph_media_type, job.prefixes)
        return Outcome("ok", "DESCRIBE", job.graph_media_type, body, truncated=not complete,
                       elapsed=time.perf_counter() - started)
    except Exception as error:  # the worker must survive any request
        return Outcome("error", message=f"{type(error).__name__}: {error}")


def _knows(store: Any, node: Any) -> bool:
    """Whether ``node`` is a subject, predicate, object or graph name of some quad."""
    patterns = ((node, None, None, None), (None, None, node, None), (None, node, None, None),
                (None, None, None, node))
    return any(next(iter(store.quads_for_pattern(*pattern)), None) is not None
               for pattern in patterns)


def fragment_prefix(iri: str) -> str | None:
    """``iri#``: the IRIs that start so are described in ``iri``'s document, since a client
    dereferencing one asks for ``iri`` (it drops the fragment; Cool URIs for the Semantic Web,
    4.1), like a distribution's ``#sha256`` checksum. ``None`` when ``iri`` has a fragment."""
    return None if "#" in iri else iri + "#"


class LabelIndex(dict[Any, list[Any]]):
    """Every literal label one store gives, for one tuple of label predicates, by resource:
    a resource it lacks has none (see :func:`label_index`)."""


#: Labels of one store, by label predicates, then by resource: those read so far (the store is
#: read-only, so they never go stale; the vocabulary's terms and the big hubs, a zone or its
#: source, are named by most pages), or a :class:`LabelIndex` of them all. Its owner keeps one
#: per store: a process may open several, and blank nodes are told apart only within one.
LabelCache = dict[tuple[str, ...], dict[Any, list[Any]]]
_LABEL_CACHE_ENTRIES = 100_000


def label_index(store: Any, predicates: tuple[str, ...]) -> LabelIndex:
    """All of ``store``'s literal ``predicates`` statements, by subject, in the order a
    description reads them (predicate by predicate). Read once for an in-memory copy, it spares
    each description six index lookups for every resource it names whose labels were not read
    yet: at 1M triples a distinct page cost 86-109 µs instead of 114-139, and a zone's page,
    which names hundreds of resources, no longer outgrew the web process's budget (0.4 s and
    33 MB to make)."""
    import pyoxigraph as ox

    index = LabelIndex()
    for predicate in predicates:
        for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
            if isinstance(quad.object, ox.Literal):
                index.setdefault(quad.subject, []).append(quad.triple)
    return index


class _Enough(Exception):
    """More triples were found than the description may hold."""


class _OverBudget(Exception):
    """The description takes more index lookups than it may."""


def _description(ox: Any, store: Any, node: Any, job: DescribeJob, stop_after: int,
                 max_reads: int | None, label_cache: LabelCache) -> tuple[list[Any], bool]:
    """What ``node`` says (following blank nodes ``blank_node_depth`` deep, and RDF lists to
    their end), what points to it, and the labels of every resource and property those name;
    and whether that is all of it. Reading stops once it is known to hold more than
    ``stop_after`` triples, so its cost is bounded by ``stop_after``; past ``max_reads`` index
    lookups, :class:`_OverBudget` is raised."""
    quads = store.quads_for_pattern
    if max_reads is not None:
        reads = 0

        def quads(*pattern: Any) -> Any:
            nonlocal reads
            reads += 1
            if reads > max_reads:
                raise _OverBudget
            return store.quads_for_pattern(*pattern)

    triples: dict[Any, None] = {}
    named: dict[Any, None] = {}

    def keep(triple: Any) -> None:
        triples[triple] = None
        if len(triples) > stop_after:
            raise _Enough

    def says(subjects: list[Any]) -> list[Any]:
        """Read what ``subjects`` say; the objects they name, in order."""
        objects = []
        # keep() inlined, and each term read once: pyoxigraph makes a new Python object per
        # attribute access, and this loop runs for every triple of every page.
        for subject in subjects:
            for quad in quads(subject, None, None, None):
                triples[quad.triple] = None
                if len(triples) > stop_after:
                    raise _Enough
                named[quad.predicate] = None
                named[obj := quad.object] = None
                objects.append(obj)
        return objects

    # The IRIs "iri#…" it names are described with it, like its blank nodes.
    fragments = fragment_prefix(job.iri)

    try:
        objects = says([node])
        rest = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#rest")
        for depth in range(job.blank_node_depth):
            # The blank nodes just reached, and every node their rdf:rest chains lead to.
            reached: dict[Any, None] = {}
            hashes = fragments if depth == 0 else None
            pending = [term for term in objects
                       if isinstance(term, ox.BlankNode)
                       or (hashes is not None and isinstance(term, ox.NamedNode)
                           and term.value.startswith(hashes))]
            while pending:
                current = pending.pop()
                if current not in reached:
                    reached[current] = None
                    if len(reached) > stop_after:
                        raise _Enough  # each node reached brings at least one triple
                    pending.extend(quad.object for quad in quads(current, rest, None, None))
            if not reached:
                break
            objects = says(list(reached))
        for quad in quads(None, None, node, None):
            keep(quad.triple)
            named[quad.subject] = None
            named[quad.predicate] = None
        known = label_cache.setdefault(job.label_predicates, {})
        indexed = isinstance(known, LabelIndex)
        predicates = None
        for term in named:
            labels = known.get(term)
            if labels is None:
                if indexed or isinstance(term, ox.Literal):
                    continue
                if predicates is None:
                    predicates = [ox.NamedNode(iri) for iri in job.label_predicates]
                labels = [quad.triple for predicate in predicates
                          for quad in quads(term, predicate, None, None)
                          if isinstance(quad.object, ox.Literal)]
                if len(known) >= _LABEL_CACHE_ENTRIES:
                    known.clear()
                known[term] = labels
            for label in labels:
                keep(label)
    except _Enough:
        return list(triples), False
    return list(triples), True


def _boolean_outcome(result: Any, job: Job, started: float) -> Outcome:
    import pyoxigraph as ox

    if job.results_media_type is None:
        return Outcome("not_acceptable", form="ASK")
    body = result.serialize(format=_results_format(ox, job.results_media_type))
    return Outcome(
        "ok", "ASK", job.results_media_type, body, elapsed=time.perf_counter() - started
    )


def _solutions_outcome(result: Any, job: Job, started: float,
                       max_solutions: int | None, within_cap: bool = False) -> Outcome | None:
    import pyoxigraph as ox

    if job.results_media_type is None:
        return Outcome("not_acceptable", form="SELECT")
    if within_cap:  # nothing to count: written once, in the asked format
        body = result.serialize(format=_results_format(ox, job.results_media_type))
        return Outcome("ok", "SELECT", job.results_media_type, body,
                       elapsed=time.perf_counter() - started)
    cap = job.max_rows if max_solutions is None else min(max_solutions, job.max_rows)
    # Past the budget, not the row cap: the answer is not this one to give.
    budgeted = cap < job.max_rows
    # pyoxigraph serializes a whole result iterator, not a list of kept solutions. So the
    # solutions are written as TSV (one line per solution: TSV escapes line breaks) into a
    # writer that stops the serialization, and with it the lazy evaluation, once more than
    # max_rows lines follow the header; the kept lines are then read back and written in the
    # asked format. (Building the TSV in Python, term by term, cost as much as the query.)
    rows = _RowCappedWriter(cap)
    try:
        result.serialize(rows, format=ox.QueryResultsFormat.TSV)
    except Exception:
        if not rows.truncated:
            raise
    if budgeted and rows.truncated:
        return None
    body = rows.kept()
    if job.results_media_type != "text/tab-separated-values":
        kept = ox.parse_query_results(body, ox.QueryResultsFormat.TSV)
        body = kept.serialize(format=_results_format(ox, job.results_media_type))
    truncated = rows.truncated
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


class _RowsEnough(Exception):
    pass


class _RowCappedWriter:
    """A binary file for pyoxigraph's TSV results writer that keeps the header and at most
    ``max_rows`` solution lines, and raises once it has seen one more."""

    def __init__(self, max_rows: int):
        self._max_lines = max_rows + 1
        self._lines = 0
        self._chunks: list[bytes] = []
        self.truncated = False

    def write(self, chunk: bytes) -> int:
        self._chunks.append(bytes(chunk))
        self._lines += chunk.count(b"\n")
        if self._lines > self._max_lines:
            self.truncated = True
            raise _RowsEnough
        return len(chunk)

    def flush(self) -> None:
        pass

    def kept(self) -> bytes:
        text = b"".join(self._chunks)
        if self.truncated:
            text = b"\n".join(text.split(b"\n", self._max_lines)[: self._max_lines]) + b"\n"
        return text


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
    body = _graph_body(ox, triples, job.graph_media_type, job.prefixes)
    return Outcome(
        "ok",
        form,
        job.graph_media_type,
        body,
        truncated=truncated,
        elapsed=time.perf_counter() - started,
    )


def _graph_body(
    ox: Any, triples: list[Any], media_type: str, prefixes: tuple[tuple[str, str], ...]
) -> bytes:
    """``triples`` in ``media_type``; Turtle and TriG declare only the prefixes they use."""
    used = None
    if media_type in ("text/turtle", "application/trig"):
        used = _used_prefixes(ox, triples, prefixes)
    return ox.serialize(triples, format=getattr(ox.RdfFormat, GRAPH_FORMATS[media_type]),
                        prefixes=used)


def _used_prefixes(
    ox: Any, triples: list[Any], prefixes: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    """The prefixes that abbreviate some IRI of ``triples`` (Oxigraph would declare them all)."""
    # In N-Triples every IRI is written whole after a "<", so one regular expression in C
    # finds, after each "<", the longest namespace the IRI starts with; the namespaces that
    # one starts with are used with it. (Reading each term's IRI from Python took a
    # microsecond per term; remembering each IRI's namespaces took 26-36 µs a document at 1M
    # triples, where most IRIs are seen once: this takes 11-12 µs.) An IRI written inside a
    # literal may add a needless prefix.
    finder = _namespace_finder(prefixes)
    if finder is None:
        return {}
    pattern, within = finder
    used: set[str] = set()
    for namespace in set(pattern.findall(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))):
        used.update(within[namespace])
    return {name: iri for name, iri in prefixes if name in used}


@functools.lru_cache(maxsize=64)
def _namespace_finder(
    prefixes: tuple[tuple[str, str], ...],
) -> tuple[re.Pattern[bytes], dict[bytes, tuple[str, ...]]] | None:
    """For one set of ``prefixes``: a pattern whose matches are the longest namespace after a
    "<", and for each namespace the names of every prefix it starts with (itself included).
    ``None`` when no prefix can abbreviate: Turtle's end in "/" or "#"."""
    markers = [(name, iri.encode("utf-8")) for name, iri in prefixes if iri.endswith(("/", "#"))]
    if not markers:
        return None
    namespaces = {iri for _, iri in markers}
    within = {namespace: tuple(name for name, iri in markers if namespace.startswith(iri))
              for namespace in namespaces}
    return re.compile(b"<(" + _longest_of(namespaces) + b")"), within


def _longest_of(words: Iterable[bytes]) -> bytes:
    """A regular expression matching the longest of ``words`` that a text starts with, as a
    trie (one alternative per next byte, a shorter word's end optional), so that matching walks
    the text once rather than trying each word in turn."""
    trie: dict[int | None, dict[Any, Any]] = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def pattern(node: dict[int | None, dict[Any, Any]]) -> bytes:
        branches = [re.escape(bytes([byte])) + pattern(node[byte])
                    for byte in sorted(key for key in node if key is not None)]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
        # Greedy: the longer word when the text holds it, else this one's end.
        return b"(?:" + body + b")?" if None in node else body

    return pattern(trie)


def _results_format(ox: Any, media_type: str) -> Any:
    return getattr(ox.QueryResultsFormat, RESULTS_FORMATS[media_type])
