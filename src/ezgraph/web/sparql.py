"""``/sparql``: the SPARQL 1.1 Protocol query operation, read-only.

Requests
  * ``GET /sparql?query=...``; ``POST`` with ``application/x-www-form-urlencoded`` (``query=``);
    ``POST`` with ``application/sparql-query`` (the body is the query, UTF-8 only; another
    charset → 415). Any other POST content type → 415. ``HEAD`` is ``GET`` without the body:
    the same status and headers.
  * parameters (URL, form) are percent-encoded UTF-8: one that is not (``%FF``, or a byte sent
    as it is) → 400 naming the parameter (:mod:`ezgraph.web.request`).
  * ``default-graph-uri`` / ``named-graph-uri`` may repeat (URL or form); they replace the
    query's dataset and must name graphs of this dataset (else 400).
  * more than one ``query`` → 400; an empty query → 400; other methods → 405.
  * updates (``update=``, ``using-graph-uri``/``using-named-graph-uri``,
    ``application/sparql-update``, or update operations sent as a query) → **400**
    "this endpoint is read-only" (Fuseki answers 400 or 405; we always say 400).
  * ``SERVICE`` and ``FROM`` IRIs that are not dataset graphs → 400; syntax errors → 400 with
    the parser's line and column.
  * no ``query`` on GET: browsers (HTML preferred) get the query editor (``ui.query_editor``,
    when that blueprint is installed), everyone else the Service Description.

Responses
  * format from ``Accept`` (q-values, wildcards, several types for the two query kinds; media
    type parameters such as ``charset`` are ignored) or the ``format=`` parameter, which
    overrides it: ``json xml csv tsv`` for results; ``json jsonld xml rdfxml ttl turtle nt
    ntriples trig nq nquads`` for graphs; or a media type. ``output=`` and ``results=`` are
    aliases (Fuseki's); every value of the three must name the same format (else 400), as
    SPARQLWrapper's do. A format that does not fit the query's form → 406, as does an
    ``Accept`` nothing matches.
  * ``Vary: Accept``; ``Content-Type`` with ``charset=utf-8`` for text and XML types;
    ``Server-Timing: query;dur=MS``.
  * when the row cap (``--max-rows``) cut the answer: ``X-Ezgraph-Truncated: true`` and
    ``X-Ezgraph-Max-Rows: N`` headers, and SPARQL JSON results carry a top-level
    ``"truncated": true`` member.
  * time limit passed → 503 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin

from flask import Blueprint, Request, Response, current_app, redirect, request, url_for
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, XSD
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from ezgraph.namespaces import SD, VOID
from ezgraph.store.base import (
    NotAcceptable,
    QueryRefused,
    QueryRequest,
    QueryResponse,
    StoreInfo,
)
from ezgraph.web.errors import error_response
from ezgraph.web.negotiation import (
    DESCRIPTION_OFFERS,
    FORMAT_PARAMETERS,
    QueryFormats,
    UnknownFormat,
    content_type,
    negotiate_description_format,
    prefers_html,
    query_formats_for_header,
)
from ezgraph.web.request import utf8_parameters
from ezgraph.web.shortcut import raise_attached_failure
from ezgraph.web.state import AppState, get_state

bp = Blueprint("sparql", __name__)

FORMATS = Namespace("http://www.w3.org/ns/formats/")
#: W3C format IRIs of everything ``/sparql`` can answer in.
RESULT_FORMAT_IRIS = (
    FORMATS["SPARQL_Results_JSON"],
    FORMATS["SPARQL_Results_XML"],
    FORMATS["SPARQL_Results_CSV"],
    FORMATS["SPARQL_Results_TSV"],
    FORMATS["Turtle"],
    FORMATS["N-Triples"],
    FORMATS["JSON-LD"],
    FORMATS["RDF_XML"],
    FORMATS["TriG"],
    FORMATS["N-Quads"],
)
_RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/ld+json": "json-ld",
    "application/n-triples": "nt",
}
_FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_QUERY_MEDIA_TYPE = "application/sparql-query"
_UPDATE_MEDIA_TYPE = "application/sparql-update"
_UPDATE_PARAMS = ("update", "using-graph-uri", "using-named-graph-uri")
READ_ONLY_MESSAGE = (
    "this endpoint is read-only: SPARQL Update is not accepted (send queries with query=)"
)


@dataclass(frozen=True)
class ProtocolRequest:
    """The protocol parameters of one request, taken from the URL, the form or the body."""

    query: str | None
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    #: ``(parameter, value)`` for every ``format``, ``output`` and ``results`` value, as sent.
    format_values: tuple[tuple[str, str], ...] = ()


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    protocol = parse_protocol_request(request)
    if protocol.query is None:
        if request.method == "POST":
            raise BadRequest(
                "no query was given: send query=... or an application/sparql-query body"
            )
        return _editor_or_description(protocol)
    try:
        formats = query_formats_for_header(request.headers.get("Accept"), protocol.format_values)
    except UnknownFormat as error:
        raise BadRequest(str(error)) from None
    state = get_state()
    query_request = query_request_for(protocol, formats, state)
    try:
        answer = _answer(state, query_request)
    except NotAcceptable as error:
        if formats.format_param is None:
            raise
        return error_response(
            406,
            f"{formats.format_param} does not fit a {error.form} result",
            kind="NotAcceptable",
        )
    response = Response(answer.body, content_type=content_type(answer.media_type))
    response.headers.extend(answer_headers(answer, state.max_rows))
    return response


def _answer(state: AppState, query_request: QueryRequest) -> QueryResponse:
    raise_attached_failure(query_request)  # the shortcut's, when it asked first (web.shortcut)
    return state.store.query(query_request)


def query_request_for(protocol: ProtocolRequest, formats: QueryFormats, state: AppState
                      ) -> QueryRequest:
    """The store request for ``protocol``'s query and dataset, answered in ``formats`` within
    the state's limits."""
    assert protocol.query is not None, "a request without a query is not sent to the store"
    return QueryRequest(
        query=protocol.query,
        results_media_type=formats.results_media_type,
        graph_media_type=formats.graph_media_type,
        default_graph_uris=protocol.default_graph_uris,
        named_graph_uris=protocol.named_graph_uris,
        timeout=state.timeout,
        max_rows=state.max_rows,
    )


def answer_headers(answer: QueryResponse, max_rows: int) -> list[tuple[str, str]]:
    """The headers of a query answer after ``Content-Type`` and ``Content-Length``."""
    headers = [("Vary", "Accept"), ("Server-Timing", f"query;dur={answer.elapsed * 1000:.1f}")]
    if answer.truncated:
        headers += [("X-Ezgraph-Truncated", "true"), ("X-Ezgraph-Max-Rows", str(max_rows))]
    return headers


def parse_protocol_request(req: Request) -> ProtocolRequest:
    """Read the query operation's parameters; refuse updates and malformed requests."""
    if req.method in ("GET", "HEAD"):  # HEAD is GET without the body (RFC 9110 §9.3.2)
        return _protocol_from_params(req.args.getlist, None)
    mimetype = req.mimetype
    if mimetype == _UPDATE_MEDIA_TYPE:
        raise QueryRefused(READ_ONLY_MESSAGE)
    if mimetype == _QUERY_MEDIA_TYPE:
        charset = req.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(
                f"{_QUERY_MEDIA_TYPE} bodies must be UTF-8, not {charset}"
            )
        body = req.get_data(cache=True)
        try:
            query = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadRequest(
                f"the query is not valid UTF-8 (byte {error.start} of the body)"
            ) from None
        return _protocol_from_params(req.args.getlist, query)
    if mimetype == _FORM_MEDIA_TYPE:
        form = req.form

        def both(name: str) -> list[str]:
            return [*req.args.getlist(name), *form.getlist(name)]

        return _protocol_from_params(both, None)
    shown = mimetype or "no Content-Type"
    raise UnsupportedMediaType(
        f"cannot read a query from {shown}: POST {_FORM_MEDIA_TYPE} (query=...) or "
        f"{_QUERY_MEDIA_TYPE}"
    )


def protocol_from_query_string(raw: bytes) -> ProtocolRequest:
    """The parameters of a ``GET`` (its raw query string), read as
    :func:`parse_protocol_request` reads them."""
    if raw.startswith(b"query=") and b"&" not in raw:
        # A query alone, as most clients send it, read as parse_qsl reads it in a fifth of the
        # time: each %XX becomes a \xXX escape of the unicode_escape codec (backslashes
        # escaped first), whose Latin-1 characters are the bytes. Anything it cannot read (a
        # % without two hex digits after it, bytes that are not UTF-8) is left to the reading
        # below, which keeps such a % as it is and names a byte that is not UTF-8.
        try:
            query = (raw[6:].replace(b"\\", b"\\\\").replace(b"%", b"\\x").replace(b"+", b" ")
                     .decode("unicode_escape").encode("latin-1").decode("utf-8"))
        except UnicodeError:
            pass
        else:
            if query.strip():
                return ProtocolRequest(query)
    # A plain dict, not werkzeug's MultiDict: a quarter of the reading's time on a lookup.
    values: dict[str, list[str]] = {}
    for name, value in utf8_parameters(raw, "in the URL"):
        values.setdefault(name, []).append(value)
    return _protocol_from_params(lambda name: values.get(name, []), None)


def _protocol_from_params(
    get_list: Callable[[str], list[str]], body_query: str | None
) -> ProtocolRequest:
    if any(get_list(name) for name in _UPDATE_PARAMS):
        raise QueryRefused(READ_ONLY_MESSAGE)
    queries = get_list("query")
    if body_query is not None:
        queries = [*queries, body_query]
    if len(queries) > 1:
        raise BadRequest(f"{len(queries)} queries were given; send exactly one")
    query = queries[0] if queries else None
    if query is not None and not query.strip():
        raise BadRequest("the query is empty")
    return ProtocolRequest(
        query=query,
        default_graph_uris=tuple(get_list("default-graph-uri")),
        named_graph_uris=tuple(get_list("named-graph-uri")),
        format_values=tuple(
            (name, value) for name in FORMAT_PARAMETERS for value in get_list(name)
        ),
    )


# --- service description -------------------------------------------------------------------------


def _editor_or_description(protocol: ProtocolRequest) -> Response:
    if not protocol.format_values and prefers_html(request.accept_mimetypes):
        editor = current_app.view_functions.get("ui.query_editor")
        if editor is not None:
            target = url_for("ui.query_editor")
            if target != request.path:
                return redirect(target, code=303)
            return current_app.make_response(editor())
    return service_description_response(protocol.format_values)


def service_description_response(format_values: tuple[tuple[str, str], ...] = ()
                                 ) -> Response:
    try:
        media_type = negotiate_description_format(request.accept_mimetypes, format_values)
    except UnknownFormat as error:
        raise BadRequest(str(error)) from None
    if media_type is None:
        offered = ", ".join(dict.fromkeys(DESCRIPTION_OFFERS.values()))
        return error_response(
            406, f"the service description is available as {offered}", kind="NotAcceptable"
        )
    body = render_service_description(_endpoint_url(), get_state().store.info(), media_type)
    response = Response(body, content_type=content_type(media_type))
    response.headers["Vary"] = "Accept"
    return response


@lru_cache(maxsize=32)
def render_service_description(endpoint_url: str, info: StoreInfo, media_type: str) -> bytes:
    """The SPARQL 1.1 Service Description of this endpoint, serialized as ``media_type``."""
    graph = service_description(endpoint_url, info)
    return graph.serialize(format=_RDFLIB_FORMATS[media_type], encoding="utf-8")


def service_description(endpoint_url: str, info: StoreInfo) -> Graph:
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("void", VOID)
    graph.bind("formats", FORMATS)
    service = URIRef(endpoint_url)
    graph.add((service, RDF.type, SD.Service))
    # Comunica and other clients find the endpoint through sd:endpoint.
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for format_iri in RESULT_FORMAT_IRIS:
        graph.add((service, SD.resultFormat, format_iri))
    dataset = BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default_graph = BNode()
    graph.add((dataset, SD.defaultGraph, default_graph))
    graph.add((default_graph, RDF.type, SD.Graph))
    graph.add((default_graph, VOID.triples, Literal(info.triples, datatype=XSD.integer)))
    for graph_info in info.graphs:
        named = BNode()
        description = BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(graph_info.iri)))
        graph.add((named, SD.graph, description))
        graph.add((description, RDF.type, SD.Graph))
        graph.add((description, VOID.triples, Literal(graph_info.triples, datatype=XSD.integer)))
    return graph


def _endpoint_url() -> str:
    public_base = get_state().public_base
    if public_base:
        return urljoin(public_base.rstrip("/") + "/", request.path.lstrip("/"))
    return request.base_url
