"""Request bodies of unknown length (``Transfer-Encoding: chunked``), read before Flask.

WSGI has no word for a body of unknown length, and servers differ:

* werkzeug's server, gunicorn and granian take the chunks off such a body and set
  ``wsgi.input_terminated``, so that the app reads to its end. werkzeug then cut a body over
  the limit at the limit, silently: an over-long query got a syntax error at column 1,000,001
  where it should get 413.
* uWSGI passes it on with no ``CONTENT_LENGTH`` and an input that reads nothing: a chunked
  ``POST /sparql`` arrived empty and got 400 "the query is empty". uWSGI reads such a body with
  its own call, ``uwsgi.chunked_read()``, one chunk at a time.

This layer reads such a body, up to one byte past the body limit, and hands Flask the body with
its length. Flask then treats it as any other body, 413 beyond the limit included; as the rest
of an over-long body is left unread, that answer closes the connection.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import BadRequest

from ezgraph.web.shortcut import WSGIApp


class ChunkedBody:
    """WSGI middleware: a chunked request body read for ``app`` (see the module)."""

    def __init__(self, app: WSGIApp, max_bytes: int,
                 read_uwsgi_chunk: Callable[[], bytes] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Only given by tests; uWSGI's module exists only inside a uWSGI process.
        self._read_uwsgi_chunk = read_uwsgi_chunk

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH") or not _is_chunked(environ):
            return self.app(environ, start_response)
        if "uwsgi.version" in environ:
            read = self._uwsgi_reader()
        elif environ.get("wsgi.input_terminated"):
            read = _stream_reader(environ["wsgi.input"])
        else:
            return self.app(environ, start_response)  # a server that gives no way to read it
        try:
            body = self._read_body(read)
        except OSError as error:
            message = f"the chunked request body could not be read ({error or 'timed out'})"
            return BadRequest(message)(environ, _closing(start_response))
        # Handed on as a body of known length: werkzeug ignores CONTENT_LENGTH beside
        # "Transfer-Encoding: chunked".
        del environ["HTTP_TRANSFER_ENCODING"]
        environ.pop("wsgi.input_terminated", None)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if len(body) > self.max_bytes:
            return self.app(environ, _closing(start_response))
        return self.app(environ, start_response)

    def _uwsgi_reader(self) -> Callable[[int], bytes]:
        read_chunk = self._read_uwsgi_chunk
        if read_chunk is None:
            import uwsgi  # type: ignore[import-not-found]

            read_chunk = uwsgi.chunked_read
        return lambda size: read_chunk()

    def _read_body(self, read: Callable[[int], bytes]) -> bytes:
        parts: list[bytes] = []
        size = 0
        while size <= self.max_bytes:
            part = read(self.max_bytes + 1 - size)
            if not part:
                break
            parts.append(part)
            size += len(part)
        return b"".join(parts)


def _stream_reader(stream: Any) -> Callable[[int], bytes]:
    return lambda size: stream.read(size)


def _is_chunked(environ: dict[str, Any]) -> bool:
    codings = environ.get("HTTP_TRANSFER_ENCODING", "")
    # The last coding is the one that frames the body (RFC 9112, section 6.1).
    return codings.rsplit(",", 1)[-1].strip().lower() == "chunked"


def _closing(start_response: Callable[..., Any]) -> Callable[..., Any]:
    """``start_response`` adding ``Connection: close``: the rest of the body is unread."""
    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers = [(name, value) for name, value in headers if name.lower() != "connection"]
        return start_response(status, [*headers, ("Connection", "close")], exc_info)
    return start
