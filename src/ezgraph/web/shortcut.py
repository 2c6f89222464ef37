"""What a shortcut is: WSGI middleware in front of Flask that answers the plain cases of some
requests itself and hands everything else over, store failures included.

The shortcuts (:mod:`ezgraph.web.sparql_get`, :mod:`ezgraph.web.linked_data_get`; assembled
by :mod:`ezgraph.web.stack`) answer what succeeds themselves and pass every failure to Flask,
whose views and error handlers render it (negotiated text, JSON or HTML, ``Retry-After``). They
attach the failure to the request, and the view raises it again instead of asking the store a
second time: a query that ran out of time must not run out of time twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from flask import request

from ezgraph.web.state import AppState

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: A shortcut's answer: status line, headers (before the extra ones), body.
Answer = tuple[str, list[tuple[str, str]], bytes]

#: WSGI environ key of ``(call, exception)``: a store call (a ``QueryRequest`` or
#: ``DescribeRequest``) and what it raised. Clients cannot set it: their headers become
#: ``HTTP_*`` keys.
FAILED_CALL_KEY = "ezgraph.failed_store_call"


def attach_failure(environ: dict[str, Any], call: object, error: Exception) -> None:
    """Hand ``error``, raised by the store for ``call``, to the view of this request."""
    environ[FAILED_CALL_KEY] = (call, error)


def raise_attached_failure(call: object) -> None:
    """In a view, before asking the store for ``call``: raise what a shortcut found the store
    raising for this very call, if anything."""
    failed = request.environ.pop(FAILED_CALL_KEY, None)
    if failed is not None and failed[0] == call:
        raise failed[1]


class Shortcut:
    """WSGI middleware: requests :meth:`answer` answers from ``state``'s store, the rest passed
    to ``app``. ``extra_headers`` close every answer, as the app's ``after_request`` hooks would
    add them."""

    def __init__(self, app: WSGIApp, state: AppState, extra_headers: Sequence[tuple[str, str]]):
        self.app = app
        self._state = state
        self._extra_headers = list(extra_headers)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, body = answer
        start_response(status, [*headers, *self._extra_headers])
        return [body]

    def answer(self, environ: dict[str, Any]) -> Answer | None:
        """The answer to the request, or ``None`` to hand it to ``app``."""
        raise NotImplementedError
