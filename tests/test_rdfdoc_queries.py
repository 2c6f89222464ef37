"""The description queries behind Linked Data documents and pages, against their definition.

rdfdoc writes each query as a UNION of branches that all start from the described IRI, so that
Oxigraph answers from its indexes at any size. This checks, on the web fixture dataset (zones,
observations, quotes, ontology terms, SHACL shapes with blank-node lists), that they return
exactly what the plain definition returns: the IRI and the blank nodes reachable from it, joined
once with ``?s ?p ?o``, and label lookups written with ``VALUES``. The plain form reads the whole
graph for every lookup, which is why it is not what the server runs.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from ezgraph.store.worker import DescribeJob, run_describe
from ezgraph.web import rdfdoc
from ezgraph.web.rdfdoc import (
    BLANK_NODE_DEPTH,
    LABEL_PREDICATES,
    QUERY_PREFIXES,
    SCHEMA_NS,
    prefix_block,
    sparql_iri,
)

DATASET = Path(__file__).parent / "fixtures_web" / "dataset.trig"
BASE = "https://w3id.org/ezgraph/"


def _values(variable: str, iris: tuple[str, ...]) -> str:
    return f"VALUES ?{variable} {{ " + " ".join(f"<{iri}>" for iri in iris) + " }"


def _reach(iri: str, variable: str) -> str:
    subject = sparql_iri(iri)
    branches = [f"{{ BIND({subject} AS ?{variable}) }}"]
    for depth in range(1, BLANK_NODE_DEPTH + 1):
        steps, previous = [], subject
        for level in range(1, depth + 1):
            node = f"?{variable}" if level == depth else f"?{variable}_n{level}"
            hop = f"?{variable}_h{level}"
            # the first step also reaches the IRIs "iri#…" (the document describes them)
            fragment = f"|| STRSTARTS(STR({hop}), \"{iri}#\")" if level == 1 else ""
            steps.append(f"{previous} ?{variable}_p{level} {hop} . "
                         f"FILTER(isBlank({hop}) {fragment}) "
                         f"{hop} rdf:rest* {node} .")
            previous = node
        branches.append("{ " + " ".join(steps) + " }")
    return "{ " + " UNION ".join(branches) + " }"


def reference_document(iri: str) -> str:
    node = sparql_iri(iri)
    labels = _values("p", LABEL_PREDICATES)
    return f"""{prefix_block(BASE, (*QUERY_PREFIXES, "ez"))}
CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ {_reach(iri, "s")} ?s ?p ?o . }}
  UNION {{ VALUES ?o {{ {node} }} ?s ?p ?o . }}
  UNION {{ {{ {_reach(iri, "n")} {{ ?n ?s ?linked }} UNION {{ ?n ?linked ?s }} }}
            UNION {{ ?s ?linked {node} }} UNION {{ ?linked ?s {node} }}
          ?s ?p ?o . {labels} FILTER(isLiteral(?o)) }}
}}"""


def reference_page(iri: str) -> str:
    node = sparql_iri(iri)
    observed = f"?obs sosa:hasFeatureOfInterest {node}"
    labels = _values("p", LABEL_PREDICATES)
    evidence = f"{{ {node} ez:evidence ?quote }} UNION {{ {observed} . ?obs ez:evidence ?quote }}"
    document = reference_document(iri).split("WHERE {", 1)[1].rsplit("}", 1)[0]
    return f"""{prefix_block(BASE, (*QUERY_PREFIXES, "ez"))}
CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ {document} }}
  UNION {{ ?s sosa:hasFeatureOfInterest {node} . ?s ?p ?o . }}
  UNION {{ {observed} . ?obs ?linked ?s . ?s ?p ?o . {labels} FILTER(isLiteral(?o)) }}
  UNION {{ {evidence.replace("?quote", "?s")} ?s ?p ?o . }}
  UNION {{ {evidence} ?quote prov:wasQuotedFrom ?s . ?s ?p ?o .
           {_values("p", (*LABEL_PREDICATES, SCHEMA_NS + "url"))} }}
  UNION {{ {node} sh:property ?s . FILTER(isIRI(?s)) ?s ?p ?o . }}
  UNION {{ {node} sh:property ?shape . FILTER(isIRI(?shape))
           ?shape ?p1 ?h1 . FILTER(isBlank(?h1)) ?h1 rdf:rest* ?s . ?s ?p ?o . }}
  UNION {{ {node} sh:property ?shape . FILTER(isIRI(?shape)) ?shape ?linked ?s .
           ?s ?p ?o . {labels} FILTER(isLiteral(?o)) }}
  UNION {{ {{ {node} ?linked ?s }} UNION {{ ?s ?linked {node} }}
           ?s rdf:type ?o . BIND(rdf:type AS ?p) }}
}}"""


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    store.load(path=DATASET, format=ox.RdfFormat.TRIG)
    return store


def _iris(store: ox.Store) -> list[str]:
    """Every IRI in subject, predicate, object or graph position of the fixture dataset."""
    found = set()
    for quad in store:
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
    return sorted(found)


def _answer(store: ox.Store, query: str) -> set[str]:
    return {str(triple) for triple in store.query(query, use_default_graph_as_union=True)}


def test_the_fixture_has_what_the_branches_are_about(store: ox.Store) -> None:
    # Blank-node chains three deep (shapes' sh:in lists), observations and quotes: otherwise the
    # comparisons below would not exercise those branches.
    iris = _iris(store)
    assert len(iris) > 50
    shapes = _answer(store, rdfdoc.document_query(BASE + "shapes/ZoneShape", BASE))
    assert any(line.startswith("_:") for line in shapes)
    page = _answer(store, rdfdoc.page_query(BASE + "id/zone/cetdz", BASE))
    assert any("wasQuotedFrom" in line for line in page)
    assert any("hasFeatureOfInterest" in line for line in page)


def test_document_query_returns_what_its_definition_does(store: ox.Store) -> None:
    differing = [iri for iri in _iris(store)
                 if _answer(store, rdfdoc.document_query(iri, BASE))
                 != _answer(store, reference_document(iri))]
    assert differing == []


def test_page_query_returns_what_its_definition_does(store: ox.Store) -> None:
    differing = [iri for iri in _iris(store)
                 if _answer(store, rdfdoc.page_query(iri, BASE))
                 != _answer(store, reference_page(iri))]
    assert differing == []


def test_page_query_of_a_zone_is_not_empty(store: ox.Store) -> None:
    answer = _answer(store, rdfdoc.page_query(BASE + "id/zone/cetdz", BASE))
    assert len(answer) > 50


def _described(store: ox.Store, iri: str) -> set[str] | None:
    outcome = run_describe(store, DescribeJob(
        iri=iri, graph_media_type="application/n-triples", label_predicates=LABEL_PREDICATES,
        blank_node_depth=BLANK_NODE_DEPTH, max_triples=100_000))
    assert outcome.status == "ok", outcome.message
    if outcome.form is None:
        return None
    return {str(triple) for triple in ox.parse(outcome.body, format=ox.RdfFormat.N_TRIPLES)}


def test_the_embedded_store_describes_from_its_indexes_what_the_definition_returns(
        store: ox.Store) -> None:
    # The query workers answer documents without the CONSTRUCT (OxigraphStore.describe): the
    # same triples, for every IRI of the fixture, blank-node chains and lists included.
    differing = [iri for iri in _iris(store)
                 if _described(store, iri) != _answer(store, reference_document(iri))]
    assert differing == []
    assert any(line.startswith("_:") for line in _described(store, BASE + "shapes/ZoneShape"))


def test_the_embedded_store_tells_unknown_iris_from_known_ones(store: ox.Store) -> None:
    assert _described(store, BASE + "id/zone/atlantis") is None
    assert _described(store, "http://a.example/<bad>") is None
    # Known only as a predicate or only as a graph name: an empty document, not a 404.
    predicate = next(q.predicate.value for q in store if not any(
        store.quads_for_pattern(q.predicate, None, None, None)) and not any(
        store.quads_for_pattern(None, None, q.predicate, None)))
    graph = next(q.graph_name.value for q in store if isinstance(q.graph_name, ox.NamedNode)
                 and not any(store.quads_for_pattern(q.graph_name, None, None, None))
                 and not any(store.quads_for_pattern(None, None, q.graph_name, None)))
    for iri in (predicate, graph):
        assert _described(store, iri) is not None, iri
        assert run_describe(store, DescribeJob(iri=iri, graph_media_type=None)).form is not None
    assert run_describe(store, DescribeJob(iri=BASE + "id/x", graph_media_type=None)).form is None


def test_the_iris_under_a_documents_fragment_are_described_with_it() -> None:
    # A distribution's checksum is <dist#sha256>: dereferencing it asks for <dist>'s document.
    # Literals, other documents' fragments and a hash IRI's own hash IRIs are not followed.
    data = ox.Store()
    data.load(input=b"""
        @prefix ex: <http://example.org/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:dist ex:checksum <http://example.org/dist#sha256> ; ex:note "http://example.org/dist#x" ;
            ex:next <http://example.org/dist2#sha256> .
        <http://example.org/dist#sha256> ex:value "ab12" ; ex:algorithm ex:sha256 ;
            ex:part [ ex:bits 256 ] .
        <http://example.org/dist2#sha256> ex:value "cd34" .
        ex:sha256 rdfs:label "SHA-256" .
        """, format=ox.RdfFormat.TURTLE)
    described = _described(data, "http://example.org/dist")
    assert described == _answer(data, reference_document("http://example.org/dist"))
    # the CONSTRUCT a remote store runs for the same document
    assert _answer(data, rdfdoc.document_query("http://example.org/dist", BASE)) == described
    assert any('"ab12"' in line for line in described)
    assert any('"SHA-256"' in line for line in described)  # the label of what it names
    assert any("ex:bits" in line or "/bits>" in line for line in described)
    assert not any('"cd34"' in line for line in described)
    hashed = "http://example.org/dist#sha256"
    assert _described(data, hashed) == _answer(data, reference_document(hashed))


def test_blank_nodes_are_followed_as_deep_as_the_definition_says() -> None:
    # Deeper than the fixture's shapes: a list of blank nodes inside a blank node, whose own
    # blank node is one level too deep to be part of the description.
    deep = ox.Store()
    deep.load(input=b"""
        @prefix ex: <http://example.org/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:a ex:p [ ex:q ( [ ex:r [ ex:s "four deep" ; ex:t ex:b ] ] ex:c ) ] .
        ex:b rdfs:label "b" . ex:c rdfs:label "c" . ex:r rdfs:label "r" . ex:s rdfs:label "s" .
        ex:d ex:p ex:a . ex:p rdfs:label "p" .
        """, format=ox.RdfFormat.TURTLE)
    described = _described(deep, "http://example.org/a")
    assert described == _answer(deep, reference_document("http://example.org/a"))
    assert any('"r"' in line for line in described)
    assert not any("four deep" in line for line in described)
