"""The one interface every storage backend offers to the web tier.

The web tier never sees a store's terms or result objects: it asks for an answer already
serialized in a media type it negotiated, because the embedded backend answers from worker
processes (so that a timeout can kill the work) and the remote backend answers over HTTP.
Both only ever move bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal

QueryForm = Literal["SELECT", "ASK", "CONSTRUCT", "DESCRIBE"]

#: Media types a backend must be able to produce for SELECT and ASK.
RESULTS_MEDIA_TYPES = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)
#: Media types a backend must be able to produce for CONSTRUCT and DESCRIBE.
GRAPH_MEDIA_TYPES = (
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
)


@dataclass(frozen=True)
class QueryRequest:
    """A read-only SPARQL query with its dataset and the formats the client accepts.

    ``results_media_type`` is used when the query turns out to be SELECT or ASK,
    ``graph_media_type`` when it is CONSTRUCT or DESCRIBE; ``None`` means the client accepts
    no format for that form, and the backend raises :class:`NotAcceptable` once it knows it.
    """

    query: str
    results_media_type: str | None = "application/sparql-results+json"
    graph_media_type: str | None = "text/turtle"
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    timeout: float = 10.0
    max_rows: int = 10_000


@dataclass(frozen=True)
class DescribeRequest:
    """The bounded description of one resource, as a Linked Data document shows it.

    Its triples: every statement about ``iri``, and about the blank nodes it leads to
    (``blank_node_depth`` deep, following RDF lists to their end); every statement whose object
    is ``iri``; and the literal ``label_predicates`` statements about every resource and
    property those statements name. This is the CONSTRUCT of ``ezgraph.web.rdfdoc``'s
    ``document_query``, which a backend with :attr:`Store.describes_resources` answers from its
    indexes instead.
    """

    iri: str
    media_type: str
    label_predicates: tuple[str, ...]
    blank_node_depth: int
    timeout: float = 10.0
    max_triples: int = 100_000


@dataclass(frozen=True)
class QueryResponse:
    form: QueryForm
    media_type: str
    body: bytes
    #: True when the row cap cut the answer (``max_rows`` rows were kept).
    truncated: bool = False
    #: Seconds spent computing the answer inside the backend.
    elapsed: float = 0.0


@dataclass(frozen=True)
class GraphInfo:
    iri: str
    triples: int


@dataclass(frozen=True)
class StoreInfo:
    """What the service description and the home page report about the data."""

    backend: str
    triples: int
    graphs: tuple[GraphInfo, ...] = field(default_factory=tuple)
    #: Identifies the loaded release; changes whenever the data does (used for ETags and caches).
    release: str = ""


class StoreError(Exception):
    """Base class: every error a backend raises has a message fit for an HTTP client."""

    http_status = 500


class QuerySyntaxError(StoreError):
    """The query does not parse; ``line`` and ``column`` are 1-based when known."""

    http_status = 400

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line
        self.column = column


class QueryRefused(StoreError):
    """The query is valid SPARQL but not allowed here (update, SERVICE, a remote FROM ...)."""

    http_status = 400


class NotAcceptable(StoreError):
    """No format the client accepts fits the query's form."""

    http_status = 406

    def __init__(self, form: QueryForm):
        article = "an" if form == "ASK" else "a"
        super().__init__(f"no acceptable media type for {article} {form} result")
        self.form = form


class QueryTimeout(StoreError):
    http_status = 503

    def __init__(self, seconds: float):
        super().__init__(f"the query was stopped after the {seconds:g} s time limit")
        self.seconds = seconds


class StoreUnavailable(StoreError):
    """The backend cannot answer now (remote store down or overloaded); try again later."""

    http_status = 503

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


class Store(ABC):
    """A read-only SPARQL dataset whose default graph is the union of its named graphs."""

    #: False when the data cannot change while the store is open (an embedded store, a file
    #: loaded into memory): its release id is then fixed and may be kept for good. True for a
    #: store others can write to (a remote endpoint), whose ``info().release`` must be asked
    #: again; the web tier neither keeps it nor caches whole answers for it.
    release_can_change: bool = False
    #: True for a backend that answers :meth:`describe` and :meth:`knows` itself (like
    #: rdflib's ``context_aware`` flags); the web tier asks others with SPARQL queries.
    describes_resources: bool = False

    @abstractmethod
    def query(self, request: QueryRequest) -> QueryResponse:
        """Answer ``request`` or raise a :class:`StoreError`; never leaves work running past
        ``request.timeout``."""

    @abstractmethod
    def info(self) -> StoreInfo:
        """Triple counts and graphs, for service descriptions and the home page."""

    def describe(self, request: DescribeRequest) -> QueryResponse | None:
        """The description of ``request.iri`` in ``request.media_type``, or ``None`` when the
        store knows nothing about that IRI. Only when :attr:`describes_resources` is true."""
        raise NotImplementedError(f"{type(self).__name__} does not describe resources")

    def knows(self, iri: str, timeout: float) -> bool:
        """Whether ``iri`` is a subject, predicate, object or graph name in the store. Only
        when :attr:`describes_resources` is true."""
        raise NotImplementedError(f"{type(self).__name__} does not describe resources")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers, files and connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
