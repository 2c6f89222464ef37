"""Writing the dataset in every RDF format, byte for byte the same for the same input.

Determinism comes from three things: quads are written in sorted order, blank nodes carry
canonical (RDFC-1.0) labels, and gzip headers carry no time stamp or file name.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyoxigraph import (
    CanonicalizationAlgorithm,
    Dataset,
    Quad,
    RdfFormat,
    Triple,
    serialize,
)

from ezgraph.namespaces import prefixes_for
from ezgraph.rdfterms import to_rdflib_graph


@dataclass(frozen=True)
class DumpFile:
    path: str  # relative to the publish directory
    media_type: str
    bytes: int
    sha256: str
    description: str
    #: For dumps of the dataset: the RDF syntax, as a W3C format IRI.
    format_iri: str = ""

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "media_type": self.media_type, "bytes": self.bytes,
                "sha256": self.sha256, "description": self.description}


def canonical(quads: Iterable[Quad]) -> list[Quad]:
    """Quads with canonical blank node labels, sorted."""
    dataset = Dataset(quads)
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return sorted(dataset, key=str)


def triples_of(quads: Iterable[Quad]) -> list[Triple]:
    """The quads merged into one graph (duplicates across graphs counted once), sorted."""
    return sorted({Triple(q.subject, q.predicate, q.object) for q in quads}, key=str)


def _gzip(data: bytes) -> bytes:
    # mtime=0 and no file name: the same data always gives the same bytes.
    return gzip.compress(data, compresslevel=9, mtime=0)


def jsonld_context(base: str) -> dict[str, object]:
    """The published JSON-LD context: the project's prefixes."""
    return {"@context": dict(sorted(prefixes_for(base).items()))}


def _jsonld(triples: list[Triple], base: str) -> bytes:
    """Compacted JSON-LD with the published context inline, nodes sorted by @id.

    The context is embedded rather than referenced so that the dump reads offline and no
    processor has to fetch anything; the same context is published as ``context.jsonld``.
    """
    graph = to_rdflib_graph(triples)
    context = jsonld_context(base)["@context"]
    document = json.loads(graph.serialize(format="json-ld", context=context, auto_compact=False))
    nodes = document.get("@graph", [document] if "@id" in document else [])
    for node in nodes:
        for key, value in node.items():
            if isinstance(value, list):
                node[key] = sorted(value, key=lambda v: json.dumps(v, sort_keys=True,
                                                                   ensure_ascii=False))
    nodes.sort(key=lambda node: str(node.get("@id", "")))
    ordered = {"@context": context, "@graph": nodes}
    return (json.dumps(ordered, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def write_dumps(out: Path, quads: list[Quad], base: str, stem: str = "ezgraph") -> list[DumpFile]:
    """Write the dataset dumps into ``out``; ``quads`` must already be canonical and sorted."""
    prefixes = prefixes_for(base)
    triples = triples_of(quads)
    nquads = serialize(quads, format=RdfFormat.N_QUADS)
    ntriples = serialize(triples, format=RdfFormat.N_TRIPLES)
    formats = "http://www.w3.org/ns/formats/"
    outputs = [
        (f"{stem}.trig", "application/trig", serialize(quads, format=RdfFormat.TRIG,
                                                       prefixes=prefixes),
         "the dataset with one named graph per source document, plus ontology and shapes",
         formats + "TriG"),
        (f"{stem}.nq.gz", "application/gzip", _gzip(nquads),
         "the dataset as gzipped N-Quads (application/n-quads inside)", formats + "N-Quads"),
        (f"{stem}.ttl", "text/turtle", serialize(triples, format=RdfFormat.TURTLE,
                                                 prefixes=prefixes),
         "all triples merged into one graph, Turtle", formats + "Turtle"),
        (f"{stem}.nt.gz", "application/gzip", _gzip(ntriples),
         "all triples as gzipped N-Triples (application/n-triples inside)",
         formats + "N-Triples"),
        (f"{stem}.jsonld", "application/ld+json", _jsonld(triples, base),
         "all triples as JSON-LD, compacted with the context of context.jsonld",
         formats + "JSON-LD"),
        (f"{stem}.rdf", "application/rdf+xml", serialize(triples, format=RdfFormat.RDF_XML,
                                                         prefixes=prefixes),
         "all triples as RDF/XML", formats + "RDF_XML"),
    ]
    files = [write_file(out, name, media, data, description, fmt)
             for name, media, data, description, fmt in outputs]
    context = json.dumps(jsonld_context(base), ensure_ascii=False, indent=1) + "\n"
    files.append(write_file(out, "context.jsonld", "application/ld+json", context.encode(),
                            "the JSON-LD @context of ezgraph.jsonld"))
    return files


def write_graph(out: Path, name: str, triples: Iterable[Triple], base: str,
                description: str) -> DumpFile:
    data = serialize(sorted(triples, key=str), format=RdfFormat.TURTLE,
                     prefixes=prefixes_for(base))
    return write_file(out, name, "text/turtle", data, description)


def write_file(out: Path, name: str, media_type: str, data: bytes, description: str,
               format_iri: str = "") -> DumpFile:
    (out / name).write_bytes(data)
    return DumpFile(name, media_type, len(data), hashlib.sha256(data).hexdigest(), description,
                    format_iri)
