"""Writing the dataset in every RDF format, byte for byte the same for the same input.

Determinism comes from three things: quads are written in sorted order, blank nodes carry
canonical (RDFC-1.0) labels, and gzip headers carry no time stamp or file name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pyoxigraph import (
    BlankNode,
    CanonicalizationAlgorithm,
    Dataset,
    Literal,
    NamedNode,
    Quad,
    RdfFormat,
    Triple,
    serialize,
)

from ezgraph.namespaces import prefixes_for


@dataclass(frozen=True)
class DumpFile:
    path: str  # relative to the publish directory
    media_type: str
    bytes: int
    sha256: str
    description: str
    #: For dumps (of the dataset or of one of its graphs): the RDF syntax, as a W3C format IRI.
    #: Files without one (the JSON-LD context) are published, but are no dump of anything.
    format_iri: str = ""
    #: For a compressed file: the media type of what is inside (``media_type`` is the
    #: compression's, which is what the file is served as).
    content_media_type: str = ""
    #: For a dump of one named graph of the dataset only: that graph's IRI.
    graph: str = ""
    #: For a JSON-LD dump: the path of the published @context it is compacted with.
    context: str = ""

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "media_type": self.media_type, "bytes": self.bytes,
                "sha256": self.sha256, "description": self.description}


def canonical(quads: Iterable[Quad]) -> list[Quad]:
    """Quads with canonical blank node labels, sorted by their N-Quads text, each once.

    Only the quads with a blank node take part in RDFC-1.0 (a blank node's label depends on
    the quads it occurs in and on the blank nodes related through them), so only those are
    canonicalized: the same labels as the whole dataset's, without hashing a million others.
    """
    # Everything is done on the quads' texts, each made once: equal quads have equal texts,
    # so a dictionary keyed by them makes the quads unique, and a blank node shows as "_:" in
    # the text. (Reading each quad's terms to find blank nodes, then a set and a sort with
    # key=str, took 5 s at 1M triples.) A literal holding "_:" only adds a quad without blank
    # nodes to the canonicalization, which leaves such a quad as it is.
    quads = quads if isinstance(quads, list) else list(quads)
    by_text = dict(zip(map(str, quads), quads, strict=True))
    blank = [by_text.pop(text) for text in [text for text in by_text if "_:" in text]]
    if blank:
        dataset = Dataset(blank)
        dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
        by_text.update((str(q), q) for q in dataset)
    return [by_text[text] for text in sorted(by_text)]


def triples_of(quads: list[Quad]) -> list[Triple]:
    """The quads merged into one graph (duplicates across graphs counted once), sorted.

    ``quads`` must be sorted as :func:`canonical` sorts them: a quad's text starts with its
    triple's, so the quads of one triple are neighbours and the triples come out sorted.
    """
    triples: list[Triple] = []
    previous = None
    for q in quads:
        # One comparison of whole triples: three of terms cost three times as long at 1M.
        triple = q.triple
        if triple != previous:
            triples.append(triple)
            previous = triple
    return triples


def gzip_bytes(data: bytes) -> bytes:
    """``data`` gzipped exactly as the dumps' files are (see :func:`_gzipped`)."""
    buffer = io.BytesIO()
    _gzipped(lambda f: f.write(data))(buffer)
    return buffer.getvalue()


#: The published JSON-LD context, beside the dumps.
JSONLD_CONTEXT = "context.jsonld"


def jsonld_context(base: str) -> dict[str, object]:
    """The published JSON-LD context: the project's prefixes."""
    return {"@context": dict(sorted(prefixes_for(base).items()))}


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _write_jsonld(triples: list[Triple], base: str, output: BinaryIO) -> None:
    """Compacted JSON-LD with the published context inline, nodes sorted by @id.

    The context is embedded rather than referenced so that the dump reads offline and no
    processor has to fetch anything; the same context is published as ``context.jsonld``.

    Written from the triples directly: the context only holds prefixes, so compacting is
    writing each IRI as ``prefix:rest``, one node object per subject. (rdflib's serializer took
    18 of the 21 s of the dumps stage at 100k triples, and built a second in-memory graph.)
    Literals keep their lexical form and datatype (no native JSON numbers, which would not
    round-trip); RDF lists stay rdf:first/rdf:rest nodes.
    """
    context = jsonld_context(base)["@context"]
    assert isinstance(context, dict)
    # Longest namespace first, so that the most specific prefix wins.
    namespaces = sorted(((ns, prefix) for prefix, ns in context.items()),
                        key=lambda item: -len(item[0]))
    compact = _Compacted(namespaces)
    # One encoder for every line: json.dumps with options builds a new one per call.
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode

    def node_id(term: NamedNode | BlankNode) -> str:
        return f"_:{term.value}" if isinstance(term, BlankNode) else compact[term.value]

    def value(term: object) -> object:
        if isinstance(term, Literal):
            if term.language:
                return {"@language": term.language, "@value": term.value}
            datatype = term.datatype.value
            if datatype == _XSD_STRING:
                return term.value
            return {"@type": compact[datatype], "@value": term.value}
        assert isinstance(term, NamedNode | BlankNode)
        return {"@id": node_id(term)}

    def node_line(subject: NamedNode | BlankNode, properties: dict[str, list[object]]) -> str:
        document: dict[str, object] = {"@id": node_id(subject)}
        for key, values in properties.items():
            document[key] = values[0] if len(values) == 1 else sorted(values, key=encode)
        # One node object per line, by json's C encoder (``indent`` would switch to the
        # pure-Python one: 2.3 of the 4.3 s of the dumps at 100k triples).
        return encode(document)

    # The triples are sorted, so a subject's triples are neighbours: one node at a time is
    # built and written out, and only the lines are kept (sorted by compacted @id at the end).
    lines: list[tuple[str, str]] = []
    subject = None
    properties: dict[str, list[object]] = {}
    for t in triples:
        if t.subject != subject:
            if subject is not None:
                lines.append((node_id(subject), node_line(subject, properties)))
            subject, properties = t.subject, {}
        predicate, item = t.predicate.value, t.object
        if predicate == _RDF_TYPE and not isinstance(item, Literal):
            properties.setdefault("@type", []).append(node_id(item))
        else:
            properties.setdefault(compact[predicate], []).append(value(item))
    if subject is not None:
        lines.append((node_id(subject), node_line(subject, properties)))
    lines.sort()
    head = json.dumps(context, ensure_ascii=False, indent=1, sort_keys=True)
    # Written line by line: one joined text and its encoding were 500 MB more at 1M triples.
    output.write(('{"@context": ' + head + ',\n"@graph": [\n').encode())
    for number, (_, line) in enumerate(lines):
        output.write(((",\n" if number else "") + line).encode())
    output.write(b"\n]}\n")


class _Compacted(dict):
    """IRIs written as ``prefix:rest`` with the longest of ``namespaces`` (``(namespace,
    prefix)`` pairs, longest first) they start with, or as they are; ``compact[iri]``, kept
    once worked out (a dictionary lookup: the JSON-LD dump asks 2 million times at 1M)."""

    def __init__(self, namespaces: list[tuple[str, str]]):
        super().__init__()
        self._namespaces = namespaces

    def __missing__(self, iri: str) -> str:
        found = iri
        for namespace, prefix in self._namespaces:
            rest = iri[len(namespace):]
            if iri.startswith(namespace) and rest and not rest.startswith("//"):
                found = f"{prefix}:{rest}"
                break
        self[iri] = found
        return found


def write_dumps(out: Path, quads: list[Quad], base: str, stem: str = "ezgraph",
                triples: list[Triple] | None = None) -> list[DumpFile]:
    """Write the dataset dumps into ``out``; ``quads`` must already be canonical and sorted
    (``triples``, if given, :func:`triples_of` them)."""
    prefixes = prefixes_for(base)
    triples = triples_of(quads) if triples is None else triples
    formats = "http://www.w3.org/ns/formats/"
    # Each dump is written to its file as it is serialized, one after the other: held as bytes
    # they were up to 400 MB each at 1M triples, on top of the quads and triples.
    # name, media type of the file, writer, description, format, media type inside a gzip
    outputs: list[tuple[str, str, Callable[[BinaryIO], object], str, str, str]] = [
        (f"{stem}.trig", "application/trig",
         lambda f: serialize(quads, f, format=RdfFormat.TRIG, prefixes=prefixes),
         "the dataset with one named graph per source document, plus ontology and shapes",
         formats + "TriG", ""),
        (f"{stem}.nq.gz", "application/gzip",
         _gzipped(lambda f: serialize(quads, f, format=RdfFormat.N_QUADS)),
         "the dataset as gzipped N-Quads (application/n-quads inside)", formats + "N-Quads",
         "application/n-quads"),
        (f"{stem}.ttl", "text/turtle",
         lambda f: serialize(triples, f, format=RdfFormat.TURTLE, prefixes=prefixes),
         "all triples merged into one graph, Turtle", formats + "Turtle", ""),
        (f"{stem}.nt.gz", "application/gzip",
         _gzipped(lambda f: serialize(triples, f, format=RdfFormat.N_TRIPLES)),
         "all triples as gzipped N-Triples (application/n-triples inside)",
         formats + "N-Triples", "application/n-triples"),
        (f"{stem}.jsonld", "application/ld+json", lambda f: _write_jsonld(triples, base, f),
         f"all triples as JSON-LD, compacted with the context of {JSONLD_CONTEXT}",
         formats + "JSON-LD", ""),
        (f"{stem}.rdf", "application/rdf+xml",
         lambda f: serialize(triples, f, format=RdfFormat.RDF_XML, prefixes=prefixes),
         "all triples as RDF/XML", formats + "RDF_XML", ""),
    ]
    files = [stream_file(out, name, media, write, description, fmt, content_media_type=inside,
                         context=JSONLD_CONTEXT if media == "application/ld+json" else "")
             for name, media, write, description, fmt, inside in outputs]
    context = json.dumps(jsonld_context(base), ensure_ascii=False, indent=1) + "\n"
    # No format IRI: the context holds no triple of the dataset, so it is no dump of it.
    files.append(write_file(out, JSONLD_CONTEXT, "application/ld+json", context.encode(),
                            f"the JSON-LD @context of {stem}.jsonld"))
    return files


def write_graph(out: Path, name: str, triples: Iterable[Triple], base: str,
                description: str, graph: str = "") -> DumpFile:
    """``triples`` as Turtle; with ``graph``, the file is the dump of that named graph of the
    dataset (and is described as such)."""
    data = serialize(sorted(triples, key=str), format=RdfFormat.TURTLE,
                     prefixes=prefixes_for(base))
    return write_file(out, name, "text/turtle", data, description,
                      "http://www.w3.org/ns/formats/Turtle" if graph else "", graph=graph)


def _gzipped(write: Callable[[BinaryIO], object]) -> Callable[[BinaryIO], object]:
    """``write`` through a gzip stream: the same bytes as :func:`gzip_bytes` of its output."""
    def write_gzipped(f: BinaryIO) -> None:
        with _BackgroundGzip(f) as gz:
            write(gz)  # type: ignore[arg-type]
    return write_gzipped


class _BackgroundGzip:
    """A gzip stream that compresses in a thread of its own while the caller serializes.

    zlib, hashlib and file writes release the GIL, so compressing, digesting and writing a
    dump take a second CPU instead of alternating with the serializer on one (at 1M triples,
    zlib took 1.42 s of the 1.78 s the N-Quads dump took to write). Chunks are handed over whole
    (at least :data:`CHUNK` bytes) through a bounded queue, so at most a few megabytes wait.
    ``flush`` does nothing: pyoxigraph flushes its output, and a gzip flush ends a deflate
    block, so the bytes would depend on how the writer was called. Without flushes zlib's
    output does not depend on how its input is cut, so the bytes are those of one write.
    """

    CHUNK = 1 << 20

    def __init__(self, f: BinaryIO):
        # mtime=0 and no file name: the same data always gives the same bytes.
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=f, compresslevel=6, mtime=0)
        self._pending = bytearray()
        self._chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._compress, name="gzip-dump", daemon=True)
        self._thread.start()

    def _compress(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is None:
                try:
                    self._gzip.write(chunk)
                except BaseException as error:  # raised to the writer: next write or exit
                    self._error = error

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise self._error
        self._pending += data
        if len(self._pending) >= self.CHUNK:
            self._chunks.put(bytes(self._pending))
            self._pending.clear()
        return len(data)

    def flush(self) -> None:
        pass

    def __enter__(self) -> _BackgroundGzip:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pending and exc_info[0] is None:
            self._chunks.put(bytes(self._pending))
        self._chunks.put(None)
        self._thread.join()
        if exc_info[0] is not None:
            return  # the writer's own error is the one to see
        if self._error is not None:
            raise self._error
        self._gzip.close()


def stream_file(out: Path, name: str, media_type: str, write: Callable[[BinaryIO], object],
                description: str, format_iri: str = "", *, content_media_type: str = "",
                graph: str = "", context: str = "") -> DumpFile:
    """A file written by ``write`` (given the open file), described by size and digest as it
    is written."""
    with (out / name).open("wb") as f:
        counted = _Digesting(f)
        write(counted)  # type: ignore[arg-type]
    return DumpFile(name, media_type, counted.size, counted.sha256.hexdigest(), description,
                    format_iri, content_media_type=content_media_type, graph=graph,
                    context=context)


class _Digesting:
    """A file that keeps the size and SHA-256 of what is written to it."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.sha256.update(data)
        return self._stream.write(data)

    def flush(self) -> None:
        self._stream.flush()


def write_file(out: Path, name: str, media_type: str, data: bytes, description: str,
               format_iri: str = "", *, graph: str = "") -> DumpFile:
    return stream_file(out, name, media_type, lambda f: f.write(data), description, format_iri,
                       graph=graph)
