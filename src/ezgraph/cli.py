"""The ``ezgraph`` command: one entry point for building, validating, serving and publishing."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ezgraph import __version__
from ezgraph.namespaces import DEFAULT_BASE


def _add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", dest="data_dir", type=Path, default=Path("data"),
                        help="folder with sources.yaml, sources/ and records/ (default: data)")
    parser.add_argument("--ontology", type=Path, default=Path("ontology"),
                        help="folder with the ontology Turtle files (default: ontology)")
    parser.add_argument("--shapes", type=Path, default=Path("shapes"),
                        help="folder with the SHACL shapes (default: shapes)")
    parser.add_argument("--base", default=DEFAULT_BASE,
                        help=f"persistent base IRI of everything minted (default: {DEFAULT_BASE})")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ezgraph", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ezgraph {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="records → RDF → SHACL → publish directory")
    _add_build_arguments(build)
    build.add_argument("--out", type=Path, default=Path("dist"),
                       help="publish directory, replaced atomically (default: dist)")
    build.add_argument("--no-store", action="store_true",
                       help="skip loading the embedded Oxigraph store")

    check = commands.add_parser("validate", help="check the records and run SHACL, write nothing")
    _add_build_arguments(check)

    serve = commands.add_parser("serve", help="serve the graph as Linked Data and SPARQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--dist", type=Path, default=Path("dist"),
                       help="publish directory to serve; built first if missing (default: dist)")
    serve.add_argument("--base-url", default=None,
                       help="public base URL the server answers for (default: http://HOST:PORT/)")
    serve.add_argument("--timeout", type=float, default=10.0,
                       help="seconds per query (default: 10)")
    serve.add_argument("--max-rows", type=int, default=10_000,
                       help="row cap per query result (default: 10000)")
    serve.add_argument("--data", dest="data_files", nargs="+", type=Path, default=None,
                       metavar="FILE", help="serve these RDF files instead of the built graph")
    serve.add_argument("--store", default=None,
                       help="serve from a store: a SPARQL endpoint URL, or oxigraph:PATH / memory:")
    serve.add_argument("--release-ttl", type=float, default=None, metavar="SECONDS",
                       help="with --store URL: seconds between two readings of the store's "
                            "release, so a republish shows (default: 5)")

    serve.add_argument("--in-memory", action="store_true",
                       help="also load the store into memory in the background and read it "
                            "from there once loaded: several times faster, about 420 MB per "
                            "process at a million triples")

    publish = commands.add_parser("publish", help="load a build into a SPARQL 1.1 store")
    publish.add_argument("--dist", type=Path, default=Path("dist"))
    publish.add_argument("--to", required=True, metavar="URL",
                         help="Graph Store Protocol or SPARQL Update endpoint of the target store")
    publish.add_argument("--method", choices=("auto", "gsp", "update"), default="auto")
    publish.add_argument("--chunk-size", type=int, default=5_000,
                         help="triples per SPARQL Update request (default: 5000)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("build", "validate"):
        from ezgraph.publish.build import run_build

        return run_build(args)
    if args.command == "serve":
        from ezgraph.web.serve import run_serve

        return run_serve(args)
    if args.command == "publish":
        from ezgraph.publish.remote import run_publish

        return run_publish(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
