"""Accept headers whose media types carry parameters (``charset``, a JSON-LD ``profile``).

RFC 9110 §12.5.1 lets a client add parameters to the media types it accepts; ezgraph serves one
variant of each type (UTF-8, JSON-LD in its usual form), so like Oxigraph and Fuseki it reads
``text/csv;charset=utf-8`` as ``text/csv`` — the very Content-Type it labels its CSV with. Only
``q`` keeps its meaning. Checked on every route that negotiates: ``/sparql`` (answers, the
service description, the way to the query editor), Linked Data documents, the dumps listing and
error responses, through the real app over the fixture dataset, and over HTTP with SPARQLWrapper.
"""

from __future__ import annotations

import csv
import io
import urllib.request
from collections.abc import Callable

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper

pytest_plugins = ("fixtures_web.webapp",)

ZONE = "https://w3id.org/ezgraph/id/zone/cetdz"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SELECT_LABELS = f"SELECT ?label WHERE {{ <{ZONE}> <{RDFS_LABEL}> ?label }} ORDER BY ?label"
CONSTRUCT_LABELS = f"CONSTRUCT WHERE {{ <{ZONE}> <{RDFS_LABEL}> ?label }}"
EXPANDED_JSON_LD = 'application/ld+json;profile="http://www.w3.org/ns/json-ld#expanded"'
RESULTS_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


def media_type(response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip()


def labels_in_results(body: bytes, kind: str) -> set[str]:
    if kind == "text/csv":  # plain strings, which oxigraph does not read back
        return {row["label"] for row in csv.DictReader(io.StringIO(body.decode("utf-8")))}
    return {solution["label"].value
            for solution in ox.parse_query_results(body, RESULTS_FORMATS[kind])}


def zone_labels_in_graph(response) -> set[str]:
    quads = ox.parse(response.data, format=RDF_FORMATS[media_type(response)])
    return {q.object.value for q in quads
            if q.subject == ox.NamedNode(ZONE) and q.predicate == ox.NamedNode(RDFS_LABEL)}


# --- /sparql --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/sparql-results+json; charset=utf-8", "application/sparql-results+json"),
        ("application/sparql-results+xml;charset=UTF-8", "application/sparql-results+xml"),
        ("text/csv;charset=utf-8", "text/csv"),
        ("text/tab-separated-values; charset=utf-8", "text/tab-separated-values"),
        ("application/json; charset=utf-8", "application/sparql-results+json"),
        # the parameter used to make the XML unmatched, so */* picked the server's first offer
        ("application/sparql-results+xml;charset=utf-8, */*;q=0.1",
         "application/sparql-results+xml"),
        # q still decides between types that carry parameters ...
        ("text/csv;charset=utf-8;q=0.5, application/sparql-results+xml;charset=utf-8",
         "application/sparql-results+xml"),
        # ... and q=0 still refuses a type
        ("application/sparql-results+json;charset=utf-8;q=0, text/tab-separated-values",
         "text/tab-separated-values"),
    ],
)
def test_select_answers_with_parameters_in_accept(web_client: FlaskClient, accept: str,
                                                  expected: str) -> None:
    response = web_client.get("/sparql", query_string={"query": SELECT_LABELS},
                              headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert media_type(response) == expected
    assert "长春经济技术开发区" in labels_in_results(response.data, expected)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("text/turtle; charset=utf-8", "text/turtle"),
     (EXPANDED_JSON_LD, "application/ld+json"),
     ("application/n-triples;charset=utf-8", "application/n-triples")],
)
def test_graph_answers_with_parameters_in_accept(web_client: FlaskClient, accept: str,
                                                 expected: str) -> None:
    response = web_client.post("/sparql", data={"query": CONSTRUCT_LABELS},
                               headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert media_type(response) == expected
    assert "长春经济技术开发区" in zone_labels_in_graph(response)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("text/turtle; charset=utf-8", "text/turtle"),
     (EXPANDED_JSON_LD, "application/ld+json"),
     ("application/rdf+xml;charset=utf-8", "application/rdf+xml")],
)
def test_service_description_with_parameters_in_accept(web_client: FlaskClient, accept: str,
                                                       expected: str) -> None:
    response = web_client.get("/sparql", headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert media_type(response) == expected
    quads = list(ox.parse(response.data, format=RDF_FORMATS[expected]))
    endpoint = ox.NamedNode("http://localhost/sparql")
    sd_endpoint = ox.NamedNode("http://www.w3.org/ns/sparql-service-description#endpoint")
    assert any(q.subject == endpoint and q.predicate == sd_endpoint for q in quads)


def test_browser_with_a_charset_is_sent_to_the_query_editor(web_client: FlaskClient) -> None:
    response = web_client.get("/sparql", headers={"Accept": "text/html; charset=utf-8"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/query")


def test_still_406_when_no_type_fits_whatever_its_parameters(web_client: FlaskClient) -> None:
    response = web_client.get("/sparql", query_string={"query": SELECT_LABELS},
                              headers={"Accept": "text/turtle; charset=utf-8"})
    assert response.status_code == 406


# --- Linked Data, dumps, errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected", "extension"),
    [("text/turtle; charset=utf-8", "text/turtle", "ttl"),
     (EXPANDED_JSON_LD, "application/ld+json", "jsonld"),
     ("application/n-triples;charset=UTF-8", "application/n-triples", "nt"),
     ("text/turtle;charset=utf-8;q=0.2, application/rdf+xml;charset=utf-8;q=0.8",
      "application/rdf+xml", "rdf")],
)
def test_document_with_parameters_in_accept(web_client: FlaskClient, accept: str, expected: str,
                                            extension: str) -> None:
    response = web_client.get("/doc/id/zone/cetdz", headers={"Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert media_type(response) == expected
    assert response.headers["Content-Location"] == f"/doc/id/zone/cetdz.{extension}"
    assert "Changchun Economic and Technological Development Zone" in zone_labels_in_graph(
        response)


def test_html_document_with_a_charset(web_client: FlaskClient) -> None:
    response = web_client.get("/doc/id/zone/cetdz", headers={"Accept": "text/html;charset=utf-8"})
    assert response.status_code == 200
    assert media_type(response) == "text/html"


def test_dumps_listing_with_a_charset(web_client: FlaskClient) -> None:
    response = web_client.get("/dumps/", headers={"Accept": "application/json; charset=utf-8"})
    assert response.status_code == 200
    assert media_type(response) == "application/json"
    assert {f["path"] for f in response.json["files"]} >= {"ezgraph.trig", "ezgraph.ttl"}


def test_error_in_json_with_a_charset(web_client: FlaskClient) -> None:
    response = web_client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p }"},
                              headers={"Accept": "application/json; charset=utf-8"})
    assert response.status_code == 400
    assert response.json["error"]["type"] == "QuerySyntaxError"


# --- over HTTP ------------------------------------------------------------------------------------


@pytest.fixture
def live_endpoint(web_app: Flask, serve_app: Callable[[Flask], str]) -> str:
    return serve_app(web_app) + "/sparql"


@pytest.mark.parametrize(
    ("return_format", "accept"),
    [(JSON, "application/sparql-results+json; charset=utf-8"),
     (XML, "application/sparql-results+xml; charset=utf-8"),
     (CSV, "text/csv; charset=utf-8"),
     (TSV, "text/tab-separated-values; charset=utf-8")],
)
def test_sparqlwrapper_asking_with_a_charset(live_endpoint: str, return_format: str,
                                             accept: str) -> None:
    client = SPARQLWrapper(live_endpoint, returnFormat=return_format)
    client.setOnlyConneg(True)  # no format= parameter: the Accept header alone decides
    client.addCustomHttpHeader("Accept", accept)
    client.setQuery(SELECT_LABELS)
    client.setTimeout(30)
    result = client.query()
    assert result.info()["content-type"].startswith(accept.split(";")[0])
    answer = result.convert()
    if return_format == JSON:
        labels = {row["label"]["value"] for row in answer["results"]["bindings"]}
    elif return_format == XML:
        labels = {node.firstChild.data for node in answer.getElementsByTagName("literal")}
    else:
        labels = labels_in_results(answer, accept.split(";")[0])
    assert "长春经济技术开发区" in labels


def test_dereferencing_over_http_with_a_charset(web_app: Flask,
                                                serve_app: Callable[[Flask], str]) -> None:
    request = urllib.request.Request(serve_app(web_app) + "/doc/id/zone/cetdz",
                                     headers={"Accept": "application/ld+json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/ld+json")
        quads = list(ox.parse(response.read(), format=ox.RdfFormat.JSON_LD))
    assert any(q.subject == ox.NamedNode(ZONE) for q in quads)
