"""``ezgraph publish --to URL``: load a build into any SPARQL 1.1 store, then check it arrived.

What is loaded is what the embedded store of the build holds (see ``publish.build``): every
named graph of ``ezgraph.nq.gz`` (one per source document, the ontology, the shapes) and the
metadata graph ``{base}graph/metadata`` with ``void.ttl`` and ``dcat.ttl``. A served
:class:`~ezgraph.store.remote.RemoteStore` reads that metadata graph to know which graphs make
up the dataset and which release it is.

Two ways in, per named graph:

* ``gsp``: one Graph Store Protocol ``PUT ?graph=IRI`` per graph, which replaces the graph in one
  request (atomically in Oxigraph and Virtuoso);
* ``update``: SPARQL Update, ``DROP SILENT GRAPH`` + ``INSERT DATA`` (``INSERT {...} WHERE {}``
  for the triples with blank nodes, which Virtuoso refuses in ``INSERT DATA``; Virtuoso compiles
  that template to SQL and gives up beyond about a thousand triples: use ``--chunk-size 500``
  there when the data has many blank nodes) in requests of at most
  ``chunk_size`` triples (for stores that offer no Graph Store Protocol, or limit request
  sizes). A graph larger than one chunk is visible half-loaded while it loads. Blank nodes are
  scoped to one request, so triples that share a blank node always travel in the same request.

``URL`` is the store's Graph Store Protocol or SPARQL Update endpoint; ``auto`` picks the method
from its path (``/store``, ``/data``, ``/sparql-graph-crud[-auth]``: GSP; anything else: Update)
and the query endpoint used for checking from the store's usual layout (Oxigraph ``/query``,
Fuseki ``/query`` or ``/sparql``, Virtuoso ``/sparql``). Credentials go in the URL
(``http://dba:PASSWORD@host:8890/sparql-graph-crud-auth``) or, for the password,
``EZGRAPH_STORE_PASSWORD``; Basic and Digest authentication are both answered.

Graphs under ``{base}graph/`` that the store holds but this release does not (sources dropped
since the last publish) are removed, so the store ends up holding exactly the release. Then the
triples of every graph are counted with a SPARQL query and compared with the build.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import pyoxigraph as ox

from ezgraph.namespaces import DEFAULT_BASE

Method = Literal["gsp", "update"]
Log = Callable[[str], None]

#: Path endings of Graph Store Protocol endpoints (Oxigraph, Fuseki, Virtuoso, RDF4J-like).
GSP_PATHS = ("/store", "/data", "/sparql-graph-crud", "/sparql-graph-crud-auth",
             "/rdf-graph-store")
#: Seconds one HTTP request to the store may take.
REQUEST_TIMEOUT = 300.0
_USER_AGENT = "ezgraph-publish"


class PublishError(Exception):
    """The publish stopped; the message names the graph, the chunk and what the store said.
    ``partial`` is true once something was written to the store."""

    partial = False


@dataclass(frozen=True)
class Endpoints:
    method: Method
    #: Where graphs are written: the GSP endpoint or the SPARQL Update endpoint.
    write: str
    #: SPARQL query endpoints to try, in order, for the checks.
    query_candidates: tuple[str, ...]


@dataclass
class GraphReport:
    iri: str
    expected: int
    requests: int = 0
    seconds: float = 0.0
    found: int | None = None


@dataclass
class PublishResult:
    method: Method
    query_endpoint: str
    graphs: list[GraphReport] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def triples(self) -> int:
        return sum(graph.expected for graph in self.graphs)

    @property
    def mismatches(self) -> list[GraphReport]:
        return [graph for graph in self.graphs if graph.found != graph.expected]


# --------------------------------------------------------------------------------------------
# Endpoints


def endpoints_for(url: str, method: Literal["auto", "gsp", "update"] = "auto") -> Endpoints:
    """Which endpoint gets the writes, and where to look for the query endpoint."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"--to {url!r}: expected an http(s):// URL of the store's Graph "
                           "Store Protocol or SPARQL Update endpoint")
    path = parts.path.rstrip("/")
    is_gsp_path = path.endswith(GSP_PATHS)
    chosen: Method = ("gsp" if is_gsp_path else "update") if method == "auto" else method

    def sibling(name: str) -> str:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        return urlunsplit((parts.scheme, parts.netloc, f"{parent}/{name}", "", ""))

    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    candidates = [sibling("query"), sibling("sparql")]
    if not is_gsp_path:
        candidates.insert(0, bare)  # Virtuoso's /sparql and Fuseki's /ds take both
    return Endpoints(chosen, bare, tuple(dict.fromkeys(candidates)))


class _Client:
    """urllib with the credentials of the ``--to`` URL, no environment proxies, and errors that
    say which request failed."""

    def __init__(self, url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        parts = urlsplit(url)
        self.timeout = timeout
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if user is not None:
            password = password if password is not None else os.environ.get(
                "EZGRAPH_STORE_PASSWORD", "")
            manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            manager.add_password(None, f"{parts.scheme}://{parts.hostname}"
                                 + (f":{parts.port}" if parts.port else ""), user, password)
            # Virtuoso's -auth endpoints ask for Digest, others for Basic: answer either.
            handlers += [urllib.request.HTTPDigestAuthHandler(manager),
                         urllib.request.HTTPBasicAuthHandler(manager)]
        self._opener = urllib.request.build_opener(*handlers)

    def send(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
             what: str) -> tuple[int, bytes]:
        """Do one request; ``what`` names it in errors. Returns status and body (2xx only)."""
        request = urllib.request.Request(strip_credentials(url), data=body, method=method,
                                         headers={"User-Agent": _USER_AGENT, **headers})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            detail = " ".join(error.read()[:2000].decode("utf-8", "replace").split())[:600]
            hint = ""
            if error.code in (401, 403):
                hint = (" (the store wants credentials with write permission: put them in "
                        "the URL, e.g. http://dba:PASSWORD@host:8890/sparql-graph-crud-auth)")
            raise PublishError(f"{what}: the store answered {error.code} {error.reason}"
                               f"{hint}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise PublishError(f"{what}: cannot reach {strip_credentials(url)} ({reason})"
                               ) from None


def strip_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --------------------------------------------------------------------------------------------
# What to load


@dataclass
class Release:
    base: str
    release: str
    #: Triples per named graph, in the order they are loaded.
    graphs: dict[str, list[ox.Triple]]


def read_release(dist: Path) -> Release:
    """The quads of the build in ``dist`` grouped per graph, plus the metadata graph."""
    manifest_path = dist / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PublishError(f"cannot read {manifest_path}: {error.strerror or error}; run "
                           "`ezgraph build` first") from None
    except ValueError as error:
        raise PublishError(f"{manifest_path} is not valid JSON ({error})") from None
    base = str(manifest.get("base") or DEFAULT_BASE)
    graphs: dict[str, list[ox.Triple]] = {}
    for quad in _read_quads(dist):
        if not isinstance(quad.graph_name, ox.NamedNode):
            raise PublishError(f"{dist}: a quad in the default graph ({quad}); every triple of "
                               "a build belongs to a named graph")
        graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    metadata: list[ox.Triple] = []
    for name in ("void.ttl", "dcat.ttl"):
        path = dist / name
        if not path.is_file():
            raise PublishError(f"{path} is missing: rebuild with `ezgraph build`")
        try:
            metadata += [quad.triple for quad in ox.parse(path=str(path),
                                                          format=ox.RdfFormat.TURTLE)]
        except SyntaxError as error:
            raise PublishError(f"{path} does not parse: {error}") from None
    graphs[f"{base}graph/metadata"] = metadata
    for iri, triples in graphs.items():
        # Distinct triples, as a store keeps them (the build's dumps are already distinct).
        graphs[iri] = list(dict.fromkeys(triples))
    _check_blank_nodes(graphs)
    return Release(base, str(manifest.get("release") or ""), graphs)


def _read_quads(dist: Path) -> Iterator[ox.Quad]:
    nquads = dist / "ezgraph.nq.gz"
    trig = dist / "ezgraph.trig"
    try:
        if nquads.is_file():
            with gzip.open(nquads, "rb") as stream:
                yield from ox.parse(stream, format=ox.RdfFormat.N_QUADS)
        elif trig.is_file():
            yield from ox.parse(path=str(trig), format=ox.RdfFormat.TRIG)
        else:
            raise PublishError(f"{dist} has neither ezgraph.nq.gz nor ezgraph.trig: rebuild "
                               "with `ezgraph build`")
    except SyntaxError as error:
        raise PublishError(f"the dump in {dist} does not parse: {error}") from None
    except OSError as error:
        raise PublishError(f"cannot read the dump in {dist}: {error}") from None


def _check_blank_nodes(graphs: dict[str, list[ox.Triple]]) -> None:
    """Graphs are loaded one by one, and a blank node is local to what is loaded with it."""
    seen: dict[str, str] = {}
    for iri, triples in graphs.items():
        for triple in triples:
            for term in (triple.subject, triple.object):
                if isinstance(term, ox.BlankNode):
                    first = seen.setdefault(term.value, iri)
                    if first != iri:
                        raise PublishError(
                            f"blank node _:{term.value} is in two graphs, <{first}> and <{iri}>; "
                            "loading graph by graph would split it in two")


def chunks(triples: list[ox.Triple], size: int) -> list[list[ox.Triple]]:
    """``triples`` in groups of at most ``size`` (more only when that many share blank nodes),
    triples connected through blank nodes always in the same group."""
    parent: dict[str, str] = {}

    def root(label: str) -> str:
        parent.setdefault(label, label)
        while parent[label] != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    for triple in triples:
        labels = [t.value for t in (triple.subject, triple.object) if isinstance(t, ox.BlankNode)]
        if len(labels) == 2:
            parent[root(labels[0])] = root(labels[1])
        elif labels:
            root(labels[0])
    components: dict[Any, list[ox.Triple]] = {}
    for index, triple in enumerate(triples):
        bnode = next((t.value for t in (triple.subject, triple.object)
                      if isinstance(t, ox.BlankNode)), None)
        components.setdefault(root(bnode) if bnode is not None else index, []).append(triple)
    groups: list[list[ox.Triple]] = []
    current: list[ox.Triple] = []
    for component in components.values():
        if current and len(current) + len(component) > size:
            groups.append(current)
            current = []
        current += component
    if current:
        groups.append(current)
    return groups


# --------------------------------------------------------------------------------------------
# Loading


def _ntriples(triples: Iterable[ox.Triple]) -> bytes:
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def _load_gsp(client: _Client, endpoint: str, iri: str, triples: list[ox.Triple]) -> int:
    url = f"{endpoint}?{urlencode({'graph': iri})}"
    # N-Triples is a subset of Turtle, and every Graph Store Protocol server reads Turtle.
    client.send("PUT", url, _ntriples(triples), {"Content-Type": "text/turtle; charset=utf-8"},
                f"loading graph <{iri}> ({len(triples)} triples, Graph Store Protocol PUT)")
    return 1


def _load_update(client: _Client, endpoint: str, iri: str, triples: list[ox.Triple],
                 chunk_size: int) -> int:
    groups = chunks(triples, chunk_size)
    for number, group in enumerate(groups, 1):
        # The first request also empties the graph: a graph that fits one chunk is replaced
        # in one request.
        drop = f"DROP SILENT GRAPH <{iri}> ;\n" if number == 1 else ""
        # Virtuoso 7 refuses blank nodes in INSERT DATA: triples with blank nodes go in an
        # INSERT { } WHERE { } of the same request (one empty solution: the same triples, blank
        # nodes shared within the request), kept small as Virtuoso compiles it to SQL.
        plain = [t for t in group if not (isinstance(t.subject, ox.BlankNode)
                                          or isinstance(t.object, ox.BlankNode))]
        blank = [t for t in group if isinstance(t.subject, ox.BlankNode)
                 or isinstance(t.object, ox.BlankNode)]
        parts = []
        if plain:
            parts.append(f"INSERT DATA {{ GRAPH <{iri}> {{\n".encode() + _ntriples(plain)
                         + b"} }")
        if blank:
            parts.append(f"INSERT {{ GRAPH <{iri}> {{\n".encode() + _ntriples(blank)
                         + b"} } WHERE {}")
        update = drop.encode() + b" ;\n".join(parts) + b"\n"
        client.send("POST", endpoint, update,
                    {"Content-Type": "application/sparql-update; charset=utf-8"},
                    f"loading graph <{iri}>, chunk {number} of {len(groups)} "
                    f"({len(group)} triples, SPARQL Update)")
    return len(groups)


def _remove(client: _Client, endpoints: Endpoints, iri: str) -> None:
    what = f"removing graph <{iri}>, which this release does not have"
    if endpoints.method == "gsp":
        client.send("DELETE", f"{endpoints.write}?{urlencode({'graph': iri})}", None, {}, what)
    else:
        client.send("POST", endpoints.write, f"DROP SILENT GRAPH <{iri}>".encode(),
                    {"Content-Type": "application/sparql-update; charset=utf-8"}, what)


def _select(client: _Client, endpoint: str, query: str, what: str) -> list[dict[str, Any]]:
    _, body = client.send("POST", endpoint, urlencode({"query": query}).encode(),
                          {"Content-Type": "application/x-www-form-urlencoded",
                           "Accept": "application/sparql-results+json"}, what)
    try:
        return json.loads(body)["results"]["bindings"]
    except (ValueError, KeyError, TypeError):
        raise PublishError(f"{what}: {endpoint} did not answer with SPARQL JSON results"
                           ) from None


def _query_endpoint(client: _Client, endpoints: Endpoints) -> str:
    tried = []
    for candidate in endpoints.query_candidates:
        try:
            _, body = client.send(
                "POST", candidate, urlencode({"query": "ASK {}"}).encode(),
                {"Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/sparql-results+json"}, "looking for the query endpoint")
            document = json.loads(body)
            # Virtuoso 7.2 answers ASK as a SELECT of one __ASK_RETVAL column.
            if "boolean" in document or "__ASK_RETVAL" in document["head"]["vars"]:
                return candidate
        except (PublishError, ValueError, TypeError, KeyError) as error:
            tried.append(f"{strip_credentials(candidate)}: {error}")
    raise PublishError(f"nothing was loaded: no SPARQL query endpoint answers next to "
                       f"{strip_credentials(endpoints.write)} (needed to check the load); "
                       "tried " + "; ".join(tried))


def publish(dist: Path, to: str, *, method: Literal["auto", "gsp", "update"] = "auto",
            chunk_size: int = 5_000, log: Log = print) -> PublishResult:
    """Load the build in ``dist`` into the store at ``to`` and check the counts per graph."""
    if chunk_size < 1:
        raise PublishError(f"--chunk-size must be at least 1, not {chunk_size}")
    started = time.perf_counter()
    endpoints = endpoints_for(to, method)
    client = _Client(to)
    query_endpoint = _query_endpoint(client, endpoints)
    release = read_release(dist)
    total = sum(len(triples) for triples in release.graphs.values())
    how = ("Graph Store Protocol PUT per graph" if endpoints.method == "gsp"
           else f"SPARQL Update, at most {chunk_size} triples per request")
    log(f"publishing release {release.release or '(unnamed)'} of {dist}: "
        f"{len(release.graphs)} graphs, {total} triples, to {strip_credentials(endpoints.write)} "
        f"({how})")
    result = PublishResult(endpoints.method, query_endpoint)
    try:
        _load(client, endpoints, release, chunk_size, result, query_endpoint)
    except PublishError as error:
        error.partial = True
        raise
    result.seconds = time.perf_counter() - started
    return result


def _load(client: _Client, endpoints: Endpoints, release: Release, chunk_size: int,
          result: PublishResult, query_endpoint: str) -> None:
    for iri, triples in release.graphs.items():
        report = GraphReport(iri, len(triples))
        graph_started = time.perf_counter()
        if endpoints.method == "gsp":
            report.requests = _load_gsp(client, endpoints.write, iri, triples)
        else:
            report.requests = _load_update(client, endpoints.write, iri, triples, chunk_size)
        report.seconds = time.perf_counter() - graph_started
        result.graphs.append(report)

    prefix = f"{release.base}graph/"
    rows = _select(client, query_endpoint,
                   "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
                   f'FILTER(STRSTARTS(STR(?g), "{prefix}")) }}',
                   f"listing the store's graphs under {prefix}")
    for row in rows:
        iri = row.get("g", {}).get("value", "")
        if iri and iri not in release.graphs:
            _remove(client, endpoints, iri)
            result.removed.append(iri)

    values = " ".join(f"<{iri}>" for iri in release.graphs)
    rows = _select(client, query_endpoint,
                   f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} "
                   "GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
                   "counting the triples of every graph after loading")
    found = {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
    for report in result.graphs:
        report.found = found.get(report.iri, 0)


def report_lines(result: PublishResult, base: str) -> list[str]:
    lines = [f"  {'graph':<60} {'build':>9} {'store':>9} {'requests':>8} {'seconds':>8}"]
    for graph in result.graphs:
        name = graph.iri[len(base):] if graph.iri.startswith(base) else graph.iri
        mark = "" if graph.found == graph.expected else "  MISMATCH"
        lines.append(f"  {name:<60} {graph.expected:>9} {graph.found!s:>9} "
                     f"{graph.requests:>8} {graph.seconds:>8.2f}{mark}")
    for iri in result.removed:
        lines.append(f"  removed {iri} (not in this release)")
    return lines


def run_publish(args: argparse.Namespace) -> int:
    """The ``publish`` command; exit status 0 (loaded and checked), 1 (counts differ) or 2."""
    dist: Path = args.dist
    try:
        result = publish(dist, args.to, method=args.method, chunk_size=args.chunk_size)
    except PublishError as error:
        print(f"ezgraph publish: {error}", file=sys.stderr)
        if error.partial:
            print("The store may hold part of this release: run the command again once fixed "
                  "(each graph is replaced, so a second run ends in the same state).",
                  file=sys.stderr)
        return 2
    base = os.path.commonprefix([graph.iri for graph in result.graphs]).rsplit("graph/", 1)[0]
    for line in report_lines(result, base):
        print(line)
    found = sum(graph.found or 0 for graph in result.graphs)
    if result.mismatches:
        names = ", ".join(f"<{graph.iri}> (build {graph.expected}, store {graph.found})"
                          for graph in result.mismatches)
        print(f"ezgraph publish: the store does not hold what was sent: {names}",
              file=sys.stderr)
        return 1
    print(f"done in {result.seconds:.2f} s: {len(result.graphs)} graphs, {found} triples "
          f"checked in the store ({result.method}; queries at "
          f"{strip_credentials(result.query_endpoint)})")
    return 0


__all__ = ["PublishError", "PublishResult", "chunks", "endpoints_for", "publish",
           "read_release", "run_publish"]
