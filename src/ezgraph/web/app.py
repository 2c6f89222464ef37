"""The Flask application factory.

``create_app(state)`` wires one :class:`~ezgraph.web.state.AppState` (store, publish directory,
limits) into an app with the SPARQL blueprint, and — when installed — the linked data, dumps and
UI blueprints. Cross-cutting behaviour lives here:

* every response allows any origin (``Access-Control-Allow-Origin: *``): everything served is
  public and read-only, and no credentials are involved; ``OPTIONS`` preflights get the allowed
  methods and headers, and the ``X-Ezgraph-*``, ``Retry-After`` and ``Server-Timing`` headers are
  exposed to scripts;
* request bodies are capped at ``state.max_body_bytes`` (413 beyond);
* media type parameters other than ``q`` in ``Accept`` are dropped before any view negotiates
  (:class:`ezgraph.web.request.EzgraphRequest`): ``text/turtle; charset=utf-8`` asks for
  Turtle; and a URL or form parameter that is not UTF-8 gets 400 wherever a view reads them;
* repeated ``GET`` requests for query answers and Linked Data documents are answered from a
  per-release cache of whole responses before Flask routes them
  (:mod:`ezgraph.web.response_cache`), when the store can name its release (the embedded
  Oxigraph store: its data cannot change while it is open; never for a store others can
  republish to, such as a remote endpoint); ``EZGRAPH_RESPONSE_CACHE_BYTES``
  in the config bounds it (0 turns it off);
* plain ``GET /sparql?query=…`` requests and dereferences of identifiers and RDF documents that
  miss that cache are answered without Flask's request machinery, from the views' own parts
  (:mod:`ezgraph.web.sparql_get`, :mod:`ezgraph.web.linked_data_get`); ``EZGRAPH_SHORTCUTS``
  in the config turns them off (False);
* ``/health`` answers JSON ``{"status", "triples", "release", "backend"}`` (503 when the store
  cannot answer).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from flask import Flask, Response, jsonify, request

from ezgraph.store.base import StoreError
from ezgraph.web import sparql, stack
from ezgraph.web.errors import register_error_handlers
from ezgraph.web.request import EzgraphRequest
from ezgraph.web.state import AppState, get_state

log = logging.getLogger(__name__)

#: Blueprints written in other modules; each is registered only if its module exists.
OPTIONAL_BLUEPRINT_MODULES = (
    "ezgraph.web.linked_data",
    "ezgraph.web.dumps",
    "ezgraph.web.ui",
)
CORS_ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS"
CORS_ALLOWED_HEADERS = "Accept, Accept-Language, Content-Type, Cache-Control, X-Requested-With"
CORS_EXPOSED_HEADERS = (
    "X-Ezgraph-Truncated, X-Ezgraph-Max-Rows, Retry-After, Server-Timing, ETag, Link"
)
#: What every response carries, whatever its method.
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS),
)


def create_app(state: AppState, config: dict[str, Any] | None = None) -> Flask:
    """A Flask app serving ``state``; ``config`` entries override Flask's configuration.

    ``config["EZGRAPH_BLUEPRINTS"]`` lists the optional blueprint modules to load (default:
    :data:`OPTIONAL_BLUEPRINT_MODULES`; an empty tuple serves only ``/sparql`` and ``/health``).
    """
    app = Flask("ezgraph.web")
    app.request_class = EzgraphRequest
    app.config["MAX_CONTENT_LENGTH"] = state.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if config:
        app.config.update(config)
    app.extensions["ezgraph"] = state

    register_error_handlers(app)
    app.register_blueprint(sparql.bp)
    for module_name in app.config.get("EZGRAPH_BLUEPRINTS", OPTIONAL_BLUEPRINT_MODULES):
        _register_optional_blueprint(app, module_name)
    app.add_url_rule("/health", "health", health)
    app.after_request(_cors_headers)
    stack.install(app, state, CORS_HEADERS)
    return app


def _register_optional_blueprint(app: Flask, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the module exists but something it needs is missing: a real error
        log.info("%s is not installed: its pages are not served", module_name)
        return
    app.register_blueprint(module.bp)


def health() -> tuple[Response, int]:
    state = get_state()
    try:
        info = state.store.info()
    except StoreError as error:
        return jsonify({"status": "unavailable", "message": str(error)}), 503
    body = {
        "status": "ok",
        "triples": info.triples,
        "release": info.release,
        "backend": info.backend,
    }
    return jsonify(body), 200


def _cors_headers(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = request.headers.get(
            "Access-Control-Request-Headers", CORS_ALLOWED_HEADERS
        )
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
