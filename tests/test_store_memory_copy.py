"""In-memory copies of a built store: :mod:`ezgraph.store.memory_copy`, and an
:class:`OxigraphStore` that reads its copies once they are loaded (``in_memory=True``)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from ezgraph.publish.build import BuildConfig, build
from ezgraph.store.base import DescribeRequest, QueryRequest
from ezgraph.store.memory_copy import (
    CopyMismatch,
    CopySource,
    _statements_by_predicate,
    copy_source,
    load_copy,
)
from ezgraph.store.oxigraph import OxigraphStore

ROOT = Path(__file__).resolve().parents[1]
JSON = "application/sparql-results+json"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("memory") / "dist"
    build(BuildConfig(ROOT / "data", ROOT / "ontology", ROOT / "shapes", out), log=lambda _: None)
    return out


def _copy_of(dist: Path, target: Path) -> Path:
    shutil.copytree(dist, target)
    return target


def _without_blank_labels(store: ox.Store) -> list[str]:
    """The store's quads as N-Quads lines, blank node labels blanked (each load mints its own)."""
    lines = []
    for quad in store.quads_for_pattern(None, None, None, None):
        terms = [quad.subject, quad.predicate, quad.object, quad.graph_name]
        lines.append(" ".join("_:" if isinstance(t, ox.BlankNode) else str(t) for t in terms))
    return sorted(lines)


def test_the_copy_holds_what_the_store_holds(dist: Path) -> None:
    disk = ox.Store.read_only(str(dist / "store"))
    copy = load_copy(_source(dist), disk)
    assert len(copy) == len(disk) > 5000
    assert _without_blank_labels(copy) == _without_blank_labels(disk)


def _blank_node_shapes(store: ox.Store) -> list[tuple[str, ...]]:
    """Each blank node's statements (blank nodes among them blanked), one sorted tuple per node:
    equal for two stores only if no blank node of one is split in two in the other."""
    statements: dict[str, list[str]] = {}
    for quad in store.quads_for_pattern(None, None, None, None):
        terms = [quad.subject, quad.predicate, quad.object, quad.graph_name]
        line = " ".join("_:" if isinstance(t, ox.BlankNode) else str(t) for t in terms)
        for position, term in enumerate(terms):
            if isinstance(term, ox.BlankNode):
                statements.setdefault(term.value, []).append(f"{position} {line}")
    return sorted(tuple(sorted(lines)) for lines in statements.values())


def test_the_copy_keeps_each_blank_node_one_node(dist: Path) -> None:
    """The copy is loaded in groups and each load names blank nodes anew: a blank node's
    statements with different predicates must still meet in one node (the ontology's
    ``owl:unionOf`` lists are such nodes)."""
    disk = ox.Store.read_only(str(dist / "store"))
    shapes = _blank_node_shapes(disk)
    assert sum(1 for shape in shapes if len(shape) > 2) > 10
    assert _blank_node_shapes(load_copy(_source(dist), disk)) == shapes


def test_statements_are_grouped_by_predicate_whole() -> None:
    lines = [
        b"<http://x/a> <http://x/p> <http://x/b> .\n",
        b"<http://x/a> <http://x/q> \"1 2\" .\n",
        b"_:n <http://x/p> <http://x/c> .\n",
        b"<http://x/c> <http://x/q> _:n .\n",
        b"# a comment\n",
        b"<http://x/d>\t<http://x/p>\t<http://x/e> .\n",
        b"<http://x/d> <http://x/p> <http://x/f> .",
    ]
    groups = {key: bytes(group) for key, group in _statements_by_predicate(lines).items()}
    assert groups[b"<http://x/p>"] == lines[0] + lines[6] + b"\n"
    assert groups[b"<http://x/q>"] == lines[1]
    assert groups[b"_:"].startswith(lines[2] + lines[3])
    # Lines not split by single spaces land whole somewhere, so nothing is lost.
    assert sorted(b"".join(groups.values()).splitlines()) == sorted(
        line.rstrip(b"\n") for line in lines)


def test_a_dump_that_is_not_the_manifest_release_is_refused(dist: Path, tmp_path: Path) -> None:
    other = _copy_of(dist, tmp_path / "dist")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["release"] = "0123456789abcdef"
    (other / "manifest.json").write_text(json.dumps(manifest))
    disk = ox.Store.read_only(str(other / "store"))
    with pytest.raises(CopyMismatch, match="is not the dump of release 0123456789abcdef"):
        load_copy(_source(other), disk)


def test_files_holding_another_number_of_quads_are_refused(dist: Path, tmp_path: Path) -> None:
    other = _copy_of(dist, tmp_path / "dist")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["quads"] -= 1  # the store then holds one quad more than the files say
    (other / "manifest.json").write_text(json.dumps(manifest))
    disk = ox.Store.read_only(str(other / "store"))
    with pytest.raises(CopyMismatch, match=r"hold \d+ quads, the store \d+"):
        load_copy(_source(other), disk)


def test_a_missing_metadata_file_is_an_error(dist: Path, tmp_path: Path) -> None:
    other = _copy_of(dist, tmp_path / "dist")
    (other / "dcat.ttl").unlink()
    disk = ox.Store.read_only(str(other / "store"))
    with pytest.raises(OSError):
        load_copy(_source(other), disk)


def test_a_store_without_a_manifest_has_no_copy_source(tmp_path: Path) -> None:
    assert copy_source(tmp_path / "store", None) is None
    assert copy_source(tmp_path / "store", {"base": "https://x/", "release": "r"}) is None
    assert copy_source(tmp_path / "store", {"base": 1, "release": "r", "quads": 3}) is None


def test_a_store_asked_for_a_copy_without_a_manifest_says_so(caplog: pytest.LogCaptureFixture,
                                                            tmp_path: Path) -> None:
    data = tmp_path / "one.nt"
    data.write_text("<http://example.org/a> <http://example.org/p> <http://example.org/b> .\n")
    from ezgraph.store.oxigraph import oxigraph_store_from_files

    with caplog.at_level("WARNING"):
        store = oxigraph_store_from_files([data], workers=2, in_memory=True)
    try:
        assert any("no manifest.json beside it" in r.getMessage() for r in caplog.records)
        assert _values(store, "SELECT ?o WHERE { <http://example.org/a> ?p ?o }") == {
            "http://example.org/b"}
    finally:
        store.close()


def _source(dist: Path) -> CopySource | None:
    return copy_source(dist / "store", json.loads((dist / "manifest.json").read_text()))


def _marked_dist(dist: Path, target: Path) -> tuple[Path, str, str, str]:
    """A publish directory whose dump says one thing its store does not: one literal reads
    "read from memory" (quad count kept, the release renamed to the new dump's digest). What
    an answer says then tells whether the store or the copy was read."""
    other = _copy_of(dist, target)
    lines = gzip.decompress((other / "ezgraph.nq.gz").read_bytes()).decode().splitlines()
    for index, line in enumerate(lines):
        quad = next(iter(ox.parse(line.encode(), format=ox.RdfFormat.N_QUADS)))
        if (isinstance(quad.subject, ox.NamedNode) and "/id/zone/" in quad.subject.value
                and isinstance(quad.object, ox.Literal) and quad.object.language == "en"):
            marked = ox.Quad(quad.subject, quad.predicate,
                             ox.Literal("read from memory", language="en"), quad.graph_name)
            lines[index] = str(marked) + " ."
            break
    else:
        raise AssertionError("no English literal about a zone in the dump")
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    (other / "ezgraph.nq.gz").write_bytes(data)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["release"] = hashlib.sha256(data).hexdigest()[:16]
    (other / "manifest.json").write_text(json.dumps(manifest))
    return other, quad.subject.value, quad.predicate.value, quad.object.value


def _values(store: OxigraphStore, query: str) -> set[str]:
    body = json.loads(store.query(QueryRequest(query=query, results_media_type=JSON,
                                               timeout=10)).body)
    return {row["o"]["value"] for row in body["results"]["bindings"]}


def test_the_store_answers_from_its_copies_once_they_are_loaded(dist: Path,
                                                                 tmp_path: Path) -> None:
    marked, subject, predicate, original = _marked_dist(dist, tmp_path / "dist")
    store = OxigraphStore(marked / "store", workers=2, in_memory=True)
    try:
        # A lookup is read in this process; the FILTER makes a query for the workers.
        queries = {
            "here": "SELECT ?o WHERE {{ <{s}> <{p}> ?o }} # {n}",
            "worker": "SELECT ?o WHERE {{ <{s}> <{p}> ?o FILTER(LANG(?o) = 'en') }} # {n}",
        }
        seen: dict[str, list[bool]] = {name: [] for name in queries}
        deadline = time.monotonic() + 60
        n = 0
        # Every answer is the store's or the copy's; in the end, six in a row are the copy's.
        while any(seen[name][-6:] != [True] * 6 for name in queries):
            assert time.monotonic() < deadline, seen
            for name, query in queries.items():
                n += 1
                values = _values(store, query.format(s=subject, p=predicate, n=n))
                assert "read from memory" in values or original in values
                seen[name].append("read from memory" in values)
            time.sleep(0.05)
        description = store.describe(DescribeRequest(
            iri=subject, media_type="text/turtle", label_predicates=(), blank_node_depth=1))
        assert description is not None and b"read from memory" in description.body
    finally:
        store.close()


def test_a_copy_that_cannot_be_made_leaves_the_store_on_disk(dist: Path, tmp_path: Path) -> None:
    other = _copy_of(dist, tmp_path / "dist")
    (other / "void.ttl").write_text("this is not Turtle")
    store = OxigraphStore(other / "store", workers=2, in_memory=True)
    try:
        copy = store._reader._memory
        assert copy is not None and copy.wait(60)
        assert copy.failed and copy.store is None
        count = "SELECT (COUNT(*) AS ?o) WHERE { ?s ?p ?x }"
        assert int(next(iter(_values(store, count)))) == len(ox.Store.read_only(
            str(other / "store")))
    finally:
        store.close()


def test_the_environment_switch_is_checked(dist: Path) -> None:
    from ezgraph.web.serve import ServeError
    from ezgraph.web.wsgi import create_app_from_env

    with pytest.raises(ServeError, match="EZGRAPH_IN_MEMORY must be 1 or 0"):
        create_app_from_env({"EZGRAPH_DIST": str(dist), "EZGRAPH_IN_MEMORY": "maybe"})


def test_only_a_publish_directory_is_copied_into_memory(tmp_path: Path) -> None:
    from ezgraph.web.serve import ServeError, load_state

    with pytest.raises(ServeError, match="publish directory's store only"):
        load_state(dist=None, data_files=[tmp_path / "x.ttl"], in_memory=True)


def test_lookups_read_from_memory_are_answered_as_a_worker_answers_them(
    dist: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    zone = "https://w3id.org/ezgraph/id/zone/cetdz"
    cases = [
        (f"SELECT ?p ?o WHERE {{ <{zone}> ?p ?o }}", {}),  # counted first, then written once
        (f"SELECT ?p ?o WHERE {{ <{zone}> ?p ?o }}", {"max_rows": 2}),  # more than the cap
        (f"SELECT ?p ?o WHERE {{ <{zone}> ?p ?o }} LIMIT 5", {}),
        (f"SELECT ?p ?o WHERE {{ <{zone}> ?p ?o }}", {"results_media_type": "text/csv"}),
    ]
    store = OxigraphStore(dist / "store", workers=2, in_memory=True, cache_bytes=0)
    try:
        deadline = time.monotonic() + 60
        while not (store._reader.get() is not None and store._reader.in_memory):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sent: list[str] = []
        run = store._pool.run
        asked = {query for query, _ in cases}

        def recording(job: Any, timeout: float) -> Any:
            if getattr(job, "query", None) in asked:  # not the store's own counts
                sent.append(job.query)
            return run(job, timeout)

        monkeypatch.setattr(store._pool, "run", recording)
        here = [store.query(QueryRequest(query, **fields)) for query, fields in cases]
        assert sent == []
        monkeypatch.setattr(store, "_lookup_written_here", lambda request, lookup: None)
        monkeypatch.setattr(store, "_query_here", lambda job, lookup: None)
        there = [store.query(QueryRequest(query, **fields)) for query, fields in cases]
        assert len(sent) == len(cases)
    finally:
        store.close()
    # Without ORDER BY, the order of the solutions is the store's own: the copy's and the
    # disk's (a worker may not have loaded its copy yet) differ. What they are must not.
    for mine, theirs in zip(here, there, strict=True):
        assert (mine.media_type, mine.truncated) == (theirs.media_type, theirs.truncated)
        assert len(_rows(mine)) == len(_rows(theirs)) > 1
    # A LIMIT or the row cap keep the first solutions: the same ones only in the same order.
    for index in (0, 3):
        assert _rows(here[index]) == _rows(there[index])
    assert [answer.truncated for answer in here] == [False, True, False, False]


def _rows(response: Any) -> list[str]:
    if response.media_type == JSON:
        bindings = json.loads(response.body)["results"]["bindings"]
        return sorted(json.dumps(row, sort_keys=True) for row in bindings)
    return sorted(response.body.decode().splitlines())


def test_serving_a_publish_directory_in_memory_reads_its_copy(dist: Path) -> None:
    from ezgraph.cli import _parser
    from ezgraph.web.serve import load_state

    args = _parser().parse_args(["serve", "--dist", str(dist), "--in-memory"])
    state = load_state(dist=args.dist, in_memory=args.in_memory, workers=2)
    try:
        deadline = time.monotonic() + 60
        while not (state.store._reader.get() is not None and state.store._reader.in_memory):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        count = "SELECT (COUNT(*) AS ?o) WHERE { ?s ?p ?x }"
        assert int(next(iter(_values(state.store, count)))) == len(
            ox.Store.read_only(str(dist / "store")))
    finally:
        state.store.close()


def test_the_wsgi_environment_serves_in_memory(dist: Path) -> None:
    from ezgraph.web.wsgi import create_app_from_env

    app = create_app_from_env({"EZGRAPH_DIST": str(dist), "EZGRAPH_IN_MEMORY": "1",
                               "EZGRAPH_QUERY_WORKERS": "2"})
    store = app.extensions["ezgraph"].store
    try:
        assert store._reader._copy_source == _source(dist)
        assert store._pool._copy == _source(dist)  # the workers are handed the copy too
    finally:
        store.close()


def _describe_every_subject(store: ox.Store, labels: Any, budget: Any = None) -> dict[str, Any]:
    from ezgraph.namespaces import LABEL_PREDICATES, prefixes_for
    from ezgraph.store.worker import DescribeJob, run_describe

    prefixes = tuple(prefixes_for("https://w3id.org/ezgraph/").items())
    subjects = sorted({quad.subject.value for quad in store.quads_for_pattern(None, None, None)
                       if isinstance(quad.subject, ox.NamedNode)})
    return {iri: run_describe(store, DescribeJob(
        iri=iri, graph_media_type="text/turtle", label_predicates=LABEL_PREDICATES,
        blank_node_depth=3, max_triples=100_000, prefixes=prefixes), budget, labels)
        for iri in subjects}


def test_an_index_of_the_copys_labels_describes_as_reading_them_does(dist: Path) -> None:
    from ezgraph.namespaces import LABEL_PREDICATES
    from ezgraph.store.worker import LabelIndex, label_index

    copy = load_copy(_source(dist), ox.Store.read_only(str(dist / "store")))
    index = label_index(copy, LABEL_PREDICATES)
    assert isinstance(index, LabelIndex)
    read = _describe_every_subject(copy, {})
    indexed = _describe_every_subject(copy, {LABEL_PREDICATES: index})
    assert len(read) > 500
    assert not any(outcome.truncated for outcome in read.values())
    assert sum(b"@zh" in outcome.body for outcome in read.values()) > 500
    # Byte for byte, English and Chinese labels in the same order: a document's ETag names
    # its bytes, and the web process (with the index) and a worker (without) both write it.
    assert [outcome.body for outcome in indexed.values()] \
        == [outcome.body for outcome in read.values()]
    # A resource with no label is in no index entry, and still named in documents.
    unlabeled = {quad.object for quad in copy.quads_for_pattern(None, None, None)
                 if isinstance(quad.object, ox.NamedNode) and quad.object not in index}
    assert unlabeled


def test_a_copy_writes_some_documents_as_other_bytes_of_the_same_graph(dist: Path) -> None:
    # Why documents' ETags are weak (ezgraph.web.linked_data): a copy orders statements
    # otherwise than the disk store, and labels blank nodes anew.
    from rdflib import Graph
    from rdflib.compare import isomorphic

    disk = ox.Store.read_only(str(dist / "store"))
    from_disk = _describe_every_subject(disk, {})
    from_copy = _describe_every_subject(load_copy(_source(dist), disk), {})
    assert from_disk.keys() == from_copy.keys()
    differ = [iri for iri in from_disk if from_disk[iri].body != from_copy[iri].body]
    assert differ
    for iri in differ:
        graphs = [Graph().parse(data=outcome.body, format="turtle")
                  for outcome in (from_disk[iri], from_copy[iri])]
        assert isomorphic(*graphs), iri


def test_with_the_label_index_a_page_naming_many_resources_stays_within_budget() -> None:
    from ezgraph.namespaces import LABEL_PREDICATES
    from ezgraph.store.worker import Budget, DescribeJob, label_index, run_describe

    store = ox.Store()
    hub = ox.NamedNode("http://example.org/hub")
    label = ox.NamedNode(LABEL_PREDICATES[1])
    links = ox.NamedNode("http://example.org/links")
    for i in range(200):
        item = ox.NamedNode(f"http://example.org/item/{i}")
        store.add(ox.Quad(hub, links, item))
        if i % 2:  # half of them have no label: the index says so without a lookup
            store.add(ox.Quad(item, label, ox.Literal(f"item {i}", language="en")))
    job = DescribeJob(iri=hub.value, graph_media_type="application/n-triples",
                      label_predicates=LABEL_PREDICATES, blank_node_depth=1,
                      max_triples=100_000)
    budget = Budget(triples=2_000, reads=64)
    # Read one by one, the labels of 200 resources take 1,200 lookups: past the budget.
    assert run_describe(store, job, budget, {}) is None
    outcome = run_describe(store, job, budget, {LABEL_PREDICATES: label_index(store,
                                                                              LABEL_PREDICATES)})
    assert outcome is not None and not outcome.truncated
    assert outcome.body.count(b"item ") == 100 and outcome.body.count(b"/links>") == 200
    assert outcome.body == run_describe(store, job, None, {}).body


def test_the_store_describes_from_its_copy_with_the_label_index(dist: Path) -> None:
    from ezgraph.namespaces import LABEL_PREDICATES, prefixes_for
    from ezgraph.store.worker import DescribeJob, LabelIndex, run_describe

    zone = "https://w3id.org/ezgraph/id/zone/cetdz"
    store = OxigraphStore(dist / "store", workers=2, in_memory=True, cache_bytes=0)
    try:
        deadline = time.monotonic() + 60
        while not store._reader.in_memory:
            assert time.monotonic() < deadline
            store._reader.get()
            time.sleep(0.05)
        reader = store._reader.get()
        assert isinstance(store._reader.labels_for(reader)[LABEL_PREDICATES], LabelIndex)

        def no_worker(job: Any, timeout: float) -> Any:
            raise AssertionError("described by a worker, not from this process's copy")

        store._pool.run = no_worker  # type: ignore[method-assign]
        mine = store.describe(DescribeRequest(iri=zone, media_type="text/turtle",
                                              label_predicates=LABEL_PREDICATES,
                                              blank_node_depth=3))
        # As the copy describes it when each label is read from it (as a worker does).
        theirs = run_describe(reader, DescribeJob(
            iri=zone, graph_media_type="text/turtle", label_predicates=LABEL_PREDICATES,
            blank_node_depth=3, max_triples=100_000,
            prefixes=tuple(prefixes_for("https://w3id.org/ezgraph/").items())), None, {})
        assert mine is not None and theirs is not None
        assert mine.body == theirs.body and "长春经济技术开发区" in mine.body.decode()
    finally:
        store.close()
