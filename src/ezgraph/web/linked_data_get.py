"""Dereferencing without Flask's request machinery: ``GET /id/…`` and the other identifiers
(a 303), and ``GET /doc/…`` (an RDF document), as Linked Data clients ask for them.

A client resolving an identifier makes two requests, the 303 and the document, and through
Flask each cost more than the store's description of the resource (measured at a million
triples, in memory: 571 µs of CPU for both, of which 160 µs describing). :class:`LinkedDataShortcut`
sits between the response cache and Flask and answers the plain cases itself, built from the
Linked Data views' own parts (:func:`~ezgraph.web.linked_data.describe_request_for`,
:func:`~ezgraph.web.linked_data.document_etag`, :func:`~ezgraph.web.linked_data.alternates`,
the same negotiation, the app's CORS headers), so that its answers are the views' byte for byte
and header for header; the tests compare the two. Where it sits: :mod:`ezgraph.web.stack`.

The plain cases: ``GET`` of an ASCII path with no empty segment, no ``SCRIPT_NAME``, no
conditional header, an ``Accept`` that negotiates an RDF format, a store that describes
resources itself (the embedded Oxigraph store), and a resource it knows. Everything else (HTML
pages, extensions such as ``.ttl``, ``If-None-Match``, an unknown IRI, ``/doc?iri=…``) goes
to Flask untouched, and a store failure goes there attached to the request
(:mod:`ezgraph.web.shortcut`), so that it is rendered by the app's own handlers and the store
is not asked twice.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

from markupsafe import escape
from werkzeug.http import quote_etag
from werkzeug.utils import redirect

from ezgraph.store.base import QueryResponse
from ezgraph.web.linked_data import (
    DOCUMENT_FORMATS,
    RDF_FORMATS,
    Format,
    alternates,
    body_etag,
    describe_request_for,
    document_etag,
    negotiate_header,
    split_extension,
)
from ezgraph.web.request import bare_accept
from ezgraph.web.response_cache import CONDITIONAL_HEADERS
from ezgraph.web.shortcut import Answer, Shortcut, attach_failure

#: Paths that name things and answer 303 to their documents (the routes of
#: :mod:`ezgraph.web.linked_data`).
IDENTIFIER_PREFIXES = ("/id/", "/def/", "/shapes/", "/graph/", "/dataset/")
DOCUMENT_PREFIX = "/doc/"
#: werkzeug's ``path`` converter quotes everything but these when it builds a URL.
_PATH_SAFE = "!$&'()*+,/:;=@"


class LinkedDataShortcut(Shortcut):
    """Plain dereferences answered from the store (see the module docstring)."""

    def answer(self, environ: dict[str, Any]) -> Answer | None:
        path = environ.get("PATH_INFO", "")
        if not (path.startswith((DOCUMENT_PREFIX, *IDENTIFIER_PREFIXES))
                and environ.get("REQUEST_METHOD") == "GET" and _plain(environ, path)
                and self._state.store.describes_resources):
            return None
        return self._answer(environ, path)

    def _answer(self, environ: dict[str, Any], path: str) -> Answer | None:
        fmt = _document_format(environ.get("HTTP_ACCEPT"))
        if fmt is None or fmt not in RDF_FORMATS:
            return None
        if path.startswith(DOCUMENT_PREFIX):
            return self._document(environ, path[len(DOCUMENT_PREFIX):], fmt)
        return self._see_other(environ, path[1:], fmt)

    def _see_other(self, environ: dict[str, Any], path: str, fmt: Format) -> Answer | None:
        """``linked_data._see_other`` for an RDF client: the document is read now (the client
        asks for it next, and the store keeps it), which also tells whether the IRI is known."""
        if self._read(environ, self._state.data_base + path, fmt) is None:
            return None
        return _see_other_answer(DOCUMENT_PREFIX + quote(path, safe=_PATH_SAFE))

    def _document(self, environ: dict[str, Any], path: str, fmt: Format) -> Answer | None:
        """``linked_data.document`` and ``describe`` for a negotiated RDF format."""
        if split_extension(path)[1] is not None:
            return None  # the view tells an extension from an IRI that ends like one
        state = self._state
        iri = state.data_base + path
        document = self._read(environ, iri, fmt)
        if document is None:
            return None
        document_url = DOCUMENT_PREFIX + quote(path, safe=_PATH_SAFE)
        links = {f.extension: f"{document_url}.{f.extension}" for f in DOCUMENT_FORMATS}
        headers = [("Content-Location", links[fmt.extension]), ("Link", alternates(links)),
                   ("Vary", "Accept")]
        if document.truncated:
            headers.append(("X-Ezgraph-Truncated", "true"))
        tag = document_etag(iri, fmt, state)  # weak, as the view sends it
        etag = quote_etag(tag, weak=True) if tag else quote_etag(body_etag(document.body))
        headers += [("Content-Type", fmt.content_type),
                    ("Content-Length", str(len(document.body))), ("ETag", etag)]
        return "200 OK", headers, document.body

    def _read(self, environ: dict[str, Any], iri: str, fmt: Format) -> QueryResponse | None:
        """The document of ``iri``; ``None`` when the store knows nothing about it or failed
        (the failure is then attached to the request for the view)."""
        request = describe_request_for(iri, fmt, self._state)
        try:
            return self._state.store.describe(request)
        except Exception as error:  # the view raises it again, through the app's handlers
            attach_failure(environ, request, error)
            return None


def _see_other_answer(location: str) -> Answer:
    """werkzeug's ``redirect(location, 303)``, which the view answers (Flask's redirect is
    werkzeug's), from its page cut once around a stand-in location: making the response object
    cost a tenth of the CPU of a 303."""
    status, content_type, (before, between, after) = _see_other_page()
    shown = str(escape(location))
    body = f"{before}{shown}{between}{shown}{after}".encode()
    return status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                    ("Location", location)], body


@functools.cache
def _see_other_page() -> tuple[str, str, tuple[str, str, str]]:
    stand_in = "/stand-in-location"
    response = redirect(stand_in, code=303)
    before, between, after = response.get_data(as_text=True).split(stand_in)
    return response.status, response.headers["Content-Type"], (before, between, after)


@functools.lru_cache(maxsize=512)
def _document_format(accept: str | None) -> Format | None:
    """The document format ``Accept`` negotiates, remembered per header: clients repeat the
    same few, and ``negotiate_header``'s own memory hashes every format it is offered, so it
    is passed by."""
    return negotiate_header.__wrapped__(bare_accept(accept), DOCUMENT_FORMATS)


def _plain(environ: dict[str, Any], path: str) -> bool:
    """Whether the request is one the views answer without anything but the path and
    ``Accept``: an ASCII path that werkzeug routes as it is (no empty segment, which it
    redirects, nor an empty rest), no script root, no conditional or range header."""
    return (path.isascii() and "//" not in path and not path.endswith("/")
            and not environ.get("SCRIPT_NAME")
            and environ.keys().isdisjoint(CONDITIONAL_HEADERS))
