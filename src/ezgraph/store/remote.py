"""The ``http(s)://`` backend: any SPARQL 1.1 endpoint, over the SPARQL 1.1 Protocol.

The web tier stays stateless and the store can be a cluster of its own (see docs/scale-out.md).
What this class adds on top of forwarding a query:

* **The guard runs first.** Updates and ``SERVICE`` are refused before a byte is sent; ``FROM``
  and ``default-graph-uri``/``named-graph-uri`` IRIs must be graphs of the dataset. The dataset
  is, in order: the ``graphs`` given; else, when the store holds ezgraph's metadata graph
  (``ezgraph publish --to`` loads it), the graphs its VoID lists plus that graph; else every
  named graph the store has. The catalogue is fetched on first use and kept ``info_ttl`` seconds.
* **One dataset semantics.** The default graph is the union of the dataset's named graphs. A
  store that answers so itself (Oxigraph ``--union-default-graph``, Fuseki ``unionDefaultGraph``)
  and holds no other graph gets the query as it is; otherwise (an empty default graph, or other
  graphs such as Virtuoso's system graphs) the union is spelled out with ``default-graph-uri`` +
  ``named-graph-uri`` parameters, unless the query names its own dataset with ``FROM``.
* **Exact row cap, uniform formats.** SELECT and ASK are fetched as SPARQL JSON, CONSTRUCT and
  DESCRIBE as N-Triples; rows (or triples) beyond ``max_rows`` are cut here and the answer is
  written in the negotiated format with the same encoders as the memory backend, so every
  backend answers alike (and a truncated JSON answer carries ``"truncated": true``). To spare
  the store the work, a SELECT without a top-level ``LIMIT`` or trailing ``VALUES`` gets
  ``LIMIT max_rows+1`` appended - the only rewrite that cannot change the answer's first rows.
* **Relative IRIs** resolve against ``base_iri`` (the data's base), like the embedded store: a
  query with a relative IRI and no ``BASE`` of its own gets ``BASE <base_iri>`` put in front, on
  its first line, so the store's line numbers in syntax errors stay right.
* **Timeouts.** The HTTP exchange is bounded by ``timeout + timeout_margin``; a store known to
  accept a timeout parameter gets it too (Virtuoso ``timeout`` in ms, Fuseki ``timeout`` in s).
  Oxigraph's server has no per-query parameter: the exchange is abandoned at the deadline but
  the server may go on computing (its ``--timeout-s`` option bounds that server-wide). A
  Virtuoso "anytime" partial answer (``X-SQL-State: S1TAT``) is a timeout, not a result.
* **Failures are temporary, never cached.** Connection refused or lost, 502/503/504 and other
  5xx become :class:`StoreUnavailable` with a ``retry_after``; after a connection failure the
  store is not contacted for ``cooldown`` seconds (a short circuit breaker, so a dead store
  does not cost every request a connect attempt), then the next request tries again. Only a
  catalogue or count that was fully answered is kept.
* **The release** is the SHA-256 prefix of the N-Quads dump that the metadata graph's DCAT
  records (the same id ``manifest.json`` has, so ETags match the embedded store's), else
  ``release``, else a digest of the per-graph triple counts. The data can be republished while
  it is served, so the recorded release is read again (one small query on the metadata graph)
  when ``info()`` is asked and it was last read more than ``release_ttl`` seconds ago (5 by
  default); when it has changed, the catalogue and counts are dropped and fetched again. Without
  a recorded release (no metadata graph, or ``graphs`` given) the counts digest follows the
  counts, which are kept ``info_ttl`` seconds.

Answers are not cached here (the data behind a URL can change at any moment); the web tier's
per-release caches apply once the release is known.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import pyoxigraph as ox

from ezgraph.namespaces import DEFAULT_BASE, prefixes_for
from ezgraph.store import httpclient
from ezgraph.store.base import (
    GRAPH_MEDIA_TYPES,
    RESULTS_MEDIA_TYPES,
    GraphInfo,
    NotAcceptable,
    QueryRefused,
    QueryRequest,
    QueryResponse,
    QuerySyntaxError,
    QueryTimeout,
    Store,
    StoreError,
    StoreInfo,
    StoreUnavailable,
)
from ezgraph.store.guard import check_dataset_params, check_scan, scan_query, tokenize
from ezgraph.store.memory import encode_boolean, encode_solutions, encode_triples

log = logging.getLogger(__name__)

TimeoutParameter = Literal["auto", "virtuoso", "fuseki", "none"]

_JSON_RESULTS = "application/sparql-results+json"
_GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.8"
#: Media types stores use for N-Triples besides the registered one.
_NTRIPLES_ALIASES = ("text/plain", "text/ntriples", "text/x-nt", "application/x-ntriples")
# How stores word "your query ran out of time" when they answer with an error status.
_TIMEOUT_MESSAGE = re.compile(
    r"time[- ]?out|timed out|S1T00|SR171|exceeds the limit|cancell?ed", re.IGNORECASE
)
#: An IRI reference without a scheme (a relative IRI), roughly; the tokenizer decides.
_RELATIVE_IRI_HINT = re.compile(r"<(?![A-Za-z][A-Za-z0-9+.\-]*:)[^<>\s]*>")
#: Triples sampled to tell whether the store's default graph is the union of its graphs.
_UNION_SAMPLE = 50


@dataclass(frozen=True)
class _Catalogue:
    """What the store holds, as far as the guard and the dataset semantics need to know."""

    graph_iris: frozenset[str]
    #: True when the query must spell out the union default graph with protocol parameters.
    explicit_union: bool
    #: The store's ``Server`` header, to pick its timeout parameter.
    server: str
    #: The release id the metadata graph records ("" when it has none).
    release: str
    fetched_at: float


class RemoteStore(Store):
    """A read-only view of a remote SPARQL 1.1 endpoint.

    ``graphs`` restricts the dataset to those named graphs (for a store shared with other
    data); by default the metadata graph ``metadata_graph`` (``None`` to skip) says which graphs
    the dataset has, when the store holds it. ``release`` fixes the release id when the metadata
    graph does not give one. ``base_iri`` is the base relative IRIs in queries resolve against;
    ``prefixes`` abbreviate Turtle and TriG answers.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout_margin: float = 2.0,
        graphs: Sequence[str] | None = None,
        release: str | None = None,
        base_iri: str = DEFAULT_BASE,
        metadata_graph: str | None = DEFAULT_BASE + "graph/metadata",
        info_ttl: float = 60.0,
        release_ttl: float = 5.0,
        cooldown: float = 2.0,
        retry_after: int = 10,
        timeout_parameter: TimeoutParameter = "auto",
        catalogue_timeout: float = 30.0,
        max_response_bytes: int = 256 * 1024 * 1024,
        prefixes: Mapping[str, str] | None = None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) SPARQL endpoint URL: {endpoint!r}")
        self.endpoint = endpoint
        self.base_iri = base_iri
        self.timeout_margin = timeout_margin
        self._configured_graphs = tuple(graphs) if graphs is not None else None
        self._metadata_graph = metadata_graph
        self._release = release
        self._info_ttl = info_ttl
        self._release_ttl = release_ttl
        self._cooldown = cooldown
        self._retry_after = retry_after
        self._timeout_parameter = timeout_parameter
        self._catalogue_timeout = catalogue_timeout
        self._max_response_bytes = max_response_bytes
        self._prefixes = dict(prefixes if prefixes is not None else prefixes_for(base_iri))
        self._lock = threading.Lock()
        self._cached_catalogue: _Catalogue | None = None
        #: The counts, when they were taken, and the catalogue they were taken with.
        self._cached_info: tuple[float, StoreInfo, _Catalogue] | None = None
        self._release_lock = threading.Lock()
        #: When the metadata graph's release was last read (monotonic clock; -inf: never).
        self._release_read_at = float("-inf")
        self._down_until = 0.0
        self._down_reason = ""
        #: False from a failed exchange until the next one that gets an answer.
        self._reachable = True

    # ------------------------------------------------------------------ the Store interface

    def query(self, request: QueryRequest) -> QueryResponse:
        scan = scan_query(request.query, self.base_iri)
        check_scan(scan, None)  # updates and SERVICE: refused before anything is sent
        if scan.form is None:
            raise QuerySyntaxError(
                "not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE"
            )
        graph_form = scan.form in ("CONSTRUCT", "DESCRIBE")
        media_type = request.graph_media_type if graph_form else request.results_media_type
        if media_type is None:
            raise NotAcceptable(scan.form)
        if media_type not in (GRAPH_MEDIA_TYPES if graph_form else RESULTS_MEDIA_TYPES):
            raise ValueError(f"unsupported media type {media_type!r} for a {scan.form} result")

        self._follow_release()  # a republish may have changed the graphs of the dataset
        catalogue = self._catalogue()
        check_scan(scan, catalogue.graph_iris)
        check_dataset_params(
            request.default_graph_uris, request.named_graph_uris, catalogue.graph_iris
        )
        params: list[tuple[str, str]] = []
        if request.default_graph_uris or request.named_graph_uris:
            params += [("default-graph-uri", iri) for iri in request.default_graph_uris]
            params += [("named-graph-uri", iri) for iri in request.named_graph_uris]
        elif scan.has_dataset_clause:
            # The same dataset again as protocol parameters (which the protocol says replace
            # the query's): `oxigraph serve --union-default-graph` ignores FROM otherwise.
            params += [("default-graph-uri", iri) for iri in scan.from_graphs]
            params += [("named-graph-uri", iri) for iri in scan.from_named_graphs]
        elif catalogue.explicit_union:
            params += self._union_params(catalogue)
        params += self._timeout_params(catalogue, request.timeout)
        text, shift = self._with_base(request.query)
        if scan.form == "SELECT":
            # Virtuoso refuses an ORDER BY with a LIMIT above its MaxSortedTopRows (10000 by
            # default) where it would sort the whole answer without one.
            virtuoso = "virtuoso" in catalogue.server.lower()
            text = with_row_limit(text, request.max_rows + 1, unless_ordered=virtuoso)

        started = time.perf_counter()
        response = self._post(
            [("query", text), *params],
            accept=_GRAPH_ACCEPT if graph_form else _JSON_RESULTS,
            timeout=request.timeout + self.timeout_margin,
            on_timeout=lambda: QueryTimeout(request.timeout),
        )
        self._raise_for_status(response, request.timeout, shift, request.query)
        if graph_form:
            body, truncated = self._graph_answer(response, media_type, request.max_rows)
            form = scan.form
        else:
            form, body, truncated = self._results_answer(response, media_type, request.max_rows)
        return QueryResponse(form, media_type, body, truncated, time.perf_counter() - started)

    #: Others may republish the data while it is served (see the module docstring).
    release_can_change = True

    def info(self) -> StoreInfo:
        self._follow_release()
        cached = self._cached_info
        if (cached is not None and time.monotonic() - cached[0] < self._info_ttl
                and cached[2] is self._cached_catalogue):  # not from an older catalogue
            if not self._reachable:
                # The last exchange failed: the counts are still right, but /health and the
                # callers must hear that the store is down until it answers again.
                self._ask("ASK {}")
            return cached[1]
        catalogue = self._catalogue()
        values = " ".join(f"<{iri}>" for iri in sorted(catalogue.graph_iris))
        rows = self._select(
            f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g "
            "{ ?s ?p ?o } } GROUP BY ?g"
        )
        graphs = tuple(
            GraphInfo(iri, count)
            for iri, count in sorted((row["g"]["value"], int(row["n"]["value"])) for row in rows)
        )
        union = self._union_params(catalogue) if catalogue.explicit_union else []
        total_rows = self._select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", union)
        triples = int(total_rows[0]["n"]["value"]) if total_rows else 0
        release = catalogue.release or self._release or _counts_digest(triples, graphs)
        info = StoreInfo(backend="remote", triples=triples, graphs=graphs, release=release)
        self._cached_info = (time.monotonic(), info, catalogue)
        return info

    def refresh(self) -> None:
        """Forget the catalogue and counts: the next request fetches them again (after a
        publish, so as not to wait up to ``release_ttl`` or ``info_ttl`` seconds)."""
        self._cached_catalogue = None
        self._cached_info = None

    def _follow_release(self) -> None:
        """Read the release the metadata graph records, at most every ``release_ttl`` seconds;
        when it is not the one the kept catalogue has, forget catalogue and counts (a publish
        happened: the graph list, the counts and the release are all fetched again)."""
        if self._configured_graphs is not None or not self._metadata_graph:
            return  # the catalogue reads no release from the store: nothing to follow
        if time.monotonic() - self._release_read_at < self._release_ttl:
            return
        with self._release_lock:  # one reader at a time; the others use what it found
            started = time.monotonic()
            if started - self._release_read_at < self._release_ttl:
                return
            catalogue = self._cached_catalogue
            if catalogue is None:
                # Nothing kept: the catalogue about to be fetched reads the release itself.
                self._release_read_at = started
                return
            recorded = self._recorded_release(self._metadata_graph)
            self._release_read_at = started
            if recorded != catalogue.release and self._cached_catalogue is catalogue:
                log.info("the store at %s now holds release %s (was %s): reading its "
                         "catalogue again", self.endpoint, recorded or "(none)",
                         catalogue.release or "(none)")
                self.refresh()

    # ------------------------------------------------------------------ the dataset

    def _catalogue(self) -> _Catalogue:
        cached = self._cached_catalogue
        if cached is not None and time.monotonic() - cached.fetched_at < self._info_ttl:
            return cached
        with self._lock:  # one refresh at a time; the others wait and reuse it
            cached = self._cached_catalogue
            if cached is not None and time.monotonic() - cached.fetched_at < self._info_ttl:
                return cached
            started = time.monotonic()
            catalogue = self._fetch_catalogue()
            self._cached_catalogue = catalogue
            self._release_read_at = started  # the release was just read with it
            return catalogue

    def _fetch_catalogue(self) -> _Catalogue:
        server_header: list[str] = []
        rows = self._select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", server_header=server_header
        )
        store_graphs = frozenset(row["g"]["value"] for row in rows if "g" in row)
        release = ""
        if self._configured_graphs is not None:
            graph_iris = frozenset(self._configured_graphs)
        else:
            graph_iris = store_graphs
            if self._metadata_graph in store_graphs:
                listed, release = self._read_metadata(self._metadata_graph)
                if listed:
                    graph_iris = frozenset(listed) | {self._metadata_graph}
        # The store's own default graph is the union when the named graphs' triples are in it;
        # a sample decides (a full comparison would read the whole store).
        union_sample = (
            f"ASK {{ {{ SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} "
            f"LIMIT {_UNION_SAMPLE} }} FILTER NOT EXISTS {{ ?s ?p ?o }} }}"
        )
        store_is_union = bool(store_graphs) and not self._ask(union_sample)
        explicit_union = bool(graph_iris) and not (store_is_union and store_graphs <= graph_iris)
        return _Catalogue(
            graph_iris=graph_iris,
            explicit_union=explicit_union,
            server=server_header[0] if server_header else "",
            release=release,
            fetched_at=time.monotonic(),
        )

    def _read_metadata(self, metadata_graph: str) -> tuple[list[str], str]:
        """The graphs the metadata graph's VoID lists, and the release its DCAT records."""
        graph = f"GRAPH <{metadata_graph}>"
        rows = self._select(
            f"SELECT DISTINCT ?g WHERE {{ {graph} {{ ?dataset <http://rdfs.org/ns/void#subset> "
            "?g . ?g a <http://www.w3.org/ns/sparql-service-description#NamedGraph> } }"
        )
        listed = [row["g"]["value"] for row in rows if row.get("g", {}).get("type") == "uri"]
        return listed, self._recorded_release(metadata_graph)

    def _recorded_release(self, metadata_graph: str) -> str:
        """The release the metadata graph's DCAT records ("" when it records none)."""
        graph = f"GRAPH <{metadata_graph}>"
        # The build names its release after the N-Quads dump's SHA-256 (manifest.json).
        rows = self._select(
            f"SELECT ?sum WHERE {{ {graph} {{ ?file <http://www.w3.org/ns/dcat#downloadURL> "
            "?url ; <http://spdx.org/rdf/terms#checksum> ?checksum . ?checksum "
            "<http://spdx.org/rdf/terms#checksumValue> ?sum FILTER(STRENDS(STR(?url), "
            '"/ezgraph.nq.gz")) } } LIMIT 1'
        )
        checksum = rows[0]["sum"]["value"] if rows else ""
        release = checksum[:16] if re.fullmatch(r"[0-9a-fA-F]{64}", checksum) else ""
        return release.lower()

    @staticmethod
    def _union_params(catalogue: _Catalogue) -> list[tuple[str, str]]:
        ordered = sorted(catalogue.graph_iris)
        return [("default-graph-uri", iri) for iri in ordered] + [
            ("named-graph-uri", iri) for iri in ordered
        ]

    def _timeout_params(self, catalogue: _Catalogue, timeout: float) -> list[tuple[str, str]]:
        kind = self._timeout_parameter
        if kind == "auto":
            server = catalogue.server.lower()
            kind = (
                "virtuoso" if "virtuoso" in server else "fuseki" if "fuseki" in server else "none"
            )
        if kind == "virtuoso":
            return [("timeout", str(max(1, round(timeout * 1000))))]
        if kind == "fuseki":
            return [("timeout", f"{timeout:g}")]
        return []

    def _with_base(self, query: str) -> tuple[str, int]:
        """``query`` with ``BASE <base_iri>`` in front when it has a relative IRI and no BASE of
        its own; and how many characters were put before its first line."""
        if "<" not in query or not _RELATIVE_IRI_HINT.search(query):
            return query, 0
        relative = False
        for token in tokenize(query):
            if token.kind == "word" and token.text.upper() == "BASE":
                return query, 0
            if token.kind == "iri" and not re.match(r"<[A-Za-z][A-Za-z0-9+.\-]*:", token.text):
                relative = True
        if not relative:
            return query, 0
        prefix = f"BASE <{self.base_iri}> "
        return prefix + query, len(prefix)

    # ------------------------------------------------------------------ answers

    def _results_answer(
        self, response: httpclient.HttpResponse, media_type: str, max_rows: int
    ) -> tuple[Any, bytes, bool]:
        document = self._json_results(response)
        answer = _boolean(document)
        if answer is not None:
            return "ASK", encode_boolean(answer, media_type), False
        bindings = document["results"]["bindings"]
        truncated = len(bindings) > max_rows
        body = response.body
        if truncated or _normalize_bindings(bindings):
            document["results"]["bindings"] = bindings[:max_rows]
            document.pop("truncated", None)
            body = json.dumps(document).encode()
        try:
            return "SELECT", encode_solutions(body, media_type, truncated), truncated
        except SyntaxError as error:
            raise StoreError(
                f"the store at {self.endpoint} sent SPARQL JSON results ezgraph cannot read: "
                f"{error}"
            ) from None

    def _graph_answer(
        self, response: httpclient.HttpResponse, media_type: str, max_rows: int
    ) -> tuple[bytes, bool]:
        received = response.media_type or "text/plain"
        if received in _NTRIPLES_ALIASES:
            received = "application/n-triples"
        rdf_format = ox.RdfFormat.from_media_type(received)
        if rdf_format is None:
            raise StoreError(
                f"the store at {self.endpoint} answered a graph as {response.media_type!r}, "
                "which is not an RDF format ezgraph reads"
            )
        try:
            parsed = ox.parse(response.body, format=rdf_format)
            triples = list(itertools.islice(parsed, max_rows + 1))
        except SyntaxError as error:
            raise StoreError(
                f"the store at {self.endpoint} sent unreadable RDF ({received}): {error}"
            ) from None
        truncated = len(triples) > max_rows
        return encode_triples(triples[:max_rows], media_type, self._prefixes), truncated

    def _json_results(self, response: httpclient.HttpResponse) -> dict[str, Any]:
        try:
            document = json.loads(response.body)
            if "boolean" not in document:
                document["head"]["vars"]  # noqa: B018 - shape check
                if not isinstance(document["results"]["bindings"], list):
                    raise TypeError
        except (ValueError, KeyError, TypeError):
            raise StoreError(
                f"the store at {self.endpoint} did not answer with SPARQL JSON results "
                f"({response.media_type or 'no media type'}: {response.text(200)})"
            ) from None
        return document

    # ------------------------------------------------------------------ HTTP

    def _select(
        self,
        query: str,
        params: list[tuple[str, str]] | None = None,
        server_header: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Run one of our own bookkeeping queries; its rows as SPARQL JSON bindings."""
        response = self._bookkeeping(query, params)
        if server_header is not None:
            server_header.append(response.header("Server") or "")
        document = self._json_results(response)
        return document.get("results", {}).get("bindings", [])

    def _ask(self, query: str) -> bool:
        return _boolean(self._json_results(self._bookkeeping(query, None))) is True

    def _bookkeeping(
        self, query: str, params: list[tuple[str, str]] | None
    ) -> httpclient.HttpResponse:
        def slow() -> StoreError:
            return StoreUnavailable(
                f"the SPARQL store at {self.endpoint} is too slow: listing its graphs took "
                f"more than {self._catalogue_timeout:g} s",
                retry_after=self._retry_after,
            )

        response = self._post(
            [("query", query), *(params or [])],
            accept=_JSON_RESULTS,
            timeout=self._catalogue_timeout,
            on_timeout=slow,
        )
        self._raise_for_status(response, self._catalogue_timeout, 0, query)
        return response

    def _post(
        self,
        form: list[tuple[str, str]],
        *,
        accept: str,
        timeout: float,
        on_timeout: Callable[[], StoreError],
    ) -> httpclient.HttpResponse:
        remaining = self._down_until - time.monotonic()
        if remaining > 0:
            raise StoreUnavailable(self._down_reason, retry_after=self._retry_after)
        body = urlencode(form).encode()
        try:
            response = httpclient.request(
                "POST",
                self.endpoint,
                body=body,
                headers={
                    "Accept": accept,
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": "ezgraph",
                },
                timeout=timeout,
                connect_timeout=min(timeout, 5.0),
                max_body=self._max_response_bytes,
            )
        except httpclient.ConnectFailed as error:
            reason = f"the SPARQL store at {self.endpoint} is unreachable ({error})"
            raise self._trip(reason) from None
        except httpclient.ResponseTimeout:
            raise on_timeout() from None
        except httpclient.ResponseTooLarge:
            raise QueryRefused(
                f"the answer is larger than {self._max_response_bytes // (1024 * 1024)} MB; "
                "narrow the query or add a LIMIT"
            ) from None
        self._reachable = response.status < 500
        return response

    def _trip(self, reason: str) -> StoreUnavailable:
        """Remember that the store is down for ``cooldown`` seconds; the error to raise."""
        self._down_reason = f"{reason}; try again shortly"
        self._down_until = time.monotonic() + self._cooldown
        self._reachable = False
        return StoreUnavailable(self._down_reason, retry_after=self._retry_after)

    def _raise_for_status(
        self, response: httpclient.HttpResponse, timeout: float, shift: int, query: str
    ) -> None:
        """Raise the error a non-200 answer means. ``shift`` characters were put in front of
        the first line of ``query`` (``BASE``) and a ``LIMIT`` line may follow it: positions
        the store reports are mapped back to the query as the client wrote it."""
        status = response.status
        if status == 200:
            # Virtuoso's "anytime query" answers a partial result when its timeout hits.
            sql_state = response.header("X-SQL-State") or ""
            if sql_state.upper().startswith("S1T"):
                raise QueryTimeout(timeout)
            return
        message = response.text()
        if status == 400:
            line, column = _position(message)
            if line == 1 and column is not None:
                column = max(1, column - shift)
            lines = query.split("\n")
            if line is not None and line > len(lines):  # in the LIMIT we added: at the end
                line, column = len(lines), len(lines[-1]) + 1
            where = f" at line {line}, column {column}" if line and column else (
                f" at line {line}" if line else ""
            )
            raise QuerySyntaxError(
                f"the query does not parse{where} (the SPARQL store says: {message})",
                line,
                column,
            )
        if status >= 500 and _TIMEOUT_MESSAGE.search(message):
            raise QueryTimeout(timeout)
        if status in (502, 503, 504):
            retry_after = _retry_after(response.header("Retry-After"), self._retry_after)
            raise StoreUnavailable(
                f"the SPARQL store at {self.endpoint} is unavailable ({status} "
                f"{response.reason}): {message}",
                retry_after=retry_after,
            )
        if status >= 500:
            raise StoreUnavailable(
                f"the SPARQL store at {self.endpoint} failed ({status} {response.reason}): "
                f"{message}",
                retry_after=self._retry_after,
            )
        raise StoreError(
            f"the SPARQL store at {self.endpoint} answered {status} {response.reason}: {message}"
        )


def with_row_limit(query: str, limit: int, *, unless_ordered: bool = False) -> str:
    """``query`` with ``LIMIT limit`` appended, unless it has a top-level ``LIMIT`` or a trailing
    ``VALUES`` block (after which a ``LIMIT`` would be a syntax error), or, with
    ``unless_ordered``, a top-level ``ORDER BY``.

    Tokens come from the guard's SPARQL scanner, so braces, ``LIMIT`` and ``VALUES`` inside
    strings, IRIs and comments do not count; depth 0 is outside every group graph pattern, where
    only the outer query's solution modifiers and its ``VALUES`` can be.
    """
    stops = ("LIMIT", "VALUES", "ORDER") if unless_ordered else ("LIMIT", "VALUES")
    depth = 0
    for token in tokenize(query):
        if token.kind == "other" and token.text == "{":
            depth += 1
        elif token.kind == "other" and token.text == "}":
            depth -= 1
        elif depth == 0 and token.kind == "word" and token.text.upper() in stops:
            return query
    # On its own line: the query may end in a comment.
    return f"{query}\nLIMIT {limit}"


def _boolean(document: dict[str, Any]) -> bool | None:
    """The answer of an ASK, ``None`` for SELECT results. Virtuoso 7.2 answers an ASK as a
    one-column SELECT (``__ASK_RETVAL``, 1 or 0) in every results format."""
    if "boolean" in document:
        return document["boolean"] is True
    if document.get("head", {}).get("vars") == ["__ASK_RETVAL"]:
        rows = document["results"]["bindings"]
        return bool(rows) and rows[0].get("__ASK_RETVAL", {}).get("value") not in ("0", "false")
    return None


def _normalize_bindings(bindings: list[dict[str, Any]]) -> bool:
    """Rewrite SPARQL 1.0-era JSON terms (Virtuoso's ``"typed-literal"``) as SPARQL 1.1 ones,
    in place; True when something changed."""
    changed = False
    for row in bindings:
        for term in row.values():
            if isinstance(term, dict) and term.get("type") == "typed-literal":
                term["type"] = "literal"
                changed = True
    return changed


def _position(message: str) -> tuple[int | None, int | None]:
    """Line and column from a store's syntax error (Oxigraph "at 1:31", Virtuoso "line 1")."""
    match = re.search(r"\bat (\d+):(\d+)", message)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = re.search(r"\bline (\d+)", message)
    return (int(match.group(1)), None) if match else (None, None)


def _retry_after(header: str | None, default: int) -> int:
    if header and header.strip().isdigit():
        return max(1, min(int(header.strip()), 300))
    return default


def _counts_digest(triples: int, graphs: Sequence[GraphInfo]) -> str:
    digest = hashlib.sha256(f"{triples}\n".encode())
    for graph in graphs:
        digest.update(f"{graph.iri} {graph.triples}\n".encode())
    return digest.hexdigest()
