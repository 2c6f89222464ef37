"""The per-release cache of whole answers (ezgraph.web.response_cache) over a real HTTP server.

The real app over a real Oxigraph store, served by werkzeug on a loopback port. A cache hit must
be indistinguishable from the view's own answer (status, every header but Date/Server, bytes),
must not reach the store, and must never replay an error, a timeout or another release's data.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import rdflib
from flask import Flask

from ezgraph.store.base import DescribeRequest, QueryRequest, QueryResponse
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web.response_cache import ResponseCache

pytest_plugins = ("fixtures_web.webapp",)

BASE = "https://w3id.org/ezgraph/"
ZONE_QUERY = f"SELECT ?p ?o WHERE {{ <{BASE}id/zone/cetdz> ?p ?o }}"
ENDLESS_QUERY = ("SELECT (COUNT(*) AS ?n) WHERE "
                 "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r }")
#: Headers the HTTP server adds itself, different on every answer.
SERVER_HEADERS = {"date", "server", "connection", "keep-alive"}


class Counting:
    """Counts the requests that reach the store (the real one answers them): queries, and the
    descriptions and existence checks the embedded store answers from its indexes."""

    def __init__(self, store: OxigraphStore):
        self.calls: list[str] = []
        self._query = store.query
        self._describe = store.describe
        self._knows = store.knows

    def __call__(self, request: QueryRequest) -> QueryResponse:
        self.calls.append(request.query)
        return self._query(request)

    def describe(self, request: DescribeRequest) -> QueryResponse | None:
        self.calls.append(f"describe {request.iri}")
        return self._describe(request)

    def knows(self, iri: str, timeout: float) -> bool:
        self.calls.append(f"knows {iri}")
        return self._knows(iri, timeout)


@pytest.fixture
def counted(web_store: OxigraphStore, monkeypatch: pytest.MonkeyPatch) -> Counting:
    counting = Counting(web_store)
    monkeypatch.setattr(web_store, "query", counting)
    monkeypatch.setattr(web_store, "describe", counting.describe)
    monkeypatch.setattr(web_store, "knows", counting.knows)
    return counting


@pytest.fixture
def server(web_store: OxigraphStore, publish_dir: tuple[Any, dict[str, Any]],
           web_app_factory: Callable[..., Flask], serve_app: Callable[[Flask], str],
           counted: Counting) -> Iterator[tuple[str, Flask]]:
    dist, manifest = publish_dir
    # A store made from files knows its release once it is counted; nothing is cached before.
    web_store.info()
    app = web_app_factory(web_store, dist, manifest, timeout=1.0)
    yield serve_app(app), app


def untimed(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = answer
    return status, {name: value for name, value in headers.items()
                    if name != "server-timing"}, body


def get(base_url: str, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    split = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        kept = {name.lower(): value for name, value in response.getheaders()
                if name.lower() not in SERVER_HEADERS}
        return response.status, kept, body
    finally:
        connection.close()


def sparql_path(query: str, **params: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query, **params})


def layers(app: Flask) -> list[object]:
    """The WSGI middlewares in front of Flask's views (ezgraph.web.stack), outermost first."""
    found = [app.wsgi_app]
    while hasattr(found[-1], "app"):
        found.append(found[-1].app)  # type: ignore[attr-defined]
    return found


def cache_of(app: Flask) -> ResponseCache:
    caches = [layer for layer in layers(app) if isinstance(layer, ResponseCache)]
    assert len(caches) == 1
    return caches[0]


@pytest.mark.parametrize(("path", "accept"), [
    (sparql_path(ZONE_QUERY), "application/sparql-results+json"),
    (sparql_path(ZONE_QUERY), "text/csv"),
    (sparql_path(f"CONSTRUCT {{ <{BASE}id/zone/cetdz> ?p ?o }} WHERE "
                 f"{{ <{BASE}id/zone/cetdz> ?p ?o }}"), "text/turtle"),
    ("/doc/id/zone/cetdz", "text/turtle"),
    ("/doc/id/zone/cetdz", "text/html"),
    ("/doc/id/zone/cetdz.jsonld", "*/*"),
    ("/id/zone/cetdz", "text/turtle"),
    ("/def/NationalETDZ", "application/ld+json"),
])
def test_a_hit_is_the_same_answer_without_the_store(server, counted, path, accept):
    base_url, app = server
    first = get(base_url, path, Accept=accept)
    assert first[0] in (200, 303)
    second = get(base_url, path, Accept=accept)  # kept the second time it comes
    # The store may have answered again (a lookup is not kept there): only the time differs.
    assert untimed(second) == untimed(first)
    queries = len(counted.calls)
    assert queries > 0
    third = get(base_url, path, Accept=accept)
    assert third == second
    assert len(counted.calls) == queries  # answered before the view: no query at all
    assert cache_of(app).hits == 1


def test_an_answer_is_kept_the_second_time_its_request_comes(server, counted, monkeypatch):
    from ezgraph.web import response_cache

    base_url, app = server
    cache = cache_of(app)
    once = [sparql_path(f"{ZONE_QUERY} LIMIT {limit}") for limit in range(1, 6)]
    for path in once:
        assert get(base_url, path)[0] == 200
    assert len(cache) == 0  # asked once each: none kept
    assert get(base_url, once[0])[0] == 200
    assert len(cache) == 1 and cache.hits == 0
    get(base_url, once[0])
    assert cache.hits == 1
    # The requests seen once are forgotten all at once past SEEN_KEYS: memory stays bounded.
    monkeypatch.setattr(response_cache, "SEEN_KEYS", 3)
    for limit in range(6, 12):
        get(base_url, sparql_path(f"{ZONE_QUERY} LIMIT {limit}"))
        assert len(cache._seen) <= 3  # noqa: SLF001 - the bound is what is tested


def test_answers_differ_by_accept_and_by_host(server, counted):
    base_url, _ = server
    json_answer = get(base_url, sparql_path(ZONE_QUERY), Accept="application/sparql-results+json")
    csv_answer = get(base_url, sparql_path(ZONE_QUERY), Accept="text/csv")
    assert json_answer[1]["content-type"] != csv_answer[1]["content-type"]
    page = get(base_url, "/doc/id/zone/cetdz", Accept="text/html")
    other_host = get(base_url, "/doc/id/zone/cetdz", Accept="text/html", Host="data.example")
    # HTML links follow the host the page was asked from: another host is another answer.
    assert b"http://data.example/" in other_host[2]
    assert b"http://data.example/" not in page[2]


def test_conditional_requests_get_304_from_the_view(server, counted):
    base_url, app = server
    status, headers, _ = get(base_url, "/doc/id/zone/cetdz", Accept="text/turtle")
    assert status == 200
    tag = headers["etag"]
    assert tag.startswith('W/"')  # a document's tag is weak (ezgraph.web.linked_data)
    status, again, body = get(base_url, "/doc/id/zone/cetdz", Accept="text/turtle",
                              **{"If-None-Match": tag})
    assert status == 304
    assert body == b""
    assert again["etag"] == tag
    assert cache_of(app).hits == 0


def test_errors_and_timeouts_are_never_replayed(server, counted):
    base_url, app = server
    for _ in range(2):
        status, _, body = get(base_url, sparql_path("SELECT * WHERE { ?s ?p }"))
        assert status == 400
    for _ in range(2):
        status, headers, body = get(base_url, sparql_path(ENDLESS_QUERY))
        assert status == 503
        assert "time limit" in body.decode()
    assert counted.calls.count(ENDLESS_QUERY) == 2
    assert cache_of(app).hits == 0
    assert len(cache_of(app)) == 0


def test_each_release_has_its_own_answers(server, counted, web_store, monkeypatch):
    base_url, app = server
    path = sparql_path(ZONE_QUERY)
    for _ in range(3):
        get(base_url, path)
    assert counted.calls.count(ZONE_QUERY) == 2  # kept the second time, replayed the third
    monkeypatch.setattr(web_store, "release_if_known", lambda: "another-release")
    get(base_url, path)
    get(base_url, path)
    # The store's own cache is keyed with its (real) release, so the query reaches the store.
    assert counted.calls.count(ZONE_QUERY) == 4
    monkeypatch.setattr(web_store, "release_if_known", lambda: None)
    for _ in range(3):
        get(base_url, path)
    assert counted.calls.count(ZONE_QUERY) == 7  # release unknown: nothing is replayed


def test_only_get_is_replayed(server, counted):
    base_url, app = server
    split = urllib.parse.urlsplit(base_url)
    for _ in range(2):
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=30)
        connection.request("POST", "/sparql", body=ZONE_QUERY,
                           headers={"Content-Type": "application/sparql-query"})
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200
    assert counted.calls.count(ZONE_QUERY) == 2
    assert cache_of(app).hits == 0


def test_the_cache_is_bounded(web_store, publish_dir, web_app_factory, serve_app, counted):
    dist, manifest = publish_dir
    app = web_app_factory(web_store, dist, manifest)
    cache = ResponseCache(cache_of(app).app, web_store.release_if_known, max_bytes=20_000)
    app.wsgi_app = cache  # type: ignore[method-assign]
    base_url = serve_app(app)
    for limit in range(1, 40):
        for _ in range(2):  # kept the second time it comes
            status, _, _ = get(base_url, sparql_path(f"{ZONE_QUERY} LIMIT {limit}"))
            assert status == 200
    assert 0 < len(cache) < 39
    assert cache._bytes <= 20_000  # noqa: SLF001 - the bound is what is tested


def test_no_cache_when_turned_off(web_store, publish_dir, web_app_factory):
    from ezgraph.web.app import create_app
    from ezgraph.web.state import AppState

    app = create_app(AppState(store=web_store), {"EZGRAPH_RESPONSE_CACHE_BYTES": 0})
    assert not any(isinstance(layer, ResponseCache) for layer in layers(app))


def test_a_dereference_reads_the_store_once_and_never_waits_for_a_query_worker(
    server, web_store, monkeypatch
):
    # The 303 reads the document the client asks for next (to know the IRI exists), and the
    # store keeps that answer for the document request. A page this small is read in the web
    # process: a worker round trip would cost more than the reading.
    base_url, _ = server
    trips: list[object] = []
    reads: list[object] = []
    run, read_here = web_store._pool.run, web_store._read_here

    def counted_run(job: object, timeout: float) -> object:
        trips.append(job)
        return run(job, timeout)

    def counted_read(job: object) -> object:
        reads.append(job)
        return read_here(job)

    monkeypatch.setattr(web_store._pool, "run", counted_run)
    monkeypatch.setattr(web_store, "_read_here", counted_read)
    status, headers, _ = get(base_url, "/id/place/changchun", Accept="text/turtle")
    assert status == 303 and headers["location"].endswith("/doc/id/place/changchun")
    status, headers, body = get(base_url, "/doc/id/place/changchun", Accept="text/turtle")
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    document = rdflib.Graph().parse(data=body, format="turtle")
    assert rdflib.URIRef(BASE + "id/place/changchun") in document.all_nodes()
    assert (len(reads), trips) == (1, [])
    assert get(base_url, "/id/enterprise/atlantis", Accept="text/turtle")[0] == 404
