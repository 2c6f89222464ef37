"""Reading the curated input: source documents and records, checked against the record schema.

Everything is checked before anything is mapped, and every problem of a run is reported
together (file and line, record and field, and what is expected). What comes out is plain data:
:class:`Curated` holds :class:`SourceDocument` and :class:`Record` values that the mapper turns
into RDF without further checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ezgraph.mapping.schema import (
    COMMON_FIELDS,
    KINDS,
    RESERVED,
    SOURCE_FIELDS,
    UNITS,
    Field,
    ValueType,
)
from ezgraph.sources.errors import ErrorCollector
from ezgraph.sources.text import SourceText
from ezgraph.sources.yamlfile import LineDict, LineList, load_yaml, load_yaml_files

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)+$")
DATE_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Evidence:
    source: str  # source document id
    quote: str  # the quote as written in the record
    start: int  # character offsets of the quote in the source text
    end: int


@dataclass(frozen=True)
class Value:
    """One checked field value: ``data`` is text, Decimal, int, bool, (language, text) or an id."""

    type: ValueType
    data: Any
    #: For CONCEPT values, the concept scheme segment.
    scheme: str = ""


@dataclass(frozen=True)
class Record:
    id: str
    kind: str
    file: Path
    line: int
    values: dict[str, tuple[Value, ...]]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class SourceDocument:
    id: str
    file: Path
    line: int
    text_path: Path
    text: SourceText
    values: dict[str, tuple[Value, ...]]


@dataclass(frozen=True)
class Curated:
    sources: tuple[SourceDocument, ...]
    records: tuple[Record, ...]


def read_curated(data_dir: Path, known_concepts: Iterable[str]) -> Curated:
    """Read ``data_dir``/sources.yaml, the texts under sources/ and every records/*.yaml.

    ``known_concepts`` are the ``scheme/slug`` paths the vocabularies define.
    Raises :class:`~ezgraph.sources.errors.InputErrors` listing every problem found.
    """
    reader = _Reader(data_dir, set(known_concepts))
    return reader.read()


class _Reader:
    def __init__(self, data_dir: Path, known_concepts: set[str]):
        self.data_dir = data_dir
        self.concepts = known_concepts
        self.errors = ErrorCollector()
        self.sources: dict[str, SourceDocument] = {}
        self.records: list[Record] = []
        self.first_seen: dict[str, tuple[Path, int]] = {}
        #: References to resolve once every id is known: (file, line, record, field, id, kinds).
        self.pending_refs: list[tuple[Path, int, str, str, str, tuple[str, ...]]] = []

    def read(self) -> Curated:
        self._read_sources(self.data_dir / "sources.yaml")
        record_files = sorted((self.data_dir / "records").glob("*.yaml"))
        if not record_files:
            self.errors.add(self.data_dir / "records", None, "no *.yaml record files found")
        for path, document, errors in load_yaml_files(record_files):
            self.errors.errors.extend(errors)
            if document is not None:
                self._read_record_document(path, document)
        self._resolve_refs()
        self.errors.raise_if_any()
        return Curated(tuple(self.sources.values()), tuple(self.records))

    # -- files --------------------------------------------------------------------------------

    def _read_sources(self, path: Path) -> None:
        document = load_yaml(path, self.errors) if path.exists() else None
        if document is None:
            if not path.exists():
                self.errors.add(path, None, "missing: it lists the source documents")
            return
        entries = self._top_level(path, document, "sources", allowed=("sources",))
        for entry in entries:
            if not isinstance(entry, LineDict):
                self.errors.add(path, _line(entries), "each source must be a mapping of fields")
                continue
            source_id = self._check_id(path, entry)
            if source_id is None:
                continue
            values = self._check_fields(path, entry, source_id, SOURCE_FIELDS, extra=("id",))
            text = self._read_text(path, entry, source_id)
            if text is not None:
                self.sources[source_id] = SourceDocument(source_id, path, entry.line, *text,
                                                         values)

    def _read_text(self, path: Path, entry: LineDict,
                   source_id: str) -> tuple[Path, SourceText] | None:
        name = entry.get("file")
        if not isinstance(name, str):
            return None  # already reported by the field check
        text_path = self.data_dir / "sources" / name
        try:
            return text_path, SourceText(text_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.errors.add(path, entry.line_of("file"),
                            f"source text {text_path} cannot be read as UTF-8 ({exc})",
                            record=source_id, field="file")
            return None

    def _read_record_document(self, path: Path, document: Any) -> None:
        entries = self._top_level(path, document, "records", allowed=("records", "source"))
        default_source = document.get("source") if isinstance(document, LineDict) else None
        for entry in entries:
            if not isinstance(entry, LineDict):
                self.errors.add(path, _line(entries), "each record must be a mapping of fields")
                continue
            self._read_record(path, entry, default_source)

    def _top_level(self, path: Path, document: Any, key: str,
                   allowed: tuple[str, ...]) -> list[Any]:
        if not isinstance(document, LineDict):
            self.errors.add(path, 1, f"expected a mapping with a '{key}:' list at the top")
            return []
        for unknown in sorted(set(document) - set(allowed)):
            self.errors.add(path, document.line_of(unknown),
                            f"unknown top-level key '{unknown}' (expected: {', '.join(allowed)})")
        entries = document.get(key)
        if not isinstance(entries, list):
            self.errors.add(path, document.line_of(key), f"'{key}' must be a list")
            return []
        return entries

    # -- records ------------------------------------------------------------------------------

    def _read_record(self, path: Path, entry: LineDict, default_source: Any) -> None:
        record_id = self._check_id(path, entry)
        kind_name = entry.get("kind")
        kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
        if kind is None:
            expected = ", ".join(sorted(KINDS))
            self.errors.add(path, entry.line_of("kind"),
                            f"kind {kind_name!r} is not a record kind "
                            f"(expected one of: {expected})",
                            record=record_id, field="kind")
        if record_id is None or kind is None:
            return
        fields = {**COMMON_FIELDS, **kind.fields}
        values = self._check_fields(path, entry, record_id, fields, extra=RESERVED)
        source_id = entry.get("source", default_source)
        evidence = self._check_evidence(path, entry, record_id, source_id)
        self.records.append(Record(record_id, kind.name, path, entry.line, values, evidence))

    def _check_id(self, path: Path, entry: LineDict) -> str | None:
        record_id = entry.get("id")
        if not isinstance(record_id, str) or not ID_PATTERN.match(record_id):
            self.errors.add(path, entry.line_of("id"),
                            f"id {record_id!r} is not valid: expected lowercase words joined by "
                            "'-' in two or more '/'-separated segments, e.g. zone/cetdz")
            return None
        if record_id in self.first_seen:
            first_path, first_line = self.first_seen[record_id]
            self.errors.add(path, entry.line_of("id"),
                            f"duplicate id: already used at {first_path}:{first_line}",
                            record=record_id, field="id")
        else:
            self.first_seen[record_id] = (path, entry.line)
        # A duplicate is still checked field by field, so one run reports all its problems.
        return record_id

    def _check_evidence(self, path: Path, entry: LineDict, record_id: str,
                        source_id: Any) -> tuple[Evidence, ...]:
        line = entry.line_of("source") if "source" in entry else entry.line
        if source_id is None:
            self.errors.add(path, line, "no source: give 'source:' on the record or the file",
                            record=record_id, field="source")
            return ()
        source = self.sources.get(source_id) if isinstance(source_id, str) else None
        if source is None:
            known = ", ".join(sorted(self.sources)) or "none"
            self.errors.add(path, line, f"source {source_id!r} is not in sources.yaml "
                            f"(known: {known})", record=record_id, field="source")
            return ()
        quotes = entry.get("quote")
        if isinstance(quotes, str):
            quotes = [quotes]
        if not quotes or not isinstance(quotes, list) or not all(
                isinstance(q, str) and q.strip() for q in quotes):
            self.errors.add(path, entry.line_of("quote"),
                            "every record needs 'quote:': the sentence (or list of sentences) "
                            "of its source the facts come from, copied verbatim",
                            record=record_id, field="quote")
            return ()
        evidence = []
        for quote in quotes:
            found = source.text.find(quote)
            if found is None:
                hint = source.text.mismatch_hint(quote)
                self.errors.add(path, entry.line_of("quote"),
                                f"quote not found verbatim in {source.text_path}: {hint}",
                                record=record_id, field="quote")
                continue
            evidence.append(Evidence(source_id, quote, *found))
        return tuple(evidence)

    # -- fields -------------------------------------------------------------------------------

    def _check_fields(self, path: Path, entry: LineDict, record_id: str,
                      fields: dict[str, Field], extra: tuple[str, ...]) -> dict[str, tuple]:
        values: dict[str, tuple[Value, ...]] = {}
        for name in entry:
            if name in extra:
                continue
            spec = fields.get(name)
            if spec is None:
                expected = ", ".join(sorted(fields))
                self.errors.add(path, entry.line_of(name),
                                f"unknown field '{name}' (this kind takes: {expected})",
                                record=record_id, field=name)
                continue
            checked = self._check_value(path, entry.line_of(name), record_id, name, spec,
                                        entry[name])
            if checked:
                values[name] = checked
        for name, spec in fields.items():
            if spec.required and name not in entry:
                self.errors.add(path, entry.line, f"required field '{name}' is missing "
                                f"(expected {_describe(spec)})", record=record_id, field=name)
        return values

    def _check_value(self, path: Path, line: int, record_id: str, name: str, spec: Field,
                     raw: Any) -> tuple[Value, ...]:
        items: list[Any]
        if isinstance(raw, LineList):
            if not spec.many and spec.type is not ValueType.LANG_TEXT:
                self.errors.add(path, line, f"takes one value, got a list of {len(raw)} "
                                f"(expected {_describe(spec)})", record=record_id, field=name)
                return ()
            items = list(raw)
        else:
            items = [raw]
        values: list[Value] = []
        for item in items:
            try:
                values.extend(self._convert(spec, item))
            except ValueError as exc:
                self.errors.add(path, line, f"{exc} (expected {_describe(spec)})",
                                record=record_id, field=name)
                continue
            if spec.type is ValueType.REF:
                self.pending_refs.append((path, line, record_id, name, item, spec.ref_kinds))
        if spec.type is ValueType.LANG_TEXT and not spec.many:
            languages = [value.data[0] for value in values]
            if len(languages) != len(set(languages)):
                self.errors.add(path, line, "one value per language only",
                                record=record_id, field=name)
        return tuple(values)

    def _convert(self, spec: Field, raw: Any) -> list[Value]:
        kind = spec.type
        if raw is None:
            raise ValueError("is empty")
        if kind is ValueType.LANG_TEXT:
            if isinstance(raw, str) and raw.strip():
                return [Value(kind, ("en", raw.strip()))]
            if isinstance(raw, dict) and raw:
                bad = sorted(set(raw) - set(LANGUAGES))
                if bad:
                    raise ValueError(f"language {bad[0]!r} is not one of {', '.join(LANGUAGES)}")
                if not all(isinstance(text, str) and text.strip() for text in raw.values()):
                    raise ValueError("each language needs non-empty text")
                return [Value(kind, (lang, raw[lang].strip())) for lang in LANGUAGES if lang in raw]
            raise ValueError(f"got {_shown(raw)}")
        if kind is ValueType.TEXT:
            if isinstance(raw, str) and raw.strip():
                return [Value(kind, raw.strip())]
            raise ValueError(f"got {_shown(raw)}")
        if kind is ValueType.DECIMAL:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(f"got {_shown(raw)}")
            try:
                number = Decimal(str(raw).replace("_", ""))
            except InvalidOperation:
                raise ValueError(f"got {_shown(raw)}") from None
            if not number.is_finite():
                raise ValueError(f"got {_shown(raw)}")
            return [Value(kind, number)]
        if kind is ValueType.INTEGER:
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValueError(f"got {_shown(raw)}")
            return [Value(kind, raw)]
        if kind is ValueType.BOOLEAN:
            if not isinstance(raw, bool):
                raise ValueError(f"got {_shown(raw)}")
            return [Value(kind, raw)]
        if kind in (ValueType.DATE, ValueType.YEAR):
            text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
            match = DATE_PATTERN.match(text) if isinstance(text, str) else None
            if not match or (kind is ValueType.YEAR and match.group(2)):
                raise ValueError(f"got {_shown(raw)}")
            _check_calendar(match)
            return [Value(kind, text)]
        if kind is ValueType.URL:
            if isinstance(raw, str) and re.match(r"^https?://\S+$", raw):
                return [Value(kind, raw)]
            raise ValueError(f"got {_shown(raw)}")
        if kind is ValueType.REF:
            if isinstance(raw, str) and ID_PATTERN.match(raw):
                return [Value(kind, raw)]
            raise ValueError(f"got {_shown(raw)}")
        if kind is ValueType.CONCEPT:
            if not isinstance(raw, str) or f"{spec.scheme}/{raw}" not in self.concepts:
                known = sorted(c.split("/", 1)[1] for c in self.concepts
                               if c.startswith(spec.scheme + "/"))
                raise ValueError(f"{_shown(raw)} is not a concept of the '{spec.scheme}' "
                                 f"scheme (known: {', '.join(known) or 'none'})")
            return [Value(kind, raw, spec.scheme)]
        if kind is ValueType.UNIT:
            if raw not in UNITS:
                raise ValueError(f"unit {_shown(raw)} is not known (known: "
                                 f"{', '.join(f'{u} = {d}' for u, d in UNITS.items())})")
            return [Value(kind, raw)]
        if kind is ValueType.WIKIDATA:
            if isinstance(raw, str) and re.match(r"^Q[1-9]\d*$", raw):
                return [Value(kind, raw)]
            raise ValueError(f"got {_shown(raw)}")
        if kind is ValueType.GEONAMES:
            text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
            if isinstance(text, str) and text.isdigit():
                return [Value(kind, text)]
            raise ValueError(f"got {_shown(raw)}")
        raise AssertionError(kind)

    def _resolve_refs(self) -> None:
        kinds = {record.id: record.kind for record in self.records}
        kinds.update({source_id: "Source" for source_id in self.sources})
        for path, line, record_id, name, target, allowed in self.pending_refs:
            if target not in kinds:
                self.errors.add(path, line, f"refers to {target!r}, which no record defines",
                                record=record_id, field=name)
            elif allowed and kinds[target] not in allowed:
                self.errors.add(path, line, f"refers to {target!r}, a {kinds[target]}; "
                                f"expected a {' or '.join(allowed)}", record=record_id, field=name)


def _check_calendar(match: re.Match[str]) -> None:
    import datetime

    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        datetime.date(year, month or 1, day or 1)
    except ValueError as exc:
        raise ValueError(f"{match.group(0)!r} is not a calendar date ({exc})") from None


def _describe(spec: Field) -> str:
    if spec.type is ValueType.LANG_TEXT:
        text = "text, or {en: ..., zh: ...}"
    elif spec.type is ValueType.DATE:
        text = "a date as \"YYYY\", \"YYYY-MM\" or \"YYYY-MM-DD\""
    elif spec.type is ValueType.REF and spec.ref_kinds:
        text = f"the id of a {' or '.join(spec.ref_kinds)} record"
    elif spec.type is ValueType.CONCEPT:
        text = f"a concept of the '{spec.scheme}' scheme"
    else:
        text = f"a {spec.type.value}"
    return f"a list of {text}" if spec.many else text


def _shown(raw: Any) -> str:
    if isinstance(raw, dict):
        return "a mapping"
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, bool):
        return f"the {'true' if raw else 'false'} value"
    return repr(raw)


def _line(container: Any) -> int | None:
    return getattr(container, "line", None)
