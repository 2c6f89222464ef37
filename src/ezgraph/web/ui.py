"""The pages for people: the home page and the SPARQL query editor.

The query editor is YASGUI, served from this package (``static/vendor/yasgui``) and configured
in ``static/query-editor.js`` so that it contacts no outside service: only this server's
``/sparql``. The example queries are the ``queries/*.rq`` files (read at each request from the
folder in the app config ``QUERIES_DIR``, default ``./queries``); each starts with comment lines
``# title: …`` and ``# description: …``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, url_for

from ezgraph import __version__
from ezgraph.namespaces import prefixes_for
from ezgraph.store.base import StoreError
from ezgraph.web import rdfdoc
from ezgraph.web.linked_data import (
    etag_of,
    href_for,
    not_modified,
    public_base,
    release,
    store_error_response,
)
from ezgraph.web.state import get_state

log = logging.getLogger(__name__)

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
bp.register_error_handler(StoreError, store_error_response)

@bp.app_context_processor
def site_navigation() -> dict[str, bool]:
    """What every page's navigation may link to (no downloads without a publish directory)."""
    state = current_app.extensions.get("ezgraph")
    return {"has_dist": state is not None and state.dist is not None}


#: Longest example query file read (a guard against pointing QUERIES_DIR at the wrong folder).
MAX_QUERY_FILE_BYTES = 100_000


# --------------------------------------------------------------------------------------------
# Home


@dataclass
class ClassCount:
    iri: str
    href: str | None
    label: str
    label_zh: str | None
    count: int


@dataclass
class Zone:
    iri: str
    href: str | None
    label: str
    label_zh: str | None
    figures: int


def _class_counts(state, limit: int = 30) -> list[ClassCount]:
    query = f"""{rdfdoc.prefix_block(state.data_base, rdfdoc.QUERY_PREFIXES)}
SELECT ?class ?n ?name
WHERE {{
  {{ SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s rdf:type ?class }}
    GROUP BY ?class ORDER BY DESC(?n) LIMIT {limit} }}
  OPTIONAL {{ ?class rdfs:label|skos:prefLabel ?name }}
}}"""
    counts: dict[str, int] = {}
    names: dict[str, list[rdfdoc.Term]] = {}
    for row in rdfdoc.select(state.store, query, state.timeout):
        cls = row.get("class")
        if cls is None or not cls.is_iri:
            continue
        counts[cls.value] = int(row["n"].value)
        names.setdefault(cls.value, [])
        if "name" in row:
            names[cls.value].append(row["name"])
    result = []
    for iri, count in counts.items():
        label = rdfdoc.pick_language(names[iri], "en") or rdfdoc.local_name(iri)
        zh = rdfdoc.pick_language(names[iri], "zh", fallback=False)
        result.append(ClassCount(iri, href_for(iri, True), label, zh, count))
    result.sort(key=lambda c: (-c.count, c.label.casefold()))
    return result


def split_own_classes(classes: list[ClassCount], base: str) -> tuple[list, list]:
    """The classes of the data's own ontology, and the rest (OWL, SHACL, VoID ... of the
    ontology, shapes and metadata graphs); everything is "own" for data without our ontology."""
    own = [c for c in classes if c.iri.startswith(base + "def/")]
    if not own:
        return classes, []
    return own, [c for c in classes if not c.iri.startswith(base + "def/")]


def zones_query(base: str) -> str:
    return f"""{rdfdoc.prefix_block(base, (*rdfdoc.QUERY_PREFIXES, "ez"))}
# Every development zone (of any kind) with the number of figures about it
SELECT ?zone ?name (COUNT(DISTINCT ?figure) AS ?figures)
WHERE {{
  ?zone rdf:type/rdfs:subClassOf* ez:DevelopmentZone .
  OPTIONAL {{ ?zone rdfs:label|skos:prefLabel ?name }}
  OPTIONAL {{ ?figure sosa:hasFeatureOfInterest ?zone }}
}}
GROUP BY ?zone ?name"""


def _zones(state) -> list[Zone]:
    names: dict[str, list[rdfdoc.Term]] = {}
    figures: dict[str, int] = {}
    for row in rdfdoc.select(state.store, zones_query(state.data_base), state.timeout):
        zone = row.get("zone")
        if zone is None or not zone.is_iri:
            continue
        names.setdefault(zone.value, [])
        if "name" in row:
            names[zone.value].append(row["name"])
        figures[zone.value] = max(figures.get(zone.value, 0), int(row["figures"].value))
    zones = [
        Zone(iri, href_for(iri, True),
             rdfdoc.pick_language(labels, "en") or rdfdoc.local_name(iri),
             rdfdoc.pick_language(labels, "zh", fallback=False), figures[iri])
        for iri, labels in names.items()
    ]
    zones.sort(key=lambda z: z.label.casefold())
    return zones


def _dataset_text(state) -> tuple[str | None, str | None]:
    """Title and description the data gives its dataset (``{base}dataset``), if any."""
    prefixes = rdfdoc.prefix_block(state.data_base, rdfdoc.QUERY_PREFIXES)
    query = f"""{prefixes}
SELECT ?p ?text WHERE {{
  {rdfdoc.sparql_iri(state.data_base + "dataset")} ?p ?text .
  VALUES ?p {{ dcterms:title rdfs:label dcterms:description rdfs:comment }}
  FILTER(isLiteral(?text))
}}"""
    titles: list[rdfdoc.Term] = []
    descriptions: list[rdfdoc.Term] = []
    for row in rdfdoc.select(state.store, query, state.timeout):
        name = rdfdoc.local_name(row["p"].value)
        (titles if name in ("title", "label") else descriptions).append(row["text"])
    return rdfdoc.pick_language(titles, "en"), rdfdoc.pick_language(descriptions, "en")


@bp.get("/")
def home() -> Response:
    state = get_state()
    current = release()
    tag = etag_of(current, "home", public_base(), __version__) if current else ""
    # Weak, as documents' are (ezgraph.web.linked_data): which classes tied at the 60th count
    # are shown, and which of several English titles, follow the store's order.
    if cached := not_modified(tag, {}, weak=True):
        return cached
    info = state.store.info()
    title, description = _dataset_text(state)
    manifest = state.manifest or {}
    graphs = sorted(info.graphs, key=lambda g: g.iri)
    classes, other_classes = split_own_classes(_class_counts(state, limit=60), state.data_base)
    body = render_template(
        "home.html",
        title=title,
        description=description,
        info=info,
        graphs=[(g, href_for(g.iri, True)) for g in graphs],
        classes=classes,
        other_classes=other_classes,
        zones=_zones(state),
        zones_editor_link=url_for("ui.query_editor", query=zones_query(state.data_base)),
        manifest=manifest,
        has_dist=state.dist is not None,
        sparql_url=sparql_url(),
        release=current,
    )
    response = Response(body, mimetype="text/html")
    if tag:
        response.set_etag(tag, weak=True)
    return response


# --------------------------------------------------------------------------------------------
# Query editor


@dataclass(frozen=True)
class ExampleQuery:
    name: str
    title: str
    description: str
    query: str


def queries_dir() -> Path:
    configured = current_app.config.get("QUERIES_DIR")
    return Path(configured) if configured else Path.cwd() / "queries"


def example_queries(folder: Path | None = None) -> list[ExampleQuery]:
    """The ``*.rq`` files of ``folder`` in name order; none if the folder does not exist."""
    folder = folder or queries_dir()
    if not folder.is_dir():
        return []
    examples = []
    for path in sorted(folder.glob("*.rq")):
        try:
            if path.stat().st_size > MAX_QUERY_FILE_BYTES:
                log.warning("skipping example query %s: larger than %d bytes", path,
                            MAX_QUERY_FILE_BYTES)
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            log.warning("skipping example query %s: %s", path, error)
            continue
        title, description = _header(text)
        examples.append(ExampleQuery(path.stem, title or path.stem.replace("-", " "),
                                     description or "", text))
    return examples


def _header(text: str) -> tuple[str | None, str | None]:
    """``# title:`` and ``# description:`` from the comment lines a query file starts with."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        key, colon, value = stripped.lstrip("#").strip().partition(":")
        key = key.strip().lower()
        if colon and key in ("title", "description") and key not in fields:
            fields[key] = value.strip()
    return fields.get("title"), fields.get("description")


def sparql_url() -> str:
    """This server's SPARQL endpoint, absolute (YASGUI wants a full URL)."""
    return request.url_root.rstrip("/") + "/sparql"


def starter_query(base: str) -> str:
    prefixes = prefixes_for(base)
    return (
        f"PREFIX ez: <{prefixes['ez']}>\n"
        f"PREFIX rdfs: <{prefixes['rdfs']}>\n"
        "\n"
        "# The national ETDZs and their names\n"
        "SELECT ?zone ?name\n"
        "WHERE {\n"
        "  ?zone a ez:NationalETDZ ;\n"
        "        rdfs:label ?name .\n"
        "}\n"
        "ORDER BY ?zone\n"
        "LIMIT 100\n"
    )


@bp.get("/query")
def query_editor() -> str:
    state = get_state()
    examples = example_queries()
    shared = request.args.get("query", "")
    config = {
        "endpoint": sparql_url(),
        "query": shared,
        "starter": starter_query(state.data_base),
        "examples": [asdict(e) for e in examples],
        "prefixes": prefixes_for(state.data_base),
        "dataBase": state.data_base,
        "publicBase": public_base(state),
    }
    return render_template("query.html", config=config, examples=examples, shared=shared,
                           starter=config["starter"])
