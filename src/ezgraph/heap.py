"""Give freed memory back to the operating system between the stages of a long build.

A 1M-triple build frees hundreds of MB at the end of a stage (the validation's rdflib graphs,
the canonical sort's temporaries), but glibc keeps freed small blocks in its heap, so the
process stays as large as its largest stage and the next stage grows from there. Measured at
1M triples: 1,654 MB after validation, 1,034 MB once ``malloc_trim`` returned the free pages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_free_memory() -> None:
    """Collect garbage cycles, then hand the heap's free pages back (glibc only; else a no-op)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
