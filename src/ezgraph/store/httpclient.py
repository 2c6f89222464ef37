"""A deliberately small HTTP client for talking to SPARQL stores.

Why not ``urllib.request``: a store client needs a *total* deadline per exchange (a socket timeout
alone restarts on every byte a slow store trickles out), needs to tell "could not connect" (the
store is down) from "connected but no answer in time" (the query is slow), must not follow
redirects or environment proxies to somewhere the operator did not configure, and must bound the
size of what it reads. ``http.client`` gives all of that in a few lines; everything above the
wire (media types, SPARQL) stays with the callers.

One connection per exchange: simple, and the stores we talk to are on the same host or LAN.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlencode, urlsplit

#: Bytes read per ``recv`` while collecting a body; the deadline is checked between reads.
_READ_CHUNK = 64 * 1024


class HttpError(Exception):
    """The exchange did not produce an HTTP response."""


class ConnectFailed(HttpError):
    """No connection: refused, unknown host, connect timeout, or dropped before answering."""


class ResponseTimeout(HttpError):
    """Connected and sent the request, but the full response did not arrive before the deadline."""


class ResponseTooLarge(HttpError):
    """The response body is larger than the caller allowed."""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    reason: str
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower case ("" when missing)."""
        return (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()

    def text(self, limit: int = 600) -> str:
        """The body as text for an error message: decoded leniently, whitespace folded, cut."""
        text = " ".join(self.body[: limit * 4].decode("utf-8", "replace").split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


def with_query(url: str, params: Mapping[str, str] | list[tuple[str, str]] | None) -> str:
    """``url`` with ``params`` appended to its query string."""
    if not params:
        return url
    encoded = urlencode(list(params.items()) if isinstance(params, Mapping) else params)
    return f"{url}{'&' if urlsplit(url).query else '?'}{encoded}"


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float,
    connect_timeout: float | None = None,
    max_body: int | None = None,
) -> HttpResponse:
    """Do one HTTP exchange that finishes within ``timeout`` seconds or raises.

    Raises :class:`ConnectFailed` when no connection could be made (or it broke before a
    response), :class:`ResponseTimeout` when the response was not complete in time and
    :class:`ResponseTooLarge` when the body exceeds ``max_body`` bytes. Any HTTP status is
    returned, not raised: the caller knows what a 400 or a 503 means for it.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    deadline = time.monotonic() + timeout
    connect_timeout = min(timeout, connect_timeout if connect_timeout is not None else timeout)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=connect_timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        try:
            connection.connect()
        except OSError as exc:  # refused, unreachable, DNS failure, connect timeout
            raise ConnectFailed(_describe(exc)) from exc
        try:
            _set_remaining(connection, deadline)
            connection.request(method, target, body=body, headers=dict(headers or {}))
            _set_remaining(connection, deadline)
            response = connection.getresponse()
            payload = _read_body(connection, response, deadline, max_body)
        except TimeoutError as exc:
            raise ResponseTimeout(f"no complete answer within {timeout:g} s") from exc
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            raise ConnectFailed(f"connection lost: {_describe(exc)}") from exc
        except (http.client.HTTPException, OSError) as exc:
            raise ConnectFailed(f"broken HTTP exchange: {_describe(exc)}") from exc
        return HttpResponse(response.status, response.reason, response.headers, payload)
    finally:
        connection.close()


def _set_remaining(connection: http.client.HTTPConnection, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def _read_body(
    connection: http.client.HTTPConnection,
    response: http.client.HTTPResponse,
    deadline: float,
    max_body: int | None,
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        _set_remaining(connection, deadline)
        chunk = response.read1(_READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if max_body is not None and size > max_body:
            raise ResponseTooLarge(f"the answer is larger than {max_body} bytes")
        chunks.append(chunk)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
