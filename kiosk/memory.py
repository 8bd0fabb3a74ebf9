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
import threading
import time
from collections.abc import Callable
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


class QuietTrim:
    """Gives freed memory back once, when the hall has been quiet for `quiet` seconds after some work.

    A burst of requests leaves its garbage in glibc's per-thread heaps (waitress has many threads),
    so the resident size after a busy day stayed ~14 MB above a fresh start. A periodic trim would
    wake an idle service for nothing; this one is driven by the requests themselves: the first
    request after a trim starts a thread that sleeps until `quiet` seconds have passed without
    another request, trims once and ends. At rest no thread waits and nothing wakes up; while the
    hall is busy the thread wakes at most once per `quiet` seconds.
    """

    def __init__(self, quiet: float = 30.0, trim: Callable[[], object] = give_back_free_memory) -> None:
        self.quiet = quiet
        self.trim = trim
        self._last = 0.0
        self._armed = False
        self._lock = threading.Lock()

    def touch(self) -> None:
        """Some work was done now (a request came in); cheap enough for every request."""
        self._last = time.monotonic()
        if self._armed:          # a waiting thread re-reads _last before it trims
            return
        with self._lock:
            if self._armed:
                return
            self._armed = True
        threading.Thread(target=self._after_quiet, name="quiet-trim", daemon=True).start()

    def _after_quiet(self) -> None:
        while True:
            with self._lock:    # under the lock: a touch either sees _armed still set or starts a new thread
                remaining = self._last + self.quiet - time.monotonic()
                if remaining <= 0:
                    self._armed = False
                    break
            time.sleep(remaining)
        self.trim()
