"""The ``memory:`` backend (rdflib in killable worker processes) against the same sample data.

Answers are compared with the embedded Oxigraph backend, so both engines must agree.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import rdflib

from ezgraph.store import open_store
from ezgraph.store.base import (
    NotAcceptable,
    QueryRefused,
    QueryRequest,
    QuerySyntaxError,
    QueryTimeout,
    StoreError,
    StoreUnavailable,
)
from ezgraph.store.memory import MemoryStore
from ezgraph.store.oxigraph import OxigraphStore

SAMPLE_TRIG = Path(__file__).parent / "fixtures" / "sample.trig"
SAMPLE_TRIPLES = 38
GRAPH = "https://w3id.org/ezgraph/graph/"
ONTOLOGY = GRAPH + "ontology"
CHANGCHUN = GRAPH + "source/changchun-etdz"
ENDLESS_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE "
    "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }"
)


@pytest.fixture(scope="module")
def memory_store() -> Iterator[MemoryStore]:
    store = open_store(f"memory:{SAMPLE_TRIG}", workers=2)
    assert isinstance(store, MemoryStore)
    yield store
    store.close()


def count(store: MemoryStore, query: str, **fields) -> int:
    response = store.query(QueryRequest(query, **fields))
    return int(json.loads(response.body)["results"]["bindings"][0]["n"]["value"])


def test_info_lists_the_named_graphs(memory_store: MemoryStore) -> None:
    info = memory_store.info()
    assert info.backend == "memory"
    assert info.triples == SAMPLE_TRIPLES
    assert {graph.iri for graph in info.graphs} == {
        ONTOLOGY,
        CHANGCHUN,
        GRAPH + "source/changchun-automotive-etdz",
    }
    assert len(info.release) == 64  # SHA-256 of the files


def test_dataset_semantics_match_oxigraph(memory_store: MemoryStore) -> None:
    assert count(memory_store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES
    assert count(memory_store, f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY}> {{ ?s ?p ?o }}") == 12
    in_graphs = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
    assert count(memory_store, in_graphs, named_graph_uris=(CHANGCHUN,)) == 14
    query = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    assert count(memory_store, query, default_graph_uris=(ONTOLOGY, CHANGCHUN)) == 26


def test_select_answers_equal_the_oxigraph_backend(
    memory_store: MemoryStore, sample_store: OxigraphStore
) -> None:
    query = (
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "SELECT ?thing ?label WHERE { ?thing skos:prefLabel ?label } ORDER BY ?thing ?label"
    )
    ours = json.loads(memory_store.query(QueryRequest(query)).body)
    theirs = json.loads(sample_store.query(QueryRequest(query)).body)
    assert ours["head"] == theirs["head"]
    assert ours["results"]["bindings"] == theirs["results"]["bindings"]
    assert len(ours["results"]["bindings"]) == 7


def test_construct_in_turtle(memory_store: MemoryStore) -> None:
    response = memory_store.query(
        QueryRequest(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY}> {{ ?s ?p ?o }} }}",
            graph_media_type="text/turtle",
        )
    )
    assert response.form == "CONSTRUCT"
    assert response.media_type == "text/turtle"
    assert len(rdflib.Graph().parse(data=response.body, format="turtle")) == 12


def test_row_cap_truncates(memory_store: MemoryStore) -> None:
    response = memory_store.query(QueryRequest("SELECT * { ?s ?p ?o }", max_rows=5))
    body = json.loads(response.body)
    assert response.truncated and body["truncated"] is True
    assert len(body["results"]["bindings"]) == 5


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
        ("SELECT * FROM <http://example.org/other> { ?s ?p ?o }", "not a graph"),
        ("INSERT DATA { <http://a> <http://b> <http://c> }", "read-only"),
    ],
)
def test_refusals(memory_store: MemoryStore, query: str, message: str) -> None:
    with pytest.raises(QueryRefused, match=message):
        memory_store.query(QueryRequest(query))


def test_syntax_error_names_line_and_column(memory_store: MemoryStore) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        memory_store.query(QueryRequest("SELECT ?s\nWHERE { ?s ?p }"))
    assert caught.value.line == 2
    assert "line 2" in str(caught.value)


def test_not_acceptable(memory_store: MemoryStore) -> None:
    with pytest.raises(NotAcceptable):
        memory_store.query(QueryRequest("ASK {}", results_media_type=None))


def test_timeout_kills_the_worker_and_the_store_recovers(memory_store: MemoryStore) -> None:
    pids = {worker.process.pid for worker in memory_store._workers}
    outcome: dict[str, object] = {}

    def endless() -> None:
        try:
            memory_store.query(QueryRequest(ENDLESS_QUERY, timeout=1.0))
        except QueryTimeout as error:
            outcome["error"] = error

    slow = threading.Thread(target=endless)
    slow.start()
    time.sleep(0.2)
    # the other worker answers while the first one is stuck
    assert count(memory_store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES
    slow.join(timeout=30)
    assert isinstance(outcome.get("error"), QueryTimeout)
    killed = pids - {worker.process.pid for worker in memory_store._workers}
    assert len(killed) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(killed.pop(), 0)
    deadline = time.monotonic() + 30
    while True:  # the replacement reloads the files; meanwhile the store may say "busy"
        try:
            assert count(memory_store, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") == SAMPLE_TRIPLES
            break
        except StoreUnavailable:
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_bad_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such RDF file"):
        MemoryStore([tmp_path / "missing.ttl"], workers=1)
    unknown = tmp_path / "data.xyz"
    unknown.write_text("")
    with pytest.raises(StoreError, match="unknown RDF format"):
        MemoryStore([unknown], workers=1)
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b .\n")
    with pytest.raises(StoreError, match="broken.ttl"):
        MemoryStore([broken], workers=1)


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = MemoryStore([SAMPLE_TRIG], workers=1)
    pids = [worker.process.pid for worker in store._workers]
    store.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(StoreUnavailable):
        store.query(QueryRequest("ASK {}"))
