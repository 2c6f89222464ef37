"""``ezgraph serve``: open a store, build the app, serve it with werkzeug's threaded server.

What is served, in order of precedence: ``--data FILE...`` (loaded once into a temporary Oxigraph
store), ``--store SPEC`` (:func:`ezgraph.store.open_store`), else the publish directory's
``store/`` — built first with ``ezgraph build``'s defaults when ``DIST/manifest.json`` is missing.

For production, run the same app under gunicorn instead (see :mod:`ezgraph.web.wsgi`).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from werkzeug.serving import make_server

from ezgraph.namespaces import DEFAULT_BASE
from ezgraph.store import StoreSpecError, open_store, oxigraph_store_from_files
from ezgraph.store.base import Store, StoreError
from ezgraph.store.oxigraph import OxigraphStore, RdfLoadError
from ezgraph.web.app import create_app
from ezgraph.web.linked_data import document_pages
from ezgraph.web.state import AppState

log = logging.getLogger(__name__)


class ServeError(Exception):
    """Why the server cannot start, worded for the command line (no traceback)."""


def load_state(
    *,
    dist: Path | None,
    store_spec: str | None = None,
    data_files: list[Path] | None = None,
    public_base: str | None = None,
    timeout: float = 10.0,
    max_rows: int = 10_000,
    max_body_bytes: int = 1_000_000,
    workers: int | None = None,
    build_if_missing: bool = False,
    release_ttl: float | None = None,
    in_memory: bool = False,
) -> AppState:
    """Open what is to be served and describe it as an :class:`AppState`.

    ``release_ttl`` is how many seconds a remote store's release id is trusted before it is read
    again (``None``: :class:`~ezgraph.store.remote.RemoteStore`'s default, 5 s); it does not
    apply to the other stores, whose data cannot change while they are served. ``in_memory``
    reads the publish directory's store from in-memory copies once they are loaded (see
    :class:`~ezgraph.store.oxigraph.OxigraphStore`).
    """
    if in_memory and (data_files or store_spec):
        raise ServeError("in-memory copies are made of a publish directory's store only: "
                         "serve --dist DIR without --store or --data")
    store_options: dict[str, Any] = {} if workers is None else {"workers": workers}
    manifest: dict[str, Any] | None = None
    store: Store
    try:
        if data_files:
            store = oxigraph_store_from_files(data_files, **store_options)
            dist = None
        elif store_spec:
            remote = store_spec.lower().startswith(("http://", "https://"))
            if dist is not None and (dist / "manifest.json").is_file():
                manifest = read_manifest(dist)
            else:
                dist = None
            options = store_options
            if remote:
                # A remote endpoint runs its own query workers. Its relative IRIs and metadata
                # graph follow the data's base, from the local build when there is one.
                base = (manifest or {}).get("base") or DEFAULT_BASE
                options = {"base_iri": base, "metadata_graph": f"{base}graph/metadata"}
                if release_ttl is not None:
                    options["release_ttl"] = release_ttl
            store = open_store(store_spec, **options)
        else:
            if dist is None:
                raise ServeError("no publish directory, store or data files to serve")
            if not (dist / "manifest.json").is_file():
                if not build_if_missing:
                    raise ServeError(f"{dist}/manifest.json is missing: run `ezgraph build` first")
                _build(dist)
            manifest = read_manifest(dist)
            options = {**store_options, "in_memory": in_memory}
            if in_memory:
                # Made from the in-memory copies: each resource's Turtle document, once.
                options["pages"] = document_pages(max_rows)
            store = _open_dist_store(dist, options)
    except (RdfLoadError, StoreSpecError, StoreError, OSError) as error:
        raise ServeError(str(error)) from None
    return AppState(
        store=store,
        dist=dist,
        manifest=manifest,
        data_base=(manifest or {}).get("base") or DEFAULT_BASE,
        public_base=public_base,
        timeout=timeout,
        max_rows=max_rows,
        max_body_bytes=max_body_bytes,
    )


def read_manifest(dist: Path) -> dict[str, Any]:
    path = dist / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ServeError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ServeError(
            f"{path} is not valid JSON ({error}); rebuild with `ezgraph build`"
        ) from None
    if not isinstance(manifest, dict):
        raise ServeError(f"{path} is not a JSON object; rebuild with `ezgraph build`")
    return manifest


def _open_dist_store(dist: Path, options: dict[str, Any]) -> Store:
    store_dir = dist / "store"
    if (store_dir / "CURRENT").is_file():
        return OxigraphStore(store_dir, **options)
    trig = dist / "ezgraph.trig"
    if trig.is_file():
        # A build made with --no-store still has the dump: load it into a temporary store.
        log.warning("%s has no store/; loading %s instead", dist, trig.name)
        return oxigraph_store_from_files([trig], **options)
    raise ServeError(
        f"{store_dir} is missing and there is no {trig.name} to load: rebuild with `ezgraph build`"
    )


def _build(dist: Path) -> None:
    try:
        from ezgraph.publish.build import run_build
    except ImportError as error:
        raise ServeError(
            f"{dist}/manifest.json is missing and the build step is not available ({error})"
        ) from None
    print(f"ezgraph: {dist}/manifest.json not found; building first", file=sys.stderr, flush=True)
    build_args = argparse.Namespace(
        command="build",
        data_dir=Path("data"),
        ontology=Path("ontology"),
        shapes=Path("shapes"),
        base=DEFAULT_BASE,
        out=dist,
        no_store=False,
    )
    status = run_build(build_args)
    if status != 0 or not (dist / "manifest.json").is_file():
        raise ServeError(f"the build failed (exit status {status}); fix the errors above and retry")


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        state = load_state(
            dist=args.dist,
            store_spec=args.store,
            data_files=args.data_files,
            public_base=args.base_url,
            timeout=args.timeout,
            max_rows=args.max_rows,
            workers=getattr(args, "workers", None),
            build_if_missing=True,
            release_ttl=getattr(args, "release_ttl", None),
            in_memory=getattr(args, "in_memory", False),
        )
    except ServeError as error:
        print(f"ezgraph serve: {error}", file=sys.stderr)
        return 1
    try:
        return _serve(state, args.host, args.port)
    finally:
        state.store.close()


def _serve(state: AppState, host: str, port: int) -> int:
    app = create_app(state)
    try:
        server = make_server(host, port, app, threaded=True)
    except (OSError, SystemExit) as error:
        # werkzeug prints why (e.g. "Port 5000 is in use by another program") and exits.
        reason = f": {error.strerror}" if isinstance(error, OSError) else ""
        print(f"ezgraph serve: cannot listen on {host}:{port}{reason}", file=sys.stderr)
        return 1
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)  # stop cleanly: close the store, remove temp files
    url = f"http://{_url_host(host)}:{server.server_port}/"
    public = f" (public base {state.public_base})" if state.public_base else ""
    try:
        what = f"{state.store.info().triples} triples"
    except StoreError as error:
        # A remote store that is down now may come back: serve, answering 503 until it does.
        what = "a store that does not answer yet"
        log.warning("%s; serving anyway, with 503 answers until it answers", error)
    print(f"ezgraph: serving {what} at {url}{public}; SPARQL endpoint {url}sparql", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


def _stop(signum: int, frame: object) -> NoReturn:
    raise SystemExit(0)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
