"""Does the build's validation give the same report as one plain pyshacl run, at any size?

``python -m bench.validate_equal DATA_DIR [--core]`` validates a data directory (e.g. one written
by ``python -m bench.generate``) both ways and compares the canonical report graphs and the parsed
results; exit status 0 when equal. The plain pyshacl run is the slow side: with the SHACL-SPARQL
constraints it does not finish 100k triples in 15 minutes (rdflib evaluates them once per focus
node); ``--core`` leaves those out, as ``tests/test_validate_100k.py`` does (about 20 s at 100k).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pyoxigraph import RdfFormat, parse

from ezgraph.publish.build import BuildConfig, assemble
from ezgraph.rdfterms import to_rdflib_graph
from ezgraph.validate import sparql
from ezgraph.validate.shacl import validate, validate_with_pyshacl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--core", action="store_true",
                        help="only the core shapes (without the SHACL-SPARQL constraints)")
    args = parser.parse_args(argv)
    graphs = assemble(BuildConfig(data_dir=args.data_dir))
    data = graphs.data + graphs.ontology
    shapes = graphs.shapes
    if args.core:
        _, core = sparql.plan(to_rdflib_graph(shapes))
        shapes = list(parse(core.serialize(format="nt", encoding="utf-8"),
                            format=RdfFormat.N_TRIPLES))
    started = time.perf_counter()
    fast = validate(data, shapes)
    fast_s = time.perf_counter() - started
    started = time.perf_counter()
    reference = validate_with_pyshacl(data, shapes)
    reference_s = time.perf_counter() - started
    same = fast.report == reference.report and fast.results == reference.results
    print(f"{len(data)} quads; build validation {fast_s:.1f} s, plain pyshacl {reference_s:.1f} s; "
          f"{len(fast.results)} results; reports {'EQUAL' if same else 'DIFFER'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
