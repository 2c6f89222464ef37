"""Which focus nodes may fail a shape: the SHACL core constraints compiled to SPARQL for Oxigraph.

pyshacl walks every focus node in Python: about 16 s at 100k triples and ten times that at 1M.
Most focus nodes conform, and a query per constraint finds the few that may not in a fraction
of that time. The screen only decides which focus nodes pyshacl must look at; pyshacl still
writes every result (:mod:`ezgraph.validate.shacl`), so the report is pyshacl's.

The screen must never miss a focus node pyshacl would report, and may name more. Every query
here is therefore an over-approximation of "does not conform": a constraint it cannot express
exactly (``sh:closed``, ``sh:not``, ``sh:xone``, a SPARQL-based constraint left to pyshacl, an
unknown parameter) names every focus node it applies to; an expression error (a regex or a
comparison Oxigraph cannot evaluate) names the value; a conforming count is under-counted, never
over-counted. When the shapes use what the screen cannot scope at all (SPARQL-based targets,
rules, custom constraint components, blank-node shapes with targets), :func:`compile_shapes`
returns None and the whole graph goes to pyshacl as before.

Oxigraph stores typed literals by value ("12.50"^^xsd:decimal comes back as "12.5"), where
pyshacl sees the lexical form. String and term comparisons (sh:pattern, sh:minLength, sh:in,
sh:hasValue, sh:equals, ...) would then see other strings; when the data holds such a literal
whose lexical form Oxigraph changes (:func:`lexical_forms_kept`), those constraints name every
focus node whose value is a non-string literal.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from ezgraph.rdfterms import to_rdflib_term

#: Parameters that constrain nothing by themselves (or are read with the component they belong
#: to): everything else in the SHACL namespace is a constraint the screen must account for.
_NOT_CONSTRAINTS = {
    SH.path, SH.message, SH.name, SH.description, SH.severity, SH.order, SH.group,
    SH.defaultValue, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf,
    SH.deactivated, SH.flags, SH.qualifiedMinCount, SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint, SH.ignoredProperties, SH.prefixes, SH.declare,
}
#: What makes the screen give up on the whole shapes graph: targets and rules it cannot
#: evaluate, and constraints that may read any part of the graph (so no neighbourhood of the
#: focus nodes is sure to hold what they read).
_UNSCOPED = (SH.target, SH.rule, SH.condition, SH.sparql, SH.expression, SH.js)

#: Datatypes Oxigraph can cast to: a literal of one of these is well formed iff the cast succeeds.
_CASTABLE = {XSD[name] for name in (
    "string", "boolean", "integer", "decimal", "float", "double", "date", "dateTime", "time",
    "gYear", "gYearMonth", "duration", "dayTimeDuration", "yearMonthDuration")}
_STRINGS = (XSD.string, RDF.langString)


def lexical_forms_kept(data: Iterable[ox.Triple | ox.Quad]) -> bool:
    """Whether Oxigraph keeps every literal of ``data`` as written (so that STR and sameTerm in
    the screen see what pyshacl sees): true unless some typed literal is not in its canonical
    form or a language tag is not in lower case."""
    literals = set()
    for t in data:
        term = t.object
        if isinstance(term, ox.Literal):
            if term.language:
                if term.language != term.language.lower():
                    return False
            elif term.datatype.value not in _STRINGS_STR:
                literals.add(term)
    probe = ox.Store()
    subject, predicate = ox.NamedNode("urn:ezgraph:probe"), ox.NamedNode("urn:ezgraph:value")
    probe.bulk_extend(ox.Quad(subject, predicate, lit) for lit in literals)
    return {q.object for q in probe} == literals


_STRINGS_STR = {str(XSD.string), str(RDF.langString)}


@dataclass
class Screen:
    """The screening query of every shape that has targets."""

    #: shape -> (update writing its focus nodes into the scratch graph, screening query).
    queries: dict[Node, tuple[str, str]] = field(default_factory=dict)

    def run(self, store: ox.Store) -> dict[Node, set[ox.NamedNode | ox.BlankNode]]:
        """The focus nodes each shape may fail (shapes with none left out).

        Each shape's focus nodes are found once and written to a scratch graph of ``store``,
        which the shape's query reads in every branch (a shape with 20 target classes and 13
        constraints would otherwise evaluate its targets 260 times); the graph is dropped after.
        The queries only read, so they run side by side: Oxigraph evaluates them without
        holding the GIL.
        """
        try:
            for targets, _ in self.queries.values():
                store.update(targets)
            with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
                found = pool.map(functools.partial(_focus_nodes, store),
                                 [query for _, query in self.queries.values()])
                flagged = {shape: nodes for shape, nodes in zip(self.queries, found, strict=True)
                           if nodes}
        finally:
            if _SCRATCH in store.named_graphs():
                store.remove_graph(_SCRATCH)
        return flagged


def _focus_nodes(store: ox.Store, query: str) -> set[ox.NamedNode | ox.BlankNode]:
    solutions = store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    return {solution["this"] for solution in solutions}


_SCRATCH = ox.NamedNode("urn:ezgraph:screen")
#: <shape> <focus> ?node: the shape as subject, since a focus node may be a literal.
_FOCUS = "<urn:ezgraph:focus>"


def compile_shapes(shapes: Graph, exact: bool = True) -> Screen | None:
    """The screen of ``shapes``, or None when it cannot be scoped (see the module docstring).

    ``exact`` is :func:`lexical_forms_kept` of the data.
    """
    if any(True for p in _UNSCOPED for _ in shapes.subject_objects(p)):
        return None
    if any(True for _ in shapes.subjects(RDF.type, SH.ConstraintComponent)):
        return None
    compiler = _Compiler(shapes, exact)
    screen = Screen()
    for shape in sorted(_targeted_shapes(shapes), key=str):
        if isinstance(shape, BNode):
            return None
        if _deactivated(shapes, shape):
            continue
        targets = _targets(shapes, shape)
        if not targets:
            continue
        domain = f"GRAPH <{_SCRATCH.value}> {{ {shape.n3()} {_FOCUS} ?this }}"
        branches = compiler.fails(shape, "?this", domain)
        if branches:
            write = (f"INSERT {{ GRAPH <{_SCRATCH.value}> {{ {shape.n3()} {_FOCUS} ?this }} }}"
                     f" WHERE {{ {' UNION '.join(targets)} }}")
            screen.queries[shape] = (write, "SELECT DISTINCT ?this WHERE {\n"
                                     + "\nUNION\n".join(f"{{ {b} }}" for b in branches) + "\n}")
    return screen


def _targeted_shapes(shapes: Graph) -> set[Node]:
    found = set()
    for predicate in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
        found.update(shapes.subjects(predicate, None))
    for cls in (RDFS.Class, OWL.Class):
        for node in shapes.subjects(RDF.type, cls):
            if any(True for t in (SH.NodeShape, SH.PropertyShape)
                   if (node, RDF.type, t) in shapes) or _has_constraints(shapes, node):
                found.add(node)  # implicit class target (SHACL 1.0 §2.1.3.3)
    return found


def _has_constraints(shapes: Graph, node: Node) -> bool:
    return any(p.startswith(str(SH)) and p not in _NOT_CONSTRAINTS
               for p in shapes.predicates(node, None))


def _targets(shapes: Graph, shape: Node) -> list[str]:
    """The shape's targets (SHACL 1.0 §2.1.3) as SPARQL patterns binding ?this."""
    patterns = []
    classes = set(shapes.objects(shape, SH.targetClass))
    if (shape, RDF.type, RDFS.Class) in shapes or (shape, RDF.type, OWL.Class) in shapes:
        classes.add(shape)
    for cls in sorted(classes):
        patterns.append(f"{{ ?this <{RDF.type}>/<{RDFS.subClassOf}>* {cls.n3()} }}")
    nodes = sorted(shapes.objects(shape, SH.targetNode))
    if nodes:
        patterns.append("{ VALUES ?this { " + " ".join(n.n3() for n in nodes) + " } }")
    for predicate in sorted(shapes.objects(shape, SH.targetSubjectsOf)):
        patterns.append(f"{{ ?this {predicate.n3()} [] }}")
    for predicate in sorted(shapes.objects(shape, SH.targetObjectsOf)):
        patterns.append(f"{{ [] {predicate.n3()} ?this }}")
    return patterns


def _deactivated(shapes: Graph, node: Node) -> bool:
    value = shapes.value(node, SH.deactivated)
    return isinstance(value, Literal) and value.value is True


class _Unsupported(Exception):
    """A path the screen cannot write in SPARQL."""


@dataclass
class _Compiler:
    shapes: Graph
    exact: bool
    _names: itertools.count = field(default_factory=itertools.count)

    def var(self) -> str:
        return f"?s{next(self._names)}"

    # Every method returns branches: group patterns that, evaluated on their own, bind ?this to
    # a focus node that may not conform. ``domain`` is a pattern binding ``node`` (and ?this).

    def fails(self, shape: Node, node: str, domain: str, depth: int = 0) -> list[str]:
        """Branches for ``node`` (bound by ``domain``) not conforming to ``shape``."""
        g = self.shapes
        if _deactivated(g, shape):
            return []
        if depth > 8:  # recursive shapes: SHACL leaves them undefined, pyshacl decides
            return [domain]
        path = g.value(shape, SH.path)
        branches: list[str] = []
        if path is not None:
            try:
                sparql_path = _path(g, path)
            except _Unsupported:
                return [domain]
            value = self.var()
            values = f"{domain} {node} {sparql_path} {value} ."
            branches += self._property_level(shape, node, domain, sparql_path, value, depth)
        else:
            value, values = node, domain
        for parameter, argument in sorted(g.predicate_objects(shape)):
            if not parameter.startswith(str(SH)) or parameter in _NOT_CONSTRAINTS:
                continue
            if parameter in _PROPERTY_LEVEL or (parameter == SH.hasValue and path is not None):
                if path is None:
                    branches.append(domain)  # not in SHACL Core on node shapes: pyshacl decides
                continue
            if parameter == SH.property and path is not None:
                branches.append(domain)
                continue
            branches += self._value_level(shape, parameter, argument, value, values, depth)
        return branches

    def _value_level(self, shape: Node, parameter: Node, argument: Node, v: str, values: str,
                     depth: int) -> list[str]:
        """Branches for a constraint that each value node ``v`` (bound by ``values``) must meet."""
        g = self.shapes
        if parameter == SH["class"]:
            return [f"{values} FILTER NOT EXISTS {{ {v} <{RDF.type}>/<{RDFS.subClassOf}>* "
                    f"{argument.n3()} }}"]
        if parameter == SH.datatype:
            return [self._datatype(argument, v, values)]
        if parameter == SH.nodeKind:
            return [f"{values} FILTER(!({_NODE_KINDS.get(argument, 'false').format(v=v)}))"]
        if parameter == SH.pattern:
            flags = g.value(shape, SH.flags)
            regex = f"REGEX(STR({v}), {Literal(str(argument)).n3()}" + (
                f", {Literal(str(flags)).n3()})" if flags is not None else ")")
            return [f"{values} FILTER(isBlank({v}) || {self._inexact(v)}"
                    f"!COALESCE({regex}, false))"]
        if parameter in (SH.minLength, SH.maxLength):
            op = ">=" if parameter == SH.minLength else "<="
            return [f"{values} FILTER(isBlank({v}) || {self._inexact(v)}"
                    f"!COALESCE(STRLEN(STR({v})) {op} {int(argument)}, false))"]
        if parameter in _COMPARISONS:
            return [f"{values} FILTER(!COALESCE({v} {_COMPARISONS[parameter]} {argument.n3()}, "
                    "false))"]
        if parameter == SH.languageIn:
            tags = ", ".join(Literal(str(t).lower()).n3() for t in Collection(g, argument))
            return [f"{values} FILTER(!isLiteral({v}) || !(LCASE(LANG({v})) IN ({tags})))"]
        if parameter == SH["in"]:
            members = " || ".join(f"sameTerm({v}, {m.n3()})" for m in Collection(g, argument))
            return [f"{values} FILTER({self._inexact(v)}!({members or 'false'}))"]
        if parameter == SH.hasValue:  # on a node shape: the focus node itself is the value
            return [f"{values} FILTER({self._inexact(v)}!sameTerm({v}, {argument.n3()}))"]
        if parameter in (SH.node, SH.property):
            return self.fails(argument, v, values, depth + 1)
        if parameter == SH["and"]:
            return [b for member in Collection(g, argument)
                    for b in self.fails(member, v, values, depth + 1)]
        if parameter == SH["or"]:
            # Fails when it fails every member: the join of "may fail" sets over-approximates it.
            parts = []
            for member in Collection(g, argument):
                member_branches = self.fails(member, v, values, depth + 1)
                if not member_branches:
                    return []
                project = f"?this {v}" if v != "?this" else "?this"
                union = _union(member_branches)
                parts.append(f"{{ SELECT DISTINCT {project} WHERE {{ {union} }} }}")
            return [" ".join(parts)] if parts else [values]
        return [values]  # sh:not, sh:xone, sh:closed, sh:sparql, sh:expression, unknown

    def _property_level(self, shape: Node, focus: str, domain: str, path: str, value: str,
                        depth: int) -> list[str]:
        """Branches for the constraints on the set of values of a property shape."""
        g = self.shapes
        branches = []
        counts = []
        for parameter, op in ((SH.minCount, "<"), (SH.maxCount, ">")):
            bound = g.value(shape, parameter)
            if bound is not None:
                counts.append(f"COUNT(DISTINCT {value}) {op} {int(bound)}")
        if counts:
            branches.append(self._grouped(focus, domain, f"OPTIONAL {{ {focus} {path} {value} }}",
                                          " || ".join(counts)))
        values = f"{domain} {focus} {path} {value} ."
        if _true(g.value(shape, SH.uniqueLang)):
            other = self.var()
            branches.append(f"{values} {focus} {path} {other} . FILTER(!sameTerm({value}, "
                            f"{other}) && LANG({value}) != \"\" && "
                            f"LCASE(LANG({value})) = LCASE(LANG({other})))")
        qualified = g.value(shape, SH.qualifiedValueShape)
        if qualified is not None:
            if _true(g.value(shape, SH.qualifiedValueShapesDisjoint)):
                branches.append(domain)
            minimum = g.value(shape, SH.qualifiedMinCount)
            if minimum is not None:
                failing = self.fails(qualified, value, values, depth + 1)
                conforming = f"FILTER NOT EXISTS {{ {_union(failing)} }}" if failing else ""
                branches.append(self._grouped(
                    focus, domain, f"OPTIONAL {{ {focus} {path} {value} {conforming} }}",
                    f"COUNT(DISTINCT {value}) < {int(minimum)}"))
            maximum = g.value(shape, SH.qualifiedMaxCount)
            if maximum is not None:  # conforming values are at most all values
                branches.append(self._grouped(focus, domain, f"{focus} {path} {value} .",
                                              f"COUNT(DISTINCT {value}) > {int(maximum)}"))
        for parameter, other_property in sorted(g.predicate_objects(shape)):
            if parameter not in _PAIRS:
                continue
            other = self.var()
            others = f"{focus} {other_property.n3()} {other} ."
            if parameter == SH.equals:
                branches.append(f"{values} FILTER NOT EXISTS {{ {focus} {other_property.n3()} "
                                f"{value} }}")
                branches.append(f"{domain} {others} FILTER NOT EXISTS {{ {focus} {path} {other} }}")
            elif parameter == SH.disjoint:
                branches.append(f"{values} {focus} {other_property.n3()} {value} .")
            else:
                op = "<" if parameter == SH.lessThan else "<="
                branches.append(f"{values} {others} "
                                f"FILTER(!COALESCE({value} {op} {other}, false))")
                continue
            if not self.exact:  # term equality on values Oxigraph may have rewritten
                branches.append(f"{values} FILTER({self._inexact(value)}false)")
                branches.append(f"{domain} {others} FILTER({self._inexact(other)}false)")
        has_value = list(g.objects(shape, SH.hasValue))
        for wanted in has_value:
            branches.append(f"{domain} FILTER NOT EXISTS {{ {focus} {path} {wanted.n3()} }}")
            if not self.exact:
                branches.append(f"{values} FILTER({self._inexact(value)}false)")
        return branches

    def _grouped(self, focus: str, domain: str, pattern: str, having: str) -> str:
        project = "?this" if focus == "?this" else f"?this {focus}"
        return (f"{{ SELECT {project} WHERE {{ {domain} {pattern} }} GROUP BY {project} "
                f"HAVING ({having}) }}")

    def _datatype(self, datatype: Node, v: str, values: str) -> str:
        if datatype == RDF.langString:
            return f"{values} FILTER(!isLiteral({v}) || LANG({v}) = \"\")"
        check = f"!isLiteral({v}) || LANG({v}) != \"\" || DATATYPE({v}) != {datatype.n3()}"
        if datatype == XSD.string:
            return f"{values} FILTER({check})"
        if datatype in _CASTABLE:
            cast = self.var()
            return (f"{values} BIND({datatype.n3()}({v}) AS {cast}) "
                    f"FILTER({check} || !BOUND({cast}))")
        return f"{values} FILTER(isLiteral({v}) || {check})"  # well-formedness: pyshacl decides

    def _inexact(self, v: str) -> str:
        """A disjunct naming the values whose lexical form Oxigraph may have changed."""
        if self.exact:
            return ""
        strings = ", ".join(t.n3() for t in _STRINGS)
        return f"(isLiteral({v}) && !(DATATYPE({v}) IN ({strings}))) || "


_PROPERTY_LEVEL = {SH.minCount, SH.maxCount, SH.uniqueLang, SH.qualifiedValueShape, SH.equals,
                   SH.disjoint, SH.lessThan, SH.lessThanOrEquals}
_PAIRS = {SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals}
_COMPARISONS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">",
                SH.maxExclusive: "<"}
_NODE_KINDS = {
    SH.IRI: "isIRI({v})", SH.BlankNode: "isBlank({v})", SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "isBlank({v}) || isIRI({v})",
    SH.BlankNodeOrLiteral: "isBlank({v}) || isLiteral({v})",
    SH.IRIOrLiteral: "isIRI({v}) || isLiteral({v})",
}


def _union(branches: list[str]) -> str:
    return " UNION ".join(f"{{ {b} }}" for b in branches)


def _true(value: Node | None) -> bool:
    return isinstance(value, Literal) and value.value is True


def _path(g: Graph, path: Node) -> str:
    """A SHACL property path (SHACL 1.0 §2.3.1) in SPARQL syntax."""
    if isinstance(path, URIRef):
        return path.n3()
    if not isinstance(path, BNode):
        raise _Unsupported(path)
    if g.value(path, RDF.first) is not None:
        return "(" + "/".join(_path(g, step) for step in Collection(g, path)) + ")"
    for predicate, template in ((SH.inversePath, "^{}"), (SH.zeroOrMorePath, "{}*"),
                                (SH.oneOrMorePath, "{}+"), (SH.zeroOrOnePath, "{}?")):
        inner = g.value(path, predicate)
        if inner is not None:
            return "(" + template.format(_path(g, inner)) + ")"
    alternatives = g.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_path(g, step) for step in Collection(g, alternatives)) + ")"
    raise _Unsupported(path)


# -- what pyshacl then needs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reach:
    """How far from a focus node validation reads: ``depth`` steps along ``predicates`` (None:
    any, as sh:closed reads every property), and the predicates it follows backwards."""

    depth: int
    inverse: frozenset[URIRef]
    predicates: frozenset[URIRef] | None


def reach(shapes: Graph, of: Iterable[Node] | None = None) -> Reach | None:
    """What validating against the shapes ``of`` (default: every targeted shape) reads, or None
    when a path has no bound (``*``, ``+``)."""
    inverse: set[URIRef] = set()
    # rdf:type for sh:class (rdfs:subClassOf is always taken), and the paths and pairs met.
    predicates: set[URIRef] = {URIRef(RDF.type)}
    closed = False

    def path_length(path: Node) -> int | None:
        if isinstance(path, URIRef):
            predicates.add(path)
            return 1
        if shapes.value(path, RDF.first) is not None:
            steps = [path_length(step) for step in Collection(shapes, path)]
            return None if None in steps else sum(steps)  # type: ignore[arg-type]
        inner = shapes.value(path, SH.inversePath)
        if isinstance(inner, URIRef):
            inverse.add(inner)
            predicates.add(inner)
            return 1
        if inner is not None or shapes.value(path, SH.zeroOrMorePath) is not None \
                or shapes.value(path, SH.oneOrMorePath) is not None:
            return None
        inner = shapes.value(path, SH.zeroOrOnePath)
        if inner is not None:
            return path_length(inner)
        alternatives = shapes.value(path, SH.alternativePath)
        if alternatives is not None:
            steps = [path_length(step) for step in Collection(shapes, alternatives)]
            return None if None in steps else max(steps, default=0)  # type: ignore[type-var]
        return None

    def shape_depth(shape: Node, seen: frozenset[Node]) -> int | None:
        """Steps along paths from the shape's focus node to the farthest value nodes it reads
        (whose own triples, such as their types for sh:class, come with them)."""
        nonlocal closed
        if shape in seen:
            return 0  # recursion: pyshacl stops there too
        seen = seen | {shape}
        closed = closed or _true(shapes.value(shape, SH.closed))
        below = 0
        for parameter, argument in shapes.predicate_objects(shape):
            nested: list[Node] = []
            if parameter in _PAIRS and isinstance(argument, URIRef):
                predicates.add(argument)
            elif parameter in (SH.node, SH.property, SH.qualifiedValueShape, SH["not"]):
                nested = [argument]
            elif parameter in (SH["and"], SH["or"], SH.xone):
                nested = list(Collection(shapes, argument))
            for member in nested:
                depth = shape_depth(member, seen)
                if depth is None:
                    return None
                below = max(below, depth)
        path = shapes.value(shape, SH.path)
        if path is None:
            return below
        length = path_length(path)
        return None if length is None else length + below

    depths = [shape_depth(shape, frozenset())
              for shape in (_targeted_shapes(shapes) if of is None else of)]
    if None in depths:
        return None
    return Reach(max(depths, default=0), frozenset(inverse),  # type: ignore[type-var]
                 None if closed else frozenset(predicates))


def neighbourhood(store: ox.Store, data: Iterable[ox.Triple | ox.Quad],
                  scopes: Iterable[tuple[Iterable[ox.Term], Reach]],
                  exact: bool = True) -> list[ox.Triple]:
    """The triples validation reads from each scope's focus nodes: those along the scope's
    predicates of every node up to its depth in steps (backwards along its inverse predicates
    too, with the triples that lead there), and the class hierarchy.

    With ``exact`` (:func:`lexical_forms_kept`) they are the store's triples; otherwise the
    same triples are taken from ``data``, since the store has rewritten some literals."""
    default = ox.DefaultGraph()
    found: set[ox.Triple] = set()
    for focus_nodes, within in scopes:
        forward = ([None] if within.predicates is None
                   else [ox.NamedNode(str(p)) for p in sorted(within.predicates)])
        inverse = [ox.NamedNode(str(p)) for p in sorted(within.inverse)]
        # A literal focus node (sh:targetObjectsOf, sh:targetNode) is no subject.
        frontier = [node for node in focus_nodes if not isinstance(node, ox.Literal)]
        seen = set(frontier)
        for level in range(within.depth + 1):
            reached = []
            for node in frontier:
                steps = [q for p in forward for q in store.quads_for_pattern(node, p, None,
                                                                               default)]
                back = [q for p in inverse for q in store.quads_for_pattern(None, p, node,
                                                                              default)]
                found.update(ox.Triple(q.subject, q.predicate, q.object) for q in steps + back)
                if level == within.depth:
                    continue
                for term in [q.object for q in steps] + [q.subject for q in back]:
                    if not isinstance(term, ox.Literal) and term not in seen:
                        seen.add(term)
                        reached.append(term)
            frontier = reached
    sub_class_of = ox.NamedNode(str(RDFS.subClassOf))
    found.update(ox.Triple(q.subject, q.predicate, q.object)
                 for q in store.quads_for_pattern(None, sub_class_of, None, default))
    if exact:
        return sorted(found, key=str)
    # The same triples with the literals as written: keyed by subject and predicate, which
    # the store does not rewrite, and by the object where that is no literal.
    keys = {(t.subject, t.predicate, None if isinstance(t.object, ox.Literal) else t.object)
            for t in found}
    return [ox.Triple(t.subject, t.predicate, t.object) for t in data
            if (t.subject, t.predicate,
                None if isinstance(t.object, ox.Literal) else t.object) in keys]


def retarget(shapes: Graph, flagged: dict[Node, set]) -> Graph:
    """``shapes`` with each targeted shape's targets replaced by the focus nodes it may fail."""
    focused = Graph()
    targeted = _targeted_shapes(shapes)
    for s, p, o in shapes:
        if s in targeted and (p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf,
                                    SH.targetObjectsOf)
                              or (p == RDF.type and o in (RDFS.Class, OWL.Class))):
            continue
        focused.add((s, p, o))
    for shape, nodes in flagged.items():
        for node in nodes:
            focused.add((shape, SH.targetNode, to_rdflib_term(node)))
    return focused
