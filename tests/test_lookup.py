"""Which queries are lookups (one triple pattern): the pattern's constants, and whether the
solutions stream."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ezgraph.store.base import QueryRefused
from ezgraph.store.guard import check_query
from ezgraph.store.lookup import (
    MAX_LENGTH,
    RDF_TYPE,
    Lookup,
    TriplePattern,
    _parsed_lookup,
    _quick_lookup,
    as_lookup,
)

ZONE = "https://w3id.org/ezgraph/id/zone/z0001"
EZ = "https://w3id.org/ezgraph/def/"
BENCH_LOOKUP = Path(__file__).parent.parent / "bench" / "queries" / "iri-lookup.rq"


@pytest.mark.parametrize(
    ("query", "lookup"),
    [
        (f"SELECT ?p ?o WHERE {{ <{ZONE}> ?p ?o . }}",
         Lookup(TriplePattern(ZONE, None, None), streams=True, names=(None, "p", "o"),
                projection=("p", "o"))),
        (f"select * {{<{ZONE}> ?p ?o}} LIMIT 1016",
         Lookup(TriplePattern(ZONE, None, None), streams=True, limit=1016,
                names=(None, "p", "o"))),
        (f"ASK {{ ?s ?p <{ZONE}> }}",
         Lookup(TriplePattern(None, None, ZONE), streams=True, form="ASK",
                names=("s", "p", None))),
        (f"PREFIX ez: <{EZ}>\nBASE <http://example.org/>\n"
         "SELECT ?zone WHERE { ?zone a ez:NationalETDZ } ORDER BY DESC(?zone) ?x "
         "OFFSET 5 LIMIT 10",
         Lookup(TriplePattern(None, RDF_TYPE, EZ + "NationalETDZ"), streams=False, offset=5,
                limit=10, names=("zone", None, None), projection=("zone",),
                declared=(EZ, "http://example.org/"))),
        (f"PREFIX : <{EZ}> SELECT DISTINCT ?o {{ ?s :year ?o }} # a comment ?a ?b ?c }}",
         Lookup(TriplePattern(None, EZ + "year", None), streams=False, names=("s", None, "o"),
                projection=("o",), declared=(EZ,))),
        # Comments between the selected variables are skipped, variables in them too.
        (f"SELECT ?o # ?a ?b\n$s {{ ?s <{EZ}year> ?o }}",
         Lookup(TriplePattern(None, EZ + "year", None), streams=True, names=("s", None, "o"),
                projection=("o", "s"))),
        (f"PREFIX : <{EZ}> SELECT REDUCED ?o {{ ?s :year ?o }}",
         Lookup(TriplePattern(None, EZ + "year", None), streams=False, names=("s", None, "o"),
                projection=("o",), declared=(EZ,))),
        ("SELECT * WHERE { _:b ?p ?o } LIMIT 10 OFFSET 20",
         Lookup(TriplePattern(None, None, None), streams=True, offset=20, limit=10,
                names=(None, "p", "o"))),
        # A variable twice: an equality the index cannot seek, so not streaming.
        ("SELECT * WHERE { ?x ?p ?x } LIMIT 10",
         Lookup(TriplePattern(None, None, None), streams=False, limit=10,
                names=("x", "p", "x"))),
        ("SELECT * WHERE { ?x ?p $x }",
         Lookup(TriplePattern(None, None, None), streams=False, names=("x", "p", "x"))),
        ("ASK { _:n ?p _:n }",
         Lookup(TriplePattern(None, None, None), streams=False, form="ASK",
                names=(None, "p", None))),
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
        f"SELECT ?p ?o $p WHERE {{ <{ZONE}> ?p ?o }}",  # selected twice: Oxigraph's error
        f"BASE <http://b/> SELECT ?p ?o ?p WHERE {{ <{ZONE}> ?p ?o }}",
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


#: Pieces of lookups and near-lookups, put together at random below: what the quick reading
#: (one regular expression) must read as the token parser does, or leave to it.
_PIECES = {
    "prologue": ["", f"PREFIX ez: <{EZ}>", f"prefix ez:<{EZ}> PREFIX : <http://x.example/>",
                 "PREFIX ez: <def/>", f"PREFIX ez:x <{EZ}>", f"PREFIX ez: <{EZ}> BASE <http://b/>",
                 f"# PREFIX no: <{EZ}>\n", f"PREFIX ez: <{EZ}> PREFIX ez: <http://y.example/>",
                 " ".join(f"PREFIX p{n}: <http://p{n}.example/>" for n in range(9))],
    "form": ["SELECT ?p ?o", "select *", "SELECT DISTINCT ?o", "SELECT reduced *", "ASK",
             "SELECT?p?o", "SELECTDISTINCT ?o", "SELECT ?pWHERE", "SELECT $p", "SELECT ez:x",
             "SELECT", "CONSTRUCT", "SELECT ?o ?p", "SELECT ?p #?x\n?o", "SELECT ?x ?o",
             "SELECT ?p $p", "SELECT ?o#\r?s ?O"],
    "where": ["WHERE", "where", "", "WHERE#c\n", "WHERE:x"],
    "subject": [f"<{ZONE}>", "?s", "$s", "ez:zone", ":z", "_:b", "<rel>", "no:x", "ez:a.b",
                "ez:", "?p", "<>", "?s_1"],
    "predicate": ["?p", "a", "ez:year", "<http://p.example/>", "a:b", "ab", "?s", "A", "a.b:c",
                  "$o"],
    "object": ["?o", "?s", "$p", f"<{ZONE}>", "ez:x", "'lit'", "1", "?o.", "ez:x.", "?O"],
    "dot": ["", ".", " . "],
    "modifiers": ["", "LIMIT 5", "OFFSET 3", "limit 5 OFFSET 3", "OFFSET 3 LIMIT 5",
                  "LIMIT 5 LIMIT 6", "OFFSET 1 OFFSET 2", "LIMIT 1.5", "LIMIT 10e", "LIMIT5",
                  "ORDER BY ?o LIMIT 3", "LIMIT 0", "OFFSET 0 OFFSET 0", "LIMIT 2OFFSET 1",
                  "# the end"],
}
_SEPARATORS = [" ", "\n", "", "  # note\n", "\t", "#\r"]


def _pieced_queries(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        pick = {name: rng.choice(options) for name, options in _PIECES.items()}
        parts = [pick["prologue"], pick["form"], pick["where"], "{", pick["subject"],
                 pick["predicate"], pick["object"], pick["dot"], "}", pick["modifiers"]]
        queries.append("".join(part + rng.choice(_SEPARATORS) for part in parts))
    return queries


#: What the quick reading leaves to the parser: BASE, ORDER BY, blank nodes, more than eight
#: prefixes, a number run into a keyword.
_LEFT_TO_THE_PARSER = ("BASE", "ORDER BY", "_:", "p8:", "2OFFSET")


def test_the_quick_reading_is_the_token_parsers_reading() -> None:
    """Whatever the regular expression reads, it reads as the parser does; and it reads every
    lookup but those it leaves to the parser (else it would cost time for nothing)."""
    parsed = 0
    for query in _pieced_queries(20_000, seed=4):
        quick, slow = _quick_lookup(query), _parsed_lookup(query)
        if quick is not None:
            assert quick == slow, query
        elif slow is not None:
            assert any(marker in query for marker in _LEFT_TO_THE_PARSER), query
        parsed += slow is not None
    assert parsed > 1_000


@pytest.mark.parametrize(
    "query",
    [
        BENCH_LOOKUP.read_text(encoding="utf-8") + "\n# bench run 17\n",
        f"SELECT ?p ?o WHERE {{ <{ZONE}> ?p ?o }}",
        f"PREFIX ez: <{EZ}>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?zone WHERE { ?zone a ez:NationalETDZ } LIMIT 10",
        f"ASK {{ <{ZONE}> a ?type }}",
    ],
)
def test_common_lookups_are_read_quickly(query: str) -> None:
    assert _quick_lookup(query) is not None
    assert _quick_lookup(query) == _parsed_lookup(query)
