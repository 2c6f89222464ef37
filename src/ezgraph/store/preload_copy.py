"""The in-memory copy a fork server holds for the query workers it forks.

With in-memory copies, a web process's query workers are forked from a multiprocessing fork
server that imported this module first (``ezgraph.store.oxigraph._copy_context``): the module
loads the copy that ``EZGRAPH_FORKSERVER_COPY`` describes, once, and every worker forked after
shares its pages with the fork server (copy on write, and queries only read them). Measured at
1M triples: three processes holding one copy came to 134 MB of proportional memory each, 400 MB
in all, instead of 400 MB each.

Imported by the fork server only (importing it elsewhere would load a copy there too): a
forked worker finds it in ``sys.modules`` (:func:`ezgraph.store.worker.worker_main`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from ezgraph.store.memory_copy import FORK_SERVER_ENVIRONMENT, CopySource, load_copy

log = logging.getLogger(__name__)

#: The copy, and what it is a copy of (``None``: none was asked for, or it could not be made).
SOURCE: CopySource | None = None
STORE: Any = None
#: Why the copy could not be made.
FAILED: str | None = None


def _load() -> None:
    global SOURCE, STORE, FAILED
    raw = os.environ.get(FORK_SERVER_ENVIRONMENT)
    if not raw:
        return
    try:
        settings = json.loads(raw)
        expected = settings.pop("expected")
        SOURCE = CopySource(**{**settings, "metadata": tuple(settings["metadata"])})
        started = time.perf_counter()
        STORE = load_copy(SOURCE, expected=expected)
        log.info("fork server copy of %s ready (%.1f s)", SOURCE.store,
                 time.perf_counter() - started)
    except Exception as error:  # the workers read the store from disk instead
        FAILED = str(error)
        print(f"ezgraph: no in-memory copy for the query workers, they read from disk: {error}",
              file=sys.stderr, flush=True)


_load()
