"""A remote store republished while ezgraph serves it: the new data, a new release and new ETags
appear within ``--release-ttl`` seconds, without a restart, and nothing of the old release is
answered any more (no 304 for an old ETag, no kept answer).

Real components only: the project's build and a second build of a changed copy of ``data/`` (one
more ``skos:altLabel`` for the CETDZ zone), published one after the other with ``ezgraph publish``
into a real ``oxigraph serve``; ``ezgraph serve --store URL`` in subprocesses in front of it,
once without a local build and once with the first build's ``--dist`` (whose manifest then names
a release the store no longer holds).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from oxigraph_server import (
    OxigraphServer,
    free_port,
    oxigraph_binary,
    real_build,
    stop_serve,
)

from ezgraph.store.remote import RemoteStore

pytestmark = pytest.mark.skipif(
    oxigraph_binary() is None, reason="the oxigraph server binary is missing (pip install oxigraph)"
)
ROOT = Path(__file__).resolve().parent.parent
NEW_NAME = "Changchun ETDZ"
ALT_LABELS = (
    "SELECT ?alt WHERE { <https://w3id.org/ezgraph/id/zone/cetdz> "
    "<http://www.w3.org/2004/02/skos/core#altLabel> ?alt } ORDER BY ?alt"
)
#: Seconds the served release is trusted before it is read again (``serve --release-ttl``).
RELEASE_TTL = 1.0
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, accept: str = "*/*", **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept, **headers})
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def publish(dist: Path, to: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ezgraph.cli", "publish", "--dist", str(dist), "--to", to],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def release_of(dist: Path) -> str:
    return json.loads((dist / "manifest.json").read_text())["release"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return real_build(tmp_path_factory.mktemp("real") / "dist")


@pytest.fixture(scope="module")
def changed_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the project's data with one more alternative name for the CETDZ zone."""
    from ezgraph.publish.build import BuildConfig, build

    work = tmp_path_factory.mktemp("changed")
    for name in ("data", "ontology", "shapes"):
        shutil.copytree(ROOT / name, work / name)
    record = work / "data" / "records" / "cetdz.yaml"
    text = record.read_text(encoding="utf-8")
    assert text.count("    alt_label: [CETDZ]\n") == 1
    record.write_text(text.replace("    alt_label: [CETDZ]\n",
                                   f"    alt_label: [CETDZ, {NEW_NAME}]\n"), encoding="utf-8")
    result = build(BuildConfig(work / "data", work / "ontology", work / "shapes", work / "dist"),
                   log=lambda _: None)
    assert result.outcome.violations == 0
    return work / "dist"


@pytest.fixture
def store_server(tmp_path: Path, dist: Path) -> Iterator[OxigraphServer]:
    with OxigraphServer(tmp_path / "db") as server:
        publish(dist, server.store_url)
        yield server


def serve(store_url: str, dist: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ezgraph.cli", "serve", "--store", store_url,
             "--dist", str(dist), "--port", str(port), "--timeout", "5",
             "--release-ttl", str(RELEASE_TTL)],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if get(url + "/health")[0] == 200:
                return process, url
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"ezgraph serve did not answer: {log.read_text()}")


def alt_labels(site: str) -> list[str]:
    url = site + "/sparql?" + urllib.parse.urlencode({"query": ALT_LABELS})
    status, _, body = get(url, "application/sparql-results+json")
    assert status == 200, body
    return [row["alt"]["value"] for row in json.loads(body)["results"]["bindings"]]


@pytest.mark.parametrize("local_build", [False, True], ids=["no-local-build", "stale-local-build"])
def test_republished_data_and_etags_appear_without_restart(
    store_server: OxigraphServer, dist: Path, changed_dist: Path, tmp_path: Path,
    local_build: bool,
) -> None:
    old_release, new_release = release_of(dist), release_of(changed_dist)
    assert old_release != new_release
    log = tmp_path / "serve.log"
    process, site = serve(store_server.query_url, dist if local_build else tmp_path / "none", log)
    try:
        doc = site + "/doc/id/zone/cetdz"
        status, headers, before = get(doc, "text/turtle")
        assert status == 200 and NEW_NAME.encode() not in before
        old_etag = headers["ETag"]
        assert get(doc, "text/turtle", **{"If-None-Match": old_etag})[0] == 304
        old_health = json.loads(get(site + "/health")[2])
        assert old_health["release"] == old_release
        assert alt_labels(site) == ["CETDZ"]
        # Asked again (and again): still the old release, and the same ETag.
        assert get(doc, "text/turtle")[1]["ETag"] == old_etag

        publish(changed_dist, store_server.store_url)
        published = time.monotonic()
        # Within RELEASE_TTL the old release may still be named; after it, only the new one.
        # (Catalogue and counts are kept 60 s: only the release re-reading makes this pass.)
        while True:
            status, headers, after = get(doc, "text/turtle")
            assert status == 200
            if headers["ETag"] != old_etag:
                break
            assert time.monotonic() - published < RELEASE_TTL + 10, "the old ETag stayed"
            time.sleep(0.1)
        seen_after = time.monotonic() - published
        new_etag = headers["ETag"]
        assert NEW_NAME.encode() in after
        assert seen_after < RELEASE_TTL + 5
        # Nothing of the old release is answered any more.
        status, headers, body = get(doc, "text/turtle", **{"If-None-Match": old_etag})
        assert status == 200 and headers["ETag"] == new_etag and NEW_NAME.encode() in body
        assert get(doc, "text/turtle", **{"If-None-Match": new_etag})[0] == 304
        status, _, page = get(doc, "text/html")
        assert status == 200 and NEW_NAME.encode() in page
        assert alt_labels(site) == ["CETDZ", NEW_NAME]
        health = json.loads(get(site + "/health")[2])
        assert health["release"] == new_release
        assert health["triples"] == old_health["triples"] + 1  # counted again
        status, _, home = get(site + "/", "text/html")
        assert status == 200 and new_release[:16].encode() in home
        if not local_build:  # the dumps are made from the store, for its release
            listing = json.loads(get(site + "/dumps/", "application/json")[2])
            assert listing["release"] == new_release

        # And back to the first build: the first release, its data and its ETag again.
        publish(dist, store_server.store_url)
        time.sleep(RELEASE_TTL + 0.2)
        status, headers, body = get(doc, "text/turtle")
        assert status == 200 and headers["ETag"] == old_etag and body == before
        assert alt_labels(site) == ["CETDZ"]
    finally:
        stop_serve(process, log)


def test_remote_store_reads_its_release_again_after_release_ttl(
    store_server: OxigraphServer, dist: Path, changed_dist: Path,
) -> None:
    following = RemoteStore(store_server.query_url, release_ttl=0.3)
    fixed = RemoteStore(store_server.query_url, release_ttl=3600)
    first = following.info()
    assert first.release == fixed.info().release == release_of(dist)
    publish(changed_dist, store_server.store_url)
    time.sleep(0.4)
    second = following.info()
    assert second.release == release_of(changed_dist)
    assert second.triples == first.triples + 1  # the counts were taken again, too
    # Kept: within release_ttl (and info_ttl) the store is not asked again.
    assert following.info() is second
    assert fixed.info().release == release_of(dist)
    fixed.refresh()
    assert fixed.info().release == release_of(changed_dist)
