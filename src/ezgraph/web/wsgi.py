"""WSGI entry point for production servers, configured from the environment.

::

    # uWSGI (pip install -e '.[serve]'; fastest here): one process per CPU, a thread per
    # connection, a listening socket per process (one --shared-socket and --map-socket each)
    EZGRAPH_DIST=dist uwsgi --master --die-on-term --processes 2 --threads 32 --lazy-apps \
        --need-app --single-interpreter --buffer-size 65535 --disable-logging --reuse-port \
        --shared-socket 127.0.0.1:8000 --shared-socket 127.0.0.1:8000 --http11-socket =0 \
        --http11-socket =1 --map-socket 0:1 --map-socket 1:2 \
        --module 'ezgraph.web.wsgi:create_app_for_server()'
    # or granian (a Rust HTTP server)
    EZGRAPH_DIST=dist granian --interface wsgi --workers 2 --blocking-threads 8 --http 1 \
        --workers-kill-timeout 10 --host 127.0.0.1 --port 8000 ezgraph.web.wsgi:app
    # or gunicorn, threaded so that connections stay alive between requests
    EZGRAPH_DIST=dist gunicorn --worker-class gthread --workers 2 --threads 8 --keep-alive 30 \
        --limit-request-line 8190 --bind 127.0.0.1:8000 'ezgraph.web.wsgi:app'

``app`` is created from the environment when the server first reads it, in each web process:
each opens the store read-only with its own pool of query worker processes
(``EZGRAPH_QUERY_WORKERS``, at least 2) and keeps its own per-release answer caches. One web
process per CPU lets Flask use every CPU (one process runs Python on one CPU at a time); more
only add query workers and memory. Do not use ``--preload``: the pool must start in the process
that serves. Unlike ``ezgraph serve``, nothing is built here: run ``ezgraph build`` first.
Each web process logs ``ezgraph ready`` once it can answer.

uWSGI is the fastest here: a thread of it serves one connection from its first request to its
last, with no hand-over between threads, as Oxigraph's server does. Its limits follow from
that, and match Oxigraph's server's: ``--processes`` × ``--threads`` connections are served at
once (Oxigraph's: 256 on 2 CPUs), and one more waits until one of them closes or has been idle
for uWSGI's ``--socket-timeout``, 4 s; and a request sent on a connection before the answer to
the previous one (HTTP pipelining, which no browser, curl, SPARQLWrapper or wrk does) gets no
answer. uWSGI reads the app with ``create_app_for_server()`` because it looks ``app`` up in the
module's dictionary, where it is not until first read. Each web process listens on a socket
of its own, all bound to the same port (``--reuse-port``), and the kernel spreads new
connections over them: with one socket shared, whichever process's thread took a connection
first kept it, and 8 connections opened in turn all went to one process in 15 of 30 tries,
where a process runs Python on one CPU at a time; with a socket each, in none of 30 (granian:
none). A connection stays with its process. The options matter: ``--lazy-apps`` loads the app
in each web process after the fork (the query workers and the store's threads must start in
the process that serves); ``--die-on-term`` makes SIGTERM stop uWSGI 2.0, which
otherwise reloads; ``--buffer-size 65535``, its largest, admits a request line and headers of
up to 64 KB (Oxigraph's server: 8 KB), where the default 4 KB drops a longer
``GET /sparql?query=...`` unanswered, as uWSGI drops anything over the buffer; and
``--disable-logging`` leaves out a log line per request, as granian and Oxigraph's server do.
A chunked request body, which uWSGI passes to WSGI apps unread, is read by
:mod:`ezgraph.web.chunked_body`.

``--workers-kill-timeout`` matters under granian: it loses a stop signal that reaches a web
process still loading the app, and without it a stop would wait for that process forever.
``--limit-request-line 8190`` matters under gunicorn: it cuts request lines at 4094 bytes by
default, so a longer ``GET /sparql?query=...`` would get gunicorn's own HTML 414, without CORS
headers, before ezgraph sees it; 8190 is gunicorn's maximum. Longer queries should be POSTed
(form or ``application/sparql-query``), which only the request body limit bounds.

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
``EZGRAPH_RELEASE_TTL``    with a remote store: seconds between two readings  5
                           of its release (a republish shows within that)
``EZGRAPH_IN_MEMORY``      ``1``: every process also loads the store into     ``0``
                           memory in the background and reads it from there
                           once loaded (several times faster; about 420 MB
                           per process at a million triples)
=========================  =================================================  ==============
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from multiprocessing import resource_tracker
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
        release_ttl=_number(env, "EZGRAPH_RELEASE_TTL", float, 5.0),
        in_memory=_flag(env, "EZGRAPH_IN_MEMORY"),
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


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "no", "false", "off"):
        return False
    if raw in ("1", "yes", "true", "on"):
        return True
    raise ServeError(f"{name} must be 1 or 0 (yes/no, true/false, on/off), not {raw!r}")


def create_app_for_server() -> Flask:
    """The app a WSGI server serves: configured from the environment, with logging set up.

    Logs ``ezgraph ready`` once it can answer, or why it cannot start before raising
    :class:`ServeError` (the server then reports that loading the app failed).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    log = logging.getLogger(__name__)
    try:
        with _stop_signals_blocked():
            application = create_app_from_env()
    except ServeError as error:
        log.error("ezgraph cannot start: %s", error)
        raise
    log.info("ezgraph ready (process %d)", os.getpid())
    return application


#: The signals a WSGI server sends its web processes to stop or reload them.
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP,
                          signal.SIGUSR1, signal.SIGUSR2})


@contextmanager
def _stop_signals_blocked() -> Iterator[None]:
    """Block :data:`STOP_SIGNALS` in this thread while the app loads, so that the threads the
    store starts meanwhile (RocksDB's, the in-memory copy's) inherit the block and the kernel
    hands such a signal to the server's own thread instead. Measured under uWSGI: its handler
    ends the process in whichever thread a signal lands, and run in a RocksDB thread, Python's
    teardown waited for the main thread until the master killed the process 60 s later (in 4
    of 8 stops; in none of 8 with the block). A signal sent while the app loads waits until it
    has loaded."""
    # multiprocessing unblocks SIGINT and SIGTERM in the thread that starts its resource
    # tracker, which the store's query workers would do in the middle of the block.
    resource_tracker.ensure_running()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def __getattr__(name: str) -> Flask:
    # ``app`` is made on first access (by the WSGI server), so importing this module for
    # create_app_from_env neither opens a store nor needs the environment.
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    application = create_app_for_server()
    globals()["app"] = application
    return application
