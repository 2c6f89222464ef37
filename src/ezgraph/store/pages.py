"""Every resource's document of one release, written once to files beside the store.

A release never changes while it is served, so a resource's Linked Data document is the same
bytes for as long as it is, and may be made once per release. At a million
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
another build or other settings never read them. A part is two files: the documents one after
the other (``.bin``, mapped into memory by every process that reads it, so they share its pages)
and a SQLite table of where each one lies (``.sqlite``, read whole into a dictionary when the
parts are opened). Documents read by SQLite lookups gave a third fewer pages under load
(3,559-4,149 against 5,502-6,565 pages/s at 1M, in turn twice): it lets go of the GIL around
every call, and eight threads then hand it over. At a million triples: 132,492 documents,
225 MB, about 9 s in each of two web processes.

Anything failing (a read-only directory, a full disk) leaves a warning in the log, and every
document is described on request as before.

This module is imported by the web process only (stdlib and :mod:`ezgraph.store.base`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import glob
import hashlib
import json
import logging
import mmap
import os
import sqlite3
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ezgraph.store.base import DescribeRequest

log = logging.getLogger(__name__)

#: Files the documents are spread over (each process claims whole files).
PARTS = 8
#: The files' layout: a new one never reads the files of an older one.
FORMAT = 2
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

    def request(self, iri: str) -> DescribeRequest:
        """The description request ``iri``'s document answers."""
        return DescribeRequest(iri=iri, media_type=self.media_type,
                               label_predicates=self.label_predicates,
                               blank_node_depth=self.blank_node_depth,
                               max_triples=self.max_triples)

    def answers(self, request: DescribeRequest) -> bool:
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
            [FORMAT, release, *dataclasses.astuple(spec), prefixes]).encode()).hexdigest()[:16]
        self.spec = spec
        self._paths = [directory / f"pages-{digest}-{part}.sqlite" for part in range(PARTS)]
        self._index: dict[str, tuple[int, int, int, bool]] = {}
        self._maps: list[Any] = []

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
            for stale in path.parent.glob(f"{glob.escape(path.stem)}.*.tmp"):
                stale.unlink(missing_ok=True)  # left by a process that died writing it
            started = time.perf_counter()
            written = _write_part(path, iris, render)
            log.info("%s: %d documents in %.1f s", path.name, written,
                     time.perf_counter() - started)

    def open(self) -> None:
        """Read every part's table and map its documents (once all parts are there); raises
        ``OSError`` or ``sqlite3.Error`` when a part cannot be read."""
        index: dict[str, tuple[int, int, int, bool]] = {}
        maps: list[Any] = []
        for part, path in enumerate(self._paths):
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1",
                                         uri=True)
            try:
                for iri, offset, length, truncated in connection.execute(
                        "SELECT iri, offset, length, truncated FROM page"):
                    index[iri] = (part, offset, length, bool(truncated))
            finally:
                connection.close()
            with open(path.with_suffix(".bin"), "rb") as f:
                # An empty part (no resource hashed to it) cannot be mapped.
                size = os.fstat(f.fileno()).st_size
                maps.append(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b"")
        self._index, self._maps = index, maps

    def get(self, iri: str) -> tuple[bytes, bool] | None:
        """``(body, truncated)`` of ``iri``'s document, or ``None`` when it was not made (or
        the parts are not open)."""
        found = self._index.get(iri)
        if found is None:
            return None
        part, offset, length, truncated = found
        return self._maps[part][offset:offset + length], truncated


def _write_part(path: Path, iris: list[str], render: Render) -> int:
    """Write ``iris``' documents to ``path`` and its ``.bin``, whole or not at all (the table
    comes last: a part is there when its table is); how many were written. The caller holds
    the part's lock and has removed any earlier temporaries."""
    tag = f".{os.getpid()}.tmp"
    table, documents = path.with_name(path.name + tag), path.with_suffix(".bin")
    documents_tmp = documents.with_name(documents.name + tag)
    written = 0
    try:
        with open(documents_tmp, "wb") as out, sqlite3.connect(table) as db:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE page (iri TEXT PRIMARY KEY, offset INTEGER NOT NULL, "
                       "length INTEGER NOT NULL, truncated INTEGER NOT NULL)")
            rows: list[tuple[str, int, int, int]] = []
            offset = 0
            for iri in iris:
                document = render(iri)
                if document is None:
                    continue
                body, truncated = document
                out.write(body)
                rows.append((iri, offset, len(body), int(truncated)))
                offset += len(body)
                if len(rows) >= _BATCH:
                    db.executemany("INSERT INTO page VALUES (?, ?, ?, ?)", rows)
                    written += len(rows)
                    rows.clear()
            db.executemany("INSERT INTO page VALUES (?, ?, ?, ?)", rows)
            written += len(rows)
            out.flush()
            os.fsync(out.fileno())
        db.close()
        with open(table, "rb") as f:
            os.fsync(f.fileno())
        os.replace(documents_tmp, documents)
        os.replace(table, path)
    except BaseException:
        for temporary in (table, documents_tmp):
            temporary.unlink(missing_ok=True)
        raise
    return written


def subject_iris(store: Any, base: str) -> list[str]:
    """The IRIs under ``base`` that are the subject of some statement in ``store``: the
    resources whose documents are made (an IRI only ever named as an object is described on
    request)."""
    # The base is compared here, not written into the query: nothing to escape.
    subjects = store.query("SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }",
                           use_default_graph_as_union=True)
    return sorted(iri for (subject,) in subjects if (iri := subject.value).startswith(base))
