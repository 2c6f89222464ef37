"""Store failures a shortcut hands over to the Flask view that answers the same request.

The shortcuts (:mod:`ezgraph.web.sparql_get`, :mod:`ezgraph.web.linked_data_get`) answer what
succeeds themselves and pass every failure to Flask, whose views and error handlers render it
(negotiated text, JSON or HTML, ``Retry-After``). They attach the failure to the request, and
the view raises it again instead of asking the store a second time: a query that ran out of time
must not run out of time twice.
"""

from __future__ import annotations

from typing import Any

from flask import request

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
