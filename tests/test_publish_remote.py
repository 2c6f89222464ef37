"""``ezgraph publish --to URL`` into a real ``oxigraph serve``, by Graph Store Protocol and by
SPARQL Update in chunks: the store ends up holding exactly the build (same quads, blank nodes
included), the counts are checked and reported, and failures name the graph and the chunk."""

from __future__ import annotations

import gzip
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from oxigraph_server import OxigraphServer, free_port, oxigraph_binary, real_build

from ezgraph.publish.dumps import canonical
from ezgraph.publish.remote import chunks, endpoints_for, read_release
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.store.remote import RemoteStore

pytestmark = pytest.mark.skipif(
    oxigraph_binary() is None, reason="the oxigraph server binary is missing (pip install oxigraph)"
)
EZGRAPH = [sys.executable, "-m", "ezgraph.cli"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_build(tmp_path_factory.mktemp("real") / "dist")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OxigraphServer]:
    with OxigraphServer(tmp_path / "db") as running:
        yield running


def publish(dist: Path, to: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EZGRAPH, "publish", "--dist", str(dist), "--to", to, *options],
                          capture_output=True, text=True, timeout=120)


def store_quads(server: OxigraphServer) -> list[ox.Quad]:
    """Everything the store holds, read back with a Graph Store Protocol GET."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(server.store_url,
                                     headers={"Accept": "application/n-quads"})
    with opener.open(request, timeout=30) as response:
        return list(ox.parse(response.read(), format=ox.RdfFormat.N_QUADS))


def assert_holds_the_build(server: OxigraphServer, dist: Path) -> None:
    metadata = read_release(dist).base + "graph/metadata"
    quads = store_quads(server)
    data = [q for q in quads if q.graph_name.value != metadata]
    # Canonical blank node labels: equal bytes mean the same quads, blank nodes included.
    expected = gzip.decompress((dist / "ezgraph.nq.gz").read_bytes())
    assert ox.serialize(canonical(data), format=ox.RdfFormat.N_QUADS) == expected
    with OxigraphStore(dist / "store", workers=2) as embedded:
        assert len(quads) == embedded.info().triples


@pytest.mark.parametrize(("endpoint", "options", "method"), [
    ("store", (), "Graph Store Protocol"),
    ("update", (), "SPARQL Update"),
    ("update", ("--chunk-size", "50"), "SPARQL Update"),
    ("update", ("--method", "update", "--chunk-size", "5000"), "SPARQL Update"),
])
def test_publish_loads_the_build_and_checks_it(
    dist: Path, server: OxigraphServer, endpoint: str, options: tuple[str, ...], method: str
) -> None:
    to = f"{server.base}/{endpoint}"
    result = publish(dist, to, *options)
    assert result.returncode == 0, result.stderr
    assert method in result.stdout
    assert "graph/metadata" in result.stdout and "MISMATCH" not in result.stdout
    assert "triples checked in the store" in result.stdout
    assert_holds_the_build(server, dist)
    remote = RemoteStore(server.query_url)
    manifest_release = read_release(dist).release
    assert remote.info().release == manifest_release  # read back from the metadata graph
    with OxigraphStore(dist / "store", workers=2) as embedded:
        assert remote.info().graphs == embedded.info().graphs
    if options == ("--chunk-size", "50"):
        shapes = next(line for line in result.stdout.splitlines() if "graph/shapes" in line)
        assert int(shapes.split()[3]) > 30  # requests: 1595 triples in chunks of about 50


def test_republishing_replaces_graphs_and_removes_stale_ones(dist: Path,
                                                            server: OxigraphServer) -> None:
    base = read_release(dist).base
    stale = f"{base}graph/source/withdrawn-source"
    other = "http://example.org/not-ours"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for graph in (stale, other, f"{base}graph/ontology"):
        request = urllib.request.Request(
            f"{server.store_url}?graph={graph}", method="PUT",
            data=b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .",
            headers={"Content-Type": "application/n-triples"})
        opener.open(request, timeout=10).close()
    first = publish(dist, server.store_url)
    assert first.returncode == 0, first.stderr
    assert f"removed {stale}" in first.stdout
    graphs = {q.graph_name.value for q in store_quads(server)}
    assert stale not in graphs and other in graphs  # only graphs under the base are ours
    second = publish(dist, server.update_url)  # again, the other way: the same result
    assert second.returncode == 0, second.stderr
    assert "removed" not in second.stdout
    metadata = f"{base}graph/metadata"
    data = [q for q in store_quads(server) if q.graph_name.value not in (other, metadata)]
    expected = gzip.decompress((dist / "ezgraph.nq.gz").read_bytes())
    assert ox.serialize(canonical(data), format=ox.RdfFormat.N_QUADS) == expected


def test_failures_name_the_graph_and_the_chunk(dist: Path, server: OxigraphServer) -> None:
    # The query endpoint does not take updates: the first chunk fails, and says so.
    wrong = publish(dist, server.query_url, "--method", "update")
    assert wrong.returncode == 2
    assert "loading graph <https://w3id.org/ezgraph/graph/ontology>, chunk 1 of 1" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    nowhere = f"http://127.0.0.1:{free_port()}/store"
    down = publish(dist, nowhere)
    assert down.returncode == 2
    assert nowhere in down.stderr and "Traceback" not in down.stderr
    missing = publish(dist.parent / "no-such-dist", server.store_url)
    assert missing.returncode == 2 and "run `ezgraph build` first" in missing.stderr


def test_endpoints_follow_the_store_layouts() -> None:
    oxigraph = endpoints_for("http://127.0.0.1:7878/store")
    assert (oxigraph.method, oxigraph.query_candidates[0]) == ("gsp", "http://127.0.0.1:7878/query")
    fuseki = endpoints_for("http://h:3030/ds/update")
    assert fuseki.method == "update" and "http://h:3030/ds/query" in fuseki.query_candidates
    virtuoso = endpoints_for("http://dba:dba@h:8890/sparql-graph-crud-auth")
    assert virtuoso.method == "gsp" and "http://dba:dba@h:8890/sparql" in virtuoso.query_candidates
    assert endpoints_for("http://h:8890/sparql").query_candidates[0] == "http://h:8890/sparql"


def test_chunks_keep_blank_nodes_together(dist: Path) -> None:
    shapes = read_release(dist).graphs[read_release(dist).base + "graph/shapes"]
    groups = chunks(shapes, 20)
    assert sum(len(group) for group in groups) == len(shapes)
    where: dict[str, int] = {}
    for number, group in enumerate(groups):
        for triple in group:
            for term in (triple.subject, triple.object):
                if isinstance(term, ox.BlankNode):
                    assert where.setdefault(term.value, number) == number
    assert len(where) > 50 and len(groups) > 10
    assert max(len(group) for group in groups) < 200
