"""Apache Jena's riot reads every dump of the real build and finds the same triples and quads.

JSON-LD is read with Jena's JSON-LD 1.0 reader (jsonld-java): Debian ships Jena's JSON-LD 1.1
reader (Titanium) without a Jakarta JSON implementation, so that reader cannot load any document.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
from jena import jena_available, jena_classpath
from test_build import canonical_quads, canonical_triples, real_config, reference_quads

from ezgraph.publish.build import build

#: dump → riot's --syntax
RIOT = {"ezgraph.ttl": "turtle", "ezgraph.nt.gz": "ntriples", "ezgraph.rdf": "rdfxml",
        "ezgraph.jsonld": "jsonld10", "ezgraph.trig": "trig", "ezgraph.nq.gz": "nquads"}

pytestmark = pytest.mark.skipif(not jena_available("jena-arq"),
                                reason="needs java and Apache Jena (libapache-jena-java)")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real-for-jena") / "dist"
    build(real_config(out), log=lambda _: None)
    return out


@pytest.fixture(scope="module")
def classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    return jena_classpath(tmp_path_factory.mktemp("jena"))


@pytest.mark.parametrize("name", sorted(RIOT))
def test_jena_riot_reads_the_same_data(dist: Path, classpath: str, name: str) -> None:
    completed = subprocess.run(
        ["java", "-cp", classpath, "riotcmd.riot", "--strict", f"--syntax={RIOT[name]}",
         "--output=nquads", str(dist / name)],
        capture_output=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    assert b"WARN" not in completed.stderr, completed.stderr.decode()[-2000:]
    theirs = list(ox.parse(completed.stdout, format=ox.RdfFormat.N_QUADS))
    ours = reference_quads(dist)
    if name.startswith(("ezgraph.trig", "ezgraph.nq")):
        assert canonical_quads(theirs) == canonical_quads(ours)
    else:
        assert canonical_triples(theirs) == canonical_triples(ours)
