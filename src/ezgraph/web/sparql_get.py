"""``GET /sparql?query=…`` answered without Flask's request machinery.

A plain query sent by GET is what SPARQLWrapper, YASGUI and scripts send most. For a lookup at a
million triples, Flask's request context, routing and response objects cost more than the store
does (measured: 330–410 µs of CPU per distinct lookup through the view, of which 130–145 µs in
the store). :class:`SparqlGetShortcut` sits between the response cache and Flask and answers
such a request itself, built from the view's own parts (:func:`~ezgraph.web.sparql
.query_request_for`, :func:`~ezgraph.web.sparql.answer_headers`, the same ``Accept`` reading
and negotiation, the app's CORS headers), so that its answers are the view's byte for byte and
header for header; the tests compare the two. Where it sits: :mod:`ezgraph.web.stack`.

It takes ``GET`` of exactly ``/sparql`` with a query, its parameters read by the view's own
:func:`~ezgraph.web.sparql.protocol_from_query_string` (``default-graph-uri``,
``named-graph-uri``, ``format``/``output``/``results`` included). Anything else (``HEAD``,
``POST``, no query, a parameter the view refuses, such as a byte that is not UTF-8, ``update=``
or an unknown format) goes to Flask untouched. When the store raises
(a syntax error, a refusal, a time-out, a store that is down), the request goes to Flask with
the failure attached (:mod:`ezgraph.web.shortcut`): the view raises it again, so the error
answer is the app's own and the query is not run twice.
"""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import BadRequest

from ezgraph.store.base import QueryRefused
from ezgraph.web.negotiation import UnknownFormat, content_type, query_formats_for_header
from ezgraph.web.request import bare_accept
from ezgraph.web.shortcut import Answer, Shortcut, attach_failure
from ezgraph.web.sparql import answer_headers, protocol_from_query_string, query_request_for


class SparqlGetShortcut(Shortcut):
    """Plain ``GET /sparql?query=…`` answered from the store (see the module docstring)."""

    def answer(self, environ: dict[str, Any]) -> Answer | None:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") != "/sparql":
            return None
        try:
            # PEP 3333: the query string's bytes, each held in one character.
            protocol = protocol_from_query_string(
                environ.get("QUERY_STRING", "").encode("latin-1"))
            formats = query_formats_for_header(bare_accept(environ.get("HTTP_ACCEPT")),
                                               protocol.format_values)
        except (BadRequest, QueryRefused, UnknownFormat, UnicodeEncodeError):
            return None  # the view says what is wrong
        if protocol.query is None:
            return None  # the query editor or the service description
        state = self._state
        request = query_request_for(protocol, formats, state)
        try:
            answer = state.store.query(request)
        except Exception as error:  # the view raises it again, through the app's handlers
            attach_failure(environ, request, error)
            return None
        return "200 OK", [
            ("Content-Type", content_type(answer.media_type)),
            ("Content-Length", str(len(answer.body))),
            *answer_headers(answer, state.max_rows),
        ], answer.body
