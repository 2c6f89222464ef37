"""SHACL validation with pyshacl, and the report as RDF and as text a person reads."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox
import pyshacl
from pyoxigraph import (
    CanonicalizationAlgorithm,
    Dataset,
    Quad,
    Triple,
)
from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF, SH

from ezgraph.heap import release_free_memory
from ezgraph.namespaces import PREFIXES
from ezgraph.rdfterms import to_oxigraph_term, to_rdflib_graph
from ezgraph.validate import screen, sparql

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class Result:
    severity: str  # Violation, Warning or Info
    focus: str
    path: str
    value: str
    message: str
    shape: str

    def __str__(self) -> str:
        parts = [f"{self.severity}: {self.message}", f"    focus: {_short(self.focus)}"]
        if self.path:
            parts.append(f"    path:  {self.path}")
        if self.value:
            parts.append(f"    value: {_short(self.value)}")
        if self.shape:
            parts.append(f"    shape: {_short(self.shape)}")
        return "\n".join(parts)


@dataclass(frozen=True)
class Outcome:
    conforms: bool
    results: tuple[Result, ...]
    #: The sh:ValidationReport, blank nodes canonicalized so that equal reports are equal bytes.
    report: tuple[Triple, ...]

    def count(self, severity: str) -> int:
        return sum(1 for result in self.results if result.severity == severity)

    @property
    def violations(self) -> int:
        return self.count("Violation")

    def summary(self) -> str:
        verdict = "conforms" if self.violations == 0 else "does NOT conform"
        return (f"The data {verdict}: {self.violations} violation(s), "
                f"{self.count('Warning')} warning(s), {self.count('Info')} info(s).")

    def text(self) -> str:
        lines = ["ezgraph SHACL validation report", "", self.summary(), ""]
        lines += [str(result) + "\n" for result in self.results]
        return "\n".join(lines).rstrip() + "\n"


def validate(data: Iterable[Triple | Quad], shapes: Iterable[Triple | Quad]) -> Outcome:
    """Validate ``data`` (records, ontology and vocabularies together) against ``shapes``.

    No inference: the ontology's subclass axioms are in the data graph, which is what SHACL's
    class targets follow, and what a user's validator sees when it loads the dump.

    pyshacl checks the core constraints, on the focus nodes that may fail them only: queries
    in Oxigraph name those (:mod:`ezgraph.validate.screen`), and pyshacl gets the part of the
    graph they reach. The SHACL-SPARQL constraints it would run once per focus node run once per
    shape in Oxigraph (:mod:`ezgraph.validate.sparql`), and their results join pyshacl's report.
    The report equals :func:`validate_with_pyshacl`'s.
    """
    data = list(data)
    shapes_graph = to_rdflib_graph(shapes)
    fast, core_shapes = sparql.plan(shapes_graph)
    store = sparql.data_store(data)
    exact = screen.lexical_forms_kept(data)
    whole_graph = functools.cache(lambda: to_rdflib_graph(data))
    scope = _screened(store, data, core_shapes, exact)
    if scope is None:
        report_graph = _pyshacl(whole_graph(), core_shapes)
    else:
        report_graph = _pyshacl(*scope, inplace=True)
    # The store read through rdflib is the data as written when Oxigraph keeps every literal
    # as it is; otherwise rdflib needs its own copy.
    rdflib_data = functools.partial(sparql.rdflib_view, store) if exact else whole_graph
    _merge(report_graph, sparql.evaluate(store, fast, shapes_graph, rdflib_data))
    # The report is all that is left to read: the stores and graphs go before it is made
    # canonical, so that its copies do not come on top of them (300 MB at 1M triples).
    del store, scope, whole_graph, rdflib_data
    release_free_memory()
    return _outcome(report_graph)


def _screened(store: ox.Store, data: list, shapes: Graph, exact: bool
              ) -> tuple[Graph, Graph] | None:
    """The data pyshacl needs to see when it only visits the focus nodes the screen names
    (:mod:`ezgraph.validate.screen`), and the shapes retargeted to those nodes; None when the
    shapes cannot be screened. ``exact``: Oxigraph keeps every literal of ``data`` as written."""
    compiled = screen.compile_shapes(shapes, exact)
    if screen.reach(shapes) is None or compiled is None:
        return None
    flagged = compiled.run(store)
    scopes = [(nodes, screen.reach(shapes, [shape])) for shape, nodes in flagged.items()]
    triples = screen.neighbourhood(store, data, scopes, exact) if flagged else []  # type: ignore[arg-type]
    return to_rdflib_graph(triples), screen.retarget(shapes, flagged)


def _pyshacl(data_graph: Graph, shapes_graph: Graph, inplace: bool = False) -> Graph:
    # inplace: the graph is our own, and without SHACL rules (which the screen refuses)
    # nothing changes it.
    _, report_graph, _ = pyshacl.validate(
        data_graph, shacl_graph=shapes_graph, inference="none", abort_on_first=False,
        allow_warnings=True, meta_shacl=False, advanced=True, js=False, inplace=inplace)
    return report_graph


def validate_with_pyshacl(data: Iterable[Triple | Quad],
                          shapes: Iterable[Triple | Quad]) -> Outcome:
    """The same validation by pyshacl alone over the whole graph: slow, kept as the reference
    the fast path is tested against."""
    return _outcome(_pyshacl(to_rdflib_graph(data), to_rdflib_graph(shapes)))


def _merge(report_graph: Graph, results: Iterable[tuple[BNode, list]]) -> None:
    """Add results to pyshacl's report, and set sh:conforms as pyshacl would have with them
    (allow_warnings: only violations make the data non-conforming)."""
    report = report_graph.value(None, RDF.type, SH.ValidationReport, any=False)
    if report is None:
        report = next(report_graph.subjects(RDF.type, SH.ValidationReport))
    conforms = report_graph.value(report, SH.conforms)
    violated = conforms is not None and not conforms.toPython()
    for node, triples in results:
        report_graph.add((report, SH.result, node))
        for triple in triples:
            report_graph.add(triple)
        violated = violated or (node, SH.resultSeverity, SH.Violation) in report_graph
    report_graph.set((report, SH.conforms, Literal(not violated)))


def _outcome(report_graph: Graph) -> Outcome:
    conforms = report_graph.value(None, SH.conforms)
    triples = list(report_graph)
    report = _canonical(triples)
    index = _Index(triples)
    results = tuple(sorted(_results(index),
                           key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.focus, r.path,
                                          r.message, r.value, r.shape)))
    return Outcome(bool(conforms is not None and conforms.toPython())
                   and not any(r.severity == "Violation" for r in results), results, report)


class _Index:
    """The report's objects by subject and predicate, read in one pass: at 1M triples a report
    holds ~30,000 results, and rdflib's lookups (eight or more per result) took 6 s of 9."""

    def __init__(self, triples: Iterable[tuple]):
        self._objects: dict[object, dict[object, list]] = {}
        for s, p, o in triples:
            self._objects.setdefault(s, {}).setdefault(p, []).append(o)

    def objects(self, subject, predicate) -> list:
        return self._objects.get(subject, {}).get(predicate, [])

    def objects_of_all(self, predicate) -> list:
        """The objects of ``predicate`` whatever the subject."""
        return [o for by_predicate in self._objects.values()
                for o in by_predicate.get(predicate, ())]

    def value(self, subject, predicate):
        found = self.objects(subject, predicate)
        return found[0] if found else None

    def items(self, head) -> Iterable:
        """The members of the RDF list starting at ``head``."""
        while head is not None and head != RDF.nil:
            yield self.value(head, RDF.first)
            head = self.value(head, RDF.rest)


def _results(report: _Index) -> Iterable[Result]:
    for node in report.objects_of_all(SH.result):
        def one(predicate, node=node) -> str:
            value = report.value(node, predicate)
            return "" if value is None else str(value)

        severity = one(SH.resultSeverity).rsplit("#", 1)[-1]
        messages = sorted(str(m) for m in report.objects(node, SH.resultMessage))
        english = [m for m, lang in ((str(m), getattr(m, "language", None))
                                     for m in report.objects(node, SH.resultMessage))
                   if lang in (None, "en")]
        message = (sorted(english) or messages or ["(no message)"])[0]
        path = report.value(node, SH.resultPath)
        yield Result(severity, one(SH.focusNode), _path_text(report, path), one(SH.value),
                     message, "" if isinstance(report.value(node, SH.sourceShape), BNode)
                     else one(SH.sourceShape))


def _path_text(report: _Index, path) -> str:
    """A SHACL property path in SPARQL syntax; blank node labels would make reports differ."""
    if path is None:
        return ""
    if not isinstance(path, BNode):
        return _short(str(path))
    inverse = report.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path_text(report, inverse)
    members = report.value(path, SH.alternativePath)
    if members is not None:
        return "(" + " | ".join(_path_text(report, m) for m in report.items(members)) + ")"
    for predicate, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                              (SH.zeroOrOnePath, "?")):
        inner = report.value(path, predicate)
        if inner is not None:
            return _path_text(report, inner) + suffix
    if report.value(path, RDF.first) is not None:
        return " / ".join(_path_text(report, m) for m in report.items(path))
    return "(path)"


def _canonical(triples: Iterable[tuple]) -> tuple[Triple, ...]:
    # A report repeats its terms (severities, shapes, paths, focus nodes): each is converted once.
    converted: dict[object, ox.NamedNode | ox.BlankNode | ox.Literal] = {}

    def term(node):
        found = converted.get(node)
        if found is None:
            found = converted[node] = to_oxigraph_term(node)
        return found

    dataset = Dataset(Quad(term(s), term(p), term(o)) for s, p, o in triples)
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return tuple(sorted((Triple(q.subject, q.predicate, q.object) for q in dataset), key=str))


def _short(iri: str) -> str:
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri

