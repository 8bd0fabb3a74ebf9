"""Handing freed memory back to the operating system after a one-off large job.

CPython frees objects into its own pools and glibc's heap, and neither shrinks
by itself: after a big table is dropped (pypinyin's characters once a search
index is built) the resident size stays where it was, which on a hall PC reads
as a leak. `malloc_trim` returns the free parts of glibc's heap; elsewhere
(Windows, musl) there is nothing portable to call and this only collects.
"""

from __future__ import annotations

import gc
import os
import platform
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


#: glibc keeps freed small blocks in a cache per thread (tcache: up to 7 blocks of each of 64 sizes, to
#: ~1 KB). The service runs ~64 threads (48 waitress, the devices, the relay…); what their caches hold
#: after a busy day is neither used again by other threads nor given back by `malloc_trim`. On the
#: soak this was the whole of the day's growth: devices apart, idle RSS 89.4 MB with the caches and
#: 79.6 MB without, and the curve went flat (scripts/soak). Small-block speed is CPython's own
#: allocator's job anyway, so the service runs with them off.
TCACHE_OFF = "glibc.malloc.tcache_count=0"


def lean_malloc_command(environ: dict[str, str], *, system: str = sys.platform, libc: str | None = None,
                        argv: list[str] | None = None) -> tuple[list[str], dict[str, str]] | None:
    """The command line and environment to run this process again with glibc's per-thread caches off;
    None when there is nothing to do: not Linux with glibc, or `GLIBC_TUNABLES` already says how
    many blocks a cache keeps (a technician's own choice, and the mark of a process already re-run).

    glibc reads its tunables only when a process starts, so the service's own process has to be
    started again with the setting (`os.execve` keeps the process id, so systemd, the run lock and a
    bench watching the pid see the same process).
    """
    if not system.startswith("linux"):
        return None
    if (libc if libc is not None else platform.libc_ver()[0]) != "glibc":
        return None
    tunables = environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.tcache_count" in tunables:
        return None
    env = dict(environ)
    env["GLIBC_TUNABLES"] = f"{tunables}:{TCACHE_OFF}" if tunables else TCACHE_OFF
    return list(argv if argv is not None else sys.orig_argv), env


def rerun_with_lean_malloc() -> None:
    """Replace this process by itself with glibc's per-thread caches off (see `lean_malloc_command`);
    returns only when there is nothing to do or the exec failed (the service then runs as it is)."""
    command = lean_malloc_command(dict(os.environ))
    if command is None:
        return
    argv, env = command
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, argv, env)
    except OSError as exc:      # e.g. the interpreter was replaced by an update meanwhile: run as it is
        print(f"未能以精简内存设置重启 / could not re-run with lean malloc settings: {exc}", file=sys.stderr)


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
