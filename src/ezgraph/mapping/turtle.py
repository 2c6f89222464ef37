"""The hand-written Turtle of the project (ontology, vocabularies, shapes) as named graphs."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, parse
from rdflib.namespace import SKOS

from ezgraph.mapping.mapper import Labels
from ezgraph.namespaces import DEFAULT_BASE
from ezgraph.sources.errors import ErrorCollector


def read_turtle_dir(folder: Path, graph: NamedNode, errors: ErrorCollector,
                    base: str = DEFAULT_BASE) -> list[Quad]:
    """Every ``*.ttl`` of ``folder`` as quads in ``graph``, moved to ``base``.

    Parse errors are collected with file, line and column; blank node labels are kept per file
    so two files cannot share one by accident.
    """
    files = sorted(folder.glob("*.ttl"))
    if not files:
        errors.add(folder, None, "no *.ttl files found")
    quads: list[Quad] = []
    for path in files:
        try:
            triples = list(parse(path=str(path), format=RdfFormat.TURTLE))
        except SyntaxError as exc:
            errors.add(path, exc.lineno, f"malformed Turtle: {exc.msg}")
            continue
        except OSError as exc:
            errors.add(path, None, f"cannot be read: {exc}")
            continue
        prefix = path.stem
        for triple in triples:
            quads.append(Quad(_move(triple.subject, base, prefix), _move(triple.predicate, base),
                              _move(triple.object, base, prefix), graph))
    return quads


_ANY_URI = "http://www.w3.org/2001/XMLSchema#anyURI"


def _move(term, base: str, bnode_prefix: str = ""):
    if isinstance(term, NamedNode):
        if base != DEFAULT_BASE and term.value.startswith(DEFAULT_BASE):
            return NamedNode(base + term.value[len(DEFAULT_BASE):])
        return term
    if isinstance(term, BlankNode):
        return BlankNode(f"{bnode_prefix}-{term.value}")
    # Namespaces declared for SHACL-SPARQL (sh:namespace) are xsd:anyURI literals: they move too,
    # or the rules would silently match nothing under another base.
    if (isinstance(term, Literal) and term.datatype.value == _ANY_URI
            and base != DEFAULT_BASE and term.value.startswith(DEFAULT_BASE)):
        return Literal(base + term.value[len(DEFAULT_BASE):], datatype=term.datatype)
    return term


def concept_index(quads: list[Quad], base: str = DEFAULT_BASE) -> tuple[set[str], Labels]:
    """The ``scheme/slug`` paths of the SKOS concepts under ``{base}id/`` and their labels."""
    in_scheme = NamedNode(str(SKOS.inScheme))
    pref_label = NamedNode(str(SKOS.prefLabel))
    prefix = f"{base}id/"
    concepts: set[str] = set()
    labels = Labels({}, {})
    for quad in quads:
        subject = quad.subject
        if not isinstance(subject, NamedNode) or not subject.value.startswith(prefix):
            continue
        path = subject.value[len(prefix):]
        if quad.predicate == in_scheme:
            concepts.add(path)
        elif quad.predicate == pref_label and isinstance(quad.object, Literal):
            language = (quad.object.language or "").split("-")[0]
            if language in ("en", "zh"):
                getattr(labels, language)[path] = quad.object.value
    return concepts, labels
