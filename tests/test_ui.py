"""Home page and query editor, and the promise that no page loads anything from elsewhere."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from ezgraph.store.base import QueryRequest, QueryResponse, QueryTimeout, Store, StoreInfo
from ezgraph.web.ui import example_queries

pytest_plugins = ("fixtures_web.webapp",)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
STATIC = Path(__file__).parents[1] / "src" / "ezgraph" / "web" / "static"


# --------------------------------------------------------------------------------------------
# What a page loads


class ResourceLoads(HTMLParser):
    """Every URL an HTML page makes a browser fetch by itself (not links a reader may follow)."""

    LOADING_RELS = {"stylesheet", "icon", "preload", "modulepreload", "manifest", "prefetch",
                    "preconnect", "dns-prefetch", "apple-touch-icon", "mask-icon"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "img", "iframe", "source", "video", "audio", "embed", "track",
                   "input") and values.get("src"):
            self.urls.append(values["src"])
        if tag in ("img", "source") and values.get("srcset"):
            self.urls.extend(part.split()[0] for part in values["srcset"].split(","))
        if tag == "link" and set(values.get("rel", "").lower().split()) & self.LOADING_RELS:
            self.urls.append(values.get("href", ""))
        if tag == "object" and values.get("data"):
            self.urls.append(values["data"])
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.urls.append(values.get("content", "").partition("url=")[2])
        if values.get("style"):
            self.urls.extend(css_urls(values["style"]))
        if values.get("background"):
            self.urls.append(values["background"])
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(css_urls(data))

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False


def css_urls(css: str) -> list[str]:
    found = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    found += re.findall(r"@import\s+['\"]([^'\"]+)", css)
    return found


def is_outside(url: str) -> bool:
    """True for a URL that leaves the server the page came from (the test client's host)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme == "data":
        return False
    if parts.scheme or url.strip().startswith("//"):
        return parts.netloc != "localhost"
    return False


PAGES = [
    "/", "/query", "/query?query=SELECT%20*%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D",
    "/doc/id/zone/cetdz", "/doc/def/NationalETDZ", "/doc/shapes/ObservationShape", "/def",
    "/shapes", "/dumps/", "/validation", "/.well-known/void", "/catalog",
    "/search?q=changchun", "/id/zone/atlantis", "/doc/graph/source/changchun-etdz",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_elsewhere(web_client, path):
    response = web_client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert response.mimetype == "text/html"
    loads = ResourceLoads()
    loads.feed(response.get_data(as_text=True))
    assert loads.urls, "every page loads at least its stylesheet"
    outside = [url for url in loads.urls if is_outside(url)]
    assert outside == []
    for url in loads.urls:
        fetched = web_client.get(url)
        assert fetched.status_code == 200, url


def test_pages_link_data_iris_but_do_not_load_them(web_client):
    """The data's outside IRIs (Wikidata, QUDT) are shown as links a reader may follow."""
    page = web_client.get("/doc/id/place/changchun.html").get_data(as_text=True)
    assert 'href="http://www.wikidata.org/entity/Q45170"' in page
    loads = ResourceLoads()
    loads.feed(page)
    assert not any("wikidata" in url for url in loads.urls)


@pytest.mark.parametrize("name", ["ezgraph.css", "query-editor.css",
                                  "vendor/yasgui/yasgui.min.css"])
def test_stylesheets_load_nothing_from_elsewhere(web_client, name):
    response = web_client.get("/assets/" + name)
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    urls = css_urls(response.get_data(as_text=True))
    assert [url for url in urls if is_outside(url)] == []


def test_editor_script_switches_off_every_outside_service(web_client):
    script = web_client.get("/assets/query-editor.js")
    assert script.status_code == 200
    text = script.get_data(as_text=True)
    # no "class" and "property" completers: they ask Linked Open Vocabularies
    assert 'var OFFLINE_COMPLETERS = ["prefixes", "variables"];' in text
    assert "defaults.prefixCcApi = null;" in text
    assert "Yasgui.defaults.corsProxy = undefined;" in text
    assert "defaults.createShortLink = undefined;" in text
    assert "return [{ endpoint: config.endpoint }];" in text  # not DBpedia, Wikidata
    assert "tabConfig.requestConfig.endpoint = config.endpoint;" in text  # shared links
    assert not re.search(r"https?://", text)
    vendored = web_client.get("/assets/vendor/yasgui/yasgui.min.js")
    assert vendored.status_code == 200
    assert vendored.mimetype in ("text/javascript", "application/javascript")
    assert (STATIC / "vendor" / "yasgui" / "LICENSE").is_file()


# --------------------------------------------------------------------------------------------
# Home


def test_home_page(web_client, publish_dir):
    _, manifest = publish_dir
    response = web_client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<span class="stat-n">{manifest["triples"]:,}</span>' in page
    assert '<span class="stat-n">4</span><span class="stat-l">named graphs</span>' in page
    # the zones, linked here, in both languages, with their figures
    assert ('<a href="http://localhost/id/zone/cetdz" class="card-title">Changchun Economic and '
            'Technological Development Zone</a>') in page
    assert "长春汽车经济技术开发区" in page
    assert "4 figures" in page and "0 figures" in page
    # per-class counts, labelled from the ontology
    row = re.search(r'national economic and technological development\s+zone</a>.*?'
                    r'<td class="num">(\d+)</td>', page, re.S)
    assert row and row.group(1) == "2"
    # the ways in
    for href in ('href="/query"', 'href="http://localhost/sparql"', 'href="/def"',
                 'href="/shapes"', 'href="/dumps/"', 'href="/validation"',
                 'href="/.well-known/void"', 'href="/catalog"'):
        assert href in page
    assert manifest["release"][:16] in page


def test_home_page_conditional_get(web_client):
    first = web_client.get("/")
    etag, weak = first.get_etag()
    assert etag and weak  # some choices follow the store's order: the same page, maybe not bytes
    again = web_client.get("/", headers={"If-None-Match": f'W/"{etag}"'})
    assert again.status_code == 304
    assert again.get_etag() == (etag, True)


def test_home_page_if_none_match_compares_weakly(web_client):
    # RFC 9110 13.1.2: If-None-Match uses the weak comparison, so W/"x" matches "x".
    etag = web_client.get("/").get_etag()[0]
    for condition in (f'W/"{etag}"', f'"{etag}"', f'"other", W/"{etag}"', "*"):
        again = web_client.get("/", headers={"If-None-Match": condition})
        assert again.status_code == 304, condition
        assert again.get_etag() == (etag, True)
    assert web_client.get("/", headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_home_page_store_error_varies_with_accept(web_app_factory):
    class TimingOut(Store):
        def query(self, request: QueryRequest) -> QueryResponse:
            raise QueryTimeout(request.timeout)

        def info(self) -> StoreInfo:
            return StoreInfo(backend="test", triples=0, release="r1")

    client = web_app_factory(TimingOut(), timeout=0.5).test_client()
    as_html = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    as_text = client.get("/", headers={"Accept": "text/plain"})
    assert (as_html.status_code, as_text.status_code) == (503, 503)
    assert (as_html.mimetype, as_text.mimetype) == ("text/html", "text/plain")
    assert "Traceback" not in as_html.get_data(as_text=True)
    for response in (as_html, as_text):
        assert "Accept" in response.headers.get("Vary", "")


def test_home_page_without_a_publish_directory(web_store, web_app_factory):
    page = web_app_factory(web_store).test_client().get("/").get_data(as_text=True)
    assert "Changchun Economic and Technological Development Zone" in page
    assert 'href="/dumps/"' not in page.split("<main", 1)[1]
    assert 'href="/.well-known/void"' not in page


# --------------------------------------------------------------------------------------------
# Query editor


def editor_config(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="editor-config">(.*?)</script>',
                      page, re.S)
    assert match
    return json.loads(match.group(1))


def test_query_editor_offers_the_example_queries(web_client):
    response = web_client.get("/query")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    config = editor_config(page)
    assert config["endpoint"] == "http://localhost/sparql"
    assert [e["title"] for e in config["examples"]] == ["National ETDZs",
                                                        "Figures with their quotes"]
    assert config["examples"][0]["description"].startswith("Every national economic")
    assert "SELECT ?zone ?name" in config["examples"][0]["query"]
    assert config["query"] == ""
    assert "ez:NationalETDZ" in config["starter"]
    assert config["dataBase"] == "https://w3id.org/ezgraph/"
    assert config["publicBase"] == "http://localhost/"
    # the example list links to shareable editor URLs
    assert 'href="/query?query=%23+title:+National+ETDZs%0A%23+description:' in page
    assert "/assets/vendor/yasgui/yasgui.min.js" in page
    assert "/assets/query-editor.js" in page


def test_query_editor_prefills_a_shared_query(web_client):
    query = 'SELECT ?s WHERE { ?s ?p "<b>&" }'
    response = web_client.get("/query", query_string={"query": query})
    page = response.get_data(as_text=True)
    assert editor_config(page)["query"] == query
    assert "<b>&" not in page.split('id="editor-config">', 1)[1]  # escaped inside the script
    assert "&lt;b&gt;&amp;" in page  # and in the no-script form


def test_query_editor_without_example_queries(web_store, web_app_factory, tmp_path):
    client = web_app_factory(web_store, queries_dir=tmp_path / "missing").test_client()
    page = client.get("/query").get_data(as_text=True)
    assert editor_config(page)["examples"] == []
    assert "Example queries" not in page


def test_example_query_files(tmp_path):
    (tmp_path / "b.rq").write_text("# title: Second\n# description: two\nASK {}\n",
                                   encoding="utf-8")
    (tmp_path / "a.rq").write_text("#title:First\nSELECT * {}\n# title: not a header\n",
                                   encoding="utf-8")
    (tmp_path / "c-no-header.rq").write_text("SELECT * {}\n", encoding="utf-8")
    (tmp_path / "broken.rq").write_bytes(b"# title: \xff\xfe\n")
    (tmp_path / "notes.txt").write_text("# title: ignored\n", encoding="utf-8")
    examples = example_queries(tmp_path)
    assert [(e.name, e.title, e.description) for e in examples] == [
        ("a", "First", ""), ("b", "Second", "two"), ("c-no-header", "c no header", "")]


def test_the_sparql_endpoint_sends_browsers_to_the_editor(web_client):
    response = web_client.get("/sparql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code in (302, 303)
    assert urllib.parse.urlsplit(response.headers["Location"]).path == "/query"


# --------------------------------------------------------------------------------------------
# In a real browser


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


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def page_requests(net_log: Path) -> list[tuple[str, str, str]]:
    """(method, URL, initiator) of every request in a Chromium net log; the browser's own
    background requests have the initiator "not an origin", a page's have the page's origin."""
    text = net_log.read_text(encoding="utf-8")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # the log of a browser that was stopped is not closed
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    event_types = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    requests = []
    for event in log["events"]:
        if event_types.get(event["type"]) == "URL_REQUEST_START_JOB":
            params = event.get("params", {})
            requests.append((params.get("method", ""), params.get("url", ""),
                             params.get("initiator", "")))
    return requests


@pytest.mark.external
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium)")
def test_editor_in_chromium_runs_a_shared_query_here_and_nowhere_else(live_server, tmp_path):
    query = ("SELECT ?zone WHERE { ?zone a <https://w3id.org/ezgraph/def/NationalETDZ> }")
    # A shared link that names another endpoint must still query this server.
    url = (live_server + "/query?" + urllib.parse.urlencode(
        {"query": query, "endpoint": "https://dbpedia.org/sparql"}))
    net_log = tmp_path / "net-log.json"
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--log-net-log={net_log}", "--virtual-time-budget=8000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # YASGUI ran the query against /sparql and drew the results, linked to this server
    assert "dataTable" in dom
    assert f'href="{live_server}/id/zone/cetdz"' in dom
    assert f'href="{live_server}/id/zone/cacetdz"' in dom

    origin = live_server
    from_page = [(method, target) for method, target, initiator in page_requests(net_log)
                 if initiator == origin]
    assert ("POST", live_server + "/sparql") in from_page
    assert any(target.endswith("/assets/vendor/yasgui/yasgui.min.js") for _, target in from_page)
    outside = [target for _, target in from_page if not target.startswith(live_server + "/")]
    assert outside == []
