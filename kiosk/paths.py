"""Where the service keeps its data, on Windows and Linux alike."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def data_dir(configured: str = "") -> Path:
    """Config value first, then $KIOSK_DATA_DIR, then the platform's per-user data folder."""
    chosen = configured or os.environ.get("KIOSK_DATA_DIR", "")
    path = Path(chosen) if chosen else Path(user_data_dir("hall-kiosk", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def match_owner(path: Path, like: Path) -> None:
    """Give `path` the owner of `like` when we run as root (POSIX).

    The service runs as its own user; a technician runs `kiosk backup` or
    `kiosk restore` with sudo. A root-owned database, or even a root-owned
    `-shm` beside it, would stop the service from writing.
    """
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        st = like.stat()
        if path.stat().st_uid != st.st_uid or path.stat().st_gid != st.st_gid:
            os.chown(path, st.st_uid, st.st_gid)
    except OSError:
        pass
