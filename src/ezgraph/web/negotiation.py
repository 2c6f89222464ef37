"""Which serialization a client gets: the ``Accept`` header (werkzeug's ``MIMEAccept``, with
q-values and wildcards) or a ``format=`` parameter (or its aliases ``output=`` and ``results=``)
that overrides it.

Media type parameters other than ``q`` in ``Accept`` (``text/csv;charset=utf-8``, a JSON-LD
``profile``) are dropped before anything negotiates (:func:`accept_without_parameters`, applied
to every request by :class:`ezgraph.web.app.EzgraphRequest`): each type is served in one variant
only, UTF-8 and JSON-LD in its usual form, and werkzeug would otherwise match a parameter only
against an offer carrying the same one, refusing ``text/csv;charset=utf-8`` although that is the
Content-Type CSV answers are labelled with (RFC 9110 §12.5.1; Oxigraph and Fuseki ignore the
parameters too).

A SPARQL client does not know in advance which form its query has, so one request picks two
media types: one for SELECT/ASK results and one for CONSTRUCT/DESCRIBE graphs. ``None`` means the
client accepts nothing for that form; the store answers 406 once it knows the form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header

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
#: The parameters that name a format, overriding Accept: ``format`` and Fuseki's aliases
#: ``output`` and ``results``. SPARQLWrapper sends all three, each with the same values (a name,
#: and for some formats a media type list too, e.g. ``format=tsv&format=text/tab-separated-values
#: &output=tsv&...``), so every value of all three must agree.
FORMAT_PARAMETERS = ("format", "output", "results")


class UnknownFormat(ValueError):
    """A format parameter's value names no serialization, or the values given disagree."""


@lru_cache(maxsize=512)
def accept_without_parameters(header: str) -> str:
    """``header`` (an ``Accept`` value) without media type parameters other than ``q``.

    ``text/csv;charset=utf-8;q=0.5, */*;q=0.1`` becomes ``text/csv;q=0.5,*/*;q=0.1``. Remembered
    per header: clients send the same few over and over.
    """
    accept = parse_accept_header(header, MIMEAccept)
    bare = [(parse_options_header(value)[0], quality) for value, quality in accept]
    if bare == list(accept):
        return header  # nothing to drop: the header stays as the client sent it
    return MIMEAccept(bare).to_header()


@dataclass(frozen=True)
class QueryFormats:
    results_media_type: str | None
    graph_media_type: str | None
    #: The parameter the choice came from, as sent (``output=csv``); ``None`` when negotiated
    #: from Accept.
    format_param: str | None = None


def best_offer(accept: MIMEAccept, offers: Mapping[str, str]) -> str | None:
    """The produced media type for the offer the client likes best (no Accept means ``*/*``)."""
    if not accept:
        return next(iter(offers.values()))
    match = accept.best_match(list(offers))
    return offers[match] if match is not None else None


def negotiate_query_formats(accept: MIMEAccept,
                            format_values: Iterable[tuple[str, str]]) -> QueryFormats:
    """Media types for a query's answer; format parameters, when given, decide alone.

    ``format_values`` are ``(parameter, value)`` pairs of :data:`FORMAT_PARAMETERS`, as sent.
    """
    given = _format_names(format_values)
    if not given:
        return QueryFormats(best_offer(accept, RESULTS_OFFERS), best_offer(accept, GRAPH_OFFERS))
    results, graphs = _agreed_choice(given)
    parameter, name = given[0]
    return QueryFormats(results, graphs, format_param=f"{parameter}={name}")


@lru_cache(maxsize=512)
def query_formats_for_header(accept_header: str | None,
                             format_values: tuple[tuple[str, str], ...]) -> QueryFormats:
    """:func:`negotiate_query_formats` for a raw ``Accept`` header, remembered: clients send the
    same few headers over and over, and werkzeug's matching of each offer against each accepted
    type costs a tenth of a millisecond, as much as answering a cheap query."""
    return negotiate_query_formats(parse_accept_header(accept_header, MIMEAccept), format_values)


def negotiate_description_format(accept: MIMEAccept,
                                 format_values: Iterable[tuple[str, str]]) -> str | None:
    """Media type of the service description, or ``None`` when nothing fits (406)."""
    given = _format_names(format_values)
    if given:
        return _agreed_choice(given)[1]
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


def _format_names(format_values: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    # A value may list several names (SPARQLWrapper sends a media type list).
    return [(parameter, part.strip()) for parameter, value in format_values
            for part in value.split(",") if part.strip()]


def _agreed_choice(given: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The results and graph media types every name in ``given`` agrees on."""
    choices = {_format_choice(parameter, name) for parameter, name in given}
    results = {choice[0] for choice in choices if choice[0] is not None}
    graphs = {choice[1] for choice in choices if choice[1] is not None}
    if len(results) > 1 or len(graphs) > 1:
        shown = [f"{parameter}={name}" for parameter, name in dict.fromkeys(given)]
        listed = f"{', '.join(shown[:-1])} and {shown[-1]}"
        raise UnknownFormat(f"{listed} ask for different formats: send one format")
    return next(iter(results), None), next(iter(graphs), None)


def _format_choice(parameter: str, name: str) -> tuple[str | None, str | None]:
    key = name.lower()
    results = _RESULTS_BY_NAME.get(key) or RESULTS_OFFERS.get(key)
    graph = _GRAPH_BY_NAME.get(key) or GRAPH_OFFERS.get(key)
    if results is None and graph is None:
        raise UnknownFormat(
            f"{parameter}={name}: unknown format {name!r}: use one of {', '.join(FORMAT_NAMES)} "
            "or a media type"
        )
    return results, graph
