"""At 100k triples, the build's validation gives the report of a whole-graph pyshacl run.

Generated data of about 100k triples (60 zones, bench/generate.py) is broken in many places
(every predicate once: an IRI where a literal belongs and the other way round; values dropped
and doubled; every fifth figure in another unit than its indicator's), then validated by the
build (the screen names the focus nodes, pyshacl visits only those, on the part of the graph
they reach) and by one plain pyshacl run over the whole graph.
The two reports must be equal triple for triple after blank node canonicalization.

The shapes are the project's core shapes: the eight SHACL-SPARQL constraints are taken out,
because a plain pyshacl run evaluates those in rdflib once per focus node and does not finish
at this size (over 15 minutes); their path (once per shape in Oxigraph) is compared with plain
pyshacl on one zone with every rule broken, in tests/test_validate_fast.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, parse

from bench.generate import write
from ezgraph.publish.build import BuildConfig, Graphs, assemble
from ezgraph.rdfterms import to_rdflib_graph
from ezgraph.validate import sparql
from ezgraph.validate.shacl import validate, validate_with_pyshacl

ROOT = Path(__file__).resolve().parents[1]
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Graphs:
    data_dir = tmp_path_factory.mktemp("data-100k")
    write(data_dir, zones=60)
    return assemble(BuildConfig(data_dir=data_dir, ontology_dir=ROOT / "ontology",
                                shapes_dir=ROOT / "shapes"))


def _broken(quads: list[Quad]) -> list[Quad]:
    """Each predicate broken once on its first subject, plus counts broken on a few more."""
    seen: set[str] = set()
    changed: dict[Quad, Quad] = {}
    dropped: set[Quad] = set()
    extra: list[Quad] = []
    for index, q in enumerate(quads):
        predicate = q.predicate.value
        if predicate == RDF_TYPE or predicate in seen:
            continue
        seen.add(predicate)
        wrong = (NamedNode("https://example.org/nowhere") if isinstance(q.object, Literal)
                 else Literal("not an IRI"))
        changed[q] = Quad(q.subject, q.predicate, wrong, q.graph_name)
        # The next subject with this predicate loses it (sh:minCount), the one after gets the
        # value twice with another language or lexical form (sh:maxCount, sh:uniqueLang).
        later = [r for r in quads[index + 1:index + 2000] if r.predicate == q.predicate
                 and r.subject != q.subject]
        if later:
            dropped.update(r for r in later if r.subject == later[0].subject)
        twice = [r for r in later if r.subject != later[0].subject][:1]
        for r in twice:
            if isinstance(r.object, Literal):
                other = Literal(r.object.value + " (again)", language=r.object.language) \
                    if r.object.language else Literal(r.object.value + "0")
            else:
                other = NamedNode(r.object.value + "-again")
            extra.append(Quad(r.subject, r.predicate, other, r.graph_name))
    return [changed.get(q, q) for q in quads if q not in dropped] + extra


QUDT_UNIT = "http://qudt.org/schema/qudt/unit"
UNIT = "http://qudt.org/vocab/unit/"


def _unit_slips(quads: list[Quad]) -> list[Quad]:
    """Every fifth figure in another unit than its indicator's (a Warning each, from a
    path-based sh:equals): the generated data has few such slips, the comparison wants many."""
    figures = 0
    slipped = []
    for q in quads:
        if q.predicate.value == QUDT_UNIT:
            figures += 1
            if figures % 5 == 0:
                other = "PERCENT" if q.object.value == UNIT + "CCY_CNY" else "CCY_CNY"
                q = Quad(q.subject, q.predicate, NamedNode(UNIT + other), q.graph_name)
        slipped.append(q)
    return slipped


def test_report_at_100k_triples_equals_a_whole_graph_pyshacl_run(generated: Graphs) -> None:
    data = _broken(_unit_slips(generated.data)) + generated.ontology
    assert len(data) >= 95_000
    _, core = sparql.plan(to_rdflib_graph(generated.shapes))
    shapes = list(parse(core.serialize(format="nt", encoding="utf-8"),
                        format=RdfFormat.N_TRIPLES))

    fast = validate(data, shapes)
    reference = validate_with_pyshacl(data, shapes)

    assert fast.report == reference.report
    assert fast.results == reference.results
    # The breaks reached many kinds of constraint, at both severities.
    components = Counter(t.object.value.rsplit("#", 1)[-1] for t in reference.report
                         if t.predicate.value.endswith("sourceConstraintComponent"))
    assert len(components) >= 6, components
    assert fast.violations >= 50 and fast.count("Warning") >= 1000
