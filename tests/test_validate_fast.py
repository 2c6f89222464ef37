"""The build's validation (pyshacl for core SHACL, SHACL-SPARQL constraints once per shape in
Oxigraph) gives the same report as one plain whole-graph pyshacl run.

"The same" is compared twice: the report graphs with canonical blank node labels, triple for
triple (every result with focus node, value, path, messages, severity, source shape, source
constraint and component), and the parsed results the text report is made of.

Size: the plain pyshacl run is the slow part (it re-parses each SPARQL constraint for every focus
node and grows faster than linearly: about 50 s at 10k triples, over 600 s at 100k), so the test
runs on one generated zone (about 5k triples with the ontology) plus the shapes' own test cases;
``python -m bench.validate_equal DIR`` makes the same comparison on any generated size.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Store, Triple, parse
from rdflib import Graph
from rdflib.namespace import SH

from bench.generate import write
from ezgraph.mapping.turtle import read_turtle_dir
from ezgraph.publish.build import BuildConfig, Graphs, assemble
from ezgraph.sources.errors import ErrorCollector
from ezgraph.validate import sparql
from ezgraph.validate.screen import lexical_forms_kept
from ezgraph.validate.shacl import Outcome, validate, validate_with_pyshacl

ROOT = Path(__file__).resolve().parents[1]
CASES_DIR = Path(__file__).resolve().parent / "shapes_cases"
BASE = "https://w3id.org/ezgraph/"
EZ = BASE + "def/"
XSD = "http://www.w3.org/2001/XMLSchema#"
SPARQL_COMPONENT = NamedNode(str(SH.SPARQLConstraintComponent))


def _components(outcome: Outcome) -> Counter[tuple[str, str]]:
    """(component, severity) of every result in the report."""
    by_result: dict[object, dict[str, str]] = {}
    for t in outcome.report:
        if t.predicate.value in (str(SH.sourceConstraintComponent), str(SH.resultSeverity)):
            by_result.setdefault(t.subject, {})[t.predicate.value] = t.object.value
    return Counter((r[str(SH.sourceConstraintComponent)].rsplit("#", 1)[-1],
                    r[str(SH.resultSeverity)].rsplit("#", 1)[-1]) for r in by_result.values())


def _assert_same(fast: Outcome, reference: Outcome) -> None:
    assert fast.report == reference.report
    assert fast.results == reference.results
    assert fast.text() == reference.text()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Graphs:
    data_dir = tmp_path_factory.mktemp("one-zone")
    write(data_dir, zones=1)
    return assemble(BuildConfig(data_dir=data_dir, ontology_dir=ROOT / "ontology",
                                shapes_dir=ROOT / "shapes"))


def _mutate(quads: list[Quad]) -> list[Quad]:
    """Break one record per SPARQL rule the generated data can break, plus core constraints.

    (The generated components state no unit capacity, so ComponentCapacitiesAddUpShape has
    nothing to add up here; the shape cases below break it.)
    """
    def first(predicate: str, subject_contains: str = "") -> Quad:
        return next(q for q in quads if q.predicate.value == predicate
                    and subject_contains in q.subject.value)

    date = first(EZ + "date", "/approval/")
    end = first(EZ + "endOffset")
    period_end = first(EZ + "periodEnd")
    evidence = first(EZ + "evidence", "/enterprise/")
    label = first("http://www.w3.org/2000/01/rdf-schema#label", "/enterprise/")
    changed = {
        # approved long before it was established: ApprovalNotBeforeEstablishmentShape
        date: Quad(date.subject, date.predicate, Literal("1901", datatype=NamedNode(XSD + "gYear")),
                   date.graph_name),
        # offsets wider than the text: QuotationOffsetsMatchTextShape
        end: Quad(end.subject, end.predicate,
                  Literal(str(int(end.object.value) + 3), datatype=NamedNode(XSD + "integer")),
                  end.graph_name),
        # ends before it starts: PeriodEndNotBeforeStartShape
        period_end: Quad(period_end.subject, period_end.predicate,
                         Literal("1900", datatype=NamedNode(XSD + "gYear")),
                         period_end.graph_name),
        # a label that is neither English nor Chinese: core (sh:languageIn)
        label: Quad(label.subject, label.predicate, Literal(label.object.value, language="fr"),
                    label.graph_name),
    }
    # an enterprise without its quotation: FactHasSourceAndQuoteShape, and core sh:minCount
    dropped = {q for q in quads if q.subject == evidence.subject
               and q.predicate.value == EZ + "evidence"}
    # a share of 140 %: ShareWithinHundredPercentShape (and a core sh:class on ez:shareOf)
    observation = first("http://qudt.org/schema/qudt/unit", "/obs/").subject
    share = [Quad(observation, NamedNode(EZ + "shareOf"), NamedNode(BASE + "id/zone/whole"),
                  NamedNode(BASE + "graph/test")),
             Quad(observation, NamedNode("http://qudt.org/schema/qudt/unit"),
                  NamedNode("http://qudt.org/vocab/unit/PERCENT"), NamedNode(BASE + "graph/test")),
             Quad(observation, NamedNode("http://qudt.org/schema/qudt/numericValue"),
                  Literal("140", datatype=NamedNode(XSD + "integer")),
                  NamedNode(BASE + "graph/test"))]
    return [changed.get(q, q) for q in quads if q not in dropped] + share


def test_generated_data_gives_the_plain_pyshacl_report(generated: Graphs) -> None:
    data = generated.data + generated.ontology
    fast = validate(data, generated.shapes)
    _assert_same(fast, validate_with_pyshacl(data, generated.shapes))
    assert fast.violations == 0


def test_broken_generated_data_gives_the_plain_pyshacl_report(generated: Graphs) -> None:
    data = _mutate(generated.data) + generated.ontology
    fast = validate(data, generated.shapes)
    reference = validate_with_pyshacl(data, generated.shapes)
    _assert_same(fast, reference)
    components = _components(fast)
    # Every mutation was caught, by the SPARQL rules and by core constraints alike.
    shapes_hit = {r.shape.rsplit("/", 1)[-1] for r in fast.results if r.severity == "Violation"}
    assert {"ApprovalNotBeforeEstablishmentShape", "QuotationOffsetsMatchTextShape",
            "PeriodEndNotBeforeStartShape", "FactHasSourceAndQuoteShape",
            "ShareWithinHundredPercentShape"} <= shapes_hit
    assert components[("SPARQLConstraintComponent", "Violation")] >= 5
    assert sum(n for (c, s), n in components.items()
               if s == "Violation" and c != "SPARQLConstraintComponent") >= 2


def _turtle(path: Path) -> list[Triple]:
    return list(parse(path=str(path), format=RdfFormat.TURTLE))


def test_shape_cases_give_the_plain_pyshacl_report() -> None:
    """The shapes' own cases (tests/shapes_cases) break every SPARQL rule, with computed values
    (sums, string lengths, differences) in messages and sh:value."""
    errors = ErrorCollector()
    shapes = read_turtle_dir(ROOT / "shapes", NamedNode(BASE + "graph/shapes"), errors, BASE)
    data = [t for path in sorted(CASES_DIR.glob("*.ttl")) for t in _turtle(path)]
    data += _turtle(ROOT / "ontology" / "ezgraph.ttl")
    fast = validate(data, shapes)
    _assert_same(fast, validate_with_pyshacl(data, shapes))
    sparql_shapes = {r.shape.rsplit("/", 1)[-1] for r in fast.results}
    assert {"ConceptHasEnglishLabelShape", "PercentageOutsideHundredShape",
            "ComponentCapacitiesAddUpShape", "ShareWithinHundredPercentShape"} <= sparql_shapes


def test_shape_cases_in_canonical_form_give_the_plain_pyshacl_report() -> None:
    """The same cases with every literal as Oxigraph writes it ("58.0" becomes "58"): the
    SPARQL rules then read the data through Oxigraph (no rdflib copy), and computed values
    must still be rdflib's, as in a plain pyshacl run."""
    errors = ErrorCollector()
    shapes = read_turtle_dir(ROOT / "shapes", NamedNode(BASE + "graph/shapes"), errors, BASE)
    written = [t for path in sorted(CASES_DIR.glob("*.ttl")) for t in _turtle(path)]
    store = Store()
    store.bulk_extend(Quad(t.subject, t.predicate, t.object) for t in written)
    data = [q.triple for q in store] + _turtle(ROOT / "ontology" / "ezgraph.ttl")
    assert lexical_forms_kept(data) and not lexical_forms_kept(written)
    fast = validate(data, shapes)
    _assert_same(fast, validate_with_pyshacl(data, shapes))
    sparql_shapes = {r.shape.rsplit("/", 1)[-1] for r in fast.results}
    assert {"ConceptHasEnglishLabelShape", "PercentageOutsideHundredShape",
            "ComponentCapacitiesAddUpShape", "ShareWithinHundredPercentShape"} <= sparql_shapes


def _shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "shapes").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def test_every_project_rule_runs_once_per_shape() -> None:
    shapes = _shapes_graph()
    fast, remaining = sparql.plan(shapes)
    assert len(fast) == len(set(shapes.objects(None, SH.sparql))) == 8
    assert not set(remaining.objects(None, SH.sparql))
    # The NOT EXISTS rules are anti-joins (Oxigraph would evaluate them per focus node).
    assert sum("MINUS" in c.query for c in fast) == 3
    assert not any("NOT EXISTS" in c.query for c in fast)


RULES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:PropertyRule a sh:PropertyShape ; sh:targetClass ex:Thing ; sh:path ex:p ;
    sh:sparql [ sh:message "property {$this}" ; sh:select
        "SELECT $this ?value WHERE { $this $PATH ?value . FILTER (?value > 1) }" ] .
ex:OuterVariable a sh:NodeShape ; sh:targetClass ex:Thing ;
    sh:sparql [ sh:message "outer {?x}" ; sh:select \"\"\"
        SELECT $this ?x WHERE { $this <http://example.org/p> ?x .
            FILTER NOT EXISTS { $this <http://example.org/q> ?x } }\"\"\" ] .
ex:NoGroup a sh:NodeShape ; sh:targetNode ex:a ;
    sh:sparql [ sh:message "count {?n}" ; sh:select
        "SELECT $this (COUNT(?o) AS ?n) WHERE { $this <http://example.org/p> ?o }" ] .
"""
DATA = """
@prefix ex: <http://example.org/> .
ex:a a ex:Thing ; ex:p 1, 2 ; ex:q 1 .
ex:b a ex:Thing ; ex:p 3 .
"""


def test_queries_that_joining_would_change_stay_with_pyshacl() -> None:
    """A property shape ($PATH), a NOT EXISTS on a variable of the outer query and aggregates
    without GROUP BY $this are left to pyshacl, and the report is still pyshacl's."""
    shapes = Graph().parse(data=RULES, format="turtle")
    fast, remaining = sparql.plan(shapes)
    assert [c.shape.rsplit("/", 1)[-1] for c in fast] == ["OuterVariable"]
    assert "NOT EXISTS" in fast[0].query and "MINUS" not in fast[0].query
    assert len(set(remaining.objects(None, SH.sparql))) == 2
    data = list(parse(DATA, format=RdfFormat.TURTLE))
    shape_triples = list(parse(RULES, format=RdfFormat.TURTLE))
    result = validate(data, shape_triples)
    _assert_same(result, validate_with_pyshacl(data, shape_triples))
    assert {r.message for r in result.results} >= {"outer 2", "outer 3", "count 2"}
