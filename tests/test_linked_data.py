"""Linked Data: 303s from identifiers to documents, content negotiation, ETags, 404s, pages.

Runs the real app (create_app) over a real Oxigraph store loaded from tests/fixtures_web, and
over the project's real build to check that every IRI it mints dereferences.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from ezgraph.store.base import QueryRequest, QueryResponse, QueryTimeout, Store, StoreInfo
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web.app import create_app
from ezgraph.web.state import AppState

pytest_plugins = ("fixtures_web.webapp",)

BASE = "https://w3id.org/ezgraph/"
ZONE = BASE + "id/zone/cetdz"

RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
FOI = "http://www.w3.org/ns/sosa/hasFeatureOfInterest"
RDF_FORMATS = {
    "ttl": ("text/turtle", ox.RdfFormat.TURTLE),
    "jsonld": ("application/ld+json", ox.RdfFormat.JSON_LD),
    "nt": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    "rdf": ("application/rdf+xml", ox.RdfFormat.RDF_XML),
}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def triples(body: bytes, rdf_format: ox.RdfFormat) -> set[tuple[str, str, str]]:
    return {(str(q.subject), str(q.predicate), str(q.object))
            for q in ox.parse(body, format=rdf_format)}


def literal(text: str, lang: str) -> str:
    return str(ox.Literal(text, language=lang))


def iri(value: str) -> str:
    return f"<{value}>"


# --------------------------------------------------------------------------------------------
# Identifiers answer 303 See Other to their documents


@pytest.mark.parametrize("path", [
    "id/zone/cetdz",
    "id/observation/cetdz-area",
    "def/NationalETDZ",
    "shapes/ZoneShape",
    "graph/source/changchun-etdz",
])
def test_identifiers_see_other_to_their_document(web_client, path):
    response = web_client.get("/" + path, headers={"Accept": "text/turtle"})
    assert response.status_code == 303
    assert urllib.parse.urlsplit(response.headers["Location"]).path == "/doc/" + path


# --------------------------------------------------------------------------------------------
# Every IRI the real graph mints under the data's base dereferences


#: IRIs under the base that name documents or services, not things: they answer 200 themselves
#: (``{base}def/``, the vocabulary namespace, is a 301 to the ontology ``{base}def``).
DOCUMENT_PATHS = {"", "sparql", "catalog", "def", "def/", "shapes", "dumps/"}
#: What a Linked Data client sends: RDF preferred, anything else accepted.
RDF_CLIENT_ACCEPT = "text/turtle, application/ld+json;q=0.9, */*;q=0.1"


@pytest.fixture(scope="module")
def real_site(tmp_path_factory: pytest.TempPathFactory, web_app_factory
              ) -> Iterator[tuple[FlaskClient, OxigraphStore, str]]:
    """The app over the project's real build (its store holds the VoID and DCAT graph)."""
    from oxigraph_server import real_build

    dist = real_build(tmp_path_factory.mktemp("real") / "dist")
    manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    store = OxigraphStore(dist / "store", workers=2)
    try:
        yield web_app_factory(store, dist, manifest).test_client(), store, manifest["base"]
    finally:
        store.close()


def minted_iris(dist_store: Path, base: str) -> set[str]:
    with_base = set()
    for quad in ox.Store.read_only(str(dist_store)):
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.NamedNode) and term.value.startswith(base):
                with_base.add(term.value)
    return with_base


def test_every_iri_the_graph_mints_dereferences(real_site):
    client, store, base = real_site
    iris = minted_iris(store.path, base)
    # the VoID partitions and DCAT distributions (with their #sha256 checksums) are among them
    for kind in ("dataset/class/", "dataset/property/", "dataset/distribution/"):
        assert any(i.startswith(base + kind) for i in iris), kind
    assert any(i.endswith("#sha256") for i in iris)
    data = ox.Store.read_only(str(store.path))
    failures = []
    for minted in sorted(iris):
        # A client never sends the fragment: it dereferences the IRI without it (RFC 3986 3.5).
        path = urllib.parse.urldefrag(minted)[0][len(base):]
        response = client.get("/" + path, headers={"Accept": RDF_CLIENT_ACCEPT})
        if path in DOCUMENT_PATHS or path.startswith("dumps/"):
            if response.status_code == 301:
                response = client.get(response.headers["Location"],
                                      headers={"Accept": RDF_CLIENT_ACCEPT})
            if response.status_code != 200:
                failures.append(f"{minted}: {response.status_code}")
            continue
        location = response.headers.get("Location", "")
        if response.status_code != 303 or urllib.parse.urlsplit(location).path != "/doc/" + path:
            failures.append(f"{minted}: {response.status_code} {location}")
            continue
        document = client.get(location, headers={"Accept": RDF_CLIENT_ACCEPT})
        if document.status_code != 200 or document.mimetype != "text/turtle":
            failures.append(f"{minted}: document {document.status_code} {document.mimetype}")
            continue
        found = triples(document.data, ox.RdfFormat.TURTLE)
        if iri(minted) not in {t for triple in found for t in triple}:
            failures.append(f"{minted}: its document does not mention it")
        elif (next(data.quads_for_pattern(ox.NamedNode(minted), None, None), None) is not None
              and not any(triple[0] == iri(minted) for triple in found)):
            # a hash IRI's statements are in the document of the IRI without the fragment
            failures.append(f"{minted}: its document does not say what the store does of it")
    assert not failures, f"{len(failures)} of {len(iris)} IRIs do not dereference: " + (
        ", ".join(failures[:10]))


def test_partitions_and_distributions_see_other_for_browsers_too(real_site):
    client, store, base = real_site
    iris = sorted(minted_iris(store.path, base))
    for kind in ("dataset/class/", "dataset/property/", "dataset/distribution/"):
        path = next(i for i in iris if i.startswith(base + kind))[len(base):]
        response = client.get("/" + path, headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 303, path
        page = client.get(response.headers["Location"], headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 200 and page.mimetype == "text/html", path
        if kind == "dataset/distribution/":
            # its checksum, <…#sha256>, is shown on the page, where the fragment leads
            html = page.get_data(as_text=True)
            assert '<dl class="bnode" id="sha256">' in html
            assert "checksumValue" in html
    unknown = client.get("/dataset/class/000000000000", headers={"Accept": "text/turtle"})
    assert unknown.status_code == 404
    assert "Accept" in unknown.headers["Vary"]


def test_unknown_identifier_is_404_with_a_search_form(web_client):
    response = web_client.get("/id/zone/atlantis", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert f"&lt;{BASE}id/zone/atlantis&gt;" in page
    assert 'action="/search"' in page
    assert 'name="q" value="atlantis"' in page


def test_unknown_document_is_404_as_text_for_rdf_clients(web_client):
    response = web_client.get("/doc/id/zone/atlantis", headers={"Accept": "text/turtle"})
    assert response.status_code == 404
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert f"{BASE}id/zone/atlantis" in text
    assert "/search?q=atlantis" in text


@pytest.mark.parametrize("path", [
    "/id/zone/atlantis", "/doc/id/zone/atlantis", "/doc/id/zone/atlantis.ttl",
    "/def/Atlantis", "/shapes/AtlantisShape", "/graph/atlantis", "/doc/def/Atlantis.html",
    "/shapes.xyz", "/def.xyz",
])
def test_not_found_pages_vary_with_accept(web_client, path):
    # The 404's body is HTML for browsers and text for the rest: caches must key it on Accept
    # (RFC 9110 12.5.5).
    as_html = web_client.get(path, headers={"Accept": BROWSER_ACCEPT})
    as_text = web_client.get(path, headers={"Accept": "text/turtle"})
    assert (as_html.status_code, as_text.status_code) == (404, 404)
    assert (as_html.mimetype, as_text.mimetype) == ("text/html", "text/plain")
    for response in (as_html, as_text):
        assert "Accept" in response.headers.get("Vary", ""), response.mimetype


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/no/such/route", 404), ("GET", "/static/no-such-file.css", 404),
    ("POST", "/id/zone/cetdz", 405), ("DELETE", "/sparql", 405),
])
def test_plain_http_errors_lead_browsers_back_and_vary_with_accept(web_client, method, path,
                                                                   status):
    # No view of ours answered these (werkzeug's routing did): browsers get the site's page,
    # with the ways back, and the rest text; both keyed on Accept.
    as_html = web_client.open(path, method=method, headers={"Accept": BROWSER_ACCEPT})
    as_text = web_client.open(path, method=method, headers={"Accept": "text/turtle"})
    assert (as_html.status_code, as_text.status_code) == (status, status)
    assert (as_html.mimetype, as_text.mimetype) == ("text/html", "text/plain")
    page = as_html.get_data(as_text=True)
    assert 'href="/query"' in page and 'href="/"' in page
    if status == 404:
        assert 'action="/search"' in page
    else:
        assert as_html.headers["Allow"] == as_text.headers["Allow"]
        assert method not in as_html.headers["Allow"]
    for response in (as_html, as_text):
        assert "Accept" in response.headers.get("Vary", ""), response.mimetype


# --------------------------------------------------------------------------------------------
# Documents: negotiation by Accept and by extension


@pytest.mark.parametrize("extension", list(RDF_FORMATS))
def test_document_negotiated_by_accept(web_client, extension):
    media_type, rdf_format = RDF_FORMATS[extension]
    response = web_client.get("/doc/id/zone/cetdz", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Content-Location"] == f"/doc/id/zone/cetdz.{extension}"
    assert "Accept" in response.headers["Vary"]
    found = triples(response.data, rdf_format)
    # its own statements, in both languages
    assert (iri(ZONE), iri(RDFS_LABEL),
            literal("Changchun Economic and Technological Development Zone", "en")) in found
    assert (iri(ZONE), iri(RDFS_LABEL), literal("长春经济技术开发区", "zh")) in found
    # what points to it
    assert (iri(BASE + "id/observation/cetdz-area"), iri(FOI), iri(ZONE)) in found
    # labels of what it links to
    assert (iri(BASE + "id/place/changchun"), iri(RDFS_LABEL), literal("Changchun", "en")) in found
    # and nothing unrelated
    assert not any(s == iri(BASE + "id/zone/cacetdz") for s, _, _ in found)


@pytest.mark.parametrize("extension", list(RDF_FORMATS))
def test_document_by_extension(web_client, extension):
    media_type, rdf_format = RDF_FORMATS[extension]
    # The extension wins over Accept.
    response = web_client.get(f"/doc/id/zone/cetdz.{extension}",
                              headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Content-Location"] == f"/doc/id/zone/cetdz.{extension}"
    assert (iri(ZONE), iri(RDFS_LABEL), literal("长春经济技术开发区", "zh")) in triples(
        response.data, rdf_format)


def test_html_by_extension_and_by_browser_accept(web_client):
    by_extension = web_client.get("/doc/id/zone/cetdz.html", headers={"Accept": "text/turtle"})
    assert by_extension.mimetype == "text/html"
    assert by_extension.headers["Content-Location"] == "/doc/id/zone/cetdz.html"
    by_accept = web_client.get("/doc/id/zone/cetdz", headers={"Accept": BROWSER_ACCEPT})
    assert by_accept.mimetype == "text/html"
    assert by_accept.headers["Content-Location"] == "/doc/id/zone/cetdz.html"


@pytest.mark.parametrize(("accept", "expected"), [
    (None, "text/html"),
    ("*/*", "text/html"),
    ("text/turtle;q=0.5, application/ld+json;q=0.9", "application/ld+json"),
    ("application/rdf+xml;q=1, text/turtle;q=0.2, text/html;q=0.1", "application/rdf+xml"),
    ("application/n-triples, text/html;q=0.5", "application/n-triples"),
    ("text/*;q=0.5, text/turtle", "text/turtle"),
    ("application/json", "application/ld+json"),
])
def test_q_values_pick_the_format(web_client, accept, expected):
    headers = {"Accept": accept} if accept is not None else {}
    response = web_client.get("/doc/id/zone/cetdz", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == expected


def test_nothing_acceptable_is_406(web_client):
    response = web_client.get("/doc/id/zone/cetdz", headers={"Accept": "image/png, text/csv"})
    assert response.status_code == 406
    text = response.get_data(as_text=True)
    for media_type in ("text/html", "text/turtle", "application/ld+json",
                       "application/n-triples", "application/rdf+xml"):
        assert media_type in text
    assert "/doc/id/zone/cetdz.ttl" in text


def test_rdf_keeps_the_persistent_iris_when_served_elsewhere(web_store, publish_dir,
                                                             web_app_factory):
    app = web_app_factory(web_store, *publish_dir, public_base="https://mirror.example/ez/")
    response = app.test_client().get("/doc/id/zone/cetdz.nt")
    body = response.get_data(as_text=True)
    assert f"<{ZONE}>" in body
    assert "mirror.example" not in body


# --------------------------------------------------------------------------------------------
# Caching


def test_weak_etag_and_conditional_get(web_client):
    # Weak (RFC 9110 8.8.1): the same graph may be written in another statement order or with
    # other blank node labels by another process (test_store_memory_copy shows it).
    first = web_client.get("/doc/id/zone/cetdz", headers={"Accept": "text/turtle"})
    etag, weak = first.get_etag()
    assert etag and weak
    assert first.headers["ETag"] == f'W/"{etag}"'
    again = web_client.get("/doc/id/zone/cetdz", headers={
        "Accept": "text/turtle", "If-None-Match": f'W/"{etag}"'})
    assert again.status_code == 304
    assert again.data == b""
    assert again.get_etag() == (etag, True)
    assert again.headers["Content-Location"] == "/doc/id/zone/cetdz.ttl"

    other_format = web_client.get("/doc/id/zone/cetdz", headers={
        "Accept": "application/ld+json", "If-None-Match": f'"{etag}"'})
    assert other_format.status_code == 200
    assert other_format.get_etag()[0] != etag
    other_entity = web_client.get("/doc/id/zone/cacetdz.ttl")
    assert other_entity.get_etag()[0] != etag
    # The same representation by extension has the same tag.
    assert web_client.get("/doc/id/zone/cetdz.ttl").get_etag()[0] == etag


@pytest.mark.parametrize(("path", "accept"), [
    ("/doc/id/zone/cetdz.ttl", None),
    ("/doc/id/zone/cetdz", "application/ld+json"),
    ("/doc/id/zone/cetdz", BROWSER_ACCEPT),
    ("/def", BROWSER_ACCEPT),
    ("/def.nt", None),
    ("/shapes", "text/turtle"),
])
def test_if_none_match_compares_weakly(web_client, path, accept):
    # RFC 9110 13.1.2: If-None-Match uses the weak comparison, so W/"x" matches "x".
    headers = {"Accept": accept} if accept else {}
    etag, weak = web_client.get(path, headers=headers).get_etag()
    assert weak
    for condition in (f'W/"{etag}"', f'"{etag}"', f'"other", W/"{etag}"',
                      f'W/"other",W/"{etag}"'):
        again = web_client.get(path, headers={**headers, "If-None-Match": condition})
        assert again.status_code == 304, condition
        assert again.get_etag() == (etag, True)
    for condition in ('W/"other"', f'"{etag}x"', f'W/"x{etag}"'):
        assert web_client.get(path, headers={**headers, "If-None-Match": condition}
                              ).status_code == 200, condition


def test_if_none_match_star_needs_an_existing_document(web_client):
    # "*" matches only a current representation (RFC 9110 13.1.2): an unknown IRI has none.
    for path, accept in (("/doc/id/zone/does-not-exist.ttl", None),
                         ("/doc/id/zone/does-not-exist", "text/turtle"),
                         ("/doc/id/zone/does-not-exist", BROWSER_ACCEPT),
                         ("/doc/id/zone/does-not-exist.html", None)):
        headers = {"If-None-Match": "*", **({"Accept": accept} if accept else {})}
        missing = web_client.get(path, headers=headers)
        assert missing.status_code == 404, (path, accept)
        assert missing.get_etag() == (None, None)
    unknown = web_client.get("/doc", query_string={"iri": "http://nowhere.example/x"},
                             headers={"If-None-Match": "*", "Accept": "text/plain"})
    assert unknown.status_code == 404
    for path in ("/doc/id/zone/cetdz.ttl", "/doc/id/zone/cetdz.html", "/def", "/shapes.ttl"):
        assert web_client.get(path, headers={"If-None-Match": "*"}).status_code == 304, path


def test_etag_changes_with_the_release(web_store, publish_dir, web_app_factory):
    dist, manifest = publish_dir
    before = web_app_factory(web_store, dist, manifest).test_client().get(
        "/doc/id/zone/cetdz.ttl")
    changed = dict(manifest, release="0" * 64)
    after = web_app_factory(web_store, dist, changed).test_client().get("/doc/id/zone/cetdz.ttl")
    assert before.data == after.data
    assert before.get_etag()[0] != after.get_etag()[0]


# --------------------------------------------------------------------------------------------
# The entity page


def test_entity_page_shows_labels_types_statements_and_links_here(web_client):
    page = web_client.get("/doc/id/zone/cetdz", headers={"Accept": BROWSER_ACCEPT}).get_data(
        as_text=True)
    assert "<h1>Changchun Economic and Technological Development Zone</h1>" in page
    assert '<p class="title-zh" lang="zh">长春经济技术开发区</p>' in page
    # type and property labels come from the ontology
    assert ">national economic and technological development zone</a>" in page
    assert ">core industry</a>" in page and "ez:coreIndustry" in page
    assert ">automotive industry</a>" in page
    # a property without a label shows its prefixed name
    assert ">skos:altLabel<" in page
    assert 'lang="en">CETDZ</span>' in page
    # links to the data's own IRIs point to this server, not to the persistent base
    assert 'href="http://localhost/id/place/changchun"' in page
    assert 'href="https://w3id.org/ezgraph/id/place/changchun"' not in page
    # incoming links
    assert ">approval of CETDZ as a national zone, 1993</a>" in page
    # the RDF formats
    for extension in RDF_FORMATS:
        assert f'href="/doc/id/zone/cetdz.{extension}"' in page


def test_entity_page_observation_table_and_quotes(web_client):
    page = web_client.get("/doc/id/zone/cetdz.html").get_data(as_text=True)
    table = page[page.index('<table class="data observations">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 1 + 4  # header and four figures
    assert ">area</a>" in table and "面积" in table
    assert ">112</a>" in table and "square kilometre" in table  # unit label
    assert ">429,000</a>" in table and ">NUM<" in table  # unit without label: local name
    assert ">more than</a>" in table
    assert "2019-01-01 – 2019-12-31" in table
    assert "until 2023" in table
    assert "target 2025" in table and "150,000,000,000" in table
    assert "currently covers an area of 112 square kilometers" in table
    assert 'href="http://localhost/id/source/changchun-etdz"' in table
    assert ">Changchun ETDZ: Brief Introduction</a>" in table
    # the zone's own evidence
    evidence = page[page.index('<section class="evidence">'):]
    assert "approved by the State Council as a national economic and technological" in evidence
    # observations are shown in the table, not again as incoming links
    incoming = page[page.index('<section class="incoming">'):]
    assert "sosa:hasFeatureOfInterest" not in incoming
    assert ">approval of CETDZ as a national zone, 1993</a>" in incoming


def test_entity_page_links_to_the_query_behind_it(web_client):
    page = web_client.get("/doc/id/zone/cetdz.html").get_data(as_text=True)
    start = page.index('href="/query?query=') + len('href="')
    link = page[start:page.index('"', start)].replace("&amp;", "&")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["query"][0]
    assert query.lstrip().startswith("PREFIX")
    assert f"<{ZONE}>" in query
    # the query really is the page's: it runs on the endpoint and returns the quotes
    response = web_client.post("/sparql", data={"query": query},
                               headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    assert "currently covers an area of 112 square kilometers" in response.get_data(as_text=True)


def test_public_base_rewrites_html_links(web_store, publish_dir, web_app_factory):
    app = web_app_factory(web_store, *publish_dir, public_base="https://mirror.example/ez/")
    page = app.test_client().get("/doc/id/zone/cetdz.html").get_data(as_text=True)
    assert 'href="https://mirror.example/ez/id/place/changchun"' in page


def test_class_page_documents_the_term(web_client):
    page = web_client.get("/doc/def/NationalETDZ.html").get_data(as_text=True)
    assert "<h1>national economic and technological development zone</h1>" in page
    assert "国家级经济技术开发区" in page
    assert "A development zone approved by the State Council." in page
    doc = page[page.index('<section class="term-doc">'):]
    assert "Sub-class of" in doc and ">development zone</a>" in doc
    assert ">zone shape</a>" in doc  # the shape targeting it
    # its instances are incoming links
    assert ">Changchun Automotive Economic and Technological Development Zone</a>" in page


def test_property_page_shows_domain_and_range(web_client):
    page = web_client.get("/doc/def/coreIndustry.html").get_data(as_text=True)
    assert "主导产业" in page
    doc = page[page.index('<section class="term-doc">'):]
    assert "Domain" in doc and "Range" in doc
    assert 'href="http://localhost/def/Industry"' in doc


def test_shape_page_and_document_keep_blank_nodes(web_client):
    page = web_client.get("/doc/shapes/ObservationShape.html").get_data(as_text=True)
    assert "Property constraints" in page
    assert "An observation has exactly one decimal value." in page
    assert "The unit must be one of the units the records may name." in page
    assert ">square kilometre</a>" in page  # a member of the sh:in list, labelled
    assert ">indicator observation</a>" in page  # the target class
    graph = rdflib.Graph().parse(data=web_client.get("/doc/shapes/ObservationShape.ttl").data,
                                 format="turtle")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    shape = rdflib.URIRef(BASE + "shapes/ObservationShape")
    units = set()
    for constraint in graph.objects(shape, sh.property):
        for head in graph.objects(constraint, sh["in"]):
            units.update(rdflib.collection.Collection(graph, head))
    assert units == {rdflib.URIRef("http://qudt.org/vocab/unit/" + u)
                     for u in ("KiloM2", "NUM", "CCY_CNY")}


def test_named_graph_page(web_client):
    page = web_client.get("/doc/graph/source/changchun-automotive-etdz.html").get_data(
        as_text=True)
    assert "names a graph of the dataset with 5 triples" in page


# --------------------------------------------------------------------------------------------
# The ontology and shapes overviews


def test_ontology_overview_html(web_client):
    response = web_client.get("/def", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert response.headers["Content-Location"] == "/def.html"
    for label in ("development zone", "indicator observation", "quotation", "core industry",
                  "period start", "evidence"):
        assert f">{label}</a>" in page
    assert "开发区" in page and "政府设立的吸引投资的区域。" in page
    assert 'id="classes"' in page and 'id="object-properties"' in page
    assert 'id="datatype-properties"' in page


@pytest.mark.parametrize(("path", "accept"), [("/def", "text/turtle"), ("/def.ttl", None)])
def test_ontology_as_turtle_is_the_ontology_graph(web_client, path, accept):
    response = web_client.get(path, headers={"Accept": accept} if accept else {})
    assert response.mimetype == "text/turtle"
    found = triples(response.data, ox.RdfFormat.TURTLE)
    assert (iri(BASE + "def/NationalETDZ"),
            iri("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
            iri(BASE + "def/DevelopmentZone")) in found
    assert not any(s == iri(ZONE) for s, _, _ in found)


@pytest.mark.parametrize("path", ["/def", "/shapes"])
def test_overviews_are_conditional_and_forgive_a_trailing_slash(web_client, path):
    etag = web_client.get(path, headers={"Accept": BROWSER_ACCEPT}).get_etag()[0]
    again = web_client.get(path, headers={"Accept": BROWSER_ACCEPT,
                                          "If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    slash = web_client.get(path + "/")
    assert slash.status_code == 301
    assert slash.headers["Location"] == path


def test_shapes_overview(web_client):
    page = web_client.get("/shapes", headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assert ">zone shape</a>" in page and ">observation shape</a>" in page
    assert "A zone needs a label in English and Chinese." in page
    as_jsonld = web_client.get("/shapes", headers={"Accept": "application/ld+json"})
    assert as_jsonld.mimetype == "application/ld+json"
    found = triples(as_jsonld.data, ox.RdfFormat.JSON_LD)
    assert (iri(BASE + "shapes/ZoneShape"), iri("http://www.w3.org/ns/shacl#targetClass"),
            iri(BASE + "def/NationalETDZ")) in found
    assert web_client.get("/shapes.xyz").status_code == 404


# --------------------------------------------------------------------------------------------
# Any IRI, search


def test_any_iri_the_store_knows(web_client):
    response = web_client.get("/doc", query_string={"iri": "http://qudt.org/vocab/unit/KiloM2"},
                              headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert "<h1>square kilometre</h1>" in response.get_data(as_text=True)
    as_turtle = web_client.get("/doc", query_string={
        "iri": "http://qudt.org/vocab/unit/KiloM2", "format": "ttl"})
    assert as_turtle.mimetype == "text/turtle"
    assert "format=ttl" in as_turtle.headers["Content-Location"]
    ours = web_client.get("/doc", query_string={"iri": ZONE})
    assert ours.status_code == 302
    assert ours.headers["Location"].endswith("/doc/id/zone/cetdz")
    assert web_client.get("/doc", query_string={"iri": "http://nowhere.example/x"},
                          headers={"Accept": "text/plain"}).status_code == 404
    assert web_client.get("/doc").status_code == 400
    assert web_client.get("/doc", query_string={"iri": "http://a.example/<bad>"},
                          headers={"Accept": "text/plain"}).status_code == 404


def test_label_search(web_client):
    page = web_client.get("/search", query_string={"q": "changchun"}).get_data(as_text=True)
    assert 'href="http://localhost/id/zone/cetdz"' in page
    assert 'href="http://localhost/id/zone/cacetdz"' in page
    assert 'href="http://localhost/id/place/changchun"' in page
    chinese = web_client.get("/search", query_string={"q": "汽车"}).get_data(as_text=True)
    assert 'href="http://localhost/id/zone/cacetdz"' in chinese
    # quotes and backslashes are data, not query syntax
    tricky = web_client.get("/search", query_string={"q": '"} } SELECT \\ ?x'})
    assert tricky.status_code == 200
    assert "No label contains" in tricky.get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# Arbitrary data, failing stores


def test_pages_work_on_arbitrary_data(tmp_path, web_app_factory):
    from ezgraph.store import oxigraph_store_from_files

    data = tmp_path / "other.ttl"
    data.write_text(
        '@prefix ex: <http://example.org/> .\n'
        '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
        'ex:alice a ex:Person ; rdfs:label "Alice" ; ex:knows ex:bob .\n'
        'ex:bob a ex:Person ; ex:age 42 .\n', encoding="utf-8")
    store = oxigraph_store_from_files([data], workers=2)
    try:
        client = web_app_factory(store).test_client()
        page = client.get("/doc", query_string={"iri": "http://example.org/alice"})
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "<h1>Alice</h1>" in text
        # bob has statements here, so the link stays on this server
        assert 'href="/doc?iri=http://example.org/bob"' in text
        home = client.get("/")
        assert home.status_code == 200
        assert ">Person</a>" in home.get_data(as_text=True)
        assert client.get("/def", headers={"Accept": BROWSER_ACCEPT}).status_code == 200
    finally:
        store.close()


def test_etag_from_the_body_when_the_store_has_no_release(web_store, web_app_factory):
    class NoRelease(Store):
        """The fixture store, but unable to say which release it holds (as a remote one)."""

        def query(self, request: QueryRequest) -> QueryResponse:
            return web_store.query(request)

        def info(self) -> StoreInfo:
            return StoreInfo(backend="test", triples=0, release="")

    client = web_app_factory(NoRelease()).test_client()
    first = client.get("/doc/id/zone/cetdz.ttl")
    etag = first.get_etag()[0]
    assert etag == hashlib.sha256(first.data).hexdigest()[:40]
    again = client.get("/doc/id/zone/cetdz.ttl", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304
    weak = client.get("/doc/id/zone/cetdz.ttl", headers={"If-None-Match": f'W/"{etag}"'})
    assert weak.status_code == 304
    star = client.get("/doc/id/zone/atlantis.ttl", headers={"If-None-Match": "*"})
    assert star.status_code == 404


class TimingOutStore(Store):
    """A backend whose queries always run out of time (as a slow remote store would)."""

    def query(self, request: QueryRequest) -> QueryResponse:
        raise QueryTimeout(request.timeout)

    def info(self) -> StoreInfo:
        return StoreInfo(backend="test", triples=0, release="r1")


def test_store_errors_become_clear_pages():
    app = create_app(AppState(store=TimingOutStore(), timeout=0.5), {"TESTING": True})
    client = app.test_client()
    html = client.get("/doc/id/zone/cetdz", headers={"Accept": BROWSER_ACCEPT})
    assert html.status_code == 503
    assert "0.5 s time limit" in html.get_data(as_text=True)
    assert "Traceback" not in html.get_data(as_text=True)
    text = client.get("/id/zone/cetdz", headers={"Accept": "text/turtle"})
    assert text.status_code == 503
    assert text.mimetype == "text/plain"
    # the page is negotiated, so caches must know it varies with Accept
    assert "Accept" in html.headers["Vary"] and "Accept" in text.headers["Vary"]
    # as on /sparql: a time limit passed says when to try again
    sparql = client.get("/sparql", query_string={"query": "ASK {}"})
    assert sparql.status_code == 503
    assert html.headers["Retry-After"] == text.headers["Retry-After"] == sparql.headers[
        "Retry-After"]


# --------------------------------------------------------------------------------------------
# A real HTTP server, real clients


@pytest.fixture
def live_server(web_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, web_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_dereference_over_http_following_the_303(live_server):
    request = urllib.request.Request(live_server + "/id/zone/cetdz",
                                     headers={"Accept": "text/turtle"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.url == live_server + "/doc/id/zone/cetdz"
        assert response.headers.get_content_type() == "text/turtle"
        body = response.read()
    assert (iri(ZONE), iri(RDFS_LABEL), literal("长春经济技术开发区", "zh")) in triples(
        body, ox.RdfFormat.TURTLE)


def test_rdflib_parses_the_iri_url(live_server):
    graph = rdflib.Graph()
    graph.parse(live_server + "/id/zone/cetdz")
    zone = rdflib.URIRef(ZONE)
    assert (zone, rdflib.RDFS.label, rdflib.Literal("长春经济技术开发区", lang="zh")) in graph
    assert (zone, rdflib.RDF.type, rdflib.URIRef(BASE + "def/NationalETDZ")) in graph


def test_html_page_over_http(live_server):
    request = urllib.request.Request(live_server + "/id/zone/cetdz",
                                     headers={"Accept": BROWSER_ACCEPT})
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode("utf-8")
        assert response.headers.get_content_type() == "text/html"
    # links use the host the request came to
    assert f'href="{live_server}/id/place/changchun"' in page
