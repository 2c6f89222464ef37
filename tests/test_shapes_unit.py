"""The SHACL shapes (shapes/*.ttl) against small Turtle cases (tests/shapes_cases/).

* ``base.ttl`` is a valid slice of the data: validated with the ontology it gives no result at all.
* Every other case file adds a few nodes of its own to the base; the table ``EXPECTED`` lists
  exactly the results each case must give on its nodes (focus node, shape, severity, component).
  All cases are validated together in one run (pyshacl parses SPARQL constraints once per focus
  node, so one run is much faster than one per case); results are told apart by focus node.
* Mutations derived from ``ezgraph.mapping.schema`` copy a base record of each kind and drop a
  required field, repeat a single-valued one or give a field a value of the wrong type: the
  field's property shape must catch each.
* Apache Jena's SHACL engine must report the same results as pyshacl on all of these.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pyshacl
import pytest
from jena import jena_available, jena_classpath
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, SKOS
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node

from ezgraph.mapping.schema import COMMON_FIELDS, KINDS, SOURCE_FIELDS, UNITS, Field, ValueType
from ezgraph.namespaces import EZ, EZSH, ID, UNIT, WD

ROOT = Path(__file__).resolve().parents[1]
SHAPES_DIR = ROOT / "shapes"
ONTOLOGY_FILE = ROOT / "ontology" / "ezgraph.ttl"
CASES_DIR = Path(__file__).resolve().parent / "shapes_cases"
SHAPES_GRAPH = URIRef("https://w3id.org/ezgraph/shapes")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")

V, W = "Violation", "Warning"

#: Exactly the results each case gives on its own nodes: (focus, shape, severity, component).
#: Focus nodes are written relative to {base}id/; a blank node as "_:" + its class.
EXPECTED: dict[str, set[tuple[str, str, str, str]]] = {
    "rule-approval-before-establishment": {
        ("approval/case-a", "ApprovalNotBeforeEstablishmentShape", V, "SPARQL"),
    },
    "rule-approval-same-period-ok": set(),
    "rule-share-over-100": {
        ("observation/case-share", "ShareWithinHundredPercentShape", V, "SPARQL"),
    },
    "rule-growth-over-100-warning": {
        ("target/case-growth", "PercentageOutsideHundredShape", W, "SPARQL"),
    },
    "rule-capacity-mismatch": {
        ("project/case-c", "ComponentCapacitiesAddUpShape", V, "SPARQL"),
    },
    "rule-capacity-sum-ok": set(),
    "rule-fact-without-quote": {
        ("place/case-d-no-quote", "FactHasSourceAndQuoteShape", V, "SPARQL"),
        ("place/case-d-no-source", "FactHasSourceAndQuoteShape", V, "SPARQL"),
        ("place/case-d-other-document", "FactHasSourceAndQuoteShape", V, "SPARQL"),
    },
    "rule-period-end-before-start": {
        ("observation/case-e", "PeriodEndNotBeforeStartShape", V, "SPARQL"),
    },
    "rule-concept-without-english-label": {
        ("indicator/case-f", "ConceptHasEnglishLabelShape", V, "SPARQL"),
    },
    "quotation-broken": {
        ("quote/case-length", "QuotationOffsetsMatchTextShape", V, "SPARQL"),
        ("quote/case-reversed", "Quotation-start", V, "LessThan"),
        ("quote/case-reversed", "Quotation-text", V, "MinLength"),
        ("quote/case-no-document", "Quotation-document", V, "MinCount"),
    },
    "observation-broken": {
        ("observation/case-no-unit", "IndicatorValue-unit", V, "MinCount"),
        ("observation/case-no-unit", "IndicatorValue-unitOfIndicator", W, "Equals"),
        ("observation/case-odd-unit", "IndicatorValue-unit", V, "In"),
        ("observation/case-odd-unit", "IndicatorValue-unitOfIndicator", W, "Equals"),
        ("observation/case-wrong-scheme", "IndicatorValue-indicator", V, "Node"),
        ("observation/case-wrong-scheme", "IndicatorValue-unitOfIndicator", W, "Equals"),
        ("observation/case-other-unit", "IndicatorValue-unitOfIndicator", W, "Equals"),
        ("observation/case-text-value", "IndicatorValue-value", V, "Datatype"),
        ("observation/case-undated", "ObservationDatedShape", W, "Or"),
    },
    "recommended-missing": {
        ("zone/case-bare", "NamedThing-chineseLabel", W, "QualifiedMinCount"),
        ("zone/case-bare", "Zone-locationRecommended", W, "MinCount"),
        ("zone/case-bare", "Zone-approvalRecommended", W, "QualifiedMinCount"),
        ("enterprise/case-nowhere", "Enterprise-presence", W, "QualifiedMinCount"),
        ("honor-title/case-green-park", "HonorTitle-awardedByRecommended", W, "MinCount"),
        ("presence-role/case-supplier", "Concept-chinesePrefLabel", W, "QualifiedMinCount"),
        ("presence-role/case-supplier", "Concept-schemeDescribed", W, "Class"),
    },
    "record-values-broken": {
        ("place/case-french", "Record-label", V, "LanguageIn"),
        ("place/case-french", "NamedThing-englishLabel", W, "QualifiedMinCount"),
        ("place/case-two-names", "Record-label", V, "UniqueLang"),
        ("place/case-two-names", "Place-sameAs", V, "Or"),
        ("approval/case-month-13", "ZoneApproval-date", V, "Node"),
        ("measure-type/case-uncategorised", "MeasureType-eipCategory", V, "MinCount"),
        ("source/case-incomplete", "SourceDocument-url", V, "MinCount"),
        ("source/case-incomplete", "SourceDocument-language", V, "Pattern"),
        ("_:Enterprise", "RecordShape", V, "NodeKind"),
        ("_:Enterprise", "Enterprise-presence", W, "QualifiedMinCount"),
        ("provision/case-generous", "IncentiveProvision-reward_rate_over_100", W, "MaxInclusive"),
    },
    "vocabulary-broken": {
        ("indicator/case-german", "Concept-prefLabel", V, "LanguageIn"),
        ("indicator/case-no-scheme", "Concept-inScheme", V, "MinCount"),
        ("indicator/case-top-of-nothing", "Concept-topConceptOf", V, "Class"),
        ("indicator/case-plain-definition", "Concept-definition", V, "Datatype"),
        ("indicator/case-plain-definition", "Concept-definition", V, "LanguageIn"),
        ("indicator/case-plain-definition", "Concept-englishDefinition", W, "QualifiedMinCount"),
        ("scheme/case-nameless", "ConceptSchemeShape", W, "Or"),
        ("person/case-nameless", "Person-englishLabel", W, "QualifiedMinCount"),
        ("indicator/case-kilogram", "Indicator-defaultUnit", V, "In"),
    },
    "provenance-broken": {
        ("place/case-fake-evidence", "Record-evidence", V, "Class"),
        ("place/case-fake-evidence", "Record-source", V, "Class"),
        ("place/case-fake-evidence", "FactHasSourceAndQuoteShape", V, "SPARQL"),
        ("_:Quotation", "QuotationShape", V, "NodeKind"),
        ("_:SourceDocument", "SourceDocumentShape", V, "NodeKind"),
        ("quote/case-negative", "Quotation-start", V, "MinInclusive"),
        ("quote/case-negative", "Quotation-end", V, "MinInclusive"),
    },
}

#: Values the SPARQL rules put into their messages.
MESSAGE_FRAGMENTS = {
    ("approval/case-a", "ApprovalNotBeforeEstablishmentShape"): ("(2004)", "(2005-09)"),
    ("observation/case-share", "ShareWithinHundredPercentShape"): ("120",),
    ("target/case-growth", "PercentageOutsideHundredShape"): ("150",),
    ("project/case-c", "ComponentCapacitiesAddUpShape"): ("58", "60"),
    ("observation/case-e", "PeriodEndNotBeforeStartShape"): ("(2021-12)", "(2022)"),
    ("quote/case-length", "QuotationOffsetsMatchTextShape"): ("55", "63"),
    ("indicator/case-f", "ConceptHasEnglishLabelShape"): ("id/scheme/indicator",),
}


# --- running validations ------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    focus: Node
    shape: Node
    severity: str
    component: str
    message: Literal | None
    value: Node | None = None


def local(iri: Node, namespace: str) -> str:
    return str(iri)[len(namespace):] if str(iri).startswith(namespace) else str(iri)


def top_level_results(report: Graph) -> list[Result]:
    """The results of the report itself (not the nested sh:detail results some engines add)."""
    results = []
    for validation_report in report.subjects(RDF.type, SH.ValidationReport):
        for r in report.objects(validation_report, SH.result):
            results.append(Result(
                focus=report.value(r, SH.focusNode),
                shape=report.value(r, SH.sourceShape),
                severity=local(report.value(r, SH.resultSeverity), str(SH)),
                component=local(report.value(r, SH.sourceConstraintComponent), str(SH))
                .removesuffix("ConstraintComponent"),
                message=report.value(r, SH.resultMessage),
                value=report.value(r, SH.value),
            ))
    return results


def run_pyshacl(data: Graph, shapes: Graph, *, backend: str = "rdflib") -> list[Result]:
    """pyshacl on an rdflib graph (its default, SPARQL by rdflib) or on a pyoxigraph store (SPARQL
    by Oxigraph: same results, faster when SPARQL constraints dominate)."""
    target: Graph | pyoxigraph.Store = data
    if backend == "oxigraph":
        target = pyoxigraph.Store()
        target.load(data.serialize(format="nt", encoding="utf-8"),
                    format=pyoxigraph.RdfFormat.N_TRIPLES)
    _, report, _ = pyshacl.validate(target, shacl_graph=shapes, inference="none", advanced=False)
    return top_level_results(report)


def merged(*graphs: Graph) -> Graph:
    union = Graph()
    for graph in graphs:
        for triple in graph:
            union.add(triple)
    return union


def focus_key(data: Graph, node: Node) -> str:
    if isinstance(node, BNode):
        return "_:" + local(data.value(node, RDF.type), str(EZ))
    return local(node, str(ID))


def key(data: Graph, result: Result) -> tuple[str, str, str, str]:
    return (focus_key(data, result.focus), local(result.shape, str(EZSH)), result.severity,
            result.component)


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


@pytest.fixture(scope="module")
def base() -> Graph:
    return Graph().parse(CASES_DIR / "base.ttl", format="turtle")


@pytest.fixture(scope="module")
def cases() -> dict[str, Graph]:
    return {path.stem: Graph().parse(path, format="turtle")
            for path in sorted(CASES_DIR.glob("*.ttl")) if path.stem != "base"}


@pytest.fixture(scope="module")
def cases_data(ontology: Graph, base: Graph, cases: dict[str, Graph]) -> Graph:
    return merged(ontology, base, *cases.values())


@pytest.fixture(scope="module")
def cases_results(cases_data: Graph, shapes: Graph) -> list[Result]:
    return run_pyshacl(cases_data, shapes)


# --- the shapes graph itself --------------------------------------------------------------------

def test_shapes_graph_is_an_ontology_with_title_version_and_license(shapes: Graph) -> None:
    assert (SHAPES_GRAPH, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Ontology")) in shapes
    dcterms = Namespace("http://purl.org/dc/terms/")
    assert {lit.language for lit in shapes.objects(SHAPES_GRAPH, dcterms.title)} >= {"en"}
    assert shapes.value(SHAPES_GRAPH, URIRef("http://www.w3.org/2002/07/owl#versionInfo")) \
        == Literal("0.1.0")
    assert shapes.value(SHAPES_GRAPH, dcterms.license) \
        == URIRef("https://creativecommons.org/licenses/by/4.0/")


def test_shapes_graph_is_valid_shacl(shapes: Graph) -> None:
    """pyshacl checks the shapes against SHACL's own shapes (SHACL-SHACL) and raises if not."""
    conforms, _, _ = pyshacl.validate(Graph(), shacl_graph=shapes, meta_shacl=True)
    assert conforms


def declared_prefixes(shapes: Graph, holder: Node) -> dict[str, str]:
    return {str(shapes.value(d, SH.prefix)): str(shapes.value(d, SH.namespace))
            for d in shapes.objects(holder, SH.declare)}


def sparql_constraints(shapes: Graph) -> list[tuple[Node, Node]]:
    return [(shape, c) for shape, c in shapes.subject_objects(SH.sparql)]


def test_sparql_constraints_declare_their_prefixes_and_parse(shapes: Graph) -> None:
    constraints = sparql_constraints(shapes)
    assert len(constraints) == 8  # rules (a)-(f), quotation offsets, percentages
    for shape, constraint in constraints:
        holder = shapes.value(constraint, SH.prefixes)
        assert holder == SHAPES_GRAPH, shape
        query = str(shapes.value(constraint, SH.select))
        prepareQuery(query, initNs=declared_prefixes(shapes, holder))  # raises on a bad query
        # SHACL 5.3.1: queries with pre-bound $this may not use these.
        assert not re.search(r"\b(VALUES|MINUS|SERVICE)\b", query, re.IGNORECASE), shape
        assert re.match(r"\s*SELECT\s+\$this\b", query), shape
        assert "$currentShape" not in query and "$shapesGraph" not in query, shape


def named_shapes(shapes: Graph) -> set[URIRef]:
    found = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(
        shapes.subjects(RDF.type, SH.PropertyShape))
    return {s for s in found if isinstance(s, URIRef)}


TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
NODE_LEVEL_CONSTRAINTS = (SH.sparql, SH.nodeKind, SH["or"], SH["class"], SH.datatype)


def checking_shapes(shapes: Graph) -> set[URIRef]:
    """Shapes that produce results of their own: property shapes, and node shapes with a target
    and a constraint of their own (not just sh:property)."""
    def checks_itself(shape: URIRef) -> bool:
        return any((shape, t, None) in shapes for t in TARGETS) and any(
            (shape, c, None) in shapes for c in NODE_LEVEL_CONSTRAINTS)

    return {shape for shape in named_shapes(shapes)
            if (shape, SH.path, None) in shapes or checks_itself(shape)}


def test_every_checking_shape_has_an_english_message_and_a_severity(shapes: Graph) -> None:
    for shape in checking_shapes(shapes):
        messages = list(shapes.objects(shape, SH.message))
        if (shape, SH.sparql, None) in shapes:
            messages = [m for c in shapes.objects(shape, SH.sparql)
                        for m in shapes.objects(c, SH.message)]
        assert [m.language for m in messages] == ["en"], shape
        assert shapes.value(shape, SH.severity) in (SH.Violation, SH.Warning), shape


# --- shapes follow the record schema ------------------------------------------------------------

RECORD_CLASSES = {kind.rdf_class for kind in KINDS.values()}


def field_shape(shapes: Graph, cls: URIRef, name: str, field: Field) -> URIRef:
    candidates = {
        prop for node in shapes.subjects(SH.targetClass, cls)
        for prop in shapes.objects(node, SH.property)
        if shapes.value(prop, SH.name) == Literal(name)
        and shapes.value(prop, SH.path) == field.predicate
    }
    assert len(candidates) == 1, (cls, name, candidates)
    return candidates.pop()


def schema_fields() -> list[tuple[URIRef, str, Field]]:
    rows = [(EZ.Place, name, f) for name, f in COMMON_FIELDS.items()]
    rows += [(EZ.SourceDocument, name, f) for name, f in SOURCE_FIELDS.items()]
    rows += [(k.rdf_class, name, f) for k in KINDS.values() for name, f in k.fields.items()]
    return rows


FIELD_IDS = [f"{local(c, str(EZ))}.{n}" for c, n, _ in schema_fields()]


def classes_allowed(shapes: Graph, prop: Node) -> set[Node]:
    direct = set(shapes.objects(prop, SH["class"]))
    for alternatives in shapes.objects(prop, SH["or"]):
        direct |= {c for member in Collection(shapes, alternatives)
                   for c in shapes.objects(member, SH["class"])}
    return direct


@pytest.mark.parametrize(("cls", "name", "field"), schema_fields(), ids=FIELD_IDS)
def test_each_field_has_a_property_shape_that_matches_it(
        shapes: Graph, cls: URIRef, name: str, field: Field) -> None:
    prop = field_shape(shapes, cls, name, field)
    value = shapes.value
    assert (value(prop, SH.minCount) == Literal(1)) == field.required
    one = Literal(1)
    single = value(prop, SH.maxCount) == one or value(prop, SH.qualifiedMaxCount) == one
    if field.type is ValueType.LANG_TEXT:
        assert value(prop, SH.datatype) == RDF.langString
        languages = list(Collection(shapes, value(prop, SH.languageIn)))
        assert languages == [Literal("en"), Literal("zh")]
        assert (value(prop, SH.uniqueLang) == Literal(True)) == (not field.many)
        assert not single
    else:
        assert single == (not field.many)
    datatypes = {ValueType.TEXT: XSD.string, ValueType.DECIMAL: XSD.decimal,
                 ValueType.INTEGER: XSD.integer, ValueType.BOOLEAN: XSD.boolean}
    if field.type in datatypes:
        assert value(prop, SH.datatype) == datatypes[field.type]
    elif field.type is ValueType.DATE:
        assert value(prop, SH.node) == EZSH.DateValue
    elif field.type is ValueType.YEAR:
        assert value(prop, SH.node) == EZSH.YearValue
    elif field.type is ValueType.URL:
        assert value(prop, SH.nodeKind) == SH.IRI
        assert value(prop, SH.pattern) == Literal("^https?://")
    elif field.type is ValueType.CONCEPT:
        assert value(prop, SH["class"]) == SKOS.Concept
        node = value(prop, SH.node)
        pattern = value(value(node, SH.property), SH.qualifiedValueShape)
        assert value(pattern, SH.pattern) == Literal(f"/id/scheme/{field.scheme}$")
    elif field.type is ValueType.UNIT:
        assert set(Collection(shapes, value(prop, SH["in"]))) == {UNIT[u] for u in UNITS}
        default_unit = value(EZSH["Indicator-defaultUnit"], SH["in"])
        assert set(Collection(shapes, default_unit)) == {UNIT[u] for u in UNITS}
    elif field.type is ValueType.REF:
        expected = {KINDS[k].rdf_class for k in field.ref_kinds}
        if expected:
            assert classes_allowed(shapes, prop) == expected
        else:
            assert value(prop, SH.nodeKind) == SH.IRI
    elif field.type in (ValueType.WIKIDATA, ValueType.GEONAMES):
        host = "wikidata" if field.type is ValueType.WIKIDATA else "geonames"
        patterns = [value(prop, SH.pattern), value(value(prop, SH.qualifiedValueShape), SH.pattern)]
        assert any(p is not None and host in p for p in patterns)


def test_no_property_shape_names_a_field_the_schema_lacks(shapes: Graph) -> None:
    known = {(k.rdf_class, name) for k in KINDS.values() for name in k.fields}
    known |= {(EZ.SourceDocument, name) for name in SOURCE_FIELDS}
    # The record-wide shape carries the common fields and the two the mapper turns into provenance.
    record_wide = set(COMMON_FIELDS) | {"source", "quote"}
    for prop, name in shapes.subject_objects(SH.name):
        for node in shapes.subjects(SH.property, prop):
            if node == EZSH.RecordShape:
                assert str(name) in record_wide, prop
            else:
                for cls in shapes.objects(node, SH.targetClass):
                    assert (cls, str(name)) in known, (prop, cls, name)


@pytest.mark.parametrize("shape", ["RecordShape", "FactHasSourceAndQuoteShape"])
def test_record_wide_shapes_target_every_kind(shapes: Graph, shape: str) -> None:
    assert set(shapes.objects(EZSH[shape], SH.targetClass)) == RECORD_CLASSES


# --- the base case and the hand-written cases ---------------------------------------------------

def test_base_case_gives_no_result_at_all(ontology: Graph, base: Graph, shapes: Graph) -> None:
    assert run_pyshacl(merged(ontology, base), shapes, backend="oxigraph") == []


def test_every_targeted_shape_has_focus_nodes_in_the_base_case(
        ontology: Graph, base: Graph, shapes: Graph) -> None:
    data = merged(ontology, base)

    def instances(cls: Node) -> set[Node]:
        classes = {cls} | set(data.transitive_subjects(URIRef(
            "http://www.w3.org/2000/01/rdf-schema#subClassOf"), cls))
        return {s for c in classes for s in data.subjects(RDF.type, c)}

    for shape in named_shapes(shapes):
        focus: set[Node] = set()
        for cls in shapes.objects(shape, SH.targetClass):
            focus |= instances(cls)
        for prop in shapes.objects(shape, SH.targetSubjectsOf):
            focus |= set(data.subjects(prop, None))
        for prop in shapes.objects(shape, SH.targetObjectsOf):
            focus |= set(data.objects(None, prop))
        has_target = any((shape, t, None) in shapes for t in TARGETS)
        assert focus or not has_target, f"{shape} has no focus node in base.ttl"


def test_every_case_file_has_expectations(cases: dict[str, Graph]) -> None:
    assert set(cases) == set(EXPECTED)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_gives_exactly_the_expected_results(
        case: str, cases: dict[str, Graph], cases_data: Graph,
        cases_results: list[Result]) -> None:
    own = set(cases[case].subjects())
    mine = [r for r in cases_results if r.focus in own]
    # One result per focus node, shape, component and value node, never twice the same.
    assert len(mine) == len({(key(cases_data, r), r.value) for r in mine})
    assert {key(cases_data, r) for r in mine} == EXPECTED[case]


def test_cases_leave_the_base_records_alone(
        cases: dict[str, Graph], cases_data: Graph, cases_results: list[Result]) -> None:
    own = {s for graph in cases.values() for s in graph.subjects()}
    assert [key(cases_data, r) for r in cases_results if r.focus not in own] == []


def test_results_carry_the_english_message_of_their_shape(
        cases_data: Graph, cases_results: list[Result], shapes: Graph) -> None:
    assert cases_results
    for result in cases_results:
        if result.component == "SPARQL":
            # Filled-in templates: pyshacl drops the language tag, so only the text is checked.
            assert isinstance(result.message, Literal) and len(result.message) > 20, result
        else:
            assert result.message == shapes.value(result.shape, SH.message), result
            assert result.message.language == "en"


def test_pyshacl_on_oxigraph_agrees_with_pyshacl_on_rdflib(
        cases_data: Graph, cases_results: list[Result], shapes: Graph) -> None:
    """The SPARQL constraints mean the same to rdflib's and Oxigraph's SPARQL engines."""
    on_oxigraph = run_pyshacl(cases_data, shapes, backend="oxigraph")
    assert engine_neutral(on_oxigraph) == engine_neutral(cases_results)


@pytest.mark.parametrize(("focus", "shape"), sorted(MESSAGE_FRAGMENTS))
def test_rule_messages_name_the_values_in_conflict(
        focus: str, shape: str, cases_results: list[Result]) -> None:
    messages = [str(r.message) for r in cases_results
                if r.focus == ID[focus] and r.shape == EZSH[shape]]
    assert len(messages) == 1
    for fragment in MESSAGE_FRAGMENTS[(focus, shape)]:
        assert fragment in messages[0]


def test_shapes_see_concept_subclasses_only_through_the_ontology(
        base: Graph, shapes: Graph) -> None:
    """Validation runs without RDFS inference: sh:class skos:Concept holds for a concept typed
    ez:Indicator only because the ontology in the data graph says ez:Indicator ⊑ skos:Concept."""
    results = run_pyshacl(base, shapes, backend="oxigraph")
    assert (ID["observation/cetdz-area"], EZSH["IndicatorValue-indicator"], "Class") in {
        (r.focus, r.shape, r.component) for r in results}


# --- mutations derived from the schema ----------------------------------------------------------

@dataclass(frozen=True)
class Mutation:
    cls: URIRef
    name: str
    field: Field
    what: str  # "missing", "extra" or "wrong"

    @property
    def node(self) -> URIRef:
        return ID[f"mutant/{local(self.cls, str(EZ))}/{self.name}/{self.what}"]

    @property
    def id(self) -> str:
        return f"{local(self.cls, str(EZ))}.{self.name}:{self.what}"


def two_valid_values(field: Field) -> tuple[Node, Node]:
    t = ValueType
    pairs: dict[ValueType, tuple[Node, Node]] = {
        t.TEXT: (Literal("220171"), Literal("220172")),
        t.LANG_TEXT: (Literal("one", lang="en"), Literal("two", lang="en")),
        t.DECIMAL: (Literal("1.5", datatype=XSD.decimal), Literal("2.5", datatype=XSD.decimal)),
        t.INTEGER: (Literal(1), Literal(2)),
        t.BOOLEAN: (Literal(True), Literal(False)),
        t.DATE: (Literal("2001", datatype=XSD.gYear), Literal("2002", datatype=XSD.gYear)),
        t.YEAR: (Literal("2001", datatype=XSD.gYear), Literal("2002", datatype=XSD.gYear)),
        t.URL: (URIRef("https://example.org/a"), URIRef("https://example.org/b")),
        t.REF: (ID["place/china"], ID["place/jilin"]),
        t.CONCEPT: (ID["zone-level/national"], ID["indicator/area"]),
        t.UNIT: (UNIT.KiloM2, UNIT.M2),
        t.WIKIDATA: (WD.Q1, WD.Q2),
        t.GEONAMES: (URIRef("https://sws.geonames.org/1/"), URIRef("https://sws.geonames.org/2/")),
    }
    return pairs[field.type]


def wrong_value(field: Field) -> Node:
    t = ValueType
    if field.type is t.CONCEPT:  # a concept, but of another scheme
        return ID["indicator/area"] if field.scheme == "zone-level" else ID["zone-level/national"]
    return {
        t.TEXT: Literal(5),
        t.LANG_TEXT: Literal("no language"),
        t.DECIMAL: Literal("many"),
        t.INTEGER: Literal("1.5", datatype=XSD.decimal),
        t.BOOLEAN: Literal("yes"),
        t.DATE: Literal("2020-13", datatype=XSD.gYearMonth),
        t.YEAR: Literal("2020-05", datatype=XSD.gYearMonth),
        t.URL: Literal("https://example.org/"),
        t.REF: Literal("someone"),
        t.UNIT: UNIT.KiloGM,
        t.WIKIDATA: URIRef("https://www.wikidata.org/wiki/Q148"),
        t.GEONAMES: URIRef("http://sws.geonames.org/1814991"),
    }[field.type]


WRONG_COMPONENTS = {
    ValueType.DATE: {"Node"}, ValueType.YEAR: {"Node"}, ValueType.CONCEPT: {"Node"},
    ValueType.URL: {"NodeKind"}, ValueType.REF: {"Class", "Or", "NodeKind"},
    ValueType.UNIT: {"In"}, ValueType.WIKIDATA: {"Pattern", "Or"}, ValueType.GEONAMES: {"Or"},
}


def mutations() -> list[Mutation]:
    found = []
    for cls, name, field in schema_fields():
        if field.required:
            found.append(Mutation(cls, name, field, "missing"))
        if not field.many:
            found.append(Mutation(cls, name, field, "extra"))
        found.append(Mutation(cls, name, field, "wrong"))
    return found


MUTATIONS = mutations()


def richest_instance(data: Graph, cls: URIRef) -> URIRef:
    members = sorted(data.subjects(RDF.type, cls))
    assert members, f"base.ttl has no {cls}"
    return max(members, key=lambda s: len(list(data.predicate_objects(s))))


def apply(mutation: Mutation, base: Graph, into: Graph) -> None:
    original = richest_instance(base, mutation.cls)
    predicate = mutation.field.predicate
    for p, o in base.predicate_objects(original):
        if not (mutation.what == "missing" and p == predicate):
            into.add((mutation.node, p, o))
    if mutation.what == "extra":
        for value in two_valid_values(mutation.field):
            into.add((mutation.node, predicate, value))
    elif mutation.what == "wrong":
        into.add((mutation.node, predicate, wrong_value(mutation.field)))


def control_node(cls: URIRef) -> URIRef:
    return ID[f"mutant/{local(cls, str(EZ))}/control"]


@pytest.fixture(scope="module")
def mutation_data(ontology: Graph, base: Graph) -> Graph:
    data = merged(ontology, base)
    for mutation in MUTATIONS:
        apply(mutation, base, data)
    for cls in RECORD_CLASSES | {EZ.SourceDocument}:
        original = richest_instance(base, cls)
        for p, o in base.predicate_objects(original):
            data.add((control_node(cls), p, o))
    return data


@pytest.fixture(scope="module")
def mutation_results(mutation_data: Graph, shapes: Graph) -> list[Result]:
    # rdflib here: with many focus nodes and few SPARQL solutions the Oxigraph store is slower.
    return run_pyshacl(mutation_data, shapes)


@pytest.mark.slow
@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_field_shape_catches_mutation(
        mutation: Mutation, shapes: Graph, mutation_results: list[Result]) -> None:
    on_node = [r for r in mutation_results if r.focus == mutation.node and r.severity == V]
    if mutation.what == "wrong":
        same_path = {prop for node in shapes.subjects(SH.targetClass, mutation.cls)
                     for prop in shapes.objects(node, SH.property)
                     if shapes.value(prop, SH.path) == mutation.field.predicate}
        components = WRONG_COMPONENTS.get(mutation.field.type, {"Datatype"})
        assert any(r.shape in same_path and r.component in components for r in on_node), on_node
        return
    prop = field_shape(shapes, mutation.cls, mutation.name, mutation.field)
    components = {"missing": {"MinCount"},
                  "extra": {"MaxCount", "QualifiedMaxCount", "UniqueLang"}}[mutation.what]
    assert any(r.shape == prop and r.component in components for r in on_node), on_node


@pytest.mark.slow
def test_unmutated_copies_have_no_violation(mutation_results: list[Result]) -> None:
    controls = {control_node(cls) for cls in RECORD_CLASSES | {EZ.SourceDocument}}
    assert [r for r in mutation_results if r.focus in controls and r.severity == V] == []


@pytest.mark.slow
def test_every_checking_shape_is_exercised_by_a_failing_case(
        shapes: Graph, cases_results: list[Result], mutation_results: list[Result]) -> None:
    hit = {r.shape for r in cases_results + mutation_results}
    assert sorted(checking_shapes(shapes) - hit) == []


# --- Apache Jena agrees -------------------------------------------------------------------------

def run_jena(data: Graph, shapes: Graph, workdir: Path) -> list[Result]:
    data_file, shapes_file = workdir / "data.nt", workdir / "shapes.ttl"
    data.serialize(data_file, format="nt", encoding="utf-8")
    shapes.serialize(shapes_file, format="turtle", encoding="utf-8")
    completed = subprocess.run(
        ["java", "-cp", jena_classpath(workdir), "shacl.shacl", "validate",
         "--shapes", str(shapes_file), "--data", str(data_file)],
        capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return top_level_results(Graph().parse(data=completed.stdout, format="turtle"))


def engine_neutral(results: Iterable[Result]) -> Counter:
    """Blank nodes get engine-specific labels: compare them as '_:'."""
    return Counter(("_:" if isinstance(r.focus, BNode) else str(r.focus),
                    str(r.shape), r.severity, r.component) for r in results)


needs_jena = pytest.mark.skipif(
    not jena_available("jena-shacl"),
    reason="needs java and Apache Jena (jena-shacl) in /usr/share/java")


@pytest.mark.slow
@pytest.mark.external
@needs_jena
@pytest.mark.parametrize("which", ["cases", "mutation"])
def test_jena_reports_the_same_results_as_pyshacl(
        which: str, request: pytest.FixtureRequest, shapes: Graph, tmp_path: Path) -> None:
    data: Graph = request.getfixturevalue(f"{which}_data")
    ours: list[Result] = request.getfixturevalue(f"{which}_results")
    theirs = run_jena(data, shapes, tmp_path)
    assert theirs, "Jena found nothing: the comparison would prove nothing"
    assert engine_neutral(theirs) == engine_neutral(ours)
