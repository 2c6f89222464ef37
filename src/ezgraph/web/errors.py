"""Error responses: a clear message for the client, the traceback only in the server log.

Clients get plain text, or JSON when they prefer it (``Accept: application/json`` or a SPARQL
JSON type), shaped ``{"error": {"status", "type", "message"[, "line", "column"]}}``.
Browsers asking for HTML get the site's own page for plain HTTP errors (404, 405 ...), with the
way home, search and the query editor; werkzeug's bare page when the app serves no UI.
Every error response varies by ``Accept``, so a shared cache keeps the faces apart.

=====================================  ======  ==========================================
error                                  status  notes
=====================================  ======  ==========================================
QuerySyntaxError                       400     message has the parser's line and column
QueryRefused (update, SERVICE, FROM)   400     "this endpoint is read-only" for updates
NotAcceptable                          406
request body over the limit            413
QueryTimeout                           503     ``Retry-After``
StoreUnavailable                       503     ``Retry-After``
anything unexpected                    500     incident id; traceback in the server log
=====================================  ======  ==========================================
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ezgraph.store.base import QuerySyntaxError, QueryTimeout, StoreError, StoreUnavailable
from ezgraph.web.negotiation import HTML_TYPES

log = logging.getLogger(__name__)

_ERROR_OFFERS = [
    "text/plain",
    "application/json",
    "application/sparql-results+json",
    "application/ld+json",
    *HTML_TYPES,
]
#: Seconds a client should wait before retrying a query that ran out of time.
TIMEOUT_RETRY_AFTER = 10


def error_response(
    status: int,
    message: str,
    *,
    kind: str = "Error",
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A negotiated (plain text or JSON) error response."""
    if _wants_json():
        response = jsonify(
            {"error": {"status": status, "type": kind, "message": message, **(details or {})}}
        )
    else:
        response = Response(f"{message}\n", mimetype="text/plain")
    response.status_code = status
    response.headers["Vary"] = "Accept"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(StoreError, _store_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _store_error(error: StoreError) -> Response:
    details: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, QuerySyntaxError):
        details = {"line": error.line, "column": error.column}
    headers.update(retry_after(error))
    if error.http_status >= 500 and not isinstance(error, StoreUnavailable | QueryTimeout):
        log.error("store error on %s %s: %s", request.method, request.path, error)
    return error_response(
        error.http_status, str(error), kind=type(error).__name__, details=details,
        headers=headers,
    )


def retry_after(error: StoreError) -> dict[str, str]:
    """The ``Retry-After`` header of a 503 (the store down or the time limit passed), else
    nothing."""
    if isinstance(error, StoreUnavailable):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, QueryTimeout):
        return {"Retry-After": str(TIMEOUT_RETRY_AFTER)}
    return {}


def _too_large(error: RequestEntityTooLarge) -> Response:
    limit = request.max_content_length
    limit_text = f"{limit} bytes" if limit is not None else "the limit"
    return error_response(
        413,
        f"the request body is larger than {limit_text}; send a shorter query",
        kind="RequestEntityTooLarge",
    )


def _http_error(error: HTTPException) -> Response:
    if _best_error_type() in HTML_TYPES:
        response = _html_error_page(error)
    else:
        response = error_response(
            error.code or 500,
            error.description or error.name,
            kind=type(error).__name__,
        )
    # Keep what werkzeug set, e.g. Allow on 405.
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    response.headers["Vary"] = "Accept"
    return response


#: The blueprints whose pages the HTML error pages link to.
_PAGES_LINKED = ("ui", "linked_data")


def _html_error_page(error: HTTPException) -> Response:
    status = error.code or 500
    if not all(name in current_app.blueprints for name in _PAGES_LINKED):
        return error.get_response()  # werkzeug's own page: there is no site to lead back to
    message = error.description or error.name
    if status == 404:
        body = render_template("not_found.html", message=message, iri=None, suggestion="")
    else:
        body = render_template("error.html", status=status, message=message)
    return Response(body, status=status, mimetype="text/html")


def _unexpected_error(error: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s on %s %s", incident, request.method, request.path)
    return error_response(
        500,
        f"internal server error (incident {incident}); the details are in the server log",
        kind="InternalServerError",
    )


def _best_error_type() -> str:
    accept = request.accept_mimetypes
    if not accept:
        return "text/plain"
    return accept.best_match(_ERROR_OFFERS) or "text/plain"


def _wants_json() -> bool:
    return _best_error_type().endswith("json")
