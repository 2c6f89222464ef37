"""Every resource's document of one release, written once to SQLite files beside the store.

A release never changes while it is served, so a resource's Linked Data document is the same
bytes for as long as it is: the issue's "results may be cached per release". At a million
triples, describing a resource (the 303 of a client resolving an IRI checks it exists by
reading its document) cost a web process 120-140 µs of CPU in a tight loop and two to three
times that under load; reading the document from a file costs a few microseconds.

The documents are made by the web processes themselves, from their in-memory copy of the store
(with its label index), once the copy is loaded, with the very function that describes a
resource on request (:func:`~ezgraph.store.worker.run_describe`, within the in-process budget:
a description past it, a class with thousands of instances, is left to be described on request
by a worker as before). They are spread over :data:`PARTS` files by a hash of the IRI; each
process takes the parts no other has claimed (an exclusive ``flock`` on the part's lock file),
so two web processes share the work, and a part whose process died is taken over. A part is
written under a temporary name and renamed whole, and opened read-only (``immutable``) once all
parts are there; their names carry a digest of the release and of what a document holds, so
another build or other settings never read them. At a million triples: 132,492 documents, 287
MB, about 13 s of CPU over the processes; a lookup takes 4-5 µs.

Anything failing (a read-only directory, a full disk) leaves a warning in the log, and every
document is described on request as before.

This module is imported by the web process only (stdlib and pyoxigraph).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Files the documents are spread over (each process claims whole files).
PARTS = 8
#: Rows written per INSERT batch.
_BATCH = 2_000


@dataclass(frozen=True)
class PageSpec:
    """What every document holds: the parameters of the description request it answers
    (:class:`~ezgraph.store.base.DescribeRequest` without its IRI and time limit)."""

    media_type: str
    label_predicates: tuple[str, ...]
    blank_node_depth: int
    max_triples: int

    def answers(self, request: Any) -> bool:
        """Whether a document made to this spec is the answer to ``request``."""
        return (request.media_type == self.media_type
                and request.label_predicates == self.label_predicates
                and request.blank_node_depth == self.blank_node_depth
                and request.max_triples == self.max_triples)


#: Renders one resource's document: ``(body, truncated)``, or ``None`` to leave it to be
#: described on request.
Render = Callable[[str], "tuple[bytes, bool] | None"]


class Pages:
    """The documents of one release in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path, release: str, spec: PageSpec,
                 prefixes: tuple[tuple[str, str], ...]):
        digest = hashlib.sha256(json.dumps(
            [release, spec.media_type, spec.label_predicates, spec.blank_node_depth,
             spec.max_triples, prefixes]).encode()).hexdigest()[:16]
        self.spec = spec
        self._paths = [directory / f"pages-{digest}-{part}.sqlite" for part in range(PARTS)]
        self._local = threading.local()

    @staticmethod
    def part_of(iri: str) -> int:
        return zlib.crc32(iri.encode("utf-8")) % PARTS

    def complete(self) -> bool:
        return all(path.is_file() for path in self._paths)

    def make(self, iris: list[str], render: Render) -> None:
        """Write the parts nobody else is writing, then wait for the others' (a part whose
        writer died is written here); raises ``OSError`` when a part cannot be written."""
        by_part: list[list[str]] = [[] for _ in self._paths]
        for iri in iris:
            by_part[self.part_of(iri)].append(iri)
        for blocking in (False, True):
            for part, path in enumerate(self._paths):
                if not path.is_file():
                    self._claim_and_write(part, by_part[part], render, blocking)

    def _claim_and_write(self, part: int, iris: list[str], render: Render,
                         blocking: bool) -> None:
        path = self._paths[part]
        with open(path.with_suffix(".lock"), "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                return  # another process writes it
            if path.is_file():
                return  # written while this process waited
            started = time.perf_counter()
            written = _write_part(path, iris, render)
            log.info("%s: %d documents in %.1f s", path.name, written,
                     time.perf_counter() - started)

    def get(self, iri: str) -> tuple[bytes, bool] | None:
        """``(body, truncated)`` of ``iri``'s document, or ``None`` when it was not made."""
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = [
                _open_read_only(path) for path in self._paths]
        row = connections[self.part_of(iri)].execute(
            "SELECT body, truncated FROM page WHERE iri = ?", (iri,)).fetchone()
        return None if row is None else (row[0], bool(row[1]))


def _write_part(path: Path, iris: list[str], render: Render) -> int:
    """Write ``iris``' documents to ``path``, whole or not at all; how many were written."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    written = 0
    try:
        with sqlite3.connect(temporary) as db:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            # A rowid table: WITHOUT ROWID packs rows of kilobytes badly (643 against 287 MB at
            # a million triples, and lookups three times slower).
            db.execute("CREATE TABLE page (iri TEXT PRIMARY KEY, truncated INTEGER NOT NULL, "
                       "body BLOB NOT NULL)")
            rows: list[tuple[str, int, bytes]] = []
            for iri in iris:
                document = render(iri)
                if document is None:
                    continue
                rows.append((iri, int(document[1]), document[0]))
                if len(rows) >= _BATCH:
                    db.executemany("INSERT INTO page VALUES (?, ?, ?)", rows)
                    written += len(rows)
                    rows.clear()
            db.executemany("INSERT INTO page VALUES (?, ?, ?)", rows)
            written += len(rows)
        db.close()
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written


def _open_read_only(path: Path) -> sqlite3.Connection:
    # immutable: the file never changes once renamed into place, so SQLite takes no locks;
    # check_same_thread off: each thread opens its own, but a thread pool may hand it over.
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                                 check_same_thread=False)
    connection.execute("PRAGMA mmap_size = 1073741824")
    return connection


def subject_iris(store: Any, base: str) -> list[str]:
    """The IRIs under ``base`` that are the subject of some statement in ``store``: the
    resources whose documents are made (an IRI only ever named as an object is described on
    request)."""
    escaped = base.replace("\\", "\\\\").replace('"', '\\"')
    query = (f'SELECT DISTINCT ?s WHERE {{ ?s ?p ?o FILTER(isIRI(?s) '
             f'&& STRSTARTS(STR(?s), "{escaped}")) }}')
    return sorted(row[0].value for row in store.query(query, use_default_graph_as_union=True))
