"""The running service's lock in its data folder, so `kiosk restore` can tell the service is up.

A lock held by the operating system (not a pid file alone) is released when
the process dies however it dies, so a crashed service never blocks a
restore. `fcntl.flock` on Linux, `msvcrt.locking` on Windows; the file also
holds the holder's pid and start time for the message a technician reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from hall.paths import match_owner

LOCK_NAME = "hall.lock"
_WIN_LOCK_AT = 1 << 30  # msvcrt locks byte ranges: lock one far past the holder's details


class AlreadyRunning(Exception):
    """Another process holds the data folder."""

    def __init__(self, path: Path, holder: dict[str, Any]) -> None:
        self.path = path
        self.holder = holder
        pid = holder.get("pid", "?")
        what = holder.get("what", "服务")
        super().__init__(f"数据目录 {path.parent} 正被运行中的{what}使用（进程 {pid}）：请先停止服务 / "
                         f"the data folder is in use by a running process (pid {pid}); stop the service first")


def _try_lock(f: IO[bytes]) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            f.seek(_WIN_LOCK_AT)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(f: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            f.seek(_WIN_LOCK_AT)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class RunLock:
    """Held for the life of `kiosk serve` (and of a restore, so the service cannot start mid-way)."""

    def __init__(self, data_dir: Path, what: str = "大厅服务") -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.what = what
        self._f: IO[bytes] | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+b")  # noqa: SIM115 - held open for the process's life
        match_owner(self.path, self.path.parent)  # made by a sudo restore: still the service's to open
        if not _try_lock(f):
            f.close()
            raise AlreadyRunning(self.path, holder(self.path.parent))
        # The holder's details, readable by others (the lock itself is elsewhere in the file).
        info = json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S"), "what": self.what})
        f.seek(0)
        f.truncate()
        f.write(info.encode("utf-8") + b"\n")
        f.flush()
        self._f = f
        return self

    def release(self) -> None:
        if self._f is not None:
            _unlock(self._f)
            self._f.close()
            self._f = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder(data_dir: Path) -> dict[str, Any]:
    """Who holds the lock, as written in the file (empty when unknown)."""
    try:
        with open(Path(data_dir) / LOCK_NAME, "rb") as f:
            raw = f.read(4096)
        data: dict[str, Any] = json.loads(raw.decode("utf-8") or "{}")
        return data
    except (OSError, ValueError):
        return {}


def is_running(data_dir: Path) -> bool:
    """True when some process holds the data folder's lock (probing takes and drops it)."""
    path = Path(data_dir) / LOCK_NAME
    if not path.exists():
        return False
    with open(path, "rb+") as f:
        if _try_lock(f):
            _unlock(f)
            return False
        return True
