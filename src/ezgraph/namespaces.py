"""IRIs of the graph: the persistent base, the vocabularies it reuses, and the ones it mints.

Every IRI the project mints hangs off one base (default ``https://w3id.org/ezgraph/``):

* ``{base}def/Term``            ontology classes and properties (``ez:`` prefix)
* ``{base}def``                 the ontology itself
* ``{base}shapes/Name``         SHACL shapes; ``{base}shapes`` is the shapes graph
* ``{base}id/kind/slug``        things: zones, enterprises, observations, concepts, sources ...
* ``{base}graph/name``          named graphs: one per source document, plus ``ontology``, ``shapes``
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SDO, SH, SKOS, XSD

DEFAULT_BASE = "https://w3id.org/ezgraph/"

EZ = Namespace(DEFAULT_BASE + "def/")
EZSH = Namespace(DEFAULT_BASE + "shapes/")
ID = Namespace(DEFAULT_BASE + "id/")
GRAPH = Namespace(DEFAULT_BASE + "graph/")

ORG = Namespace("http://www.w3.org/ns/org#")
SOSA = Namespace("http://www.w3.org/ns/sosa/")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
TIME = Namespace("http://www.w3.org/2006/time#")
QB = Namespace("http://purl.org/linked-data/cube#")
VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
WD = Namespace("http://www.wikidata.org/entity/")
GN = Namespace("https://sws.geonames.org/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")

ONTOLOGY_GRAPH = GRAPH["ontology"]
SHAPES_GRAPH = GRAPH["shapes"]

#: Prefixes written into every serialization and offered to the query editor.
PREFIXES: dict[str, str] = {
    "ez": str(EZ),
    "ezsh": str(EZSH),
    "id": str(ID),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "dcat": str(DCAT),
    "prov": str(PROV),
    "schema": str(SDO),
    "sh": str(SH),
    "org": str(ORG),
    "sosa": str(SOSA),
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "time": str(TIME),
    "qb": str(QB),
    "void": str(VOID),
    "sd": str(SD),
    "wd": str(WD),
    "gn": str(GN),
    "foaf": str(FOAF),
}


#: Predicates that name a resource, most preferred first: the labels a Linked Data document
#: gives every resource it names.
LABEL_PREDICATES: tuple[str, ...] = (
    PREFIXES["skos"] + "prefLabel",
    PREFIXES["rdfs"] + "label",
    PREFIXES["dcterms"] + "title",
    PREFIXES["schema"] + "name",
    PREFIXES["foaf"] + "name",
    PREFIXES["sh"] + "name",
)


def rebase(iri: str, base: str) -> str:
    """Move an IRI minted under the default base to ``base`` (other IRIs are returned unchanged)."""
    if base != DEFAULT_BASE and iri.startswith(DEFAULT_BASE):
        return base + iri[len(DEFAULT_BASE):]
    return iri


def prefixes_for(base: str) -> dict[str, str]:
    """The prefix table with the minted namespaces moved to ``base``."""
    return {name: rebase(iri, base) for name, iri in PREFIXES.items()}
