"""The request every view reads: ``Accept`` without media type parameters, and parameters that
are UTF-8 text or a 400 that names them.

* ``Accept``: parameters other than ``q`` are dropped (see :mod:`ezgraph.web.negotiation` for
  why). The header itself is rewritten, not only ``accept_mimetypes``: the SPARQL and Linked
  Data views read the header text (their choice is remembered per header), and rewriting it
  once makes every reader agree.
* URL and form parameters: werkzeug keeps a percent-encoded byte that is not UTF-8 as the text
  ``%FF`` (so ``/sparql`` ran another query than the one sent, ``/doc?iri=`` looked up another
  IRI), fails with UnicodeDecodeError on such a byte sent as it is (a 500), and drops a whole
  form body over one. Here the raw bytes are decoded with ``surrogateescape``, which keeps each
  such byte as a lone surrogate, so that the parameter holding it can be named in a 400.
"""

from __future__ import annotations

from functools import cached_property
from typing import IO, Any
from urllib.parse import parse_qsl

from flask import Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.formparser import FormDataParser

from ezgraph.web.negotiation import accept_without_parameters


def utf8_parameters(raw: bytes, where: str) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a query string or form body ``raw``; :class:`BadRequest`
    naming the first parameter (``where`` says where it was sent) that is not UTF-8."""
    pairs = parse_qsl(raw.decode("utf-8", "surrogateescape"), keep_blank_values=True,
                      encoding="utf-8", errors="surrogateescape")
    for name, value in pairs:
        for text, what, part in ((name, "a parameter name", "name"), (value, f"{name}=", "value")):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as error:
                byte = ord(text[error.start]) - 0xDC00  # where surrogateescape put the byte
                raise BadRequest(
                    f"{what} {where} is not valid UTF-8 (byte 0x{byte:02X} at character "
                    f"{error.start + 1} of its {part}): percent-encode the UTF-8 bytes of the text"
                ) from None
    return pairs


def bare_accept(header: str | None) -> str | None:
    """The ``Accept`` header every view reads: ``header`` without media type parameters other
    than ``q``."""
    if header and ";" in header:  # no ";", no parameter: most requests skip the parsing
        return accept_without_parameters(header)
    return header


class _UTF8FormParser(FormDataParser):
    def _parse_urlencoded(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                          options: dict[str, str]) -> Any:
        # The stream is already limited to MAX_CONTENT_LENGTH, as in werkzeug's own.
        form = self.cls(utf8_parameters(stream.read(), "in the form body"))
        return stream, form, self.cls()


class EzgraphRequest(Request):
    """Flask's request with the ``Accept`` header and parameters described in the module."""

    form_data_parser_class = _UTF8FormParser

    def __init__(self, environ: dict[str, Any], populate_request: bool = True,
                 shallow: bool = False) -> None:
        accept = environ.get("HTTP_ACCEPT")
        if accept:
            environ["HTTP_ACCEPT"] = bare_accept(accept)
        super().__init__(environ, populate_request, shallow)

    @cached_property
    def args(self) -> MultiDict[str, str]:
        return self.parameter_storage_class(utf8_parameters(self.query_string, "in the URL"))
