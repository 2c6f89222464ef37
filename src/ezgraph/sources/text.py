"""Source texts and finding quotes in them.

A quote must appear verbatim; the one tolerance is white space, because a quoted sentence may be
wrapped differently in YAML than on the page. Offsets are given in the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_right

_SPACE = re.compile(r"\s+")
#: The runs that folding shortens (one white space character stays one space).
_LONG_SPACE = re.compile(r"\s{2,}")


class SourceText:
    def __init__(self, text: str):
        self.text = text
        self._folded = _SPACE.sub(" ", text)
        # Offsets are mapped back by the runs of white space folding shortened: past the k-th
        # such run (from folded offset _folded_after[k] on), a folded offset is _shift[k]
        # characters short of the original one. (One offset per character, built in a Python
        # loop, took 0.6 s for the 623 texts at 1M triples.)
        self._folded_after: list[int] = []
        self._shift: list[int] = []
        shift = 0
        for run in _LONG_SPACE.finditer(text):
            self._folded_after.append(run.start() - shift + 1)
            shift += run.end() - run.start() - 1
            self._shift.append(shift)

    def _original(self, folded_offset: int) -> int:
        run = bisect_right(self._folded_after, folded_offset) - 1
        return folded_offset + (self._shift[run] if run >= 0 else 0)

    def find(self, quote: str) -> tuple[int, int] | None:
        """Character offsets ``(start, end)`` of ``quote`` in the original text, or ``None``."""
        needle = _SPACE.sub(" ", quote.strip())
        at = self._folded.find(needle) if needle else -1
        if at < 0:
            return None
        return self._original(at), self._original(at + len(needle) - 1) + 1

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def mismatch_hint(self, quote: str) -> str:
        """Say how far the quote matches and where it departs from the text."""
        needle = _SPACE.sub(" ", quote.strip())
        low, high = 0, len(needle)
        while low < high:  # longest prefix of the quote that occurs in the text
            middle = (low + high + 1) // 2
            if needle[:middle] in self._folded:
                low = middle
            else:
                high = middle - 1
        if low < 8:
            return f"its beginning {needle[:40]!r} does not occur in the text"
        at = self._folded.find(needle[:low])
        line = self.line_of(self._original(at))
        text_has = self._folded[at + low: at + low + 25]
        return (f"the first {low} characters match (text line {line}), then the quote has "
                f"{needle[low: low + 25]!r} where the text has {text_has!r}")
