"""The screen (core constraints as SPARQL in Oxigraph) never misses a focus node pyshacl reports.

Each case is a small shapes graph using one family of SHACL Core components, and data where some
focus nodes conform and others break them, including the hard edges for a SPARQL screen: literals
Oxigraph rewrites ("01"^^xsd:integer), ill-typed literals, language tags in upper case, nested
shapes inside sh:or and qualified value shapes, inverse and sequence paths. For every case the
build's validation must give exactly the report of a plain pyshacl run, the screened path must
really have been taken, and every reported focus node must have been named by the screen.
"""

from __future__ import annotations

import pytest
from pyoxigraph import RdfFormat, parse
from rdflib import Graph
from rdflib.namespace import SH

from ezgraph.rdfterms import to_rdflib_graph
from ezgraph.validate import screen, sparql
from ezgraph.validate.shacl import validate, validate_with_pyshacl

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
"""

#: name -> (shapes [# data, and data besides the focus nodes], the properties of a conforming
#: focus node, breaks). Each break is a focus
#: node with some of those properties replaced, made to break one constraint (or one pair), so
#: that a screen that missed that constraint would miss the node.
CASES: dict[str, tuple[str, dict[str, str], dict[str, dict[str, str]]]] = {
    "values": ("""
ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ex:kind ; sh:class ex:Kind ] ;
  sh:property [ sh:path ex:ref ; sh:nodeKind sh:IRI ] ;
  sh:property [ sh:path ex:count ; sh:datatype xsd:integer ; sh:minInclusive 0 ;
                sh:maxExclusive 100 ] ;
  sh:property [ sh:path ex:size ; sh:minExclusive 0 ; sh:maxInclusive 10 ] ;
  sh:property [ sh:path ex:day ; sh:datatype xsd:date ] ;
  sh:property [ sh:path ex:code ; sh:pattern "^a[0-9]+$" ; sh:flags "i" ] ;
  sh:property [ sh:path ex:short ; sh:minLength 2 ; sh:maxLength 4 ] ;
  sh:property [ sh:path ex:label ; sh:languageIn ( "en" "zh" ) ; sh:uniqueLang true ] ;
  sh:property [ sh:path ex:text ; sh:datatype rdf:langString ] ;
  sh:property [ sh:path ex:colour ; sh:in ( ex:red ex:green "blue" ) ] ;
  sh:property [ sh:path ex:flag ; sh:hasValue true ] .
# data
ex:SubKind rdfs:subClassOf ex:Kind .
ex:k1 a ex:SubKind .
ex:k2 a ex:Other .
""", {"a": "ex:Thing", "ex:kind": "ex:k1", "ex:ref": "ex:k2", "ex:count": "5", "ex:size": "10",
      "ex:day": '"2020-02-28"^^xsd:date', "ex:code": '"A12"', "ex:short": '"abc"',
      "ex:label": '"x"@en, "y"@zh', "ex:text": '"t"@en', "ex:colour": 'ex:red, "blue"',
      "ex:flag": "true"},
        {"class": {"ex:kind": "ex:k2"}, "class-literal": {"ex:kind": '"k1"'},
         "node-kind": {"ex:ref": "[]"}, "min-inclusive": {"ex:count": "-1"},
         "max-exclusive": {"ex:count": "100"}, "ill-typed": {"ex:count": '"abc"^^xsd:integer'},
         "datatype": {"ex:count": '"7"^^xsd:decimal'}, "min-exclusive": {"ex:size": "0"},
         "max-inclusive": {"ex:size": "10.5"}, "incomparable": {"ex:size": '"ten"'},
         "bad-date": {"ex:day": '"2020-02-30"^^xsd:date'}, "string-date": {"ex:day": '"2020"'},
         "pattern": {"ex:code": '"b1"'}, "pattern-blank": {"ex:code": "[]"},
         "min-length": {"ex:short": '"a"'}, "max-length": {"ex:short": '"abcde"'},
         "language-in": {"ex:label": '"x"@fr'}, "unique-lang": {"ex:label": '"x"@en, "z"@EN'},
         "language-plain": {"ex:label": '"plain"'}, "lang-string": {"ex:text": '"t"'},
         "in": {"ex:colour": "ex:blue"}, "in-literal": {"ex:colour": '"red"'},
         "has-value": {"ex:flag": "false"}, "has-value-missing": {"ex:flag": ""}}),
    "counts and pairs": ("""
ex:PairShape a sh:NodeShape ; sh:targetSubjectsOf ex:start ;
  sh:property [ sh:path ex:start ; sh:minCount 1 ; sh:maxCount 1 ; sh:lessThan ex:end ] ;
  sh:property [ sh:path ex:low ; sh:lessThanOrEquals ex:high ] ;
  sh:property [ sh:path ex:a ; sh:equals ex:b ] ;
  sh:property [ sh:path ex:a ; sh:disjoint ex:c ] ;
  sh:property [ sh:path ( ex:part ex:weight ) ; sh:minCount 1 ; sh:datatype xsd:decimal ] ;
  sh:property [ sh:path [ sh:inversePath ex:owner ] ; sh:minCount 1 ; sh:class ex:Owner ] ;
  sh:property [ sh:path [ sh:alternativePath ( ex:x ex:y ) ] ; sh:maxCount 2 ] .
# data
ex:o1 a ex:Owner . ex:o2 a ex:Stranger .
""", {"ex:start": "1", "ex:end": "2", "ex:low": "1", "ex:high": "1", "ex:a": "ex:v",
      "ex:b": "ex:v", "ex:c": "ex:w", "ex:part": "[ ex:weight 1.5 ]", "^ex:owner": "ex:o1",
      "ex:x": "1", "ex:y": "2"},
        {"max-count": {"ex:start": "1, 0"}, "less-than": {"ex:end": "1"},
         "less-than-incomparable": {"ex:end": '"two"'}, "less-or-equal": {"ex:high": "0"},
         "equals-extra": {"ex:a": "ex:v, ex:w"}, "equals-missing": {"ex:b": "ex:v, ex:u"},
         "disjoint": {"ex:c": "ex:v"}, "sequence-datatype": {"ex:part": '[ ex:weight "x" ]'},
         "sequence-min-count": {"ex:part": "[]"}, "inverse-min-count": {"^ex:owner": ""},
         "inverse-class": {"^ex:owner": "ex:o2"}, "alternative": {"ex:y": "2, 3"}}),
    "nested shapes": ("""
ex:RecordShape a sh:NodeShape ; sh:targetClass ex:Record ;
  sh:property [ sh:path ex:date ; sh:node ex:DateValue ] ;
  sh:property [ sh:path ex:scheme ; sh:qualifiedValueShape [ sh:pattern "/scheme/a$" ] ;
                sh:qualifiedMinCount 1 ] ;
  sh:property [ sh:path ex:id ; sh:qualifiedValueShape [ sh:pattern "^Q" ] ;
                sh:qualifiedMaxCount 1 ] ;
  sh:or ( [ sh:path ex:begin ; sh:minCount 1 ] [ sh:path ex:current ; sh:hasValue true ] ) ;
  sh:and ( [ sh:path ex:title ; sh:minCount 1 ] ) .
ex:LogicShape a sh:NodeShape ; sh:targetSubjectsOf ex:left ;
  sh:not [ sh:path ex:forbidden ; sh:minCount 1 ] ;
  sh:xone ( [ sh:path ex:left ; sh:minCount 1 ] [ sh:path ex:right ; sh:minCount 1 ] ) .
ex:DateValue a sh:NodeShape ; sh:or (
  [ sh:datatype xsd:gYear ; sh:pattern "^[0-9]{4}$" ]
  [ sh:datatype xsd:date ; sh:pattern "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" ] ) .
ex:Implicit a rdfs:Class, sh:NodeShape ; sh:property [ sh:path ex:name ; sh:minCount 1 ] .
ex:Off a sh:NodeShape ; sh:targetClass ex:Record ; sh:deactivated true ;
  sh:property [ sh:path ex:never ; sh:minCount 1 ] .
ex:Listed a sh:NodeShape ; sh:targetNode ex:listed ; sh:class ex:Record .
""", {"a": "ex:Record, ex:Implicit", "ex:name": '"n"', "ex:date": '"2020"^^xsd:gYear',
      "ex:scheme": "<http://x.org/scheme/a>", "ex:id": '"Q1"', "ex:begin": "1", "ex:left": "1",
      "ex:title": '"t"'},
        {"node": {"ex:date": '"2020-01"^^xsd:gYearMonth'}, "node-pattern":
         {"ex:date": '"20201"^^xsd:gYear'}, "qualified-min": {"ex:scheme": "<http://x.org/b>"},
         "qualified-max": {"ex:id": '"Q1", "Q2"'}, "or": {"ex:begin": "", "ex:current": "false"},
         "not": {"ex:forbidden": "1"}, "xone": {"ex:right": "1"}, "and": {"ex:title": ""},
         "implicit-class": {"ex:name": ""}, "target-node": {"a": "ex:Implicit"}}),
}


def _node(name: str, properties: dict[str, str]) -> str:
    lines = []
    for predicate, objects in properties.items():
        if not objects:
            continue
        if predicate.startswith("^"):
            lines.append(f"{objects} {predicate[1:]} ex:{name} .")
        else:
            lines.append(f"ex:{name} {predicate} {objects} .")
    return "\n".join(lines)


def _case(name: str) -> tuple[list, list, set[str]]:
    shapes_text, good, breaks = CASES[name]
    shapes_text, _, extra = shapes_text.partition("# data\n")
    text = [extra, _node("good", good)]
    text += [_node(f"bad-{b}", {**good, **changes}) for b, changes in breaks.items()]
    if name == "nested shapes":
        text.append("ex:listed a ex:Implicit ; ex:name \"n\" .")
    shapes = list(parse(PREFIXES + shapes_text, format=RdfFormat.TURTLE))
    data = list(parse(PREFIXES + "\n".join(text), format=RdfFormat.TURTLE))
    expected = {f"http://example.org/bad-{b}" for b in breaks}
    if name == "nested shapes":
        expected = (expected - {"http://example.org/bad-target-node"}) | {"http://example.org/listed"}
    return data, shapes, expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_screened_validation_gives_the_plain_pyshacl_report(name: str) -> None:
    data, shapes, broken = _case(name)
    fast = validate(data, shapes)
    reference = validate_with_pyshacl(data, shapes)
    assert fast.report == reference.report
    assert fast.results == reference.results
    # The case does what it says: every broken node, and nothing else, is in the report.
    assert {r.focus for r in reference.results} == broken

    # The screened path was taken, and named every focus node of the report.
    shapes_graph = to_rdflib_graph(shapes)
    _, core = sparql.plan(shapes_graph)
    compiled = screen.compile_shapes(core, exact=screen.lexical_forms_kept(data))
    assert compiled is not None and screen.reach(core) is not None
    flagged = compiled.run(sparql.data_store(data))
    named = {node.value for nodes in flagged.values() for node in nodes}
    assert {r.focus for r in reference.results} <= named


def test_rewritten_literals_make_string_checks_conservative() -> None:
    """Oxigraph stores "5.0"^^xsd:decimal as "5" where rdflib (so pyshacl) keeps "5.0": with
    such data, a pattern that "5" matches and "5.0" does not must still name the node."""
    shapes = list(parse(PREFIXES + """
ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:property [ sh:path ex:n ; sh:pattern "^[0-9]+$" ] .
""", format=RdfFormat.TURTLE))
    data = list(parse(PREFIXES + 'ex:a a ex:T ; ex:n "5.0"^^xsd:decimal . ex:b a ex:T ; ex:n "6" .',
                      format=RdfFormat.TURTLE))
    assert not screen.lexical_forms_kept(data)
    result = validate(data, shapes)
    assert [r.focus for r in result.results] == ["http://example.org/a"]
    assert result.report == validate_with_pyshacl(data, shapes).report
    # The same for term equality: sh:equals between "5.0" and "5", which Oxigraph makes equal.
    shapes = list(parse(PREFIXES + """
ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:property [ sh:path ex:n ; sh:equals ex:m ] .
""", format=RdfFormat.TURTLE))
    data = list(parse(PREFIXES + """ex:a a ex:T ; ex:n "5.0"^^xsd:decimal ; ex:m 5 .
ex:b a ex:T ; ex:n "5.0"^^xsd:decimal ; ex:m "5"^^xsd:decimal .
ex:c a ex:T ; ex:n ex:x ; ex:m ex:x .""", format=RdfFormat.TURTLE))
    result = validate(data, shapes)
    assert result.report == validate_with_pyshacl(data, shapes).report
    assert {r.focus for r in result.results} >= {"http://example.org/a"}


def test_unbounded_paths_and_sparql_targets_fall_back_to_the_whole_graph() -> None:
    star = Graph().parse(data=PREFIXES + """
ex:S a sh:NodeShape ; sh:targetClass ex:T ;
  sh:property [ sh:path [ sh:zeroOrMorePath ex:next ] ; sh:class ex:T ] .""", format="turtle")
    assert screen.reach(star) is None
    target = Graph().parse(data=PREFIXES + """
ex:S a sh:NodeShape ; sh:target [ a sh:SPARQLTarget ; sh:select "SELECT ?this WHERE {}" ] ;
  sh:property [ sh:path ex:p ; sh:minCount 1 ] .""", format="turtle")
    assert screen.compile_shapes(target) is None
    # A SPARQL constraint pyshacl keeps may read any part of the graph: no neighbourhood will do.
    rule = Graph().parse(data=PREFIXES + """
ex:S a sh:NodeShape ; sh:targetClass ex:T ;
  sh:sparql [ sh:select "SELECT $this WHERE { ?x ex:p ?y }" ] .""", format="turtle")
    assert screen.compile_shapes(rule) is None
    data = list(parse(PREFIXES + "ex:a a ex:T ; ex:next ex:b . ex:b ex:next ex:c .",
                      format=RdfFormat.TURTLE))
    shapes = list(parse(star.serialize(format="nt"), format=RdfFormat.N_TRIPLES))
    result = validate(data, shapes)
    assert {r.focus for r in result.results} == {"http://example.org/a"}
    assert result.report == validate_with_pyshacl(data, shapes).report


def test_the_project_shapes_are_screened() -> None:
    """Every shape of the project compiles (no fallback to the whole graph for real data)."""
    from pathlib import Path

    graph = Graph()
    for path in sorted((Path(__file__).resolve().parents[1] / "shapes").glob("*.ttl")):
        graph.parse(path, format="turtle")
    _, core = sparql.plan(graph)
    compiled = screen.compile_shapes(core)
    assert compiled is not None and screen.reach(core) is not None
    targeted = {s for p in (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf)
                for s in core.subjects(p, None)}
    assert set(compiled.queries) <= targeted and len(compiled.queries) >= 30


def test_literal_focus_nodes_are_validated() -> None:
    """sh:targetObjectsOf can make a literal a focus node: it has no triples to follow, and
    pyshacl still reports it."""
    shapes = list(parse(PREFIXES + """
ex:S a sh:NodeShape ; sh:targetObjectsOf ex:tag ; sh:nodeKind sh:IRI .""", format=RdfFormat.TURTLE))
    data = list(parse(PREFIXES + 'ex:a ex:tag "x", ex:t .', format=RdfFormat.TURTLE))
    result = validate(data, shapes)
    assert [r.focus for r in result.results] == ["x"]
    assert result.report == validate_with_pyshacl(data, shapes).report


def test_closed_shapes_see_every_property() -> None:
    """sh:closed reads every property of the focus node, not only the shapes' paths."""
    shapes = list(parse(PREFIXES + """
ex:S a sh:NodeShape ; sh:targetClass ex:T ; sh:closed true ; sh:ignoredProperties ( rdf:type ) ;
  sh:property [ sh:path ex:p ; sh:maxCount 1 ] .""", format=RdfFormat.TURTLE))
    data = list(parse(PREFIXES + "ex:a a ex:T ; ex:p 1 . ex:b a ex:T ; ex:p 1 ; ex:q 2 .",
                      format=RdfFormat.TURTLE))
    _, core = sparql.plan(to_rdflib_graph(shapes))
    within = screen.reach(core)
    assert within is not None and within.predicates is None
    result = validate(data, shapes)
    assert [r.focus for r in result.results] == ["http://example.org/b"]
    assert result.report == validate_with_pyshacl(data, shapes).report
