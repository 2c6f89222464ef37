"""A lookup's JSON results written from the quads matching its pattern, without the query engine.

A lookup (:mod:`ezgraph.store.lookup`) over the default dataset, whose solutions stream, has
one solution per quad matching its pattern in any graph, in the order the index gives them:
Oxigraph's union default graph keeps a triple found in two graphs twice. So its answer can be
read with ``quads_for_pattern`` and written here. For ``SELECT ?p ?o WHERE { <zone> ?p ?o }``
at a million triples (16 solutions, store in memory), pyoxigraph's parsing, planning,
evaluation and JSON writing took 78 µs a query in a hot loop; reading the quads and writing
them here took 22.

The bytes are the engine's, and the tests compare the two on lookups pieced together at random
over a store holding every kind of term: the same solutions in the same order; the same
variables (``SELECT *`` lists the pattern's variables sorted by name, as Oxigraph does); the
same JSON (Oxigraph escapes strings as :func:`json.encoder.encode_basestring` does); the same
``"truncated"`` member past the row cap as :mod:`ezgraph.store.worker` writes.

What is not written here is left to the engine (:func:`json_results` says ``None``): another
results format; a lookup that does not stream; a term this writer does not know (RDF 1.2 triple
terms and base directions); an IRI Oxigraph would refuse, in the pattern or declared in the
prologue; and a query with any character outside ASCII. The recognizer's name characters are
Python's ``\\w``, a little wider than SPARQL's (``?x²`` is a syntax error for Oxigraph); in
ASCII they are the same, so there its reading is Oxigraph's.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import pyoxigraph as ox

from ezgraph.store.lookup import Lookup

#: The one results format written here.
JSON_RESULTS = "application/sparql-results+json"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
#: Predicates kept by :func:`_predicate` (at most this many: a store whose predicates are not a
#: vocabulary gets the rest written each time).
MAX_PREDICATES = 10_000
_PREDICATES: dict[Any, str] = {}


class LookupAnswer(NamedTuple):
    body: bytes
    #: More solutions than the row cap: the answer keeps the first ``max_rows``.
    truncated: bool = False


class OverBudget(Exception):
    """More solutions than the budget allows before the row cap: the answer is for a worker,
    which a time limit can stop."""


class _UnknownTerm(Exception):
    pass


def json_results(store: Any, query: str, lookup: Lookup, max_rows: int, budget: int
                 ) -> LookupAnswer | None:
    """The answer to ``query``, read as ``lookup``, in SPARQL JSON results, read from ``store``
    (a pyoxigraph store) reading at most ``budget`` solutions past its OFFSET; ``None`` when it
    is not this function's to give (see the module docstring). Raises :class:`OverBudget` when
    the lookup outgrows the budget before the row cap."""
    if not lookup.streams or lookup.offset > budget or not query.isascii():
        return None
    try:
        for iri in lookup.declared:
            ox.NamedNode(iri)
        constants = [None if iri is None else ox.NamedNode(iri) for iri in lookup.pattern]
    except ValueError:  # Oxigraph will not take the IRI: the engine reports the error
        return None
    quads = store.quads_for_pattern(*constants, None)
    offset, limit = lookup.offset, lookup.limit
    if lookup.form == "ASK":
        found = limit != 0 and next(itertools.islice(quads, offset, None), None) is not None
        return LookupAnswer(b'{"head":{},"boolean":true}' if found
                            else b'{"head":{},"boolean":false}')
    wanted = max_rows if limit is None else min(limit, max_rows)
    reading = min(wanted, budget)
    rows = list(itertools.islice(quads, offset, offset + reading + 1))
    truncated = False
    if len(rows) > reading:
        if reading < wanted:
            raise OverBudget
        # Up to LIMIT rows were asked; past that many, it is the row cap that cut the answer.
        truncated = limit is None or limit > max_rows
        del rows[reading:]
    variables = lookup.projection
    if variables is None:
        variables = tuple(sorted({name for name in lookup.names if name is not None}))
    # Each variable's JSON key, where in the quad its value is, and its writer; variables the
    # pattern does not have are never bound, so they are left out of the solutions.
    fields: list[tuple[str, int, Callable[[Any], str]]] = []
    for name in variables:
        if name in lookup.names:
            at = lookup.names.index(name)
            fields.append((_quote(name) + ":", at, _predicate if at == 1 else _term))
    try:
        if len(fields) == 2:  # most lookups: no join per solution (13 µs for 16, against 19)
            (first, at, write), (second, then, write_then) = fields
            written = [f"{{{first}{write(quad[at])},{second}{write_then(quad[then])}}}"
                       for quad in rows]
        else:
            written = ["{" + ",".join([key + write(quad[at]) for key, at, write in fields])
                       + "}" for quad in rows]
    except _UnknownTerm:
        return None
    solutions = ",".join(written)
    head = ",".join(_quote(name) for name in variables)
    start = '{"truncated":true,"head":{"vars":[' if truncated else '{"head":{"vars":['
    body = f'{start}{head}]}},"results":{{"bindings":[{solutions}]}}}}'
    return LookupAnswer(body.encode(), truncated)


def _predicate(term: Any) -> str:
    """:func:`_term` for a predicate, kept once written: a dataset's predicates are its
    vocabulary, a few hundred IRIs that nearly every lookup writes again (16 of them took 3.8 µs
    written, 1.4 kept)."""
    written = _PREDICATES.get(term)
    if written is None:
        written = _term(term)
        if len(_PREDICATES) < MAX_PREDICATES:
            _PREDICATES[term] = written
    return written


def _term(term: Any) -> str:
    """``term`` as a SPARQL JSON results RDF term, written as Oxigraph writes it."""
    kind = type(term)
    if kind is ox.NamedNode:
        return f'{{"type":"uri","value":{_quote(term.value)}}}'
    if kind is ox.Literal:
        language = term.language
        if language is not None:
            if term.direction is not None:
                raise _UnknownTerm  # RDF 1.2 base direction: left to the engine
            return (f'{{"type":"literal","value":{_quote(term.value)},'
                    f'"xml:lang":{_quote(language)}}}')
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return f'{{"type":"literal","value":{_quote(term.value)}}}'
        return (f'{{"type":"literal","value":{_quote(term.value)},'
                f'"datatype":{_quote(datatype)}}}')
    if kind is ox.BlankNode:
        return f'{{"type":"bnode","value":{_quote(term.value)}}}'
    raise _UnknownTerm  # a triple term: left to the engine
