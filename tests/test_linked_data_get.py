"""Dereferences answered without Flask (:mod:`ezgraph.web.linked_data_get`): the same 303s and
RDF documents as the Linked Data views, byte for byte; everything else, failures included,
through the views."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.utils import redirect

from ezgraph.store.base import DescribeRequest, QueryResponse, StoreInfo, StoreUnavailable
from ezgraph.store.oxigraph import OxigraphStore
from ezgraph.web import linked_data, linked_data_get
from ezgraph.web.app import create_app
from ezgraph.web.state import AppState

pytest_plugins = ("fixtures_web.webapp",)

TURTLE = "text/turtle"
RDF_CLIENT = "text/turtle, application/ld+json;q=0.9, */*;q=0.1"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

#: (path, Accept, other headers): answers the shortcut gives, and requests it leaves to the views.
CASES: list[tuple[str, str | None, dict[str, str]]] = [
    *[(path, accept, {}) for path in ("/id/zone/cetdz", "/doc/id/zone/cetdz")
      for accept in (TURTLE, "application/ld+json", "application/n-triples",
                     "application/rdf+xml", "text/n3", "application/json", RDF_CLIENT,
                     "text/turtle; charset=utf-8")],
    ("/id/observation/cetdz-area", TURTLE, {}),
    ("/def/NationalETDZ", TURTLE, {}),
    ("/doc/def/NationalETDZ", "application/ld+json", {}),
    ("/shapes/ZoneShape", TURTLE, {}),
    ("/graph/source/changchun-etdz", RDF_CLIENT, {}),
    ("/doc/graph/source/changchun-etdz", "application/n-triples", {}),
    # to the views: HTML, no Accept, extensions, unknown IRIs, conditions, odd paths
    ("/id/zone/cetdz", BROWSER, {}),
    ("/id/zone/cetdz", None, {}),
    ("/doc/id/zone/cetdz", BROWSER, {}),
    ("/doc/id/zone/cetdz", "image/png", {}),
    ("/doc/id/zone/cetdz.ttl", None, {}),
    ("/doc/id/zone/cetdz.jsonld", TURTLE, {}),
    ("/id/zone/no-such-zone", TURTLE, {}),
    ("/doc/id/zone/no-such-zone", TURTLE, {}),
    ("/doc/id/zone/cetdz", TURTLE, {"If-None-Match": "*"}),
    ("/id/zone//cetdz", TURTLE, {}),
    ("/id/zone/", TURTLE, {}),
    ("/id/zone/%C3%A9", TURTLE, {}),
    ("/dataset", TURTLE, {}),
]


def _app(store: Any, publish_dir: tuple[Path, dict[str, Any]], **config: Any) -> Flask:
    dist, manifest = publish_dir
    settings = {"TESTING": True, "EZGRAPH_RESPONSE_CACHE_BYTES": 0, **config}
    return create_app(AppState(store=store, dist=dist, manifest=manifest), settings)


def _answer(app: Flask, path: str, accept: str | None, headers: dict[str, str]
            ) -> tuple[str, list[tuple[str, str]], bytes]:
    sent = {**headers, **({"Accept": accept} if accept is not None else {})}
    response = app.test_client().get(path, headers=sent)
    return response.status, list(response.headers.items()), response.get_data()


@pytest.fixture(scope="module")
def apps(web_store: OxigraphStore, publish_dir: tuple[Path, dict[str, Any]]
         ) -> tuple[Flask, Flask]:
    """The real app with the shortcuts and without them, neither with a response cache."""
    return _app(web_store, publish_dir), _app(web_store, publish_dir, EZGRAPH_SHORTCUTS=False)


@pytest.mark.parametrize(("path", "accept", "headers"), CASES)
def test_answers_are_the_views_own(apps: tuple[Flask, Flask], path: str, accept: str | None,
                                   headers: dict[str, str]) -> None:
    with_shortcut, without = apps
    assert _answer(with_shortcut, path, accept, headers) == _answer(without, path, accept,
                                                                    headers)


@pytest.mark.parametrize("location", ["/doc/id/zone/cetdz", "/doc/id/a&b'c(d)*e=f;g@h:i",
                                      "/doc/id/%C3%A9%22%3C%3E"])
def test_a_303_is_werkzeugs_own(location: str) -> None:
    response = redirect(location, code=303)
    assert linked_data_get._see_other_answer(location) == (
        response.status, list(response.headers.items()), response.get_data())


def test_a_truncated_document_is_the_views_own(apps: tuple[Flask, Flask],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with_shortcut, without = apps
    monkeypatch.setattr(linked_data, "MAX_DOCUMENT_TRIPLES", 3)
    for app in apps:
        app.extensions["ezgraph"].max_rows = 3
    try:
        answer = _answer(with_shortcut, "/doc/id/zone/cetdz", TURTLE, {})
        assert ("X-Ezgraph-Truncated", "true") in answer[1]
        assert answer == _answer(without, "/doc/id/zone/cetdz", TURTLE, {})
    finally:
        for app in apps:
            app.extensions["ezgraph"].max_rows = AppState.max_rows


def test_plain_dereferences_skip_flask_and_the_rest_go_through_it(
        web_store: OxigraphStore, publish_dir: tuple[Path, dict[str, Any]]) -> None:
    app = _app(web_store, publish_dir)
    seen: list[str] = []
    app.before_request(lambda: seen.append("flask") and None)
    client = app.test_client()

    see_other = client.get("/id/zone/cetdz", headers={"Accept": TURTLE})
    document = client.get(see_other.headers["Location"], headers={"Accept": TURTLE})
    assert (see_other.status_code, document.status_code) == (303, 200)
    assert b"cetdz" in document.get_data()
    assert seen == []

    for path, accept in (("/id/zone/cetdz", BROWSER), ("/doc/id/zone/cetdz.ttl", TURTLE),
                         ("/id/zone/no-such-zone", TURTLE)):
        client.get(path, headers={"Accept": accept})
    assert seen == ["flask"] * 3


class FailingStore:
    """The fixture store, whose descriptions fail as a store that is down does; counted."""

    def __init__(self, store: OxigraphStore):
        self._store = store
        self.describes: list[str] = []

    def describe(self, request: DescribeRequest) -> QueryResponse | None:
        self.describes.append(request.iri)
        raise StoreUnavailable("the store is down for the test", retry_after=7)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.mark.parametrize("path", ["/id/zone/cetdz", "/doc/id/zone/cetdz"])
def test_a_store_failure_is_rendered_by_the_views_and_asked_once(
        web_store: OxigraphStore, publish_dir: tuple[Path, dict[str, Any]], path: str) -> None:
    store = FailingStore(web_store)
    with_shortcut = _app(store, publish_dir)
    answer = _answer(with_shortcut, path, TURTLE, {})
    assert answer[0] == "503 SERVICE UNAVAILABLE"
    assert ("Retry-After", "7") in answer[1]
    assert store.describes == ["https://w3id.org/ezgraph/id/zone/cetdz"]
    store.describes.clear()
    assert answer == _answer(_app(store, publish_dir, EZGRAPH_SHORTCUTS=False), path, TURTLE, {})


def test_under_a_script_root_the_views_answer(apps: tuple[Flask, Flask]) -> None:
    """Links carry the script root there, which only Flask's url_for adds."""
    answers = [app.test_client().get("/id/zone/cetdz", headers={"Accept": TURTLE},
                                     base_url="http://localhost/ld") for app in apps]
    assert answers[0].headers["Location"] == answers[1].headers["Location"] == (
        "/ld/doc/id/zone/cetdz")


class UnreleasedStore:
    """The fixture store, unable to say which release it holds (as a remote one may be)."""

    def __init__(self, store: OxigraphStore):
        self._store = store

    def info(self) -> StoreInfo:
        return dataclasses.replace(self._store.info(), release="")

    def release_if_known(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_without_a_release_a_documents_tag_is_its_bodys_strong_one_as_the_views(
        web_store: OxigraphStore, publish_dir: tuple[Path, dict[str, Any]]) -> None:
    dist, _ = publish_dir

    def app(**config: Any) -> Flask:
        settings = {"TESTING": True, "EZGRAPH_RESPONSE_CACHE_BYTES": 0, **config}
        return create_app(AppState(store=UnreleasedStore(web_store), dist=dist, manifest=None),
                          settings)

    with_shortcut, without = app(), app(EZGRAPH_SHORTCUTS=False)
    seen: list[str] = []
    with_shortcut.before_request(lambda: seen.append("flask") and None)
    status, headers, body = _answer(with_shortcut, "/doc/id/zone/cetdz", TURTLE, {})
    assert seen == []  # the shortcut answered
    assert status == "200 OK"
    # Named by these very bytes: a strong tag, not the weak one a release's documents carry.
    assert dict(headers)["ETag"] == f'"{hashlib.sha256(body).hexdigest()[:40]}"'
    assert (status, headers, body) == _answer(without, "/doc/id/zone/cetdz", TURTLE, {})
