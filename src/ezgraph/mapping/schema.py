"""The record kinds of ``data/records/*.yaml``: which fields each has and what they mean in RDF.

This table is the single description of the curated data. The reader uses it to check records
(unknown field, wrong type, dangling reference) and the mapper uses it to emit triples, so the
two can never disagree. The ontology (``ontology/ezgraph.ttl``) defines every term named here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from rdflib import URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDFS, SDO, SKOS

from ezgraph.namespaces import EZ, ORG, QUDT, SOSA


class ValueType(Enum):
    """What a field's YAML value must be."""

    TEXT = "text"  # a string → xsd:string literal
    LANG_TEXT = "language text"  # {en: ..., zh: ...} or a string (English) → tagged literals
    DECIMAL = "number"  # int or float or numeric string → xsd:decimal
    INTEGER = "whole number"  # → xsd:integer
    BOOLEAN = "true or false"  # → xsd:boolean
    DATE = "date"  # "YYYY", "YYYY-MM" or "YYYY-MM-DD" → xsd:gYear / gYearMonth / date
    YEAR = "year"  # "YYYY" → xsd:gYear
    URL = "URL"  # http(s) URL → IRI
    REF = "record id"  # id of another record → its IRI
    CONCEPT = "concept"  # slug of a concept in ontology/vocabularies.ttl → {base}id/{scheme}/{slug}
    UNIT = "QUDT unit"  # QUDT unit local name, e.g. KiloM2 → http://qudt.org/vocab/unit/KiloM2
    WIKIDATA = "Wikidata id"  # Q123 → http://www.wikidata.org/entity/Q123
    GEONAMES = "GeoNames id"  # 123 → https://sws.geonames.org/123/


@dataclass(frozen=True)
class Field:
    predicate: URIRef
    type: ValueType
    required: bool = False
    many: bool = False
    #: For REF: kinds the target record may have (empty: any kind).
    ref_kinds: tuple[str, ...] = ()
    #: For CONCEPT: the IRI segment of the concept scheme, e.g. "indicator".
    scheme: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Kind:
    name: str
    rdf_class: URIRef
    fields: dict[str, Field]
    doc: str = ""
    #: Extra classes every record of this kind also gets (kept few: the ontology states the rest).
    extra_classes: tuple[URIRef, ...] = field(default_factory=tuple)


#: Fields every record may carry, besides ``id``, ``kind``, ``source`` and ``quote``.
COMMON_FIELDS: dict[str, Field] = {
    "label": Field(RDFS.label, ValueType.LANG_TEXT, doc="name in English and Chinese"),
    "alt_label": Field(SKOS.altLabel, ValueType.LANG_TEXT, many=True,
                       doc="other names and abbreviations"),
    "description": Field(DCTERMS.description, ValueType.LANG_TEXT, many=True,
                         doc="what the source says about it, in its words"),
}

#: Units a record may name (QUDT unit local names). Kept closed so a typo is an error.
UNITS: dict[str, str] = {
    "NUM": "number (a count)",
    "PERCENT": "per cent",
    "KiloM2": "square kilometre",
    "M2": "square metre",
    "M": "metre",
    "MegaW": "megawatt",
    "TONNE": "tonne",
    "TONNE-PER-YR": "tonne per year",
    "CCY_CNY": "yuan renminbi (CNY), full amount",
}

_PERIOD = {
    "period_start": Field(EZ.periodStart, ValueType.DATE,
                          doc="first day, month or year the figure covers"),
    "period_end": Field(EZ.periodEnd, ValueType.DATE,
                        doc="last day, month or year the figure covers"),
}

_QUANTITY = {
    "subject": Field(SOSA.hasFeatureOfInterest, ValueType.REF, required=True,
                     doc="the zone, project, measure ... the figure is about"),
    "indicator": Field(SOSA.observedProperty, ValueType.CONCEPT, required=True,
                       scheme="indicator", doc="what is measured"),
    "value": Field(QUDT.numericValue, ValueType.DECIMAL, required=True,
                   doc="the number, money as a full amount"),
    "unit": Field(QUDT.unit, ValueType.UNIT, required=True),
    "qualifier": Field(EZ.valueQualifier, ValueType.CONCEPT, scheme="qualifier",
                       doc="more-than, about, at-least, up-to ... as the text says"),
    "scope": Field(EZ.scope, ValueType.LANG_TEXT,
                   doc="what exactly is counted, in the source's words"),
    "share_of": Field(EZ.shareOf, ValueType.REF,
                      doc="for shares: the whole this is a share of (a place, a zone)"),
}

KINDS: dict[str, Kind] = {}


def _kind(name: str, rdf_class: URIRef, doc: str, fields: dict[str, Field],
          extra: tuple[URIRef, ...] = ()) -> None:
    KINDS[name] = Kind(name, rdf_class, fields, doc, extra)


_kind("Place", EZ.Place, "a country, province or city", {
    "within": Field(SDO.containedInPlace, ValueType.REF, ref_kinds=("Place",)),
    "wikidata": Field(OWL.sameAs, ValueType.WIKIDATA),
    "geonames": Field(OWL.sameAs, ValueType.GEONAMES),
})
_kind("Agency", EZ.GovernmentBody, "a government body: State Council, ministry, bureau", {
    "jurisdiction": Field(EZ.jurisdiction, ValueType.REF, ref_kinds=("Place",)),
    "parent": Field(ORG.subOrganizationOf, ValueType.REF, ref_kinds=("Agency",)),
    "wikidata": Field(OWL.sameAs, ValueType.WIKIDATA),
})
_kind("Organization", EZ.Association, "an alliance, association or centre that is not a company", {
    "parent": Field(ORG.subOrganizationOf, ValueType.REF, ref_kinds=("Organization", "Agency")),
    "url": Field(SDO.url, ValueType.URL),
})
_kind("Enterprise", EZ.Enterprise, "a company or brand-carrying business", {
    "investor_origin": Field(EZ.investorOrigin, ValueType.REF, ref_kinds=("Place",),
                             doc="country the investor comes from"),
    "fortune_global_500": Field(EZ.fortuneGlobal500, ValueType.BOOLEAN),
    "parent": Field(ORG.subOrganizationOf, ValueType.REF, ref_kinds=("Enterprise",)),
    "wikidata": Field(OWL.sameAs, ValueType.WIKIDATA),
})
_kind("Person", SDO.Person, "a person named in a source", {
    "job_title": Field(SDO.jobTitle, ValueType.LANG_TEXT),
    "works_for": Field(SDO.worksFor, ValueType.REF, ref_kinds=("Enterprise", "Agency")),
})
_kind("Industry", EZ.Industry, "an industry or industrial sector (a SKOS concept)", {
    "broader": Field(SKOS.broader, ValueType.REF, ref_kinds=("Industry",)),
})
_kind("Zone", EZ.NationalETDZ, "a national economic and technological development zone", {
    "level": Field(EZ.zoneLevel, ValueType.CONCEPT, scheme="zone-level"),
    "located_in": Field(SDO.containedInPlace, ValueType.REF, many=True, ref_kinds=("Place",)),
    "core_industry": Field(EZ.coreIndustry, ValueType.REF, many=True, ref_kinds=("Industry",)),
    "distinction": Field(EZ.distinction, ValueType.LANG_TEXT, many=True,
                         doc="what sets the zone apart, in the source's words"),
    "plan": Field(EZ.plan, ValueType.LANG_TEXT, many=True, doc="stated plans"),
    "statistical_code": Field(EZ.statisticalCode, ValueType.TEXT),
})
_kind("ZoneApproval", EZ.ZoneApproval, "the approval of a zone at a level by an authority", {
    "zone": Field(EZ.zone, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "approved_by": Field(PROV.wasAssociatedWith, ValueType.REF, ref_kinds=("Agency",)),
    "date": Field(EZ.date, ValueType.DATE, required=True),
    "granted_level": Field(EZ.grantedLevel, ValueType.CONCEPT, scheme="zone-level"),
})
_kind("ZoneEstablishment", EZ.ZoneEstablishment, "the founding of a zone", {
    "zone": Field(EZ.zone, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "date": Field(EZ.date, ValueType.DATE, required=True),
})
_kind("HonorTitle", EZ.HonorTitle, "a national title zones are named to (a SKOS concept)", {
    "awarded_by": Field(EZ.awardedBy, ValueType.REF, many=True, ref_kinds=("Agency",)),
    "legal_basis": Field(EZ.legalBasis, ValueType.TEXT, many=True,
                         doc="document numbers of the management measures or standards"),
    "programme": Field(EZ.programme, ValueType.LANG_TEXT,
                       doc="the national programme the title belongs to"),
    "broader": Field(SKOS.broader, ValueType.REF, ref_kinds=("HonorTitle",)),
})
_kind("HonorAward", EZ.HonorAward, "a zone named to a title in a year (and batch)", {
    "recipient": Field(EZ.recipient, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "title": Field(EZ.honorTitle, ValueType.REF, required=True, ref_kinds=("HonorTitle",)),
    "year": Field(EZ.year, ValueType.YEAR),
    "batch": Field(EZ.batch, ValueType.INTEGER),
    "ordinal_in_region": Field(EZ.ordinalInRegion, ValueType.INTEGER,
                               doc="the n-th park of the region to win it"),
    "region": Field(EZ.region, ValueType.REF, ref_kinds=("Place",)),
})
_kind("GreenProject", EZ.GreenProject, "a clean-energy or environmental project in a zone", {
    "zone": Field(EZ.zone, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "phase": Field(EZ.phase, ValueType.INTEGER),
    "site": Field(EZ.site, ValueType.LANG_TEXT, doc="where in the zone"),
    "design_fuel": Field(EZ.designFuel, ValueType.LANG_TEXT),
    "beneficiary": Field(EZ.beneficiary, ValueType.REF, many=True,
                         ref_kinds=("Enterprise", "Zone")),
    "operation_start": Field(EZ.operationStart, ValueType.DATE),
    "planned_completion": Field(EZ.plannedCompletion, ValueType.DATE),
    "purpose": Field(EZ.purpose, ValueType.LANG_TEXT, many=True),
})
_kind("ProjectComponent", EZ.ProjectComponent, "equipment or a part of a project", {
    "part_of": Field(DCTERMS.isPartOf, ValueType.REF, required=True,
                     ref_kinds=("GreenProject", "IndustrialProject")),
    "unit_count": Field(EZ.unitCount, ValueType.INTEGER, doc="how many identical units"),
    "fuel": Field(EZ.designFuel, ValueType.LANG_TEXT),
})
_kind("IndustrialProject", EZ.IndustrialProject, "an industrial investment project in a zone", {
    "zone": Field(EZ.zone, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "enterprise": Field(EZ.enterprise, ValueType.REF, many=True, ref_kinds=("Enterprise",)),
    "industry": Field(EZ.industry, ValueType.REF, many=True, ref_kinds=("Industry",)),
    "construction_start": Field(EZ.constructionStart, ValueType.DATE),
    "decision_year": Field(EZ.decisionYear, ValueType.YEAR),
    "purpose": Field(EZ.purpose, ValueType.LANG_TEXT, many=True),
})
_kind("EnterprisePresence", EZ.EnterprisePresence, "an enterprise's presence in a zone", {
    "zone": Field(EZ.zone, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "enterprise": Field(EZ.enterprise, ValueType.REF, required=True, ref_kinds=("Enterprise",)),
    "role": Field(EZ.presenceRole, ValueType.CONCEPT, many=True, scheme="presence-role"),
})
_kind("GreenMeasure", EZ.GreenMeasure, "something a zone does for green development", {
    "zone": Field(EZ.zone, ValueType.REF, required=True, ref_kinds=("Zone",)),
    "measure_type": Field(EZ.measureType, ValueType.CONCEPT, required=True, many=True,
                          scheme="measure-type"),
    "scope": Field(EZ.scope, ValueType.LANG_TEXT, doc="what it applies to"),
    "partner": Field(EZ.partner, ValueType.REF, many=True,
                     ref_kinds=("Agency", "Organization", "Enterprise")),
    "implements": Field(EZ.implementsPolicy, ValueType.REF, ref_kinds=("PolicyDocument",)),
    **_PERIOD,
})
_kind("PolicyDocument", EZ.PolicyDocument, "a policy issued by a zone or an authority", {
    "title": Field(DCTERMS.title, ValueType.LANG_TEXT, required=True),
    "issued_by": Field(DCTERMS.publisher, ValueType.REF, required=True,
                       ref_kinds=("Zone", "Agency")),
    "trial": Field(EZ.trial, ValueType.BOOLEAN, doc="issued on a trial basis"),
    "aim": Field(EZ.aim, ValueType.LANG_TEXT, many=True),
})
_kind("IncentiveProvision", EZ.IncentiveProvision, "a reward a policy grants and to whom", {
    "policy": Field(EZ.provisionOf, ValueType.REF, required=True, ref_kinds=("PolicyDocument",)),
    "eligibility": Field(EZ.eligibility, ValueType.LANG_TEXT, required=True),
    "eligible_industry": Field(EZ.eligibleIndustry, ValueType.REF, many=True,
                               ref_kinds=("Industry",)),
    "output_threshold_cny": Field(EZ.annualOutputThresholdCNY, ValueType.DECIMAL,
                                  doc="annual output the enterprise must exceed, CNY"),
    "qualification_window_years": Field(EZ.qualificationWindowYears, ValueType.INTEGER,
                                        doc="years after land purchase or lease to qualify"),
    "reward_rate_percent": Field(EZ.rewardRatePercent, ValueType.DECIMAL, required=True),
    "reward_basis": Field(EZ.rewardBasis, ValueType.LANG_TEXT),
    "reward_duration_years": Field(EZ.rewardDurationYears, ValueType.INTEGER),
})
_kind("Observation", EZ.IndicatorObservation, "a figure observed for a period", {
    **_QUANTITY,
    **_PERIOD,
    "as_of_publication": Field(EZ.asOfPublication, ValueType.BOOLEAN,
                               doc="the text says 'currently' / 'at present'"),
})
_kind("Target", EZ.IndicatorTarget, "a figure planned for a year", {
    **_QUANTITY,
    "target_year": Field(EZ.targetYear, ValueType.YEAR, required=True),
})

#: Source documents are described in data/sources.yaml, with these fields.
SOURCE_FIELDS: dict[str, Field] = {
    "title": Field(DCTERMS.title, ValueType.LANG_TEXT, required=True),
    "file": Field(EZ.textFile, ValueType.TEXT, required=True, doc="path under data/sources/"),
    "url": Field(SDO.url, ValueType.URL, required=True),
    "publisher": Field(DCTERMS.publisher, ValueType.REF),
    "operator": Field(EZ.siteOperator, ValueType.REF),
    "language": Field(DCTERMS.language, ValueType.TEXT, required=True, doc="BCP 47 tag"),
    "retrieved": Field(EZ.retrieved, ValueType.DATE, required=True),
    "about": Field(SDO.about, ValueType.REF, many=True),
    "format": Field(DCTERMS.format, ValueType.TEXT, doc="media type of the text file"),
}

#: Record fields that are not RDF properties of the record's subject.
RESERVED = ("id", "kind", "source", "quote")
