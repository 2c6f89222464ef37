"""The real graph: every artifact of `ezgraph build`, checked against independent tools."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from ezgraph.publish.build import BuildConfig, build

ROOT = Path(__file__).resolve().parent.parent
CROSSCHECK = Path(__file__).parent / "crosscheck"
DUMPS = {"ezgraph.ttl": "turtle", "ezgraph.trig": "trig", "ezgraph.nt.gz": "ntriples",
         "ezgraph.nq.gz": "nquads", "ezgraph.jsonld": "jsonld"}
RAPPER = {"ezgraph.ttl": "turtle", "ezgraph.rdf": "rdfxml", "ezgraph.trig": "trig"}


def real_config(out: Path) -> BuildConfig:
    return BuildConfig(ROOT / "data", ROOT / "ontology", ROOT / "shapes", out)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("real") / "dist"
    result = build(real_config(out), log=lambda _: None)
    assert result.outcome.violations == 0
    return out


@pytest.fixture(scope="module")
def store(dist: Path) -> ox.Store:
    return ox.Store.read_only(str(dist / "store"))


def canonical_triples(quads) -> set[str]:
    dataset = ox.Dataset(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in dataset}


def canonical_quads(quads) -> set[str]:
    dataset = ox.Dataset(quads)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in dataset}


def reference_quads(dist: Path) -> list:
    return list(ox.parse(gzip.decompress((dist / "ezgraph.nq.gz").read_bytes()),
                         format=ox.RdfFormat.N_QUADS))


def test_every_artifact_is_published_and_described_in_the_manifest(dist: Path) -> None:
    manifest = json.loads((dist / "manifest.json").read_text())
    names = {f["path"] for f in manifest["files"]}
    assert {"ezgraph.trig", "ezgraph.nq.gz", "ezgraph.ttl", "ezgraph.nt.gz", "ezgraph.jsonld",
            "ezgraph.rdf", "context.jsonld", "ontology.ttl", "shapes.ttl", "void.ttl",
            "dcat.ttl", "validation-report.ttl", "validation-report.txt"} <= names
    for entry in manifest["files"]:
        data = (dist / entry["path"]).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["conforms"] is True
    graphs = manifest["graphs"]
    base = manifest["base"]
    assert f"{base}graph/ontology" in graphs and f"{base}graph/shapes" in graphs
    sources = yaml.safe_load((ROOT / "data" / "sources.yaml").read_text())["sources"]
    for source in sources:
        assert graphs[f"{base}graph/{source['id']}"] > 0


def test_two_builds_are_byte_identical(dist: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build(real_config(again), log=lambda _: None)
    published = sorted(p.name for p in dist.iterdir() if p.is_file())
    assert published == sorted(p.name for p in again.iterdir() if p.is_file())
    for name in published:
        assert (dist / name).read_bytes() == (again / name).read_bytes(), name


@pytest.mark.parametrize("name", sorted(DUMPS))
def test_independent_parsers_read_the_same_triples(dist: Path, name: str) -> None:
    parsed = subprocess.run(["node", str(CROSSCHECK / "crosscheck.mjs"), "parse",
                             str(dist / name), DUMPS[name]],
                            capture_output=True, check=True, timeout=120).stdout
    theirs = list(ox.parse(parsed, format=ox.RdfFormat.N_QUADS))
    ours = reference_quads(dist)
    if DUMPS[name] in ("trig", "nquads"):
        assert canonical_quads(theirs) == canonical_quads(ours)
    else:
        assert canonical_triples(theirs) == canonical_triples(ours)


@pytest.mark.skipif(shutil.which("rapper") is None, reason="raptor's rapper is not installed")
@pytest.mark.parametrize("name", sorted(RAPPER))
def test_raptor_reads_the_same_triples(dist: Path, name: str) -> None:
    parsed = subprocess.run(["rapper", "-q", "-i", RAPPER[name], "-o", "ntriples",
                             str(dist / name)], capture_output=True, check=True,
                            timeout=120).stdout
    theirs = list(ox.parse(parsed, format=ox.RdfFormat.N_TRIPLES))
    assert canonical_triples(theirs) == canonical_triples(reference_quads(dist))


def test_an_independent_shacl_engine_agrees(dist: Path, tmp_path: Path) -> None:
    """rdf-validate-shacl (core SHACL, no SHACL-SPARQL) gives the same verdict and finds the
    same core results as pyshacl."""
    shapes_graph = json.loads((dist / "manifest.json").read_text())["base"] + "graph/shapes"
    data = [q for q in reference_quads(dist) if q.graph_name.value != shapes_graph]
    data_file = tmp_path / "data.nq"
    data_file.write_bytes(ox.serialize(data, format=ox.RdfFormat.N_QUADS))
    report = json.loads(subprocess.run(
        ["node", str(CROSSCHECK / "crosscheck.mjs"), "shacl", str(data_file),
         str(dist / "shapes.ttl")], capture_output=True, check=True, timeout=300).stdout)
    pyshacl_report = ox.Store()
    pyshacl_report.load(path=str(dist / "validation-report.ttl"), format=ox.RdfFormat.TURTLE)
    conforms = bool(pyshacl_report.query(
        "ASK { ?r <http://www.w3.org/ns/shacl#conforms> true }"))
    violations = [r for r in report["results"] if r["severity"].endswith("#Violation")]
    assert (not violations) == bool(conforms)
    ours = {(str(row["focus"].value), str(row["severity"].value).rsplit("#")[-1])
            for row in pyshacl_report.query("""
        PREFIX sh: <http://www.w3.org/ns/shacl#>
        SELECT ?focus ?severity WHERE {
          ?r sh:result ?x . ?x sh:focusNode ?focus ; sh:resultSeverity ?severity ;
             sh:sourceConstraintComponent ?c .
          FILTER (?c != sh:SPARQLConstraintComponent) }""")}
    theirs = {(r["focus"], r["severity"].rsplit("#")[-1]) for r in report["results"]}
    assert theirs == ours


def test_every_record_answers_with_its_source_sentence(store: ox.Store) -> None:
    """Each curated record can be asked for by SPARQL and answers with its quote and source."""
    base = "https://w3id.org/ezgraph/"
    expected: dict[str, list[str]] = {}
    for path in sorted((ROOT / "data" / "records").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for record in document["records"]:
            quotes = record["quote"] if isinstance(record["quote"], list) else [record["quote"]]
            expected[base + "id/" + record["id"]] = [" ".join(q.split()) for q in quotes]
    answers: dict[str, set[str]] = {}
    for row in store.query("""
        PREFIX ez: <https://w3id.org/ezgraph/def/>
        PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?fact ?sentence ?doc WHERE {
          ?fact ez:evidence ?q ; dcterms:source ?doc .
          ?q prov:value ?sentence ; prov:wasQuotedFrom ?doc .
          ?doc a ez:SourceDocument }""", use_default_graph_as_union=True):
        answers.setdefault(row["fact"].value, set()).add(" ".join(row["sentence"].value.split()))
    assert len(expected) > 50
    for fact, quotes in expected.items():
        assert set(quotes) <= answers.get(fact, set()), fact


def test_observations_answer_with_value_unit_and_period(store: ox.Store) -> None:
    rows = list(store.query("""
        PREFIX ez: <https://w3id.org/ezgraph/def/>
        PREFIX sosa: <http://www.w3.org/ns/sosa/>
        PREFIX qudt: <http://qudt.org/schema/qudt/>
        SELECT ?obs ?value ?unit ?start ?end ?now WHERE {
          ?obs a ez:IndicatorObservation ; qudt:numericValue ?value ; qudt:unit ?unit .
          OPTIONAL { ?obs ez:periodStart ?start } OPTIONAL { ?obs ez:periodEnd ?end }
          OPTIONAL { ?obs ez:asOfPublication ?now } }""", use_default_graph_as_union=True))
    assert len(rows) >= 20
    for row in rows:
        assert row["unit"].value.startswith("http://qudt.org/vocab/unit/")
        assert row["start"] is not None or row["end"] is not None or row["now"] is not None, \
            f"{row['obs'].value} has no period"


def test_known_facts_of_the_profiles(store: ox.Store) -> None:
    def ask(query: str) -> bool:
        prefixes = """PREFIX ez: <https://w3id.org/ezgraph/def/>
            PREFIX sosa: <http://www.w3.org/ns/sosa/> PREFIX qudt: <http://qudt.org/schema/qudt/>
            PREFIX unit: <http://qudt.org/vocab/unit/> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
            PREFIX id: <https://w3id.org/ezgraph/id/zone/> PREFIX prov: <http://www.w3.org/ns/prov#>
            PREFIX owl: <http://www.w3.org/2002/07/owl#>
            PREFIX schema: <https://schema.org/>"""
        return bool(store.query(prefixes + query, use_default_graph_as_union=True))

    # CETDZ approved by the State Council in April 1993, at month precision
    assert ask("""ASK { ?a a ez:ZoneApproval ; ez:zone id:cetdz ;
                          ez:date "1993-04"^^xsd:gYearMonth ; prov:wasAssociatedWith ?council }""")
    # CAETDZ: established September 2005, approved December 2010
    assert ask("""ASK { ?e a ez:ZoneEstablishment ; ez:zone id:caetdz ;
                          ez:date "2005-09"^^xsd:gYearMonth }""")
    assert ask("""ASK { ?a a ez:ZoneApproval ; ez:zone id:caetdz ;
                          ez:date "2010-12"^^xsd:gYearMonth }""")
    # 2021 automobile output value: CNY 483.58 billion as a full amount
    assert ask("""ASK { ?o sosa:hasFeatureOfInterest id:caetdz ; qudt:unit unit:CCY_CNY ;
                          qudt:numericValue 483580000000.0 }""")
    # 336 small coal-fired boilers eliminated since 2014
    assert ask("""ASK { ?o qudt:numericValue 336.0 ; qudt:unit unit:NUM ;
                          ez:periodStart "2014"^^xsd:gYear }""")
    # biomass project: 47,700 t carbon a year; 2 × 29 MW = 58 MW
    assert ask("ASK { ?o qudt:numericValue 47700.0 ; qudt:unit unit:TONNE-PER-YR }")
    assert ask("""ASK { ?c ez:unitCount 2 . ?o sosa:hasFeatureOfInterest ?c ;
                          qudt:numericValue 29.0 ; qudt:unit unit:MegaW }""")
    # "more than" is kept as a qualifier
    assert ask("ASK { ?o qudt:numericValue 95.0 ; qudt:unit unit:PERCENT ; ez:valueQualifier ?q }")
    # confirmed links out only
    assert ask("ASK { ?p owl:sameAs <http://www.wikidata.org/entity/Q92161> , "
               "<https://sws.geonames.org/2038180/> }")
    assert not ask("ASK { id:cetdz owl:sameAs ?x }")


def descriptions(dist: Path) -> ox.Store:
    graph = ox.Store()
    graph.load(path=str(dist / "void.ttl"), format=ox.RdfFormat.TURTLE)
    graph.load(path=str(dist / "dcat.ttl"), format=ox.RdfFormat.TURTLE)
    return graph


def test_void_and_dcat_describe_counts_partitions_and_dumps(dist: Path) -> None:
    manifest = json.loads((dist / "manifest.json").read_text())
    graph = descriptions(dist)
    triples = next(iter(graph.query("""PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?n WHERE { <https://w3id.org/ezgraph/dataset> void:triples ?n }""")))["n"]
    assert int(triples.value) == manifest["triples"]
    partitions = list(graph.query("""PREFIX void: <http://rdfs.org/ns/void#>
        SELECT ?c ?n WHERE { ?d void:classPartition [ void:class ?c ; void:entities ?n ] }"""))
    assert any(row["c"].value.endswith("def/NationalETDZ") and row["n"].value == "2"
               for row in partitions)
    rows = list(graph.query("""PREFIX dcat: <http://www.w3.org/ns/dcat#>
        PREFIX spdx: <http://spdx.org/rdf/terms#>
        SELECT ?url ?size ?sum ?media ?compression WHERE { ?d dcat:downloadURL ?url ;
          dcat:byteSize ?size ; dcat:mediaType ?media ; spdx:checksum [ spdx:checksumValue ?sum ]
          OPTIONAL { ?d dcat:compressFormat ?compression } }"""))
    by_name = {row["url"].value.rsplit("/", 1)[-1]: row for row in rows}
    # Every published file but the descriptions themselves, the validation report and the
    # JSON-LD context (no representation of the dataset) is a distribution.
    not_distributions = {"void.ttl", "dcat.ttl", "validation-report.ttl",
                         "validation-report.txt", "context.jsonld"}
    assert set(by_name) == {e["path"] for e in manifest["files"]} - not_distributions
    iana = "https://www.iana.org/assignments/media-types/"
    inside = {"ezgraph.nq.gz": "application/n-quads", "ezgraph.nt.gz": "application/n-triples"}
    for entry in manifest["files"]:
        if entry["path"] in not_distributions:
            continue
        row = by_name[entry["path"]]
        assert int(row["size"].value) == entry["bytes"]
        assert row["sum"].value == entry["sha256"]
        if entry["path"] in inside:
            # the file is gzip (as listed and served); its data is N-Quads / N-Triples
            assert entry["media_type"] == "application/gzip"
            assert row["media"].value == iana + inside[entry["path"]]
            assert row["compression"].value == iana + entry["media_type"]
        else:
            assert row["media"].value == iana + entry["media_type"]
            assert row["compression"] is None
    assert not graph.query("ASK { ?d <http://www.w3.org/ns/dcat#packageFormat> ?f }")


def test_void_entities_are_the_iri_subjects_in_the_uri_space(dist: Path, store: ox.Store
                                                             ) -> None:
    """void:entities of the dataset and of each class partition, counted again with SPARQL
    over the data graphs of the built store."""
    graph = descriptions(dist)
    prefixes = "PREFIX void: <http://rdfs.org/ns/void#> "
    space = next(iter(graph.query(prefixes + """SELECT ?s WHERE {
        <https://w3id.org/ezgraph/dataset> void:uriSpace ?s }""")))["s"].value
    assert space == "https://w3id.org/ezgraph/id/"
    data = ('GRAPH ?g { %s } FILTER(?g != <https://w3id.org/ezgraph/graph/metadata>) '
            f'FILTER(isIRI(?e) && STRSTARTS(STR(?e), "{space}"))')
    counted = int(next(iter(store.query(
        f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ {data % '?e ?p ?o'} }}")))["n"].value)
    described = next(iter(graph.query(prefixes + """SELECT ?n ?subjects WHERE {
        <https://w3id.org/ezgraph/dataset> void:entities ?n ;
        void:distinctSubjects ?subjects }""")))
    assert int(described["n"].value) == counted
    # blank nodes and vocabulary, shape and other IRIs are subjects but not entities
    assert 0 < counted < int(described["subjects"].value)
    by_class = {row["c"].value: int(row["n"].value) for row in store.query(
        f"SELECT ?c (COUNT(DISTINCT ?e) AS ?n) WHERE {{ {data % '?e a ?c'} }} GROUP BY ?c")}
    partitions = {row["c"].value: int(row["n"].value) for row in graph.query(prefixes + """
        SELECT ?c ?n WHERE { <https://w3id.org/ezgraph/dataset> void:classPartition ?p .
          ?p void:class ?c ; void:entities ?n }""")}
    assert {c: n for c, n in partitions.items() if n} == by_class
    # classes only blank nodes or vocabulary terms have: partitions without entities
    assert partitions["http://www.w3.org/ns/shacl#SPARQLConstraint"] == 0
    assert partitions["http://www.w3.org/2002/07/owl#Class"] == 0
    assert partitions["https://w3id.org/ezgraph/def/NationalETDZ"] == 2


def test_the_store_metadata_graph_holds_exactly_void_and_dcat(dist: Path, store: ox.Store
                                                              ) -> None:
    """The same triples as void.ttl + dcat.ttl, term for term (datatypes included): what
    /.well-known/void and /catalog serve from a store is what the files say."""
    metadata = ox.NamedNode("https://w3id.org/ezgraph/graph/metadata")
    held = {str(q.triple) for q in store.quads_for_pattern(None, None, None, metadata)}
    files = {str(q.triple) for name in ("void.ttl", "dcat.ttl")
             for q in ox.parse(path=str(dist / name), format=ox.RdfFormat.TURTLE)}
    assert len(files) > 500
    assert held == files
    sizes = list(store.query("""SELECT ?n WHERE { GRAPH <https://w3id.org/ezgraph/graph/metadata>
        { ?d <http://www.w3.org/ns/dcat#byteSize> ?n } }"""))
    assert sizes and {row["n"].datatype.value for row in sizes} == {
        "http://www.w3.org/2001/XMLSchema#integer"}


def test_void_accounts_for_every_graph_of_the_sparql_endpoint(dist: Path, store: ox.Store
                                                              ) -> None:
    """Each named graph of the store is a void:subset of the dataset with its size, or the
    metadata graph, described as the dataset's void:DatasetDescription (not as a subset)."""
    graph = descriptions(dist)
    prefixes = "PREFIX void: <http://rdfs.org/ns/void#> PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
    subsets = {row["g"].value: int(row["n"].value) for row in graph.query(prefixes + """
        SELECT ?g ?n WHERE { <https://w3id.org/ezgraph/dataset> void:subset ?g .
          ?g void:triples ?n }""")}
    held = {row["g"].value: int(row["n"].value) for row in store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    metadata = "https://w3id.org/ezgraph/graph/metadata"
    assert metadata not in subsets
    assert {g: n for g, n in held.items() if g != metadata} == subsets
    assert graph.query(prefixes + f"""ASK {{ <{metadata}> a void:DatasetDescription ;
        foaf:primaryTopic <https://w3id.org/ezgraph/dataset> }}""")
    total = int(next(iter(store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")))["n"].value)
    assert total == sum(subsets.values()) + held[metadata]


def test_validation_report_is_rdf_and_text(dist: Path) -> None:
    report = ox.Store()
    report.load(path=str(dist / "validation-report.ttl"), format=ox.RdfFormat.TURTLE)
    assert report.query("ASK { ?r a <http://www.w3.org/ns/shacl#ValidationReport> }")
    text = (dist / "validation-report.txt").read_text()
    assert "The data conforms: 0 violation(s)" in text


def test_gzipped_dumps_equal_gzip_bytes_of_their_text(tmp_path: Path) -> None:
    # The dumps are gzipped while pyoxigraph writes (and flushes) into the stream; the bytes
    # must still be those of gzipping the whole text at once, as the web tier's dumps are.
    import pyoxigraph as ox

    from ezgraph.publish.dumps import canonical, gzip_bytes, write_dumps

    graph = ox.NamedNode("https://w3id.org/ezgraph/graph/g")
    quads = canonical(
        ox.Quad(ox.NamedNode(f"https://w3id.org/ezgraph/id/x{i}"),
                ox.NamedNode("https://w3id.org/ezgraph/def/p"), ox.Literal("v" * (i % 50)), graph)
        for i in range(20_000)
    )
    write_dumps(tmp_path, quads, "https://w3id.org/ezgraph/")
    for name, fmt in (("ezgraph.nq.gz", ox.RdfFormat.N_QUADS),
                      ("ezgraph.nt.gz", ox.RdfFormat.N_TRIPLES)):
        written = (tmp_path / name).read_bytes()
        text = gzip.decompress(written)
        assert written == gzip_bytes(text)
        assert len(list(ox.parse(text, format=fmt))) == 20_000


def test_canonical_quads_are_unique_sorted_and_blind_to_blank_node_labels() -> None:
    import random

    import pyoxigraph as ox

    from ezgraph.publish.dumps import canonical

    def dataset(labels: tuple[str, str]) -> list:
        g = ox.NamedNode("https://w3id.org/ezgraph/graph/g")
        p = ox.NamedNode("https://w3id.org/ezgraph/def/p")
        a, b = (ox.BlankNode(label) for label in labels)
        return [
            ox.Quad(ox.NamedNode("https://w3id.org/ezgraph/id/z"), p, a, g),
            ox.Quad(a, p, b, g),
            ox.Quad(b, p, ox.Literal("second"), g),
            # "_:" in a literal: read as if it had a blank node, and still written as it is
            ox.Quad(ox.NamedNode("https://w3id.org/ezgraph/id/y"), p, ox.Literal("see _:x"), g),
            ox.Quad(ox.NamedNode("https://w3id.org/ezgraph/id/x"), p, ox.Literal("plain"), g),
        ]

    first = canonical(dataset(("one", "two")))
    shuffled = dataset(("zz", "aa")) * 2
    random.Random(3).shuffle(shuffled)
    assert canonical(iter(shuffled)) == first
    assert [str(q) for q in first] == sorted(str(q) for q in first)
    assert len(first) == 5
    assert ox.Quad(ox.NamedNode("https://w3id.org/ezgraph/id/y"),
                   ox.NamedNode("https://w3id.org/ezgraph/def/p"), ox.Literal("see _:x"),
                   ox.NamedNode("https://w3id.org/ezgraph/graph/g")) in first


def test_a_failing_gzipped_dump_raises_its_error_and_leaves_no_thread(tmp_path: Path) -> None:
    import threading

    from ezgraph.publish.dumps import _gzipped

    def writes_then_fails(f) -> None:
        f.write(b"x" * (3 << 20))
        raise RuntimeError("the serializer failed")

    with (tmp_path / "a.gz").open("wb") as out, pytest.raises(RuntimeError, match="serializer"):
        _gzipped(writes_then_fails)(out)

    class FullDisk:
        """Takes the gzip header, then fails (in the compressing thread)."""

        written = 0

        def write(self, data: bytes) -> int:
            if self.written:
                raise OSError(28, "No space left on device")
            self.written += len(data)
            return len(data)

    with pytest.raises(OSError, match="No space left"):
        _gzipped(lambda f: f.write(b"y" * (3 << 20)))(FullDisk())
    assert not [t for t in threading.enumerate() if t.name == "gzip-dump"]
