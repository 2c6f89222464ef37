"""Plain ``GET /sparql?query=…`` answered without Flask (:mod:`ezgraph.web.sparql_get`): the
same answers as the view, byte for byte; everything else, failures included, through the view."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from SPARQLWrapper import JSON, SPARQLWrapper
from werkzeug.exceptions import BadRequest

from ezgraph.store.base import QueryRequest, QueryResponse, Store, StoreInfo
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web.sparql import protocol_from_query_string

SELECT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o"
LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/ezgraph/id/zone/changchun-etdz> ?p ?o }"
CONSTRUCT = "CONSTRUCT WHERE { ?zone a <https://w3id.org/ezgraph/def/Zone> }"
ENDLESS = ("SELECT (COUNT(*) AS ?n) WHERE "
           "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }")

#: (query string, Accept) pairs: answers the shortcut gives, and requests it leaves to the view.
CASES = [
    (f"query={quote(SELECT)}", "application/sparql-results+json"),
    (f"query={quote(SELECT)}", "application/sparql-results+xml"),
    (f"query={quote(SELECT)}", "text/csv; charset=utf-8"),
    (f"query={quote(SELECT)}", "text/tab-separated-values;q=0.9, */*;q=0.1"),
    (f"query={quote(SELECT)}", None),
    (f"query={quote(LOOKUP)}", "application/sparql-results+json"),
    (f"query={quote(LOOKUP + ' LIMIT 3')}", "application/json"),
    (f"query={quote(CONSTRUCT)}", "text/turtle"),
    (f"query={quote(CONSTRUCT)}", "application/ld+json"),
    ("query=" + quote("ASK { ?s ?p ?o }"), "application/sparql-results+json"),
    # failures: the store raises, the view answers
    ("query=" + quote("SELECT * WHERE { ?s ?p }"), "application/json"),
    ("query=" + quote("SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }"), None),
    ("query=" + quote("INSERT DATA { <a:b> <a:c> <a:d> }"), "text/plain"),
    (f"query={quote(SELECT)}", "image/png"),
    (f"query={quote(CONSTRUCT)}", "application/sparql-results+json"),
    # the view's own parameter reading decides what the shortcut takes
    ("query=%FF", "application/json"),
    ("query=+", None),
    ("query=" + quote(LOOKUP).replace("%3F", "%3f") + "+%23+%C3%A9+%zz+%4+\\x41+%5Cu0041+%",
     "application/json"),
    ("query=" + quote(LOOKUP) + "%23%E9", "application/json"),  # Latin-1, not UTF-8
    ("query=" + quote(LOOKUP) + "%23\xc3\xa9", "application/json"),  # sent unescaped
    (f"query={quote(SELECT)}&format=csv", None),
    (f"query={quote(CONSTRUCT)}&format=csv", None),
    (f"query={quote(SELECT)}&output=tsv&results=csv", None),
    (f"query={quote(SELECT)}&format=nonsense", None),
    (f"query={quote(SELECT)}&update=CLEAR+ALL", None),
    (f"query={quote(SELECT)}&query={quote(SELECT)}", None),
    (f"query={quote(SELECT)}&default-graph-uri=https%3A%2F%2Fw3id.org%2Fezgraph%2Fgraph%2Fa", None),
    (f"query={quote(SELECT)}&default-graph-uri="
     f"{quote('https://w3id.org/ezgraph/graph/source/changchun-etdz', safe='')}", "text/csv"),
    (f"query={quote(SELECT)}&named-graph-uri="
     f"{quote('https://w3id.org/ezgraph/graph/ontology', safe='')}", "text/csv"),
    ("", "application/sparql-results+json"),
]


def _answer(app: Flask, query_string: str, accept: str | None, method: str = "GET"
            ) -> tuple[str, list[tuple[str, str]], bytes]:
    headers = {"Accept": accept} if accept is not None else {}
    response = app.test_client().open("/sparql", method=method, query_string=query_string,
                                      headers=headers)
    # Server-Timing carries the time the store took: the only part that may differ.
    kept = [(name, "…" if name == "Server-Timing" else value)
            for name, value in response.headers.items()]
    return response.status, kept, response.get_data()


@pytest.fixture
def apps(make_app: Callable[..., Flask]) -> tuple[Flask, Flask]:
    """The app with the shortcut and without it, neither with a response cache."""
    config = {"EZGRAPH_RESPONSE_CACHE_BYTES": 0}
    return (make_app(config=config, max_rows=5),
            make_app(config={**config, "EZGRAPH_SHORTCUTS": False}, max_rows=5))


@pytest.mark.parametrize(("query_string", "accept"), CASES)
def test_answers_are_the_views_own(apps: tuple[Flask, Flask], query_string: str,
                                   accept: str | None) -> None:
    with_shortcut, without = apps
    assert _answer(with_shortcut, query_string, accept) == _answer(without, query_string, accept)


def test_the_truncated_answer_is_the_views_own(apps: tuple[Flask, Flask]) -> None:
    with_shortcut, without = apps
    status, headers, body = _answer(with_shortcut, f"query={quote(SELECT)}", "application/json")
    assert ("X-Ezgraph-Truncated", "true") in headers  # 38 triples, 5 rows at most
    assert (status, headers, body) == _answer(without, f"query={quote(SELECT)}",
                                              "application/json")


def test_plain_gets_skip_flask_and_the_rest_go_through_it(
        make_app: Callable[..., Flask]) -> None:
    app = make_app()
    seen: list[str] = []
    app.before_request(lambda: seen.append("flask") and None)
    client = app.test_client()

    plain = client.get("/sparql", query_string={"query": LOOKUP},
                       headers={"Accept": "application/sparql-results+json"})
    assert plain.status_code == 200 and plain.json["results"]["bindings"]
    with_format = client.get("/sparql", query_string={"query": LOOKUP, "format": "csv"})
    assert with_format.status_code == 200 and with_format.mimetype == "text/csv"
    assert seen == []

    for response in (
        client.get("/sparql", query_string={"query": LOOKUP, "update": "CLEAR ALL"}),
        client.post("/sparql", data={"query": LOOKUP}),
        client.head("/sparql", query_string={"query": LOOKUP}),
        client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s }"}),
    ):
        assert response.status_code in (200, 400)
    assert seen == ["flask"] * 4


class CountingStore(Store):
    """The sample store, counting the queries it is asked."""

    def __init__(self, store: OxigraphStore):
        self._store = store
        self.queries: list[str] = []

    def query(self, request: QueryRequest) -> QueryResponse:
        self.queries.append(request.query)
        return self._store.query(request)

    def info(self) -> StoreInfo:
        return self._store.info()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_query_that_runs_out_of_time_runs_once(make_app: Callable[..., Flask],
                                                 sample_store: OxigraphStore) -> None:
    store = CountingStore(sample_store)
    app = make_app(store=store, timeout=1.0)
    started = time.perf_counter()
    response = app.test_client().get("/sparql", query_string={"query": ENDLESS},
                                     headers={"Accept": "application/json"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json["error"]["type"] == "QueryTimeout"
    assert store.queries == [ENDLESS]
    assert elapsed < 1.9  # one time limit, not two


def test_the_view_asks_the_store_when_the_failure_is_for_another_request(
        make_app: Callable[..., Flask], sample_store: OxigraphStore) -> None:
    """A failure handed over is only raised for the very request it came from."""
    from ezgraph.web.shortcut import FAILED_CALL_KEY

    store = CountingStore(sample_store)
    app = make_app(store=store)
    stale = (QueryRequest(query="SELECT * WHERE { ?s ?p ?o }"), RuntimeError("not this one"))
    response = app.test_client().post(  # a POST: the view asks, not the shortcut
        "/sparql", data={"query": LOOKUP, "format": "json"},
        environ_base={FAILED_CALL_KEY: stale})
    assert response.status_code == 200
    assert store.queries == [LOOKUP]


def test_sparqlwrapper_over_http_gets_the_shortcuts_answers(
        make_app: Callable[..., Flask], serve_app: Callable[[Flask], str]) -> None:
    base = serve_app(make_app())
    client = SPARQLWrapper(base + "/sparql")
    client.setQuery(LOOKUP)
    client.setReturnFormat(JSON)
    result = client.queryAndConvert()
    predicates = {row["p"]["value"] for row in result["results"]["bindings"]}  # type: ignore[index]
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" in predicates


def test_a_query_waiting_for_its_worker_holds_up_no_lookup(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(timeout=3.0)
    slow: list[int] = []

    def endless() -> None:
        response = app.test_client().get("/sparql", query_string={"query": ENDLESS},
                                          headers={"Accept": "application/json"})
        slow.append(response.status_code)

    thread = threading.Thread(target=endless)
    thread.start()
    time.sleep(0.5)  # the endless query is with a worker now
    started = time.perf_counter()
    response = app.test_client().get("/sparql", query_string={"query": LOOKUP},
                                      headers={"Accept": "application/json"})
    elapsed = time.perf_counter() - started
    thread.join(10)
    assert response.status_code == 200
    assert elapsed < 1.0, f"the lookup waited {elapsed:.1f} s behind the endless query"
    assert slow == [503]


def test_a_query_alone_is_read_as_with_other_parameters() -> None:
    """``query=…`` alone has a quicker reading (ezgraph.web.sparql.protocol_from_query_string):
    the same query as the general one (taken when another parameter follows), or the same
    error, for random strings of what query strings hold."""
    rng = random.Random(7)
    alphabet = [b"%", b"%2", b"%zz", b"%41", b"%3f", b"%C3%A9", b"%E9", b"%0A", b"+", b"\\",
                b"\\x41", b"\\u0041", b"\xc3\xa9", b"\xff", b"a", b"?", b"=", b" ", b"{", b"#"]
    for _ in range(5_000):
        raw = b"query=" + b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _read(raw) == _read(raw + b"&other=1"), raw


def _read(raw: bytes) -> object:
    try:
        return protocol_from_query_string(raw)
    except BadRequest as error:
        return error.description
