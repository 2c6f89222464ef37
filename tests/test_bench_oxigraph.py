"""The Oxigraph store the benchmark serves is set up as ezgraph's own is: loaded, then compacted."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from bench.run import VENV_BIN, load_oxigraph

EX = "http://example.org/"


def _sst_files(location: Path) -> int:
    return sum(1 for path in location.iterdir() if path.suffix == ".sst")


def _dist(path: Path) -> Path:
    """A publish directory with what the benchmark loads: the N-Quads dump and VoID/DCAT."""
    path.mkdir()
    lines = [f"<{EX}s{i}> <{EX}p> \"{i}\" <{EX}graph/{i % 7}> .\n" for i in range(2_000)]
    with gzip.open(path / "ezgraph.nq.gz", "wt", encoding="utf-8") as dump:
        dump.writelines(lines)
    for name in ("void.ttl", "dcat.ttl"):
        (path / name).write_text(f"<{EX}{name}> <{EX}p> <{EX}o> .\n", encoding="utf-8")
    return path


def test_oxigraph_gets_a_compacted_store_like_ezgraphs(tmp_path: Path) -> None:
    # ezgraph's build ends with Store.optimize(); Oxigraph's side must get the same, or the
    # benchmark would time the stores' layouts: three plain loads leave uncompacted files.
    dist = _dist(tmp_path / "dist")
    location, plain = tmp_path / "oxigraph", tmp_path / "plain"
    assert load_oxigraph(dist, location) > 0
    load_oxigraph(dist, plain, compact=False)
    # Compaction deletes the files it merged, though not always before the process exits.
    assert _sst_files(location) < _sst_files(plain)
    count = subprocess.run(
        [str(VENV_BIN / "oxigraph"), "query", "--location", str(location), "--results-format",
         "tsv", "--query", "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"],
        check=True, capture_output=True, text=True, timeout=120).stdout
    assert count.split() == ["?n", "2002"]  # the dump and both metadata files
