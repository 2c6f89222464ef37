"""Which queries are lookups (one triple pattern): the pattern's constants, and whether the
solutions stream."""

from __future__ import annotations

import pytest

from ezgraph.store.base import QueryRefused
from ezgraph.store.guard import check_query
from ezgraph.store.lookup import MAX_LENGTH, RDF_TYPE, Lookup, TriplePattern, as_lookup

ZONE = "https://w3id.org/ezgraph/id/zone/z0001"
EZ = "https://w3id.org/ezgraph/def/"


@pytest.mark.parametrize(
    ("query", "lookup"),
    [
        (f"SELECT ?p ?o WHERE {{ <{ZONE}> ?p ?o . }}",
         Lookup(TriplePattern(ZONE, None, None), streams=True)),
        (f"select * {{<{ZONE}> ?p ?o}} LIMIT 1016",
         Lookup(TriplePattern(ZONE, None, None), streams=True, limit=1016)),
        (f"ASK {{ ?s ?p <{ZONE}> }}",
         Lookup(TriplePattern(None, None, ZONE), streams=True, form="ASK")),
        (f"PREFIX ez: <{EZ}>\nBASE <http://example.org/>\n"
         "SELECT ?zone WHERE { ?zone a ez:NationalETDZ } ORDER BY DESC(?zone) ?x "
         "OFFSET 5 LIMIT 10",
         Lookup(TriplePattern(None, RDF_TYPE, EZ + "NationalETDZ"), streams=False, offset=5,
                limit=10)),
        (f"PREFIX : <{EZ}> SELECT DISTINCT ?o {{ ?s :year ?o }} # a comment ?a ?b ?c }}",
         Lookup(TriplePattern(None, EZ + "year", None), streams=False)),
        (f"PREFIX : <{EZ}> SELECT REDUCED ?o {{ ?s :year ?o }}",
         Lookup(TriplePattern(None, EZ + "year", None), streams=False)),
        ("SELECT * WHERE { _:b ?p ?o } LIMIT 10 OFFSET 20",
         Lookup(TriplePattern(None, None, None), streams=True, offset=20, limit=10)),
        # A variable twice: an equality the index cannot seek, so not streaming.
        ("SELECT * WHERE { ?x ?p ?x } LIMIT 10",
         Lookup(TriplePattern(None, None, None), streams=False, limit=10)),
        ("SELECT * WHERE { ?x ?p $x }", Lookup(TriplePattern(None, None, None), streams=False)),
        ("ASK { _:n ?p _:n }",
         Lookup(TriplePattern(None, None, None), streams=False, form="ASK")),
    ],
)
def test_lookups_and_their_pattern(query: str, lookup: Lookup) -> None:
    assert as_lookup(query) == lookup


@pytest.mark.parametrize(
    "query",
    [
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o . ?o ?q ?r }}",  # two patterns
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o ; ?q ?r }}",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o , ?r }}",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o FILTER(?o > 1) }}",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o OPTIONAL {{ ?o ?q ?r }} }}",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o }} VALUES ?p {{ <{EZ}year> }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ <{ZONE}> ?p ?o }} }} }}",
        f"SELECT * WHERE {{ GRAPH ?g {{ <{ZONE}> ?p ?o }} }}",
        f"SELECT * WHERE {{ <{ZONE}> <{EZ}year>+ ?o }}",  # a path: unbounded steps
        f"SELECT * WHERE {{ <{ZONE}> ?p \"Changchun\"@en }}",  # literals are left out
        f"SELECT * WHERE {{ <{ZONE}> ?p 2020 }}",
        f"SELECT (COUNT(*) AS ?n) WHERE {{ <{ZONE}> ?p ?o }}",
        f"SELECT ?p WHERE {{ <{ZONE}> ?p ?o }} GROUP BY ?p",
        f"SELECT ?o WHERE {{ <{ZONE}> ?p ?o }} ORDER BY STR(?o)",
        f"SELECT * FROM <{EZ}> WHERE {{ <{ZONE}> ?p ?o }}",
        f"CONSTRUCT WHERE {{ <{ZONE}> ?p ?o }}",
        f"DESCRIBE <{ZONE}>",
        "SELECT * WHERE { <id/zone/z0001> ?p ?o }",  # relative: resolved by Oxigraph, not here
        "SELECT * WHERE { ez:x ?p ?o }",  # undeclared prefix
        "PREFIX ez: <def/> SELECT * WHERE { ez:x ?p ?o }",
        f"PREFIX ez: <{EZ}> SELECT * WHERE {{ ez:a\\.b ?p ?o }}",  # escapes: Oxigraph's reading
        f"SELECT * WHERE {{ <{ZONE}> ?p <\\u0068ttp://x> }}",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o }} LIMIT 10 LIMIT 5",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o }} # {{ in a comment",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o }}" + " " * MAX_LENGTH,
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o }} LIMIT 1.5",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o }} garbage",
        f"SELECT * WHERE {{ <{ZONE}> a ?o }} }}",
        f"SELECT * WHERE {{ <{ZONE}> ?p ?o",
        f"SELECT * WHERE {{ <{ZONE}> ?p \"unterminated }}",
        f"INSERT DATA {{ <{ZONE}> <{EZ}p> <{EZ}o> }}",
        "",
    ],
)
def test_everything_else_is_not_a_lookup(query: str) -> None:
    assert as_lookup(query) is None


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM <http://evil.example/> WHERE { <http://a> ?p ?o }",
        "SELECT * FROM NAMED <http://evil.example/> { ?s ?p ?o }",
        r"SELECT * \u0046ROM <http://evil.example/> { ?s ?p ?o }",
        "DELETE WHERE { ?s ?p ?o }",
        "INSERT DATA { <http://a> <http://b> <http://c> }",
        "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
        "SELECT * { ?s ?p ?o } ; DROP ALL",
        "ASK { ?s ?p ?o } CLEAR ALL",
    ],
)
def test_what_the_guard_refuses_is_never_a_lookup(query: str) -> None:
    """The store skips the guard's scan for a lookup, taking its form from the recognizer:
    sound only while no refused query passes for one."""
    with pytest.raises(QueryRefused):
        check_query(query, frozenset())
    assert as_lookup(query) is None
