"""Whole HTTP answers kept per release, replayed before Flask sees the request.

The data cannot change while a release is served, so an answer to ``GET /sparql?query=…``, a
Linked Data document or a 303 from an identifier is the same every time the same request comes
in. :class:`ResponseCache` wraps the Flask WSGI app: the first request goes through the full view
(negotiation, guard, query worker, CORS headers) and its status, headers and body are kept; the
same request again is answered from memory without a request context, a worker round trip or a
query scan. Replaying what the view produced is what keeps hits identical to misses, byte for
byte and header for header.

What makes two requests "the same": the release, the method, the path, the query string, and
every request header a view reads (``Accept`` for negotiation; ``Host``, the scheme and the
script root for the links and ``Location`` headers pages carry). Requests with conditional or
range headers go to the view, which answers 304s from its ETags without any query. Only ``GET``,
only 200 and 303 answers, only the routes listed in :data:`CACHED_PREFIXES`, and only while the
store can name its release without blocking: an error, a timeout or a truncated-by-time answer
is never kept, and a store whose data may change under it (a remote endpoint) gets no cache.

An answer is kept the second time its request comes, not the first: most requests at a
million triples come once (a crawler's pages, a script's lookups), and keeping each of them
cost more than the answer itself (the key's bytes counted, the body joined, another evicted).
The keys seen once are remembered by their hash, :data:`SEEN_KEYS` at most; a collision only
keeps an answer one request early.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Paths whose GET answers depend only on the request and the release.
CACHED_PREFIXES = ("/sparql", "/doc/", "/doc", "/id/", "/def", "/shapes", "/graph/", "/dataset")
#: Conditional and range request headers (WSGI names): the views answer them (304, 206).
CONDITIONAL_HEADERS = (
    "HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE", "HTTP_RANGE",
)
#: Request headers that make the view's answer depend on more than the URL and Accept.
_BYPASS_HEADERS = (*CONDITIONAL_HEADERS, "HTTP_AUTHORIZATION", "HTTP_COOKIE")
_CACHED_STATUSES = ("200", "303")
DEFAULT_MAX_BYTES = 64 * 2**20
#: Hashes of requests seen once, remembered so that their second coming is kept; forgotten all
#: at once when there are this many (7 MB of them: a set of 100,000 ints).
SEEN_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class ResponseCache:
    """WSGI middleware: replays kept answers of ``app`` for repeated requests (see the module
    docstring). ``release`` returns the current release id, or ``None`` while it is not known
    (nothing is cached then); ``max_bytes`` bounds the kept bodies (least recently used go
    first)."""

    def __init__(self, app: WSGIApp, release: Callable[[], str | None],
                 max_bytes: int = DEFAULT_MAX_BYTES):
        self.app = app
        self._release = release
        self._max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, ...], CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._seen: set[int] = set()
        self.hits = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self.app(environ, start_response)
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            seen = answer is not None or self._seen_before(key)
        if answer is not None:
            start_response(answer.status, list(answer.headers))
            return [answer.body]
        if not seen:
            return self.app(environ, start_response)
        return self._fill(key, environ, start_response)

    def _seen_before(self, key: tuple[str, ...]) -> bool:
        """Whether ``key`` came before (and is remembered); called under the lock."""
        digest = hash(key)
        if digest in self._seen:
            return True
        if len(self._seen) >= SEEN_KEYS:
            self._seen.clear()
        self._seen.add(digest)
        return False

    def _key(self, environ: dict[str, Any]) -> tuple[str, ...] | None:
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CACHED_PREFIXES):
            return None
        if not environ.keys().isdisjoint(_BYPASS_HEADERS):
            return None
        release = self._release()
        if not release:
            return None
        return (release, path, environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT", "\0"),
                environ.get("HTTP_HOST", ""), environ.get("SERVER_NAME", ""),
                str(environ.get("SERVER_PORT", "")), environ.get("wsgi.url_scheme", ""),
                environ.get("SCRIPT_NAME", ""))

    def _fill(self, key: tuple[str, ...], environ: dict[str, Any],
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None
                    ) -> Callable[[bytes], Any]:
            # Nothing is sent yet, so an error page replacing the headers is fine (PEP 3333).
            captured[:] = [status, headers]
            return _no_write

        result = self.app(environ, capture)
        if not self._cacheable(captured):
            # Not kept: hand the app's iterable on untouched (streamed files stay streamed).
            # Flask calls start_response before it returns, so the headers are known here.
            if captured:
                start_response(captured[0], captured[1])
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured
        start_response(status, headers)
        self._put(key, CachedAnswer(status, tuple(headers), body))
        return [body]

    @staticmethod
    def _cacheable(captured: list[Any]) -> bool:
        if len(captured) != 2:
            return False
        status, headers = captured
        if status[:3] not in _CACHED_STATUSES:
            return False
        for name, value in headers:
            lowered = name.lower()
            if lowered == "set-cookie":
                return False
            if lowered == "cache-control" and "no-store" in value.lower():
                return False
        return True

    def _put(self, key: tuple[str, ...], answer: CachedAnswer) -> None:
        size = len(answer.body) + sum(len(n) + len(v) for n, v in answer.headers) + 256
        # One huge answer must not flush everything else out.
        if size > self._max_bytes // 8:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.body) + sum(
                    len(n) + len(v) for n, v in evicted.headers) + 256

    def __len__(self) -> int:
        return len(self._entries)


def _no_write(data: bytes) -> None:
    raise RuntimeError("the WSGI write() callable is not supported by the response cache")
