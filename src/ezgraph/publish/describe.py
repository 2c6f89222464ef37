"""VoID and DCAT 3 descriptions of the dataset and its dumps.

Partitions and distributions get IRIs of their own (derived from what they describe, never from
order), so that the descriptions have no blank nodes and can be linked to and diffed.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable

from pyoxigraph import NamedNode, Quad, RdfFormat, Triple, parse
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


def _key(iri: str) -> str:
    return hashlib.sha1(iri.encode()).hexdigest()[:12]


def _media_iri(media_type: str) -> URIRef:
    return URIRef(f"https://www.iana.org/assignments/media-types/{media_type}")


def describe(quads: list[Quad], triples: list[Triple], dumps: list[DumpFile], base: str,
             sources: Iterable[str]) -> tuple[list[Triple], list[Triple]]:
    """VoID and DCAT descriptions (as two sorted triple lists) of the dataset ``quads``, whose
    distinct triples are ``triples``."""
    dataset = URIRef(f"{base}dataset")
    void, dcat = Graph(), Graph()
    for graph in (void, dcat):
        for prefix, namespace in prefixes_for(base).items():
            graph.bind(prefix, namespace)
        graph.bind("spdx", SPDX)

    rdf_type = NamedNode(str(RDF.type))
    classes = Counter(t.object.value for t in triples
                      if t.predicate == rdf_type and isinstance(t.object, NamedNode))
    properties = Counter(t.predicate.value for t in triples)
    subjects = len({t.subject for t in triples})
    per_graph = Counter(q.graph_name.value for q in quads if isinstance(q.graph_name, NamedNode))

    void.add((dataset, RDF.type, VOID.Dataset))
    void.add((dataset, DCTERMS.title, Literal(TITLE, lang="en")))
    void.add((dataset, DCTERMS.license, LICENSE))
    void.add((dataset, VOID.triples, Literal(len(triples))))
    void.add((dataset, VOID.entities, Literal(subjects)))
    void.add((dataset, VOID.distinctSubjects, Literal(subjects)))
    void.add((dataset, VOID.distinctObjects, Literal(len({t.object for t in triples}))))
    void.add((dataset, VOID.classes, Literal(len(classes))))
    void.add((dataset, VOID.properties, Literal(len(properties))))
    void.add((dataset, VOID.uriSpace, Literal(f"{base}id/")))
    void.add((dataset, VOID.sparqlEndpoint, URIRef(f"{base}sparql")))
    void.add((dataset, VOID.exampleResource, URIRef(f"{base}id/zone/cetdz")))
    void.add((dataset, VOID.vocabulary, URIRef(f"{base}def/")))
    for namespace in ("http://www.w3.org/ns/org#", "https://schema.org/",
                      "http://www.w3.org/ns/prov#", "http://www.w3.org/ns/sosa/",
                      "http://qudt.org/schema/qudt/", "http://www.w3.org/2004/02/skos/core#"):
        void.add((dataset, VOID.vocabulary, URIRef(namespace)))
    for class_iri, count in sorted(classes.items()):
        partition = URIRef(f"{base}dataset/class/{_key(class_iri)}")
        void.add((dataset, VOID.classPartition, partition))
        void.add((partition, VOID["class"], URIRef(class_iri)))
        void.add((partition, VOID.entities, Literal(count)))
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
    for dump in dumps:
        void.add((dataset, VOID.dataDump, URIRef(f"{base}dumps/{dump.path}")))

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
    for dump in dumps:
        distribution = URIRef(f"{base}dataset/distribution/{dump.path}")
        checksum = URIRef(f"{base}dataset/distribution/{dump.path}#sha256")
        dcat.add((dataset, DCAT.distribution, distribution))
        dcat.add((distribution, RDF.type, DCAT.Distribution))
        dcat.add((distribution, DCTERMS.title, Literal(dump.path)))
        dcat.add((distribution, DCTERMS.description, Literal(dump.description, lang="en")))
        dcat.add((distribution, DCAT.downloadURL, URIRef(f"{base}dumps/{dump.path}")))
        dcat.add((distribution, DCAT.accessURL, URIRef(f"{base}dumps/")))
        dcat.add((distribution, DCAT.mediaType, _media_iri(dump.media_type)))
        if dump.path.endswith(".gz"):
            dcat.add((distribution, DCAT.compressFormat, _media_iri("application/gzip")))
            inner = "application/n-quads" if ".nq" in dump.path else "application/n-triples"
            dcat.add((distribution, DCAT.packageFormat, _media_iri(inner)))
        if dump.format_iri:
            dcat.add((distribution, DCTERMS.conformsTo, URIRef(dump.format_iri)))
        size = Literal(dump.bytes, datatype=XSD.nonNegativeInteger)
        dcat.add((distribution, DCAT.byteSize, size))
        dcat.add((distribution, DCTERMS.license, LICENSE))
        dcat.add((distribution, SPDX.checksum, checksum))
        dcat.add((checksum, RDF.type, SPDX.Checksum))
        dcat.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        dcat.add((checksum, SPDX.checksumValue, Literal(dump.sha256, datatype=XSD.hexBinary)))
    assert not any(isinstance(t, BNode) for triple in dcat for t in triple)
    return _sorted(void), _sorted(dcat)


def _sorted(graph: Graph) -> list[Triple]:
    data = graph.serialize(format="nt", encoding="utf-8")
    return sorted(parse(data, format=RdfFormat.N_TRIPLES), key=str)
