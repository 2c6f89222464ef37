"""A seeded synthetic data directory in ezgraph's own record format, for benchmarks at any size.

``python -m bench.generate OUT [--zones N | --triples 100k] [--seed 1]`` writes
``OUT/sources.yaml``, ``OUT/sources/*.txt`` and ``OUT/records/*.yaml`` like ``data/``: a shared
catalogue (provinces, countries, agencies, honor titles, industries, multinational enterprises)
and per zone a profile text and the records it supports, with the fan-out of real profiles: an
approval and a founding, enterprises and their presences, honor awards, green projects with
components and observations, green measures, a policy with an incentive, and yearly indicator
observations (several indicators × years). Every record quotes a sentence of its source text
verbatim, as curated data must; vocabulary concepts are taken from the real
``ontology/vocabularies.ttl``.

Same seed and size → the same bytes. ``--triples`` picks the number of zones by mapping two small
samples with ezgraph itself and extrapolating (the triple count grows linearly with zones).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY_DIR = ROOT / "ontology"
SHAPES_DIR = ROOT / "shapes"

YEARS = tuple(range(2014, 2024))
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")

PROVINCES = (
    ("jilin", "Jilin Province", "吉林省"), ("liaoning", "Liaoning Province", "辽宁省"),
    ("hebei", "Hebei Province", "河北省"), ("shandong", "Shandong Province", "山东省"),
    ("jiangsu", "Jiangsu Province", "江苏省"), ("zhejiang", "Zhejiang Province", "浙江省"),
    ("anhui", "Anhui Province", "安徽省"), ("fujian", "Fujian Province", "福建省"),
    ("henan", "Henan Province", "河南省"), ("hubei", "Hubei Province", "湖北省"),
    ("hunan", "Hunan Province", "湖南省"), ("guangdong", "Guangdong Province", "广东省"),
    ("sichuan", "Sichuan Province", "四川省"), ("shaanxi", "Shaanxi Province", "陕西省"),
    ("yunnan", "Yunnan Province", "云南省"), ("jiangxi", "Jiangxi Province", "江西省"),
)
COUNTRIES = (
    ("germany", "Germany", "德国"), ("japan", "Japan", "日本"),
    ("united-states", "the United States", "美国"), ("korea", "South Korea", "韩国"),
    ("france", "France", "法国"),
)
AGENCIES = (
    ("state-council", "State Council", "国务院"),
    ("mofcom", "Ministry of Commerce", "商务部"),
    ("mee", "Ministry of Ecology and Environment", "生态环境部"),
    ("miit", "Ministry of Industry and Information Technology", "工业和信息化部"),
    ("most", "Ministry of Science and Technology", "科学技术部"),
    ("ndrc", "National Development and Reform Commission", "国家发展和改革委员会"),
)
HONOR_TITLES = (
    ("eco-industrial-park", "National Eco-Industrial Demonstration Park", "国家生态工业示范园区",
     ("mee", "mofcom", "most")),
    ("green-park", "Green Industrial Park", "绿色园区", ("miit",)),
    ("low-carbon-pilot", "National Low-Carbon Industrial Park Pilot", "国家低碳工业园区试点",
     ("miit", "ndrc")),
    ("circular-transformation", "Park Circular Transformation Demonstration",
     "园区循环化改造示范试点", ("ndrc",)),
)
INDUSTRIES = (
    ("automotive", "automotive manufacturing", "汽车制造", None),
    ("new-energy-vehicles", "new energy vehicles", "新能源汽车", "automotive"),
    ("auto-parts", "auto parts", "汽车零部件", "automotive"),
    ("electronics", "electronic information", "电子信息", None),
    ("semiconductors", "semiconductors", "半导体", "electronics"),
    ("biomedicine", "biomedicine", "生物医药", None),
    ("advanced-materials", "advanced materials", "新材料", None),
    ("equipment", "high-end equipment", "高端装备", None),
    ("food-processing", "food processing", "食品加工", None),
    ("logistics", "modern logistics", "现代物流", None),
    ("new-energy", "new energy", "新能源", None),
    ("photovoltaics", "photovoltaics", "光伏", "new-energy"),
)
SYLLABLES = ("an", "bai", "chang", "da", "feng", "gao", "he", "hua", "jin", "kai", "lan", "long",
             "ming", "nan", "ping", "qing", "rui", "shan", "tai", "wen", "xin", "yang", "yong",
             "yu", "ze", "zhong", "bei", "dong", "xi", "hai")
COMPANY_WORDS = ("Precision", "Motor", "Pharma", "Materials", "Electric", "Foods", "Logistics",
                 "Solar", "Semiconductor", "Machinery", "Chemical", "Optics")
GLOBAL_NAMES = ("Aldenberg", "Kirishima", "Northwind", "Hanseong", "Lumiere", "Vostok", "Ravel",
                "Tamura", "Bergmann", "Cascade")
PROJECT_KINDS = (("biomass cogeneration", "biomass"), ("gas-fired heating", "natural gas"),
                 ("rooftop solar", "solar"), ("waste heat recovery", "waste heat"))
SITES = ("north industrial block", "south logistics park", "east new town", "west gate area")
#: Indicators of ontology/vocabularies.ttl a profile reports yearly, in this order.
PREFERRED_INDICATORS = ("heating-capacity", "output-value", "permanent-population", "area",
                        "green-energy-share", "transnational-corporations",
                        "annual-carbon-reduction")
DEF = "https://w3id.org/ezgraph/def/"
UNIT = "http://qudt.org/vocab/unit/"
#: Share of yearly figures typed with another unit than their indicator's, a slip curators make
#: (CNY typed for PERCENT) and the shapes warn about; drawn from its own seeded stream.
UNIT_SLIP_RATE = 0.01
UNIT_WORDS = {"NUM": "", "PERCENT": "per cent", "KiloM2": "square kilometres", "M2":
              "square metres", "M": "metres", "MegaW": "MW", "TONNE": "tonnes",
              "TONNE-PER-YR": "tonnes a year", "CCY_CNY": "yuan"}


@dataclass(frozen=True)
class Vocabulary:
    """The concept slugs (and English labels) the generator may use, per scheme."""

    schemes: dict[str, dict[str, str]]
    #: Indicator slug → the QUDT unit (local name) of its ez:defaultUnit.
    units: dict[str, str] = field(default_factory=dict)

    def slugs(self, scheme: str) -> list[str]:
        return sorted(self.schemes.get(scheme, {}))

    def unit(self, indicator: str) -> str:
        """The unit the vocabulary gives the indicator's figures in; a plain number if none."""
        return self.units.get(indicator, "NUM")

    def label(self, scheme: str, slug: str) -> str:
        return self.schemes[scheme].get(slug) or slug.replace("-", " ")


def read_vocabulary(ontology_dir: Path = ONTOLOGY_DIR) -> Vocabulary:
    """Concepts of the real ontology directory, read the way the build reads them."""
    from pyoxigraph import NamedNode

    from ezgraph.mapping.turtle import concept_index, read_turtle_dir
    from ezgraph.sources.errors import ErrorCollector

    errors = ErrorCollector()
    quads = read_turtle_dir(ontology_dir, NamedNode("urn:x-bench:ontology"), errors)
    errors.raise_if_any()
    paths, labels = concept_index(quads)
    schemes: dict[str, dict[str, str]] = {}
    for path in sorted(paths):
        scheme, _, slug = path.partition("/")
        if slug and "/" not in slug:
            schemes.setdefault(scheme, {})[slug] = labels.en.get(path, "")
    for needed in ("indicator",):
        if needed not in schemes:
            raise SystemExit(f"{ontology_dir}: no concepts in the '{needed}' scheme; "
                             "the generator needs them")
    default_unit = NamedNode(f"{DEF}defaultUnit")
    units = {quad.subject.value.rsplit("/", 1)[-1]: quad.object.value[len(UNIT):]
             for quad in quads
             if quad.predicate == default_unit and quad.object.value.startswith(UNIT)}
    return Vocabulary(schemes, units)


# -- writing YAML by hand: fast, byte-stable, and only the few shapes of value we need -----------


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(type(value))


def _yaml_records(source: str, records: list[dict[str, object]]) -> str:
    lines = [f"source: {source}", "records:"]
    for record in records:
        first = True
        for key, value in record.items():
            lines.append(f"{'  - ' if first else '    '}{key}: {_scalar(value)}")
            first = False
    return "\n".join(lines) + "\n"


@dataclass
class _Document:
    """One source text being written, and the records that quote it."""

    id: str
    file: str
    title: dict[str, str]
    about: list[str]
    sentences: list[str] = field(default_factory=list)
    records: list[dict[str, object]] = field(default_factory=list)

    def say(self, sentence: str) -> str:
        self.sentences.append(sentence)
        return sentence

    def add(self, record_id: str, kind: str, quote: str | list[str], **fields: object) -> None:
        self.records.append({"id": record_id, "kind": kind, "quote": quote,
                             **{k: v for k, v in fields.items() if v is not None}})

    def text(self) -> str:
        # Paragraphs of five sentences, wrapped like a web page copied to text.
        paragraphs = [" ".join(self.sentences[i:i + 5]) for i in range(0, len(self.sentences), 5)]
        return f"{self.title['en']}\n\n" + "\n\n".join(paragraphs) + "\n"


def _names(count: int, rng: random.Random) -> list[str]:
    pairs = [a + b for a in SYLLABLES for b in SYLLABLES if a != b]
    rng.shuffle(pairs)
    names = pairs[:count]
    extra = count - len(names)
    if extra > 0:
        names += [f"{p}{s}" for p in pairs for s in SYLLABLES][:extra]
    return [n.capitalize() for n in names]


class Generator:
    def __init__(self, zones: int, seed: int, vocabulary: Vocabulary,
                 years: tuple[int, ...] = YEARS):
        self.zones = zones
        self.years = years
        self.seed = seed
        self.vocab = vocabulary
        self.rng = random.Random(seed)
        self.slips = random.Random(f"{seed}-unit-slips")
        self.indicators = self._indicators()
        self.roles = vocabulary.slugs("presence-role")
        self.measure_types = vocabulary.slugs("measure-type")
        self.levels = vocabulary.slugs("zone-level")
        self.qualifiers = vocabulary.slugs("qualifier")
        self.global_enterprises: list[str] = []

    def _indicators(self) -> list[str]:
        """Yearly indicators; the first is used for components, the last for projects."""
        slugs = self.vocab.slugs("indicator")
        chosen = [slug for slug in PREFERRED_INDICATORS if slug in slugs]
        if len(chosen) < 6:  # a vocabulary without them: any six, still seeded
            rest = [slug for slug in slugs if slug not in chosen]
            chosen += random.Random(self.seed).sample(rest, min(6 - len(chosen), len(rest)))
        return chosen

    def documents(self) -> list[_Document]:
        docs = [self._catalogue()]
        names = _names(self.zones, self.rng)
        docs += [self._zone(i + 1, name) for i, name in enumerate(names)]
        return docs

    # -- the shared catalogue ----------------------------------------------------------------

    def _catalogue(self) -> _Document:
        doc = _Document("source/catalogue", "catalogue.txt",
                        {"en": "Catalogue of places, authorities, titles and industries",
                         "zh": "地区、机构、称号与产业目录"}, ["place/china"])
        s = doc.say("China (中国) is the country in which every zone of this catalogue lies.")
        doc.add("place/china", "Place", s, label={"en": "China", "zh": "中国"},
                wikidata="Q148", geonames="1814991")
        for slug, en, zh in PROVINCES:
            s = doc.say(f"{en} ({zh}) is a province of China.")
            doc.add(f"place/{slug}", "Place", s, label={"en": en, "zh": zh},
                    within="place/china")
        for slug, en, zh in COUNTRIES:
            s = doc.say(f"Investors from {en} ({zh}) appear in this catalogue.")
            doc.add(f"place/{slug}", "Place", s, label={"en": en.removeprefix("the "), "zh": zh})
        for slug, en, zh in AGENCIES:
            s = doc.say(f"The {en} ({zh}) is a national authority.")
            doc.add(f"agency/{slug}", "Agency", s, label={"en": en, "zh": zh},
                    jurisdiction="place/china",
                    parent=None if slug == "state-council" else "agency/state-council")
        for slug, en, zh, broader in INDUSTRIES:
            s = doc.say(f"The industry of {en} ({zh}) is counted in this catalogue.")
            doc.add(f"industry/{slug}", "Industry", s, label={"en": en, "zh": zh},
                    broader=f"industry/{broader}" if broader else None)
        agency_names = {slug: en for slug, en, _zh in AGENCIES}
        for slug, en, zh, awarders in HONOR_TITLES:
            s = doc.say(f"The title {en} ({zh}) is awarded by "
                        f"{' and '.join(agency_names[a] for a in awarders)}.")
            doc.add(f"honor-title/{slug}", "HonorTitle", s, label={"en": en, "zh": zh},
                    awarded_by=[f"agency/{a}" for a in awarders])
        for i, name in enumerate(GLOBAL_NAMES):
            country = COUNTRIES[i % len(COUNTRIES)]
            word = COMPANY_WORDS[i % len(COMPANY_WORDS)]
            company = f"{name} {word} Group"
            fortune = i % 3 == 0
            s = doc.say(f"{company}, an investor from {country[1]}, "
                        f"{'is' if fortune else 'is not'} on the Fortune Global 500 list.")
            eid = f"enterprise/{name.lower()}-{word.lower()}"
            doc.add(eid, "Enterprise", s, label={"en": company, "zh": f"{name}集团"},
                    investor_origin=f"place/{country[0]}", fortune_global_500=fortune)
            self.global_enterprises.append(eid)
        return doc

    # -- one zone ----------------------------------------------------------------------------

    def _zone(self, n: int, city: str) -> _Document:
        rng = self.rng
        tag = f"z{n:04d}"
        abbr = f"{city[:2].upper()}{n}ETDZ"
        name = f"{city} Economic and Technological Development Zone"
        zh_name = f"{city}经济技术开发区"
        zone = f"zone/{tag}"
        province = PROVINCES[(n - 1) % len(PROVINCES)]
        doc = _Document(f"source/{tag}", f"{tag}.txt",
                        {"en": f"Profile of {name}", "zh": f"{zh_name}简介"}, [zone])

        located = doc.say(f"{name} (hereinafter referred to as “{abbr}”) lies in {city} City, "
                          f"{province[1]}.")
        city_id = f"place/city-{tag}"
        doc.add(city_id, "Place", located, label={"en": f"{city} City", "zh": f"{city}市"},
                within=f"place/{province[0]}")
        industries = rng.sample(INDUSTRIES, 3)
        leading = doc.say(f"The leading industries of {abbr} are {industries[0][1]}, "
                          f"{industries[1][1]} and {industries[2][1]}.")
        area = round(rng.uniform(10, 400), 1)
        distinction = doc.say(f"{abbr} is known as a base of {industries[0][1]} in "
                              f"{province[1]}, covering {area} square kilometres.")
        doc.add(zone, "Zone", [located, leading, distinction],
                label={"en": name, "zh": zh_name}, alt_label=[abbr],
                level=self.levels[0] if self.levels else None,
                located_in=[city_id, f"place/{province[0]}"],
                core_industry=[f"industry/{i[0]}" for i in industries],
                distinction=[distinction], statistical_code=f"{990000 + n}")

        founded = rng.choice(YEARS[:1]) - rng.randint(5, 30)
        month = rng.randint(1, 12)
        approved = founded + rng.randint(1, 10)
        s = doc.say(f"{abbr} was founded in {founded} and approved as a national-level zone by "
                    f"the State Council in {MONTHS[month - 1]} {approved}.")
        doc.add(f"approval/{tag}", "ZoneApproval", s, zone=zone,
                approved_by="agency/state-council", date=f"{approved}-{month:02d}",
                granted_level=self.levels[0] if self.levels else None)
        doc.add(f"establishment/{tag}", "ZoneEstablishment", s, zone=zone, date=str(founded))

        self._enterprises(doc, tag, abbr, zone)
        self._honors(doc, tag, abbr, zone, province)
        self._projects(doc, tag, abbr, zone)
        self._measures(doc, tag, abbr, zone)
        self._policy(doc, tag, abbr, zone, industries)
        self._yearly(doc, tag, abbr, zone)
        return doc

    def _enterprises(self, doc: _Document, tag: str, abbr: str, zone: str) -> None:
        rng = self.rng
        for k in range(1, 7):
            word = rng.choice(COMPANY_WORDS)
            company = f"{abbr} {word} Co., Ltd. No. {k}"
            eid = f"enterprise/{tag}-e{k}"
            role = rng.choice(self.roles) if self.roles else None
            s = doc.say(f"{company} has set up "
                        f"{'its ' + self.vocab.label('presence-role', role) if role else 'a site'}"
                        f" in {abbr}.")
            doc.add(eid, "Enterprise", s, label={"en": company, "zh": f"{abbr}企业{k}号"})
            doc.add(f"presence/{tag}-e{k}", "EnterprisePresence", s, zone=zone, enterprise=eid,
                    role=[role] if role else None)
        for k, eid in enumerate(rng.sample(self.global_enterprises, 3), start=1):
            s = doc.say(f"A plant of the group {eid.split('/')[1]} (number {k}) operates in "
                        f"{abbr}.")
            doc.add(f"presence/{tag}-g{k}", "EnterprisePresence", s, zone=zone, enterprise=eid)

    def _honors(self, doc: _Document, tag: str, abbr: str, zone: str,
                province: tuple[str, str, str]) -> None:
        rng = self.rng
        for slug, en, _zh, _awarders in rng.sample(HONOR_TITLES, 2):
            year = rng.choice(YEARS)
            batch = rng.randint(1, len(ORDINALS))
            ordinal = rng.randint(1, 9)
            s = doc.say(f"In {year}, {abbr} was named a {en} in the {ORDINALS[batch - 1]} batch, "
                        f"the number {ordinal} park of {province[1]} with this title.")
            doc.add(f"award/{tag}-{slug}", "HonorAward", s, recipient=zone,
                    title=f"honor-title/{slug}", year=str(year), batch=batch,
                    ordinal_in_region=ordinal, region=f"place/{province[0]}")

    def _projects(self, doc: _Document, tag: str, abbr: str, zone: str) -> None:
        rng = self.rng
        for p in range(1, 3):
            kind, fuel = rng.choice(PROJECT_KINDS)
            site = rng.choice(SITES)
            start = rng.choice(YEARS)
            beneficiary = f"enterprise/{tag}-e{rng.randint(1, 6)}"
            pid = f"project/{tag}-p{p}"
            s = doc.say(f"The {kind} project number {p} of {abbr}, at the {site}, went into "
                        f"operation in {start} and serves {abbr} {beneficiary[-2:]}.")
            doc.add(pid, "GreenProject", s, label={"en": f"{abbr} {kind} project {p}",
                                                   "zh": f"{abbr}绿色项目{p}"},
                    zone=zone, phase=p, site={"en": site}, design_fuel={"en": fuel},
                    beneficiary=[beneficiary, zone], operation_start=str(start),
                    purpose=[{"en": f"{kind} for {abbr}"}])
            for c in range(1, 3):
                units = rng.randint(1, 4)
                megawatts = rng.choice((7, 14, 29, 58, 70))
                s = doc.say(f"Project {p} of {abbr} has {units} units of type {c}, each of "
                            f"{megawatts} MW, running on {fuel}.")
                cid = f"component/{tag}-p{p}-c{c}"
                doc.add(cid, "ProjectComponent", s,
                        label={"en": f"{abbr} project {p} unit {c}", "zh": f"{abbr}项目{p}设备{c}"},
                        part_of=pid, unit_count=units, fuel={"en": fuel})
                doc.add(f"obs/{tag}-p{p}-c{c}-capacity", "Observation", s, subject=cid,
                        indicator=self.indicators[0], value=units * megawatts,
                        unit=self.vocab.unit(self.indicators[0]), as_of_publication=True)
            for year in rng.sample(YEARS, 2):
                saved = rng.randint(1_000, 90_000)
                indicator = self.indicators[-1]
                s = doc.say(f"In {year}, project {p} of {abbr} recorded {saved} as its "
                            f"{self.vocab.label('indicator', indicator)}.")
                doc.add(f"obs/{tag}-p{p}-{year}", "Observation", s, subject=pid,
                        indicator=indicator, value=saved, unit=self.vocab.unit(indicator),
                        period_start=str(year), period_end=str(year))

    def _measures(self, doc: _Document, tag: str, abbr: str, zone: str) -> None:
        rng = self.rng
        if not self.measure_types:
            return
        for m in range(1, 4):
            measure = rng.choice(self.measure_types)
            partner = rng.choice(AGENCIES[1:])
            start = rng.choice(YEARS[:-2])
            s = doc.say(f"Measure {m} of {abbr}: {self.vocab.label('measure-type', measure)}, "
                        f"with the {partner[1]}, from {start} to {start + 2}.")
            doc.add(f"measure/{tag}-m{m}", "GreenMeasure", s, zone=zone,
                    measure_type=[measure], scope={"en": f"all enterprises of {abbr}"},
                    partner=[f"agency/{partner[0]}"], period_start=str(start),
                    period_end=str(start + 2))

    def _policy(self, doc: _Document, tag: str, abbr: str, zone: str,
                industries: list[tuple[str, str, str, str | None]]) -> None:
        rng = self.rng
        year = rng.choice(YEARS)
        title = f"Measures of {abbr} for Green Development ({year})"
        s = doc.say(f"In {year}, {abbr} issued the {title} on a trial basis.")
        pid = f"policy/{tag}"
        doc.add(pid, "PolicyDocument", s, title={"en": title}, issued_by=zone, trial=True,
                aim=[{"en": "green development"}])
        rate = rng.choice((5, 10, 15, 20))
        threshold = rng.choice((50, 100, 200))
        s = doc.say(f"Under this policy, an enterprise of {industries[0][1]} with an annual "
                    f"output above {threshold} million yuan within 3 years receives a reward "
                    f"of {rate} per cent.")
        doc.add(f"incentive/{tag}", "IncentiveProvision", s, policy=pid,
                eligibility={"en": f"enterprises of {industries[0][1]} in {abbr}"},
                eligible_industry=[f"industry/{industries[0][0]}"],
                output_threshold_cny=threshold * 1_000_000, qualification_window_years=3,
                reward_rate_percent=rate, reward_duration_years=3)

    def _yearly(self, doc: _Document, tag: str, abbr: str, zone: str) -> None:
        rng = self.rng
        for indicator in self.indicators:
            unit = self.vocab.unit(indicator)
            level = rng.uniform(5, 60) if unit == "PERCENT" else rng.uniform(1, 1000)
            label = self.vocab.label("indicator", indicator)
            for year in self.years:
                level *= rng.uniform(0.95, 1.15)
                if unit == "PERCENT":
                    level = min(level, 99.0)
                value = round(level, 1) if unit in ("PERCENT", "KiloM2") else int(level * 1000)
                qualifier = ("more-than" if "more-than" in self.qualifiers
                             and rng.random() < 0.1 else None)
                typed = self._slip(unit)
                words = UNIT_WORDS.get(typed, typed)
                s = doc.say(f"In {year}, the {label} of {abbr} was "
                            f"{'more than ' if qualifier else ''}{value}"
                            f"{' ' + words if words else ''}.")
                doc.add(f"obs/{tag}-{indicator}-{year}", "Observation", s, subject=zone,
                        indicator=indicator, value=value, unit=typed, qualifier=qualifier,
                        period_start=str(year), period_end=str(year))

    def _slip(self, unit: str) -> str:
        """``unit``, or now and then (:data:`UNIT_SLIP_RATE`) the unit a curator typed instead."""
        if self.slips.random() >= UNIT_SLIP_RATE:
            return unit
        return "CCY_CNY" if unit != "CCY_CNY" else "PERCENT"


def write(out: Path, zones: int, seed: int = 1, vocabulary: Vocabulary | None = None,
          years: int = len(YEARS)) -> Path:
    """Write the data directory for ``zones`` zones to ``out`` (replaced if it exists);
    ``years`` (at most 10) shortens the yearly series for small test data."""
    vocabulary = vocabulary or read_vocabulary()
    documents = Generator(zones, seed, vocabulary, YEARS[-years:]).documents()
    if out.exists():
        shutil.rmtree(out)
    (out / "sources").mkdir(parents=True)
    (out / "records").mkdir()
    entries = ["sources:"]
    for doc in documents:
        entries += [f"  - id: {doc.id}",
                    f"    title: {_scalar(doc.title)}",
                    f"    file: {doc.file}",
                    f"    url: https://example.org/ezgraph-bench/{doc.file.removesuffix('.txt')}",
                    "    language: en",
                    '    retrieved: "2026-11-22"',
                    f"    about: {_scalar(doc.about)}",
                    "    format: text/plain"]
        (out / "sources" / doc.file).write_text(doc.text(), encoding="utf-8")
        (out / "records" / f"{doc.file.removesuffix('.txt')}.yaml").write_text(
            _yaml_records(doc.id, doc.records), encoding="utf-8")
    (out / "sources.yaml").write_text("\n".join(entries) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        f"Synthetic benchmark data: {zones} zones, seed {seed}, written by bench/generate.py.\n"
        "Not real facts: every name and figure is invented.\n", encoding="utf-8")
    return out


def count_triples(data_dir: Path, ontology_dir: Path | None = None,
                  shapes_dir: Path | None = None) -> int:
    """Distinct triples of the whole dataset (data + ontology + shapes) as the build maps it."""
    from ezgraph.publish.build import BuildConfig, assemble

    graphs = assemble(BuildConfig(data_dir=data_dir, ontology_dir=ontology_dir or ONTOLOGY_DIR,
                                  shapes_dir=shapes_dir or SHAPES_DIR))
    return len({(q.subject, q.predicate, q.object) for q in graphs.all})


def zones_for(triples: int, seed: int = 1, vocabulary: Vocabulary | None = None) -> int:
    """Zones needed for about ``triples`` triples, from two mapped samples (linear in zones)."""
    vocabulary = vocabulary or read_vocabulary()
    with tempfile.TemporaryDirectory() as tmp:
        small = count_triples(write(Path(tmp) / "a", 1, seed, vocabulary))
        large = count_triples(write(Path(tmp) / "b", 5, seed, vocabulary))
    per_zone = (large - small) / 4
    return max(1, round((triples - (small - per_zone)) / per_zone))


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="data directory to write (replaced)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--zones", type=int, help="number of zones")
    size.add_argument("--triples", type=parse_size, help="target size, e.g. 10k, 100k, 1m")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", action="store_true",
                        help="map the result and print its exact triple count")
    args = parser.parse_args(argv)
    vocabulary = read_vocabulary()
    zones = args.zones or (zones_for(args.triples, args.seed, vocabulary) if args.triples else 5)
    write(args.out, zones, args.seed, vocabulary)
    print(f"wrote {args.out}: {zones} zones, seed {args.seed}")
    if args.count:
        print(f"{count_triples(args.out)} triples (data + ontology + shapes)")
    elif args.triples:
        print(f"about {args.triples} triples requested; run with --count for the exact figure")
    return 0


if __name__ == "__main__":
    sys.exit(main())
