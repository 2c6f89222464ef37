"""Dumps and metadata: the files of the publish directory, VoID, DCAT and the validation report.

These are the only views that read files, and only the files of ``state.dist`` that the build's
manifest lists (plus the manifest itself): a request can never name another path.

Without a publish directory (``serve --store URL`` with no local build, or ``--data``), the
dumps are built from the store instead: every graph of the dataset but the metadata graph,
fetched with one ``CONSTRUCT`` per graph through the same :class:`~ezgraph.store.base.Store`
interface, blank nodes labelled canonically (RDFC-1.0) and quads sorted as the build writes
them, so for a store loaded with ``ezgraph publish --to`` ``ezgraph.nq.gz`` is byte for byte the
build's (its SHA-256 is the release id). They are built on first request, once per release and
web process, into a temporary directory removed at exit; a store that fails meanwhile gives a
503 and nothing is kept. VoID (``/.well-known/void``) and DCAT (``/catalog``) then come from
the store's metadata graph, which holds both; the validation report is only in a build.

Compressed dumps (``ezgraph.nt.gz``, ``ezgraph.nq.gz``) are served as what they are,
``application/gzip`` with a ``Content-Disposition: attachment`` filename, and no
``Content-Encoding``: a ``Content-Encoding: gzip`` would make browsers and HTTP clients unpack the
bytes on the fly, so the saved file would no longer match its name, size or SHA-256.

Downloads are conditional (strong ETags, the files' SHA-256) and resumable: werkzeug serves a
single byte range; what it would refuse with a needless 416 (another range unit, several byte
ranges, a suffix longer than the file) gets the whole file instead, as RFC 9110 §14.2 allows
or requires, and ``If-None-Match``/``If-Match`` are evaluated before any range (§13.2.2).
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import json
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from werkzeug.http import (
    dump_options_header,
    parse_options_header,
    parse_range_header,
    unquote_etag,
)
from werkzeug.utils import get_content_type
from werkzeug.utils import send_file as werkzeug_send_file

from ezgraph.namespaces import prefixes_for
from ezgraph.store.base import QueryRequest, Store, StoreError, StoreUnavailable
from ezgraph.web import rdfdoc
from ezgraph.web.linked_data import (
    DOCUMENT_FORMATS,
    HTML,
    RDF_FORMATS,
    TURTLE,
    Format,
    formatter,
    negotiate,
    not_acceptable,
    not_found_response,
    not_modified,
    public_base,
    store_error_response,
)
from ezgraph.web.state import get_state

log = logging.getLogger(__name__)

bp = Blueprint("dumps", __name__, template_folder="templates")
bp.register_error_handler(StoreError, store_error_response)

JSON = Format("json", "application/json", "JSON")
TEXT = Format("txt", "text/plain", "text")

NO_BUILD = ("This server has no publish directory (it serves {what} from a store or from RDF "
            "files given with --data), so it has no {thing}. Run `ezgraph build` and serve "
            "the result with `ezgraph serve --dist DIR`.")

_OX_FORMATS = {
    TURTLE.media_type: ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


@bp.errorhandler(404)
def not_found(error: Exception) -> Response:
    return not_found_response(getattr(error, "description", "") or "No such file.")


def _dist(thing: str) -> Path:
    state = get_state()
    if state.dist is None:
        abort(404, description=NO_BUILD.format(what="the data", thing=thing))
    return state.dist


def _manifest() -> dict[str, Any]:
    return get_state().manifest or {}


@dataclass(frozen=True)
class DumpFile:
    path: str
    media_type: str
    bytes: int
    sha256: str
    description: str

    @property
    def is_gzip(self) -> bool:
        return self.path.endswith(".gz")

    @property
    def served_media_type(self) -> str:
        return "application/gzip" if self.is_gzip else self.media_type


def dump_files() -> list[DumpFile]:
    files = []
    for entry in _manifest().get("files", []):
        files.append(DumpFile(
            path=str(entry["path"]),
            media_type=str(entry.get("media_type") or "application/octet-stream"),
            bytes=int(entry.get("bytes") or 0),
            sha256=str(entry.get("sha256") or ""),
            description=str(entry.get("description") or ""),
        ))
    return files


# --------------------------------------------------------------------------------------------
# The listing and the files


@bp.get("/dumps/")
def index() -> Response:
    state = get_state()
    if state.dist is None:
        files, manifest = _store_dumps().files(state.store, state.data_base), {}
        release = state.store.info().release
    else:
        files, manifest = dump_files(), _manifest()
        release = manifest.get("release")
    fmt = negotiate((HTML, JSON))
    if fmt is None:
        return not_acceptable((HTML, JSON))
    if fmt is JSON:
        listing = {
            "release": release,
            "version": manifest.get("version"),
            "base": manifest.get("base", state.data_base),
            "files": [
                {"path": f.path, "url": url_for("dumps.download", name=f.path, _external=True),
                 "media_type": f.media_type, "bytes": f.bytes, "sha256": f.sha256,
                 "description": f.description}
                for f in files
            ],
        }
        response = Response(json.dumps(listing, indent=2) + "\n", mimetype="application/json")
    else:
        shown = manifest or {"release": release}
        response = Response(render_template("dumps.html", files=files, manifest=shown),
                            mimetype="text/html")
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/dumps/<path:name>")
def download(name: str) -> Response:
    state = get_state()
    if state.dist is None:
        built = _store_dumps().files(state.store, state.data_base)
        entry = next((f for f in built if f.path == name), None)
        if entry is None:
            abort(404, description=NO_BUILD.format(what="the data", thing=f"file {name!r}")
                  + f" Dumps built from the store are listed at {url_for('dumps.index')}.")
        return _send(_store_dumps().path(entry), entry)
    dist = state.dist
    entry = next((f for f in dump_files() if f.path == name), None)
    if entry is None and name == "manifest.json" and (dist / name).is_file():
        entry = DumpFile(name, "application/json", 0, "", "build manifest")
    if entry is None:
        abort(404, description=f"No file {name!r} in this release; see {url_for('dumps.index')}")
    path = (dist / entry.path).resolve()
    if not path.is_relative_to(dist.resolve()) or not path.is_file():
        abort(404, description=f"The file {name!r} is listed in the manifest but missing.")
    return _send(path, entry)


#: Preconditions RFC 9110 §13.2.2 evaluates before a Range is considered.
_PRECONDITIONS = ("HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_IF_NONE_MATCH",
                  "HTTP_IF_MODIFIED_SINCE")


def _send(path: Path, entry: DumpFile) -> Response:
    environ = request.environ
    served = _range_for_werkzeug(environ.get("HTTP_RANGE"), path.stat().st_size)
    if served is not None and unquote_etag(environ.get("HTTP_IF_RANGE", ""))[1]:
        # If-Range compares strongly, so a weak tag never holds: the whole file (§13.1.5).
        served = None
    if served is not None and any(name in environ for name in _PRECONDITIONS):
        # werkzeug checks If-None-Match and If-Match only when it serves no range, so a
        # cached copy would get a 206 instead of its 304, a stale one a 206 instead of a 412.
        whole = _send_file(path, entry, environ, None)
        if whole.status_code != 200:
            return _no_file_with_412(whole)
        whole.close()
    return _no_file_with_412(_send_file(path, entry, environ, served))


def _no_file_with_412(response: Response) -> Response:
    """werkzeug sends the whole file with its 412; the client asked for it only if it had not
    changed, so it gets the reason instead."""
    if response.status_code != 412:
        return response
    response.close()
    abort(412, description="The file does not match If-Match (or has changed since "
                           "If-Unmodified-Since); its current entity tag is in the listing.")


def _send_file(path: Path, entry: DumpFile, environ: dict[str, Any],
               byte_range: str | None) -> Response:
    """Flask's ``send_file`` for the request ``environ`` with ``byte_range`` as its only
    ``Range``: a range werkzeug would turn into a needless 416 is ignored, or tidied up, by
    :func:`_range_for_werkzeug` (Flask's own ``send_file`` reads the request's as it is)."""
    if environ.get("HTTP_RANGE") != byte_range:
        environ = {name: value for name, value in environ.items() if name != "HTTP_RANGE"}
        if byte_range is not None:
            environ["HTTP_RANGE"] = byte_range
    response = werkzeug_send_file(
        path,
        environ,
        # werkzeug adds charset=utf-8 to text types itself: the parameters are set below.
        mimetype=parse_options_header(entry.served_media_type)[0],
        as_attachment=entry.is_gzip,
        download_name=Path(entry.path).name,
        conditional=True,
        etag=entry.sha256 or True,
        max_age=current_app.get_send_file_max_age,
        use_x_sendfile=current_app.config["USE_X_SENDFILE"],
        response_class=current_app.response_class,
    )
    response.headers["Content-Type"] = content_type(entry.served_media_type)
    if entry.sha256:
        # Lets a client check what it received (RFC 9530 representation digest).
        digest = base64.b64encode(bytes.fromhex(entry.sha256)).decode("ascii")
        response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response


def content_type(media_type: str) -> str:
    """The ``Content-Type`` of a file the manifest lists as ``media_type``: its parameters
    (``ezgraph build`` writes ``text/plain; charset=utf-8``) each once (RFC 6838 §4.3), and
    ``charset=utf-8`` on text types that name none, as werkzeug adds to every text type
    without looking whether one is there already."""
    essence, parameters = parse_options_header(media_type)
    _, added = parse_options_header(get_content_type(essence, "utf-8"))
    given = {name.lower() for name in parameters}
    return dump_options_header(essence, {
        **{name: value for name, value in added.items() if name.lower() not in given},
        **parameters,
    })


def _range_for_werkzeug(header: str | None, size: int) -> str | None:
    """The ``Range`` header to hand werkzeug for a file of ``size`` bytes, or None to ignore
    the request's and answer with the whole file.

    werkzeug serves one byte range (206) and answers 416 to anything else, including a suffix
    longer than the file or a last position past its end, both of which are satisfiable
    (RFC 9110 §14.1.1). RFC 9110 §14.2 asks more: a range unit the server does not support
    MUST be ignored, and a server MAY ignore a Range it does not serve or whose
    ranges-specifier is invalid. So a single byte range is handed on clamped to the file;
    several (werkzeug has no multipart/byteranges) get the whole representation when one of
    them is satisfiable, and only when none is does the 416 stand (§15.5.17).
    """
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes":
        return None  # absent, invalid, or another unit
    # werkzeug's ranges are [start, stop): a suffix is (-length, None).
    satisfiable = [start < 0 or start < size for start, _ in parsed.ranges]
    if len(parsed.ranges) != 1:
        return None if any(satisfiable) else header
    start, stop = parsed.ranges[0]
    if not satisfiable[0]:
        return header  # werkzeug's 416, with Content-Range: bytes */size
    if start < 0:
        return f"bytes=-{min(-start, size)}"  # a suffix longer than the file is all of it
    return f"bytes={start}-" + ("" if stop is None else str(min(stop, size) - 1))


# --------------------------------------------------------------------------------------------
# Dumps built from the store (no publish directory)

#: The graph of the build's VoID and DCAT descriptions, under the data's base.
METADATA_GRAPH_SUFFIX = "graph/metadata"
#: Dumps built from the store: file name, media type inside, description.
STORE_DUMP_FILES = (
    ("ezgraph.nq.gz", "application/gzip",
     "the dataset as gzipped N-Quads (application/n-quads inside), built from the store"),
    ("ezgraph.trig", "application/trig",
     "the dataset as TriG, one named graph per source (built from the store)"),
)
#: Seconds each graph's CONSTRUCT may take when a dump is built.
STORE_DUMP_TIMEOUT = 120.0


class StoreDumps:
    """The dumps of the store's current release, built once per release into a temporary
    directory; one instance per web process."""

    def __init__(self, metadata_graph_suffix: str = METADATA_GRAPH_SUFFIX) -> None:
        self._lock = threading.Lock()
        self._release: str | None = None
        self._files: list[DumpFile] = []
        self._directory: Path | None = None
        self._metadata_suffix = metadata_graph_suffix

    def files(self, store: Store, base: str) -> list[DumpFile]:
        release = store.info().release
        with self._lock:  # one build at a time; concurrent requests wait for it
            if self._release != release or not self._files:
                self._build(store, release, base)
            return list(self._files)

    def path(self, entry: DumpFile) -> Path:
        assert self._directory is not None
        return self._directory / entry.path

    def _build(self, store: Store, release: str, base: str) -> None:
        # The build's own writer: the same canonical labels, order and bytes.
        from ezgraph.publish.dumps import canonical, gzip_bytes

        info = store.info()
        quads: list[ox.Quad] = []
        for graph in info.graphs:
            if graph.iri.endswith(self._metadata_suffix):
                continue  # VoID and DCAT describe the dumps; the build's dumps leave them out
            # Room for a few more triples than counted: a truncated answer means the data
            # changed while the dump was built.
            response = store.query(QueryRequest(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph.iri}> {{ ?s ?p ?o }} }}",
                results_media_type=None, graph_media_type="application/n-triples",
                timeout=STORE_DUMP_TIMEOUT, max_rows=graph.triples + 1000,
            ))
            if response.truncated:
                raise StoreUnavailable(f"the data of <{graph.iri}> changed while its dump was "
                                       "built; try again", retry_after=5)
            name = ox.NamedNode(graph.iri)
            quads += [ox.Quad(q.subject, q.predicate, q.object, name)
                      for q in ox.parse(response.body, format=ox.RdfFormat.N_TRIPLES)]
        ordered = canonical(quads)
        directory = Path(tempfile.mkdtemp(prefix="ezgraph-dumps-"))
        atexit.register(shutil.rmtree, directory, True)
        try:
            nquads = gzip_bytes(ox.serialize(ordered, format=ox.RdfFormat.N_QUADS))
            trig = ox.serialize(ordered, format=ox.RdfFormat.TRIG,
                                prefixes=prefixes_for(base))
            files = []
            for (path, media_type, description), body in zip(
                STORE_DUMP_FILES, (nquads, trig), strict=True
            ):
                (directory / path).write_bytes(body)
                files.append(DumpFile(path, media_type, len(body),
                                      hashlib.sha256(body).hexdigest(), description))
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        self._directory, self._files, self._release = directory, files, release
        log.info("dumps of release %s built from the store: %s", release,
                 ", ".join(f"{f.path} ({f.bytes} bytes)" for f in files))


def _store_dumps() -> StoreDumps:
    extensions = current_app.extensions
    dumps = extensions.get("ezgraph.store_dumps")
    if dumps is None:
        dumps = extensions.setdefault("ezgraph.store_dumps", StoreDumps())
    return dumps


# --------------------------------------------------------------------------------------------
# Metadata files: VoID, DCAT


def _metadata_file(name: str, title: str, thing: str) -> Response:
    body = _metadata_turtle(name, thing)
    fmt = negotiate((TURTLE, HTML, *RDF_FORMATS[1:]))
    if fmt is None:
        return not_acceptable(DOCUMENT_FORMATS)
    headers = {"Vary": "Accept"}
    tag = hashlib.sha256(body + fmt.media_type.encode()).hexdigest()[:40]
    if fmt is HTML:
        tag = hashlib.sha256((tag + public_base()).encode()).hexdigest()[:40]
    if cached := not_modified(tag, headers):
        return cached
    if fmt is TURTLE:
        out = body
    else:
        try:
            description = rdfdoc.Description.from_bytes(body, ox.RdfFormat.TURTLE)
        except SyntaxError as error:
            abort(500, description=f"{name} in the publish directory does not parse: {error}")
        if fmt is HTML:
            _label_from_store(description)
            out = render_template("rdf_file.html", title=title, name=name,
                                  subjects=_subjects_in_order(description),
                                  fmt=formatter(description)).encode("utf-8")
        else:
            out = ox.serialize(ox.parse(body, format=ox.RdfFormat.TURTLE),
                               format=_OX_FORMATS[fmt.media_type])
    response = Response(out, content_type=fmt.content_type, headers=headers)
    response.set_etag(tag)
    return response


def _metadata_turtle(name: str, thing: str) -> bytes:
    """The build's ``name`` (``void.ttl``, ``dcat.ttl``) from the publish directory, or, when
    this server has none (``serve --store URL``), the store's metadata graph, where
    ``ezgraph build`` and ``ezgraph publish --to`` put VoID and DCAT together."""
    state = get_state()
    if state.dist is not None and (state.dist / name).is_file():
        return (state.dist / name).read_bytes()
    metadata_graph = state.data_base + METADATA_GRAPH_SUFFIX
    if any(graph.iri == metadata_graph for graph in state.store.info().graphs):
        return state.store.query(QueryRequest(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{metadata_graph}> {{ ?s ?p ?o }} }}",
            results_media_type=None, graph_media_type="text/turtle", timeout=state.timeout,
            max_rows=max(state.max_rows, 100_000),
        )).body
    _dist(thing)  # no publish directory: says so
    abort(404, description=f"This release has no {name}.")


def _label_from_store(description: rdfdoc.Description, iris: list[str] | None = None) -> None:
    """Names for the resources a metadata file mentions, from the data; the page is still
    useful without them, so a store that cannot answer only costs the labels."""
    state = get_state()
    if iris is None:
        iris = [t.value for triple in description for t in triple if t.is_iri]
    try:
        rdfdoc.add_labels(state.store, description, iris, state.timeout)
    except StoreError as error:
        log.warning("no labels for a metadata page: %s", error)


def _subjects_in_order(description: rdfdoc.Description) -> list[rdfdoc.Term]:
    """Resources first (datasets before distributions), blank nodes only when nothing points
    to them (the others are shown nested)."""
    subjects = [s for s in description.subjects_all()
                if s.is_iri or (s.is_bnode and not description.incoming(s))]

    def key(subject: rdfdoc.Term) -> tuple[int, str]:
        types = {t.value for t in description.types(subject)}
        rank = 0 if types & {rdfdoc.PREFIXES["void"] + "Dataset",
                             rdfdoc.PREFIXES["dcat"] + "Dataset",
                             rdfdoc.PREFIXES["dcat"] + "Catalog"} else 1
        return (rank, subject.value)

    return sorted(subjects, key=key)


@bp.get("/.well-known/void")
def void() -> Response:
    return _metadata_file("void.ttl", "VoID description", "VoID description")


@bp.get("/catalog")
def catalog() -> Response:
    return _metadata_file("dcat.ttl", "DCAT catalogue", "DCAT catalogue")


# --------------------------------------------------------------------------------------------
# The validation report


@dataclass
class ValidationResult:
    severity: str
    focus: rdfdoc.Term | None
    path: rdfdoc.Term | None
    value: rdfdoc.Term | None
    messages: list[rdfdoc.Term]
    shape: rdfdoc.Term | None
    component: str


@bp.get("/validation")
def validation() -> Response:
    dist = _dist("validation report")
    rdf_path = dist / "validation-report.ttl"
    text_path = dist / "validation-report.txt"
    if not rdf_path.is_file() and not text_path.is_file():
        abort(404, description="This release has no validation report.")
    offers = [HTML]
    if rdf_path.is_file():
        offers += [TURTLE, *RDF_FORMATS[1:]]
    if text_path.is_file():
        offers.append(TEXT)
    fmt = negotiate(offers)
    if fmt is None:
        return not_acceptable(offers)
    rdf_bytes = rdf_path.read_bytes() if rdf_path.is_file() else b""
    text = text_path.read_text(encoding="utf-8") if text_path.is_file() else ""
    headers = {"Vary": "Accept"}
    tag = hashlib.sha256(rdf_bytes + text.encode() + fmt.media_type.encode()).hexdigest()[:40]
    if cached := not_modified(tag, headers):
        return cached

    if fmt is TEXT:
        out = text.encode("utf-8")
    elif fmt is TURTLE:
        out = rdf_bytes
    elif fmt is HTML:
        out = _validation_page(rdf_bytes, text).encode("utf-8")
    else:
        out = ox.serialize(ox.parse(rdf_bytes, format=ox.RdfFormat.TURTLE),
                           format=_OX_FORMATS[fmt.media_type])
    response = Response(out, content_type=fmt.content_type, headers=headers)
    response.set_etag(tag)
    return response


def _validation_page(rdf_bytes: bytes, text: str) -> str:
    sh = rdfdoc.SH_NS
    description = rdfdoc.Description.from_bytes(rdf_bytes, ox.RdfFormat.TURTLE)
    reports = [s for s in description.subjects_all()
               if description.has_type(s, sh + "ValidationReport")]
    conforms: bool | None = None
    results: list[ValidationResult] = []
    for report in reports:
        flag = description.value(report, sh + "conforms")
        if flag is not None:
            conforms = (conforms is not False) and flag.value in ("true", "1")
        for node in description.objects(report, sh + "result"):
            severity = description.value(node, sh + "resultSeverity")
            component = description.value(node, sh + "sourceConstraintComponent")
            results.append(ValidationResult(
                severity=rdfdoc.local_name(severity.value) if severity else "Violation",
                focus=description.value(node, sh + "focusNode"),
                path=description.value(node, sh + "resultPath"),
                value=description.value(node, sh + "value"),
                messages=description.objects(node, sh + "resultMessage"),
                shape=description.value(node, sh + "sourceShape"),
                component=rdfdoc.local_name(component.value) if component else "",
            ))
    _label_from_store(description, [t.value for r in results[:1000]
                                     for t in (r.focus, r.path, r.value, r.shape)
                                     if t is not None and t.is_iri])
    if conforms is None:
        manifest_conforms = _manifest().get("conforms")
        conforms = bool(manifest_conforms) if manifest_conforms is not None else not results
    order = {"Violation": 0, "Warning": 1, "Info": 2}
    results.sort(key=lambda r: (order.get(r.severity, 3),
                                r.focus.value if r.focus else "", r.component))
    counts: dict[str, int] = {}
    for result in results:
        counts[result.severity] = counts.get(result.severity, 0) + 1
    return render_template(
        "validation.html", conforms=conforms, results=results[:1000], total=len(results),
        counts=counts, text=text, fmt=formatter(description),
        has_rdf=bool(rdf_bytes), has_text=bool(text),
    )
