"""Lookups: queries that are one triple pattern, whose work is bounded before they run.

``SELECT ?p ?o WHERE { <iri> ?p ?o }`` reads one range of one index: Oxigraph's work for it
(ordering, projection, serialization included) grows with the quads matching the pattern and
nothing else; without ``ORDER BY``, ``DISTINCT``, ``REDUCED`` or a variable used twice in the
pattern (``?x ?p ?x`` reads every quad to find the few whose subject is their object), its
solutions even come one by one as the index is read, so the work stops when the reader of the
solutions stops.
:func:`as_lookup` recognizes such queries (the most common with one regular expression, all
from their tokens), so that a caller can run them
where nothing could stop them at a time limit, within a bound: the solutions read (a streaming
lookup) or the quads matching the pattern, counted beforehand (see
:class:`~ezgraph.store.oxigraph.OxigraphStore`).

The recognizer accepts only what it reads exactly as Oxigraph does, and says ``None`` (not a
lookup) to everything else. Its reading decides the answer of a lookup asked in JSON, which is
written from the quads matching the pattern (:mod:`ezgraph.store.lookup_results`, which leaves
to Oxigraph the few queries where the two readings could part: non-ASCII text, an IRI Oxigraph
would refuse); any other lookup still runs in Oxigraph, which parses it itself. It accepts:

* a prologue of ``PREFIX`` declarations with absolute IRIs (``BASE`` is allowed: absolute IRIs
  do not depend on it);
* ``ASK`` or ``SELECT`` [``DISTINCT``/``REDUCED``] with ``*`` or plain variables;
* ``WHERE`` (optional) ``{`` subject predicate object [``.``] ``}``, each term a variable, a
  blank node label, an absolute IRI or a prefixed name (``a`` as the predicate); no literals;
* then only ``ORDER BY`` variables (``ASC(?v)``/``DESC(?v)`` too), ``LIMIT`` and ``OFFSET``;
* no backslash anywhere (escapes in IRIs and names, and the ``\\u`` escapes SPARQL expands
  before parsing, are left to Oxigraph) and no ``FROM``: the dataset stays the default one;
* no other ``{`` anywhere, even in a comment, and at most :data:`MAX_LENGTH` characters.

So a lookup has no room for anything the guard (:mod:`ezgraph.store.guard`) refuses: no update
keyword, no ``SERVICE``, no ``FROM``. Its form is all the guard's scan would find, and a caller
that recognized a lookup need not scan it again.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ezgraph.store.base import QueryForm, QuerySyntaxError
from ezgraph.store.guard import IRI_CHAR, PNAME, VAR, Token, tokenize

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_INTEGER = re.compile(r"[0-9]+")
#: Longer queries are not read as lookups (the tokens of one cost about a microsecond each).
MAX_LENGTH = 4_000


# Named tuples, not dataclasses: one of each is made for every lookup asked, in a third of the
# time.
class TriplePattern(NamedTuple):
    """The IRIs of a triple pattern's constant terms; ``None`` where it has a variable."""

    subject: str | None
    predicate: str | None
    object: str | None


class Lookup(NamedTuple):
    pattern: TriplePattern
    #: True when solutions come as the index is read (no ORDER BY, DISTINCT or REDUCED, and no
    #: variable twice in the pattern): then the work up to the n-th solution is bounded by n
    #: plus the OFFSET.
    streams: bool
    offset: int = 0
    #: The LIMIT, when the query has one: no more solutions than that.
    limit: int | None = None
    form: QueryForm = "SELECT"
    #: The variable at each place of the pattern, by name (``?x`` and ``$x`` are ``x``);
    #: ``None`` at a constant or a blank node (a variable no projection can name).
    names: tuple[str | None, str | None, str | None] = (None, None, None)
    #: The SELECT's variables, in order; ``None`` for ``SELECT *`` and ``ASK``.
    projection: tuple[str, ...] | None = None
    #: The IRIs of the prologue's ``BASE`` and ``PREFIX`` declarations, as written: Oxigraph
    #: refuses an IRI it cannot parse there, used or not.
    declared: tuple[str, ...] = ()


def as_lookup(query: str) -> Lookup | None:
    """``query`` as a lookup when it is one triple pattern with solution modifiers (see the
    module docstring), else ``None``."""
    # Cheap refusals first: most queries that are not lookups have several groups, and a
    # lookup with a long prologue (a query editor's prefixes) is still short.
    if "\\" in query or len(query) > MAX_LENGTH or query.count("{") != 1:
        return None
    return _quick_lookup(query) or _parsed_lookup(query)


def _parsed_lookup(query: str) -> Lookup | None:
    """``query`` as a lookup, read from its tokens."""
    try:
        tokens = list(tokenize(query))
    except QuerySyntaxError:
        return None
    return _LookupParser(tokens).parse()


# The lookups clients send most, read by one regular expression in about 5 µs instead of the
# token parser's 18: a prologue of PREFIX declarations, ASK or SELECT [DISTINCT|REDUCED]
# with * or variables, one pattern of variables, IRIs and prefixed names (``a``), then LIMIT and
# OFFSET. It is built from the tokenizer's own terminals and reads each token whole (atomic
# groups: no backtracking into a name to split it in two) and each keyword only where the
# tokenizer would end it, so what it accepts, the parser below reads the same; anything else
# (BASE, ORDER BY, a blank node, a keyword run into a name) is left to that parser. The tests
# compare both readings.
_SEPARATOR = r"(?:\s++|\#[^\r\n]*+)*+"  # whitespace and comments, never given back
#: Where a keyword ends for the tokenizer: not before a name character or a colon.
_KEYWORD_END = r"(?![\w:.\-\u00B7\u0300-\u036F\u203F-\u2040])"


def _keyword(*keywords: str) -> str:
    return rf"(?i:{'|'.join(keywords)}){_KEYWORD_END}"


#: An IRI as the tokenizer reads one in a query without a backslash (as_lookup refuses those).
_IRI = rf"<{IRI_CHAR}*+>"
_TERM = rf"(?>{VAR}|{_IRI}|{PNAME})"
_LIMIT_OR_OFFSET = (rf"{_SEPARATOR}({_keyword('LIMIT', 'OFFSET')}){_SEPARATOR}"
                    rf"((?>[0-9]+))(?![\w.])")
#: Prologues with more declarations are left to the parser.
_QUICK_PREFIXES = 8
_DECLARATION = (rf"{_SEPARATOR}{_keyword('PREFIX')}{_SEPARATOR}((?>{PNAME}))"
                rf"{_SEPARATOR}({_IRI})")
_QUICK_LOOKUP = re.compile(
    f"(?:{_DECLARATION}" * _QUICK_PREFIXES + ")?" * _QUICK_PREFIXES
    + rf"{_SEPARATOR}(?:({_keyword('ASK')})|{_keyword('SELECT')}"
    rf"(?:{_SEPARATOR}({_keyword('DISTINCT', 'REDUCED')}))?"
    rf"{_SEPARATOR}(\*|(?>{VAR})(?:{_SEPARATOR}(?>{VAR}))*))"
    rf"(?:{_SEPARATOR}{_keyword('WHERE')})?{_SEPARATOR}\{{{_SEPARATOR}"
    rf"({_TERM}){_SEPARATOR}({_TERM}|a{_KEYWORD_END}){_SEPARATOR}({_TERM})"
    rf"(?:{_SEPARATOR}\.)?{_SEPARATOR}\}}"
    rf"(?:{_LIMIT_OR_OFFSET})?(?:{_LIMIT_OR_OFFSET})?{_SEPARATOR}\Z"
)


#: The variables of a projection the quick reading matched, its comments skipped whole.
_PROJECTED = re.compile(rf"{_SEPARATOR}((?>{VAR}))")


def _quick_lookup(query: str) -> Lookup | None:
    """``query`` as a lookup when :data:`_QUICK_LOOKUP` reads it, else ``None`` (which says
    nothing: the parser decides)."""
    match = _QUICK_LOOKUP.match(query)
    if match is None:
        return None
    groups = match.groups()
    prefixes: dict[str, str] = {}
    declared: list[str] = []
    for at in range(0, 2 * _QUICK_PREFIXES, 2):
        name = groups[at]
        if name is None:
            break
        iri = groups[at + 1][1:-1]
        if name[-1] != ":" or not _ABSOLUTE_IRI.match(iri):
            return None
        prefixes[name[:-1]] = iri
        declared.append(iri)
    ask, distinct, selected, subject, predicate, object_, first, first_n, second, second_n = (
        groups[2 * _QUICK_PREFIXES:])
    projection = None
    if selected is not None and selected != "*":
        projection = tuple(name[1:] for name in _PROJECTED.findall(selected))
        if len(set(projection)) < len(projection):
            return None  # a variable selected twice: Oxigraph reports the error
    streams = distinct is None
    constants: list[str | None] = []
    names: list[str | None] = []
    for term in (subject, predicate, object_):
        start = term[0]
        if start == "?" or start == "$":
            if term[1:] in names:
                streams = False  # an equality the index cannot seek: every quad is read
            names.append(term[1:])
            constants.append(None)
            continue
        names.append(None)
        if start == "<":
            if not _ABSOLUTE_IRI.match(term, 1):
                return None
            constants.append(term[1:-1])
        elif term == "a":
            constants.append(RDF_TYPE)
        else:
            prefix, _, local = term.partition(":")
            if prefix not in prefixes:
                return None
            constants.append(prefixes[prefix] + local)
    if first is not None and second is not None and first.upper() == second.upper():
        return None  # LIMIT or OFFSET twice
    limit, offset = None, 0
    for keyword, number in ((first, first_n), (second, second_n)):
        if keyword is not None and keyword.upper() == "LIMIT":
            limit = int(number)
        elif keyword is not None:
            offset = int(number)
    return Lookup(TriplePattern(*constants), streams, offset, limit,
                  "ASK" if ask else "SELECT", (names[0], names[1], names[2]), projection,
                  tuple(declared))


class _NotALookup(Exception):
    pass


class _LookupParser:
    """A recursive-descent reading of the few productions a lookup may use."""

    def __init__(self, tokens: list[Token]):
        self._tokens = tokens
        self._at = 0
        self._prefixes: dict[str, str] = {}
        self._streams = True
        self._offset = 0
        self._limit: int | None = None
        self._form_keyword: QueryForm = "SELECT"
        #: The pattern's variables and blank node labels, by name (``?x`` and ``$x`` are one).
        self._variables: list[str] = []
        self._names: list[str | None] = []
        self._projection: list[str] | None = None
        self._declared: list[str] = []

    def parse(self) -> Lookup | None:
        try:
            self._prologue()
            self._form()
            self._keyword_if("WHERE")
            self._text("{")
            pattern = TriplePattern(
                self._term(), self._term(predicate=True), self._term()
            )
            if len(set(self._variables)) < len(self._variables):
                self._streams = False  # an equality the index cannot seek: every quad is read
            if self._peek_text() == ".":
                self._at += 1
            self._text("}")
            self._modifiers()
            if self._at != len(self._tokens):
                raise _NotALookup
        except (_NotALookup, IndexError):
            return None
        projection = None if self._projection is None else tuple(self._projection)
        names = self._names
        return Lookup(pattern, self._streams, self._offset, self._limit, self._form_keyword,
                      (names[0], names[1], names[2]), projection, tuple(self._declared))

    def _prologue(self) -> None:
        while True:
            if self._keyword_if("BASE"):
                self._declared.append(self._take("iri").text[1:-1])
            elif self._keyword_if("PREFIX"):
                name = self._take("pname").text
                iri = self._take("iri").text[1:-1]
                if not name.endswith(":") or not _ABSOLUTE_IRI.match(iri):
                    raise _NotALookup
                self._prefixes[name[:-1]] = iri
                self._declared.append(iri)
            else:
                return

    def _form(self) -> None:
        if self._keyword_if("ASK"):
            self._form_keyword = "ASK"
            return
        if not self._keyword_if("SELECT"):
            raise _NotALookup
        if self._keyword_if("DISTINCT") or self._keyword_if("REDUCED"):
            self._streams = False
        if self._peek_text() == "*":
            self._at += 1
            return
        self._projection = [self._take("var").text[1:]]
        while self._tokens[self._at].kind == "var":
            name = self._tokens[self._at].text[1:]
            if name in self._projection:
                raise _NotALookup  # selected twice: Oxigraph reports the error
            self._projection.append(name)
            self._at += 1

    def _term(self, predicate: bool = False) -> str | None:
        token = self._tokens[self._at]
        self._at += 1
        if token.kind in ("var", "bnode"):
            self._variables.append(token.text[1:] if token.kind == "var" else token.text)
            self._names.append(token.text[1:] if token.kind == "var" else None)
            return None
        self._names.append(None)
        if token.kind == "iri":
            iri = token.text[1:-1]
            if _ABSOLUTE_IRI.match(iri):
                return iri
        elif token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            if prefix in self._prefixes:
                return self._prefixes[prefix] + local
        elif predicate and token.kind == "word" and token.text == "a":
            return RDF_TYPE
        raise _NotALookup

    def _modifiers(self) -> None:
        if self._keyword_if("ORDER"):
            if not self._keyword_if("BY"):
                raise _NotALookup
            self._streams = False
            self._order_condition()
            while self._at < len(self._tokens) and self._order_condition(optional=True):
                pass
        seen: set[str] = set()
        while self._at < len(self._tokens):
            keyword = self._keyword()
            if keyword not in ("LIMIT", "OFFSET") or keyword in seen:
                raise _NotALookup
            seen.add(keyword)
            number = self._take("number").text
            if not _INTEGER.fullmatch(number):
                raise _NotALookup
            if keyword == "OFFSET":
                self._offset = int(number)
            else:
                self._limit = int(number)

    def _order_condition(self, optional: bool = False) -> bool:
        token = self._tokens[self._at]
        if token.kind == "var":
            self._at += 1
            return True
        if token.kind == "word" and token.text.upper() in ("ASC", "DESC"):
            self._at += 1
            self._text("(")
            self._take("var")
            self._text(")")
            return True
        if optional:
            return False
        raise _NotALookup

    def _keyword(self) -> str:
        token = self._tokens[self._at]
        if token.kind != "word":
            raise _NotALookup
        self._at += 1
        return token.text.upper()

    def _keyword_if(self, keyword: str) -> bool:
        token = self._tokens[self._at] if self._at < len(self._tokens) else None
        if token is not None and token.kind == "word" and token.text.upper() == keyword:
            self._at += 1
            return True
        return False

    def _peek_text(self) -> str | None:
        return self._tokens[self._at].text if self._at < len(self._tokens) else None

    def _text(self, text: str) -> None:
        if self._tokens[self._at].text != text:
            raise _NotALookup
        self._at += 1

    def _take(self, kind: str) -> Token:
        token = self._tokens[self._at]
        if token.kind != kind:
            raise _NotALookup
        self._at += 1
        return token
