"""Bad input is reported with file, line, record and field — all of it in one run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ezgraph.cli import main
from ezgraph.publish.build import BuildConfig, build
from ezgraph.sources.errors import InputErrors

MINI = Path(__file__).parent / "mini"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for part in ("data", "ontology", "shapes"):
        shutil.copytree(MINI / part, tmp_path / part)
    return tmp_path


def config(project: Path) -> BuildConfig:
    return BuildConfig(project / "data", project / "ontology", project / "shapes",
                       project / "dist")


def records_file(project: Path) -> Path:
    return project / "data" / "records" / "example.yaml"


def append(project: Path, text: str) -> None:
    with records_file(project).open("a", encoding="utf-8") as handle:
        handle.write(text)


def errors_of(project: Path) -> list:
    with pytest.raises(InputErrors) as caught:
        build(config(project), log=lambda _: None)
    return caught.value.errors


def test_mini_project_builds(project: Path) -> None:
    result = build(config(project), log=lambda _: None)
    assert result.outcome.violations == 0
    assert (project / "dist" / "ezgraph.ttl").exists()


def test_every_problem_of_a_record_is_reported_with_its_line(project: Path) -> None:
    append(project, """\
  - id: obs/example-area
    kind: Observation
    quote: "covers an area of 113 square kilometers"
    subject: zone/nowhere
    indicator: areaa
    value: lots
    unit: KM2
    colour: red
    period_start: "2021-13"
""")
    errors = errors_of(project)
    by_field = {error.field: error for error in errors}
    assert set(by_field) == {"id", "quote", "subject", "indicator", "value", "unit", "colour",
                             "period_start"}
    assert all(error.record == "obs/example-area" for error in errors)
    assert all(error.file == records_file(project) for error in errors)
    lines = records_file(project).read_text(encoding="utf-8").splitlines()

    def line_of(text: str) -> int:
        return max(number for number, line in enumerate(lines, 1) if text in line)

    for name in ("subject", "indicator", "value", "unit", "colour", "period_start"):
        assert by_field[name].line == line_of(f"    {name}:"), name
    assert "already used at" in by_field["id"].message
    assert "the first 20 characters match" in by_field["quote"].message
    assert "no record defines" in by_field["subject"].message
    assert "known: area" in by_field["indicator"].message
    assert "expected a number" in by_field["value"].message
    assert "KiloM2 = square kilometre" in by_field["unit"].message
    assert "unknown field 'colour'" in by_field["colour"].message
    assert "not a calendar date" in by_field["period_start"].message
    rendered = str(by_field["unit"])
    assert rendered.startswith(
        f"{records_file(project)}:{line_of('unit: KM2')} (record obs/example-area, field 'unit')")


def test_malformed_yaml_names_file_line_and_column(project: Path) -> None:
    (project / "data" / "records" / "broken.yaml").write_text(
        "records:\n  - id: zone/x\n   kind: Zone\n", encoding="utf-8")
    append(project, "  - id: zone/other\n    kind: Zonee\n    quote: x\n")
    errors = errors_of(project)
    broken = [e for e in errors if e.file.name == "broken.yaml"]
    assert len(broken) == 1 and broken[0].line == 3
    assert "malformed YAML, column" in broken[0].message
    # the other file's problem is reported in the same run
    assert any(e.field == "kind" and "not a record kind" in e.message for e in errors)


def test_duplicate_keys_wrong_types_and_kinds_of_references(project: Path) -> None:
    append(project, """\
  - id: zone/second
    kind: Zone
    quote: "Example Zone"
    label: {en: A, fr: B}
    label: {en: C}
    located_in: obs/example-area
  - id: approval/example
    kind: ZoneApproval
    quote: "approved in April 1993"
    zone: obs/example-area
    date: April 1993
""")
    errors = errors_of(project)
    messages = [(e.line, e.field, e.message) for e in errors]
    assert any("appears twice" in m for _, _, m in messages)
    assert any(f == "zone" and "a Observation; expected a Zone" in m for _, f, m in messages)
    assert any(f == "date" and '"YYYY", "YYYY-MM" or "YYYY-MM-DD"' in m for _, f, m in messages)
    assert any(f == "located_in" and "expected a Place" in m for _, f, m in messages)


def test_missing_required_fields_and_quote(project: Path) -> None:
    append(project, "  - id: target/example\n    kind: Target\n    subject: zone/example\n")
    errors = errors_of(project)
    fields = {e.field for e in errors if e.record == "target/example"}
    assert {"quote", "indicator", "value", "unit", "target_year"} <= fields


def test_unknown_source_and_missing_text(project: Path) -> None:
    append(project, "  - id: zone/elsewhere\n    kind: Zone\n    source: source/nope\n"
                    "    quote: x\n")
    (project / "data" / "sources" / "example.txt").unlink()
    errors = errors_of(project)
    assert any(e.field == "file" and "cannot be read" in e.message for e in errors)
    assert any(e.field == "source" and "not in sources.yaml" in e.message for e in errors)


def test_a_failed_build_leaves_the_previous_publish_directory_intact(project: Path,
                                                                     capsys) -> None:
    args = ["build", "--data", str(project / "data"), "--ontology", str(project / "ontology"),
            "--shapes", str(project / "shapes"), "--out", str(project / "dist")]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in (project / "dist").iterdir() if p.is_file()}
    append(project, "  - id: obs/broken\n    kind: Observation\n    quote: x\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "example.yaml:" in err and "record obs/broken" in err
    assert "Nothing was published." in err
    after = {p.name: p.read_bytes() for p in (project / "dist").iterdir() if p.is_file()}
    assert after == before
    assert not list(project.glob(".dist.*"))


def test_shacl_violation_stops_the_build(project: Path, capsys) -> None:
    shapes = project / "shapes" / "s.ttl"
    shapes.write_text(shapes.read_text().replace("sh:minCount 1", "sh:minCount 2"))
    args = ["build", "--data", str(project / "data"), "--ontology", str(project / "ontology"),
            "--shapes", str(project / "shapes"), "--out", str(project / "dist")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Violation: needs unit" in err and "Nothing was published" in err
    assert not (project / "dist").exists()


def test_malformed_turtle_is_reported_with_line(project: Path) -> None:
    (project / "ontology" / "bad.ttl").write_text("@prefix ex: <http://e/> .\nex:a ex:b .\n")
    errors = errors_of(project)
    assert [(e.file.name, e.line) for e in errors] == [("bad.ttl", 2)]


def test_quotes_tolerate_only_white_space(project: Path) -> None:
    result = build(config(project), log=lambda _: None)
    text = (project / "dist" / "ezgraph.nt.gz").read_bytes()
    assert result.triples > 0 and text
    # "It has two\n  29MW boilers." in the text is quoted as one line in the record
    import gzip
    lines = gzip.decompress(text).decode()
    assert '"It has two\\n  29MW boilers."@en' in lines


def test_quote_offsets_map_back_through_every_kind_of_white_space() -> None:
    import random

    from ezgraph.sources.text import SourceText

    def reference(text: str) -> tuple[str, list[int]]:
        """The folded text and each of its characters' offsets, character by character."""
        folded, offsets, in_space = [], [], False
        for offset, char in enumerate(text):
            if char.isspace() and in_space:
                continue
            folded.append(" " if char.isspace() else char)
            offsets.append(offset)
            in_space = char.isspace()
        return "".join(folded), offsets

    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice("ab 区\n\t\u3000\u00a0") for _ in range(rng.randint(0, 40)))
        folded, offsets = reference(text)
        source = SourceText(text)
        for start in range(len(folded)):
            for end in range(start + 1, min(len(folded), start + 6) + 1):
                quote = folded[start:end]
                if quote.strip() != quote or folded.find(quote) != start:
                    continue  # find() strips the quote and gives the first occurrence
                assert source.find(quote) == (offsets[start], offsets[end - 1] + 1), (text, quote)


def test_record_files_parsed_in_worker_processes_read_as_in_one(project: Path,
                                                                monkeypatch) -> None:
    from ezgraph.sources import yamlfile

    records = project / "data" / "records"
    (records / "broken.yaml").write_text("records:\n  - id: zone/x\n   kind: Zone\n")
    (records / "twice.yaml").write_text("records:\n  - id: zone/y\n    id: zone/z\n")
    for number in range(5):
        shutil.copy(records_file(project), records / f"copy-{number}.yaml")
    paths = sorted(records.glob("*.yaml"))

    def read() -> list:
        return [(path, document, [str(e) for e in errors])
                for path, document, errors in yamlfile.load_yaml_files(paths)]

    def lines(node: object) -> object:
        """The line numbers the reader keeps beside the values."""
        if isinstance(node, yamlfile.LineDict):
            return (node.line, node.key_lines, {k: lines(v) for k, v in node.items()})
        if isinstance(node, yamlfile.LineList):
            return (node.line, [lines(v) for v in node])
        return None

    monkeypatch.setattr(yamlfile, "PARALLEL_MIN_FILES", 10_000)
    serial = read()
    monkeypatch.setattr(yamlfile, "PARALLEL_MIN_FILES", 2)
    monkeypatch.setattr(yamlfile.os, "cpu_count", lambda: 2)
    parallel = read()
    assert [path for path, _, _ in parallel] == paths
    assert parallel == serial
    assert [lines(document) for _, document, _ in parallel] == [
        lines(document) for _, document, _ in serial]
    errors = {path.name: messages for path, _, messages in parallel if messages}
    assert set(errors) == {"broken.yaml", "twice.yaml"}
    assert "twice.yaml:3" in errors["twice.yaml"][0] and "appears twice" in errors["twice.yaml"][0]


def test_a_build_reading_through_the_parser_pool_reports_the_same_problems(project: Path,
                                                                            monkeypatch) -> None:
    from ezgraph.sources import yamlfile

    (project / "data" / "records" / "broken.yaml").write_text(
        "records:\n  - id: zone/x\n   kind: Zone\n", encoding="utf-8")
    append(project, "  - id: zone/other\n    kind: Zonee\n    quote: x\n")
    monkeypatch.setattr(yamlfile, "PARALLEL_MIN_FILES", 10_000)
    serial = [str(error) for error in errors_of(project)]
    started = []
    pool = yamlfile.multiprocessing.get_context("spawn").Pool

    def counted_pool(*args, **kwargs):
        started.append(kwargs)
        return pool(*args, **kwargs)

    monkeypatch.setattr(yamlfile, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(yamlfile.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(yamlfile.multiprocessing.context.SpawnContext, "Pool",
                        lambda self, *a, **k: counted_pool(*a, **k))
    assert [str(error) for error in errors_of(project)] == serial
    assert started == [{"processes": 2}]
    assert any("broken.yaml:3" in message for message in serial)
    assert any("not a record kind" in message for message in serial)
