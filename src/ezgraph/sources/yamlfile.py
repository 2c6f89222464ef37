"""YAML reading that remembers line numbers and refuses duplicate keys.

PyYAML silently keeps the last of two equal keys and forgets where values came from; curated data
needs both, so mappings are built as :class:`LineDict`, which knows each key's line.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from ezgraph.sources.errors import ErrorCollector, InputError


class LineDict(dict):
    """A YAML mapping with the 1-based line of itself and of each key."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int


# libyaml's parser (PyYAML's C extension) is about 10 times faster than the pure-Python one, which
# made reading the records the second slowest build stage; its nodes carry the same start marks,
# so lines stay exact. The pure-Python loader is the fallback where PyYAML was built without it.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader whose mappings and sequences carry lines and whose dates stay strings."""

    def __init__(self, stream: str, path: Path, errors: ErrorCollector):
        super().__init__(stream)
        self._path = path
        self._errors = errors

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self._errors.add(self._path, line, f"keys must be text, got {key!r}")
                continue
            if key in mapping:
                self._errors.add(self._path, line,
                                 f"key '{key}' appears twice in the same mapping "
                                 f"(first on line {mapping.key_lines[key]})")
                continue
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = line
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        sequence = LineList(self.construct_object(child, deep=True) for child in node.value)
        sequence.line = node.start_mark.line + 1
        return sequence


# Dates and times stay text: the data keeps the precision the source gives ("1993-04"), and
# a YAML timestamp would silently turn "2022-11-13" into a Python date.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


def load_yaml(path: Path, errors: ErrorCollector) -> Any:
    """Parse ``path``; on a syntax error record it with its line and return ``None``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        errors.add(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return None
    except OSError as exc:
        errors.add(path, None, f"cannot be read: {exc.strerror}")
        return None
    loader = _Loader(text, path, errors)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        errors.add(path, line, f"malformed YAML{column}: {problem}")
        return None
    except yaml.YAMLError as exc:
        errors.add(path, None, f"malformed YAML: {exc}")
        return None
    finally:
        loader.dispose()


#: Below this many files, starting parser processes costs more than it saves.
PARALLEL_MIN_FILES = 32


def load_yaml_files(paths: Sequence[Path]) -> Iterator[tuple[Path, Any, list[InputError]]]:
    """Each of ``paths`` parsed as :func:`load_yaml` parses it, in order, with its errors.

    Many files are parsed by a pool of processes, one per CPU, while the caller reads the
    documents already parsed: parsing was two thirds of the read stage at 1M triples (8.6 of
    13.6 s), and a parsed document costs a tenth of its parsing to pass between processes.
    """
    cpus = os.cpu_count() or 1
    if len(paths) < PARALLEL_MIN_FILES or cpus < 2:
        for path in paths:
            yield _load_one(path)
        return
    # spawn, not fork: the parent may have threads (a server building on start), and a
    # forked child would inherit their locks in whatever state they were.
    with multiprocessing.get_context("spawn").Pool(processes=cpus) as pool:
        yield from pool.imap(_load_one, paths, chunksize=4)


def _load_one(path: Path) -> tuple[Path, Any, list[InputError]]:
    errors = ErrorCollector()
    return path, load_yaml(path, errors), errors.errors
