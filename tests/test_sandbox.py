"""Query workers cannot reach the network, even with a SERVICE clause the guard did not see.

The guard reads queries with its own tokenizer; the queries below are cut differently by
Oxigraph's parser (a ``<`` it reads as "less than" where the tokenizer reads an IRI, which
hides what follows in a string or a comment). A canary HTTP server on loopback shows whether
anything was asked of it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask
from SPARQLWrapper import JSON, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from ezgraph.store.base import QueryRefused, QueryRequest, Store
from ezgraph.store.guard import scan_query
from ezgraph.store.memory import MemoryStore
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.store.sandbox import NETWORK_REFUSED

SAMPLE_TRIG = Path(__file__).parent / "fixtures" / "sample.trig"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="the network sandbox uses seccomp, which exists on Linux only",
)


@pytest.fixture
def canary() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on a free loopback port; yields its URL and the paths it was asked for."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.end_headers()
            self.wfile.write(b'{"head":{"vars":[]},"results":{"bindings":[{}]}}')

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/canary", asked
    server.shutdown()
    server.server_close()


def hidden_service_queries(endpoint: str) -> list[str]:
    return [
        # Oxigraph: ?a < 'a>"', then SERVICE; the tokenizer: the IRI <'a>, then a string.
        f"SELECT * WHERE {{ BIND(1 AS ?a) FILTER(?a <'a>\"' || true) "
        f"SERVICE <{endpoint}> {{ ?x ?y ?z }} #\"\n}}",
        # Oxigraph: ?a < then a comment; the tokenizer: the IRI <#>, then a long string.
        f'SELECT * WHERE {{ BIND(1 AS ?a) FILTER(?a<#>"""\n2 || true) '
        f'SERVICE <{endpoint}> {{ ?x ?y ?z }} #"""\n}}',
    ]


def test_the_queries_get_past_the_guard() -> None:
    # What makes the tests below about the sandbox: the guard does not see these SERVICEs.
    # (A guard that learns to see them should move these queries to tests/test_guard.py.)
    for query in hidden_service_queries("http://127.0.0.1:9/canary"):
        assert not scan_query(query).service


def refuses_without_asking(store: Store, canary: tuple[str, list[str]]) -> None:
    endpoint, asked = canary
    for query in hidden_service_queries(endpoint):
        with pytest.raises(QueryRefused) as refused:
            store.query(QueryRequest(
                query=query, results_media_type="application/sparql-results+json",
                graph_media_type=None, timeout=10,
            ))
        assert str(refused.value) == NETWORK_REFUSED
    assert asked == []


def test_a_worker_refuses_the_hidden_service_and_nothing_is_asked(
    sample_store: OxigraphStore, canary: tuple[str, list[str]]
) -> None:
    refuses_without_asking(sample_store, canary)


def test_the_in_memory_backend_refuses_it_too(canary: tuple[str, list[str]]) -> None:
    store = MemoryStore([SAMPLE_TRIG], workers=1)
    try:
        refuses_without_asking(store, canary)
    finally:
        store.close()


def test_the_endpoint_answers_400_and_nothing_is_asked(
    make_app: Callable[..., Flask], serve_app: Callable[[Flask], str],
    canary: tuple[str, list[str]],
) -> None:
    endpoint, asked = canary
    base = serve_app(make_app())
    for query in hidden_service_queries(endpoint):
        client = SPARQLWrapper(f"{base}/sparql")
        client.setQuery(query)
        client.setReturnFormat(JSON)
        with pytest.raises(QueryBadFormed, match="does not contact other servers"):
            client.query()
    assert asked == []


def test_deny_network_keeps_unix_sockets_and_files() -> None:
    script = (
        "import socket, sys\n"
        "from ezgraph.store.sandbox import deny_network\n"
        "assert deny_network() is None\n"
        "for family in (socket.AF_INET, socket.AF_INET6):\n"
        "    try:\n"
        "        socket.socket(family, socket.SOCK_STREAM)\n"
        "    except PermissionError:\n"
        "        pass\n"
        "    else:\n"
        "        sys.exit(f'family {family} was allowed')\n"
        "a, b = socket.socketpair()\n"
        "a.sendall(b'x')\n"
        "assert b.recv(1) == b'x'\n"
        "assert open(sys.executable, 'rb').read(4) == b'\\x7fELF'\n"
        "print('sandboxed')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sandboxed"


def test_without_seccomp_the_reason_is_logged_once(monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from ezgraph.store import sandbox

    monkeypatch.setattr(sandbox.sys, "platform", "darwin")
    reason = sandbox.deny_network()
    assert reason == "seccomp filters exist on Linux only, not on darwin"
    monkeypatch.setattr(sandbox, "_warned", False)
    with caplog.at_level("WARNING", logger="ezgraph.store"):
        sandbox.warn_unsandboxed(reason)
        sandbox.warn_unsandboxed(reason)
    warnings = [r.getMessage() for r in caplog.records if r.name == "ezgraph.store"]
    assert warnings == [f"query workers can reach the network: {reason}; SERVICE is refused "
                        "by the query guard alone"]
