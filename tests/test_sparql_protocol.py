"""Every branch of ``/sparql`` and the app's cross-cutting behaviour, through Flask's test client
over the real Oxigraph store."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable

import pyoxigraph as ox
import pytest
import rdflib
from flask import Blueprint, Flask
from rdflib.namespace import RDF

from ezgraph.namespaces import SD, VOID
from ezgraph.store.base import (
    QueryRequest,
    QueryResponse,
    Store,
    StoreInfo,
    StoreUnavailable,
)
from ezgraph.web.app import OPTIONAL_BLUEPRINT_MODULES

ONTOLOGY = "https://w3id.org/ezgraph/graph/ontology"
CHANGCHUN = "https://w3id.org/ezgraph/graph/source/changchun-etdz"
SELECT_ZONES = (
    "SELECT ?zone ?label WHERE { ?zone a <https://w3id.org/ezgraph/def/Zone> ; "
    "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label } ORDER BY ?zone ?label"
)
CONSTRUCT_ZONES = (
    "CONSTRUCT { ?zone a <https://w3id.org/ezgraph/def/Zone> } "
    "WHERE { ?zone a <https://w3id.org/ezgraph/def/Zone> }"
)
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
RESULTS_FORMATS = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}


def media_type(response) -> str:
    return response.headers["Content-Type"].split(";")[0].strip()


def solutions(response) -> list[dict[str, str]]:
    kind = media_type(response)
    if kind == "text/csv":
        return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    parsed = ox.parse_query_results(response.data, RESULTS_FORMATS[kind])
    names = [variable.value for variable in parsed.variables]
    return [{name: solution[name].value for name in names if solution[name]} for solution in parsed]


def count(response) -> int:
    assert response.status_code == 200, response.get_data(as_text=True)
    return int(solutions(response)[0]["n"])


# --- the three ways to send a query ---------------------------------------------------------------


def test_get(client) -> None:
    response = client.get("/sparql", query_string={"query": COUNT_ALL})
    assert response.status_code == 200
    assert media_type(response) == "application/sparql-results+json"
    assert count(response) == 38
    assert response.headers["Vary"] == "Accept"
    assert response.headers["Server-Timing"].startswith("query;dur=")


def test_post_form(client) -> None:
    response = client.post("/sparql", data={"query": COUNT_ALL})
    assert count(response) == 38


def test_post_direct(client) -> None:
    response = client.post("/sparql", data=COUNT_ALL, content_type="application/sparql-query")
    assert count(response) == 38


def test_post_direct_with_utf8_charset_and_non_ascii(client) -> None:
    query = 'ASK { ?zone ?p "长春经济技术开发区"@zh }'
    response = client.post(
        "/sparql",
        data=query.encode("utf-8"),
        content_type="application/sparql-query; charset=UTF-8",
    )
    assert response.status_code == 200
    assert response.json == {"head": {}, "boolean": True}


def test_post_direct_in_another_charset_is_refused(client) -> None:
    response = client.post(
        "/sparql",
        data="ASK {}".encode("utf-16"),
        content_type="application/sparql-query; charset=UTF-16",
    )
    assert response.status_code == 415
    assert "UTF-8" in response.get_data(as_text=True)


def test_post_direct_invalid_utf8_is_400(client) -> None:
    response = client.post("/sparql", data=b"ASK { \xff }", content_type="application/sparql-query")
    assert response.status_code == 400
    assert "not valid UTF-8" in response.get_data(as_text=True)


def test_percent_encoded_utf8_in_url_and_form(client) -> None:
    query = 'ASK { ?zone ?p "长春经济技术开发区"@zh }'
    assert client.get("/sparql", query_string={"query": query}).json["boolean"] is True
    assert client.post("/sparql", data={"query": query}).json["boolean"] is True


#: ``"%FF"``: the byte 0xFF, which no UTF-8 text contains.
INVALID_UTF8_QUERY = "SELECT%20(%22%FF%22%20AS%20%3Fx)%20%7B%7D"


@pytest.mark.parametrize(
    ("send", "where"),
    [
        (lambda c: c.get(f"/sparql?query={INVALID_UTF8_QUERY}"), "query= in the URL"),
        (lambda c: c.post("/sparql", data=f"query={INVALID_UTF8_QUERY}",
                          content_type="application/x-www-form-urlencoded"),
         "query= in the form body"),
        # a byte sent as it is rather than percent-encoded, as a WSGI server that lets it
        # through passes it on (a latin-1 character of QUERY_STRING, PEP 3333)
        (lambda c: c.get("/sparql", environ_overrides={
            "QUERY_STRING": 'query=ASK%20%7B%20%3Fs%20%3Fp%20%22\xff%22%20%7D'}),
         "query= in the URL"),
        (lambda c: c.post("/sparql", data=b'query=ASK { ?s ?p "\xff" }',
                          content_type="application/x-www-form-urlencoded"),
         "query= in the form body"),
        (lambda c: c.post("/sparql?default-graph-uri=http://x.example/%E9%FF",
                          data="ASK {}", content_type="application/sparql-query"),
         "default-graph-uri= in the URL"),
        (lambda c: c.post("/sparql", data={"query": "ASK {}",
                                           "named-graph-uri": b"http://x.example/\xe9"}),
         "named-graph-uri= in the form body"),
        (lambda c: c.get("/sparql?update=CLEAR%20%FF"), "update= in the URL"),
        (lambda c: c.get("/sparql?query=ASK%7B%7D&format=%FF"), "format= in the URL"),
    ],
    ids=["url", "form", "raw-byte-in-url", "raw-byte-in-form", "default-graph-uri",
         "named-graph-uri", "update", "format"],
)
def test_invalid_utf8_in_parameters_is_400(client, send, where: str) -> None:
    response = send(client)
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert f"{where} is not valid UTF-8" in text
    assert "percent-encode" in text


def test_invalid_utf8_error_in_json(client) -> None:
    response = client.get(f"/sparql?query={INVALID_UTF8_QUERY}",
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 400
    assert response.json["error"]["type"] == "BadRequest"
    assert "query= in the URL is not valid UTF-8" in response.json["error"]["message"]


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_post_other_content_types_are_415(client, content_type) -> None:
    response = client.post("/sparql", data="query=ASK%20%7B%7D", content_type=content_type)
    assert response.status_code == 415
    assert "application/sparql-query" in response.get_data(as_text=True)


def test_query_params_errors(client) -> None:
    twice = client.get("/sparql?query=ASK%20%7B%7D&query=SELECT%20*%20%7B%7D")
    assert twice.status_code == 400 and "2 queries" in twice.get_data(as_text=True)
    url_and_body = client.post(
        "/sparql?query=ASK%20%7B%7D", data="ASK {}", content_type="application/sparql-query"
    )
    assert url_and_body.status_code == 400
    empty = client.get("/sparql?query=%20")
    assert empty.status_code == 400 and "empty" in empty.get_data(as_text=True)
    no_query = client.post("/sparql", data={"default-graph-uri": ONTOLOGY})
    assert no_query.status_code == 400


@pytest.mark.parametrize(
    "query_string",
    [{"query": SELECT_ZONES}, {"query": CONSTRUCT_ZONES, "format": "nt"}, {}],
    ids=["select", "construct", "service-description"],
)
def test_head_is_get_without_a_body(client, query_string: dict[str, str]) -> None:
    get = client.get("/sparql", query_string=query_string)
    head = client.head("/sparql", query_string=query_string)
    assert get.status_code == 200 and get.data
    assert head.status_code == 200
    assert head.data == b""
    # Server-Timing measures this one request; everything else is the GET's
    timing = {"Server-Timing"}
    assert ({k: v for k, v in head.headers.items() if k not in timing}
            == {k: v for k, v in get.headers.items() if k not in timing})
    assert head.headers["Content-Length"] == str(len(get.data))


def test_head_errors_are_the_get_errors(client) -> None:
    syntax_error = {"query": "SELECT * WHERE { ?s ?p }"}
    unknown_format = {"query": "ASK {}", "format": "yaml"}
    for query_string in (syntax_error, unknown_format):
        get = client.get("/sparql", query_string=query_string)
        head = client.head("/sparql", query_string=query_string)
        assert head.status_code == get.status_code == 400
        assert head.data == b""


def test_other_methods_are_405(client) -> None:
    response = client.put("/sparql?query=ASK%20%7B%7D")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "<html" not in response.get_data(as_text=True).lower()


def test_browsers_get_werkzeugs_error_page_where_there_is_no_site(client) -> None:
    # Only /sparql and /health are served: the site's error pages link to pages that are not
    # there, so a browser gets werkzeug's own page, still keyed on Accept.
    browser = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
    missing = client.get("/no/such/page", headers=browser)
    wrong_method = client.put("/sparql", headers=browser)
    assert (missing.status_code, wrong_method.status_code) == (404, 405)
    for response in (missing, wrong_method):
        assert response.mimetype == "text/html"
        assert "<title>" in response.get_data(as_text=True)
        assert "Accept" in response.headers["Vary"]
    assert "POST" in wrong_method.headers["Allow"]


# --- dataset --------------------------------------------------------------------------------------


def test_union_default_graph_and_graph_params(client) -> None:
    assert count(client.get("/sparql", query_string={"query": COUNT_ALL})) == 38
    one = client.get("/sparql", query_string={"query": COUNT_ALL, "default-graph-uri": ONTOLOGY})
    assert count(one) == 12
    two = client.get(
        "/sparql",
        query_string=[("query", COUNT_ALL), ("default-graph-uri", ONTOLOGY),
                      ("default-graph-uri", CHANGCHUN)],
    )
    assert count(two) == 26
    in_graphs = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    named = client.post(
        f"/sparql?named-graph-uri={CHANGCHUN}",
        data=in_graphs,
        content_type="application/sparql-query",
    )
    assert count(named) == 14
    form = client.post("/sparql", data={"query": in_graphs, "named-graph-uri": ONTOLOGY})
    assert count(form) == 12


def test_from_a_dataset_graph(client) -> None:
    query = f"SELECT (COUNT(*) AS ?n) FROM <{ONTOLOGY}> WHERE {{ ?s ?p ?o }}"
    assert count(client.get("/sparql", query_string={"query": query})) == 12


def test_remote_from_and_unknown_graph_params_are_refused(client) -> None:
    query = "SELECT * FROM <http://127.0.0.1:9/evil.ttl> WHERE { ?s ?p ?o }"
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "FROM <http://127.0.0.1:9/evil.ttl>" in response.get_data(as_text=True)
    params = client.get(
        "/sparql", query_string={"query": COUNT_ALL, "named-graph-uri": "http://x.example/"}
    )
    assert params.status_code == 400
    assert "named-graph-uri" in params.get_data(as_text=True)


# --- refusals and errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.get("/sparql?update=CLEAR%20ALL"),
        lambda c: c.post("/sparql", data={"update": "CLEAR ALL"}),
        lambda c: c.post("/sparql", data="CLEAR ALL", content_type="application/sparql-update"),
        lambda c: c.post("/sparql", data={"query": "INSERT DATA { <http://a> <http://b> 1 }"}),
        lambda c: c.post(
            "/sparql?using-named-graph-uri=http://example/people",
            data={"query": "ASK {}"},
        ),
    ],
    ids=["get-update", "form-update", "direct-update", "update-as-query", "using-param"],
)
def test_updates_are_refused(client, send) -> None:
    response = send(client)
    assert response.status_code == 400
    assert "read-only" in response.get_data(as_text=True)


def test_service_is_refused(client) -> None:
    query = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "SERVICE" in response.get_data(as_text=True)


def test_syntax_error_is_400_with_position(client) -> None:
    query = "SELECT ?s\nWHERE {\n  ?s ?p\n}"
    text = client.get("/sparql", query_string={"query": query})
    assert text.status_code == 400
    assert media_type(text) == "text/plain"
    assert "at line 4, column" in text.get_data(as_text=True)
    as_json = client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/json"}
    )
    error = as_json.json["error"]
    assert (as_json.status_code, error["type"], error["line"]) == (400, "QuerySyntaxError", 4)
    assert isinstance(error["column"], int)


def test_body_limit_is_413(make_app: Callable[..., Flask]) -> None:
    client = make_app(max_body_bytes=200).test_client()
    query = "ASK { ?s ?p ?o }" + " " * 300
    direct = client.post("/sparql", data=query, content_type="application/sparql-query")
    assert direct.status_code == 413
    assert "larger than 200 bytes" in direct.get_data(as_text=True)
    form = client.post("/sparql", data={"query": query})
    assert form.status_code == 413
    small = client.post("/sparql", data="ASK {}", content_type="application/sparql-query")
    assert small.status_code == 200


# --- content negotiation --------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [*RESULTS_FORMATS, "text/csv"])
def test_select_in_each_results_format(client, accept: str) -> None:
    response = client.get("/sparql", query_string={"query": SELECT_ZONES},
                          headers={"Accept": accept})
    assert response.status_code == 200
    assert media_type(response) == accept
    rows = solutions(response)
    assert len(rows) == 3
    assert rows[0]["zone"] == "https://w3id.org/ezgraph/id/zone/changchun-automotive-etdz"
    assert {row["label"] for row in rows} >= {"长春经济技术开发区"}


@pytest.mark.parametrize("accept", ["application/sparql-results+json",
                                    "application/sparql-results+xml"])
def test_ask_in_each_results_format(client, accept: str) -> None:
    response = client.get("/sparql", query_string={"query": "ASK { ?s a ?t }"},
                          headers={"Accept": accept})
    assert media_type(response) == accept
    assert bool(ox.parse_query_results(response.data, RESULTS_FORMATS[accept])) is True


@pytest.mark.parametrize("accept", list(RDFLIB_FORMATS))
@pytest.mark.parametrize("query", [CONSTRUCT_ZONES, "DESCRIBE ?z WHERE { ?z a "
                                   "<https://w3id.org/ezgraph/def/Zone> }"])
def test_graph_queries_in_each_format(client, accept: str, query: str) -> None:
    response = client.post("/sparql", data={"query": query}, headers={"Accept": accept})
    assert response.status_code == 200
    assert media_type(response) == accept
    dataset = rdflib.Dataset()
    dataset.parse(data=response.data, format=RDFLIB_FORMATS[accept])
    zones = set(dataset.subjects(RDF.type, rdflib.URIRef("https://w3id.org/ezgraph/def/Zone")))
    assert len(zones) == 2


def test_charset_on_text_types_only(client) -> None:
    csv_response = client.get("/sparql", query_string={"query": SELECT_ZONES, "format": "csv"})
    assert csv_response.headers["Content-Type"] == "text/csv; charset=utf-8"
    xml = client.get("/sparql", query_string={"query": SELECT_ZONES, "format": "xml"})
    assert xml.headers["Content-Type"] == "application/sparql-results+xml; charset=utf-8"
    turtle = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES})
    assert turtle.headers["Content-Type"] == "text/turtle; charset=utf-8"
    as_json = client.get("/sparql", query_string={"query": SELECT_ZONES})
    assert as_json.headers["Content-Type"] == "application/sparql-results+json"


def test_q_values_decide(client) -> None:
    accept = "text/csv;q=0.5, application/sparql-results+xml, application/sparql-results+json;q=0.9"
    response = client.get("/sparql", query_string={"query": SELECT_ZONES},
                          headers={"Accept": accept})
    assert media_type(response) == "application/sparql-results+xml"
    refused = client.get(
        "/sparql",
        query_string={"query": SELECT_ZONES},
        headers={"Accept": "application/sparql-results+json;q=0, text/csv"},
    )
    assert media_type(refused) == "text/csv"


def test_one_accept_header_serves_both_query_kinds(client) -> None:
    accept = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
    select = client.get("/sparql", query_string={"query": SELECT_ZONES}, headers=accept)
    construct = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES}, headers=accept)
    assert media_type(select) == "application/sparql-results+json"
    assert media_type(construct) == "text/turtle"


def test_several_accept_header_lines_are_combined(client) -> None:
    headers = [("Accept", "text/tab-separated-values"), ("Accept", "application/n-triples")]
    select = client.get("/sparql", query_string={"query": SELECT_ZONES}, headers=headers)
    construct = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES}, headers=headers)
    assert media_type(select) == "text/tab-separated-values"
    assert media_type(construct) == "application/n-triples"


def test_wildcards(client) -> None:
    text_any = {"Accept": "text/*"}
    assert media_type(client.get("/sparql", query_string={"query": SELECT_ZONES},
                                 headers=text_any)) == "text/csv"
    assert media_type(client.get("/sparql", query_string={"query": CONSTRUCT_ZONES},
                                 headers=text_any)) == "text/turtle"
    anything = {"Accept": "*/*"}
    assert media_type(client.get("/sparql", query_string={"query": SELECT_ZONES},
                                 headers=anything)) == "application/sparql-results+json"


def test_generic_json_and_xml_aliases(client) -> None:
    json_select = client.get("/sparql", query_string={"query": SELECT_ZONES},
                             headers={"Accept": "application/json"})
    assert media_type(json_select) == "application/sparql-results+json"
    xml_construct = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES},
                               headers={"Accept": "application/xml"})
    assert media_type(xml_construct) == "application/rdf+xml"


def test_406_when_nothing_fits(client) -> None:
    select = client.get("/sparql", query_string={"query": SELECT_ZONES},
                        headers={"Accept": "text/plain"})
    assert select.status_code == 406
    assert "SELECT" in select.get_data(as_text=True)
    construct = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES},
                           headers={"Accept": "text/csv"})
    assert construct.status_code == 406


def test_format_parameter_overrides_accept(client) -> None:
    json_accept = {"Accept": "application/sparql-results+json"}
    as_csv = client.get("/sparql", query_string={"query": SELECT_ZONES, "format": "csv"},
                        headers=json_accept)
    assert media_type(as_csv) == "text/csv"
    as_nt = client.post("/sparql", data={"query": CONSTRUCT_ZONES, "format": "nt"})
    assert media_type(as_nt) == "application/n-triples"
    as_jsonld = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES, "format": "json"})
    assert media_type(as_jsonld) == "application/ld+json"
    # SPARQLWrapper sends a name and a media type list together
    wrapper_style = client.get(
        "/sparql",
        query_string=[("query", CONSTRUCT_ZONES), ("format", "json-ld"),
                      ("format", "application/ld+json,application/x-json+ld")],
    )
    assert media_type(wrapper_style) == "application/ld+json"


def test_format_parameter_errors(client) -> None:
    unknown = client.get("/sparql", query_string={"query": SELECT_ZONES, "format": "yaml"})
    assert unknown.status_code == 400 and "unknown format 'yaml'" in unknown.get_data(as_text=True)
    conflict = client.get("/sparql",
                          query_string=[("query", SELECT_ZONES), ("format", "csv"),
                                        ("format", "tsv")])
    assert conflict.status_code == 400
    wrong_form = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES, "format": "csv"})
    assert wrong_form.status_code == 406
    assert "format=csv does not fit a CONSTRUCT result" in wrong_form.get_data(as_text=True)


@pytest.mark.parametrize("name", ["output", "results"])
def test_output_and_results_are_aliases_of_format(client, name: str) -> None:
    json_accept = {"Accept": "application/sparql-results+json"}
    as_csv = client.get("/sparql", query_string={"query": SELECT_ZONES, name: "csv"},
                        headers=json_accept)
    assert as_csv.status_code == 200 and media_type(as_csv) == "text/csv"
    as_nt = client.post("/sparql", data={"query": CONSTRUCT_ZONES, name: "nt"})
    assert media_type(as_nt) == "application/n-triples"
    described = client.get("/sparql", query_string={name: "application/ld+json"})
    assert media_type(described) == "application/ld+json"
    unknown = client.get("/sparql", query_string={"query": SELECT_ZONES, name: "yaml"})
    assert unknown.status_code == 400
    assert f"{name}=yaml: unknown format 'yaml'" in unknown.get_data(as_text=True)
    wrong_form = client.get("/sparql", query_string={"query": CONSTRUCT_ZONES, name: "csv"})
    assert wrong_form.status_code == 406
    assert f"{name}=csv does not fit a CONSTRUCT result" in wrong_form.get_data(as_text=True)


def test_format_output_and_results_must_agree(client) -> None:
    # SPARQLWrapper sends all three, with the same values
    agreeing = client.get("/sparql", query_string=[
        ("query", SELECT_ZONES), ("format", "tsv"), ("format", "text/tab-separated-values"),
        ("output", "tsv"), ("output", "text/tab-separated-values"),
        ("results", "tsv"), ("results", "text/tab-separated-values")])
    assert agreeing.status_code == 200
    assert media_type(agreeing) == "text/tab-separated-values"
    conflict = client.get("/sparql", query_string=[
        ("query", SELECT_ZONES), ("format", "csv"), ("output", "tsv")])
    assert conflict.status_code == 400
    assert "format=csv and output=tsv ask for different formats" in conflict.get_data(
        as_text=True)
    description_conflict = client.get("/sparql", query_string=[
        ("results", "ttl"), ("format", "application/rdf+xml")])
    assert description_conflict.status_code == 400
    assert "format=application/rdf+xml and results=ttl ask for different formats" in (
        description_conflict.get_data(as_text=True))


# --- row cap --------------------------------------------------------------------------------------


def test_truncation_header_and_json_member(make_app: Callable[..., Flask]) -> None:
    client = make_app(max_rows=2).test_client()
    response = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }"})
    assert response.headers["X-Ezgraph-Truncated"] == "true"
    assert response.headers["X-Ezgraph-Max-Rows"] == "2"
    assert response.json["truncated"] is True
    assert len(response.json["results"]["bindings"]) == 2
    complete = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 2"})
    assert "X-Ezgraph-Truncated" not in complete.headers
    assert "truncated" not in complete.json


# --- service description and the browser page ----------------------------------------------------


def parse_description(response, rdf_format: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=response.data, format=rdf_format)


def test_service_description_in_turtle(client) -> None:
    response = client.get("/sparql")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    graph = parse_description(response, "turtle")
    service = rdflib.URIRef("http://localhost/sparql")
    assert (service, RDF.type, SD.Service) in graph
    assert (service, SD.endpoint, service) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    formats = {str(o) for o in graph.objects(service, SD.resultFormat)}
    assert {
        "http://www.w3.org/ns/formats/SPARQL_Results_JSON",
        "http://www.w3.org/ns/formats/SPARQL_Results_CSV",
        "http://www.w3.org/ns/formats/Turtle",
        "http://www.w3.org/ns/formats/JSON-LD",
    } <= formats
    dataset = graph.value(service, SD.defaultDataset)
    default_graph = graph.value(dataset, SD.defaultGraph)
    assert graph.value(default_graph, VOID.triples).toPython() == 38
    named = {
        str(graph.value(node, SD.name)): graph.value(graph.value(node, SD.graph),
                                                     VOID.triples).toPython()
        for node in graph.objects(dataset, SD.namedGraph)
    }
    assert named == {
        ONTOLOGY: 12,
        CHANGCHUN: 14,
        "https://w3id.org/ezgraph/graph/source/changchun-automotive-etdz": 12,
    }


@pytest.mark.parametrize(
    ("accept", "rdf_format"),
    [("application/rdf+xml", "xml"), ("application/ld+json", "json-ld"),
     ("application/n-triples", "nt"), ("text/turtle", "turtle")],
)
def test_service_description_formats(client, accept: str, rdf_format: str) -> None:
    response = client.get("/sparql", headers={"Accept": accept})
    assert media_type(response) == accept
    graph = parse_description(response, rdf_format)
    assert (None, SD.endpoint, rdflib.URIRef("http://localhost/sparql")) in graph


def test_service_description_never_text_plain(client) -> None:
    assert client.get("/sparql", headers={"Accept": "text/plain"}).status_code == 406


def test_service_description_uses_the_public_base(make_app: Callable[..., Flask]) -> None:
    client = make_app(public_base="https://data.example.org/ezgraph/").test_client()
    graph = parse_description(client.get("/sparql"), "turtle")
    endpoint = rdflib.URIRef("https://data.example.org/ezgraph/sparql")
    assert (endpoint, SD.endpoint, endpoint) in graph


def test_browser_without_editor_gets_the_service_description(client) -> None:
    response = client.get("/sparql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    # the browser's application/xml;q=0.9 beats */*;q=0.8
    assert media_type(response) == "application/rdf+xml"


def test_browser_is_sent_to_the_query_editor(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    editor = Blueprint("ui", __name__)
    editor.add_url_rule("/editor", "query_editor", lambda: "<html>editor</html>")
    app.register_blueprint(editor)
    client = app.test_client()
    response = client.get("/sparql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/editor")
    # machines still get the description
    assert media_type(client.get("/sparql", headers={"Accept": "*/*"})) == "text/turtle"


# --- CORS, health and failures --------------------------------------------------------------------


def test_cors(client) -> None:
    preflight = client.options(
        "/sparql",
        headers={
            "Origin": "https://yasgui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    answer = client.get("/sparql", query_string={"query": "ASK {}"},
                        headers={"Origin": "https://yasgui.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Ezgraph-Truncated" in answer.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("url", ["/doc?iri=http://x.example/\xff", "/search?q=\xff",
                                 "/query?query=ASK%20%7B%22\xff%22%7D",
                                 "/doc?iri=http://x.example/%FF", "/search?q=%FF"])
def test_a_byte_that_is_not_utf8_in_any_url_is_400(make_app: Callable[..., Flask],
                                                   url: str) -> None:
    # Sent as it is, werkzeug's request.args raised UnicodeDecodeError, a 500 on every page
    # that reads its parameters (gunicorn and granian refuse such a URL themselves; the environ
    # here is what a WSGI server that lets it through passes on). Percent-encoded, werkzeug
    # kept it as the text "%FF", and /doc looked up another IRI than the one sent.
    app = make_app(config={"EZGRAPH_BLUEPRINTS": OPTIONAL_BLUEPRINT_MODULES})
    path, query_string = url.split("?")
    name = query_string.split("=")[0]
    response = app.test_client().get(path, environ_overrides={"QUERY_STRING": query_string})
    assert response.status_code == 400
    assert f"{name}= in the URL is not valid UTF-8 (byte 0xFF" in response.get_data(as_text=True)


def test_health(client, sample_store) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "triples": 38,
        "release": sample_store.info().release,
        "backend": "oxigraph",
    }


class BrokenStore(Store):
    """A store that fails in the ways a remote or overloaded backend can."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def query(self, request: QueryRequest) -> QueryResponse:
        raise self.error

    def info(self) -> StoreInfo:
        raise self.error


def test_unavailable_store_is_503_with_retry_after(make_app: Callable[..., Flask]) -> None:
    client = make_app(store=BrokenStore(StoreUnavailable("upstream is down", retry_after=7)))
    client = client.test_client()
    health = client.get("/health")
    assert health.status_code == 503 and health.json["status"] == "unavailable"
    response = client.get("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert "upstream is down" in response.get_data(as_text=True)


def test_unexpected_errors_are_500_without_traceback(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(store=BrokenStore(RuntimeError("secret internals"))).test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/sparql", query_string={"query": "ASK {}"})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "incident" in body
    assert "secret internals" not in body and "Traceback" not in body
    assert any("secret internals" in (record.exc_text or "") for record in caplog.records)


def test_timeout_is_503_with_retry_after(make_app: Callable[..., Flask]) -> None:
    client = make_app(timeout=1.0).test_client()
    endless = (
        "SELECT (COUNT(*) AS ?n) WHERE "
        "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r } # protocol test"
    )
    response = client.get("/sparql", query_string={"query": endless},
                          headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert response.json["error"]["type"] == "QueryTimeout"
