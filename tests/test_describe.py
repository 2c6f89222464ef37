"""VoID and DCAT of a small dataset, written as the build writes it: what each term says."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from ezgraph.publish.describe import _sorted, describe, metadata_graph
from ezgraph.publish.dumps import canonical, triples_of, write_dumps, write_graph

BASE = "https://w3id.org/ezgraph/"
DATASET = BASE + "dataset"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL_CLASS = "http://www.w3.org/2002/07/owl#Class"
ZONE = BASE + "def/Zone"
PREFIXES = """PREFIX void: <http://rdfs.org/ns/void#> PREFIX dcat: <http://www.w3.org/ns/dcat#>
    PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX foaf: <http://xmlns.com/foaf/0.1/>
    PREFIX ds: <https://w3id.org/ezgraph/dataset> PREFIX dumps: <https://w3id.org/ezgraph/dumps/>
"""


def quad(s: ox.NamedNode | ox.BlankNode, p: str, o: ox.NamedNode | ox.BlankNode | ox.Literal,
         graph: str) -> ox.Quad:
    return ox.Quad(s, ox.NamedNode(p), o, ox.NamedNode(BASE + graph))


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> list[ox.Triple]:
    """The VoID and DCAT (in one store) of a dataset with two zones in the uriSpace, a blank
    node zone, a class of the ontology, a subject of another namespace and an IRI under id/ that
    is only an object; the ontology graph has a dump of its own."""
    out = tmp_path_factory.mktemp("describe")
    label = BASE + "def/label"
    a, b, c = (ox.NamedNode(f"{BASE}id/zone/{name}") for name in "abc")
    blank = ox.BlankNode("z")
    zone, owl_class = ox.NamedNode(ZONE), ox.NamedNode(OWL_CLASS)
    quads = canonical([
        quad(a, RDF_TYPE, zone, "graph/source-1"),
        quad(b, RDF_TYPE, zone, "graph/source-1"),
        quad(blank, RDF_TYPE, zone, "graph/source-1"),
        quad(a, BASE + "def/next", c, "graph/source-1"),
        quad(ox.NamedNode("http://example.org/x"), label, ox.Literal("x"), "graph/source-1"),
        quad(zone, RDF_TYPE, owl_class, "graph/ontology"),
        quad(ox.BlankNode("r"), RDF_TYPE, owl_class, "graph/ontology"),
    ])
    triples = triples_of(quads)
    files = write_dumps(out, quads, BASE, triples=triples)
    ontology = [q.triple for q in quads if q.graph_name.value == BASE + "graph/ontology"]
    files.append(write_graph(out, "ontology.ttl", ontology, BASE, "the ontology",
                             graph=BASE + "graph/ontology"))
    void, dcat = describe(quads, triples, files, BASE, ["source-1"])
    return void + dcat


@pytest.fixture(scope="module")
def description(described: list[ox.Triple]) -> ox.Store:
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in described)
    return store


def values(store: ox.Store, query: str) -> list[str]:
    return sorted(row[0].value for row in store.query(PREFIXES + query))


def test_gzipped_dumps_have_their_content_media_type_and_gzip_compression(
        description: ox.Store) -> None:
    # DCAT 3 6.8.16/6.8.18, example 62: mediaType of the data, compressFormat the gzip.
    for name, inside in (("ezgraph.nq.gz", "application/n-quads"),
                         ("ezgraph.nt.gz", "application/n-triples")):
        where = f"?d dcat:downloadURL <{BASE}dumps/{name}>"
        assert values(description, f"SELECT ?m WHERE {{ {where} ; dcat:mediaType ?m }}") == [
            f"https://www.iana.org/assignments/media-types/{inside}"]
        assert values(description, f"SELECT ?m WHERE {{ {where} ; dcat:compressFormat ?m }}") \
            == ["https://www.iana.org/assignments/media-types/application/gzip"]
    assert not description.query(PREFIXES + "ASK { ?d dcat:packageFormat ?f }")
    # an uncompressed dump says no compression
    assert values(description, f"""SELECT ?m WHERE {{ ?d dcat:downloadURL
        <{BASE}dumps/ezgraph.ttl> ; dcat:mediaType ?m
        FILTER NOT EXISTS {{ ?d dcat:compressFormat ?c }} }}""") == [
        "https://www.iana.org/assignments/media-types/text/turtle"]


def test_entities_are_the_iri_subjects_in_the_uri_space(description: ox.Store) -> None:
    # 6 distinct subjects: zones a and b (in id/), two blank nodes, an example.org IRI and
    # def/Zone. Entities are only a and b: c, in id/, is an object and described nowhere.
    assert values(description, "SELECT ?n WHERE { ds: void:distinctSubjects ?n }") == ["6"]
    assert values(description, "SELECT ?n WHERE { ds: void:entities ?n }") == ["2"]
    assert values(description, "SELECT ?s WHERE { ds: void:uriSpace ?s }") == [BASE + "id/"]


def test_class_partitions_count_the_datasets_entities_of_the_class(
        description: ox.Store) -> None:
    rows = {row["c"].value: row["n"].value for row in description.query(PREFIXES + """
        SELECT ?c ?n WHERE { ds: void:classPartition ?p . ?p void:class ?c ; void:entities ?n }
    """)}
    # def/Zone: a and b, not the blank node; owl:Class: def/Zone is a vocabulary term outside
    # the uriSpace and _:r a blank node, so no entity of the dataset is an owl:Class.
    assert rows == {ZONE: "2", OWL_CLASS: "0"}
    assert values(description, "SELECT ?n WHERE { ds: void:classes ?n }") == ["2"]


def test_the_json_ld_context_is_no_dump_but_what_the_json_ld_dump_conforms_to(
        description: ox.Store) -> None:
    context = f"<{BASE}dumps/context.jsonld>"
    assert not description.query(PREFIXES + f"ASK {{ ?d void:dataDump {context} }}")
    assert not description.query(PREFIXES + f"ASK {{ ?d dcat:downloadURL {context} }}")
    assert not description.query(PREFIXES + "ASK { ?d dcat:downloadURL ?u "
                                 'FILTER(STRENDS(STR(?u), "context.jsonld")) }')
    assert values(description, f"""SELECT ?f WHERE {{ ?d dcat:downloadURL
        <{BASE}dumps/ezgraph.jsonld> ; dcterms:conformsTo ?f }}""") == [
        "http://www.w3.org/ns/formats/JSON-LD", BASE + "dumps/context.jsonld"]
    assert description.query(PREFIXES + f"""ASK {{ {context} a dcterms:Standard ;
        dcterms:conformsTo <http://www.w3.org/ns/json-ld#context> }}""")


def test_dataset_dumps_and_distributions_are_whole_representations(
        description: ox.Store) -> None:
    whole = ["ezgraph.jsonld", "ezgraph.nq.gz", "ezgraph.nt.gz", "ezgraph.rdf", "ezgraph.trig",
             "ezgraph.ttl"]
    assert values(description, "SELECT ?u WHERE { ds: void:dataDump ?u }") == [
        BASE + "dumps/" + name for name in whole]
    assert values(description, "SELECT ?u WHERE { ds: dcat:distribution/dcat:downloadURL ?u }"
                  ) == [BASE + "dumps/" + name for name in whole]


def test_a_dump_of_one_graph_is_that_graphs_dump_and_distribution(
        description: ox.Store) -> None:
    ontology = f"<{BASE}graph/ontology>"
    assert values(description, f"SELECT ?u WHERE {{ {ontology} void:dataDump ?u }}") == [
        BASE + "dumps/ontology.ttl"]
    assert description.query(PREFIXES + f"ASK {{ ds: void:subset {ontology} }}")
    assert description.query(PREFIXES + f"""ASK {{ {ontology} a dcat:Dataset ;
        dcterms:isPartOf ds: ; dcat:distribution [ dcat:downloadURL dumps:ontology.ttl ;
          dcat:mediaType <https://www.iana.org/assignments/media-types/text/turtle> ;
          dcterms:conformsTo <http://www.w3.org/ns/formats/Turtle> ] .
        ds: dcterms:hasPart {ontology} }}""")


def test_the_metadata_graph_is_described_as_the_datasets_description(
        description: ox.Store) -> None:
    graph = f"<{metadata_graph(BASE)}>"
    assert graph == f"<{BASE}graph/metadata>"
    assert description.query(PREFIXES + f"""ASK {{ {graph} a void:DatasetDescription ;
        foaf:primaryTopic ds: }}""")
    # not a part of the dataset: its triples are in no dump and not in the dataset's count
    assert not description.query(PREFIXES + f"ASK {{ ?d void:subset {graph} }}")
    assert not description.query(PREFIXES + f"ASK {{ ?d dcterms:hasPart {graph} }}")
    assert values(description, "SELECT ?n WHERE { ds: void:triples ?n }") == ["7"]


def test_a_store_keeps_every_description_triple_as_it_is(described: list[ox.Triple]) -> None:
    # What describe() returns goes both to void.ttl/dcat.ttl and to the store's metadata graph.
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in described)
    assert {str(q.triple) for q in store} == {str(t) for t in described}
    sizes = [t.object for t in described if t.predicate.value.endswith("dcat#byteSize")]
    assert len(sizes) == 7  # the six dumps of the dataset and ontology.ttl
    assert {size.datatype.value for size in sizes} == {XSD + "integer"}


def test_describe_refuses_a_literal_a_store_would_retype() -> None:
    # Oxigraph (like Virtuoso and Jena TDB) keeps "5"^^xsd:nonNegativeInteger as xsd:integer:
    # such a triple would differ between dcat.ttl and the store's metadata graph.
    graph = Graph()
    graph.add((URIRef(BASE + "x"), URIRef(BASE + "size"),
               Literal(5, datatype=URIRef(XSD + "nonNegativeInteger"))))
    with pytest.raises(AssertionError, match="nonNegativeInteger"):
        _sorted(graph)
    graph = Graph()
    graph.add((URIRef(BASE + "x"), URIRef(BASE + "size"), Literal(5)))
    assert [str(t) for t in _sorted(graph)] == [
        f'<{BASE}x> <{BASE}size> "5"^^<http://www.w3.org/2001/XMLSchema#integer>']


def test_the_context_stays_published_and_gzip_files_say_what_is_inside(tmp_path: Path
                                                                      ) -> None:
    # The context stays a published file, with its own size and digest in the manifest.
    files = write_dumps(tmp_path, canonical([quad(ox.NamedNode(BASE + "id/a"), RDF_TYPE,
                                                  ox.NamedNode(ZONE), "graph/g")]), BASE)
    by_path = {f.path: f for f in files}
    assert by_path["context.jsonld"].media_type == "application/ld+json"
    assert (tmp_path / "context.jsonld").stat().st_size == by_path["context.jsonld"].bytes
    # the file served and listed is a gzip file; what is inside is said apart
    assert by_path["ezgraph.nq.gz"].media_type == "application/gzip"
    assert by_path["ezgraph.nq.gz"].content_media_type == "application/n-quads"
