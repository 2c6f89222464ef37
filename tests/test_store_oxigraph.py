"""The embedded Oxigraph backend: dataset semantics, formats, row cap, timeouts, cache, opening."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib

from ezgraph.store import (
    StoreSpecError,
    open_store,
    oxigraph_store_from_files,
    register_backend,
)
from ezgraph.store import oxigraph as oxigraph_module
from ezgraph.store import worker as worker_module
from ezgraph.store.base import (
    GRAPH_MEDIA_TYPES,
    DescribeRequest,
    NotAcceptable,
    QueryRefused,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
)
from ezgraph.store.lookup import as_lookup
from ezgraph.store.oxigraph import OxigraphStore, RdfLoadError, load_rdf_files
from ezgraph.store.worker import Budget

SAMPLE_TRIG = Path(__file__).parent / "fixtures" / "sample.trig"
SAMPLE_TRIPLES = 38
SKOS_PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"

GRAPH = "https://w3id.org/ezgraph/graph/"
ONTOLOGY = GRAPH + "ontology"
CHANGCHUN = GRAPH + "source/changchun-etdz"
AUTOMOTIVE = GRAPH + "source/changchun-automotive-etdz"
#: Six-way cross product: billions of combinations, constant memory; only a kill stops it.
ENDLESS_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE "
    "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }"
)
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}


def count(store: OxigraphStore, query: str, **fields) -> int:
    response = store.query(QueryRequest(query, **fields))
    bindings = json.loads(response.body)["results"]["bindings"]
    return int(bindings[0]["n"]["value"])


def _no_lookups_here(store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, the store's workers answer lookups too."""
    monkeypatch.setattr(store, "_lookup_written_here", lambda request, lookup: None)
    monkeypatch.setattr(store, "_query_here", lambda job, lookup: None)


def _recording_worker_jobs(store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The jobs the store's workers are asked from now on."""
    jobs: list[Any] = []
    run = store._pool.run
    monkeypatch.setattr(store._pool, "run", lambda job, t: jobs.append(job) or run(job, t))
    return jobs


@pytest.fixture
def store() -> Iterator[OxigraphStore]:
    """A store over the sample with one query worker, whose background count (which a worker
    runs) is done: every worker job from then on is the test's own."""
    with oxigraph_store_from_files([SAMPLE_TRIG], workers=1) as store:
        store.info()
        yield store


@pytest.fixture(scope="module")
def reference() -> ox.Store:
    """The same data in an in-process pyoxigraph store, to compare answers with."""
    store = ox.Store()
    store.load(path=str(SAMPLE_TRIG))
    return store


def test_info_counts_graphs_and_release(sample_store: OxigraphStore) -> None:
    info = sample_store.info()
    assert info.backend == "oxigraph"
    assert info.triples == SAMPLE_TRIPLES
    assert {(graph.iri, graph.triples) for graph in info.graphs} == {
        (ONTOLOGY, 12),
        (CHANGCHUN, 14),
        (AUTOMOTIVE, 12),
    }
    assert info.release.startswith("counts-")
    assert sample_store.workers == 2


def test_default_graph_is_the_union(sample_store: OxigraphStore) -> None:
    assert count(sample_store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES


def test_from_and_from_named_replace_the_union(sample_store: OxigraphStore) -> None:
    assert count(sample_store, f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY}> {{ ?s ?p ?o }}") == 12
    only_named = f"SELECT (COUNT(*) AS ?n) FROM NAMED <{ONTOLOGY}> {{ ?s ?p ?o }}"
    assert count(sample_store, only_named) == 0
    graphs = f"SELECT (COUNT(*) AS ?n) FROM NAMED <{ONTOLOGY}> {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    assert count(sample_store, graphs) == 12


def test_protocol_dataset_replaces_the_query_dataset(sample_store: OxigraphStore) -> None:
    query = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    assert count(sample_store, query, default_graph_uris=(ONTOLOGY,)) == 12
    assert count(sample_store, query, default_graph_uris=(ONTOLOGY, CHANGCHUN)) == 26
    # named graphs only: the default graph is empty, not the union
    assert count(sample_store, query, named_graph_uris=(CHANGCHUN,)) == 0
    in_graphs = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
    assert count(sample_store, in_graphs, named_graph_uris=(CHANGCHUN,)) == 14
    overridden = f"SELECT (COUNT(*) AS ?n) FROM <{CHANGCHUN}> {{ ?s ?p ?o }}"
    assert count(sample_store, overridden, default_graph_uris=(ONTOLOGY,)) == 12


@pytest.mark.parametrize(
    ("query", "fields", "message"),
    [
        ("INSERT DATA { <http://a> <http://b> <http://c> }", {}, "read-only"),
        ("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", {}, "SERVICE"),
        ("SELECT * FROM <http://example.org/other> { ?s ?p ?o }", {}, "not a graph"),
        ("SELECT * { ?s ?p ?o }", {"default_graph_uris": ("http://x.example/",)}, "not a graph"),
        ("SELECT * { ?s ?p ?o }", {"named_graph_uris": ("http://x.example/",)}, "not a graph"),
    ],
)
def test_refusals(sample_store: OxigraphStore, query: str, fields: dict, message: str) -> None:
    with pytest.raises(QueryRefused, match=message):
        sample_store.query(QueryRequest(query, **fields))


SELECT_LABELS = (
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "SELECT ?thing ?label ?employees WHERE {\n"
    "  ?thing skos:prefLabel ?label .\n"
    "  OPTIONAL { ?thing <https://w3id.org/ezgraph/def/employees> ?employees }\n"
    "} ORDER BY ?thing ?label"
)


@pytest.mark.parametrize(
    ("media_type", "results_format"),
    [
        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ],
)
def test_select_answers_match_pyoxigraph(
    sample_store: OxigraphStore, reference: ox.Store, media_type: str, results_format
) -> None:
    response = sample_store.query(QueryRequest(SELECT_LABELS, results_media_type=media_type))
    assert (response.form, response.media_type, response.truncated) == ("SELECT", media_type, False)
    expected = reference.query(SELECT_LABELS, use_default_graph_as_union=True)
    # Literals with tabs, newlines, quotes, language tags, datatypes and unbound values survive.
    assert response.body == expected.serialize(format=results_format)
    solutions = list(ox.parse_query_results(response.body, results_format))
    assert len(solutions) == 7
    assert any("\t" in solution["label"].value for solution in solutions)


def test_select_csv(sample_store: OxigraphStore) -> None:
    response = sample_store.query(QueryRequest(SELECT_LABELS, results_media_type="text/csv"))
    rows = list(csv.reader(io.StringIO(response.body.decode("utf-8"))))
    assert rows[0] == ["thing", "label", "employees"]
    assert len(rows) == 8
    assert ["https://w3id.org/ezgraph/id/enterprise/faw-parts", "FAW Parts Co.", "1200"] in rows


@pytest.mark.parametrize(
    "media_type", ["application/sparql-results+json", "application/sparql-results+xml"]
)
def test_ask(sample_store: OxigraphStore, media_type: str) -> None:
    results_format = ox.QueryResultsFormat.from_media_type(media_type)
    yes = sample_store.query(QueryRequest("ASK { ?s a ?type }", results_media_type=media_type))
    no = sample_store.query(
        QueryRequest("ASK { ?s a <http://nothing.example/> }", results_media_type=media_type)
    )
    assert yes.form == "ASK"
    assert bool(ox.parse_query_results(yes.body, results_format)) is True
    assert bool(ox.parse_query_results(no.body, results_format)) is False


@pytest.mark.parametrize("media_type", GRAPH_MEDIA_TYPES)
def test_construct_and_describe_in_every_graph_format(
    sample_store: OxigraphStore, media_type: str
) -> None:
    zone = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
    construct = sample_store.query(
        QueryRequest(f"CONSTRUCT WHERE {{ <{zone}> ?p ?o }}", graph_media_type=media_type)
    )
    describe = sample_store.query(QueryRequest(f"DESCRIBE <{zone}>", graph_media_type=media_type))
    assert (construct.form, describe.form) == ("CONSTRUCT", "DESCRIBE")
    for response in (construct, describe):
        assert response.media_type == media_type
        graph = rdflib.Dataset()
        graph.parse(data=response.body, format=RDFLIB_FORMATS[media_type])
        triples = {(str(s), str(p), str(o)) for s, p, o, _ in graph.quads()}
        assert len(triples) == 6
        pref_label = "http://www.w3.org/2004/02/skos/core#prefLabel"
        assert (zone, pref_label, "长春经济技术开发区") in triples


@pytest.mark.parametrize("media_type", GRAPH_MEDIA_TYPES)
def test_describe_a_resource_from_the_indexes_in_every_graph_format(
    sample_store: OxigraphStore, media_type: str
) -> None:
    zone = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
    request = DescribeRequest(zone, media_type, label_predicates=(SKOS_PREF_LABEL,),
                              blank_node_depth=3)
    response = sample_store.describe(request)
    assert response is not None and response.media_type == media_type
    graph = rdflib.Dataset()
    graph.parse(data=response.body, format=RDFLIB_FORMATS[media_type])
    triples = {(str(s), str(p), str(o)) for s, p, o, _ in graph.quads()}
    # Its six statements, the enterprise located in it, and that enterprise's label.
    assert (zone, SKOS_PREF_LABEL, "长春经济技术开发区") in triples
    enterprise = "https://w3id.org/ezgraph/id/enterprise/faw-parts"
    assert (enterprise, "https://w3id.org/ezgraph/def/locatedIn", zone) in triples
    assert (enterprise, SKOS_PREF_LABEL, "FAW Parts Co.") in triples
    assert len({t for t in triples if t[0] == zone}) == 6
    assert sample_store.describe(request) is response or not sample_store.release_if_known()


def test_describe_and_knows_say_when_the_store_has_nothing(sample_store: OxigraphStore) -> None:
    absent = "https://w3id.org/ezgraph/id/zone/atlantis"
    assert sample_store.describe(DescribeRequest(absent, "text/turtle", (), 3)) is None
    assert sample_store.knows(absent, timeout=5) is False
    assert sample_store.knows("not an <iri>", timeout=5) is False
    assert sample_store.knows("https://w3id.org/ezgraph/def/locatedIn", timeout=5) is True
    assert sample_store.knows("https://w3id.org/ezgraph/graph/ontology", timeout=5) is True
    with pytest.raises(ValueError, match="unsupported graph media type"):
        sample_store.describe(DescribeRequest(absent, "text/html", (), 3))


def test_turtle_declares_only_used_prefixes(sample_store: OxigraphStore) -> None:
    body = sample_store.query(
        QueryRequest("CONSTRUCT WHERE { ?s a <http://www.w3.org/2002/07/owl#Class> }")
    ).body.decode()
    assert "@prefix owl:" in body and "@prefix rdf:" in body
    assert "@prefix qudt:" not in body


def test_a_prefix_is_declared_when_its_namespace_begins_an_iri() -> None:
    base, ez, ids = ("https://w3id.org/ezgraph/", "https://w3id.org/ezgraph/def/",
                     "https://w3id.org/ezgraph/id/")
    xsd = "http://www.w3.org/2001/XMLSchema#"
    prefixes = (("ez", ez), ("id", ids), ("xsd", xsd), ("sosa", "http://www.w3.org/ns/sosa/"),
                ("noslash", "https://w3id.org/ezgraph/i"), ("base", base), ("same", ids),
                ("zone", ids + "zone/"), ("zones", ids + "zones/"))
    triples = [
        ox.Triple(ox.NamedNode(ids + "zone/a"), ox.NamedNode(ez + "year"),
                  ox.Literal("2020", datatype=ox.NamedNode(xsd + "gYear"))),
        ox.Triple(ox.NamedNode(ids + "zone/a"), ox.NamedNode("http://example.org/p"),
                  ox.NamedNode(ez)),
    ]
    body = worker_module._graph_body(ox, triples, "text/turtle", prefixes).decode()
    declared = {line.split()[1] for line in body.splitlines() if line.startswith("@prefix")}
    # Namespaces within namespaces are all declared when an IRI starts with the longest, and
    # "zones/" is not, though it shares "zone" with "zone/"; a namespace that ends in neither
    # "/" nor "#" is no Turtle prefix.
    assert declared == {"ez:", "id:", "same:", "zone:", "xsd:", "base:"}
    assert {str(q.triple) for q in ox.parse(body, format=ox.RdfFormat.TURTLE)} \
        == {str(t) for t in triples}
    # Another set of prefixes is answered for itself.
    other = worker_module._graph_body(ox, triples, "text/turtle", (("e", ez),)).decode()
    assert [line for line in other.splitlines() if line.startswith("@prefix")] == [
        f"@prefix e: <{ez}> ."]
    none = worker_module._graph_body(ox, triples, "text/turtle", (("i", base + "i"),)).decode()
    assert "@prefix" not in none


def test_not_acceptable_when_no_format_fits_the_form(sample_store: OxigraphStore) -> None:
    with pytest.raises(NotAcceptable) as caught:
        sample_store.query(QueryRequest("SELECT * { ?s ?p ?o }", results_media_type=None))
    assert caught.value.form == "SELECT"
    with pytest.raises(NotAcceptable) as caught:
        sample_store.query(QueryRequest("CONSTRUCT WHERE { ?s ?p ?o }", graph_media_type=None))
    assert caught.value.form == "CONSTRUCT"
    # A lookup's form comes from the lookup recognizer, not the guard's scan.
    with pytest.raises(NotAcceptable) as caught:
        sample_store.query(QueryRequest("ASK { ?s a ?type }", results_media_type=None,
                                        graph_media_type="text/turtle"))
    assert caught.value.form == "ASK"
    assert str(caught.value) == "no acceptable media type for an ASK result"


def test_row_cap_truncates_and_says_so(sample_store: OxigraphStore) -> None:
    response = sample_store.query(QueryRequest("SELECT * { ?s ?p ?o }", max_rows=5))
    document = json.loads(response.body)
    assert response.truncated is True
    assert document["truncated"] is True
    assert len(document["results"]["bindings"]) == 5
    csv_response = sample_store.query(
        QueryRequest("SELECT * { ?s ?p ?o }", results_media_type="text/csv", max_rows=5)
    )
    assert csv_response.truncated and len(csv_response.body.decode().splitlines()) == 6
    graph = sample_store.query(QueryRequest("CONSTRUCT WHERE { ?s ?p ?o }", max_rows=5))
    assert graph.truncated and len(rdflib.Graph().parse(data=graph.body, format="turtle")) == 5


def test_exactly_max_rows_is_not_truncated(sample_store: OxigraphStore) -> None:
    response = sample_store.query(QueryRequest("SELECT * { ?s ?p ?o } LIMIT 5", max_rows=5))
    assert response.truncated is False
    assert "truncated" not in json.loads(response.body)


def test_syntax_error_has_line_and_column(sample_store: OxigraphStore) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        sample_store.query(QueryRequest("SELECT *\nWHERE {\n  ?s ?p\n}"))
    error = caught.value
    assert error.line == 4 and error.column is not None
    assert f"at line 4, column {error.column}: expected" in str(error)


def test_responses_are_cached(sample_store: OxigraphStore) -> None:
    sample_store.info()  # the release is known: answers are cached from now on
    request = QueryRequest("SELECT (COUNT(*) AS ?n) { ?s a ?type } # cache test")
    first = sample_store.query(request)
    assert sample_store.query(request) is first
    assert sample_store.query(QueryRequest(request.query, max_rows=1)) is not first


def test_queries_one_after_another_go_to_the_worker_that_answered_last(
    sample_store: OxigraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Last in, first out: a lone client keeps one worker warm instead of taking turns.
    answered: list[object] = []
    call = oxigraph_module._Worker.call

    def recording(worker: object, job: object, timeout: float) -> object:
        answered.append(worker)
        return call(worker, job, timeout)

    monkeypatch.setattr(oxigraph_module._Worker, "call", recording)
    assert sample_store.workers >= 2
    for number in range(6):
        # Two patterns: a lookup (one pattern) would be answered without a worker.
        sample_store.query(
            QueryRequest(f"ASK {{ ?s ?p ?o . ?o ?q ?r }} # one after another {number}"))
    assert len(answered) == 6 and len(set(map(id, answered))) == 1


def test_after_a_timeout_a_ready_worker_answers_before_the_replacement(
    sample_store: OxigraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready_before = set(sample_store.worker_pids())
    with pytest.raises(QueryTimeout):
        sample_store.query(QueryRequest(ENDLESS_QUERY + " # replaced", timeout=1.0))
    answered: list[int] = []
    call = oxigraph_module._Worker.call

    def recording(worker: Any, job: object, timeout: float) -> object:
        answered.append(worker.process.pid)
        return call(worker, job, timeout)

    monkeypatch.setattr(oxigraph_module._Worker, "call", recording)
    sample_store.query(QueryRequest("ASK { ?s ?p ?o . ?o ?q ?r } # right after the timeout"))
    # The replacement is still opening the store; a worker that was ready answers at once.
    assert answered and answered[0] in ready_before


def test_timeout_kills_the_worker_and_others_keep_answering(
    sample_store: OxigraphStore,
) -> None:
    pids_before = set(sample_store.worker_pids())
    outcome: dict[str, object] = {}

    def endless() -> None:
        try:
            sample_store.query(QueryRequest(ENDLESS_QUERY, timeout=1.5))
        except QueryTimeout as error:
            outcome["error"] = error
        outcome["finished"] = time.monotonic()

    slow = threading.Thread(target=endless)
    slow.start()
    time.sleep(0.3)
    quick = count(sample_store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o } # concurrent")
    quick_done = time.monotonic()
    slow.join(timeout=30)
    assert quick == SAMPLE_TRIPLES
    assert isinstance(outcome.get("error"), QueryTimeout)
    assert quick_done < outcome["finished"]
    pids_after = set(sample_store.worker_pids())
    killed = pids_before - pids_after
    assert len(killed) == 1 and len(pids_after) == 2
    with pytest.raises(ProcessLookupError):
        os.kill(killed.pop(), 0)
    # the fresh worker answers
    assert count(sample_store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o } # after kill") == 38


def test_close_stops_workers_and_removes_a_temporary_store() -> None:
    store = oxigraph_store_from_files([SAMPLE_TRIG], workers=2)
    assert count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES
    pids = store.worker_pids()
    store.close()
    store.close()  # idempotent
    assert not store.path.exists()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(StoreUnavailable):
        store.query(QueryRequest("ASK {}"))


@pytest.fixture(scope="module")
def persistent_store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A publish-directory-like layout: ``dist/store`` loaded from the sample data."""
    store_dir = tmp_path_factory.mktemp("dist") / "store"
    load_rdf_files(store_dir, [SAMPLE_TRIG])
    return store_dir


def test_open_store_oxigraph_spec_and_bare_directory(persistent_store_dir: Path) -> None:
    with open_store(f"oxigraph:{persistent_store_dir}", workers=2) as store:
        assert isinstance(store, OxigraphStore)
        assert store.info().triples == SAMPLE_TRIPLES
    with open_store(str(persistent_store_dir), workers=2) as store:
        assert isinstance(store, OxigraphStore)
    assert persistent_store_dir.exists()  # a real store is never deleted on close


def test_release_and_counts_come_from_the_sibling_manifest(
    persistent_store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ezgraph.store import oxigraph as oxigraph_module

    # The background count waits for the test, as a big store's count would take seconds.
    counted = threading.Event()
    count = oxigraph_module._Counts._count  # noqa: SLF001

    def slow_count(self: Any, store: Any) -> None:
        counted.wait(30)
        count(self, store)

    monkeypatch.setattr(oxigraph_module._Counts, "_count", slow_count)  # noqa: SLF001
    manifest_path = persistent_store_dir.parent / "manifest.json"
    manifest = {
        "release": "0123abcd",
        "triples": 38,
        "graphs": {ONTOLOGY: 12, CHANGCHUN: 14, AUTOMOTIVE: 12},
    }
    manifest_path.write_text(json.dumps(manifest))
    try:
        with OxigraphStore(persistent_store_dir, workers=2) as store:
            assert store.info().release == "0123abcd"
        # graphs that do not match the store: the release is kept, the counts are recounted
        manifest["graphs"] = {ONTOLOGY: 1}
        manifest_path.write_text(json.dumps(manifest))
        with OxigraphStore(persistent_store_dir, workers=2) as store:
            # Known before the count is in: answer caches key on it from the first request.
            assert store.release_if_known() == "0123abcd"
            counted.set()
            assert {g.iri: g.triples for g in store.info().graphs}[CHANGCHUN] == 14
            assert store.info().release == "0123abcd"
    finally:
        manifest_path.unlink()


def test_graphs_missing_from_the_manifest_are_counted(persistent_store_dir: Path) -> None:
    """The build's manifest does not list the metadata graph the store also holds: the counts
    of the graphs it lists are taken, the others counted, and the totals match a full count."""
    with OxigraphStore(persistent_store_dir, workers=2) as store:
        full = store.info()
    listed = {g.iri: g.triples for g in full.graphs if g.iri != CHANGCHUN}
    manifest_path = persistent_store_dir.parent / "manifest.json"
    manifest_path.write_text(json.dumps({"release": "r1", "triples": sum(listed.values()),
                                         "graphs": listed}))
    try:
        with OxigraphStore(persistent_store_dir, workers=2) as store:
            info = store.info()
        assert {g.iri: g.triples for g in info.graphs} == {g.iri: g.triples for g in full.graphs}
        assert info.triples == full.triples == SAMPLE_TRIPLES
        assert info.release == "r1"
    finally:
        manifest_path.unlink()


def test_open_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreSpecError, match="unknown store"):
        open_store("ftp://example.org/data")
    with pytest.raises(StoreSpecError, match="needs a path"):
        open_store("oxigraph:")
    with pytest.raises(Exception, match="not an Oxigraph store"):
        open_store(f"oxigraph:{tmp_path}")


def test_open_store_dispatches_to_lazily_imported_backends(monkeypatch) -> None:
    received: list[tuple] = []

    class FakeRemote:
        def __init__(self, endpoint: str, **options) -> None:
            received.append(("remote", endpoint, options))

    class FakeMemory:
        def __init__(self, paths: list[Path], **options) -> None:
            received.append(("memory", paths, options))

    monkeypatch.setitem(
        sys.modules, "ezgraph.store.remote", types.SimpleNamespace(RemoteStore=FakeRemote)
    )
    monkeypatch.setitem(
        sys.modules, "ezgraph.store.memory", types.SimpleNamespace(MemoryStore=FakeMemory)
    )
    open_store("https://query.example.org/sparql", timeout=3)
    open_store("http://127.0.0.1:3030/ds/sparql")
    open_store("memory:a.ttl,b.nq", paths=["c.trig"])
    assert received == [
        ("remote", "https://query.example.org/sparql", {"timeout": 3}),
        ("remote", "http://127.0.0.1:3030/ds/sparql", {}),
        ("memory", [Path("a.ttl"), Path("b.nq"), Path("c.trig")], {}),
    ]


def test_missing_backend_module_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ezgraph.store.remote", None)
    with pytest.raises(StoreSpecError, match="not available"):
        open_store("https://query.example.org/sparql")


def test_register_backend(monkeypatch) -> None:
    monkeypatch.setattr("ezgraph.store._BACKENDS", {})
    register_backend("test", lambda rest, options: ("made", rest, options))
    assert open_store("test:x", a=1) == ("made", "x", {"a": 1})


def test_bad_rdf_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://ex/> .\nex:a ex:b ex:c .\nex:a ex:b "unterminated .\n')
    with pytest.raises(RdfLoadError) as caught:
        oxigraph_store_from_files([SAMPLE_TRIG, bad])
    assert str(caught.value).startswith(f"{bad}: ")
    assert "line 3" in str(caught.value)
    assert caught.value.line == 3


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    odd = tmp_path / "data.csv"
    odd.write_text("")
    with pytest.raises(RdfLoadError, match=r"data\.csv: cannot tell the RDF format"):
        oxigraph_store_from_files([odd])
    with pytest.raises(RdfLoadError, match="no such file"):
        oxigraph_store_from_files([tmp_path / "missing.ttl"])


def test_triples_files_and_gzip_load_into_the_union(tmp_path: Path) -> None:
    extra = tmp_path / "extra.nt.gz"
    with gzip.open(extra, "wt") as out:
        out.write("<http://example.org/a> <http://example.org/p> \"gz\" .\n")
    with oxigraph_store_from_files([SAMPLE_TRIG, extra], workers=2) as store:
        assert store.info().triples == SAMPLE_TRIPLES + 1
        assert count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES + 1
        assert count(store, 'SELECT (COUNT(*) AS ?n) { ?s ?p "gz" }') == 1


def test_relative_iris_resolve_against_the_data_base(sample_store: OxigraphStore) -> None:
    assert sample_store.base_iri == "https://w3id.org/ezgraph/"
    described = sample_store.query(
        QueryRequest("DESCRIBE <id/zone/changchun-etdz>", graph_media_type="application/n-triples")
    )
    assert len(described.body.splitlines()) == 6
    from_relative = "SELECT (COUNT(*) AS ?n) FROM <graph/ontology> { ?s ?p ?o }"
    assert count(sample_store, from_relative) == 12


def test_workers_and_temporary_store_go_away_at_interpreter_exit(tmp_path: Path) -> None:
    script = tmp_path / "leave_open.py"
    script.write_text(
        "from ezgraph.store import oxigraph_store_from_files\n"
        "if __name__ == '__main__':\n"
        f"    store = oxigraph_store_from_files([{str(SAMPLE_TRIG)!r}], workers=2)\n"
        "    store.query(__import__('ezgraph.store').store.QueryRequest('ASK {}'))\n"
        "    print(store.path, *store.worker_pids())\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    path, *pids = result.stdout.split()
    assert len(pids) == 2
    assert not Path(path).exists()
    time.sleep(0.2)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


@pytest.mark.parametrize("max_rows", [2999, 3000, 3001, 100_000])
def test_row_cap_across_many_writes_of_the_results_writer(
    sample_store: OxigraphStore, max_rows: int
) -> None:
    # 3000 solutions are written in several chunks: the cap must count lines across them,
    # keep unbound values, line breaks and tabs in literals, and cut exactly at max_rows.
    numbers = " ".join(f'("{i}\\n\\t{i}" {i if i % 3 else "UNDEF"})' for i in range(3000))
    query = f"SELECT ?text ?n WHERE {{ VALUES (?text ?n) {{ {numbers} }} }} # cap {max_rows}"
    reference = ox.Store().query(query.replace("# cap", "#"))
    expected = json.loads(reference.serialize(format=ox.QueryResultsFormat.JSON))
    response = sample_store.query(QueryRequest(query, max_rows=max_rows))
    answer = json.loads(response.body)
    kept = min(max_rows, 3000)
    assert answer["results"]["bindings"] == expected["results"]["bindings"][:kept]
    assert response.truncated is (max_rows < 3000)
    assert answer.get("truncated", False) is (max_rows < 3000)
    tsv = sample_store.query(QueryRequest(query, results_media_type="text/tab-separated-values",
                                          max_rows=max_rows))
    assert tsv.body.decode().count("\n") == kept + 1
    parsed = ox.parse_query_results(tsv.body, ox.QueryResultsFormat.TSV)
    assert len(list(parsed)) == kept


def test_a_description_past_its_time_limit_is_stopped_and_the_store_answers_on(
    tmp_path: Path,
) -> None:
    # A hub 300,000 statements point to: its description reads them all and every subject's
    # label, far more than the 0.2 s it is given.
    hub = "http://example.org/hub"
    data = tmp_path / "hub.nt"
    with data.open("w", encoding="utf-8") as out:
        for i in range(300_000):
            out.write(f'<http://example.org/s{i}> <http://example.org/p> <{hub}> .\n'
                      f'<http://example.org/s{i}> <http://www.w3.org/2000/01/rdf-schema#label> '
                      f'"s{i}" .\n')
    with oxigraph_store_from_files([data], workers=2) as store:
        pids_before = set(store.worker_pids())
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            store.describe(DescribeRequest(
                hub, "text/turtle", ("http://www.w3.org/2000/01/rdf-schema#label",), 3,
                timeout=0.2))
        assert time.monotonic() - started < 5
        assert set(store.worker_pids()) != pids_before  # the busy worker was replaced
        small = store.describe(DescribeRequest("http://example.org/s7", "text/turtle", (), 3))
        assert small is not None and b"example.org/hub" in small.body


def test_small_descriptions_are_read_in_the_web_process_and_big_ones_by_a_worker(
    store: OxigraphStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    zone = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
    worker_jobs = _recording_worker_jobs(store, monkeypatch)
    request = DescribeRequest(zone, "application/n-triples", (SKOS_PREF_LABEL,), 3)
    assert store.knows(zone, timeout=5) is True
    assert store.knows("https://w3id.org/ezgraph/id/zone/atlantis", timeout=5) is False
    here = store._run_describe(request)
    assert worker_jobs == []  # no round trip to a worker for either question
    assert here is not None and here.body.count(b"\n") > 3

    # Past the in-process budget, in triples or in index lookups, the same description
    # comes from a worker, byte for byte.
    for budget in (Budget(triples=3, reads=1000), Budget(triples=1000, reads=1)):
        worker_jobs.clear()
        monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET", budget)
        there = store._run_describe(request)
        assert [job.iri for job in worker_jobs] == [zone]
        assert there is not None and there.body == here.body and not there.truncated


def test_a_description_longer_than_its_cap_is_truncated_the_same_in_both_places(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zone = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
    request = DescribeRequest(zone, "application/n-triples", (SKOS_PREF_LABEL,), 3,
                              max_triples=4)
    with oxigraph_store_from_files([SAMPLE_TRIG], workers=1) as store:
        here = store._run_describe(request)
        monkeypatch.setattr(store, "_read_here", lambda job: None)
        there = store._run_describe(request)
    assert here is not None and there is not None
    assert here.truncated and there.truncated
    assert here.body == there.body and here.body.count(b"\n") == 4


def test_a_long_rdf_list_goes_to_a_worker_and_comes_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The in-process reading stops while following the list (its cost stays bounded); a
    # worker, under the time limit, reads all of it.
    rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    items = 50
    data = tmp_path / "list.nt"
    with data.open("w", encoding="utf-8") as out:
        out.write("<http://example.org/a> <http://example.org/p> _:b0 .\n")
        for i in range(items):
            rest = f"_:b{i + 1}" if i + 1 < items else f"<{rdf}nil>"
            out.write(f'_:b{i} <{rdf}first> "item {i}" .\n_:b{i} <{rdf}rest> {rest} .\n')
    monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET", Budget(triples=20, reads=1000))
    with oxigraph_store_from_files([data], workers=1) as store:
        store.info()  # the background count, which a worker runs, is done
        jobs = _recording_worker_jobs(store, monkeypatch)
        response = store._run_describe(DescribeRequest(
            "http://example.org/a", "application/n-triples", (), blank_node_depth=1))
    assert [job.iri for job in jobs] == ["http://example.org/a"]
    assert response is not None and not response.truncated
    assert response.body.count(b"\n") == 1 + 2 * items


def test_when_the_web_process_cannot_open_the_store_the_workers_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    zone = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
    with oxigraph_store_from_files([SAMPLE_TRIG], workers=1) as store:
        store.info()  # the background count, which a worker runs, is done
        store._reader = oxigraph_module._Reader(str(tmp_path / "no-store-here"))
        jobs = _recording_worker_jobs(store, monkeypatch)
        with caplog.at_level("WARNING", logger=oxigraph_module.log.name):
            assert store.knows(zone, timeout=5) is True
            response = store._run_describe(DescribeRequest(zone, "text/turtle", (), 3))
        assert response is not None and "长春经济技术开发区" in response.body.decode()
        assert [job.iri for job in jobs] == [zone, zone]
        jobs.clear()
        with caplog.at_level("WARNING", logger=oxigraph_module.log.name):
            lookup = store.query(QueryRequest(f"SELECT ?p ?o WHERE {{ <{zone}> ?p ?o }}"))
        assert len(json.loads(lookup.body)["results"]["bindings"]) > 1
        assert [type(job).__name__ for job in jobs] == ["Job"]
        # Tried once, said once: later reads go straight to the workers.
        failures = [record.getMessage() for record in caplog.records
                    if "in the web process failed" in record.getMessage()]
        assert len(failures) == 1 and str(tmp_path / "no-store-here") in failures[0]


ZONE_LOOKUP = ("SELECT ?p ?o WHERE { <https://w3id.org/ezgraph/id/zone/changchun-etdz> ?p ?o } "
               "ORDER BY ?p ?o")


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        (ZONE_LOOKUP, {}),
        (ZONE_LOOKUP, {"results_media_type": "application/sparql-results+xml"}),
        (ZONE_LOOKUP, {"results_media_type": "text/csv"}),
        (ZONE_LOOKUP + " LIMIT 3", {"results_media_type": "text/tab-separated-values"}),
        (ZONE_LOOKUP, {"max_rows": 2}),
        ("SELECT * WHERE { ?s ?p ?o }", {}),
        ("SELECT ?o WHERE { ?s a ?o } OFFSET 2 LIMIT 3", {}),
        ("SELECT ?p ?o WHERE { <https://w3id.org/ezgraph/id/zone/changchun-etdz> ?p ?o }",
         {"max_rows": 2}),
        ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
         "SELECT DISTINCT ?thing WHERE { ?thing rdfs:label ?label }", {}),
        ("ASK { ?s a <http://nothing.example/> }", {}),
    ],
)
def test_a_lookup_is_answered_in_the_web_process_as_a_worker_answers_it(
    monkeypatch: pytest.MonkeyPatch, query: str, fields: dict[str, Any],
) -> None:
    with oxigraph_store_from_files([SAMPLE_TRIG], workers=1, cache_bytes=0) as store:
        store.info()  # the background count, which a worker runs, is done
        jobs = _recording_worker_jobs(store, monkeypatch)
        here = store.query(QueryRequest(query, **fields))
        assert jobs == []
        _no_lookups_here(store, monkeypatch)
        there = store.query(QueryRequest(query, **fields))
        assert [job.query for job in jobs] == [query]
    assert (here.form, here.media_type, here.truncated) == (there.form, there.media_type,
                                                            there.truncated)
    assert here.body == there.body and here.body
    assert here.truncated == (fields.get("max_rows") == 2)


def test_lookups_matching_many_quads_and_other_queries_go_to_a_worker(
    store: OxigraphStore, monkeypatch: pytest.MonkeyPatch, reference: ox.Store,
) -> None:
    zone = ox.NamedNode("https://w3id.org/ezgraph/id/zone/changchun-etdz")
    quads = len(list(reference.quads_for_pattern(zone, None, None, None)))
    jobs = _recording_worker_jobs(store, monkeypatch)
    # The zone is the subject of `quads` quads: within a budget of as many, not of one less.
    monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET",
                        Budget(triples=quads, reads=64))
    within = ZONE_LOOKUP + " # within"
    rows = json.loads(store.query(QueryRequest(within)).body)["results"]["bindings"]
    assert len(rows) > 1 and jobs == []
    monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET",
                        Budget(triples=quads - 1, reads=64))
    beyond = ZONE_LOOKUP + " LIMIT 1"  # a small LIMIT does not bound the ORDER BY
    not_lookups = [
        "SELECT ?s WHERE { ?s ?p ?o . ?o ?q ?r }",
        f"SELECT * FROM <{CHANGCHUN}> WHERE {{ ?s a ?type }}",
    ]
    for query in [beyond, *not_lookups]:
        store.query(QueryRequest(query))
    store.query(QueryRequest("SELECT * WHERE { ?s a ?type } # dataset",
                             default_graph_uris=(CHANGCHUN,)))
    assert [job.query for job in jobs] == [beyond, *not_lookups,
                                           "SELECT * WHERE { ?s a ?type } # dataset"]


def test_a_lookup_that_does_not_parse_is_reported_with_its_position(
    store: OxigraphStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Taken for a lookup by its tokens; Oxigraph, which parses it, has the last word.
    query = "SELECT ?p ?o\nWHERE { <http://[x/a> ?p ?o }"
    jobs = _recording_worker_jobs(store, monkeypatch)
    with pytest.raises(QuerySyntaxError) as here:
        store.query(QueryRequest(query))
    assert jobs == []
    _no_lookups_here(store, monkeypatch)
    with pytest.raises(QuerySyntaxError) as there:
        store.query(QueryRequest(query))
    assert [job.query for job in jobs] == [query]
    assert here.value.line == 2 and "IRI" in str(here.value)
    assert (str(here.value), here.value.column) == (str(there.value), there.value.column)


def test_a_variable_twice_in_the_pattern_is_counted_before_it_runs_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ?x ?p ?x reads every quad to find the few it matches: no solution would stop it.
    data = tmp_path / "loops.nt"
    data.write_text("".join(f"<http://example.org/n{i}> <http://example.org/p> "
                            f"<http://example.org/n{i + 1}> .\n" for i in range(30))
                    + "<http://example.org/n0> <http://example.org/p> <http://example.org/n0> .\n",
                    encoding="utf-8")
    monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET", Budget(triples=10, reads=64))
    query = "SELECT ?x WHERE { ?x ?p ?x }"
    with oxigraph_store_from_files([data], workers=1) as store:
        store.info()  # the background count, which a worker runs, is done
        jobs = _recording_worker_jobs(store, monkeypatch)
        response = store.query(QueryRequest(query))
        assert [job.query for job in jobs] == [query]
        monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET", Budget(triples=31, reads=64))
        jobs.clear()
        again = store.query(QueryRequest(query + " # within 31 quads"))
        assert jobs == []
    rows = json.loads(response.body)["results"]["bindings"]
    assert rows == [{"x": {"type": "uri", "value": "http://example.org/n0"}}]
    assert again.body == response.body


def test_a_streaming_lookup_past_its_budget_is_stopped_and_a_worker_answers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    with oxigraph_store_from_files([SAMPLE_TRIG], workers=1, cache_bytes=0) as store:
        store.info()  # the background count, which a worker runs, is done
        jobs = _recording_worker_jobs(store, monkeypatch)
        here = store.query(QueryRequest(query))
        solutions = len(json.loads(here.body)["results"]["bindings"])
        assert jobs == [] and solutions > 10
        monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET", Budget(triples=10, reads=64))
        read_here: list[Any] = []
        query_here = store._query_here
        monkeypatch.setattr(store, "_query_here",
                            lambda job, lookup: read_here.append(job) or query_here(job, lookup))
        there = store.query(QueryRequest(query))
        assert [job.query for job in jobs] == [query]
        assert read_here == []  # found past the budget once, not read here a second time
        # Read as far as the budget only: an OFFSET past it counts as much as solutions.
        assert _here(store, query) is None
        assert _here(store, "SELECT * WHERE { ?s a ?o } OFFSET 11") is None
        assert _here(store, "SELECT * WHERE { ?s ?p ?o } LIMIT 10") is not None
    assert there.body == here.body and not there.truncated


def test_a_lookup_read_here_is_not_kept_and_one_a_worker_answered_is(
    store: OxigraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store's cache is for answers that cost a worker: a lookup read here is not kept.
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    jobs = _recording_worker_jobs(store, monkeypatch)
    here = store.query(QueryRequest(query))
    assert jobs == []
    monkeypatch.setattr(oxigraph_module, "IN_PROCESS_BUDGET", Budget(triples=10, reads=64))
    there = store.query(QueryRequest(query))
    assert len(jobs) == 1  # not kept from the first time: past the budget, a worker answers
    assert store.query(QueryRequest(query)) is there
    assert len(jobs) == 1  # the worker's answer was kept
    assert there.body == here.body


def _here(store: OxigraphStore, query: str) -> Any:
    """The store's in-process answer to the lookup ``query``, ``None`` when a worker must."""
    lookup = as_lookup(query)
    assert lookup is not None
    job = oxigraph_module.Job(
        query=query, form=lookup.form, results_media_type="application/sparql-results+json",
        graph_media_type=None, default_graph_uris=(), named_graph_uris=(),
        union_default_graph=True, max_rows=1000)
    return store._query_here(job, lookup)
