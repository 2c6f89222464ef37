"""Linked Data: every IRI the graph mints dereferences on this server.

Identifiers and documents are kept apart (Cool URIs for the Semantic Web, section 4.3):

* ``{base}id/…``, ``{base}def/Term``, ``{base}shapes/Name``, ``{base}graph/…``,
  ``{base}dataset`` and its VoID partitions and DCAT distributions ``{base}dataset/…`` name
  things, not web pages. Requested at the same path here, they answer
  ``303 See Other`` to their document ``/doc/{path}``. Ontology terms and shapes are treated
  the same way (a class is not a document either):
  ``/def/NationalETDZ`` → ``/doc/def/NationalETDZ``.
* ``{base}def`` (the ontology) and ``{base}shapes`` (the shapes graph) are documents: they answer
  directly with an overview of every class and property, or every shape.
* ``/doc/{path}`` negotiates HTML, Turtle, JSON-LD, N-Triples and RDF/XML by ``Accept``, or
  takes the format from an extension (``/doc/id/zone/cetdz.ttl``). A negotiated answer names the
  extension URL in ``Content-Location`` and says ``Vary: Accept``. ETags are derived from the
  release, the IRI and the format, so a conditional GET costs no query. They are weak
  (``W/"…"``, RFC 9110 §8.8.1): a description's statements come in its store's order and its
  blank nodes are labelled per loaded store, so two processes, or one before and after its
  in-memory copy is loaded, may write the same graph as different bytes.
* ``/doc?iri=…`` describes any IRI the store knows, for data whose IRIs are not under the base
  (``serve --data`` with arbitrary files).

RDF answers keep the persistent IRIs; only HTML links are mapped to this server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from ezgraph import __version__
from ezgraph.store.base import (
    DescribeRequest,
    QueryRequest,
    QueryResponse,
    StoreError,
)
from ezgraph.store.pages import PageSpec
from ezgraph.web import rdfdoc
from ezgraph.web.errors import retry_after
from ezgraph.web.shortcut import raise_attached_failure
from ezgraph.web.state import AppState, get_state

bp = Blueprint("linked_data", __name__, template_folder="templates")


# --------------------------------------------------------------------------------------------
# Formats and negotiation (shared with the dumps and UI blueprints)


@dataclass(frozen=True)
class Format:
    extension: str
    media_type: str
    name: str
    #: Other media types a client may ask for and get this format.
    aliases: tuple[str, ...] = ()

    @property
    def content_type(self) -> str:
        if self.media_type.startswith("text/"):
            return f"{self.media_type}; charset=utf-8"
        return self.media_type


HTML = Format("html", "text/html", "HTML", ("application/xhtml+xml",))
# Turtle is also what clients asking for N3 can read (Turtle is a subset of N3).
TURTLE = Format("ttl", "text/turtle", "Turtle", ("application/x-turtle", "text/n3"))
JSON_LD = Format("jsonld", "application/ld+json", "JSON-LD", ("application/json",))
N_TRIPLES = Format("nt", "application/n-triples", "N-Triples")
RDF_XML = Format("rdf", "application/rdf+xml", "RDF/XML")

RDF_FORMATS: tuple[Format, ...] = (TURTLE, JSON_LD, N_TRIPLES, RDF_XML)
#: What a document offers, preferred first when a client rates several the same (``*/*``).
DOCUMENT_FORMATS: tuple[Format, ...] = (HTML, *RDF_FORMATS)
BY_EXTENSION = {f.extension: f for f in DOCUMENT_FORMATS}


def negotiate(formats: Sequence[Format]) -> Format | None:
    """The format the request's ``Accept`` header prefers, the first one when there is no
    header, or None when nothing offered is acceptable (a 406)."""
    return negotiate_header(request.headers.get("Accept"), tuple(formats))


@lru_cache(maxsize=512)
def negotiate_header(header: str | None, formats: tuple[Format, ...]) -> Format | None:
    # Remembered per raw header: clients repeat the same few, and werkzeug's matching costs a
    # tenth of a millisecond per request.
    accept = parse_accept_header(header, MIMEAccept)
    if not accept.provided:
        return formats[0]
    offers = [f.media_type for f in formats] + [a for f in formats for a in f.aliases]
    best = accept.best_match(offers)
    if best is None:
        return None
    return next(f for f in formats if best == f.media_type or best in f.aliases)


def prefers_html() -> bool:
    return negotiate((HTML, Format("txt", "text/plain", "text"))) is HTML


def not_acceptable(formats: Sequence[Format], links: dict[str, str] | None = None) -> Response:
    lines = ["406 Not Acceptable: this resource is available as"]
    for f in formats:
        where = f" at {links[f.extension]}" if links and f.extension in links else ""
        lines.append(f"  {f.media_type} ({f.name}){where}")
    return Response("\n".join(lines) + "\n", status=406, mimetype="text/plain",
                    headers={"Vary": "Accept"})


def etag_of(*parts: str) -> str:
    """An entity tag that changes whenever any of ``parts`` does."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:40]


def body_etag(body: bytes) -> str:
    """The entity tag of a document that no release names: taken from its bytes."""
    return hashlib.sha256(body).hexdigest()[:40]


def not_modified(etag: str, headers: dict[str, str],
                 exists: Callable[[], bool] | None = None, weak: bool = False
                 ) -> Response | None:
    """A 304 when the request's ``If-None-Match`` matches ``etag`` (sent back as a weak tag
    when ``weak``).

    The comparison is the weak one (RFC 9110 §13.1.2): ``W/"x"`` matches ``"x"``, as caches
    that downgraded the tag send it back. ``*`` matches only a current representation, so when
    the caller has not yet made sure there is one, ``exists`` is asked first (only for ``*``:
    a named tag is derived from the IRI and can only match what was served).
    """
    conditions = request.if_none_match
    if not etag or not conditions.contains_weak(etag):
        return None
    if conditions.star_tag and exists is not None and not exists():
        return None
    response = Response(status=304)
    response.set_etag(etag, weak)
    response.headers.update(headers)
    return response


# --------------------------------------------------------------------------------------------
# IRIs and links


def public_base(state: AppState | None = None) -> str:
    """Where this server answers for the data's IRIs (``serve --base-url``, else the host)."""
    state = state or get_state()
    base = state.public_base or request.url_root
    return base if base.endswith("/") else base + "/"


def href_for(iri: str, known: bool) -> str | None:
    """Where an HTML link to ``iri`` should lead: the data's own IRIs to this server, other IRIs
    the page knows something about to their description here, the rest to themselves."""
    state = get_state()
    if iri.startswith(state.data_base):
        return public_base(state) + iri[len(state.data_base):]
    if known:
        return url_for("linked_data.any_document", iri=iri)
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def formatter(description: rdfdoc.Description,
              document_of: str | None = None) -> rdfdoc.TermFormatter:
    return rdfdoc.TermFormatter(description, get_state().data_base, href_for, document_of)


def editor_url(query: str) -> str:
    return url_for("ui.query_editor", query=query)


def release(state: AppState | None = None) -> str:
    state = state or get_state()
    return rdfdoc.store_release(state.store, state.manifest)


def _iri_for_path(path: str) -> str:
    return get_state().data_base + path


def _exists(iri: str) -> bool:
    state = get_state()
    if state.store.describes_resources:
        return state.store.knows(iri, state.timeout)
    try:
        query = rdfdoc.exists_query(iri)
    except ValueError:
        return False
    return rdfdoc.ask(state.store, query, state.timeout)


# --------------------------------------------------------------------------------------------
# Errors: never a traceback, always a page that helps


@bp.errorhandler(404)
def not_found(error: Exception) -> Response:
    description = getattr(error, "description", "") or "Nothing is published at this address."
    return not_found_response(description)


#: Error pages are HTML for browsers and text for the rest, so a cache has to keep them apart
#: by ``Accept`` (RFC 9110 §12.5.5).
NEGOTIATED = {"Vary": "Accept"}


def not_found_response(message: str, iri: str | None = None) -> Response:
    suggestion = ""
    if iri:
        suggestion = rdfdoc.local_name(iri).replace("-", " ")
    if prefers_html():
        body = render_template("not_found.html", message=message, iri=iri, suggestion=suggestion)
        return Response(body, status=404, mimetype="text/html", headers=NEGOTIATED)
    text = f"404 Not Found: {message}\n"
    if iri:
        text += f"Search by label: {url_for('linked_data.search', q=suggestion, _external=True)}\n"
    return Response(text, status=404, mimetype="text/plain", headers=NEGOTIATED)


def store_error_response(error: StoreError) -> Response:
    status = getattr(error, "http_status", 500)
    headers = {**NEGOTIATED, **retry_after(error)}
    if prefers_html():
        body = render_template("error.html", status=status, message=str(error))
        return Response(body, status=status, mimetype="text/html", headers=headers)
    return Response(f"{status}: {error}\n", status=status, mimetype="text/plain",
                    headers=headers)


bp.register_error_handler(StoreError, store_error_response)


# --------------------------------------------------------------------------------------------
# Identifiers: 303 to their documents


def _see_other(path: str) -> Response:
    iri = _iri_for_path(path)
    fmt = negotiate(DOCUMENT_FORMATS)
    if fmt in RDF_FORMATS and get_state().store.describes_resources:
        # The client asks for the document next. Reading it now tells whether the IRI is
        # known and leaves it in the store's answer cache for that request: one trip to a
        # query worker per dereference instead of two.
        known = _rdf_document(iri, fmt) is not None
    else:
        known = _exists(iri)
    if not known:
        return not_found_response(f"The dataset says nothing about <{iri}>.", iri)
    return redirect(url_for("linked_data.document", path=path), code=303)


@bp.get("/id/<path:rest>")
def identifier(rest: str) -> Response:
    return _see_other("id/" + rest)


@bp.get("/def/<path:rest>")
def ontology_term(rest: str) -> Response:
    return _see_other("def/" + rest)


@bp.get("/shapes/<path:rest>")
def shape(rest: str) -> Response:
    return _see_other("shapes/" + rest)


@bp.get("/graph/<path:rest>")
def named_graph(rest: str) -> Response:
    return _see_other("graph/" + rest)


@bp.get("/dataset")
def dataset() -> Response:
    return _see_other("dataset")


@bp.get("/dataset/<path:rest>")
def dataset_part(rest: str) -> Response:
    """The VoID class and property partitions and the DCAT distributions the build mints
    (``dataset/class/…``, ``dataset/property/…``, ``dataset/distribution/{file}``, the latter
    also with ``#sha256``, which clients strip) are things too."""
    return _see_other("dataset/" + rest)


# --------------------------------------------------------------------------------------------
# Documents


def split_extension(path: str) -> tuple[str, Format | None]:
    stem, dot, extension = path.rpartition(".")
    if dot and extension in BY_EXTENSION and stem and not stem.endswith("/"):
        return stem, BY_EXTENSION[extension]
    return path, None


@bp.get("/doc/<path:path>")
def document(path: str) -> Response:
    stem, chosen = split_extension(path)
    if chosen is not None and not _exists(_iri_for_path(stem)) and _exists(_iri_for_path(path)):
        stem, chosen = path, None  # the IRI itself ends like an extension
    iri = _iri_for_path(stem)
    # One url_for for the five links: an extension adds nothing that needs quoting.
    document_url = url_for("linked_data.document", path=stem)

    def location(fmt: Format) -> str:
        return f"{document_url}.{fmt.extension}"

    return describe(iri, chosen, location)


@bp.get("/doc")
def any_document() -> Response:
    """The description of any IRI the store knows: ``/doc?iri=…[&format=ttl]``."""
    state = get_state()
    iri = request.args.get("iri", "").strip()
    if not iri:
        return Response("400 Bad Request: give the IRI to describe as ?iri=…\n", status=400,
                        mimetype="text/plain")
    if iri.startswith(state.data_base) and len(iri) > len(state.data_base):
        path = iri[len(state.data_base):]
        extension = request.args.get("format")
        if extension in BY_EXTENSION:
            path = f"{path}.{extension}"
        return redirect(url_for("linked_data.document", path=path), code=302)
    chosen = None
    if "format" in request.args:
        chosen = BY_EXTENSION.get(request.args["format"])
        if chosen is None:
            return Response(
                "400 Bad Request: format must be one of " + ", ".join(BY_EXTENSION) + "\n",
                status=400, mimetype="text/plain")

    def location(fmt: Format) -> str:
        return url_for("linked_data.any_document", iri=iri, format=fmt.extension)

    return describe(iri, chosen, location)


#: Triples a document may hold before it is cut (and says so in ``X-Ezgraph-Truncated``).
MAX_DOCUMENT_TRIPLES = 100_000


def describe(iri: str, chosen: Format | None, location: Callable[[Format], str]) -> Response:
    """Answer with the description of ``iri`` in ``chosen`` or the negotiated format."""
    links = {f.extension: location(f) for f in DOCUMENT_FORMATS}
    negotiated = chosen is None
    fmt = chosen or negotiate(DOCUMENT_FORMATS)
    if fmt is None:
        if not _exists(iri):  # saying "not found" helps more than "not acceptable"
            return not_found_response(f"The dataset says nothing about <{iri}>.", iri)
        return not_acceptable(DOCUMENT_FORMATS, links)

    headers = {"Content-Location": links[fmt.extension], "Link": alternates(links)}
    if negotiated:
        headers["Vary"] = "Accept"
    tag = document_etag(iri, fmt)
    weak = True  # see the module docstring
    if cached := not_modified(tag, headers, exists=lambda: _exists(iri), weak=weak):
        return cached

    if fmt is HTML:
        if not _exists(iri):
            return not_found_response(f"The dataset says nothing about <{iri}>.", iri)
        body = _entity_page(iri, links).encode("utf-8")
    else:
        response = _rdf_document(iri, fmt)
        if response is None:
            return not_found_response(f"The dataset says nothing about <{iri}>.", iri)
        body = response.body
        if response.truncated:
            headers["X-Ezgraph-Truncated"] = "true"

    if not tag:
        tag, weak = body_etag(body), False  # it names these very bytes
        if cached := not_modified(tag, headers):
            return cached
    answer = Response(body, content_type=fmt.content_type, headers=headers)
    answer.set_etag(tag, weak)
    return answer


def _rdf_document(iri: str, fmt: Format) -> QueryResponse | None:
    """The RDF document of ``iri``, or ``None`` when the store knows nothing about it."""
    state = get_state()
    if state.store.describes_resources:
        describe_request = describe_request_for(iri, fmt, state)
        raise_attached_failure(describe_request)  # a shortcut's, when it asked first (web.shortcut)
        return state.store.describe(describe_request)
    if not _exists(iri):
        return None
    return state.store.query(QueryRequest(
        query=rdfdoc.document_query(iri, state.data_base), results_media_type=None,
        graph_media_type=fmt.media_type, timeout=state.timeout,
        max_rows=_max_document_triples(state),
    ))


def describe_request_for(iri: str, fmt: Format, state: AppState) -> DescribeRequest:
    """What a store that describes resources itself is asked for the document of ``iri``."""
    return DescribeRequest(
        iri=iri, media_type=fmt.media_type, label_predicates=rdfdoc.LABEL_PREDICATES,
        blank_node_depth=rdfdoc.BLANK_NODE_DEPTH, timeout=state.timeout,
        max_triples=_max_document_triples(state),
    )


def _max_document_triples(state: AppState) -> int:
    return max(state.max_rows, MAX_DOCUMENT_TRIPLES)


def document_pages(max_rows: int) -> PageSpec:
    """The documents a store may make ahead for every resource of a release: Turtle, as
    :func:`describe_request_for` asks for them (``max_rows`` as in :class:`AppState`)."""
    return PageSpec(TURTLE.media_type, rdfdoc.LABEL_PREDICATES, rdfdoc.BLANK_NODE_DEPTH,
                    max(max_rows, MAX_DOCUMENT_TRIPLES))


def document_etag(iri: str, fmt: Format, state: AppState | None = None) -> str:
    """The ETag of the document of ``iri`` in ``fmt``, to be sent weak (see the module
    docstring); "" when no release names the data: the caller takes a strong one from the
    body."""
    current = release(state)
    if not current:
        return ""  # nothing identifies the data: the ETag is taken from the body instead
    parts = [current, iri, fmt.media_type]
    if fmt is HTML:
        # Pages carry links to this host and come from this version's templates.
        parts += [public_base(), __version__]
    return etag_of(*parts)


def alternates(links: dict[str, str]) -> str:
    return ", ".join(
        f'<{links[f.extension]}>; rel="alternate"; type="{f.media_type}"' for f in DOCUMENT_FORMATS
    )


def _entity_page(iri: str, links: dict[str, str]) -> str:
    state = get_state()
    query = rdfdoc.page_query(iri, state.data_base)
    description = rdfdoc.construct(state.store, query, state.timeout)
    view = rdfdoc.entity_view(description, iri, state.data_base)
    graph_triples = 0
    rows = rdfdoc.select(
        state.store,
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {rdfdoc.sparql_iri(iri)} {{ ?s ?p ?o }} }}",
        state.timeout,
    )
    if rows and "n" in rows[0]:
        graph_triples = int(rows[0]["n"].value)
    graph_query = (f"CONSTRUCT {{ ?s ?p ?o }}\nWHERE {{ GRAPH {rdfdoc.sparql_iri(iri)} "
                   "{ ?s ?p ?o } }")
    return render_template(
        "entity.html",
        view=view,
        fmt=formatter(description, iri),
        iri=iri,
        iri_href=href_for(iri, True),
        links={f.name: links[f.extension] for f in RDF_FORMATS},
        alternates=[(f.media_type, links[f.extension]) for f in RDF_FORMATS],
        editor_link=editor_url(query),
        graph_triples=graph_triples,
        graph_editor_link=editor_url(graph_query) if graph_triples else None,
    )


# --------------------------------------------------------------------------------------------
# The ontology and the shapes: documents at {base}def and {base}shapes


@dataclass(frozen=True)
class Overview:
    path: str
    graph: str
    namespace: str
    title: str


def _overview(kind: str) -> Overview:
    base = get_state().data_base
    if kind == "def":
        return Overview("def", base + "graph/ontology", base + "def/", "Ontology")
    return Overview("shapes", base + "graph/shapes", base + "shapes/", "Shapes")


@bp.get("/def", defaults={"extension": None})
@bp.get("/def.<extension>")
def ontology(extension: str | None) -> Response:
    return _overview_answer(_overview("def"), extension)


@bp.get("/shapes", defaults={"extension": None})
@bp.get("/shapes.<extension>")
def shapes(extension: str | None) -> Response:
    return _overview_answer(_overview("shapes"), extension)


@bp.get("/def/")
@bp.get("/shapes/")
def overview_with_slash() -> Response:
    """``/def/`` and ``/shapes/`` are common misspellings of the ontology and shapes IRIs."""
    return redirect(request.path.rstrip("/"), code=301)


def _overview_answer(overview: Overview, extension: str | None) -> Response:
    state = get_state()
    links = {f.extension: url_for(request.endpoint, extension=f.extension)
             for f in DOCUMENT_FORMATS}
    if extension is not None and extension not in BY_EXTENSION:
        abort(404, description=f"/{overview.path} is available as "
                               + ", ".join(f".{e}" for e in BY_EXTENSION) + ".")
    fmt = BY_EXTENSION[extension] if extension else negotiate(DOCUMENT_FORMATS)
    if fmt is None:
        return not_acceptable(DOCUMENT_FORMATS, links)
    headers = {"Content-Location": links[fmt.extension], "Link": alternates(links)}
    if extension is None:
        headers["Vary"] = "Accept"
    current = release()
    tag = etag_of(current, state.data_base + overview.path, fmt.media_type,
                  public_base() if fmt is HTML else "", __version__) if current else ""
    weak = True  # as a document's: the overview lists statements in the store's order
    if cached := not_modified(tag, headers, weak=weak):
        return cached

    if fmt is HTML:
        body = _overview_page(overview).encode("utf-8")
    else:
        in_graph = rdfdoc.ask(state.store, rdfdoc.graph_exists_query(overview.graph),
                              state.timeout)
        query = (rdfdoc.graph_contents_query(overview.graph) if in_graph
                 else rdfdoc.namespace_contents_query(overview.namespace))
        body = state.store.query(QueryRequest(
            query=query, results_media_type=None, graph_media_type=fmt.media_type,
            timeout=state.timeout, max_rows=_max_document_triples(state),
        )).body
    if not tag:
        tag, weak = body_etag(body), False
        if cached := not_modified(tag, headers):
            return cached
    answer = Response(body, content_type=fmt.content_type, headers=headers)
    answer.set_etag(tag, weak)
    return answer


def _overview_page(overview: Overview) -> str:
    state = get_state()
    if overview.path == "def":
        query = rdfdoc.terms_overview_query(rdfdoc.ONTOLOGY_TERM_CLASSES, state.data_base)
        description = rdfdoc.construct(state.store, query, state.timeout)
        summaries = rdfdoc.term_summaries(description, rdfdoc.ONTOLOGY_TERM_CLASSES)
        groups = _group_terms(summaries)
        return render_template(
            "ontology.html", overview=overview, groups=groups, fmt=formatter(description),
            links=_overview_links("linked_data.ontology"), editor_link=editor_url(query),
        )
    query = rdfdoc.terms_overview_query(rdfdoc.SHAPE_CLASSES, state.data_base)
    description = rdfdoc.construct(state.store, query, state.timeout)
    return render_template(
        "shapes.html", overview=overview, shapes=rdfdoc.shape_summaries(description),
        fmt=formatter(description), links=_overview_links("linked_data.shapes"),
        editor_link=editor_url(query),
    )


def _overview_links(endpoint: str) -> dict[str, str]:
    return {f.name: url_for(endpoint, extension=f.extension) for f in RDF_FORMATS}


def _group_terms(summaries: list[rdfdoc.TermSummary]) -> list[tuple[str, list]]:
    owl, rdfs_, rdf_, skos = (rdfdoc.OWL_NS, rdfdoc.RDFS_NS, rdfdoc.RDF_NS, rdfdoc.SKOS_NS)
    groups = [
        ("Ontologies", {owl + "Ontology"}),
        ("Classes", {owl + "Class", rdfs_ + "Class"}),
        ("Object properties", {owl + "ObjectProperty"}),
        ("Datatype properties", {owl + "DatatypeProperty"}),
        ("Other properties", {owl + "AnnotationProperty", rdf_ + "Property"}),
        ("Concept schemes", {skos + "ConceptScheme"}),
    ]
    placed: set[str] = set()
    result = []
    for title, kinds in groups:
        members = [s for s in summaries
                   if s.term.value not in placed and {k.value for k in s.kinds} & kinds]
        placed.update(s.term.value for s in members)
        if members:
            result.append((title, members))
    return result


# --------------------------------------------------------------------------------------------
# Finding things by label


@bp.get("/search")
def search() -> Response | str:
    state = get_state()
    text = request.args.get("q", "").strip()
    results: list[dict] = []
    query = ""
    if len(text) >= 2:
        query = rdfdoc.label_search_query(text[:200])
        for row in rdfdoc.select(state.store, query, state.timeout, max_rows=50):
            resource = row.get("resource")
            if resource is None or not resource.is_iri:
                continue
            kind = row.get("type")
            results.append({
                "iri": resource.value,
                "href": href_for(resource.value, True),
                "label": row["label"].value if "label" in row else resource.value,
                "type": rdfdoc.local_name(kind.value) if kind else "",
            })
    return render_template("search.html", q=text, results=results,
                           too_short=0 < len(text) < 2,
                           editor_link=editor_url(query) if query else None)
