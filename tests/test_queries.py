"""The example queries of queries/ answer what queries/expected/ says, on the real graph.

The expected answers were worked out by hand from data/records/ (see data/README.md), so a
change to the records, the mapping or a store that alters an answer shows up here. Each query
runs through both embedded backends, as the web tier runs it: the Oxigraph store the build
writes, and rdflib in memory over the TriG dump.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest

from ezgraph.publish.build import BuildConfig, build
from ezgraph.store import open_store
from ezgraph.store.base import QueryRequest, Store
from ezgraph.web.ui import example_queries

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "queries"
EXPECTED = QUERIES / "expected"
TSV = "text/tab-separated-values"
NUMBERS = {f"http://www.w3.org/2001/XMLSchema#{name}" for name in ("decimal", "integer")}
QUERY_NAMES = sorted(path.stem for path in QUERIES.glob("*.rq"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("queries") / "dist"
    result = build(BuildConfig(ROOT / "data", ROOT / "ontology", ROOT / "shapes", out),
                   log=lambda _: None)
    assert result.outcome.violations == 0
    return out


@pytest.fixture(scope="module", params=["oxigraph", "memory"])
def store(request: pytest.FixtureRequest, dist: Path) -> Iterator[Store]:
    if request.param == "oxigraph":
        backend = open_store(f"oxigraph:{dist / 'store'}", workers=2)
    else:
        backend = open_store(f"memory:{dist / 'ezgraph.trig'}", workers=1)
    yield backend
    backend.close()


def comparable(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> tuple | None:
    """Numbers compare by value (a store may write 47700 as "47700.0"); all else as written."""
    if isinstance(term, ox.Literal) and term.datatype.value in NUMBERS:
        return ("number", Decimal(term.value))
    return None if term is None else (type(term).__name__, str(term))


def rows_of(tsv: bytes) -> tuple[list[str], list[list[tuple | None]]]:
    results = ox.parse_query_results(tsv, format=ox.QueryResultsFormat.TSV)
    names = [variable.value for variable in results.variables]
    return names, [[comparable(solution[name]) for name in names] for solution in results]


def test_every_query_has_a_title_a_description_and_an_expected_answer() -> None:
    assert len(QUERY_NAMES) >= 7
    for example in example_queries(QUERIES):
        header = example.query.splitlines()[:2]
        assert header[0].startswith("# title: ") and example.title, example.name
        assert header[1].startswith("# description: ") and example.description, example.name
        assert "ORDER BY" in example.query, f"{example.name}: answers must have a fixed order"
        assert (EXPECTED / f"{example.name}.tsv").is_file(), example.name
    orphans = {path.stem for path in EXPECTED.glob("*.tsv")} - set(QUERY_NAMES)
    assert not orphans, f"expected answers without a query: {sorted(orphans)}"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_gives_the_expected_answer(store: Store, name: str) -> None:
    query = (QUERIES / f"{name}.rq").read_text(encoding="utf-8")
    response = store.query(QueryRequest(query, results_media_type=TSV, timeout=30))
    assert response.form == "SELECT"
    got_names, got = rows_of(response.body)
    want_names, want = rows_of((EXPECTED / f"{name}.tsv").read_bytes())
    assert got_names == want_names
    assert got == want, f"{name}: the rows differ (order included)"


def test_the_source_sentence_is_the_one_in_the_source_text(store: Store) -> None:
    """The quotation the graph returns is the very text of the page, not a retyped copy."""
    query = (QUERIES / "source-sentence-of-a-fact.rq").read_text(encoding="utf-8")
    response = store.query(QueryRequest(query, results_media_type=TSV, timeout=30))
    results = ox.parse_query_results(response.body, format=ox.QueryResultsFormat.TSV)
    sentences = [solution["sentence"].value for solution in results]
    text = (ROOT / "data" / "sources" / "changchun-automotive-etdz.txt").read_text(
        encoding="utf-8")
    assert sentences and all(sentence in text for sentence in sentences)
    assert any("CNY 483.58 billion" in sentence for sentence in sentences)
