"""Storage backends behind one interface, picked by a spec string like rdflib's plugin registry.

=========================  ============================================================
spec                       backend
=========================  ============================================================
``oxigraph:PATH``          :class:`ezgraph.store.oxigraph.OxigraphStore` (the default; a
                           directory that is an Oxigraph database also works bare)
``memory:FILE[,FILE...]``  ``ezgraph.store.memory.MemoryStore`` (rdflib in memory); files
                           may also be passed as ``paths=[...]``
``http(s)://.../sparql``   ``ezgraph.store.remote.RemoteStore`` (any SPARQL 1.1 endpoint)
=========================  ============================================================

Backends are imported only when asked for, so this package stays cheap to import (the query
worker processes import it too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ezgraph.store.oxigraph import OxigraphStore

__all__ = [
    "GRAPH_MEDIA_TYPES",
    "RESULTS_MEDIA_TYPES",
    "GraphInfo",
    "NotAcceptable",
    "QueryRefused",
    "QueryRequest",
    "QueryResponse",
    "QuerySyntaxError",
    "QueryTimeout",
    "Store",
    "StoreError",
    "StoreInfo",
    "StoreSpecError",
    "StoreUnavailable",
    "open_store",
    "oxigraph_store_from_files",
    "register_backend",
]


class StoreSpecError(ValueError):
    """The store spec names no known backend, or that backend is not installed."""


BackendFactory = Callable[[str, dict[str, Any]], Store]
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(scheme: str, factory: BackendFactory) -> None:
    """Make ``open_store("SCHEME:rest")`` call ``factory("rest", options)``."""
    _BACKENDS[scheme.lower()] = factory


def open_store(spec: str, **options: Any) -> Store:
    """Open the backend ``spec`` names (see the module docstring); ``options`` go to it."""
    scheme, colon, rest = spec.partition(":")
    scheme = scheme.lower()
    if colon and scheme in _BACKENDS:
        return _BACKENDS[scheme](rest, options)
    if not colon or len(scheme) == 1:  # no scheme, or a Windows drive letter
        path = Path(spec)
        if (path / "CURRENT").is_file():
            return _open_oxigraph(spec, options)
    known = ", ".join(f"{name}:" for name in sorted(_BACKENDS))
    raise StoreSpecError(
        f"unknown store {spec!r}: expected oxigraph:PATH, memory:FILE[,FILE...] or an "
        f"http(s):// SPARQL endpoint URL (registered: {known})"
    )


def oxigraph_store_from_files(paths: list[Path] | list[str], **options: Any) -> OxigraphStore:
    """Load RDF files into a temporary Oxigraph store (removed on close) and open it."""
    from ezgraph.store.oxigraph import oxigraph_store_from_files as from_files

    return from_files(paths, **options)


def _import_backend(module_name: str, class_name: str, spec_form: str) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise StoreSpecError(
            f"the {spec_form} backend ({module_name}) is not available in this installation"
        ) from None
    return getattr(module, class_name)


def _open_oxigraph(rest: str, options: dict[str, Any]) -> Store:
    from ezgraph.store.oxigraph import OxigraphStore

    if not rest:
        raise StoreSpecError("oxigraph: needs a path, as in oxigraph:dist/store")
    return OxigraphStore(rest, **options)


def _open_memory(rest: str, options: dict[str, Any]) -> Store:
    memory_store = _import_backend("ezgraph.store.memory", "MemoryStore", "memory:")
    paths = [Path(part) for part in rest.split(",") if part.strip()]
    paths += [Path(path) for path in options.pop("paths", ())]
    return memory_store(paths, **options)


def _open_remote(scheme: str) -> BackendFactory:
    def factory(rest: str, options: dict[str, Any]) -> Store:
        remote_store = _import_backend("ezgraph.store.remote", "RemoteStore", f"{scheme}://")
        return remote_store(f"{scheme}:{rest}", **options)

    return factory


register_backend("oxigraph", _open_oxigraph)
register_backend("memory", _open_memory)
register_backend("http", _open_remote("http"))
register_backend("https", _open_remote("https"))
