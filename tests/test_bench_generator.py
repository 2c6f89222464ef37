"""The benchmark data generator: seeded output is reproducible and builds cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import (
    ONTOLOGY_DIR,
    SHAPES_DIR,
    read_vocabulary,
    write,
)
from ezgraph.publish.build import BuildConfig, build


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def vocabulary():
    return read_vocabulary()


def test_same_seed_gives_identical_files(tmp_path: Path, vocabulary) -> None:
    first = _files(write(tmp_path / "a", 3, seed=7, vocabulary=vocabulary))
    second = _files(write(tmp_path / "b", 3, seed=7, vocabulary=vocabulary))
    assert first == second
    assert {"sources.yaml", "records/catalogue.yaml", "records/z0003.yaml",
            "sources/z0001.txt"} <= set(first)


def test_another_seed_gives_other_data(tmp_path: Path, vocabulary) -> None:
    first = _files(write(tmp_path / "a", 2, seed=1, vocabulary=vocabulary))
    second = _files(write(tmp_path / "b", 2, seed=2, vocabulary=vocabulary))
    assert first.keys() == second.keys()
    assert first["records/z0001.yaml"] != second["records/z0001.yaml"]


def test_small_output_builds_without_violations(tmp_path: Path, vocabulary) -> None:
    data = write(tmp_path / "data", 1, seed=1, vocabulary=vocabulary, years=1)
    result = build(BuildConfig(data_dir=data, ontology_dir=ONTOLOGY_DIR, shapes_dir=SHAPES_DIR,
                               out=tmp_path / "dist"), log=lambda _: None)
    assert result.outcome.violations == 0, result.outcome.text()
    assert (tmp_path / "dist" / "ezgraph.nq.gz").exists()
    # Every kind the generator promises is in the graph: one zone fans out into all of them.
    nquads = (tmp_path / "dist" / "ezgraph.trig").read_text(encoding="utf-8")
    for term in ("NationalETDZ", "ZoneApproval", "EnterprisePresence", "HonorAward",
                 "GreenProject", "ProjectComponent", "GreenMeasure", "IndicatorObservation",
                 "PolicyDocument", "IncentiveProvision"):
        assert f"def/{term}>" in nquads or f"ez:{term}" in nquads, term
    assert result.triples > 1_000  # ontology and shapes included
