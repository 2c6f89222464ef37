"""``ezgraph serve --store http://...`` end to end: the real build published into a real
``oxigraph serve``, ezgraph's HTTP server in a subprocess in front of it, SPARQLWrapper as the
client; then the store goes away (503 with Retry-After, no traceback) and comes back (answers
again, nothing restarted)."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from oxigraph_server import (
    OxigraphServer,
    free_port,
    oxigraph_binary,
    real_build,
    stop_serve,
)
from SPARQLWrapper import JSON, SPARQLWrapper

from ezgraph.store.base import QueryRequest
from ezgraph.store.oxigraph import OxigraphStore

pytestmark = pytest.mark.skipif(
    oxigraph_binary() is None, reason="the oxigraph server binary is missing (pip install oxigraph)"
)
ZONES = (
    "SELECT ?zone ?label WHERE { ?zone a <https://w3id.org/ezgraph/def/NationalETDZ> ; "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?zone ?label"
)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def get(url: str, accept: str = "*/*", opener: urllib.request.OpenerDirector = _OPENER
        ) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_build(tmp_path_factory.mktemp("real") / "dist")


@pytest.fixture(scope="module")
def store_server(dist: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[OxigraphServer]:
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph") / "db")
    server.start()
    try:
        published = subprocess.run(
            [sys.executable, "-m", "ezgraph.cli", "publish", "--dist", str(dist),
             "--to", server.store_url], capture_output=True, text=True, timeout=120)
        assert published.returncode == 0, published.stderr
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def site(store_server: OxigraphServer, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[str]:
    """``ezgraph serve --store URL`` with no local build (dumps come from the store)."""
    port = free_port()
    no_build = tmp_path_factory.mktemp("empty") / "dist"
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ezgraph.cli", "serve", "--store", store_server.query_url,
             "--dist", str(no_build), "--port", str(port), "--timeout", "5"],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if get(url + "/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail(f"ezgraph serve did not answer: {log.read_text()}")
        yield url
    finally:
        stop_serve(process, log)


def sparql(url: str, query: str) -> dict:
    client = SPARQLWrapper(url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    client.setTimeout(30)
    return client.query().convert()  # type: ignore[return-value]


def test_sparql_entity_pages_and_dumps_from_the_remote_store(site: str, dist: Path) -> None:
    answer = sparql(site, ZONES)
    with OxigraphStore(dist / "store", workers=2) as embedded:
        expected = json.loads(embedded.query(QueryRequest(ZONES)).body)
        health = json.loads(get(site + "/health")[2])
        assert health["triples"] == embedded.info().triples
    assert answer["results"]["bindings"] == expected["results"]["bindings"]
    assert len(answer["results"]["bindings"]) >= 2
    manifest = json.loads((dist / "manifest.json").read_text())
    assert (health["backend"], health["release"]) == ("remote", manifest["release"])

    status, headers, _ = get(site + "/id/zone/cetdz", "text/turtle", _NO_REDIRECT)
    assert status == 303 and headers["Location"].endswith("/doc/id/zone/cetdz")
    status, headers, body = get(site + "/doc/id/zone/cetdz", "text/turtle")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    triples = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
    assert any(t.object.value == "长春经济技术开发区" for t in triples)
    status, _, page = get(site + "/doc/id/zone/cetdz", "text/html")
    assert status == 200 and b"cetdz" in page

    # The dump is built from the store: byte for byte the build's, SHA-256 = the release id.
    status, headers, dump = get(site + "/dumps/ezgraph.nq.gz")
    assert status == 200 and headers["Content-Type"] == "application/gzip"
    assert dump == (dist / "ezgraph.nq.gz").read_bytes()
    assert hashlib.sha256(dump).hexdigest().startswith(manifest["release"])
    listing = json.loads(get(site + "/dumps/", "application/json")[2])
    assert {f["path"] for f in listing["files"]} == {"ezgraph.nq.gz", "ezgraph.trig"}
    trig = next(f for f in listing["files"] if f["path"] == "ezgraph.trig")
    status, headers, body = get(site + "/dumps/ezgraph.trig")
    assert hashlib.sha256(body).hexdigest() == trig["sha256"]
    assert len(list(ox.parse(body, format=ox.RdfFormat.TRIG))) == len(
        gzip.decompress(dump).splitlines())
    assert get(site + "/dumps/ezgraph.ttl", "text/plain")[0] == 404


def test_void_and_catalog_come_from_the_store_metadata_graph(site: str, dist: Path) -> None:
    # No publish directory here: VoID and DCAT are read from the metadata graph that
    # `ezgraph publish --to` loaded, and hold what the build's own store holds there.
    embedded = ox.Store.read_only(str(dist / "store"))
    built = {str(q.triple) for q in embedded.quads_for_pattern(
        None, None, None, ox.NamedNode("https://w3id.org/ezgraph/graph/metadata"))}
    assert len(built) > 50
    for path, kind in (("/.well-known/void", "http://rdfs.org/ns/void#Dataset"),
                       ("/catalog", "http://www.w3.org/ns/dcat#Catalog")):
        status, headers, body = get(site + path, "text/turtle")
        assert status == 200 and headers["Content-Type"].startswith("text/turtle"), path
        served = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
        assert any(t.object.value == kind for t in served), path
        # Blank nodes get other labels on the way; every other statement is the build's.
        assert {str(t) for t in served if not any(
            isinstance(term, ox.BlankNode) for term in (t.subject, t.object))} <= built
        status, _, page = get(site + path, "text/html")
        assert status == 200 and b"<html" in page
    status, _, body = get(site + "/validation", "text/plain")
    assert status == 404 and b"no publish directory" in body


def test_store_down_gives_503_then_recovers(site: str, store_server: OxigraphServer) -> None:
    before = sparql(site, ZONES)
    store_server.kill()
    try:
        query_url = site + "/sparql?" + urllib.parse.urlencode({"query": ZONES})
        status, headers, body = get(query_url, "application/sparql-results+json")
        assert status == 503
        assert int(headers["Retry-After"]) > 0
        text = body.decode()
        assert "unreachable" in text and str(store_server.port) in text
        assert "Traceback" not in text
        status, headers, body = get(site + "/doc/id/zone/caetdz", "text/html")
        assert status == 503 and "Retry-After" in headers and b"Traceback" not in body
        assert get(site + "/health")[0] == 503
        # SPARQLWrapper passes a 503 on as urllib's HTTPError, headers included.
        with pytest.raises(urllib.error.HTTPError) as caught:
            sparql(site, ZONES)
        assert caught.value.code == 503 and caught.value.headers["Retry-After"]
    finally:
        store_server.start()
    deadline = time.monotonic() + 15
    while get(query_url, "application/sparql-results+json")[0] != 200:
        assert time.monotonic() < deadline, "ezgraph did not recover when the store came back"
        time.sleep(0.2)
    assert sparql(site, ZONES) == before
    assert get(site + "/doc/id/zone/caetdz", "text/html")[0] == 200
