"""Shared fixtures: a real Oxigraph store over a small dataset, apps over it, a live HTTP server.

Everything binds to 127.0.0.1 on a free port and is stopped at the end of its scope.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from ezgraph.store import oxigraph_store_from_files
from ezgraph.store.base import Store
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web.app import create_app
from ezgraph.web.state import AppState

FIXTURES = Path(__file__).parent / "fixtures"
#: tests/fixtures/sample.trig: 38 triples in three named graphs.
SAMPLE_TRIG = FIXTURES / "sample.trig"
SAMPLE_TRIPLES = 38


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def sample_store() -> Iterator[OxigraphStore]:
    """An :class:`OxigraphStore` over ``tests/fixtures/sample.trig`` with two query workers."""
    store = oxigraph_store_from_files([SAMPLE_TRIG], workers=2)
    yield store
    store.close()


@pytest.fixture
def make_app(sample_store: OxigraphStore) -> Callable[..., Flask]:
    """``make_app(store=None, config=None, **state_fields)``: an app over the sample store.

    Only the SPARQL blueprint and ``/health`` are loaded unless ``config`` says otherwise, so
    these tests do not depend on the other blueprints.
    """

    def factory(
        store: Store | None = None, config: dict[str, Any] | None = None, **state_fields: Any
    ) -> Flask:
        state = AppState(store=store or sample_store, **state_fields)
        settings: dict[str, Any] = {"EZGRAPH_BLUEPRINTS": (), "TESTING": True}
        settings.update(config or {})
        return create_app(state, settings)

    return factory


@pytest.fixture
def client(make_app: Callable[..., Flask]):
    return make_app().test_client()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve_app() -> Iterator[Callable[[Flask], str]]:
    """``serve_app(app)`` serves ``app`` with werkzeug's threaded server on a free loopback port
    and returns its base URL (``http://127.0.0.1:PORT``); stopped at the end of the test."""
    servers: list[tuple[BaseWSGIServer, threading.Thread]] = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
