"""The real build published into a real Virtuoso 7 (Debian's ``virtuoso-opensource``, the store
behind DBpedia) and queried through the remote backend: the same answers as the embedded store.

Publishing uses both ways Virtuoso offers: the Graph Store Protocol at
``/sparql-graph-crud-auth`` with the ``dba`` account (HTTP Digest), and SPARQL Update at
``/sparql`` after ``GRANT SPARQL_UPDATE TO "SPARQL"`` (the anonymous web user; a grant for a
test database only, never for a public one)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from oxigraph_server import real_build
from virtuoso_server import VirtuosoServer, virtuoso_binary

from ezgraph.store.base import (
    QueryRefused,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
)
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.store.remote import RemoteStore

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(virtuoso_binary() is None,
                       reason="virtuoso-t is not installed (apt-get install virtuoso-opensource)"),
]
BASE = "https://w3id.org/ezgraph/"
#: Queries with one right answer (ordered, or a single row), compared solution by solution.
QUERIES = [
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "SELECT ?zone ?label WHERE { ?zone a <https://w3id.org/ezgraph/def/NationalETDZ> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?zone ?label",
    f"SELECT (COUNT(*) AS ?n) FROM <{BASE}graph/ontology> {{ ?s ?p ?o }}",
    f"SELECT (COUNT(*) AS ?n) FROM NAMED <{BASE}graph/shapes> {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    "SELECT ?s ?label { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label } "
    "ORDER BY ?s ?label",
    "ASK { ?s a <https://w3id.org/ezgraph/def/NationalETDZ> }",
    "ASK { ?s a <http://nothing.example/> }",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o FILTER(isBlank(?s)) }",
]
#: Work for tens of seconds, but under Virtuoso's cost estimate limit (a bigger cross product
#: is refused at once: "estimated execution time exceeds the limit", a QueryTimeout too).
SLOW = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f "
        "FILTER(CONCAT(STR(?c), STR(?a)) != STR(?f)) }")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_build(tmp_path_factory.mktemp("real") / "dist")


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtuosoServer]:
    with VirtuosoServer(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server


@pytest.fixture(scope="module")
def embedded(dist: Path) -> Iterator[OxigraphStore]:
    with OxigraphStore(dist / "store", workers=2) as store:
        yield store


def publish(dist: Path, to: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ezgraph.cli", "publish", "--dist", str(dist),
                           "--to", to, *options], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def published(dist: Path, virtuoso: VirtuosoServer) -> RemoteStore:
    result = publish(dist, virtuoso.gsp_url())
    assert result.returncode == 0, result.stderr
    assert "Graph Store Protocol" in result.stdout and "MISMATCH" not in result.stdout
    return RemoteStore(virtuoso.sparql_url, timeout_margin=1.0)


def solutions(body: bytes) -> list[dict[str, str]] | bool:
    document = json.loads(body)
    if "boolean" in document:
        return document["boolean"]
    return [{name: str(term) for name, term in row.items()}
            for row in json.loads(body)["results"]["bindings"]]


def test_publish_by_gsp_and_by_update_ends_in_the_same_store(
    dist: Path, virtuoso: VirtuosoServer, published: RemoteStore, embedded: OxigraphStore
) -> None:
    anonymous = publish(dist, virtuoso.gsp_url(password="wrong"))
    assert anonymous.returncode == 2 and "401" in anonymous.stderr
    assert "wrong" not in anonymous.stderr  # credentials are never echoed
    before = published.info()
    refused = publish(dist, virtuoso.sparql_url, "--chunk-size", "500")
    assert refused.returncode == 2 and "chunk 1 of" in refused.stderr
    virtuoso.isql('GRANT SPARQL_UPDATE TO "SPARQL";')
    result = publish(dist, virtuoso.sparql_url, "--chunk-size", "500")
    assert result.returncode == 0, result.stderr
    assert "SPARQL Update" in result.stdout and "MISMATCH" not in result.stdout
    published.refresh()
    assert published.info() == before
    manifest = json.loads((dist / "manifest.json").read_text())
    assert before.release == manifest["release"]
    # Virtuoso's default graph holds its system graphs too: the dataset is only ezgraph's.
    assert before.triples == embedded.info().triples
    assert before.graphs == embedded.info().graphs


@pytest.mark.parametrize("query", QUERIES)
def test_answers_equal_the_embedded_store(published: RemoteStore, embedded: OxigraphStore,
                                          query: str) -> None:
    got = published.query(QueryRequest(query, max_rows=100_000))
    expected = embedded.query(QueryRequest(query, max_rows=100_000))
    assert got.form == expected.form
    assert solutions(got.body) == solutions(expected.body)


@pytest.mark.parametrize("media_type", ["text/turtle", "application/n-triples"])
def test_graph_answers_equal_the_embedded_store(published: RemoteStore, embedded: OxigraphStore,
                                                media_type: str) -> None:
    fmt = ox.RdfFormat.from_media_type(media_type)
    def triples(store: RemoteStore | OxigraphStore, query: str) -> set[str]:
        body = store.query(QueryRequest(query, graph_media_type=media_type)).body
        return {str(q.triple) for q in ox.parse(body, format=fmt)}

    construct = ("CONSTRUCT { ?s ?p ?o } WHERE "
                 f"{{ GRAPH <{BASE}graph/source/cetdz-profile> {{ ?s ?p ?o }} }}")
    assert triples(published, construct) == triples(embedded, construct) != set()
    # DESCRIBE is the store's choice: Virtuoso adds the triples pointing at the resource.
    describe = f"DESCRIBE <{BASE}id/zone/cetdz>"
    assert triples(embedded, describe) < triples(published, describe)


def test_refusals_row_cap_and_errors(published: RemoteStore) -> None:
    for query in ("INSERT DATA { <http://a> <http://b> <http://c> }",
                  "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
                  "SELECT * FROM <http://www.openlinksw.com/schemas/virtrdf#> { ?s ?p ?o }"):
        with pytest.raises(QueryRefused):
            published.query(QueryRequest(query))
    capped = published.query(QueryRequest("SELECT * { ?s ?p ?o }", max_rows=10))
    assert capped.truncated and len(json.loads(capped.body)["results"]["bindings"]) == 10
    with pytest.raises(QuerySyntaxError, match="line 2"):
        published.query(QueryRequest("SELECT *\nWHERE { ?s ?p }"))


def test_timeout_is_passed_to_virtuoso(virtuoso: VirtuosoServer,
                                      published: RemoteStore) -> None:
    """Virtuoso honours the ``timeout`` parameter (the "anytime query": it stops the work and
    answers a partial result flagged ``X-SQL-State: S1TAT``, about twice the limit later): with
    a generous client margin, the QueryTimeout comes from Virtuoso, not from the deadline."""
    patient = RemoteStore(virtuoso.sparql_url, timeout_margin=10.0)
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        patient.query(QueryRequest(SLOW, timeout=1.0))
    assert time.monotonic() - started < 1.0 + 3.0
    # The work stopped: Virtuoso answers at once afterwards.
    started = time.monotonic()
    published.query(QueryRequest("ASK { ?s ?p ?o }"))
    assert time.monotonic() - started < 1.0


def test_virtuoso_down_then_back(published: RemoteStore, virtuoso: VirtuosoServer) -> None:
    query = QueryRequest(QUERIES[1])
    before = published.query(query).body
    virtuoso.kill()
    try:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            published.query(query)
    finally:
        virtuoso.start()
    time.sleep(published._cooldown)  # noqa: SLF001 - past the short circuit
    assert published.query(query).body == before
