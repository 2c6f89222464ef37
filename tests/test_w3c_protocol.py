"""The W3C SPARQL 1.1 Protocol test suite (tests/w3c/protocol, copied from w3c/rdf-tests) run
over HTTP against a live ``/sparql``.

The manifest is read with rdflib; every test's requests are sent in order with ``http.client``
exactly as described (method, path, headers, body in its character encoding), and the answers are
checked against ``mf:expectedStatus``, ``mf:expectedFormat`` and ``mf:expectedBoolean``.

Adaptations, both following from this endpoint's documented policy:

* **Updates are refused.** The ``update_*`` tests expect SPARQL Update to succeed; here each update
  request must instead get 400 "this endpoint is read-only", and the query that follows it in the
  same test must answer ``false`` (the update changed nothing). The ``bad_update_*`` tests expect a
  4xx, which the refusal gives, and are checked as written.
* **Graph IRIs must be dataset graphs.** The data files become named graphs under their
  ``ut:graphData`` labels. Several query tests name ``data0.rdf`` as a default graph without data
  for it; since ``default-graph-uri`` values outside the dataset are refused, ``data0.rdf`` is
  declared as an empty graph of the test dataset. (Their queries - ``ASK {}``, ``DESCRIBE``,
  ``CONSTRUCT ... WHERE {}`` - do not depend on its content.) A separate test checks the refusal.
"""

from __future__ import annotations

import http.client
import os
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.collection import Collection
from werkzeug.serving import make_server
from wsgi_servers import UWSGI, DocumentedUwsgi

from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web.app import create_app
from ezgraph.web.state import AppState

SUITE = Path(__file__).parent / "w3c" / "protocol"
MANIFEST = SUITE / "manifest.ttl"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"
RESULTS_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
    "text/csv": None,  # no parser for CSV results in pyoxigraph; checked by content type
}
RDF_FORMATS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}


@dataclass
class ProtocolRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    expected_status_classes: set[int]
    expected_format: str | None
    expected_boolean: bool | None

    @property
    def is_update(self) -> bool:
        content_type = self.headers.get("content-type", "")
        return content_type.startswith("application/sparql-update") or (
            content_type == "application/x-www-form-urlencoded"
            and self.body is not None
            and self.body.startswith(b"update=")
        )


@dataclass
class ProtocolTest:
    name: str
    title: str
    requests: list[ProtocolRequest]
    graph_data: dict[Path, str] = field(default_factory=dict)


def load_manifest() -> list[ProtocolTest]:
    graph = rdflib.Graph().parse(MANIFEST, format="turtle", publicID=MANIFEST.as_uri())
    manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
    entries = Collection(graph, graph.value(manifest, MF.entries))
    tests = []
    for entry in entries:
        name = str(entry).rsplit("#", 1)[-1]
        graph_data = {
            Path(urllib.parse.urlparse(str(graph.value(data, UT.graph))).path): str(
                graph.value(data, rdflib.RDFS.label)
            )
            for data in graph.objects(entry, UT.graphData)
        }
        action = graph.value(entry, MF.action)
        requests = [
            _request(graph, node)
            for node in Collection(graph, graph.value(action, HT.requests))
        ]
        tests.append(ProtocolTest(name, str(graph.value(entry, MF.name)), requests, graph_data))
    return tests


def _request(graph: rdflib.Graph, node: rdflib.term.Node) -> ProtocolRequest:
    headers = {}
    header_list = graph.value(node, HT.headers)
    if header_list is not None:
        for header in Collection(graph, header_list):
            headers[str(graph.value(header, HT.fieldName)).lower()] = str(
                graph.value(header, HT.fieldValue)
            )
    body = None
    body_node = graph.value(node, HT.body)
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding)
    response = graph.value(node, HT.resp)
    statuses = {
        int(str(status).rsplit("StatusCode", 1)[-1][0])
        for status in graph.objects(response, MF.expectedStatus)
    }
    expected_format = graph.value(response, MF.expectedFormat)
    expected_boolean = graph.value(response, MF.expectedBoolean)
    return ProtocolRequest(
        method=str(graph.value(node, HT.methodName)),
        path=str(graph.value(node, HT.absolutePath)),
        headers=headers,
        body=body,
        expected_status_classes=statuses,
        expected_format=str(expected_format) if expected_format is not None else None,
        expected_boolean=expected_boolean.toPython() if expected_boolean is not None else None,
    )


TESTS = load_manifest()


@pytest.fixture(scope="module", params=["werkzeug", "uwsgi"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A live server over the suite's data: each data file a named graph, plus empty data0.

    Under werkzeug's threaded server (``ezgraph serve``), and under uWSGI with the production
    command of src/ezgraph/web/wsgi.py.
    """
    graph_data: dict[Path, str] = {}
    for test in TESTS:
        graph_data.update(test.graph_data)
    directory = tmp_path_factory.mktemp("w3c")
    store_dir = directory / "store"
    loader = ox.Store(str(store_dir))
    for file_name, label in graph_data.items():
        loader.load(path=str(SUITE / file_name.name), format=ox.RdfFormat.N_TRIPLES,
                    to_graph=ox.NamedNode(label))
    loader.add_graph(ox.NamedNode(DATA0))
    loader.flush()
    del loader
    if request.param == "uwsgi":
        if not UWSGI.exists():
            pytest.skip("uWSGI is not installed (optional production server)")
        env = {**os.environ, "EZGRAPH_STORE": f"oxigraph:{store_dir}",
               "EZGRAPH_QUERY_WORKERS": "2"}
        uwsgi = DocumentedUwsgi(env, directory / "uwsgi.log").start()
        yield "127.0.0.1", uwsgi.port
        uwsgi.stop()
        return
    store = OxigraphStore(store_dir, workers=2)
    app = create_app(AppState(store=store), {"EZGRAPH_BLUEPRINTS": ()})
    http_server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http_server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield "127.0.0.1", http_server.server_port
    http_server.shutdown()
    http_server.server_close()
    thread.join(timeout=5)
    store.close()


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def send(server: tuple[str, int], request: ProtocolRequest) -> Answer:
    # The suite's paths start with /sparql/; this endpoint is /sparql.
    path = request.path
    if path.startswith("/sparql/"):
        path = "/sparql" + path[len("/sparql/"):]
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        connection.request(request.method, path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
        return Answer(response.status, content_type, response.read())
    finally:
        connection.close()


def check_format(answer: Answer, expected_format: str, expected_boolean: bool | None) -> None:
    if expected_format in ("boolean", "tabular"):
        assert answer.content_type in RESULTS_FORMATS, answer.content_type
        results_format = RESULTS_FORMATS[answer.content_type]
        if results_format is None:
            assert expected_format == "tabular" and answer.body
            return
        parsed = ox.parse_query_results(answer.body, results_format)
        if expected_format == "boolean":
            assert isinstance(parsed, ox.QueryBoolean)
            if expected_boolean is not None:
                assert bool(parsed) is expected_boolean
        else:
            assert isinstance(parsed, ox.QuerySolutions)
            list(parsed)
    elif expected_format == "RDF":
        assert answer.content_type in RDF_FORMATS, answer.content_type
        rdflib.Dataset().parse(data=answer.body, format=RDF_FORMATS[answer.content_type])
    else:
        raise AssertionError(f"unknown expected format {expected_format!r}")


@pytest.mark.parametrize("test", TESTS, ids=[test.name for test in TESTS])
def test_protocol(server: tuple[str, int], test: ProtocolTest) -> None:
    refused_update = False
    for request in test.requests:
        answer = send(server, request)
        if request.is_update:
            # Documented refusal instead of the update the suite expects (see module docstring).
            assert answer.status == 400, (test.name, answer.status, answer.body)
            if not test.name.startswith("bad_"):
                assert b"read-only" in answer.body
            refused_update = True
            continue
        status_class = answer.status // 100
        assert status_class in request.expected_status_classes, (
            test.name, answer.status, answer.body[:300],
        )
        if status_class != 2 or request.expected_format is None:
            continue
        expected_boolean = request.expected_boolean
        if refused_update and expected_boolean is True:
            # The refused update changed nothing, so what it would have added is absent.
            expected_boolean = False
        check_format(answer, request.expected_format, expected_boolean)


def test_suite_was_read_completely() -> None:
    names = {test.name for test in TESTS}
    assert len(TESTS) == 34
    assert {"query_post_form", "query_multiple_dataset", "bad_query_non_utf8",
            "update_base_uri", "bad_update_dataset_conflict"} <= names
    assert all(test.requests for test in TESTS)


def test_graphs_outside_the_dataset_are_refused(server: tuple[str, int]) -> None:
    outside = urllib.parse.quote("http://kasei.us/2009/09/sparql/data/data9.rdf", safe="")
    request = ProtocolRequest("GET", f"/sparql/?query=ASK%20%7B%7D&default-graph-uri={outside}",
                              {}, None, {4}, None, None)
    answer = send(server, request)
    assert answer.status == 400
    assert b"not a graph of this dataset" in answer.body
