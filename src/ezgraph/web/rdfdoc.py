"""Describing resources with SPARQL: the queries behind the Linked Data documents and pages.

Everything the pages show comes from the store through ``QueryRequest``: a CONSTRUCT answered as
N-Triples is parsed (pyoxigraph) into a small in-memory :class:`Description` that the views walk.
(A store with ``describes_resources``, the embedded Oxigraph one, answers the RDF documents of
:func:`document_query` from its indexes instead, with the same triples.)
Nothing here knows about Flask; :mod:`ezgraph.web.linked_data` and :mod:`ezgraph.web.ui` turn
these into HTTP answers.

The queries only assume RDF and the vocabularies the project reuses (RDFS, SKOS, OWL, SHACL,
SOSA/QUDT, PROV), so they describe any data served with ``serve --data`` too; the ezgraph
ontology (observations, quotes) only adds sections when its terms are present.
"""

from __future__ import annotations

import json
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

import pyoxigraph as ox

from ezgraph.namespaces import DEFAULT_BASE, LABEL_PREDICATES, PREFIXES, prefixes_for
from ezgraph.store.base import QueryRequest, Store
from ezgraph.store.worker import fragment_prefix

RDF_NS = PREFIXES["rdf"]
RDFS_NS = PREFIXES["rdfs"]
OWL_NS = PREFIXES["owl"]
XSD_NS = PREFIXES["xsd"]
SKOS_NS = PREFIXES["skos"]
DCTERMS_NS = PREFIXES["dcterms"]
SH_NS = PREFIXES["sh"]
PROV_NS = PREFIXES["prov"]
SOSA_NS = PREFIXES["sosa"]
QUDT_NS = PREFIXES["qudt"]
SCHEMA_NS = PREFIXES["schema"]

RDF_TYPE = RDF_NS + "type"
RDF_FIRST = RDF_NS + "first"
RDF_REST = RDF_NS + "rest"
RDF_NIL = RDF_NS + "nil"

#: Predicates that define or describe a resource in prose, most preferred first.
DEFINITION_PREDICATES: tuple[str, ...] = (
    SKOS_NS + "definition",
    RDFS_NS + "comment",
    DCTERMS_NS + "description",
    SH_NS + "description",
)
#: Shown in the page header, so left out of the property table.
HEADER_PREDICATES = frozenset({RDF_TYPE, SKOS_NS + "prefLabel", RDFS_NS + "label"})

NUMERIC_DATATYPES = frozenset(
    XSD_NS + name
    for name in (
        "decimal", "integer", "int", "long", "short", "byte", "double", "float",
        "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger",
        "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte",
    )
)

#: Datatypes a reader needs no badge for: plain text, whole and decimal numbers, true/false.
_OBVIOUS_DATATYPES = frozenset({
    "", XSD_NS + "string", RDF_NS + "langString", XSD_NS + "integer", XSD_NS + "decimal",
    XSD_NS + "boolean",
})

#: How deep the description follows blank nodes (shape constraints, lists, restrictions).
BLANK_NODE_DEPTH = 3


# --------------------------------------------------------------------------------------------
# Terms and descriptions


@dataclass(frozen=True, slots=True)
class Term:
    """An RDF term, independent of the library that parsed it."""

    kind: Literal["iri", "bnode", "literal"]
    value: str
    language: str = ""
    datatype: str = ""

    @property
    def is_iri(self) -> bool:
        return self.kind == "iri"

    @property
    def is_bnode(self) -> bool:
        return self.kind == "bnode"

    @property
    def is_literal(self) -> bool:
        return self.kind == "literal"

    @classmethod
    def iri(cls, value: str) -> Term:
        return cls("iri", value)

    @classmethod
    def from_oxigraph(cls, term: object) -> Term:
        if isinstance(term, ox.NamedNode):
            return cls("iri", term.value)
        if isinstance(term, ox.BlankNode):
            return cls("bnode", term.value)
        if isinstance(term, ox.Literal):
            return cls("literal", term.value, term.language or "",
                       "" if term.language else term.datatype.value)
        raise TypeError(f"unsupported RDF term {term!r}")


Triple = tuple[Term, Term, Term]


class Description:
    """Triples returned by a CONSTRUCT, indexed both ways for building pages."""

    def __init__(self, triples: Iterable[Triple] = ()):
        self._out: dict[Term, dict[Term, list[Term]]] = defaultdict(lambda: defaultdict(list))
        self._in: dict[Term, dict[Term, list[Term]]] = defaultdict(lambda: defaultdict(list))
        self._triples: set[Triple] = set()
        for triple in triples:
            self.add(triple)

    @classmethod
    def from_ntriples(cls, body: bytes) -> Description:
        return cls.from_bytes(body, ox.RdfFormat.N_TRIPLES)

    @classmethod
    def from_bytes(cls, body: bytes, rdf_format: ox.RdfFormat) -> Description:
        return cls(
            (Term.from_oxigraph(q.subject), Term.from_oxigraph(q.predicate),
             Term.from_oxigraph(q.object))
            for q in ox.parse(body, format=rdf_format)
        )

    def add(self, triple: Triple) -> None:
        if triple in self._triples:
            return
        self._triples.add(triple)
        s, p, o = triple
        self._out[s][p].append(o)
        self._in[o][p].append(s)

    def __len__(self) -> int:
        return len(self._triples)

    def __iter__(self) -> Iterator[Triple]:
        return iter(self._triples)

    def is_subject(self, term: Term) -> bool:
        return term in self._out

    def subjects_all(self) -> list[Term]:
        return list(self._out)

    def outgoing(self, subject: Term) -> dict[Term, list[Term]]:
        return self._out.get(subject, {})

    def incoming(self, obj: Term) -> dict[Term, list[Term]]:
        return self._in.get(obj, {})

    def objects(self, subject: Term, predicate: str) -> list[Term]:
        return list(self._out.get(subject, {}).get(Term.iri(predicate), ()))

    def value(self, subject: Term, predicate: str) -> Term | None:
        found = self.objects(subject, predicate)
        return found[0] if found else None

    def subjects(self, predicate: str, obj: Term) -> list[Term]:
        return list(self._in.get(obj, {}).get(Term.iri(predicate), ()))

    def types(self, subject: Term) -> list[Term]:
        return self.objects(subject, RDF_TYPE)

    def has_type(self, subject: Term, *class_iris: str) -> bool:
        wanted = {Term.iri(iri) for iri in class_iris}
        return any(t in wanted for t in self.types(subject))

    def rdf_list(self, head: Term, limit: int = 1000) -> list[Term] | None:
        """The members of the RDF list starting at ``head``, or None if it is not a whole list."""
        items: list[Term] = []
        node = head
        while node != Term.iri(RDF_NIL):
            first = self.value(node, RDF_FIRST)
            rest = self.value(node, RDF_REST)
            if first is None or rest is None or len(items) >= limit:
                return None
            items.append(first)
            node = rest
        return items

    # -- names -----------------------------------------------------------------------------

    def labels(self, term: Term) -> list[Term]:
        found: list[Term] = []
        for predicate in LABEL_PREDICATES:
            found.extend(o for o in self.objects(term, predicate) if o.is_literal)
        return found

    def label(self, term: Term, language: str = "en") -> str | None:
        """The best label in ``language``, else one without a language, else any."""
        return pick_language(self.labels(term), language)

    def label_exactly(self, term: Term, language: str) -> str | None:
        return pick_language(self.labels(term), language, fallback=False)

    def definitions(self, term: Term) -> list[Term]:
        found: list[Term] = []
        for predicate in DEFINITION_PREDICATES:
            found.extend(o for o in self.objects(term, predicate) if o.is_literal)
        return found


def pick_language(literals: Sequence[Term], language: str, fallback: bool = True) -> str | None:
    """The first literal tagged ``language`` (or a subtag of it); with ``fallback``, then the
    first untagged one, then the first of all."""
    for literal in literals:
        if language_matches(literal.language, language):
            return literal.value
    if not fallback:
        return None
    for literal in literals:
        if not literal.language:
            return literal.value
    return literals[0].value if literals else None


def language_matches(tag: str, language: str) -> bool:
    tag = tag.lower()
    return tag == language or tag.startswith(language + "-")


def local_name(iri: str) -> str:
    """The part after the last ``#`` or ``/`` (what people call a term when it has no label)."""
    stripped = iri.rstrip("/#")
    for separator in ("#", "/", ":"):
        if separator in stripped:
            candidate = stripped.rsplit(separator, 1)[1]
            if candidate:
                return candidate
    return iri


def format_number(literal: Term) -> str:
    """Numbers with thousands separators; the lexical form when it is not a number."""
    try:
        number = Decimal(literal.value)
    except InvalidOperation:
        return literal.value
    if not number.is_finite():
        return literal.value
    if number == number.to_integral_value() and "e" not in literal.value.lower():
        return f"{int(number):,}"
    return f"{number:,f}".rstrip("0").rstrip(".") if "." in f"{number:f}" else f"{number:,}"


# --------------------------------------------------------------------------------------------
# Running queries


def sparql_iri(iri: str) -> str:
    """``<iri>`` for a query, refusing characters an IRIREF may not contain."""
    if any(ch in iri for ch in '<>"{}|^`\\') or any(ord(ch) <= 0x20 for ch in iri):
        raise ValueError(f"not an IRI that can be put in a query: {iri!r}")
    return f"<{iri}>"


def sparql_string(text: str) -> str:
    """``text`` as a SPARQL string literal."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def construct(store: Store, query: str, timeout: float, max_rows: int = 100_000) -> Description:
    response = store.query(QueryRequest(
        query=query, results_media_type=None, graph_media_type="application/n-triples",
        timeout=timeout, max_rows=max_rows,
    ))
    return Description.from_ntriples(response.body)


def select(store: Store, query: str, timeout: float,
           max_rows: int = 10_000) -> list[dict[str, Term]]:
    response = store.query(QueryRequest(
        query=query, results_media_type="application/sparql-results+json",
        graph_media_type=None, timeout=timeout, max_rows=max_rows,
    ))
    solutions = ox.parse_query_results(response.body, format=ox.QueryResultsFormat.JSON)
    names = [variable.value for variable in solutions.variables]
    rows: list[dict[str, Term]] = []
    for solution in solutions:
        row = {}
        for name in names:
            bound = solution[name]
            if bound is not None:
                row[name] = Term.from_oxigraph(bound)
        rows.append(row)
    return rows


def ask(store: Store, query: str, timeout: float) -> bool:
    response = store.query(QueryRequest(
        query=query, results_media_type="application/sparql-results+json",
        graph_media_type=None, timeout=timeout,
    ))
    return bool(json.loads(response.body).get("boolean"))


_release_cache: weakref.WeakKeyDictionary[Store, str] = weakref.WeakKeyDictionary()


def store_release(store: Store, manifest: dict | None) -> str:
    """The id of the release served ("" when the backend cannot tell).

    A store whose data cannot change (embedded, read-only) has one release while it is open:
    the build's ``manifest`` names it, else it is looked up once and kept. A store others can
    republish to (``release_can_change``: a remote endpoint) is asked every time - it re-reads
    its release at most every few seconds itself (``RemoteStore`` ``release_ttl``) - and a local
    build's manifest says nothing about what that store holds now.
    """
    if getattr(store, "release_can_change", False):
        return store.info().release
    if manifest and manifest.get("release"):
        return str(manifest["release"])
    try:
        return _release_cache[store]
    except KeyError:
        release = store.info().release
        _release_cache[store] = release
        return release


def add_labels(store: Store, description: Description, iris: Iterable[str], timeout: float,
               limit: int = 2000) -> None:
    """Add to ``description`` the labels the store has for ``iris`` (for pages built from a file,
    like the validation report, whose resources are named in the data)."""
    wanted = sorted({iri for iri in iris if _is_query_safe(iri)})[:limit]
    if not wanted:
        return
    query = f"""{prefix_block(DEFAULT_BASE, QUERY_PREFIXES)}
SELECT ?s ?p ?o WHERE {{
  {_values("s", wanted)}
  ?s ?p ?o . {_label_filter()}
}}"""
    for row in select(store, query, timeout, max_rows=limit * 4):
        if {"s", "p", "o"} <= row.keys():
            description.add((row["s"], row["p"], row["o"]))


def _is_query_safe(iri: str) -> bool:
    try:
        sparql_iri(iri)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Queries


def prefix_block(base: str, names: Iterable[str]) -> str:
    table = prefixes_for(base)
    return "".join(f"PREFIX {name}: <{table[name]}>\n" for name in names)


#: The prefixes every generated query declares (readable in the query editor).
QUERY_PREFIXES = ("rdf", "rdfs", "owl", "skos", "dcterms", "schema", "foaf", "sh", "sosa", "prov")


def _compact(iri: str) -> str:
    for name in QUERY_PREFIXES:
        namespace = PREFIXES[name]
        rest = iri[len(namespace):]
        if iri.startswith(namespace) and rest and all(ch.isalnum() or ch in "-_" for ch in rest):
            return f"{name}:{rest}"
    return f"<{iri}>"


def _values(variable: str, iris: Iterable[str]) -> str:
    return f"VALUES ?{variable} {{ " + " ".join(_compact(iri) for iri in iris) + " }"


def _reach_chains(iri: str, variable: str) -> list[str]:
    """Graph patterns, one per depth from 1 to :data:`BLANK_NODE_DEPTH`, each binding
    ``?variable`` to the blank nodes reachable from ``iri`` at that depth (through blank nodes
    only, following RDF lists to their end). Depth 0 is ``iri`` itself, which callers use
    directly. The first step also takes the IRIs ``iri#…`` that ``iri`` names, which its
    document describes (see :func:`~ezgraph.store.worker.fragment_prefix`).

    Each chain starts at the IRI and is one basic graph pattern, so that Oxigraph walks it from
    the bound subject through its indexes. (A UNION of the depths joined with ``?s ?p ?o``
    afterwards is planned as a join against the whole graph: seconds at a million triples.)"""
    subject = sparql_iri(iri)
    fragments = fragment_prefix(iri)
    chains = []
    for depth in range(1, BLANK_NODE_DEPTH + 1):
        steps = []
        previous = subject
        for level in range(1, depth + 1):
            node = f"?{variable}" if level == depth else f"?{variable}_n{level}"
            hop = f"?{variable}_h{level}"
            reached = f"isBlank({hop})"
            if level == 1 and fragments is not None:
                start = sparql_string(fragments)
                reached = f"{reached} || (isIRI({hop}) && STRSTARTS(STR({hop}), {start}))"
            steps.append(
                f"{previous} ?{variable}_p{level} {hop} . FILTER({reached}) "
                f"{hop} rdf:rest* {node} ."
            )
            previous = node
        chains.append(" ".join(steps))
    return chains


def _label_filter(predicates: Sequence[str] = LABEL_PREDICATES, literal: bool = True) -> str:
    """Keeps ``?s ?p ?o`` to ``predicates`` (labels by default) with, when ``literal``, a
    literal object. A FILTER and not ``VALUES ?p``: VALUES is joined with the pattern as a
    separate operand, and Oxigraph then reads every label of the graph (0.5 s at a million
    triples) instead of the few of the bound subject."""
    listed = ", ".join(_compact(iri) for iri in predicates)
    return f"FILTER(?p IN ({listed}){' && isLiteral(?o)' if literal else ''})"


def _union(branches: Iterable[str]) -> str:
    return "\n  UNION\n".join(f"  {{ {branch} }}" for branch in branches)


def _description_branches(iri: str) -> list[str]:
    """The graph patterns of a description, each bound to ``iri`` so that it costs a few index
    lookups whatever the size of the data: what it says (following blank nodes: constraints,
    lists), what points to it, and the labels of the resources and properties it names or that
    point to it."""
    node = sparql_iri(iri)
    says = [f"{node} ?p ?o . BIND({node} AS ?s)"]
    says += [f"{chain} ?s ?p ?o ." for chain in _reach_chains(iri, "s")]
    points = [f"?s ?p {node} . BIND({node} AS ?o)"]
    label = _label_filter()
    named = []
    for chain in ["", *_reach_chains(iri, "n")]:
        start = "?n" if chain else node
        named.append(f"{chain} {start} ?s ?linked . ?s ?p ?o . {label}".strip())
        named.append(f"{chain} {start} ?linked ?s . ?s ?p ?o . {label}".strip())
    pointing = [f"?s ?linked {node} . ?s ?p ?o . {label}",
                f"?linked ?s {node} . ?s ?p ?o . {label}"]
    return [*says, *points, *named, *pointing]


def document_query(iri: str, base: str) -> str:
    """The CONSTRUCT behind an entity's RDF document: its statements (with the blank nodes they
    lead to), the statements that point to it, and the labels of every resource they name."""
    return f"""{prefix_block(base, (*QUERY_PREFIXES, "ez"))}# The description of {iri}
CONSTRUCT {{ ?s ?p ?o }}
WHERE {{
{_union(_description_branches(iri))}
}}"""


def page_query(iri: str, base: str) -> str:
    """:func:`document_query` plus what the HTML page adds: the observations about the entity
    (with the labels of their indicators, units and qualifiers), the quotes that are evidence
    for the entity and its observations with their source documents, and the types of the
    resources that point to it. Every branch starts from the IRI (see
    :func:`_description_branches`)."""
    node = sparql_iri(iri)
    observed = f"?obs sosa:hasFeatureOfInterest {node} ."
    label = _label_filter()
    evidence = [f"{node} ez:evidence", f"{observed} ?obs ez:evidence"]
    branches = [
        *_description_branches(iri),
        # observations about it, and the labels of what they name
        f"?s sosa:hasFeatureOfInterest {node} . ?s ?p ?o .",
        f"{observed} ?obs ?linked ?s . ?s ?p ?o . {label}",
        # quotes that are evidence for it or its observations, and their sources
        *(f"{via} ?s . ?s ?p ?o ." for via in evidence),
        *(f"{via} ?quote . ?quote prov:wasQuotedFrom ?s . ?s ?p ?o . "
          f"{_label_filter((*LABEL_PREDICATES, SCHEMA_NS + 'url'), literal=False)}"
          for via in evidence),
        # for a node shape: the property shapes it names by IRI, their lists and what they name
        f"{node} sh:property ?s . FILTER(isIRI(?s)) ?s ?p ?o .",
        f"{node} sh:property ?shape . FILTER(isIRI(?shape)) "
        "?shape ?p1 ?h1 . FILTER(isBlank(?h1)) ?h1 rdf:rest* ?s . ?s ?p ?o .",
        f"{node} sh:property ?shape . FILTER(isIRI(?shape)) ?shape ?linked ?s . "
        f"?s ?p ?o . {label}",
        # the types of what it names and of what points to it (so the page can link them here)
        f"{node} ?linked ?s . ?s rdf:type ?o . BIND(rdf:type AS ?p)",
        f"?s ?linked {node} . ?s rdf:type ?o . BIND(rdf:type AS ?p)",
    ]
    return f"""{prefix_block(base, (*QUERY_PREFIXES, "ez"))}# The page about {iri}
CONSTRUCT {{ ?s ?p ?o }}
WHERE {{
{_union(branches)}
}}"""


def exists_query(iri: str) -> str:
    node = sparql_iri(iri)
    return (
        f"ASK {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} UNION {{ ?s {node} ?o }}"
        f" UNION {{ GRAPH {node} {{ ?s ?p ?o }} }} }}"
    )


def graph_exists_query(graph_iri: str) -> str:
    return f"ASK {{ GRAPH {sparql_iri(graph_iri)} {{ ?s ?p ?o }} }}"


def graph_contents_query(graph_iri: str) -> str:
    return f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {sparql_iri(graph_iri)} {{ ?s ?p ?o }} }}"


def namespace_contents_query(namespace: str) -> str:
    """Everything said about the resources named under ``namespace`` (with their blank nodes):
    the ontology or the shapes when they are not in a graph of their own."""
    term = f"FILTER(STRSTARTS(STR(?term), {sparql_string(namespace)}))"
    return f"""PREFIX rdf: <{RDF_NS}>
CONSTRUCT {{ ?s ?p ?o }}
WHERE {{
  {{ ?s ?p ?o . FILTER(STRSTARTS(STR(?s), {sparql_string(namespace)})) }}
  UNION {{ ?term ?p1 ?h1 . {term} FILTER(isBlank(?h1)) ?h1 rdf:rest* ?s . ?s ?p ?o . }}
  UNION {{ ?term ?p1 ?h1 . {term} FILTER(isBlank(?h1)) ?h1 rdf:rest* ?n1 . ?n1 ?p2 ?h2 .
           FILTER(isBlank(?h2)) ?h2 rdf:rest* ?s . ?s ?p ?o . }}
}}"""


ONTOLOGY_TERM_CLASSES = (
    OWL_NS + "Class", RDFS_NS + "Class", OWL_NS + "ObjectProperty", OWL_NS + "DatatypeProperty",
    OWL_NS + "AnnotationProperty", RDF_NS + "Property", OWL_NS + "Ontology",
    SKOS_NS + "ConceptScheme",
)
SHAPE_CLASSES = (SH_NS + "NodeShape", SH_NS + "PropertyShape")


def terms_overview_query(class_iris: Sequence[str], base: str) -> str:
    """Every resource typed with one of ``class_iris``, what it says (following blank nodes two
    levels: restrictions, property constraints and their lists) and the labels of what it
    names. Each branch stands on its own: a variable bound outside a group is not in scope
    inside it, so every branch finds its terms itself."""
    kinds = _values("kind", class_iris)
    return f"""{prefix_block(base, QUERY_PREFIXES)}
CONSTRUCT {{ ?s ?p ?o }}
WHERE {{
  {{ ?s rdf:type ?kind . {kinds} ?s ?p ?o . }}
  UNION {{ ?term rdf:type ?kind . {kinds}
           ?term ?p1 ?h1 . FILTER(isBlank(?h1)) ?h1 rdf:rest* ?s . ?s ?p ?o . }}
  UNION {{ ?term rdf:type ?kind . {kinds}
           ?term ?p1 ?h1 . FILTER(isBlank(?h1)) ?h1 rdf:rest* ?n1 . ?n1 ?p2 ?h2 .
           FILTER(isBlank(?h2)) ?h2 rdf:rest* ?s . ?s ?p ?o . }}
  UNION {{ ?term rdf:type ?kind . {kinds} ?term ?linked ?s .
           ?s ?p ?o . {_label_filter()} }}
  UNION {{ ?term rdf:type ?kind . {kinds} ?term ?p1 ?h1 . FILTER(isBlank(?h1))
           ?h1 ?linked ?s . ?s ?p ?o . {_label_filter()} }}
}}"""


def label_search_query(text: str, limit: int = 50) -> str:
    """Resources whose label contains ``text`` (case-insensitive), with their types."""
    return f"""{prefix_block(DEFAULT_BASE, QUERY_PREFIXES)}
SELECT ?resource (SAMPLE(?name) AS ?label) (SAMPLE(?kind) AS ?type)
WHERE {{
  ?resource ?p ?name . {_values("p", (*LABEL_PREDICATES, SKOS_NS + "altLabel"))}
  FILTER(isLiteral(?name) && CONTAINS(LCASE(STR(?name)), LCASE({sparql_string(text)})))
  OPTIONAL {{ ?resource rdf:type ?kind }}
}}
GROUP BY ?resource
ORDER BY STRLEN(STR(SAMPLE(?name))) ?resource
LIMIT {int(limit)}"""


# --------------------------------------------------------------------------------------------
# What the entity page shows, derived from a Description


@dataclass
class PropertyValues:
    predicate: Term
    values: list[Term]
    #: How many values there are in all (``values`` may be cut for long lists).
    total: int = 0


@dataclass
class Quote:
    node: Term
    text: str
    language: str
    source: Term | None


@dataclass
class ObservationRow:
    node: Term
    types: list[Term]
    indicator: Term | None
    value: Term | None
    unit: Term | None
    qualifier: Term | None
    period_start: Term | None
    period_end: Term | None
    target_year: Term | None
    #: The source says "currently" / "at present" instead of giving a period.
    as_of_publication: bool = False
    quotes: list[Quote] = field(default_factory=list)


@dataclass
class ShapeConstraint:
    node: Term
    path: Term | None
    facets: list[PropertyValues]
    messages: list[Term]


@dataclass
class EntityView:
    """Everything the entity template needs, in display order."""

    subject: Term
    title: str
    title_zh: str | None
    labels: list[Term]
    types: list[Term]
    definitions: list[Term]
    properties: list[PropertyValues]
    incoming: list[PropertyValues]
    observations: list[ObservationRow]
    quotes: list[Quote]
    #: For classes, properties and shapes: the documentation box.
    term_kind: str | None = None
    domain: list[Term] = field(default_factory=list)
    range: list[Term] = field(default_factory=list)
    super_terms: list[Term] = field(default_factory=list)
    sub_terms: list[Term] = field(default_factory=list)
    shape_targets: list[Term] = field(default_factory=list)
    shape_constraints: list[ShapeConstraint] = field(default_factory=list)
    shapes_for_class: list[Term] = field(default_factory=list)


def _sort_key(description: Description, term: Term) -> tuple[int, str]:
    if term.is_literal:
        return (0, term.value.casefold())
    return (1, (description.label(term) or local_name(term.value)).casefold())


def sorted_terms(description: Description, terms: Iterable[Term]) -> list[Term]:
    return sorted(set(terms), key=lambda term: _sort_key(description, term))


def property_table(
    description: Description,
    grouped: dict[Term, list[Term]],
    skip: Iterable[str] = (),
    limit: int | None = None,
) -> list[PropertyValues]:
    skipped = {Term.iri(iri) for iri in skip}
    rows = []
    for predicate, values in grouped.items():
        if predicate in skipped:
            continue
        ordered = sorted_terms(description, values)
        rows.append(PropertyValues(predicate, ordered[:limit] if limit else ordered, len(ordered)))
    rows.sort(key=lambda row: (description.label(row.predicate)
                               or local_name(row.predicate.value)).casefold())
    return rows


def quotes_of(description: Description, subject: Term, ez: str) -> list[Quote]:
    quotes = []
    for node in description.objects(subject, ez + "evidence"):
        values = [o for o in description.objects(node, PROV_NS + "value") if o.is_literal]
        if not values:
            continue
        source = description.value(node, PROV_NS + "wasQuotedFrom")
        for value in values:
            quotes.append(Quote(node, value.value, value.language, source))
    return sorted(quotes, key=lambda quote: quote.text)


def _shape_constraints(description: Description, shape: Term) -> list[ShapeConstraint]:
    """The property constraints of ``shape``: its own when it is a property shape (it has a
    ``sh:path``), and those of the property shapes it names with ``sh:property``."""
    nodes = [shape] if description.value(shape, SH_NS + "path") else []
    nodes += description.objects(shape, SH_NS + "property")
    constraints = []
    for node in nodes:
        constraints.append(ShapeConstraint(
            node=node,
            path=description.value(node, SH_NS + "path"),
            facets=property_table(description, description.outgoing(node), skip=(
                SH_NS + "path", SH_NS + "message", SH_NS + "name", SH_NS + "description",
                SH_NS + "property", RDF_TYPE, *LABEL_PREDICATES, *DEFINITION_PREDICATES)),
            messages=description.objects(node, SH_NS + "message"),
        ))
    constraints.sort(key=lambda c: local_name(c.path.value) if c.path and c.path.is_iri else "~")
    return constraints


def entity_view(description: Description, iri: str, base: str,
                incoming_limit: int = 100) -> EntityView:
    subject = Term.iri(iri)
    ez = base + "def/"
    outgoing = description.outgoing(subject)

    observations = []
    for node in sorted_terms(description,
                             description.subjects(SOSA_NS + "hasFeatureOfInterest", subject)):
        observations.append(ObservationRow(
            node=node,
            types=description.types(node),
            indicator=description.value(node, SOSA_NS + "observedProperty"),
            value=(description.value(node, QUDT_NS + "numericValue")
                   or description.value(node, SOSA_NS + "hasSimpleResult")
                   or description.value(node, QUDT_NS + "value")),
            unit=description.value(node, QUDT_NS + "unit"),
            qualifier=description.value(node, ez + "valueQualifier"),
            period_start=description.value(node, ez + "periodStart"),
            period_end=description.value(node, ez + "periodEnd"),
            target_year=description.value(node, ez + "targetYear"),
            as_of_publication=any(flag.value in ("true", "1") for flag in
                                  description.objects(node, ez + "asOfPublication")),
            quotes=quotes_of(description, node, ez),
        ))
    observations.sort(key=lambda row: (
        (description.label(row.indicator) or local_name(row.indicator.value)).casefold()
        if row.indicator else "~",
        (row.period_start or row.target_year or Term("literal", "")).value,
    ))

    incoming_skip = [SOSA_NS + "hasFeatureOfInterest"] if observations else []
    types = sorted_terms(description, description.types(subject))
    view = EntityView(
        subject=subject,
        title=description.label(subject) or local_name(iri),
        title_zh=description.label_exactly(subject, "zh"),
        labels=sorted(description.labels(subject), key=lambda t: (t.language, t.value)),
        types=types,
        definitions=description.definitions(subject),
        properties=property_table(
            description, outgoing,
            skip=(*HEADER_PREDICATES, *DEFINITION_PREDICATES, ez + "evidence")),
        incoming=property_table(description, description.incoming(subject),
                                skip=incoming_skip, limit=incoming_limit),
        observations=observations,
        quotes=quotes_of(description, subject, ez),
    )
    if view.title_zh == view.title:
        view.title_zh = None

    type_iris = {t.value for t in types}
    if type_iris & {OWL_NS + "Class", RDFS_NS + "Class"}:
        view.term_kind = "class"
        view.super_terms = description.objects(subject, RDFS_NS + "subClassOf")
        view.sub_terms = description.subjects(RDFS_NS + "subClassOf", subject)
        view.shapes_for_class = description.subjects(SH_NS + "targetClass", subject)
    elif type_iris & {RDF_NS + "Property", OWL_NS + "ObjectProperty",
                      OWL_NS + "DatatypeProperty", OWL_NS + "AnnotationProperty"}:
        view.term_kind = "property"
        view.super_terms = description.objects(subject, RDFS_NS + "subPropertyOf")
        view.sub_terms = description.subjects(RDFS_NS + "subPropertyOf", subject)
        view.domain = description.objects(subject, RDFS_NS + "domain")
        view.range = description.objects(subject, RDFS_NS + "range")
    if type_iris & set(SHAPE_CLASSES):
        view.term_kind = "shape"
        view.shape_targets = (description.objects(subject, SH_NS + "targetClass")
                              + description.objects(subject, SH_NS + "targetNode")
                              + description.objects(subject, SH_NS + "targetSubjectsOf")
                              + description.objects(subject, SH_NS + "targetObjectsOf"))
        view.shape_constraints = _shape_constraints(description, subject)
    return view


@dataclass
class TermSummary:
    term: Term
    label: str
    label_zh: str | None
    definition: str | None
    definition_zh: str | None
    kinds: list[Term]
    parents: list[Term]
    domain: list[Term]
    range: list[Term]


def term_summaries(description: Description, class_iris: Sequence[str]) -> list[TermSummary]:
    wanted = {Term.iri(iri) for iri in class_iris}
    summaries = []
    for subject in description.subjects_all():
        if not subject.is_iri:
            continue
        kinds = [t for t in description.types(subject) if t in wanted]
        if not kinds:
            continue
        definitions = description.definitions(subject)
        summaries.append(TermSummary(
            term=subject,
            label=description.label(subject) or local_name(subject.value),
            label_zh=description.label_exactly(subject, "zh"),
            definition=pick_language(definitions, "en"),
            definition_zh=pick_language(definitions, "zh", fallback=False),
            kinds=kinds,
            parents=(description.objects(subject, RDFS_NS + "subClassOf")
                     + description.objects(subject, RDFS_NS + "subPropertyOf")),
            domain=description.objects(subject, RDFS_NS + "domain"),
            range=description.objects(subject, RDFS_NS + "range"),
        ))
    summaries.sort(key=lambda s: (s.label.casefold(), s.term.value))
    return summaries


@dataclass
class ShapeSummary:
    shape: Term
    label: str
    targets: list[Term]
    constraints: list[ShapeConstraint]
    messages: list[Term]


def shape_summaries(description: Description) -> list[ShapeSummary]:
    """Node shapes with their property constraints; property shapes only on their own when no
    other shape names them."""
    named = {o for s in description.subjects_all()
             for o in description.objects(s, SH_NS + "property")}
    summaries = []
    for subject in description.subjects_all():
        if subject.is_literal or subject in named:
            continue
        if not (description.has_type(subject, *SHAPE_CLASSES)
                or description.value(subject, SH_NS + "targetClass")):
            continue
        summaries.append(ShapeSummary(
            shape=subject,
            label=description.label(subject) or local_name(subject.value),
            targets=(description.objects(subject, SH_NS + "targetClass")
                     + description.objects(subject, SH_NS + "targetNode")
                     + description.objects(subject, SH_NS + "targetSubjectsOf")
                     + description.objects(subject, SH_NS + "targetObjectsOf")),
            constraints=_shape_constraints(description, subject),
            # its own messages and those of its SPARQL constraints
            messages=description.objects(subject, SH_NS + "message") + [
                message for constraint in description.objects(subject, SH_NS + "sparql")
                for message in description.objects(constraint, SH_NS + "message")],
        ))
    summaries.sort(key=lambda s: (s.label.casefold(), s.shape.value))
    return summaries


# --------------------------------------------------------------------------------------------
# Showing terms


class TermFormatter:
    """How the templates show a term: label, link, prefixed name, literal details.

    ``href(iri, known)`` maps an IRI to the address a reader should follow (this server for the
    data's own IRIs; ``known`` says whether the description has statements about it); it
    returns None for IRIs not worth a link (not http, say).
    """

    def __init__(self, description: Description, base: str,
                 href: Callable[[str, bool], str | None], document_of: str | None = None):
        self.description = description
        self._href = href
        #: The IRIs "document_of#…" are shown nested where they are named, like blank nodes:
        #: the description holds their statements (see :func:`_reach_chains`).
        self._fragments = fragment_prefix(document_of) if document_of else None
        prefixes = prefixes_for(base)
        # Longest namespace first, so ezsh: wins over a shorter namespace it extends.
        self._prefixes = sorted(prefixes.items(), key=lambda item: -len(item[1]))

    def label(self, term: Term) -> str:
        if term.is_literal:
            return term.value
        found = self.description.label(term)
        if found:
            return found
        if term.is_bnode:
            return "(blank node)"
        return self.prefixed(term) or local_name(term.value)

    def label_zh(self, term: Term) -> str | None:
        zh = self.description.label_exactly(term, "zh")
        return zh if zh and zh != self.description.label(term) else None

    def has_label(self, term: Term) -> bool:
        return bool(self.description.labels(term))

    def name(self, term: Term) -> str:
        """The label, else the local name (units: ``KiloM2``, not ``unit:KiloM2``)."""
        if term.is_iri and not self.description.labels(term):
            return local_name(term.value)
        return self.label(term)

    def prefixed(self, term: Term | str) -> str | None:
        iri = term.value if isinstance(term, Term) else term
        for name, namespace in self._prefixes:
            if iri.startswith(namespace) and len(iri) > len(namespace):
                rest = iri[len(namespace):]
                if all(ch.isalnum() or ch in "-_." for ch in rest):
                    return f"{name}:{rest}"
        return None

    def href(self, term: Term) -> str | None:
        if not term.is_iri:
            return None
        return self._href(term.value, self.description.is_subject(term))

    def is_local(self, term: Term) -> bool:
        link = self.href(term)
        return bool(link) and link != term.value

    def literal_text(self, term: Term) -> str:
        if term.datatype in NUMERIC_DATATYPES:
            return format_number(term)
        return term.value

    def datatype(self, term: Term) -> str | None:
        """The datatype worth showing: none for text, plain numbers and true/false."""
        if not term.is_literal or term.language:
            return None
        if term.datatype in _OBVIOUS_DATATYPES:
            return None
        return self.prefixed(term.datatype) or term.datatype

    def is_link_literal(self, term: Term) -> bool:
        return term.is_literal and term.datatype == XSD_NS + "anyURI" and (
            term.value.startswith(("http://", "https://")))

    def is_part(self, term: Term) -> bool:
        """Whether ``term`` is an IRI ``document_of#…`` the description says something about."""
        return (self._fragments is not None and term.is_iri
                and term.value.startswith(self._fragments) and self.description.is_subject(term))

    def list_items(self, term: Term) -> list[Term] | None:
        if term == Term.iri(RDF_NIL):
            return []
        if not term.is_bnode:
            return None
        return self.description.rdf_list(term)

    def properties(self, term: Term) -> list[PropertyValues]:
        return property_table(self.description, self.description.outgoing(term))

    def sorted(self, terms: Iterable[Term]) -> list[Term]:
        return sorted_terms(self.description, terms)
