"""``ezgraph build``: records → RDF → SHACL validation → publish directory, stage by stage.

The publish directory is written beside its final place and renamed into it only when every
stage succeeded, so a failed build leaves the previous one intact and a reader never sees a
half-written directory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import NamedNode, Quad, Store, Triple

from ezgraph import __version__
from ezgraph.heap import release_free_memory
from ezgraph.mapping.mapper import map_curated
from ezgraph.mapping.turtle import concept_index, read_turtle_dir
from ezgraph.namespaces import DEFAULT_BASE
from ezgraph.publish.describe import describe, metadata_graph
from ezgraph.publish.dumps import (
    DumpFile,
    canonical,
    triples_of,
    write_dumps,
    write_file,
    write_graph,
)
from ezgraph.sources.errors import ErrorCollector, InputErrors
from ezgraph.sources.records import read_curated
from ezgraph.validate.shacl import Outcome, validate

Log = Callable[[str], None]


@dataclass(frozen=True)
class BuildConfig:
    data_dir: Path = Path("data")
    ontology_dir: Path = Path("ontology")
    shapes_dir: Path = Path("shapes")
    out: Path = Path("dist")
    base: str = DEFAULT_BASE
    load_store: bool = True


@dataclass
class Graphs:
    """The dataset before publishing: data graphs, ontology graph, shapes graph."""

    data: list[Quad]
    ontology: list[Quad]
    shapes: list[Quad]
    sources: tuple[str, ...]
    records: int

    @property
    def all(self) -> list[Quad]:
        return self.data + self.ontology + self.shapes


@dataclass
class BuildResult:
    out: Path | None
    outcome: Outcome
    quads: int
    triples: int
    files: list[DumpFile] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class BuildFailed(Exception):
    """The build stopped; the message says why and where. Nothing was published."""


class _Stages:
    def __init__(self, log: Log):
        self.log = log
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        notes: list[str] = []
        started = time.perf_counter()
        yield notes
        elapsed = time.perf_counter() - started
        self.timings[name] = elapsed
        detail = f"  {'; '.join(notes)}" if notes else ""
        self.log(f"  {name:<10} {elapsed:7.2f} s{detail}")


def assemble(config: BuildConfig, stages: _Stages | None = None) -> Graphs:
    """Read and check all input and map it to quads (raises InputErrors on any problem)."""
    stages = stages or _Stages(lambda _: None)
    base = config.base
    with stages.stage("read") as notes:
        errors = ErrorCollector()
        ontology = read_turtle_dir(config.ontology_dir, NamedNode(f"{base}graph/ontology"),
                                   errors, base)
        shapes = read_turtle_dir(config.shapes_dir, NamedNode(f"{base}graph/shapes"),
                                 errors, base)
        concepts, labels = concept_index(ontology, base)
        try:
            curated = read_curated(config.data_dir, concepts)
        except InputErrors as exc:
            errors.errors.extend(exc.errors)
            curated = None
        errors.raise_if_any()
        assert curated is not None
        notes.append(f"{len(curated.sources)} sources, {len(curated.records)} records, "
                     f"{len(concepts)} vocabulary concepts")
    with stages.stage("map") as notes:
        data = map_curated(curated, labels, base)
        notes.append(f"{len(data)} data quads, {len(ontology)} ontology, {len(shapes)} shapes")
    return Graphs(data, ontology, shapes, tuple(s.id for s in curated.sources),
                  len(curated.records))


def build(config: BuildConfig, log: Log = print, publish: bool = True) -> BuildResult:
    """Run every stage; with ``publish`` write and swap in the publish directory.

    Raises :class:`InputErrors` for bad input and :class:`BuildFailed` for SHACL violations or
    publishing problems; the previous publish directory is left as it was in both cases.
    """
    stages = _Stages(log)
    graphs = assemble(config, stages)
    with stages.stage("validate") as notes:
        outcome = validate(graphs.data + graphs.ontology, graphs.shapes)
        notes.append(outcome.summary())
        release_free_memory()
    if outcome.violations:
        raise BuildFailed(outcome.text() + "\nThe build stopped: fix the violations above. "
                          "Nothing was published.")
    if not publish:
        return BuildResult(None, outcome, len(graphs.all), 0, timings=stages.timings)
    out = config.out
    staging = out.with_name(f".{out.name}.building")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        with stages.stage("dumps") as notes:
            quads = canonical(graphs.all)
            triples = triples_of(quads)
            files = write_dumps(staging, quads, config.base, triples=triples)
            ontology_graph = f"{config.base}graph/ontology"
            shapes_graph = f"{config.base}graph/shapes"
            ontology_quads = [q for q in quads if q.graph_name.value == ontology_graph]
            shapes_quads = [q for q in quads if q.graph_name.value == shapes_graph]
            # Dumps of one graph each, not of the dataset: described as their graph's dumps.
            files.append(write_graph(staging, "ontology.ttl", _triples(ontology_quads),
                                     config.base, "the ontology and its vocabularies",
                                     graph=ontology_graph))
            files.append(write_graph(staging, "shapes.ttl", _triples(shapes_quads), config.base,
                                     "the SHACL shapes", graph=shapes_graph))
            triple_count = len(triples)
            notes.append(f"{len(quads)} quads, {triple_count} distinct triples")
            release_free_memory()
        with stages.stage("describe") as notes:
            void, dcat = describe(quads, triples, files, config.base, graphs.sources)
            files.append(write_graph(staging, "void.ttl", void, config.base,
                                     "VoID description of the dataset"))
            files.append(write_graph(staging, "dcat.ttl", dcat, config.base,
                                     "DCAT 3 catalog of the dataset and its distributions"))
            files.append(write_graph(staging, "validation-report.ttl", outcome.report,
                                     config.base, "SHACL validation report (sh:ValidationReport)"))
            files.append(write_file(staging, "validation-report.txt", "text/plain; charset=utf-8",
                                    outcome.text().encode(), "SHACL validation report, readable"))
            notes.append(f"{len(void)} VoID and {len(dcat)} DCAT triples")
        manifest = _manifest(config, quads, triple_count, files, outcome)
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
        if config.load_store:
            with stages.stage("store") as notes:
                # The very triples written to void.ttl and dcat.ttl (describe() checks that
                # the store keeps every one of them as it is).
                metadata = NamedNode(metadata_graph(config.base))
                _load_store(staging / "store", quads,
                            [Quad(t.subject, t.predicate, t.object, metadata)
                             for t in void + dcat])
                notes.append("Oxigraph store loaded (metadata graph holds VoID and DCAT)")
        with stages.stage("publish") as notes:
            _swap(staging, out)
            notes.append(f"{len(files)} files in {out}")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return BuildResult(out, outcome, len(quads), triple_count, files, stages.timings)


def _triples(quads: list[Quad]) -> list[Triple]:
    return [Triple(q.subject, q.predicate, q.object) for q in quads]


def _manifest(config: BuildConfig, quads: list[Quad], triples: int, files: list[DumpFile],
              outcome: Outcome) -> dict[str, object]:
    graphs = Counter(q.graph_name.value for q in quads)
    nquads = next(f for f in files if f.path.endswith(".nq.gz"))
    return {
        "version": __version__,
        "base": config.base,
        # The N-Quads dump is canonical and deterministic, so its digest names the release.
        "release": nquads.sha256[:16],
        "quads": len(quads),
        "triples": triples,
        "graphs": dict(sorted(graphs.items())),
        "files": [f.as_json() for f in files],
        "conforms": outcome.violations == 0,
        "validation": {"violations": outcome.violations, "warnings": outcome.count("Warning"),
                       "infos": outcome.count("Info")},
    }


#: Quads handed to Oxigraph's bulk loader per call.
STORE_CHUNK = 100_000


def _load_store(path: Path, quads: list[Quad], metadata: list[Quad]) -> None:
    store = Store(str(path))
    # From the quads themselves, not an N-Quads text of them, and 100,000 at a time: at 1M
    # triples the text cost 1 GB more at the peak, one call for all quads 800 MB more
    # (measured: +97 MB in chunks, and 3 s faster).
    for start in range(0, len(quads), STORE_CHUNK):
        store.bulk_extend(quads[start:start + STORE_CHUNK])
    store.bulk_extend(metadata)
    store.optimize()
    store.flush()
    del store


def _swap(staging: Path, out: Path) -> None:
    previous = out.with_name(f".{out.name}.previous")
    if previous.exists():
        shutil.rmtree(previous)
    if out.exists():
        out.rename(previous)
    staging.rename(out)
    if previous.exists():
        shutil.rmtree(previous)


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    base = args.base if args.base.endswith(("/", "#")) else args.base + "/"
    return BuildConfig(data_dir=args.data_dir, ontology_dir=args.ontology,
                       shapes_dir=args.shapes, out=getattr(args, "out", Path("dist")), base=base,
                       load_store=not getattr(args, "no_store", False))


def run_build(args: argparse.Namespace) -> int:
    """The ``build`` and ``validate`` commands; exit status 0, 1 (bad data) or 2 (bad input)."""
    config = config_from_args(args)
    publishing = args.command == "build"
    print(f"ezgraph {__version__}: {'building' if publishing else 'validating'} "
          f"{config.data_dir} (base {config.base})")
    started = time.perf_counter()
    try:
        result = build(config, publish=publishing)
    except InputErrors as exc:
        print(exc.summary(), file=sys.stderr)
        print("Nothing was published." if publishing else "", file=sys.stderr)
        return 2
    except BuildFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write the publish directory: {exc}", file=sys.stderr)
        return 2
    warnings = result.outcome.count("Warning")
    if warnings:
        print(f"  {warnings} warning(s): see {'validation-report.txt' if publishing else 'below'}")
        if not publishing:
            print(result.outcome.text())
    print(f"done in {time.perf_counter() - started:.2f} s"
          + (f": {result.triples} triples published in {result.out}/" if publishing else ""))
    return 0
