"""Errors in curated input, each naming where it is and what was expected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class InputError:
    file: Path
    line: int | None
    message: str
    record: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        what = []
        if self.record:
            what.append(f"record {self.record}")
        if self.field:
            what.append(f"field '{self.field}'")
        context = f" ({', '.join(what)})" if what else ""
        return f"{where}{context}: {self.message}"


class InputErrors(Exception):
    """Every problem found in one read of the input, reported together."""

    def __init__(self, errors: list[InputError]):
        self.errors = sorted(errors, key=lambda e: (str(e.file), e.line or 0, e.message))
        super().__init__(self.summary())

    def summary(self) -> str:
        count = len(self.errors)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the input:"]
        lines += [f"  {error}" for error in self.errors]
        return "\n".join(lines)


class ErrorCollector:
    """Collects errors so that one run reports all of them, not just the first."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []

    def add(self, file: Path, line: int | None, message: str, *, record: str | None = None,
            field: str | None = None) -> None:
        self.errors.append(InputError(file, line, message, record, field))

    def raise_if_any(self) -> None:
        if self.errors:
            raise InputErrors(self.errors)
