"""The remote backend against a real ``oxigraph serve`` on loopback: the same answers as the
embedded store on the same data, the same refusals, row cap, timeout, and a store that goes
away and comes back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from oxigraph_server import OxigraphServer, free_port, load_files, oxigraph_binary

from ezgraph.store import open_store
from ezgraph.store.base import (
    GRAPH_MEDIA_TYPES,
    RESULTS_MEDIA_TYPES,
    NotAcceptable,
    QueryRefused,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
)
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.store.remote import RemoteStore, with_row_limit

pytestmark = pytest.mark.skipif(
    oxigraph_binary() is None, reason="the oxigraph server binary is missing (pip install oxigraph)"
)

SAMPLE_TRIG = Path(__file__).parent / "fixtures" / "sample.trig"
SAMPLE_TRIPLES = 38
GRAPH = "https://w3id.org/ezgraph/graph/"
ONTOLOGY = GRAPH + "ontology"
CHANGCHUN = GRAPH + "source/changchun-etdz"
AUTOMOTIVE = GRAPH + "source/changchun-automotive-etdz"
ZONE = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
ENDLESS_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE "
    "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }"
)
SELECT_LABELS = (
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "SELECT ?thing ?label ?employees WHERE {\n"
    "  ?thing skos:prefLabel ?label .\n"
    "  OPTIONAL { ?thing <https://w3id.org/ezgraph/def/employees> ?employees }\n"
    "} ORDER BY ?thing ?label"
)
#: Queries whose answers must be byte for byte the embedded store's, with their dataset.
SAME_ANSWERS = [
    ("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", {}),
    (f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY}> {{ ?s ?p ?o }}", {}),
    (f"SELECT (COUNT(*) AS ?n) FROM NAMED <{ONTOLOGY}> {{ ?s ?p ?o }}", {}),
    (f"SELECT (COUNT(*) AS ?n) FROM NAMED <{ONTOLOGY}> {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
    ("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", {"default_graph_uris": (ONTOLOGY, CHANGCHUN)}),
    ("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", {"named_graph_uris": (CHANGCHUN,)}),
    ("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g", {}),
    (SELECT_LABELS, {}),
    ("ASK { ?s a ?type }", {}),
    ("ASK { ?s a <http://nothing.example/> }", {}),
    ("SELECT (COUNT(*) AS ?n) FROM <graph/ontology> { ?s ?p ?o }", {}),  # relative IRI
]


@pytest.fixture(scope="module", params=[True, False], ids=["union-server", "plain-server"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[OxigraphServer]:
    """``oxigraph serve`` over the sample data, once with ``--union-default-graph`` and once
    without (then ezgraph spells the union out with protocol parameters)."""
    location = load_files(tmp_path_factory.mktemp("oxigraph") / "db", SAMPLE_TRIG)
    with OxigraphServer(location, union_default_graph=request.param) as running:
        yield running


@pytest.fixture(scope="module")
def remote(server: OxigraphServer) -> RemoteStore:
    return RemoteStore(server.query_url, timeout_margin=1.0)


def count(store: RemoteStore, query: str, **fields: object) -> int:
    response = store.query(QueryRequest(query, **fields))  # type: ignore[arg-type]
    return int(json.loads(response.body)["results"]["bindings"][0]["n"]["value"])


def test_open_store_gives_a_remote_store(server: OxigraphServer) -> None:
    store = open_store(server.query_url)
    assert isinstance(store, RemoteStore)
    assert count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES


def test_info_matches_the_embedded_store(remote: RemoteStore, sample_store: OxigraphStore
                                         ) -> None:
    info = remote.info()
    embedded = sample_store.info()
    assert info.backend == "remote"
    assert info.triples == embedded.triples == SAMPLE_TRIPLES
    assert info.graphs == embedded.graphs
    assert len(info.release) == 64  # counts digest: the sample has no metadata graph
    assert remote.info() is info  # kept for info_ttl


@pytest.mark.parametrize(("query", "fields"), SAME_ANSWERS)
@pytest.mark.parametrize("media_type", RESULTS_MEDIA_TYPES)
def test_answers_equal_the_embedded_store(
    remote: RemoteStore, sample_store: OxigraphStore, query: str, fields: dict, media_type: str
) -> None:
    request = QueryRequest(query, results_media_type=media_type, **fields)
    got, expected = remote.query(request), sample_store.query(request)
    assert (got.form, got.media_type, got.truncated) == (
        expected.form, expected.media_type, expected.truncated)
    assert got.body == expected.body


@pytest.mark.parametrize("media_type", GRAPH_MEDIA_TYPES)
@pytest.mark.parametrize("query", [f"DESCRIBE <{ZONE}>", f"CONSTRUCT WHERE {{ <{ZONE}> ?p ?o }}",
                                   "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"])
def test_graph_answers_equal_the_embedded_store(
    remote: RemoteStore, sample_store: OxigraphStore, query: str, media_type: str
) -> None:
    request = QueryRequest(query, graph_media_type=media_type)
    got, expected = remote.query(request), sample_store.query(request)
    assert (got.form, got.media_type) == (expected.form, expected.media_type)
    rdf_format = ox.RdfFormat.from_media_type(media_type)
    as_set = {str(q.triple) for q in ox.parse(got.body, format=rdf_format)}
    assert as_set == {str(q.triple) for q in ox.parse(expected.body, format=rdf_format)}
    assert as_set
    if media_type == "text/turtle":  # the same prefixes declared
        assert [line for line in got.body.decode().splitlines() if line.startswith("@prefix")]\
            == [line for line in expected.body.decode().splitlines()
                if line.startswith("@prefix")]


@pytest.mark.parametrize(
    ("query", "fields", "message"),
    [
        ("INSERT DATA { <http://a> <http://b> <http://c> }", {}, "read-only"),
        ("DELETE WHERE { ?s ?p ?o }", {}, "read-only"),
        ("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", {}, "SERVICE"),
    ],
)
def test_updates_and_service_are_refused_without_contacting_the_store(
    remote: RemoteStore, query: str, fields: dict, message: str
) -> None:
    # Nothing listens at this endpoint: a refusal (not StoreUnavailable) proves nothing was sent.
    nowhere = RemoteStore(f"http://127.0.0.1:{free_port()}/query")
    with pytest.raises(QueryRefused, match=message):
        nowhere.query(QueryRequest(query, **fields))
    with pytest.raises(QueryRefused, match=message):
        remote.query(QueryRequest(query, **fields))
    assert count(remote, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("SELECT * FROM <http://example.org/other> { ?s ?p ?o }", {}),
        ("SELECT * FROM NAMED <http://example.org/other> { ?s ?p ?o }", {}),
        ("SELECT * { ?s ?p ?o }", {"default_graph_uris": ("http://x.example/",)}),
        ("SELECT * { ?s ?p ?o }", {"named_graph_uris": ("http://x.example/",)}),
    ],
)
def test_graphs_outside_the_dataset_are_refused(
    remote: RemoteStore, query: str, fields: dict
) -> None:
    with pytest.raises(QueryRefused, match="not a graph of this dataset"):
        remote.query(QueryRequest(query, **fields))


def test_row_cap(remote: RemoteStore) -> None:
    response = remote.query(QueryRequest("SELECT * { ?s ?p ?o }", max_rows=5))
    document = json.loads(response.body)
    assert response.truncated and document["truncated"] is True
    assert len(document["results"]["bindings"]) == 5
    exact = remote.query(QueryRequest("SELECT * { ?s ?p ?o } LIMIT 5", max_rows=5))
    assert not exact.truncated and "truncated" not in json.loads(exact.body)
    csv_answer = remote.query(QueryRequest("SELECT * { ?s ?p ?o }", max_rows=5,
                                           results_media_type="text/csv"))
    assert csv_answer.truncated and len(csv_answer.body.decode().splitlines()) == 6
    graph = remote.query(QueryRequest("CONSTRUCT WHERE { ?s ?p ?o }", max_rows=7,
                                      graph_media_type="application/n-triples"))
    assert graph.truncated and len(graph.body.splitlines()) == 7


def test_row_limit_rewrite_keeps_the_query_valid() -> None:
    assert with_row_limit("SELECT * { ?s ?p ?o }", 11).endswith("\nLIMIT 11")
    assert with_row_limit("SELECT * { ?s ?p ?o } # note", 11).endswith("# note\nLIMIT 11")
    assert with_row_limit("SELECT * { ?s ?p ?o } LIMIT 3", 11).endswith("LIMIT 3")
    assert with_row_limit("SELECT * { ?s ?p ?o } VALUES ?s { <a:b> }", 11).endswith("}")
    # LIMIT inside a subquery or a string is not the outer query's
    inner = 'SELECT * { { SELECT ?s { ?s ?p "LIMIT 2" } LIMIT 2 } }'
    assert with_row_limit(inner, 11).endswith("LIMIT 11")


def test_not_acceptable_and_syntax_errors(remote: RemoteStore, sample_store: OxigraphStore
                                          ) -> None:
    with pytest.raises(NotAcceptable):
        remote.query(QueryRequest("SELECT * { ?s ?p ?o }", results_media_type=None))
    with pytest.raises(NotAcceptable):
        remote.query(QueryRequest("DESCRIBE <http://a>", graph_media_type=None))
    for query in ("SELECT *\nWHERE {\n  ?s ?p ?o FILTER(?o = ) }", "SELECT *\nWHERE {\n  ?s ?p\n}"):
        with pytest.raises(QuerySyntaxError) as caught:
            remote.query(QueryRequest(query))
        with pytest.raises(QuerySyntaxError) as embedded:
            sample_store.query(QueryRequest(query))
        # The same place as the embedded store's parser (the LIMIT added is not shown).
        assert caught.value.line == embedded.value.line
        assert f"at line {caught.value.line}, column {caught.value.column}" in str(caught.value)
    assert (caught.value.line, caught.value.column) == (4, 2)  # the end of the query
    # A relative IRI gets a BASE in front, on the first line: columns stay the client's.
    with pytest.raises(QuerySyntaxError) as caught:
        remote.query(QueryRequest("SELECT * { <id/x> ?p ?o FILTER(?o = ) }"))
    with pytest.raises(QuerySyntaxError) as embedded:
        sample_store.query(QueryRequest("SELECT * { <id/x> ?p ?o FILTER(?o = ) }"))
    assert (caught.value.line, caught.value.column) == (embedded.value.line,
                                                        embedded.value.column)


def test_timeout_abandons_a_slow_query(tmp_path: Path) -> None:
    """A query that never ends: QueryTimeout within the limit and the margin. Oxigraph's server
    goes on computing (no per-query timeout, and ``--timeout-s`` did not stop it when tried),
    so this test runs its own server and kills it afterwards."""
    location = load_files(tmp_path / "db", SAMPLE_TRIG)
    with OxigraphServer(location) as own:
        store = RemoteStore(own.query_url, timeout_margin=0.5)
        assert count(store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES
        started = time.monotonic()
        with pytest.raises(QueryTimeout, match="1 s time limit"):
            store.query(QueryRequest(ENDLESS_QUERY, timeout=1.0))
        elapsed = time.monotonic() - started
        assert 1.0 <= elapsed < 1.0 + 0.5 + 1.0
        own.kill()


def test_store_down_then_back(tmp_path: Path) -> None:
    location = load_files(tmp_path / "db", SAMPLE_TRIG)
    server = OxigraphServer(location)
    server.start()
    try:
        store = RemoteStore(server.query_url, cooldown=0.5, retry_after=7, info_ttl=0.0)
        query = QueryRequest("SELECT (COUNT(*) AS ?n) { ?s ?p ?o } # down and up")
        first = store.query(query)
        server.kill()
        with pytest.raises(StoreUnavailable, match="unreachable") as caught:
            store.query(query)
        assert caught.value.retry_after == 7
        assert str(server.port) in str(caught.value)
        with pytest.raises(StoreUnavailable):
            store.info()
        server.start()
        time.sleep(0.6)  # past the cooldown: the next request tries the store again
        assert store.query(query).body == first.body
        assert store.info().triples == SAMPLE_TRIPLES
    finally:
        server.stop()


def test_a_store_that_never_came_up_is_unavailable_not_an_error() -> None:
    store = RemoteStore(f"http://127.0.0.1:{free_port()}/query", retry_after=3)
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(StoreUnavailable) as caught:
            store.query(QueryRequest("ASK {}"))
        assert caught.value.retry_after == 3
    assert time.monotonic() - started < 2  # refused at once, then short-circuited


def test_wrong_path_is_a_clear_error(server: OxigraphServer) -> None:
    store = RemoteStore(server.base + "/nothing-here")
    with pytest.raises(Exception, match=r"answered 404") as caught:
        store.query(QueryRequest("ASK {}"))
    assert "/nothing-here" in str(caught.value)
