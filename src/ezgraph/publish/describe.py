"""VoID and DCAT 3 descriptions of the dataset and its dumps.

Partitions and distributions get IRIs of their own (derived from what they describe, never from
order), so that the descriptions have no blank nodes and can be linked to and diffed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from pyoxigraph import NamedNode, Quad, RdfFormat, Store, Triple, parse
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

from ezgraph import __version__
from ezgraph.namespaces import SD, VOID, prefixes_for
from ezgraph.publish.dumps import DumpFile

SPDX = Namespace("http://spdx.org/rdf/terms#")
# DCAT 3 term; rdflib's DCAT namespace is the closed DCAT 2 one.
DCAT3_VERSION = URIRef("http://www.w3.org/ns/dcat#version")
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
TITLE = "ezgraph: China's national economic and technological development zones"
DESCRIPTION = ("Facts about China's national economic and technological development zones "
               "(approval, area, population, investors, honors, green measures and projects, "
               "policies, enterprises, output and targets), each with the source document and "
               "the sentence it comes from.")


def metadata_graph(base: str) -> str:
    """The named graph that holds these descriptions in a store (the build's own and the ones
    ``ezgraph publish --to`` loads)."""
    return f"{base}graph/metadata"


def _key(iri: str) -> str:
    return hashlib.sha1(iri.encode()).hexdigest()[:12]


def _media_iri(media_type: str) -> URIRef:
    return URIRef(f"https://www.iana.org/assignments/media-types/{media_type}")


def describe(quads: list[Quad], triples: list[Triple], dumps: list[DumpFile], base: str,
             sources: Iterable[str]) -> tuple[list[Triple], list[Triple]]:
    """VoID and DCAT descriptions (as two sorted triple lists) of the dataset ``quads``, whose
    distinct triples are ``triples``.

    ``dumps`` are the published files: those with a format IRI are dumps of the dataset, or of
    the one named graph they name; the others (the JSON-LD context) are no representation of
    the dataset and become no dump or distribution.
    """
    dataset = URIRef(f"{base}dataset")
    void, dcat = Graph(), Graph()
    for graph in (void, dcat):
        for prefix, namespace in prefixes_for(base).items():
            graph.bind(prefix, namespace)
        graph.bind("spdx", SPDX)

    uri_space = f"{base}id/"

    # VoID guide 4.6: "To be an entity in a dataset, a resource must have a URI, and the URI must
    # match the dataset's void:uriRegexPattern, if any"; void:uriSpace states that pattern as a
    # prefix ("a common string prefix of all the entity URIs"). So blank nodes, vocabulary terms
    # ({base}def/), shapes and other namespaces' IRIs are subjects but not entities.
    def is_entity(term: object) -> bool:
        return isinstance(term, NamedNode) and term.value.startswith(uri_space)

    rdf_type = NamedNode(str(RDF.type))
    typings = [t for t in triples if t.predicate == rdf_type and isinstance(t.object, NamedNode)]
    classes = Counter(t.object.value for t in typings)
    # A class partition is "a subset of a void:Dataset that contains only the entities of a
    # certain rdfs:Class": the dataset's entities (as above) typed with that class, so that no
    # partition counts an entity its dataset does not have. The triples are distinct, so each
    # entity counts once per class; a class only vocabulary terms or blank nodes have (owl:Class,
    # sh:SPARQLConstraint) has a partition with 0 entities.
    class_entities = Counter(t.object.value for t in typings if is_entity(t.subject))
    properties = Counter(t.predicate.value for t in triples)
    subjects = {t.subject for t in triples}
    entities = sum(1 for subject in subjects if is_entity(subject))
    per_graph = Counter(q.graph_name.value for q in quads if isinstance(q.graph_name, NamedNode))
    # Dumps with a format IRI are RDF representations: of the whole dataset, or of one graph.
    dataset_dumps = [dump for dump in dumps if dump.format_iri and not dump.graph]
    graph_dumps = [dump for dump in dumps if dump.format_iri and dump.graph]
    unknown = {dump.graph for dump in graph_dumps} - set(per_graph)
    assert not unknown, f"dumps of graphs the dataset does not have: {sorted(unknown)}"

    void.add((dataset, RDF.type, VOID.Dataset))
    void.add((dataset, DCTERMS.title, Literal(TITLE, lang="en")))
    void.add((dataset, DCTERMS.license, LICENSE))
    void.add((dataset, VOID.triples, Literal(len(triples))))
    void.add((dataset, VOID.entities, Literal(entities)))
    void.add((dataset, VOID.distinctSubjects, Literal(len(subjects))))
    void.add((dataset, VOID.distinctObjects, Literal(len({t.object for t in triples}))))
    void.add((dataset, VOID.classes, Literal(len(classes))))
    void.add((dataset, VOID.properties, Literal(len(properties))))
    void.add((dataset, VOID.uriSpace, Literal(uri_space)))
    void.add((dataset, VOID.sparqlEndpoint, URIRef(f"{base}sparql")))
    void.add((dataset, VOID.exampleResource, URIRef(f"{base}id/zone/cetdz")))
    void.add((dataset, VOID.vocabulary, URIRef(f"{base}def/")))
    for namespace in ("http://www.w3.org/ns/org#", "https://schema.org/",
                      "http://www.w3.org/ns/prov#", "http://www.w3.org/ns/sosa/",
                      "http://qudt.org/schema/qudt/", "http://www.w3.org/2004/02/skos/core#"):
        void.add((dataset, VOID.vocabulary, URIRef(namespace)))
    for class_iri in sorted(classes):
        partition = URIRef(f"{base}dataset/class/{_key(class_iri)}")
        void.add((dataset, VOID.classPartition, partition))
        void.add((partition, VOID["class"], URIRef(class_iri)))
        void.add((partition, VOID.entities, Literal(class_entities[class_iri])))
    for property_iri, count in sorted(properties.items()):
        partition = URIRef(f"{base}dataset/property/{_key(property_iri)}")
        void.add((dataset, VOID.propertyPartition, partition))
        void.add((partition, VOID.property, URIRef(property_iri)))
        void.add((partition, VOID.triples, Literal(count)))
    for graph_iri, count in sorted(per_graph.items()):
        subset = URIRef(graph_iri)
        void.add((dataset, VOID.subset, subset))
        void.add((subset, RDF.type, VOID.Dataset))
        void.add((subset, RDF.type, SD.NamedGraph))
        void.add((subset, SD.name, subset))
        void.add((subset, VOID.triples, Literal(count)))
    for dump in dataset_dumps:
        void.add((dataset, VOID.dataDump, URIRef(f"{base}dumps/{dump.path}")))
    for dump in graph_dumps:
        void.add((URIRef(dump.graph), VOID.dataDump, URIRef(f"{base}dumps/{dump.path}")))
    # The endpoint also holds these descriptions, in their own named graph. That graph is no
    # void:subset: a subset's triples are the dataset's, and the dataset (its dumps, its
    # void:triples) does not contain its own description. VoID's class for it is
    # void:DatasetDescription, "a web resource whose foaf:primaryTopic or foaf:topics include
    # void:Datasets" (the VoID vocabulary); the endpoint's SPARQL service description lists the
    # graph with its size.
    description = URIRef(metadata_graph(base))
    void.add((description, RDF.type, VOID.DatasetDescription))
    void.add((description, DCTERMS.title, Literal(
        "VoID and DCAT descriptions of the ezgraph dataset", lang="en")))
    void.add((description, FOAF.primaryTopic, dataset))

    catalog = URIRef(f"{base}catalog")
    dcat.add((catalog, RDF.type, DCAT.Catalog))
    dcat.add((catalog, DCTERMS.title, Literal("ezgraph data catalog", lang="en")))
    dcat.add((catalog, DCAT.dataset, dataset))
    dcat.add((catalog, FOAF.homepage, URIRef(base)))
    dcat.add((dataset, RDF.type, DCAT.Dataset))
    dcat.add((dataset, DCTERMS.title, Literal(TITLE, lang="en")))
    dcat.add((dataset, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    dcat.add((dataset, DCTERMS.license, LICENSE))
    dcat.add((dataset, DCTERMS.rights, Literal(
        "Quoted sentences remain the work of their publishers and are quoted as evidence; "
        "the curated facts, IRIs and descriptions are under CC BY 4.0.", lang="en")))
    dcat.add((dataset, DCAT3_VERSION, Literal(__version__)))
    dcat.add((dataset, DCAT.keyword, Literal("economic and technological development zone",
                                             lang="en")))
    dcat.add((dataset, DCAT.keyword, Literal("eco-industrial park", lang="en")))
    dcat.add((dataset, DCAT.keyword, Literal("国家级经济技术开发区", lang="zh")))
    dcat.add((dataset, DCTERMS.spatial, URIRef("http://www.wikidata.org/entity/Q148")))
    dcat.add((dataset, DCTERMS.conformsTo, URIRef(f"{base}def")))
    for source in sorted(sources):
        dcat.add((dataset, DCTERMS.source, URIRef(f"{base}id/{source}")))
    service = URIRef(f"{base}sparql")
    dcat.add((service, RDF.type, DCAT.DataService))
    dcat.add((service, DCAT.endpointURL, service))
    dcat.add((service, DCAT.servesDataset, dataset))
    dcat.add((service, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    dcat.add((catalog, DCAT.service, service))
    for dump in dataset_dumps:
        _distribution(dcat, dataset, dump, base)
    # A distribution is "a specific representation of a dataset" (DCAT 3, 6.8): a dump of one
    # graph represents that graph, so the graph is a dataset of its own, part of this one.
    for dump in graph_dumps:
        part = URIRef(dump.graph)
        dcat.add((dataset, DCTERMS.hasPart, part))
        dcat.add((part, RDF.type, DCAT.Dataset))
        dcat.add((part, DCTERMS.title, Literal(f"ezgraph: {dump.description}", lang="en")))
        dcat.add((part, DCTERMS.isPartOf, dataset))
        dcat.add((part, DCTERMS.license, LICENSE))
        _distribution(dcat, part, dump, base)
    assert not any(isinstance(t, BNode) for triple in dcat for t in triple)
    return _sorted(void), _sorted(dcat)


def _distribution(dcat: Graph, dataset: URIRef, dump: DumpFile, base: str) -> None:
    distribution = URIRef(f"{base}dataset/distribution/{dump.path}")
    checksum = URIRef(f"{base}dataset/distribution/{dump.path}#sha256")
    dcat.add((dataset, DCAT.distribution, distribution))
    dcat.add((distribution, RDF.type, DCAT.Distribution))
    dcat.add((distribution, DCTERMS.title, Literal(dump.path)))
    dcat.add((distribution, DCTERMS.description, Literal(dump.description, lang="en")))
    dcat.add((distribution, DCAT.downloadURL, URIRef(f"{base}dumps/{dump.path}")))
    dcat.add((distribution, DCAT.accessURL, URIRef(f"{base}dumps/")))
    if dump.content_media_type:
        # DCAT 3 6.8.16, 6.8.18 and its example 62 (a .csv.gz: mediaType text/csv,
        # compressFormat application/gzip): dcat:mediaType is the media type of the data,
        # dcat:compressFormat the compression. dcat:packageFormat is for packages of files
        # (tar, zip, BagIt), which a gzipped dump is not.
        dcat.add((distribution, DCAT.mediaType, _media_iri(dump.content_media_type)))
        dcat.add((distribution, DCAT.compressFormat, _media_iri(dump.media_type)))
    else:
        dcat.add((distribution, DCAT.mediaType, _media_iri(dump.media_type)))
    dcat.add((distribution, DCTERMS.conformsTo, URIRef(dump.format_iri)))
    if dump.context:
        # The JSON-LD context is no representation of the dataset (it holds no triple of it),
        # so it is no distribution; it is what gives this JSON its terms, i.e. the "schema ...
        # or profile that this representation of a dataset conforms to" (DCAT 3 6.8.15,
        # dcterms:conformsTo). The dump carries it inline; the published copy is the one named.
        context = URIRef(f"{base}dumps/{dump.context}")
        dcat.add((distribution, DCTERMS.conformsTo, context))
        dcat.add((context, RDF.type, DCTERMS.Standard))
        dcat.add((context, DCTERMS.title, Literal(f"JSON-LD context of {dump.path}", lang="en")))
        # JSON-LD 1.1's profile IRI for "a JSON-LD context document".
        dcat.add((context, DCTERMS.conformsTo, URIRef("http://www.w3.org/ns/json-ld#context")))
    # DCAT 3 6.8.12: the range is rdfs:Literal, "typically typed as xsd:nonNegativeInteger".
    # Typed xsd:integer, the same number: stores keep derived integer types as xsd:integer
    # (Oxigraph normalises literals on load, oxigraph#526; so do Virtuoso and Jena TDB), and
    # the store's metadata graph must hold the very triples of dcat.ttl.
    dcat.add((distribution, DCAT.byteSize, Literal(dump.bytes, datatype=XSD.integer)))
    dcat.add((distribution, DCTERMS.license, LICENSE))
    dcat.add((distribution, SPDX.checksum, checksum))
    dcat.add((checksum, RDF.type, SPDX.Checksum))
    dcat.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    dcat.add((checksum, SPDX.checksumValue, Literal(dump.sha256, datatype=XSD.hexBinary)))


def _sorted(graph: Graph) -> list[Triple]:
    data = graph.serialize(format="nt", encoding="utf-8")
    triples = sorted((q.triple for q in parse(data, format=RdfFormat.N_TRIPLES)), key=str)
    # The same triples go to the files and to the store's metadata graph; a literal the store
    # would rewrite (another datatype or lexical form) would make the two differ.
    store = Store()
    store.extend(Quad(t.subject, t.predicate, t.object) for t in triples)
    kept = {q.triple for q in store}
    changed = [t for t in triples if t not in kept]
    assert not changed, f"a store does not keep these triples as they are: {changed[:3]}"
    return triples
