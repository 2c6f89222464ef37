"""Checked records → RDF quads, one named graph per source document.

Every record becomes one subject IRI (``{base}id/{record id}``) typed with its kind's class; every
field becomes triples with the predicate the schema names; every record is linked to the quotes
it rests on (``ez:evidence``) and to their source documents (``dcterms:source``). A quote is a
resource of its own, ``{base}id/quote/{source}/{start}-{end}``, holding the exact sentence and
where it stands in the source text. All of a record's triples go into the named graph of its
(first) source document, so a dataset can be split by provenance with ``GRAPH``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Quad
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, XSD

from ezgraph.mapping.schema import COMMON_FIELDS, KINDS, SOURCE_FIELDS, Field, ValueType
from ezgraph.namespaces import DEFAULT_BASE, EZ, UNIT, WD
from ezgraph.sources.records import Curated, Evidence, Record, SourceDocument, Value

#: Kinds whose records are SKOS concepts, with the scheme they belong to.
CONCEPT_KINDS = {"HonorTitle": "honor-title", "Industry": "industry"}
#: Kinds whose records get a generated label when the record gives none.
LABELLED_QUANTITIES = ("Observation", "Target")

_DATE_TYPES = {4: XSD.gYear, 7: XSD.gYearMonth, 10: XSD.date}


@dataclass(frozen=True)
class Labels:
    """English and Chinese labels of records and vocabulary concepts, for generated labels."""

    en: dict[str, str]
    zh: dict[str, str]


def _iri(term: object) -> NamedNode:
    return NamedNode(str(term))


class Mapper:
    def __init__(self, curated: Curated, concept_labels: Labels, base: str = DEFAULT_BASE):
        self.curated = curated
        self.base = base
        self.sources = {source.id: source for source in curated.sources}
        self.labels = Labels(dict(concept_labels.en), dict(concept_labels.zh))
        for record in curated.records:
            for value in record.values.get("label", ()):
                lang, text = value.data
                getattr(self.labels, lang)[record.id] = text

    # -- IRIs ---------------------------------------------------------------------------------

    def thing(self, record_id: str) -> NamedNode:
        return NamedNode(f"{self.base}id/{record_id}")

    def term(self, iri: object) -> NamedNode:
        """An ontology IRI moved to this build's base."""
        text = str(iri)
        if self.base != DEFAULT_BASE and text.startswith(DEFAULT_BASE):
            text = self.base + text[len(DEFAULT_BASE):]
        return NamedNode(text)

    def graph_of(self, source_id: str) -> NamedNode:
        return NamedNode(f"{self.base}graph/{source_id}")

    # -- mapping ------------------------------------------------------------------------------

    def quads(self) -> Iterator[Quad]:
        for source in self.curated.sources:
            yield from self._source_quads(source)
        for record in self.curated.records:
            yield from self._record_quads(record)

    def _source_quads(self, source: SourceDocument) -> Iterator[Quad]:
        graph = self.graph_of(source.id)
        subject = self.thing(source.id)
        yield Quad(subject, _iri(RDF.type), self.term(EZ.SourceDocument), graph)
        yield from self._field_quads(subject, source.values, SOURCE_FIELDS, graph)

    def _record_quads(self, record: Record) -> Iterator[Quad]:
        kind = KINDS[record.kind]
        graph = self.graph_of(record.evidence[0].source)
        subject = self.thing(record.id)
        yield Quad(subject, _iri(RDF.type), self.term(kind.rdf_class), graph)
        for extra in kind.extra_classes:
            yield Quad(subject, _iri(RDF.type), self.term(extra), graph)
        fields = {**COMMON_FIELDS, **kind.fields}
        yield from self._field_quads(subject, record.values, fields, graph)
        scheme = CONCEPT_KINDS.get(record.kind)
        if scheme:
            yield Quad(subject, _iri(SKOS.inScheme), self.thing(f"scheme/{scheme}"), graph)
            for value in record.values.get("label", ()):
                yield Quad(subject, _iri(SKOS.prefLabel), self._literal(value), graph)
        if record.kind in LABELLED_QUANTITIES and "label" not in record.values:
            for lang, text in self._quantity_labels(record):
                yield Quad(subject, _iri(RDFS.label), Literal(text, language=lang), graph)
        for evidence in record.evidence:
            yield from self._evidence_quads(subject, evidence, graph)

    def _field_quads(self, subject: NamedNode, values: dict[str, tuple[Value, ...]],
                     fields: dict[str, Field], graph: NamedNode) -> Iterator[Quad]:
        for name, items in values.items():
            predicate = self.term(fields[name].predicate)
            for value in items:
                yield Quad(subject, predicate, self._object(value), graph)

    def _evidence_quads(self, subject: NamedNode, evidence: Evidence,
                        graph: NamedNode) -> Iterator[Quad]:
        source = self.sources[evidence.source]
        document = self.thing(source.id)
        quote = self.thing(f"quote/{source.id.split('/', 1)[1]}/{evidence.start}-{evidence.end}")
        language = source.values["language"][0].data
        exact = source.text.text[evidence.start:evidence.end]
        yield Quad(subject, self.term(EZ.evidence), quote, graph)
        yield Quad(subject, _iri(DCTERMS.source), document, graph)
        yield Quad(quote, _iri(RDF.type), self.term(EZ.Quotation), graph)
        yield Quad(quote, _iri(PROV.value), Literal(exact, language=language), graph)
        yield Quad(quote, _iri(PROV.wasQuotedFrom), document, graph)
        yield Quad(quote, self.term(EZ.startOffset), _typed(evidence.start, XSD.integer), graph)
        yield Quad(quote, self.term(EZ.endOffset), _typed(evidence.end, XSD.integer), graph)

    def _object(self, value: Value) -> NamedNode | Literal:
        data = value.data
        match value.type:
            case ValueType.LANG_TEXT:
                return self._literal(value)
            case ValueType.TEXT:
                return Literal(data)
            case ValueType.DECIMAL:
                return _typed(format(data.normalize(), "f"), XSD.decimal)
            case ValueType.INTEGER:
                return _typed(data, XSD.integer)
            case ValueType.BOOLEAN:
                return _typed("true" if data else "false", XSD.boolean)
            case ValueType.DATE | ValueType.YEAR:
                return _typed(data, _DATE_TYPES[len(data)])
            case ValueType.URL:
                return NamedNode(data)
            case ValueType.REF:
                return self.thing(data)
            case ValueType.CONCEPT:
                return self.thing(f"{value.scheme}/{data}")
            case ValueType.UNIT:
                return NamedNode(str(UNIT) + data)
            case ValueType.WIKIDATA:
                return NamedNode(str(WD) + data)
            case ValueType.GEONAMES:
                return NamedNode(f"https://sws.geonames.org/{data}/")
        raise AssertionError(value.type)

    @staticmethod
    def _literal(value: Value) -> Literal:
        lang, text = value.data
        return Literal(text, language=lang)

    def _quantity_labels(self, record: Record) -> Iterator[tuple[str, str]]:
        """"Permanent population of CETDZ (2021)" from the indicator, subject and period."""
        indicator = f"indicator/{record.values['indicator'][0].data}"
        subject = record.values["subject"][0].data
        when = _period_text(record)
        for lang in ("en", "zh"):
            labels = getattr(self.labels, lang)
            if indicator not in labels or subject not in labels:
                continue
            if lang == "en":
                text = f"{labels[indicator]} of {labels[subject]}"
            else:
                text = f"{labels[subject]}{labels[indicator]}"
            yield lang, f"{text} ({when})" if when else text


def _period_text(record: Record) -> str:
    def first(name: str) -> str | None:
        values = record.values.get(name)
        return values[0].data if values else None

    if first("target_year"):
        return f"target {first('target_year')}"
    start, end = first("period_start"), first("period_end")
    if start and end:
        return start if start == end else f"{start}–{end}"
    if start:
        return f"since {start}"
    if end:
        return f"until {end}"
    return ""


def _typed(value: object, datatype: object) -> Literal:
    return Literal(str(value), datatype=NamedNode(str(datatype)))


def map_curated(curated: Curated, concept_labels: Labels,
                base: str = DEFAULT_BASE) -> list[Quad]:
    """All quads of the curated records, in a stable order."""
    return sorted(set(Mapper(curated, concept_labels, base).quads()), key=str)
