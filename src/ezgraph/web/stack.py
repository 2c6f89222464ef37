"""The WSGI stack in front of Flask: whole answers replayed, plain requests answered without
Flask.

From the server inwards::

    ResponseCache        whole answers kept per release (ezgraph.web.response_cache)
    LinkedDataShortcut   303s and RDF documents (ezgraph.web.linked_data_get)
    SparqlGetShortcut    GET /sparql?query=… (ezgraph.web.sparql_get)
    ChunkedBody          a chunked request body read to its end (ezgraph.web.chunked_body)
    Flask                everything else, and every failure

Tried and not kept: request threads taking turns on a per-process lock for the work of this
stack (stepping out of it while a query worker answers), so that fewer threads contend for the
GIL. Measured at a million triples under eight clients, alternating with and without in one
session, the turns cost throughput: 3,245 and 3,282 distinct lookups/s with them, 4,352 and
4,015 without (Oxigraph server: 6,055 to 6,727 in the same runs).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask

from ezgraph.web.chunked_body import ChunkedBody
from ezgraph.web.response_cache import DEFAULT_MAX_BYTES, ResponseCache
from ezgraph.web.shortcut import WSGIApp
from ezgraph.web.sparql_get import SparqlGetShortcut
from ezgraph.web.state import AppState


def install(app: Flask, state: AppState, extra_headers: Sequence[tuple[str, str]]) -> None:
    """Put the stack of the module docstring in front of ``app``'s views. ``extra_headers``
    close every answer a shortcut gives, as the app's ``after_request`` hooks would add them;
    the config's ``EZGRAPH_SHORTCUTS`` (False: no shortcuts) and
    ``EZGRAPH_RESPONSE_CACHE_BYTES`` (0: no cache) take parts out."""
    wsgi_app: WSGIApp = ChunkedBody(app.wsgi_app, state.max_body_bytes)
    if app.config.get("EZGRAPH_SHORTCUTS", True):
        wsgi_app = SparqlGetShortcut(wsgi_app, state, extra_headers)
        if "linked_data" in app.blueprints:  # an optional blueprint: imported when installed
            from ezgraph.web.linked_data_get import LinkedDataShortcut

            wsgi_app = LinkedDataShortcut(wsgi_app, state, extra_headers)
    cache_bytes = app.config.get("EZGRAPH_RESPONSE_CACHE_BYTES", DEFAULT_MAX_BYTES)
    store = state.store
    if (callable(getattr(store, "release_if_known", None)) and cache_bytes
            and not store.release_can_change):
        # Asked on every request: the cache follows the store's release, whatever it is now.
        wsgi_app = ResponseCache(wsgi_app, lambda: store.release_if_known(),  # type: ignore[attr-defined]
                                 cache_bytes)
    app.wsgi_app = wsgi_app  # type: ignore[method-assign]
