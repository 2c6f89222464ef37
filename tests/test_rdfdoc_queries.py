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
            steps.append(f"{previous} ?{variable}_p{level} ?{variable}_h{level} . "
                         f"FILTER(isBlank(?{variable}_h{level})) "
                         f"?{variable}_h{level} rdf:rest* {node} .")
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
