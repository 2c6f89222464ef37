"""Dumps and metadata: the listing, downloads that match their SHA-256, VoID, DCAT, validation."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import pyoxigraph as ox
import pytest

pytest_plugins = ("fixtures_web.webapp",)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
VOID = "http://rdfs.org/ns/void#"


def files_of(manifest: dict) -> dict[str, dict]:
    return {entry["path"]: entry for entry in manifest["files"]}


# --------------------------------------------------------------------------------------------
# The listing


def test_listing_html(web_client, publish_dir):
    _, manifest = publish_dir
    response = web_client.get("/dumps/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Accept" in response.headers["Vary"]
    page = response.get_data(as_text=True)
    for entry in manifest["files"]:
        assert f'href="/dumps/{entry["path"]}"' in page
        assert entry["sha256"] in page
        assert f'title="{entry["bytes"]} bytes"' in page
        assert f"<code>{entry['media_type']}</code>" in page


def test_listing_json(web_client, publish_dir):
    _, manifest = publish_dir
    response = web_client.get("/dumps/", headers={"Accept": "application/json"})
    assert response.mimetype == "application/json"
    listing = response.get_json()
    assert listing["release"] == manifest["release"]
    assert [(f["path"], f["bytes"], f["sha256"], f["media_type"]) for f in listing["files"]] == [
        (f["path"], f["bytes"], f["sha256"], f["media_type"]) for f in manifest["files"]]
    assert listing["files"][0]["url"] == "http://localhost/dumps/" + manifest["files"][0]["path"]


def test_listing_not_acceptable(web_client):
    assert web_client.get("/dumps/", headers={"Accept": "image/png"}).status_code == 406


def test_listing_without_trailing_slash_redirects(web_client):
    response = web_client.get("/dumps")
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith("/dumps/")


# --------------------------------------------------------------------------------------------
# Downloads


def test_every_file_downloads_with_its_sha256(web_client, publish_dir):
    dist, manifest = publish_dir
    for entry in manifest["files"]:
        response = web_client.get(f"/dumps/{entry['path']}")
        assert response.status_code == 200, entry["path"]
        body = response.data
        assert len(body) == entry["bytes"]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]
        assert body == (dist / entry["path"]).read_bytes()
        assert response.get_etag() == (entry["sha256"], False)
        assert response.headers["Repr-Digest"] == (
            "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":")
        assert "Content-Encoding" not in response.headers
        if entry["path"].endswith(".gz"):
            assert response.mimetype == "application/gzip"
            assert response.headers["Content-Disposition"] == (
                f"attachment; filename={entry['path']}")
            gzip.decompress(body)  # a real gzip file, as saved
        else:
            assert response.mimetype == entry["media_type"]


def test_compressed_dump_is_the_dataset(web_client, publish_dir):
    _, manifest = publish_dir
    body = gzip.decompress(web_client.get("/dumps/ezgraph.nq.gz").data)
    assert hashlib.sha256(body).hexdigest() == manifest["release"]
    quads = list(ox.parse(body, format=ox.RdfFormat.N_QUADS))
    assert sum(manifest["graphs"].values()) == len(quads)


def test_download_conditional_and_range(web_client, publish_dir):
    _, manifest = publish_dir
    entry = files_of(manifest)["ezgraph.ttl"]
    cached = web_client.get("/dumps/ezgraph.ttl",
                            headers={"If-None-Match": f'"{entry["sha256"]}"'})
    assert cached.status_code == 304
    assert cached.data == b""
    # If-None-Match compares weakly (RFC 9110 13.1.2)
    weak = web_client.get("/dumps/ezgraph.ttl",
                          headers={"If-None-Match": f'W/"{entry["sha256"]}"'})
    assert weak.status_code == 304
    whole = web_client.get("/dumps/ezgraph.ttl").data
    part = web_client.get("/dumps/ezgraph.ttl", headers={"Range": "bytes=10-29"})
    assert part.status_code == 206
    assert part.data == whole[10:30]
    assert part.headers["Content-Range"] == f"bytes 10-29/{entry['bytes']}"


@pytest.mark.parametrize("header", [
    "items=0-2", "lines=1-2", "0-2",  # units this server does not serve: MUST be ignored
    "bytes=0-1,5-6", "bytes=0-0,-1", "bytes=0-9, 20-29", "bytes=-5,0-3",  # several ranges
    "bytes=0-1,999999999-",  # several, one of them satisfiable
    "bytes=5-2", "bytes=abc", "bytes=", "bytes=-", "bytes=²-³",  # invalid: ignored
])
def test_range_the_server_does_not_serve_gives_the_whole_file(web_client, publish_dir, header):
    # An unknown range unit MUST be ignored, and a satisfiable multi-range request MAY be
    # answered with the whole representation (RFC 9110 14.2): 200, never 416.
    dist, manifest = publish_dir
    entry = files_of(manifest)["ezgraph.ttl"]
    response = web_client.get("/dumps/ezgraph.ttl", headers={"Range": header})
    assert response.status_code == 200
    assert response.data == (dist / "ezgraph.ttl").read_bytes()
    assert "Content-Range" not in response.headers
    assert response.get_etag() == (entry["sha256"], False)
    assert response.mimetype == "text/turtle"
    # the other conditions still apply
    cached = web_client.get("/dumps/ezgraph.ttl", headers={
        "Range": header, "If-None-Match": f'"{entry["sha256"]}"'})
    assert cached.status_code == 304


def test_ranges_served_as_before(web_client, publish_dir):
    dist, manifest = publish_dir
    entry = files_of(manifest)["ezgraph.ttl"]
    whole, size = (dist / "ezgraph.ttl").read_bytes(), entry["bytes"]
    suffix = web_client.get("/dumps/ezgraph.ttl", headers={"Range": "bytes=-5"})
    assert (suffix.status_code, suffix.data) == (206, whole[-5:])
    assert suffix.headers["Content-Range"] == f"bytes {size - 5}-{size - 1}/{size}"
    open_ended = web_client.get("/dumps/ezgraph.ttl", headers={"Range": "bytes=7-"})
    assert (open_ended.status_code, open_ended.data) == (206, whole[7:])
    # a suffix longer than the file is the whole file, a last position past the end is the end
    # (RFC 9110 14.1.3)
    for header in (f"bytes=-{size + 10}", f"bytes=0-{size}"):
        clamped = web_client.get("/dumps/ezgraph.ttl", headers={"Range": header})
        assert (clamped.status_code, clamped.data) == (206, whole), header[:20]
        assert clamped.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    # positions werkzeug cannot read (5,000 digits) make the Range ignored: the whole file
    for header in ("bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000):
        ignored = web_client.get("/dumps/ezgraph.ttl", headers={"Range": header})
        assert (ignored.status_code, ignored.data) == (200, whole), header[:20]
    tail = web_client.get("/dumps/ezgraph.ttl", headers={"Range": f"bytes=5-{size * 2}"})
    assert (tail.status_code, tail.data) == (206, whole[5:])
    # what werkzeug's parser does not read (empty list elements, RFC 9110 5.6.1; a suffix of
    # 0; 5,000 digits) is ignored, as RFC 9110 14.2 allows: the whole file
    for header in ("bytes=2-5, ,", "bytes=-0", f"bytes={'9' * 5000}-"):
        ignored = web_client.get("/dumps/ezgraph.ttl", headers={"Range": header})
        assert (ignored.status_code, ignored.data) == (200, whole), header[:20]
    for header in (f"bytes={size}-", f"bytes={size}-{size + 9}",
                   f"bytes={size}-{size + 1},{size + 5}-"):
        unsatisfiable = web_client.get("/dumps/ezgraph.ttl", headers={"Range": header})
        assert unsatisfiable.status_code == 416, header
        assert unsatisfiable.headers["Content-Range"] == f"bytes */{size}"
    # If-Range with the current tag: the range; with another: the whole file
    current = web_client.get("/dumps/ezgraph.ttl", headers={
        "Range": "bytes=0-3", "If-Range": f'"{entry["sha256"]}"'})
    assert (current.status_code, current.data) == (206, whole[:4])
    stale = web_client.get("/dumps/ezgraph.ttl", headers={
        "Range": "bytes=0-3", "If-Range": '"stale"'})
    assert (stale.status_code, stale.data) == (200, whole)
    weak = web_client.get("/dumps/ezgraph.ttl", headers={
        "Range": "bytes=0-3", "If-Range": f'W/"{entry["sha256"]}"'})
    assert (weak.status_code, weak.data) == (200, whole)  # If-Range compares strongly
    # preconditions come before the range (RFC 9110 13.2.2)
    tag = f'"{entry["sha256"]}"'
    for conditions, status in (({"If-None-Match": tag}, 304),
                               ({"If-None-Match": f"W/{tag}"}, 304),
                               ({"If-None-Match": '"other"'}, 206),
                               ({"If-Match": '"other"'}, 412),
                               ({"If-Match": tag}, 206),
                               ({"If-Match": tag, "If-Range": tag}, 206)):
        ranged = web_client.get("/dumps/ezgraph.ttl", headers={"Range": "bytes=0-3",
                                                               **conditions})
        assert ranged.status_code == status, conditions
        if status == 206:
            assert ranged.data == whole[:4]
        else:
            assert whole[:4] not in ranged.data  # no file with a 304 or a 412
    stale = web_client.get("/dumps/ezgraph.ttl", headers={"If-Match": '"other"',
                                                          "Accept": "text/plain"})
    assert stale.status_code == 412 and whole[:4] not in stale.data
    assert web_client.get("/dumps/ezgraph.ttl", headers={"If-Match": tag}).data == whole
    # a gzipped dump is ranged over its bytes as stored
    gz = web_client.get("/dumps/ezgraph.nq.gz", headers={"Range": "bytes=0-1"})
    assert (gz.status_code, gz.data) == (206, b"\x1f\x8b")


def test_every_download_has_one_content_type_with_one_charset(
    web_store, publish_dir, web_app_factory
):
    # `ezgraph build` writes the text report's media type with its charset parameter.
    dist, manifest = publish_dir
    built = dict(manifest, files=[
        dict(f, media_type=f["media_type"] + "; charset=utf-8")
        if f["media_type"].startswith("text/") else f for f in manifest["files"]])
    client = web_app_factory(web_store, dist, built).test_client()
    for entry in [*built["files"], {"path": "manifest.json", "media_type": "application/json"}]:
        for method in (client.get, client.head):
            response = method(f"/dumps/{entry['path']}")
            assert response.status_code == 200, entry["path"]
            content_type = response.headers.getlist("Content-Type")
            assert len(content_type) == 1, content_type
            essence, _, parameters = content_type[0].partition(";")
            names = [p.split("=")[0].strip().lower() for p in parameters.split(";") if p.strip()]
            assert len(names) == len(set(names)), content_type  # RFC 6838 4.3
            expected = ("application/gzip" if entry["path"].endswith(".gz")
                        else entry["media_type"].split(";")[0])
            assert essence == expected
            if essence.startswith("text/"):
                assert names == ["charset"] and response.mimetype_params == {"charset": "utf-8"}
    report = client.head("/dumps/validation-report.txt")
    assert report.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_manifest_is_downloadable(web_client, publish_dir):
    _, manifest = publish_dir
    response = web_client.get("/dumps/manifest.json")
    assert response.status_code == 200
    assert json.loads(response.data) == manifest


@pytest.mark.parametrize("name", [
    "nothing.ttl", "../manifest.json", "..%2Fvoid.ttl", "store/CURRENT", "/etc/passwd",
])
def test_only_listed_files_are_served(web_client, name):
    # (werkzeug first redirects a doubled slash to the merged path)
    response = web_client.get("/dumps/" + name, headers={"Accept": "text/plain"},
                              follow_redirects=True)
    assert response.status_code == 404


def test_not_found_pages_vary_with_accept(web_client, web_store, web_app_factory):
    no_build = web_app_factory(web_store).test_client()
    for client, path in ((web_client, "/dumps/nothing.ttl"), (no_build, "/validation"),
                         (no_build, "/.well-known/void")):
        for accept, mimetype in ((BROWSER_ACCEPT, "text/html"), ("text/turtle", "text/plain")):
            response = client.get(path, headers={"Accept": accept})
            assert (response.status_code, response.mimetype) == (404, mimetype), path
            assert "Accept" in response.headers.get("Vary", ""), (path, accept)


def test_listed_but_missing_file_is_404(web_store, publish_dir, web_app_factory, tmp_path):
    _, manifest = publish_dir
    client = web_app_factory(web_store, tmp_path, manifest).test_client()
    response = client.get("/dumps/ezgraph.ttl", headers={"Accept": "text/plain"})
    assert response.status_code == 404
    assert "missing" in response.get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# VoID, DCAT


def test_void_turtle_by_default(web_client, publish_dir):
    dist, _ = publish_dir
    for accept in ("*/*", "text/turtle"):
        response = web_client.get("/.well-known/void", headers={"Accept": accept})
        assert response.status_code == 200
        assert response.mimetype == "text/turtle"
        assert response.data == (dist / "void.ttl").read_bytes()
        assert "Accept" in response.headers["Vary"]


def test_void_as_json_ld_and_html(web_client):
    as_jsonld = web_client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert as_jsonld.mimetype == "application/ld+json"
    found = {(str(q.subject), str(q.predicate), str(q.object))
             for q in ox.parse(as_jsonld.data, format=ox.RdfFormat.JSON_LD)}
    assert ("<https://w3id.org/ezgraph/dataset>", f"<{VOID}triples>",
            '"176"^^<http://www.w3.org/2001/XMLSchema#integer>') in found

    page = web_client.get("/.well-known/void", headers={"Accept": BROWSER_ACCEPT})
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "ezgraph: China&#39;s national ETDZs" in text
    assert 'href="http://localhost/dataset"' in text  # the data's IRIs link here
    assert ">176<" in text


def test_void_conditional_get(web_client):
    etag = web_client.get("/.well-known/void").get_etag()[0]
    again = web_client.get("/.well-known/void", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/.well-known/void", "/catalog", "/validation"])
@pytest.mark.parametrize("accept", ["text/turtle", BROWSER_ACCEPT, "application/ld+json"])
def test_metadata_if_none_match_compares_weakly(web_client, path, accept):
    # RFC 9110 13.1.2: If-None-Match uses the weak comparison, so W/"x" matches "x".
    etag = web_client.get(path, headers={"Accept": accept}).get_etag()[0]
    for condition in (f'W/"{etag}"', f'"other", W/"{etag}"', "*"):
        again = web_client.get(path, headers={"Accept": accept, "If-None-Match": condition})
        assert again.status_code == 304, condition
        assert again.get_etag() == (etag, False)
        assert "Accept" in again.headers["Vary"]
    assert web_client.get(path, headers={"Accept": accept, "If-None-Match": 'W/"other"'}
                          ).status_code == 200


def test_catalog(web_client, publish_dir):
    dist, _ = publish_dir
    response = web_client.get("/catalog", headers={"Accept": "text/turtle"})
    assert response.data == (dist / "dcat.ttl").read_bytes()
    page = web_client.get("/catalog", headers={"Accept": BROWSER_ACCEPT}).get_data(as_text=True)
    assert "ezgraph catalogue" in page
    as_rdfxml = web_client.get("/catalog", headers={"Accept": "application/rdf+xml"})
    assert as_rdfxml.mimetype == "application/rdf+xml"
    assert len(list(ox.parse(as_rdfxml.data, format=ox.RdfFormat.RDF_XML))) == len(
        list(ox.parse((dist / "dcat.ttl").read_bytes(), format=ox.RdfFormat.TURTLE)))
    assert web_client.get("/catalog", headers={"Accept": "image/png"}).status_code == 406


# --------------------------------------------------------------------------------------------
# The validation report


def test_validation_page(web_client):
    response = web_client.get("/validation", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The data conforms to the" in page
    assert "1 Warning" in page
    assert "A zone should have a description." in page
    assert 'href="http://localhost/id/zone/cacetdz"' in page
    # resources are named with their labels from the data
    assert ">Changchun Automotive Economic and Technological Development Zone</a>" in page
    assert ">zone shape</a>" in page
    assert "MinCountConstraintComponent" in page
    assert "Results (1):" in page  # the text report


def test_validation_as_turtle_and_text(web_client, publish_dir):
    dist, _ = publish_dir
    turtle = web_client.get("/validation", headers={"Accept": "text/turtle"})
    assert turtle.mimetype == "text/turtle"
    assert turtle.data == (dist / "validation-report.ttl").read_bytes()
    text = web_client.get("/validation", headers={"Accept": "text/plain"})
    assert text.mimetype == "text/plain"
    assert text.data == (dist / "validation-report.txt").read_bytes()


def test_failed_validation_is_shown(web_store, publish_dir, web_app_factory, tmp_path):
    dist, manifest = publish_dir
    failing = tmp_path / "dist"
    failing.mkdir()
    (failing / "validation-report.ttl").write_text(
        (dist / "validation-report.ttl").read_text(encoding="utf-8")
        .replace("sh:conforms true", "sh:conforms false")
        .replace("sh:Warning", "sh:Violation"), encoding="utf-8")
    client = web_app_factory(web_store, failing, dict(manifest, conforms=False)).test_client()
    page = client.get("/validation").get_data(as_text=True)
    assert "does not conform" in page
    assert "1 Violation" in page
    assert "The report as text" not in page  # no text report in this directory


# --------------------------------------------------------------------------------------------
# Without a publish directory


@pytest.mark.parametrize("path", [
    "/dumps/ezgraph.ttl", "/.well-known/void", "/catalog", "/validation",
])
def test_no_publish_directory_is_a_clear_404(web_store, web_app_factory, path):
    client = web_app_factory(web_store).test_client()
    as_text = client.get(path, headers={"Accept": "text/plain"})
    assert as_text.status_code == 404
    assert "no publish directory" in as_text.get_data(as_text=True)
    as_html = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert as_html.status_code == 404
    assert as_html.mimetype == "text/html"
    assert "no publish directory" in as_html.get_data(as_text=True)


def test_without_a_publish_directory_dumps_are_built_from_the_store(
    web_store, web_app_factory, fixture_paths
):
    from ezgraph.publish.dumps import canonical

    client = web_app_factory(web_store).test_client()
    listing = client.get("/dumps/", headers={"Accept": "application/json"}).get_json()
    files = {f["path"]: f for f in listing["files"]}
    assert set(files) == {"ezgraph.nq.gz", "ezgraph.trig"}
    assert listing["release"] == web_store.info().release
    dump = client.get("/dumps/ezgraph.nq.gz")
    assert dump.status_code == 200 and dump.mimetype == "application/gzip"
    assert hashlib.sha256(dump.data).hexdigest() == files["ezgraph.nq.gz"]["sha256"]
    # What the build would write for the quads the store holds (Oxigraph keeps literals in
    # canonical form: "112.0"^^xsd:decimal is "112"): canonical blank nodes, sorted.
    held = ox.Store()
    held.load(path=str(fixture_paths["dataset"]), format=ox.RdfFormat.TRIG)
    quads = list(held)
    assert gzip.decompress(dump.data) == ox.serialize(canonical(quads),
                                                      format=ox.RdfFormat.N_QUADS)
    again = client.get("/dumps/ezgraph.nq.gz",
                       headers={"If-None-Match": f'"{files["ezgraph.nq.gz"]["sha256"]}"'})
    assert again.status_code == 304  # built once per release, then served as a file
    trig = client.get("/dumps/ezgraph.trig")
    assert len(list(ox.parse(trig.data, format=ox.RdfFormat.TRIG))) == len(quads)
    page = client.get("/dumps/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and b"ezgraph.trig" in page.data
