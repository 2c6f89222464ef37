"""``/sparql`` over real HTTP, as clients meet it: SPARQLWrapper against a threaded werkzeug
server, ``ezgraph serve`` and gunicorn in subprocesses."""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import rdflib
from flask import Flask
from rdflib.namespace import RDF
from SPARQLWrapper import (
    CSV,
    JSON,
    JSONLD,
    N3,
    POST,
    POSTDIRECTLY,
    RDFXML,
    TSV,
    TURTLE,
    XML,
    SPARQLWrapper,
)
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed
from wsgi_servers import DOCUMENTED_ADDRESS, UWSGI, DocumentedUwsgi, documented_command

from ezgraph.web.serve import ServeError
from ezgraph.web.wsgi import create_app_from_env

SAMPLE_TRIG = Path(__file__).parent / "fixtures" / "sample.trig"
ZONE = rdflib.URIRef("https://w3id.org/ezgraph/def/Zone")
SELECT_ZONES = (
    "SELECT ?zone ?label WHERE { ?zone a <https://w3id.org/ezgraph/def/Zone> ; "
    "<http://www.w3.org/2004/02/skos/core#prefLabel> ?label } ORDER BY ?zone ?label"
)
CONSTRUCT_ZONES = "CONSTRUCT WHERE { ?zone a <https://w3id.org/ezgraph/def/Zone> }"
DESCRIBE_ZONE = "DESCRIBE <https://w3id.org/ezgraph/id/zone/changchun-etdz>"
ENDLESS_QUERY = (
    "SELECT (COUNT(*) AS ?n) WHERE "
    "{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n1 ?o . ?p ?q ?r } # over HTTP"
)


@pytest.fixture
def endpoint(make_app: Callable[..., Flask], serve_app: Callable[[Flask], str]) -> str:
    """``/sparql`` of a live server over the sample store, with a 2 s query time limit."""
    return serve_app(make_app(timeout=2.0)) + "/sparql"


def wrapper(endpoint: str, query: str, return_format: str, method: str | None = None
            ) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(return_format)
    client.setTimeout(30)
    if method == POSTDIRECTLY:
        client.setMethod(POST)
        client.setRequestMethod(POSTDIRECTLY)
    elif method == POST:
        client.setMethod(POST)
    return client


# --- SPARQLWrapper --------------------------------------------------------------------------------


@pytest.mark.parametrize("return_format", [JSON, CSV])
def test_an_iri_lookup_is_answered_by_the_web_process_with_every_statement(
    make_app: Callable[..., Flask], serve_app: Callable[[Flask], str], sample_store: Any,
    monkeypatch: pytest.MonkeyPatch, return_format: str,
) -> None:
    # One triple pattern: the server reads it on its own handle, with no query worker.
    zone = "https://w3id.org/ezgraph/id/zone/changchun-etdz"
    endpoint = serve_app(make_app()) + "/sparql"
    sample_store.info()  # the background count, which a worker runs, is done
    jobs: list[object] = []
    run = sample_store._pool.run
    monkeypatch.setattr(sample_store._pool, "run", lambda job, t: jobs.append(job) or run(job, t))
    query = f"SELECT ?p ?o WHERE {{ <{zone}> ?p ?o }} # lookup over HTTP, {return_format}"
    answer = wrapper(endpoint, query, return_format).query().convert()
    if return_format == JSON:
        got = {(row["p"]["value"], row["o"]["value"]) for row in answer["results"]["bindings"]}
    else:
        rows = list(csv.reader(io.StringIO(answer.decode("utf-8"))))
        assert rows[0] == ["p", "o"]
        got = {(p, o) for p, o in rows[1:]}
    data = rdflib.Dataset()
    data.parse(SAMPLE_TRIG, format="trig")
    expected = {(str(p), str(o)) for _, p, o, _ in data.quads((rdflib.URIRef(zone), None, None))}
    assert got == expected and len(got) > 5
    assert jobs == []


@pytest.mark.parametrize("method", [None, POST, POSTDIRECTLY], ids=["get", "form", "direct"])
def test_select_json(endpoint: str, method: str | None) -> None:
    results = wrapper(endpoint, SELECT_ZONES, JSON, method).query().convert()
    bindings = results["results"]["bindings"]
    assert len(bindings) == 3
    assert bindings[2]["label"] == {"type": "literal", "value": "长春经济技术开发区",
                                    "xml:lang": "zh"}


def test_select_xml(endpoint: str) -> None:
    document = wrapper(endpoint, SELECT_ZONES, XML).query().convert()
    results = document.getElementsByTagName("result")
    assert len(results) == 3
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]
    assert "长春经济技术开发区" in literals


@pytest.mark.parametrize(("return_format", "delimiter"), [(CSV, ","), (TSV, "\t")])
def test_select_csv_and_tsv(endpoint: str, return_format: str, delimiter: str) -> None:
    body = wrapper(endpoint, SELECT_ZONES, return_format).query().convert()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8")), delimiter=delimiter))
    assert len(rows) == 4
    if return_format == CSV:
        assert rows[0] == ["zone", "label"]
        assert rows[1][0] == "https://w3id.org/ezgraph/id/zone/changchun-automotive-etdz"
    else:
        assert rows[0] == ["?zone", "?label"]
        assert rows[1][0] == "<https://w3id.org/ezgraph/id/zone/changchun-automotive-etdz>"


@pytest.mark.parametrize("return_format", [JSON, XML])
def test_ask(endpoint: str, return_format: str) -> None:
    yes = wrapper(endpoint, "ASK { ?s a <https://w3id.org/ezgraph/def/Zone> }", return_format)
    no = wrapper(endpoint, "ASK { ?s a <http://nothing.example/> }", return_format)
    if return_format == JSON:
        assert yes.query().convert()["boolean"] is True
        assert no.query().convert()["boolean"] is False
    else:
        answer = yes.query().convert().getElementsByTagName("boolean")[0].firstChild.data
        assert answer == "true"


@pytest.mark.parametrize("return_format", [XML, JSONLD, TURTLE])
@pytest.mark.parametrize("query", [CONSTRUCT_ZONES, DESCRIBE_ZONE], ids=["construct", "describe"])
def test_graph_queries_into_rdflib(endpoint: str, return_format: str, query: str) -> None:
    result = wrapper(endpoint, query, return_format).query().convert()
    graph = (
        result
        if isinstance(result, rdflib.Graph)
        else rdflib.Graph().parse(data=result, format="turtle")
    )
    zones = set(graph.subjects(RDF.type, ZONE))
    if query == CONSTRUCT_ZONES:
        assert len(graph) == 2 and len(zones) == 2
    else:
        assert len(graph) == 6 and len(zones) == 1


@pytest.mark.parametrize(
    ("query", "return_format", "media_type"),
    [
        (SELECT_ZONES, JSON, "application/sparql-results+json"),
        (SELECT_ZONES, XML, "application/sparql-results+xml"),
        (SELECT_ZONES, CSV, "text/csv"),
        (SELECT_ZONES, TSV, "text/tab-separated-values"),
        (CONSTRUCT_ZONES, XML, "application/rdf+xml"),
        (CONSTRUCT_ZONES, RDFXML, "application/rdf+xml"),
        (CONSTRUCT_ZONES, TURTLE, "text/turtle"),
        (CONSTRUCT_ZONES, N3, "text/turtle"),
        (CONSTRUCT_ZONES, JSONLD, "application/ld+json"),
        (CONSTRUCT_ZONES, JSON, "application/ld+json"),
    ],
    ids=lambda value: value.split()[0] if " " in value else value,
)
def test_every_sparqlwrapper_return_format(
    make_app: Callable[..., Flask], serve_app: Callable[[Flask], str], query: str,
    return_format: str, media_type: str,
) -> None:
    app = make_app()
    received: list[dict[bytes, list[bytes]]] = []
    answer = app.wsgi_app

    def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # At the WSGI entry: such GETs are answered in front of Flask (web/sparql_get.py).
        received.append(urllib.parse.parse_qs(environ["QUERY_STRING"].encode("latin-1")))
        return answer(environ, start_response)

    app.wsgi_app = recording  # type: ignore[method-assign]
    result = wrapper(serve_app(app) + "/sparql", query, return_format).query()
    # SPARQLWrapper names the format in format=, output= and results= at once (with a media
    # type list too for some), and all three are read: they must agree, and do.
    (sent,) = received
    assert sent[b"format"] == sent[b"output"] == sent[b"results"]
    assert result.info()["content-type"].split(";")[0] == media_type
    answer = result.convert()  # SPARQLWrapper reads what it asked for
    if query == CONSTRUCT_ZONES:  # a Graph from RDF/XML and JSON-LD, bytes from Turtle
        graph = answer if isinstance(answer, rdflib.Graph) else rdflib.Graph().parse(
            data=answer, format="turtle")
        assert len(set(graph.subjects(RDF.type, ZONE))) == 2
    elif return_format == JSON:
        assert len(answer["results"]["bindings"]) == 3
    elif return_format == XML:  # an xml.dom Document
        assert len(answer.getElementsByTagName("result")) == 3
    else:  # CSV, TSV
        assert len(answer.decode("utf-8").splitlines()) == 4


def head_and_get(base: str, path: str, accept: str) -> tuple[http.client.HTTPResponse, bytes,
                                                             http.client.HTTPResponse, bytes]:
    """The answers to GET and to HEAD of ``path``, each on its own connection."""
    answers = []
    for method in ("GET", "HEAD"):
        url = urllib.parse.urlsplit(base)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        connection.request(method, path, headers={"Accept": accept})
        response = connection.getresponse()
        answers += [response, response.read()]
        connection.close()
    return answers[0], answers[1], answers[2], answers[3]


#: Headers that differ between two answers to the same request.
PER_REQUEST_HEADERS = {"date", "server-timing", "connection", "keep-alive"}


def same_headers(one: http.client.HTTPResponse, other: http.client.HTTPResponse) -> None:
    def kept(response: http.client.HTTPResponse) -> dict[str, str]:
        return {name.lower(): value for name, value in response.getheaders()
                if name.lower() not in PER_REQUEST_HEADERS}

    assert kept(one) == kept(other)


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/sparql?" + urllib.parse.urlencode({"query": SELECT_ZONES}), "text/csv"),
     ("/sparql?" + urllib.parse.urlencode({"query": CONSTRUCT_ZONES}), "text/turtle"),
     ("/sparql", "application/rdf+xml")],
    ids=["select", "construct", "service-description"],
)
def test_head_is_get_without_a_body_over_http(endpoint: str, path: str, accept: str) -> None:
    get, get_body, head, head_body = head_and_get(endpoint.removesuffix("/sparql"), path, accept)
    assert get.status == head.status == 200
    assert get_body and head_body == b""
    same_headers(get, head)
    assert head.getheader("Content-Length") == str(len(get_body))


def test_syntax_error_reaches_the_client(endpoint: str) -> None:
    with pytest.raises(QueryBadFormed, match="line 1, column"):
        wrapper(endpoint, "SELECT * WHERE { ?s ?p }", JSON).query()


# --- time limit -----------------------------------------------------------------------------------


def test_endless_query_is_stopped_while_others_are_answered(endpoint: str) -> None:
    finished: dict[str, float] = {}
    errors: dict[str, BaseException] = {}

    def endless() -> None:
        try:
            wrapper(endpoint, ENDLESS_QUERY, JSON).query()
        except urllib.error.HTTPError as error:
            errors["endless"] = error
        finished["endless"] = time.monotonic()

    slow = threading.Thread(target=endless)
    slow.start()
    time.sleep(0.3)
    started = time.monotonic()
    answer = wrapper(endpoint, "ASK { ?s ?p ?o } # concurrent", JSON).query().convert()
    finished["quick"] = time.monotonic()
    slow.join(timeout=60)
    assert answer["boolean"] is True
    assert finished["quick"] < finished["endless"]
    assert finished["quick"] - started < 5  # generous: it must not wait for the endless one
    error = errors["endless"]
    assert isinstance(error, urllib.error.HTTPError) and error.code == 503
    assert error.headers["Retry-After"]
    assert "time limit" in error.read().decode()


def test_a_slow_request_body_does_not_hold_up_other_requests(endpoint: str) -> None:
    # A client that sends its body slowly keeps one request thread waiting, nothing more.
    url = urllib.parse.urlsplit(endpoint)
    query = b"ASK { ?s ?p ?o }"
    with socket.create_connection((url.hostname, url.port), timeout=10) as slow:
        slow.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nAccept: application/sparql-results+json"
                     b"\r\nContent-Type: application/sparql-query\r\n"
                     b"Content-Length: " + str(len(query)).encode() + b"\r\n\r\n" + query[:5])
        time.sleep(0.3)  # the server is now reading the body
        started = time.monotonic()
        answer = wrapper(endpoint, "ASK { ?s ?p ?o } # meanwhile", JSON).query().convert()
        assert answer["boolean"] is True and time.monotonic() - started < 2
        slow.sendall(query[5:])
        reply = b"".join(iter(lambda: slow.recv(65536), b""))  # the server closes
    assert reply.startswith(b"HTTP/1.1 200") and b'"boolean":true' in reply


# --- SERVICE never leaves the server --------------------------------------------------------------


class Listener:
    """A loopback TCP listener that counts the connections it receives."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def test_service_is_refused_and_nothing_is_contacted(endpoint: str, listener: Listener) -> None:
    target = f"http://127.0.0.1:{listener.port}/sparql"
    for query in (
        f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{target}> WHERE {{ ?s ?p ?o }}",
    ):
        with pytest.raises(QueryBadFormed):
            wrapper(endpoint, query, JSON).query()
    time.sleep(0.3)
    assert listener.connections == 0
    # the listener does count: one direct request shows up
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(target, timeout=5)
    deadline = time.monotonic() + 5
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections == 1


# --- ezgraph serve and gunicorn -------------------------------------------------------------------


class LineReader:
    """Lines of a subprocess's stdout, read in a thread so waiting can time out."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                raise AssertionError("the process ended before printing its URL")
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s")


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def test_ezgraph_serve_data_files(tmp_path: Path) -> None:
    stderr_path = tmp_path / "stderr.txt"
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "ezgraph.cli", "serve", "--data", str(SAMPLE_TRIG),
             "--host", "127.0.0.1", "--port", "0", "--timeout", "5"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**child_env(), "TMPDIR": str(temp_dir)},
        )
        try:
            match = LineReader(process).wait_for(r"serving 38 triples at (http://\S+/);")
            base = match.group(1)
            answer = wrapper(base + "sparql", SELECT_ZONES, JSON).query().convert()
            assert len(answer["results"]["bindings"]) == 3
            with urllib.request.urlopen(base + "health", timeout=10) as health:
                assert b'"status":"ok"' in health.read().replace(b" ", b"")
            assert len(list(temp_dir.glob("ezgraph-store-*"))) == 1
        finally:
            status = stop(process)
    assert status == 0
    assert "Traceback" not in stderr_path.read_text()
    assert not list(temp_dir.glob("ezgraph-store-*"))  # the temporary store was removed


def run_serve_command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ezgraph.cli", "serve", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, env=child_env(),
    )


def test_port_in_use_is_a_clean_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_serve_command("--data", str(SAMPLE_TRIG), "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_dist_is_a_clean_error(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "manifest.json").write_text("{not json")
    result = run_serve_command("--dist", str(dist), "--port", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert "manifest.json is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    (dist / "manifest.json").write_text('{"release": "x"}')
    result = run_serve_command("--dist", str(dist), "--port", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert "store is missing" in result.stderr and "Traceback" not in result.stderr


def test_bad_data_file_is_a_clean_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nt"
    bad.write_text("<http://a> <http://b> <http://c> .\n<http://a> <http://b> oops .\n")
    result = run_serve_command("--data", str(bad), "--port", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}: " in result.stderr and "line 2" in result.stderr
    assert "Traceback" not in result.stderr


#: The production commands src/ezgraph/web/wsgi.py recommends (two web processes each); uWSGI's
#: is the documented one itself, on another port.
PRODUCTION_SERVERS = {
    "gunicorn": ["--worker-class", "gthread", "--workers", "2", "--threads", "4",
                 "--keep-alive", "30", "--limit-request-line", "8190",
                 "--bind", "127.0.0.1:{port}", "ezgraph.web.wsgi:app"],
    "granian": ["--interface", "wsgi", "--workers", "2", "--blocking-threads", "4",
                "--http", "1", "--workers-kill-timeout", "10", "--host", "127.0.0.1",
                "--port", "{port}", "ezgraph.web.wsgi:app"],
    "uwsgi": [argument.replace(DOCUMENTED_ADDRESS, "127.0.0.1:{port}")
              for argument in documented_command("uwsgi")],
}


def test_gunicorn_is_documented_with_the_longest_request_line() -> None:
    # gunicorn's default cuts request lines at 4094 bytes: a longer GET /sparql?query=... gets
    # an HTML 414 from gunicorn itself, without CORS headers. 8190 is the most it allows.
    arguments = documented_command("gunicorn")
    assert arguments[arguments.index("--limit-request-line") + 1] == "8190"
    tested = PRODUCTION_SERVERS["gunicorn"]
    assert tested[tested.index("--limit-request-line") + 1] == "8190"


def test_the_benchmark_runs_uwsgi_as_documented() -> None:
    from bench.run import ezgraph_server_command

    if not UWSGI.exists():
        pytest.skip("uWSGI is not installed (optional production server)")
    command = ezgraph_server_command(8000, processes=2)
    assert command[0] == str(UWSGI)
    assert command[1:] == documented_command("uwsgi")


#: A query whose GET request line is over gunicorn's default limit (4094) and under its
#: maximum (8190).
LONG_QUERY = "ASK { ?s a ?type } # " + "long " * 1300


@pytest.mark.parametrize("server", sorted(PRODUCTION_SERVERS))
def test_production_server_serves_the_wsgi_app(tmp_path: Path, server: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    program = Path(sys.executable).with_name(server)
    if server != "gunicorn" and not program.exists():
        pytest.skip(f"{server} is not installed (optional production server)")
    env = {**child_env(), "EZGRAPH_DATA": str(SAMPLE_TRIG), "EZGRAPH_QUERY_WORKERS": "2"}
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(program), *(arg.format(port=port) for arg in PRODUCTION_SERVERS[server])],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log, env=env,
        )
    try:
        base = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "health", timeout=5):
                    pass
                # Both web processes loaded: one answering while the other still loads is
                # normal, but stopping then is the case --workers-kill-timeout is for.
                if log_path.read_text().count("ezgraph ready") == 2:
                    break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    raise
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"{server} did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        answer = wrapper(base + "sparql", "ASK { ?s a ?type }", JSON).query().convert()
        assert answer["boolean"] is True
        # One kept-alive connection, the same query over and over (cached after the first
        # answer in each web process): the same bytes every time.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        path = "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"})
        bodies = set()
        for _ in range(6):
            connection.request("GET", path, headers={"Accept": "text/csv"})
            response = connection.getresponse()
            bodies.add(response.read())
            assert response.status == 200
            assert response.getheader("Content-Type") == "text/csv; charset=utf-8"
        # A long query sent with GET
        long_path = "/sparql?" + urllib.parse.urlencode({"query": LONG_QUERY})
        assert 4094 < len(f"GET {long_path} HTTP/1.1") < 8190
        connection.request("GET", long_path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        assert json.loads(body)["boolean"] is True
        connection.close()
        assert len(bodies) == 1
        # HEAD is GET without the body
        get, get_body, head, head_body = head_and_get(base, path, "text/csv")
        assert (get.status, head.status, head_body) == (200, 200, b"")
        same_headers(get, head)
        rows = wrapper(base + "sparql", "SELECT * WHERE { ?s ?p ?o }", JSON).query().convert()
        expected = len(rows["results"]["bindings"])
        assert next(iter(bodies)).count(b"\r\n") == 1 + expected
        # A body of unknown length, sent in chunks, then one over the body limit
        assert post_chunked(port, [b"ASK { ?s a ", b"?type }"]) == (200, True)
        assert post_chunked(port, [b"#" * 400_000] * 3)[0] == 413
    finally:
        process.terminate()
        # Stopped in time: a server that hangs on SIGTERM is killed here, and fails below.
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            raise AssertionError(f"{server} did not stop within 30 s of SIGTERM") from None
    assert "Traceback" not in log_path.read_text()


def post_chunked(port: int, chunks: list[bytes]) -> tuple[int, bool | None]:
    """POST ``chunks`` to /sparql with ``Transfer-Encoding: chunked``: the status and the ASK
    answer (None when not 200)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/sparql", body=iter(chunks), encode_chunked=True,
                           headers={"Content-Type": "application/sparql-query",
                                    "Accept": "application/sparql-results+json"})
        response = connection.getresponse()
        body = response.read()
        answer = json.loads(body)["boolean"] if response.status == 200 else None
        return response.status, answer
    finally:
        connection.close()


def test_wsgi_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ServeError, match="EZGRAPH_TIMEOUT must be a number"):
        create_app_from_env({"EZGRAPH_DATA": str(SAMPLE_TRIG), "EZGRAPH_TIMEOUT": "soon"})
    with pytest.raises(ServeError, match="run `ezgraph build` first"):
        create_app_from_env({"EZGRAPH_DIST": str(tmp_path / "nowhere")})


def test_uwsgi_stops_with_the_reason_when_the_app_cannot_start(tmp_path: Path) -> None:
    if not UWSGI.exists():
        pytest.skip("uWSGI is not installed (optional production server)")
    server = DocumentedUwsgi({**child_env(), "EZGRAPH_DIST": str(tmp_path / "nowhere")},
                             tmp_path / "uwsgi.log")
    with pytest.raises(RuntimeError, match="did not start"):
        server.start(timeout=60)
    assert server.process is not None and server.process.returncode not in (None, 0)
    log = (tmp_path / "uwsgi.log").read_text()
    assert f"ezgraph cannot start: {tmp_path / 'nowhere'}/manifest.json is missing: run " \
           "`ezgraph build` first" in log


def test_serve_builds_a_missing_dist_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ezgraph.publish import build as build_module
    from ezgraph.store.oxigraph import load_rdf_files
    from ezgraph.web.serve import load_state

    calls = []

    def fake_build(args) -> int:
        calls.append(args)
        args.out.mkdir()
        load_rdf_files(args.out / "store", [SAMPLE_TRIG])
        manifest = {"release": "built-now", "base": args.base}
        (args.out / "manifest.json").write_text(json.dumps(manifest))
        return 0

    monkeypatch.setattr(build_module, "run_build", fake_build)
    dist = tmp_path / "dist"
    state = load_state(dist=dist, build_if_missing=True, workers=2)
    try:
        assert state.store.info().release == "built-now"
        assert state.manifest == {"release": "built-now", "base": "https://w3id.org/ezgraph/"}
        assert state.dist == dist
    finally:
        state.store.close()
    (args,) = calls
    assert (args.command, args.out, args.data_dir, args.no_store) == (
        "build", dist, Path("data"), False
    )

    monkeypatch.setattr(build_module, "run_build", lambda args: 2)
    with pytest.raises(ServeError, match="the build failed"):
        load_state(dist=tmp_path / "other", build_if_missing=True)
