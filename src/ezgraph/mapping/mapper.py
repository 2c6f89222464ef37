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


# Made once: an rdflib namespace attribute is a new URIRef at every access, which cost 2.5 s of
# the map stage at 1M triples when made per record.
_RDF_TYPE = _iri(RDF.type)
_SKOS_IN_SCHEME = _iri(SKOS.inScheme)
_SKOS_PREF_LABEL = _iri(SKOS.prefLabel)
_RDFS_LABEL = _iri(RDFS.label)
_DCTERMS_SOURCE = _iri(DCTERMS.source)
_PROV_VALUE = _iri(PROV.value)
_PROV_WAS_QUOTED_FROM = _iri(PROV.wasQuotedFrom)


class Mapper:
    def __init__(self, curated: Curated, concept_labels: Labels, base: str = DEFAULT_BASE):
        self.curated = curated
        self.base = base
        self.sources = {source.id: source for source in curated.sources}
        self.labels = Labels(dict(concept_labels.en), dict(concept_labels.zh))
        self._terms: dict[object, NamedNode] = {}
        self._evidence = self.term(EZ.evidence)
        self._quotation = self.term(EZ.Quotation)
        self._start_offset = self.term(EZ.startOffset)
        self._end_offset = self.term(EZ.endOffset)
        for record in curated.records:
            for value in record.values.get("label", ()):
                lang, text = value.data
                getattr(self.labels, lang)[record.id] = text

    # -- IRIs ---------------------------------------------------------------------------------

    def thing(self, record_id: str) -> NamedNode:
        return NamedNode(f"{self.base}id/{record_id}")

    def term(self, iri: object) -> NamedNode:
        """An ontology IRI moved to this build's base."""
        found = self._terms.get(iri)
        if found is None:
            text = str(iri)
            if self.base != DEFAULT_BASE and text.startswith(DEFAULT_BASE):
                text = self.base + text[len(DEFAULT_BASE):]
            found = self._terms[iri] = NamedNode(text)
        return found

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
        yield Quad(subject, _RDF_TYPE, self.term(EZ.SourceDocument), graph)
        yield from self._field_quads(subject, source.values, SOURCE_FIELDS, graph)

    def _record_quads(self, record: Record) -> Iterator[Quad]:
        kind = KINDS[record.kind]
        graph = self.graph_of(record.evidence[0].source)
        subject = self.thing(record.id)
        yield Quad(subject, _RDF_TYPE, self.term(kind.rdf_class), graph)
        for extra in kind.extra_classes:
            yield Quad(subject, _RDF_TYPE, self.term(extra), graph)
        fields = {**COMMON_FIELDS, **kind.fields}
        yield from self._field_quads(subject, record.values, fields, graph)
        scheme = CONCEPT_KINDS.get(record.kind)
        if scheme:
            yield Quad(subject, _SKOS_IN_SCHEME, self.thing(f"scheme/{scheme}"), graph)
            for value in record.values.get("label", ()):
                yield Quad(subject, _SKOS_PREF_LABEL, self._literal(value), graph)
        if record.kind in LABELLED_QUANTITIES and "label" not in record.values:
            for lang, text in self._quantity_labels(record):
                yield Quad(subject, _RDFS_LABEL, Literal(text, language=lang), graph)
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
        yield Quad(subject, self._evidence, quote, graph)
        yield Quad(subject, _DCTERMS_SOURCE, document, graph)
        yield Quad(quote, _RDF_TYPE, self._quotation, graph)
        yield Quad(quote, _PROV_VALUE, Literal(exact, language=language), graph)
        yield Quad(quote, _PROV_WAS_QUOTED_FROM, document, graph)
        yield Quad(quote, self._start_offset, _typed(evidence.start, XSD.integer), graph)
        yield Quad(quote, self._end_offset, _typed(evidence.end, XSD.integer), graph)

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
    """All quads of the curated records, each once, in the order of the records (the dumps
    sort them; sorting here too cost 2 s at 1M triples)."""
    return list(dict.fromkeys(Mapper(curated, concept_labels, base).quads()))
