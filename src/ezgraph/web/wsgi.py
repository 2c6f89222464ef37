"""WSGI entry point for production servers, configured from the environment.

::

    EZGRAPH_DIST=dist gunicorn --workers 1 --threads 8 --bind 127.0.0.1:8000 'ezgraph.web.wsgi:app'

``app`` is created from the environment when the server first reads it. Run **one** gunicorn
worker with threads: queries already run in a pool of processes
(``EZGRAPH_QUERY_WORKERS``), and every gunicorn worker would start a pool of its own. Do not use
``--preload``: the pool must start in the process that serves. Unlike ``ezgraph serve``, nothing
is built here: run ``ezgraph build`` first.

=========================  =================================================  ==============
variable                   meaning                                            default
=========================  =================================================  ==============
``EZGRAPH_DIST``           publish directory (its ``store/`` is served)       ``dist``
``EZGRAPH_STORE``          a store spec instead (``oxigraph:PATH``,
                           ``memory:FILE``, ``https://.../sparql``)
``EZGRAPH_DATA``           RDF files to serve instead, separated by ``:``
``EZGRAPH_BASE_URL``       public base URL                                    from the request
``EZGRAPH_TIMEOUT``        seconds per query                                  10
``EZGRAPH_MAX_ROWS``       row cap per answer                                 10000
``EZGRAPH_MAX_BODY_BYTES`` request body limit                                 1000000
``EZGRAPH_QUERY_WORKERS``  query worker processes                             CPU count
=========================  =================================================  ==============
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from flask import Flask

from ezgraph.web.app import create_app
from ezgraph.web.serve import ServeError, load_state

_Number = TypeVar("_Number", int, float)


def create_app_from_env(environ: Mapping[str, str] | None = None) -> Flask:
    """An app configured by ``EZGRAPH_*`` variables; raises :class:`ServeError` when wrong."""
    env = os.environ if environ is None else environ
    data = env.get("EZGRAPH_DATA", "")
    workers = env.get("EZGRAPH_QUERY_WORKERS")
    state = load_state(
        dist=Path(env.get("EZGRAPH_DIST", "dist")),
        store_spec=env.get("EZGRAPH_STORE") or None,
        data_files=[Path(part) for part in data.split(os.pathsep) if part] or None,
        public_base=env.get("EZGRAPH_BASE_URL") or None,
        timeout=_number(env, "EZGRAPH_TIMEOUT", float, 10.0),
        max_rows=_number(env, "EZGRAPH_MAX_ROWS", int, 10_000),
        max_body_bytes=_number(env, "EZGRAPH_MAX_BODY_BYTES", int, 1_000_000),
        workers=_number(env, "EZGRAPH_QUERY_WORKERS", int, 0) if workers else None,
        build_if_missing=False,
    )
    return create_app(state)


def _number(
    env: Mapping[str, str], name: str, kind: Callable[[str], _Number], default: _Number
) -> _Number:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ServeError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ServeError(f"{name} must be positive, not {raw!r}")
    return value


def __getattr__(name: str) -> Flask:
    # ``app`` is made on first access (by the WSGI server), so importing this module for
    # create_app_from_env neither opens a store nor needs the environment.
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    application = create_app_from_env()
    globals()["app"] = application
    return application
