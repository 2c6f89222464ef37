"""What a query may do here, decided before any backend sees it.

Every backend runs :func:`check_query` and :func:`check_dataset_params` before dispatching a
query. They refuse, with :class:`~ezgraph.store.base.QueryRefused`:

* SPARQL Update operations (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``, ``CREATE``, ``DROP``,
  ``COPY``, ``MOVE``, ``ADD``): the endpoint is read-only;
* any ``SERVICE`` clause: Oxigraph and rdflib would fetch whatever URL it names (SSRF);
* ``FROM`` / ``FROM NAMED`` IRIs, and ``default-graph-uri`` / ``named-graph-uri`` protocol
  parameters, that are not graphs of the dataset (some engines dereference them).

The decision is taken on SPARQL *tokens*, not on substrings: the scanner below follows the
terminals of the SPARQL 1.1 grammar (section 19.8) closely enough to skip string literals in all
four quote styles, IRIs, comments, variables, blank nodes, language tags and prefixed names, so
``ex:service``, ``?insert``, ``<http://x/drop>`` or ``"load me"`` never trigger a refusal while
``SERVICE``/``service`` as a keyword always does. It is not a parser: a query it lets through may
still be rejected as a syntax error by the backend.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urljoin

from ezgraph.store.base import QueryForm, QueryRefused, QuerySyntaxError

UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD"}
)
QUERY_FORMS: frozenset[str] = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})

# Terminals of the SPARQL 1.1 grammar, approximated with Python's Unicode classes
# (\w covers PN_CHARS_U and digits). The lookup recognizer (ezgraph.store.lookup) reads the same
# terminals, so they are named here once.
_PN_CHARS = r"[\w\-\u00B7\u0300-\u036F\u203F-\u2040]"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_PN_PREFIX = rf"[^\W\d_](?:(?:{_PN_CHARS}|\.)*{_PN_CHARS})?"
_PN_LOCAL = rf"(?:[\w:]|{_PLX})(?:(?:{_PN_CHARS}|[.:]|{_PLX})*(?:{_PN_CHARS}|:|{_PLX}))?"
#: A character of an IRI written as it is (not a \u or \U escape).
IRI_CHAR = r'[^<>"{}|^`\\\x00-\x20]'
IRIREF = rf"<(?:{IRI_CHAR}|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*>"
VAR = r"[?$]\w[\w\u00B7\u0300-\u036F\u203F-\u2040]*"
PNAME = rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?"

_TOKEN = re.compile(
    rf"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\r\n]*)
    | (?P<string>
          '''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
        | \"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
        | '(?:[^'\\\r\n]|\\.)*'
        | "(?:[^"\\\r\n]|\\.)*"
      )
    | (?P<iri>{IRIREF})
    | (?P<var>{VAR})
    | (?P<bnode>_:[\w](?:(?:{_PN_CHARS}|\.)*{_PN_CHARS})?)
    | (?P<pname>{PNAME})
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<number>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<word>[^\W\d]\w*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_LOCAL_ESCAPE = re.compile(r"\\(.)")
_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


class Token(NamedTuple):
    # A named tuple, not a dataclass: every query is scanned on every request that is not a
    # cache hit, and a long generated query has a thousand tokens.
    kind: str
    text: str
    #: Offset of the token's first character in the query.
    offset: int


@dataclass(frozen=True)
class QueryScan:
    """What the scanner found in a query; IRIs are resolved against ``BASE`` and ``PREFIX``."""

    #: The first query form keyword (``None`` for an update or a fragment that has none).
    form: QueryForm | None
    from_graphs: tuple[str, ...] = ()
    from_named_graphs: tuple[str, ...] = ()
    #: The first SPARQL Update keyword found, upper-cased.
    update_keyword: str | None = None
    service: bool = False

    @property
    def has_dataset_clause(self) -> bool:
        """True when the query names its own dataset with ``FROM`` or ``FROM NAMED``."""
        return bool(self.from_graphs or self.from_named_graphs)


def tokenize(query: str) -> Iterator[Token]:
    """The query's significant tokens (whitespace and comments dropped)."""
    # The "other" alternative matches any character and no alternative matches the empty
    # string, so finditer's matches tile the whole query, one after the other.
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "other"
        if kind == "ws" or kind == "comment":
            continue
        text = match.group()
        if kind == "other" and text in "'\"":
            line, column = _line_column(query, match.start())
            raise QuerySyntaxError(
                f"unterminated string literal starting at line {line}, column {column}",
                line,
                column,
            )
        yield Token(kind, text, match.start())


def scan_query(query: str, base_iri: str | None = None) -> QueryScan:
    """Find the query form, its ``FROM`` graphs, update keywords and ``SERVICE`` clauses.

    Relative IRIs resolve against the query's ``BASE``, itself resolved against ``base_iri``
    (the base the backend gives the query engine), like the engine does.

    SPARQL 1.1 (section 19.2) expands ``\\uXXXX`` / ``\\UXXXXXXXX`` escapes *before* parsing, and
    rdflib does so, while Oxigraph only expands them inside literals and IRIs. When a query has
    such escapes, both readings are scanned and a refusal in either one counts.
    """
    _check_nesting(query)
    quick = _quick_scan(query)
    if quick is not None:
        return quick
    scan = _scan_tokens(list(tokenize(query)), base_iri)
    if _CODEPOINT_ESCAPE.search(query):
        expanded_query = _CODEPOINT_ESCAPE.sub(_expand_escape, query)
        try:
            expanded = _scan_tokens(list(tokenize(expanded_query)), base_iri)
        except QuerySyntaxError as error:
            # Not a query by the spec's reading, yet Oxigraph, which leaves the escapes in
            # place, may run it: "\u0022" closes no string for it. The two readings then part
            # ways and a keyword can hide in one of them, so the query is refused.
            line, column = _line_column(query, _unexpanded_offset(
                query, _offset(expanded_query, error.line or 1, error.column or 1)))
            raise QuerySyntaxError(
                f"the string literal starting at line {line}, column {column} does not end "
                "once the query's \\u escapes are expanded, as SPARQL 1.1 (section 19.2) "
                "requires: write a quote in a literal as \\\" or \\'", line, column,
            ) from None
        scan = QueryScan(
            form=scan.form,
            from_graphs=tuple(dict.fromkeys(scan.from_graphs + expanded.from_graphs)),
            from_named_graphs=tuple(
                dict.fromkeys(scan.from_named_graphs + expanded.from_named_graphs)
            ),
            update_keyword=scan.update_keyword or expanded.update_keyword,
            service=scan.service or expanded.service,
        )
    return scan


#: Deepest nesting of groups, brackets and parentheses accepted. Oxigraph's parser recurses
#: once per level: 2,000 nested groups parse, 4,000 overflow a worker's stack and kill it.
MAX_NESTING = 1_000


def _check_nesting(query: str) -> None:
    if query.count("{") + query.count("(") + query.count("[") <= MAX_NESTING:
        return  # too few openings to nest that deep: no need to tokenize
    depth = 0
    for token in tokenize(query):
        if token.kind != "other":
            continue
        if token.text in "{([":
            depth += 1
            if depth > MAX_NESTING:
                line, column = _line_column(query, token.offset)
                raise QueryRefused(
                    f"the query nests groups, brackets or parentheses more than {MAX_NESTING:,} "
                    f"deep (at line {line}, column {column}); this endpoint accepts at most "
                    f"{MAX_NESTING:,} levels")
        elif token.text in "})]":
            depth -= 1


#: Words that make the scan look further than the query form.
_DECISIVE_WORDS = (*sorted(UPDATE_KEYWORDS), "SERVICE", "FROM")


def _quick_scan(query: str) -> QueryScan | None:
    """The scan of a query that cannot refuse anything, from its first tokens only; ``None``
    when the whole query must be scanned.

    The scanner compares ``token.text.upper()`` of word tokens with the keywords, and
    ``str.upper`` maps each character on its own, so every word's upper-case form is a substring
    of ``query.upper()``: when no update keyword, ``SERVICE`` or ``FROM`` occurs there even as a
    part of a longer name, the scan can only find the form, which is the first form keyword
    among the tokens. Long generated queries (Linked Data documents) are then scanned in
    microseconds instead of a millisecond. Queries with a backslash (escapes) or a quote (whose
    strings the full scan checks for termination) are left to the full scan."""
    if "\\" in query or "'" in query or '"' in query:
        return None
    upper = query.upper()
    if any(word in upper for word in _DECISIVE_WORDS):
        return None
    for token in tokenize(query):
        if token.kind == "word":
            keyword = token.text.upper()
            if keyword in QUERY_FORMS:
                return QueryScan(form=keyword)  # type: ignore[arg-type]  # a QUERY_FORMS
    return QueryScan(form=None)


def _scan_tokens(tokens: list[Token], base_iri: str | None) -> QueryScan:
    base = base_iri
    prefixes: dict[str, str] = {}
    form: str | None = None
    update_keyword: str | None = None
    service = False
    from_graphs: list[str] = []
    from_named_graphs: list[str] = []

    def resolve(token: Token) -> str | None:
        if token.kind == "iri":
            iri = token.text[1:-1]
            return urljoin(base, iri) if base else iri
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix not in prefixes:
                return None
            return prefixes[prefix] + _LOCAL_ESCAPE.sub(r"\1", local)
        return None

    for index, token in enumerate(tokens):
        if token.kind != "word":
            continue
        keyword = token.text.upper()
        following = tokens[index + 1 : index + 3]
        if keyword == "BASE" and following and following[0].kind == "iri":
            base = resolve(following[0])
        elif (
            keyword == "PREFIX"
            and len(following) == 2
            and following[0].kind == "pname"
            and following[0].text.endswith(":")
            and following[1].kind == "iri"
        ):
            prefixes[following[0].text[:-1]] = resolve(following[1]) or ""
        elif keyword in QUERY_FORMS and form is None:
            form = keyword
        elif keyword in UPDATE_KEYWORDS and update_keyword is None:
            update_keyword = keyword
        elif keyword == "SERVICE":
            service = True
        elif keyword == "FROM" and following:
            named = following[0].kind == "word" and following[0].text.upper() == "NAMED"
            target = following[1] if named and len(following) == 2 else following[0]
            iri = resolve(target)
            if iri is not None:
                (from_named_graphs if named else from_graphs).append(iri)
    return QueryScan(
        form=form,  # type: ignore[arg-type]  # one of QUERY_FORMS
        from_graphs=tuple(from_graphs),
        from_named_graphs=tuple(from_named_graphs),
        update_keyword=update_keyword,
        service=service,
    )


def check_scan(scan: QueryScan, dataset_graphs: Collection[str] | None) -> None:
    """Refuse what :func:`scan_query` found that this read-only endpoint does not allow."""
    if scan.update_keyword is not None:
        raise QueryRefused(
            f"this endpoint is read-only: SPARQL Update ({scan.update_keyword}) is not accepted"
        )
    if scan.service:
        raise QueryRefused(
            "SERVICE (federated query) is not allowed here: this endpoint does not contact "
            "other servers"
        )
    if dataset_graphs is not None:
        _refuse_unknown_graphs("FROM", scan.from_graphs, dataset_graphs)
        _refuse_unknown_graphs("FROM NAMED", scan.from_named_graphs, dataset_graphs)


def check_query(
    query: str, dataset_graphs: Collection[str] | None, *, base_iri: str | None = None
) -> None:
    """Raise :class:`QueryRefused` unless ``query`` is a read-only query over this dataset.

    ``dataset_graphs`` are the IRIs of the dataset's named graphs; ``None`` skips the ``FROM``
    check (for a backend that cannot list its graphs). ``base_iri`` is the base the backend
    resolves the query's relative IRIs against, if any.
    """
    check_scan(scan_query(query, base_iri), dataset_graphs)


def check_dataset_params(
    default_graph_uris: Iterable[str],
    named_graph_uris: Iterable[str],
    dataset_graphs: Collection[str] | None,
) -> None:
    """Refuse ``default-graph-uri`` / ``named-graph-uri`` values that are not dataset graphs."""
    if dataset_graphs is None:
        return
    _refuse_unknown_graphs("default-graph-uri", default_graph_uris, dataset_graphs)
    _refuse_unknown_graphs("named-graph-uri", named_graph_uris, dataset_graphs)


def _refuse_unknown_graphs(
    where: str, iris: Iterable[str], dataset_graphs: Collection[str]
) -> None:
    unknown = [iri for iri in iris if iri not in dataset_graphs]
    if unknown:
        listed = ", ".join(f"<{iri}>" for iri in unknown)
        raise QueryRefused(
            f"{where} {listed}: not a graph of this dataset (the service description lists "
            f"its {len(dataset_graphs)} named graphs); other graphs are never fetched"
        )


def _expand_escape(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    return chr(code) if code <= 0x10FFFF else match.group()


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + column - 1


def _unexpanded_offset(query: str, offset: int) -> int:
    """Where in ``query`` the character at ``offset`` of its escape-expanded text comes from."""
    shift = 0
    for match in _CODEPOINT_ESCAPE.finditer(query):
        expanded_start = match.start() - shift
        if expanded_start > offset:
            break
        expansion = _expand_escape(match)
        if offset < expanded_start + len(expansion):
            return match.start()
        shift += len(match.group()) - len(expansion)
    return offset + shift


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column
