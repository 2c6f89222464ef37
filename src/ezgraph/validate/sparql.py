"""SHACL-SPARQL constraints (SHACL 1.0 §5) evaluated once per shape instead of once per focus node.

pyshacl evaluates an ``sh:sparql`` constraint by handing rdflib the query text once for every focus
node, and rdflib re-parses it each time: at 10k triples that was 96 % of the validation time, and
it grows faster than linearly. Here each constraint runs ONCE over the whole data graph in
Oxigraph, with ``$this`` joined to all focus nodes of the shape's targets instead of pre-bound to
one. That finds the focus nodes with solutions; only those few are evaluated as pyshacl does
(pre-bound, in rdflib), and every solution becomes a validation result built as SHACL 1.0 §5.3
says and as pyshacl builds it, so the merged report equals a plain pyshacl run
(``tests/test_validate_fast.py``).

Joining instead of pre-binding gives the same solutions only for queries of a known form, so a
constraint takes this path only when :func:`plan` finds it safe (see :func:`_why_not_fast`);
every other constraint stays in the shapes graph that pyshacl evaluates, exactly as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from oxrdflib import OxigraphStore
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node

from ezgraph.rdfterms import to_rdflib_term

#: Shape parameters that make another shape evaluate this one on its own value nodes (nested
#: validation, results inside sh:detail or folded into the referring constraint): left to pyshacl.
_NESTING = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"], SH["and"], SH["or"],
            SH.xone)
_AGGREGATE = re.compile(r"\b(COUNT|SUM|MIN|MAX|AVG|SAMPLE|GROUP_CONCAT)\s*\(", re.I)
_SELECT_CLAUSE = re.compile(r"\bSELECT\b(.*?)(?=\bWHERE\b|\{)", re.I | re.S)
_GROUP_BY = re.compile(r"\bGROUP\s+BY\b([^}]*)$", re.I | re.S)
_THIS = re.compile(r"[$?]this\b")
#: Variables SHACL pre-binds besides $this (§5.3.1), and ?failure (a solution is then an error
#: report, not a result). ?value and ?path are plain result variables (§5.3.2).
_OTHER_SPECIAL = re.compile(r"[$?](PATH|currentShape|shapesGraph|failure)\b")


@dataclass(frozen=True)
class SparqlConstraint:
    """One ``sh:sparql`` constraint of a node shape, ready to run once over all focus nodes."""

    shape: Node
    constraint: Node
    severity: URIRef
    messages: tuple[Literal, ...]
    #: PREFIX lines, and the sh:select text as written (evaluated pre-bound, per focus node).
    prefixes: str
    select: str
    #: The select with $this joined to all focus nodes (evaluated once, in Oxigraph).
    query: str


def plan(shapes: Graph) -> tuple[list[SparqlConstraint], Graph]:
    """Split the shapes: the constraints evaluated here, and the shapes graph left to pyshacl.

    The returned graph is ``shapes`` without the ``sh:sparql`` triples of the constraints taken
    over (everything else, including the constraint nodes themselves, stays).
    """
    fast: list[SparqlConstraint] = []
    remaining = Graph()
    for triple in shapes:
        remaining.add(triple)
    nested = {o for p in _NESTING for o in shapes.objects(None, p)}
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql)):
        if _deactivated(shapes, shape) or _deactivated(shapes, constraint):
            # pyshacl skips these without a result; so do we (and it stays skipped there).
            remaining.remove((shape, SH.sparql, constraint))
            continue
        if _why_not_fast(shapes, shape, constraint, nested) is not None:
            continue
        select = str(shapes.value(constraint, SH.select))
        # A constraint without a message gets pyshacl's generic text, not worth copying.
        messages = tuple(sorted(
            {m for m in shapes.objects(constraint, SH.message) if isinstance(m, Literal)}
            | {m for m in shapes.objects(shape, SH.message) if isinstance(m, Literal)}))
        if not messages:
            continue
        severity = shapes.value(shape, SH.severity) or SH.Violation
        prefixes = _prefix_block(shapes, constraint)
        fast.append(SparqlConstraint(
            shape, constraint, URIRef(severity), messages, prefixes, select,
            prefixes + _anti_joins(_join_targets(select, _targets(shapes, shape)))))
        remaining.remove((shape, SH.sparql, constraint))
    return fast, remaining


def _deactivated(shapes: Graph, node: Node) -> bool:
    value = shapes.value(node, SH.deactivated)
    return isinstance(value, Literal) and value.value is True


def _why_not_fast(shapes: Graph, shape: Node, constraint: Node, nested: set[Node]) -> str | None:
    """Why the constraint must stay with pyshacl, or None when joining equals pre-binding.

    Joining ``$this`` with the focus nodes gives the solutions pre-binding gives when $this is
    bound in the outer group (the join comes first in it, so OPTIONAL, MINUS, BIND and FILTER see
    it bound), every sub-select projects $this (so its $this is the same variable), and a query
    with aggregates groups by $this (one group per focus node, as pre-binding gives).
    """
    if shapes.value(shape, SH.path) is not None:
        return "property shape ($PATH, value nodes)"
    if shape in nested:
        return "evaluated inside other shapes"
    if shapes.value(shape, SH.target) is not None:
        return "SPARQL-based target"
    selects = list(shapes.objects(constraint, SH.select))
    if len(selects) != 1 or not isinstance(selects[0], Literal):
        return "no single sh:select"
    text = _without_comments(str(selects[0]))
    if _OTHER_SPECIAL.search(text):
        return "uses $PATH, $currentShape, $shapesGraph or ?failure"
    clauses = _SELECT_CLAUSE.findall(text)
    if not clauses or any(not _THIS.search(c) for c in clauses) or "*" in clauses[0]:
        return "a SELECT does not project $this"
    if _AGGREGATE.search(text):
        group_by = _GROUP_BY.search(text)
        if group_by is None or not _THIS.search(group_by.group(1)):
            return "aggregates without GROUP BY $this"
    if "{" not in text:
        return "no group pattern"
    return None


def _without_comments(text: str) -> str:
    # Good enough for the check: a '#' inside an IRI or string would only make us more careful.
    return re.sub(r"#[^\n]*", "", text)


def _targets(shapes: Graph, shape: Node) -> list[str]:
    """The shape's targets (SHACL 1.0 §2.1.3) as SPARQL patterns binding ?this."""
    patterns = []
    classes = set(shapes.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, OWL.Class) in shapes:
        classes.add(shape)  # implicit class target (§2.1.3.3)
    for cls in sorted(classes):
        patterns.append(f"{{ ?this <{RDF.type}>/<{RDFS.subClassOf}>* {cls.n3()} }}")
    for node in sorted(shapes.objects(shape, SH.targetNode)):
        patterns.append(f"{{ VALUES ?this {{ {node.n3()} }} }}")
    for predicate in sorted(shapes.objects(shape, SH.targetSubjectsOf)):
        patterns.append(f"{{ ?this {predicate.n3()} ?ezgraphTargetObject }}")
    for predicate in sorted(shapes.objects(shape, SH.targetObjectsOf)):
        patterns.append(f"{{ ?ezgraphTargetSubject {predicate.n3()} ?this }}")
    return patterns


def _join_targets(select: str, targets: list[str]) -> str:
    """``select`` with the focus nodes joined first in its outer group."""
    # No targets: no focus node, so no result; a pattern with no solution keeps the query valid.
    focus = (" UNION ".join(targets) if targets else "VALUES ?this { }")
    join = f"\n{{ SELECT DISTINCT ?this WHERE {{ {focus} }} }}\n"
    brace = select.index("{")
    return select[:brace + 1] + join + select[brace + 1:]


_NOT_EXISTS = re.compile(r"\bFILTER\s+NOT\s+EXISTS\s*\{", re.I)
#: What may not occur in a FILTER NOT EXISTS block turned into MINUS: with these, a variable of
#: the block might be unbound in some of its solutions.
_NOT_PLAIN = re.compile(r"\b(OPTIONAL|UNION|MINUS|EXISTS|SELECT|VALUES|BIND|GRAPH|SERVICE)\b",
                        re.I)
_VARIABLE = re.compile(r"[?$](\w+)")


def _anti_joins(query: str) -> str:
    """Outer-group ``FILTER NOT EXISTS { P }`` blocks rewritten as a trailing ``MINUS { P }``.

    Oxigraph plans the pattern inside NOT EXISTS without knowing that $this is bound, so with
    $this no longer pre-bound it evaluates P once per focus node from its most selective triple
    (30 s for one rule at 100k triples, growing with the square of the size); MINUS evaluates P
    once. The two agree when P is a basic graph pattern with filters, $this occurs in its triple
    patterns (so it is bound in every solution of P, as it is in every outer solution: the focus
    node join) and no other variable of P occurs outside it. Anything else is left as it is.
    """
    outer_open = query.index("{", query.index("SELECT"))
    outer_close = _matching(query, outer_open)
    body = query[outer_open + 1:outer_close]
    moved: list[str] = []
    position = 0
    while (found := _NOT_EXISTS.search(body, position)) is not None:
        block_open = found.end() - 1
        block_close = _matching(body, block_open)
        block = body[block_open + 1:block_close]
        rest = body[:found.start()] + body[block_close + 1:]
        depth = body[:found.start()].count("{") - body[:found.start()].count("}")
        shared = set(_VARIABLE.findall(block)) & set(_VARIABLE.findall(rest))
        patterns = re.sub(r"\bFILTER\s*\((?:[^()]|\([^()]*\))*\)", " ", block, flags=re.I)
        if (depth != 0 or _NOT_PLAIN.search(block) or shared != {"this"}
                or "this" not in _VARIABLE.findall(patterns)):
            position = block_close + 1
            continue
        moved.append(f"MINUS {{{block}}}")
        body = rest
        position = found.start()
    if not moved:
        return query
    return (query[:outer_open + 1] + body + "\n" + "\n".join(moved) + "\n"
            + query[outer_close:])


def _matching(text: str, open_at: int) -> int:
    """The index of the brace closing the one at ``open_at`` (braces in strings skipped)."""
    depth = 0
    quote = ""
    for index in range(open_at, len(text)):
        char = text[index]
        if quote:
            if char == "\\":
                continue
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced braces in a SHACL-SPARQL query")


def _prefix_block(shapes: Graph, constraint: Node) -> str:
    """PREFIX lines from sh:prefixes/owl:imports*/sh:declare (SHACL 1.0 §5.2.1)."""
    seen: set[Node] = set()
    todo = list(shapes.objects(constraint, SH.prefixes))
    lines: dict[str, str] = {}
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(shapes.objects(node, OWL.imports))
        for declaration in shapes.objects(node, SH.declare):
            prefix = shapes.value(declaration, SH.prefix)
            namespace = shapes.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                lines[str(prefix)] = f"PREFIX {prefix}: <{namespace}>\n"
    return "".join(line for _, line in sorted(lines.items()))


# -- evaluation ----------------------------------------------------------------------------------


def data_store(data: Iterable[ox.Triple | ox.Quad]) -> ox.Store:
    """An in-memory Oxigraph store holding ``data`` merged into its default graph (as pyshacl
    sees an rdflib Graph: one set of triples, whatever named graph a quad came from)."""
    store = ox.Store()
    default = ox.DefaultGraph()
    store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, default) for t in data)
    return store


def rdflib_view(store: ox.Store) -> Graph:
    """The default graph of ``store`` as an rdflib Graph (through oxrdflib), read in place.

    rdflib's SPARQL engine evaluates over it by asking for triple patterns, so it computes
    what it computes over an rdflib copy of the data, without the copy (20 s and 1 GB at 1M
    triples). The terms it reads are Oxigraph's: the same as the data's only when Oxigraph
    keeps every literal as written (:func:`ezgraph.validate.screen.lexical_forms_kept`).
    """
    return Graph(store=OxigraphStore(store=store), identifier=DATASET_DEFAULT_GRAPH_ID)


def evaluate(store: ox.Store, constraints: Iterable[SparqlConstraint], shapes: Graph,
             data_graph: Callable[[], Graph]
             ) -> Iterator[tuple[BNode, list[tuple[Node, Node, Node]]]]:
    """Validation results (result node and its triples) of every constraint.

    Oxigraph finds, in one query per constraint, the focus nodes that have solutions. Only for
    those is the constraint then evaluated as pyshacl does, pre-bound, by rdflib's SPARQL engine
    over ``data`` (an rdflib graph of the same data with the same literals, made by
    ``data_graph`` only when some constraint has such focus nodes): the values a solution
    carries (computed sums, the lexical form of a MAX) are then rdflib's, as in a plain pyshacl
    run, where Oxigraph would write canonical forms (58 for 58.0). That costs one rdflib query
    per broken focus node.
    """
    for constraint in constraints:
        solutions = store.query(constraint.query)
        assert isinstance(solutions, ox.QuerySolutions)
        focus_nodes = {solution["this"] for solution in solutions}
        if not focus_nodes:
            continue
        prepared = prepareQuery(constraint.prefixes + constraint.select)
        data = data_graph()
        for focus in sorted(focus_nodes, key=str):
            this = to_rdflib_term(focus)
            # rdflib's engine, never a store's own (an oxrdflib view would ask Oxigraph).
            rows = data.query(prepared, initBindings={"this": this}, use_store_provided=False)
            for bound in _solutions(rows):
                yield _result(constraint, this, bound, shapes, data)


def _solutions(rows: Iterable) -> list[dict[str, Node]]:
    """The distinct solutions of one focus node, as pyshacl keeps them (a solution binding
    none of $this, ?value and ?path gives no result in pyshacl; ?failure is excluded by plan)."""
    kept: list[dict[str, Node]] = []
    for row in rows:
        bound = {str(k): v for k, v in row.asdict().items()}
        if not {"this", "value", "path"} & bound.keys() or bound in kept:
            continue
        kept.append(bound)
    return kept


def _result(constraint: SparqlConstraint, focus: Node, bound: dict[str, Node], shapes: Graph,
            data: Graph) -> tuple[BNode, list[tuple[Node, Node, Node]]]:
    """One result per solution, SHACL 1.0 §5.3.2: sh:focusNode is $this, sh:value ?value or (a
    node shape) $this, sh:resultPath ?path, messages with {?var}/{$var} replaced."""
    this = bound.get("this", focus)
    value = bound.get("value", focus)
    path = bound.get("path")
    node = BNode()
    triples: list[tuple[Node, Node, Node]] = [
        (node, RDF.type, SH.ValidationResult),
        (node, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent),
        (node, SH.sourceShape, constraint.shape),
        (node, SH.resultSeverity, constraint.severity),
        (node, SH.focusNode, this),
        (node, SH.value, value),
    ]
    if path is not None:
        triples.append((node, SH.resultPath, path))
    triples.append((node, SH.sourceConstraint, constraint.constraint))
    # Blank nodes are copied with their triples (pyshacl's clone_blank_node, ids kept).
    triples += _copy(shapes, constraint.shape) + _copy(shapes, constraint.constraint)
    triples += _copy(data, this) + _copy(data, value)
    if path is not None:
        triples += _copy(shapes, path)
    substitutions = {k: v for k, v in bound.items() if k not in ("this", "path", "value")}
    substitutions.update({"this": this, "value": value})
    if path is not None:
        substitutions["path"] = path
    for message in constraint.messages:
        # pyshacl writes the substituted message as a plain literal (the language tag is lost);
        # written the same way so that the merged report equals pyshacl's.
        triples.append((node, SH.resultMessage, Literal(_substitute(str(message), substitutions))))
    return node, triples


def _substitute(message: str, values: dict[str, Node]) -> str:
    for name, term in values.items():
        message = re.sub(r"\{[?$]" + re.escape(name) + r"\}", lambda _m, t=term: str(t), message)
    return message


def _copy(graph: Graph, node: Node, depth: int = 0) -> list[tuple[Node, Node, Node]]:
    """The triples of a blank node and of the blank nodes under it, as pyshacl copies the nodes
    a result refers to into the report (an IRI is referenced, not copied)."""
    if not isinstance(node, BNode) or depth >= 10:
        return []
    triples = []
    for predicate, obj in graph.predicate_objects(node):
        triples.append((node, predicate, obj))
        triples += _copy(graph, obj, depth + 1)
    return triples
