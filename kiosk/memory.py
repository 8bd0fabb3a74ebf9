"""Handing freed memory back to the operating system after a one-off large job.

CPython frees objects into its own pools and glibc's heap, and neither shrinks
by itself: after a big table is dropped (pypinyin's characters once a search
index is built) the resident size stays where it was, which on a hall PC reads
as a leak. `malloc_trim` returns the free parts of glibc's heap; elsewhere
(Windows, musl) there is nothing portable to call and this only collects.
"""

from __future__ import annotations

import gc
import sys
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:      # not glibc
        return None


def give_back_free_memory() -> bool:
    """Collect cycles (a dropped module is one), then trim glibc's heap; whether a trim ran."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
