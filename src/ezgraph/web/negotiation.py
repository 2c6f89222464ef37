"""Which serialization a client gets: the ``Accept`` header (werkzeug's ``MIMEAccept``, with
q-values and wildcards) or a ``format=`` parameter that overrides it.

A SPARQL client does not know in advance which form its query has, so one request picks two
media types: one for SELECT/ASK results and one for CONSTRUCT/DESCRIBE graphs. ``None`` means the
client accepts nothing for that form; the store answers 406 once it knows the form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

#: Offered media type → the media type produced, in server preference order (first wins a tie).
RESULTS_OFFERS: Mapping[str, str] = {
    "application/sparql-results+json": "application/sparql-results+json",
    "application/sparql-results+xml": "application/sparql-results+xml",
    "text/csv": "text/csv",
    "text/tab-separated-values": "text/tab-separated-values",
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
}
GRAPH_OFFERS: Mapping[str, str] = {
    "text/turtle": "text/turtle",
    "application/n-triples": "application/n-triples",
    "application/ld+json": "application/ld+json",
    "application/rdf+xml": "application/rdf+xml",
    "application/trig": "application/trig",
    "application/n-quads": "application/n-quads",
    "application/x-turtle": "text/turtle",
    "application/turtle": "text/turtle",
    "text/n3": "text/turtle",  # Turtle is a subset of N3
    "text/rdf+n3": "text/turtle",
    "application/x-json+ld": "application/ld+json",
    "application/xml": "application/rdf+xml",
    "text/xml": "application/rdf+xml",
    "application/json": "application/ld+json",
}
#: Formats of the service description (a graph; never Turtle as text/plain).
DESCRIPTION_OFFERS: Mapping[str, str] = {
    "text/turtle": "text/turtle",
    "application/rdf+xml": "application/rdf+xml",
    "application/ld+json": "application/ld+json",
    "application/n-triples": "application/n-triples",
    "application/x-turtle": "text/turtle",
    "application/turtle": "text/turtle",
    "application/xml": "application/rdf+xml",
    "application/json": "application/ld+json",
}
HTML_TYPES = ("text/html", "application/xhtml+xml")

_RESULTS_BY_NAME = {
    "json": "application/sparql-results+json",
    "srj": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "srx": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
_GRAPH_BY_NAME = {
    "json": "application/ld+json",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "xml": "application/rdf+xml",
    "rdfxml": "application/rdf+xml",
    "rdf+xml": "application/rdf+xml",
    "rdf": "application/rdf+xml",
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "n3": "text/turtle",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "n-triples": "application/n-triples",
    "trig": "application/trig",
    "nq": "application/n-quads",
    "nquads": "application/n-quads",
    "n-quads": "application/n-quads",
}
#: Every name ``format=`` accepts, for error messages and the documentation.
FORMAT_NAMES = tuple(dict.fromkeys([*_RESULTS_BY_NAME, *_GRAPH_BY_NAME]))


class UnknownFormat(ValueError):
    """A ``format=`` value names no serialization, or the values given disagree."""


@dataclass(frozen=True)
class QueryFormats:
    results_media_type: str | None
    graph_media_type: str | None
    #: The ``format=`` value the choice came from (``None`` when negotiated from Accept).
    format_param: str | None = None


def best_offer(accept: MIMEAccept, offers: Mapping[str, str]) -> str | None:
    """The produced media type for the offer the client likes best (no Accept means ``*/*``)."""
    if not accept:
        return next(iter(offers.values()))
    match = accept.best_match(list(offers))
    return offers[match] if match is not None else None


def negotiate_query_formats(accept: MIMEAccept, format_values: Iterable[str]) -> QueryFormats:
    """Media types for a query's answer; ``format=`` values, when given, decide alone.

    Clients such as SPARQLWrapper send ``format`` several times (a name and a media type list,
    e.g. ``format=tsv&format=text/tab-separated-values``): all values must agree.
    """
    names = [part.strip() for value in format_values for part in value.split(",")]
    names = [name for name in names if name]
    if not names:
        return QueryFormats(best_offer(accept, RESULTS_OFFERS), best_offer(accept, GRAPH_OFFERS))
    choices = {_format_choice(name) for name in names}
    results = {choice[0] for choice in choices if choice[0] is not None}
    graphs = {choice[1] for choice in choices if choice[1] is not None}
    if len(results) > 1 or len(graphs) > 1:
        raise UnknownFormat(f"the format values {', '.join(names)} ask for different formats")
    return QueryFormats(
        next(iter(results), None), next(iter(graphs), None), format_param=names[0]
    )


@lru_cache(maxsize=512)
def query_formats_for_header(accept_header: str | None,
                             format_values: tuple[str, ...]) -> QueryFormats:
    """:func:`negotiate_query_formats` for a raw ``Accept`` header, remembered: clients send the
    same few headers over and over, and werkzeug's matching of each offer against each accepted
    type costs a tenth of a millisecond, as much as answering a cheap query."""
    return negotiate_query_formats(parse_accept_header(accept_header, MIMEAccept), format_values)


def negotiate_description_format(accept: MIMEAccept, format_values: Iterable[str]) -> str | None:
    """Media type of the service description, or ``None`` when nothing fits (406)."""
    names = [part.strip() for value in format_values for part in value.split(",") if part.strip()]
    if names:
        graphs = {_format_choice(name)[1] for name in names}
        if len(graphs) > 1:
            raise UnknownFormat(f"the format values {', '.join(names)} ask for different formats")
        return graphs.pop()
    return best_offer(accept, DESCRIPTION_OFFERS)


def prefers_html(accept: MIMEAccept) -> bool:
    """True for browsers: HTML is asked for explicitly and liked at least as much as RDF."""
    if not accept:
        return False
    match = accept.best_match([*DESCRIPTION_OFFERS, *HTML_TYPES])
    return match in HTML_TYPES


def content_type(media_type: str) -> str:
    """The Content-Type header: UTF-8 is stated for text and XML types."""
    if media_type.startswith("text/") or media_type.endswith("xml"):
        return f"{media_type}; charset=utf-8"
    return media_type


def _format_choice(name: str) -> tuple[str | None, str | None]:
    key = name.lower()
    results = _RESULTS_BY_NAME.get(key) or RESULTS_OFFERS.get(key)
    graph = _GRAPH_BY_NAME.get(key) or GRAPH_OFFERS.get(key)
    if results is None and graph is None:
        raise UnknownFormat(
            f"unknown format {name!r}: use one of {', '.join(FORMAT_NAMES)} or a media type"
        )
    return results, graph
