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
