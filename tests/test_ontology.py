"""The ontology (ontology/ezgraph.ttl): it parses, documents every term in English and Chinese,
declares every term the record schema uses, and aligns with the W3C / schema.org vocabularies by
terms that exist there."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyoxigraph
import pytest
import rdflib.namespace as vocabularies
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SKOS, VANN

from ezgraph.mapping.schema import COMMON_FIELDS, KINDS, SOURCE_FIELDS, Field, ValueType
from ezgraph.namespaces import EZ, QUDT, SOSA, TIME

# Plain namespaces: rdflib's closed ones warn when pytest probes module attributes.
SDO = Namespace(str(vocabularies.SDO))
XSD = Namespace(str(vocabularies.XSD))

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_FILE = ROOT / "ontology" / "ezgraph.ttl"
ONTOLOGY = URIRef("https://w3id.org/ezgraph/def")
CC_BY_4 = URIRef("https://creativecommons.org/licenses/by/4.0/")
OA = "http://www.w3.org/ns/oa#"
OURS = "https://w3id.org/ezgraph/"

OWL_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
PROPERTY_KINDS = (OWL.ObjectProperty, OWL.DatatypeProperty)

#: Vocabularies rdflib ships with a closed term list: a term of ours must exist there.
CLOSED_VOCABULARIES: tuple[vocabularies.DefinedNamespaceMeta, ...] = (
    RDF, RDFS, OWL, vocabularies.XSD, SKOS, DCTERMS, VANN, PROV, vocabularies.SDO, ORG,
    vocabularies.SOSA, vocabularies.TIME, QB, FOAF,
)
#: Vocabularies rdflib does not ship: the terms the ontology may use from them.
OTHER_KNOWN_TERMS = {
    str(QUDT): {"numericValue", "unit", "QuantityValue", "Unit"},
    OA: {"TextQuoteSelector", "TextPositionSelector", "start", "end"},
}

#: Datatypes of the OWL 2 datatype map (plus rdf:langString of RDF 1.1) that ranges may use.
OWL2_DATATYPES = {XSD.string, XSD.integer, XSD.decimal, XSD.boolean, XSD.anyURI,
                  XSD.nonNegativeInteger, RDF.langString, RDF.PlainLiteral, RDFS.Literal}

OBJECT_VALUE_TYPES = {ValueType.REF, ValueType.CONCEPT, ValueType.URL, ValueType.UNIT,
                      ValueType.WIKIDATA, ValueType.GEONAMES}


@pytest.fixture(scope="module")
def onto() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


def ez_terms(graph: Graph) -> set[URIRef]:
    return {s for kind in OWL_KINDS for s in graph.subjects(RDF.type, kind)
            if isinstance(s, URIRef) and s.startswith(str(EZ))}


def all_fields() -> list[tuple[str, str, Field]]:
    rows = [("*", name, f) for name, f in COMMON_FIELDS.items()]
    rows += [("SourceDocument", name, f) for name, f in SOURCE_FIELDS.items()]
    rows += [(kind.name, name, f) for kind in KINDS.values() for name, f in kind.fields.items()]
    return rows


def test_two_parsers_read_the_same_triples(onto: Graph) -> None:
    quads = list(pyoxigraph.parse(path=str(ONTOLOGY_FILE), format=pyoxigraph.RdfFormat.TURTLE))
    assert len(quads) == len(onto) > 500


def test_ontology_header(onto: Graph) -> None:
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in onto
    assert onto.value(ONTOLOGY, OWL.versionIRI) == URIRef("https://w3id.org/ezgraph/def/0.1.0")
    assert onto.value(ONTOLOGY, OWL.versionInfo) == Literal("0.1.0")
    assert onto.value(ONTOLOGY, DCTERMS.license) == CC_BY_4
    assert onto.value(ONTOLOGY, DCTERMS.creator) == Literal("ezgraph contributors")
    assert onto.value(ONTOLOGY, VANN.preferredNamespacePrefix) == Literal("ez")
    assert onto.value(ONTOLOGY, VANN.preferredNamespaceUri) == Literal(str(EZ))
    for prop in (DCTERMS.title, DCTERMS.description):
        assert {lit.language for lit in onto.objects(ONTOLOGY, prop)} == {"en", "zh"}, prop


def test_every_term_has_one_label_and_definition_in_english_and_chinese(onto: Graph) -> None:
    terms = ez_terms(onto)
    assert len(terms) > 80
    problems = []
    for term in sorted(terms):
        for prop in (RDFS.label, SKOS.definition):
            languages = Counter(lit.language for lit in onto.objects(term, prop))
            if languages != Counter({"en": 1, "zh": 1}):
                problems.append(f"{term.n3(onto.namespace_manager)} {prop}: {dict(languages)}")
        if onto.value(term, RDFS.isDefinedBy) != ONTOLOGY:
            problems.append(f"{term} is not rdfs:isDefinedBy the ontology")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_labels_tell_terms_apart(onto: Graph, language: str) -> None:
    labels = Counter(str(lit) for term in ez_terms(onto) for lit in onto.objects(term, RDFS.label)
                     if lit.language == language)
    assert [label for label, n in labels.items() if n > 1] == []


def test_chinese_texts_are_chinese(onto: Graph) -> None:
    for term in ez_terms(onto):
        for prop in (RDFS.label, SKOS.definition):
            for lit in onto.objects(term, prop):
                if lit.language == "zh":
                    assert any("\u4e00" <= ch <= "\u9fff" for ch in lit), (term, lit)


def test_every_iri_has_exactly_one_owl_kind(onto: Graph) -> None:
    """OWL 2 DL: no IRI is both a class and a property, or two kinds of property."""
    kinds: dict[URIRef, set[URIRef]] = {}
    for kind in OWL_KINDS:
        for s in onto.subjects(RDF.type, kind):
            if isinstance(s, URIRef):
                kinds.setdefault(s, set()).add(kind)
    assert {iri: k for iri, k in kinds.items() if len(k) > 1} == {}


def test_every_class_of_the_schema_is_declared(onto: Graph) -> None:
    classes = {kind.rdf_class for kind in KINDS.values()}
    classes |= {c for kind in KINDS.values() for c in kind.extra_classes}
    classes |= {EZ[name] for name in (
        "SourceDocument", "Quotation", "DevelopmentZone", "IndicatorValue", "Indicator",
        "MeasureType", "EipCategory", "ValueQualifier", "ZoneLevel", "PresenceRole")}
    assert {c for c in classes if (c, RDF.type, OWL.Class) not in onto} == set()


@pytest.mark.parametrize(("kind", "name", "field"), all_fields(),
                         ids=[f"{k}.{n}" for k, n, _ in all_fields()])
def test_every_field_predicate_is_declared_with_the_right_kind(
        onto: Graph, kind: str, name: str, field: Field) -> None:
    predicate = field.predicate
    if predicate in (OWL.sameAs, RDFS.label):
        return  # built into OWL
    declared = set(onto.objects(predicate, RDF.type)) & set(OWL_KINDS)
    if field.type in OBJECT_VALUE_TYPES:
        assert declared == {OWL.ObjectProperty}, predicate
    elif predicate.startswith(str(EZ)):
        assert declared == {OWL.DatatypeProperty}, predicate
    else:
        # Reused literal-valued terms: dcterms:title, skos:altLabel ... are annotation properties
        # because the ontology header uses them too.
        assert declared in ({OWL.DatatypeProperty}, {OWL.AnnotationProperty}), predicate


TURTLE_OF_THE_PROJECT = sorted([*ROOT.glob("ontology/*.ttl"), *ROOT.glob("shapes/*.ttl"),
                                *ROOT.glob("tests/shapes_cases/*.ttl")])


@pytest.mark.parametrize("path", TURTLE_OF_THE_PROJECT, ids=[p.name for p in TURTLE_OF_THE_PROJECT])
def test_every_ez_term_the_project_writes_is_declared(onto: Graph, path: Path) -> None:
    """Vocabularies, shapes and test data use no ez: term the ontology does not define."""
    used = {node for triple in Graph().parse(path, format="turtle") for node in triple
            if isinstance(node, URIRef) and node.startswith(str(EZ))}
    declared = ez_terms(onto) | {onto.value(ONTOLOGY, OWL.versionIRI)}
    assert sorted(used - declared) == []


def test_provenance_terms_of_the_mapper_are_declared(onto: Graph) -> None:
    assert (EZ.evidence, RDF.type, OWL.ObjectProperty) in onto
    assert onto.value(EZ.evidence, RDFS.range) == EZ.Quotation
    for offset in (EZ.startOffset, EZ.endOffset):
        assert (offset, RDF.type, OWL.DatatypeProperty) in onto
        assert onto.value(offset, RDFS.domain) == EZ.Quotation
        assert onto.value(offset, RDFS.range) == XSD.integer
    assert onto.value(EZ.eipCategory, RDFS.domain) == EZ.MeasureType
    assert onto.value(EZ.eipCategory, RDFS.range) == EZ.EipCategory
    assert onto.value(EZ.measureType, RDFS.range) == EZ.MeasureType


ALIGNMENTS = [
    (EZ.NationalETDZ, RDFS.subClassOf, EZ.DevelopmentZone),
    (EZ.DevelopmentZone, RDFS.subClassOf, SDO.Place),
    (EZ.Place, RDFS.subClassOf, SDO.AdministrativeArea),
    (EZ.GovernmentBody, RDFS.subClassOf, ORG.FormalOrganization),
    (EZ.GovernmentBody, RDFS.subClassOf, SDO.GovernmentOrganization),
    (EZ.Association, RDFS.subClassOf, ORG.Organization),
    (EZ.Enterprise, RDFS.subClassOf, ORG.Organization),
    (EZ.Enterprise, SKOS.closeMatch, SDO.Corporation),
    (EZ.GreenProject, RDFS.subClassOf, SDO.Project),
    (EZ.IndustrialProject, RDFS.subClassOf, SDO.Project),
    (EZ.ZoneApproval, RDFS.subClassOf, PROV.Activity),
    (EZ.ZoneEstablishment, RDFS.subClassOf, PROV.Activity),
    (EZ.HonorAward, RDFS.subClassOf, PROV.Activity),
    (EZ.GreenMeasure, RDFS.subClassOf, PROV.Activity),
    (EZ.Quotation, RDFS.subClassOf, PROV.Entity),
    (EZ.SourceDocument, RDFS.subClassOf, PROV.Entity),
    (EZ.evidence, RDFS.subPropertyOf, PROV.wasDerivedFrom),
    (EZ.IndicatorObservation, RDFS.subClassOf, SOSA.Observation),
    (EZ.IndicatorObservation, RDFS.subClassOf, EZ.IndicatorValue),
    (EZ.IndicatorTarget, RDFS.subClassOf, EZ.IndicatorValue),
    (EZ.IndicatorObservation, OWL.disjointWith, EZ.IndicatorTarget),
    (EZ.IndicatorObservation, RDFS.seeAlso, QB.Observation),
    (EZ.Indicator, RDFS.subClassOf, SOSA.ObservableProperty),
    (EZ.date, RDFS.subPropertyOf, DCTERMS.date),
    (EZ.date, RDFS.seeAlso, TIME.inXSDgYear),
    (EZ.provisionOf, RDFS.subPropertyOf, DCTERMS.isPartOf),
] + [(EZ[name], RDFS.subClassOf, SKOS.Concept) for name in (
    "HonorTitle", "Industry", "Indicator", "MeasureType", "EipCategory", "ValueQualifier",
    "ZoneLevel", "PresenceRole")]


@pytest.mark.parametrize("triple", ALIGNMENTS,
                         ids=[f"{t[0].split('/')[-1]}-{t[2]}" for t in ALIGNMENTS])
def test_alignment(onto: Graph, triple: tuple[URIRef, URIRef, URIRef]) -> None:
    assert triple in onto


def test_concept_records_are_concepts_and_not_the_other_way(onto: Graph) -> None:
    """Honor titles and industries are SKOS concepts, and targets are not observations."""
    assert (SKOS.Concept, RDFS.subClassOf, None) not in onto
    assert (EZ.IndicatorValue, RDFS.subClassOf, SOSA.Observation) not in onto
    assert (EZ.IndicatorTarget, RDFS.subClassOf, SOSA.Observation) not in onto


def external_iris(graph: Graph) -> set[URIRef]:
    iris = {node for triple in graph for node in triple if isinstance(node, URIRef)}
    return {iri for iri in iris if not str(iri).startswith(OURS) and iri != CC_BY_4}


def test_reused_terms_exist_in_their_vocabularies(onto: Graph) -> None:
    unknown = []
    for iri in sorted(external_iris(onto)):
        vocabulary = next((v for v in CLOSED_VOCABULARIES if iri.startswith(str(v))), None)
        if vocabulary is not None:
            if iri != URIRef(str(vocabulary)) and iri not in vocabulary:
                unknown.append(iri)
            continue
        namespace = next((ns for ns in OTHER_KNOWN_TERMS if iri.startswith(ns)), None)
        if namespace is None or iri[len(namespace):] not in OTHER_KNOWN_TERMS[namespace] | {""}:
            unknown.append(iri)
    assert unknown == []


def test_reused_terms_are_declared_but_not_redefined(onto: Graph) -> None:
    """Other people's terms get their OWL kind and rdfs:isDefinedBy, never axioms of ours."""
    allowed = {RDF.type, RDFS.isDefinedBy}
    reused = {s for s in onto.subjects() if isinstance(s, URIRef) and not s.startswith(OURS)}
    assert reused, "reused terms should be declared"
    assert {(s, p) for s in reused for p in onto.predicates(s) if p not in allowed} == set()
    for term in reused:
        assert onto.value(term, RDFS.isDefinedBy) is not None, term


def class_members(graph: Graph, node: URIRef | BNode) -> list[URIRef | BNode]:
    union = graph.value(node, OWL.unionOf)
    return list(Collection(graph, union)) if union is not None else [node]


def test_domains_and_ranges_name_declared_classes_or_owl2_datatypes(onto: Graph) -> None:
    problems = []
    for prop in ez_terms(onto) & set(onto.subjects(RDF.type, OWL.ObjectProperty)):
        for axis in (RDFS.domain, RDFS.range):
            for value in onto.objects(prop, axis):
                for cls in class_members(onto, value):
                    if (cls, RDF.type, OWL.Class) not in onto:
                        problems.append((prop, axis, cls))
    for prop in ez_terms(onto) & set(onto.subjects(RDF.type, OWL.DatatypeProperty)):
        for value in onto.objects(prop, RDFS.domain):
            problems += [(prop, RDFS.domain, c) for c in class_members(onto, value)
                         if (c, RDF.type, OWL.Class) not in onto]
        problems += [(prop, RDFS.range, r) for r in onto.objects(prop, RDFS.range)
                     if r not in OWL2_DATATYPES]
    assert problems == []


def test_range_of_each_datatype_field_matches_the_schema(onto: Graph) -> None:
    expected = {ValueType.TEXT: XSD.string, ValueType.LANG_TEXT: RDF.langString,
                ValueType.DECIMAL: XSD.decimal, ValueType.INTEGER: XSD.integer,
                ValueType.BOOLEAN: XSD.boolean}
    for _, _, field in all_fields():
        if field.predicate.startswith(str(EZ)) and field.type in expected:
            assert onto.value(field.predicate, RDFS.range) == expected[field.type], field.predicate
        if field.type in (ValueType.DATE, ValueType.YEAR):
            # xsd:gYear / gYearMonth / date are not in the OWL 2 datatype map: no range.
            assert onto.value(field.predicate, RDFS.range) is None, field.predicate


#: Subclass axioms of the reused vocabularies themselves (the ontology does not restate them).
REUSED_HIERARCHY = [
    (ORG.FormalOrganization, ORG.Organization),
    (SDO.GovernmentOrganization, SDO.Organization),
    (SDO.AdministrativeArea, SDO.Place),
]


def test_ref_fields_point_into_the_declared_range(onto: Graph) -> None:
    """Where a REF field has an ez: range, every kind it may point to is a subclass of it."""
    superclasses: dict[URIRef, set[URIRef]] = {}
    hierarchy = onto + Graph()
    for child, parent in REUSED_HIERARCHY:
        hierarchy.add((child, RDFS.subClassOf, parent))

    def ancestors(cls: URIRef) -> set[URIRef]:
        if cls not in superclasses:
            superclasses[cls] = {cls}
            for parent in hierarchy.objects(cls, RDFS.subClassOf):
                superclasses[cls] |= ancestors(parent)
        return superclasses[cls]

    for _, _, field in all_fields():
        rng = onto.value(field.predicate, RDFS.range)
        if field.type is not ValueType.REF or rng is None or not field.ref_kinds:
            continue
        allowed = set(class_members(onto, rng))
        for kind in field.ref_kinds:
            assert ancestors(KINDS[kind].rdf_class) & allowed, (field.predicate, kind)
