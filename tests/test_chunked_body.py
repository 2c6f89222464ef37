"""Request bodies of unknown length read before Flask (ezgraph.web.chunked_body).

The real servers (uWSGI, granian, gunicorn) are run in tests/test_sparql_http.py; here the
reading itself, with uWSGI's chunk reader stood in for.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from flask import Flask

from ezgraph.web.chunked_body import ChunkedBody


class Echo:
    """An inner WSGI app that keeps what it was given."""

    def __init__(self) -> None:
        self.environ: dict[str, Any] | None = None
        self.body = b""

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.environ = environ
        self.body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "keep-alive")])
        return [b"ok"]


def call(app: Callable[..., Iterable[bytes]],
         environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    started: list[Any] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: started.extend(
        [status, dict(headers)])))
    return started[0], started[1], body


def chunked_environ(**extra: Any) -> dict[str, Any]:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/sparql",
            "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b""), **extra}


def chunks(*parts: bytes) -> Callable[[], bytes]:
    remaining = iter([*parts, b""])
    return lambda: next(remaining)


def test_uwsgi_chunks_are_read_and_handed_on_with_their_length() -> None:
    inner = Echo()
    app = ChunkedBody(inner, 100, read_uwsgi_chunk=chunks(b"ASK ", b"{ ?s ", b"?p ?o }"))
    status, headers, _ = call(app, chunked_environ(**{"uwsgi.version": b"2.0.30"}))
    assert status == "200 OK" and headers["Connection"] == "keep-alive"
    assert inner.body == b"ASK { ?s ?p ?o }"
    assert inner.environ is not None
    assert inner.environ["CONTENT_LENGTH"] == "16"
    assert "HTTP_TRANSFER_ENCODING" not in inner.environ


@pytest.mark.parametrize(("chunk", "expected_calls"), [(b"abc", 4), (b"abcde", 3)])
def test_reading_stops_past_the_limit_and_the_answer_closes(chunk: bytes,
                                                             expected_calls: int) -> None:
    # Chunks of 5 fill the limit of 10 exactly: one more is read to tell a longer body.
    inner = Echo()
    endless = itertools.repeat(chunk)
    calls = 0

    def read_chunk() -> bytes:
        nonlocal calls
        calls += 1
        return next(endless)

    app = ChunkedBody(inner, 10, read_uwsgi_chunk=read_chunk)
    _, headers, _ = call(app, chunked_environ(**{"uwsgi.version": b"2.0.30"}))
    assert calls == expected_calls  # past the limit of 10, and no further
    assert inner.environ is not None
    assert inner.environ["CONTENT_LENGTH"] == str(len(chunk) * expected_calls)
    assert headers["Connection"] == "close"


def test_a_terminated_input_is_read_up_to_the_limit() -> None:
    # werkzeug's server, gunicorn and granian: the chunks are taken off already.
    inner = Echo()
    app = ChunkedBody(inner, 5)
    environ = chunked_environ(**{"wsgi.input": io.BytesIO(b"0123456789"),
                                 "wsgi.input_terminated": True})
    _, headers, _ = call(app, environ)
    assert inner.body == b"012345"
    assert inner.environ is not None and inner.environ["CONTENT_LENGTH"] == "6"
    assert "wsgi.input_terminated" not in inner.environ
    assert headers["Connection"] == "close"


def test_a_body_that_cannot_be_read_is_400_and_closes() -> None:
    def broken() -> bytes:
        raise OSError("timed out reading a chunk")

    inner = Echo()
    app = ChunkedBody(inner, 100, read_uwsgi_chunk=broken)
    status, headers, body = call(app, chunked_environ(**{"uwsgi.version": b"2.0.30"}))
    assert status.startswith("400")
    assert b"the chunked request body could not be read (timed out reading a chunk)" in body
    assert headers["Connection"] == "close"
    assert inner.environ is None


@pytest.mark.parametrize("extra", [
    {"CONTENT_LENGTH": "3", "uwsgi.version": b"2.0.30"},  # a known length
    {"HTTP_TRANSFER_ENCODING": "chunked, gzip", "uwsgi.version": b"2.0.30"},  # not framed
    {},  # neither uWSGI nor a terminated input: nothing to read it with
])
def test_other_bodies_pass_untouched(extra: dict[str, Any]) -> None:
    def unused() -> bytes:
        raise AssertionError("read")

    inner = Echo()
    environ = chunked_environ(**{"wsgi.input": io.BytesIO(b"abc"), **extra})
    call(ChunkedBody(inner, 100, read_uwsgi_chunk=unused), environ)
    assert inner.environ is environ
    assert inner.environ.get("HTTP_TRANSFER_ENCODING") == extra.get(
        "HTTP_TRANSFER_ENCODING", "chunked")


def test_the_last_coding_frames_the_body() -> None:
    inner = Echo()
    app = ChunkedBody(inner, 100, read_uwsgi_chunk=chunks(b"ASK {}"))
    call(app, chunked_environ(**{"uwsgi.version": b"2.0.30",
                                 "HTTP_TRANSFER_ENCODING": "gzip, Chunked"}))
    assert inner.body == b"ASK {}"


def uwsgi_request(app: Flask, parts: Iterator[bytes]) -> Any:
    layer = app.wsgi_app
    while not isinstance(layer, ChunkedBody):
        layer = layer.app  # type: ignore[attr-defined]
    layer._read_uwsgi_chunk = lambda: next(parts, b"")
    return app.test_client().post(
        "/sparql", headers={"Transfer-Encoding": "chunked", "Accept": "application/json",
                            "Content-Type": "application/sparql-query"},
        environ_overrides={"uwsgi.version": b"2.0.30", "CONTENT_LENGTH": ""})


def test_the_app_answers_a_chunked_query(make_app: Callable[..., Flask]) -> None:
    response = uwsgi_request(make_app(), iter([b"ASK { ?s ", b"?p ?o }"]))
    assert response.status_code == 200
    assert response.json == {"head": {}, "boolean": True}


def test_the_app_refuses_a_chunked_body_over_its_limit(make_app: Callable[..., Flask]) -> None:
    response = uwsgi_request(make_app(max_body_bytes=20), iter([b"ASK { ?s ?p ?o } #"] * 5))
    assert response.status_code == 413
    assert "larger than 20 bytes" in response.json["error"]["message"]
    assert response.headers["Connection"] == "close"
