"""Source texts and finding quotes in them.

A quote must appear verbatim; the one tolerance is white space, because a quoted sentence may be
wrapped differently in YAML than on the page. Offsets are given in the original text.
"""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")


class SourceText:
    def __init__(self, text: str):
        self.text = text
        folded: list[str] = []
        #: For each character of the folded text, its offset in the original text.
        self._offsets: list[int] = []
        in_space = False
        for offset, char in enumerate(text):
            if char.isspace():
                if not in_space:
                    folded.append(" ")
                    self._offsets.append(offset)
                in_space = True
            else:
                folded.append(char)
                self._offsets.append(offset)
                in_space = False
        self._folded = "".join(folded)

    def find(self, quote: str) -> tuple[int, int] | None:
        """Character offsets ``(start, end)`` of ``quote`` in the original text, or ``None``."""
        needle = _SPACE.sub(" ", quote.strip())
        at = self._folded.find(needle) if needle else -1
        if at < 0:
            return None
        return self._offsets[at], self._offsets[at + len(needle) - 1] + 1

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
        line = self.line_of(self._offsets[at])
        text_has = self._folded[at + low: at + low + 25]
        return (f"the first {low} characters match (text line {line}), then the quote has "
                f"{needle[low: low + 25]!r} where the text has {text_has!r}")
