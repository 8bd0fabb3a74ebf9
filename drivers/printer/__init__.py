"""ESC/POS ticket printers.

`load_escpos()` comes before every python-escpos import. When `escpos.capabilities` is first
imported it makes a `tempfile.mkdtemp()` folder (even with `ESCPOS_CAPABILITIES_PICKLE_DIR` set:
the default is computed anyway) and caches its printer-model table there as a pickle, and never
removes it: a hall PC's temp folder would gain one folder for every service start and every CLI
command, for years. The import therefore runs with the temp folder pointed at one of this process's
own, removed at exit. It is per process on purpose: escpos writes the pickle in place, so a folder
shared by two processes starting at once could hand one of them half a file.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading

_lock = threading.Lock()


def load_escpos() -> None:
    """Import python-escpos's capabilities once, with its temp folders inside one this process removes."""
    if "escpos.capabilities" in sys.modules:
        return
    with _lock:
        if "escpos.capabilities" in sys.modules:
            return
        folder = tempfile.mkdtemp(prefix="hall-escpos-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", folder)
        saved = tempfile.tempdir
        tempfile.tempdir = folder            # escpos's own mkdtemp() lands inside ours
        try:
            import escpos.capabilities  # noqa: F401
        finally:
            tempfile.tempdir = saved
