"""The documents of a release made once from the in-memory copies (:mod:`ezgraph.store.pages`):
the same bytes as a description on request, shared between processes, taken over from a
process that died, and never in the way when they cannot be made."""

from __future__ import annotations

import fcntl
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ezgraph.namespaces import DEFAULT_BASE, LABEL_PREDICATES, prefixes_for
from ezgraph.publish.build import BuildConfig, build
from ezgraph.store.base import DescribeRequest
from ezgraph.store.oxigraph import IN_PROCESS_BUDGET, OxigraphStore
from ezgraph.store.pages import PARTS, Pages, PageSpec, subject_iris
from ezgraph.store.worker import DescribeJob, label_index, run_describe
from ezgraph.web.linked_data import document_pages

ROOT = Path(__file__).resolve().parents[1]
SPEC = document_pages(10_000)
ZONE = f"{DEFAULT_BASE}id/zone/cetdz"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pages") / "dist"
    build(BuildConfig(ROOT / "data", ROOT / "ontology", ROOT / "shapes", out), log=lambda _: None)
    return out


@pytest.fixture
def dist(built: Path, tmp_path: Path) -> Path:
    """A publish directory of its own for each test (the documents are written into it)."""
    return Path(shutil.copytree(built, tmp_path / "dist"))


def _request(iri: str, media_type: str = "text/turtle") -> DescribeRequest:
    return DescribeRequest(iri=iri, media_type=media_type, label_predicates=SPEC.label_predicates,
                           blank_node_depth=SPEC.blank_node_depth, max_triples=SPEC.max_triples)


def _open(dist: Path, spec: PageSpec | None = SPEC) -> OxigraphStore:
    return OxigraphStore(dist / "store", workers=2, in_memory=True, cache_bytes=0, pages=spec)


def _wait_for_pages(store: OxigraphStore, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while store._pages is None:
        assert time.monotonic() < deadline, "the documents were not made"
        store._reader.get()
        time.sleep(0.05)


def _pages_of(dist: Path) -> Pages:
    import json

    release = json.loads((dist / "manifest.json").read_text())["release"]
    return Pages(dist, release, SPEC, tuple(prefixes_for(DEFAULT_BASE).items()))


def test_every_document_is_made_as_a_description_on_request_writes_it(dist: Path) -> None:
    store = _open(dist)
    try:
        _wait_for_pages(store)
        assert sorted(p.name for p in dist.glob("pages-*.sqlite")) \
            == sorted(p.name for p in _pages_of(dist)._paths)
        copy = store._reader.get()
        assert store._reader.in_memory
        labels = {LABEL_PREDICATES: label_index(copy, LABEL_PREDICATES)}
        iris = subject_iris(copy, DEFAULT_BASE)
        assert len(iris) > 500 and ZONE in iris
        for iri in iris:
            made = store._pages.get(iri)  # type: ignore[union-attr]
            live = run_describe(copy, DescribeJob(
                iri=iri, graph_media_type="text/turtle", label_predicates=LABEL_PREDICATES,
                blank_node_depth=SPEC.blank_node_depth, max_triples=SPEC.max_triples,
                prefixes=tuple(prefixes_for(DEFAULT_BASE).items())), IN_PROCESS_BUDGET, labels)
            assert made is not None and live is not None
            assert made == (live.body, live.truncated)
        # The store answers from them, with no worker and no description.
        store._pool.run = _no_worker  # type: ignore[method-assign]
        answer = store.describe(_request(ZONE))
        assert answer is not None and answer.form == "DESCRIBE"
        assert "长春经济技术开发区" in answer.body.decode()
    finally:
        store.close()


def _no_worker(job: Any, timeout: float) -> Any:
    raise AssertionError("asked a worker")


def test_other_requests_are_described_on_request(dist: Path) -> None:
    store = _open(dist)
    try:
        _wait_for_pages(store)
        # Another format, other labels, an IRI not under the base, an unknown IRI.
        as_json = store.describe(_request(ZONE, "application/ld+json"))
        assert as_json is not None and as_json.body.lstrip().startswith((b"[", b"{"))
        plain = store.describe(DescribeRequest(ZONE, "text/turtle", (), SPEC.blank_node_depth,
                                               max_triples=SPEC.max_triples))
        made = store._pages.get(ZONE)  # type: ignore[union-attr]
        assert plain is not None and made is not None
        assert len(plain.body) < len(made[0])  # no labels of the resources it names
        assert store._pages.get(f"{DEFAULT_BASE}id/zone/nowhere") is None  # type: ignore[union-attr]
        assert store.describe(_request(f"{DEFAULT_BASE}id/zone/nowhere")) is None
        assert store.describe(_request("http://www.w3.org/2002/07/owl#Class")) is not None
    finally:
        store.close()


def test_two_processes_share_the_work_and_read_the_same_documents(dist: Path) -> None:
    # What a process that died while writing part 2 left behind.
    stale = _pages_of(dist)._paths[2]
    leftovers = [stale.with_name(f"{stale.name}.99999999.tmp"),
                 stale.with_suffix(".bin").with_name(f"{stale.stem}.bin.99999999.tmp")]
    for leftover in leftovers:
        leftover.write_bytes(b"half written")
    stores = [_open(dist), _open(dist)]
    try:
        for store in stores:
            _wait_for_pages(store)
        first, second = (store.describe(_request(ZONE)) for store in stores)
        assert first is not None and second is not None and first.body == second.body
        assert len(list(dist.glob("pages-*.sqlite"))) == PARTS
        assert not list(dist.glob("*.tmp"))  # the leftovers too
    finally:
        for store in stores:
            store.close()


def test_a_part_another_process_claimed_and_never_wrote_is_written_here(
    dist: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    part = _pages_of(dist)._paths[3]
    caplog.set_level(logging.INFO, logger="ezgraph.store.pages")
    # A process that claims part 3, then dies: its claim ends with it.
    with open(part.with_suffix(".lock"), "a") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        store = _open(dist)
        deadline = time.monotonic() + 60
        others = [path for path in _pages_of(dist)._paths if path != part]
        while not all(path.is_file() for path in others):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)
        assert store._pages is None and not part.exists()  # waiting for part 3
    try:
        _wait_for_pages(store)
        assert part.is_file() and store.describe(_request(ZONE)) is not None
        assert f"{part.name}: " in caplog.text
    finally:
        store.close()


def test_documents_that_cannot_be_written_leave_every_page_described(
    dist: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    # A lock file that cannot be opened, as in a read-only publish directory.
    (_pages_of(dist)._paths[0].with_suffix(".lock")).mkdir()
    caplog.set_level(logging.WARNING, logger="ezgraph.store.oxigraph")
    store = _open(dist)
    try:
        deadline = time.monotonic() + 60
        while "could not be made" not in caplog.text:
            assert time.monotonic() < deadline
            store._reader.get()
            time.sleep(0.05)
        assert store._pages is None
        answer = store.describe(_request(ZONE))
        assert answer is not None and "长春经济技术开发区" in answer.body.decode()
        assert not list(dist.glob("*.tmp"))
    finally:
        store.close()


def test_another_release_or_spec_has_files_of_its_own(dist: Path) -> None:
    prefixes = tuple(prefixes_for(DEFAULT_BASE).items())
    names = {tuple(Pages(dist, release, spec, prefixes)._paths)
             for release in ("a", "b") for spec in (SPEC, document_pages(200_000))}
    assert len(names) == 4


def test_a_part_is_written_whole_or_not_at_all(dist: Path) -> None:
    pages = _pages_of(dist)

    def failing(iri: str) -> tuple[bytes, bool] | None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        pages.make([ZONE], failing)
    part = pages._paths[Pages.part_of(ZONE)]
    assert not part.exists() and not part.with_suffix(".bin").exists()
    assert not list(dist.glob("*.tmp"))
    assert not pages.complete()


def test_the_server_in_memory_answers_resolution_from_the_documents(dist: Path) -> None:
    from ezgraph.web.wsgi import create_app_from_env

    app = create_app_from_env({"EZGRAPH_DIST": str(dist), "EZGRAPH_IN_MEMORY": "1"})
    state = app.extensions["ezgraph"]
    try:
        _wait_for_pages(state.store)
        client = app.test_client()
        see_other = client.get("/id/zone/cetdz", headers={"Accept": "text/turtle"})
        assert see_other.status_code == 303
        document = client.get(see_other.headers["Location"], headers={"Accept": "text/turtle"})
        assert document.status_code == 200
        assert document.data == state.store._pages.get(ZONE)[0]
        # Through Flask (an extension names the format), the same bytes.
        assert client.get("/doc/id/zone/cetdz.ttl").data == document.data
    finally:
        state.store.close()


# Threads read the documents each from their own connection.
def test_documents_are_read_from_many_threads(dist: Path) -> None:
    store = _open(dist)
    try:
        _wait_for_pages(store)
        copy = store._reader.get()
        iris = subject_iris(copy, DEFAULT_BASE)[:200]
        expected = {iri: store._pages.get(iri) for iri in iris}  # type: ignore[union-attr]
        failures: list[BaseException] = []

        def read() -> None:
            try:
                for iri in iris:
                    assert store._pages.get(iri) == expected[iri]  # type: ignore[union-attr]
            except BaseException as error:  # noqa: BLE001 - reported below
                failures.append(error)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
    finally:
        store.close()

