"""An ezgraph web app over a small fixture dataset and a publish directory made from it.

Used by tests/test_linked_data.py, test_ui.py and test_dumps_routes.py (which load this module
with ``pytest_plugins``, so they take everything from it as fixtures). The publish directory is
written the way docs/architecture.md describes ``ezgraph build``'s (dumps, VoID, DCAT, the
validation report, manifest.json with sizes and SHA-256), from ``dataset.trig``, so the routes
can be tested before and independently of the real build.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from flask import Flask

from ezgraph.store import oxigraph_store_from_files
from ezgraph.store.base import Store
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web.app import create_app
from ezgraph.web.state import AppState

HERE = Path(__file__).parent
DATASET = HERE / "dataset.trig"
QUERIES = HERE / "queries"
BASE = "https://w3id.org/ezgraph/"
ZONE = BASE + "id/zone/cetdz"
ONTOLOGY_GRAPH = BASE + "graph/ontology"
SHAPES_GRAPH = BASE + "graph/shapes"

_MEDIA_TYPES = {
    ".trig": "application/trig",
    ".nq.gz": "application/n-quads",
    ".ttl": "text/turtle",
    ".nt.gz": "application/n-triples",
    ".jsonld": "application/ld+json",
    ".rdf": "application/rdf+xml",
    ".txt": "text/plain",
}


def _media_type(name: str) -> str:
    for suffix, media_type in _MEDIA_TYPES.items():
        if name.endswith(suffix):
            return media_type
    raise ValueError(name)


def _graph_triples(dataset: ox.Dataset, graph: str | None) -> list[ox.Triple]:
    quads = dataset if graph is None else (
        q for q in dataset if q.graph_name == ox.NamedNode(graph))
    return sorted({ox.Triple(q.subject, q.predicate, q.object) for q in quads}, key=str)


def write_publish_dir(out: Path) -> dict[str, Any]:
    """Write the publish directory for ``dataset.trig`` into ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    dataset = ox.Dataset(ox.parse(path=DATASET, format=ox.RdfFormat.TRIG))
    quads = sorted(dataset, key=str)
    nquads = ox.serialize(quads, format=ox.RdfFormat.N_QUADS)
    merged = _graph_triples(dataset, None)
    prefixes = {"ez": BASE + "def/", "id": BASE + "id/"}

    (out / "ezgraph.trig").write_bytes(
        ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=prefixes))
    (out / "ezgraph.nq.gz").write_bytes(gzip.compress(nquads, mtime=0))
    (out / "ezgraph.ttl").write_bytes(
        ox.serialize(merged, format=ox.RdfFormat.TURTLE, prefixes=prefixes))
    (out / "ezgraph.nt.gz").write_bytes(
        gzip.compress(ox.serialize(merged, format=ox.RdfFormat.N_TRIPLES), mtime=0))
    (out / "ezgraph.jsonld").write_bytes(ox.serialize(merged, format=ox.RdfFormat.JSON_LD))
    (out / "ezgraph.rdf").write_bytes(ox.serialize(merged, format=ox.RdfFormat.RDF_XML))
    (out / "ontology.ttl").write_bytes(ox.serialize(
        _graph_triples(dataset, ONTOLOGY_GRAPH), format=ox.RdfFormat.TURTLE, prefixes=prefixes))
    (out / "shapes.ttl").write_bytes(ox.serialize(
        _graph_triples(dataset, SHAPES_GRAPH), format=ox.RdfFormat.TURTLE, prefixes=prefixes))
    for name in ("void.ttl", "dcat.ttl", "validation-report.ttl", "validation-report.txt"):
        shutil.copyfile(HERE / name, out / name)

    files = []
    for path in sorted(out.iterdir()):
        if path.name == "manifest.json" or not path.is_file():
            continue
        data = path.read_bytes()
        files.append({
            "path": path.name,
            "media_type": _media_type(path.name),
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "description": f"fixture {path.name}",
        })
    graphs: dict[str, int] = {}
    for quad in quads:
        graphs[quad.graph_name.value] = graphs.get(quad.graph_name.value, 0) + 1
    manifest = {
        "version": "test",
        "base": BASE,
        "release": hashlib.sha256(nquads).hexdigest(),
        "triples": len(merged),
        "graphs": graphs,
        "files": files,
        "conforms": True,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


@pytest.fixture(scope="module")
def web_store() -> Iterator[OxigraphStore]:
    store = oxigraph_store_from_files([DATASET], workers=2)
    yield store
    store.close()


@pytest.fixture(scope="session")
def fixture_paths() -> dict[str, Any]:
    return {"base": BASE, "zone": ZONE, "dataset": DATASET, "queries": QUERIES}


@pytest.fixture(scope="module")
def publish_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("dist")
    return out, write_publish_dir(out)


def make_web_app(store: Store, dist: Path | None = None,
                 manifest: dict[str, Any] | None = None, **fields: Any) -> Flask:
    """The real app over ``store``; ``queries_dir`` sets QUERIES_DIR, the rest are AppState
    fields."""
    config = {"TESTING": True, "QUERIES_DIR": str(fields.pop("queries_dir", QUERIES))}
    state = AppState(store=store, dist=dist, manifest=manifest, **fields)
    return create_app(state, config)


@pytest.fixture(scope="session")
def web_app_factory() -> Callable[..., Flask]:
    """:func:`make_web_app`, for tests that need an app with other settings."""
    return make_web_app


@pytest.fixture(scope="module")
def web_app(web_store: OxigraphStore, publish_dir: tuple[Path, dict[str, Any]]) -> Flask:
    dist, manifest = publish_dir
    return make_web_app(web_store, dist, manifest)


@pytest.fixture
def web_client(web_app: Flask):  # noqa: ANN201 - FlaskClient
    return web_app.test_client()
