"""What every blueprint needs from the running application, in one place.

The app factory stores one :class:`AppState` in ``app.extensions["ezgraph"]``; views reach it with
:func:`get_state`. Views never open files or stores themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from ezgraph.namespaces import DEFAULT_BASE
from ezgraph.store.base import Store


@dataclass
class AppState:
    store: Store
    #: The publish directory (dumps, VoID, DCAT, report, manifest); ``None`` when serving
    #: arbitrary files (``serve --data``) or a remote store without a local build.
    dist: Path | None = None
    #: ``manifest.json`` of ``dist`` as loaded at start-up.
    manifest: dict[str, Any] | None = None
    #: The persistent base the data's IRIs carry.
    data_base: str = DEFAULT_BASE
    #: The public base URL this server answers for (``serve --base-url``); ``None`` derives it
    #: from each request's host.
    public_base: str | None = None
    timeout: float = 10.0
    max_rows: int = 10_000
    max_body_bytes: int = 1_000_000


def get_state() -> AppState:
    return current_app.extensions["ezgraph"]
