"""Which automatic backups to keep: grandfather-father-son (7 daily, 4 weekly, 12 monthly by default).

Pure selection on the file names' timestamps, so it is tested on lists of
names; only files the service wrote itself (`…-auto.zip`) are ever pruned,
never a backup a technician took by hand into the same folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from hall.backup.archive import FILE_RE


def stamp_of(path: Path) -> datetime | None:
    m = FILE_RE.match(path.name)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
    except ValueError:
        return None


def auto_backups(folder: Path) -> list[tuple[datetime, Path]]:
    """The service's own backups in `folder`, newest first."""
    found = []
    for p in folder.glob("hall-backup-*-auto.zip"):
        when = stamp_of(p)
        if when is not None:
            found.append((when, p))
    found.sort(reverse=True)
    return found


def keep(backups: Iterable[tuple[datetime, Path]], daily: int, weekly: int, monthly: int) -> set[Path]:
    """The newest backup of each of the last `daily` days, `weekly` ISO weeks and `monthly` months."""
    ordered = sorted(backups, key=lambda b: b[0], reverse=True)
    kept: set[Path] = set()
    for limit, period in ((daily, lambda d: d.date()), (weekly, lambda d: d.isocalendar()[:2]),
                          (monthly, lambda d: (d.year, d.month))):
        seen: set[object] = set()
        for when, path in ordered:
            key = period(when)
            if key in seen:
                continue
            if len(seen) >= limit:
                break
            seen.add(key)
            kept.add(path)
    if ordered:
        kept.add(ordered[0][1])  # never the newest, whatever the settings
    return kept


def prune(folder: Path, daily: int, weekly: int, monthly: int) -> list[Path]:
    """Delete the service's backups the rotation no longer keeps; returns what went."""
    backups = auto_backups(folder)
    kept = keep(backups, daily, weekly, monthly)
    gone = []
    for _, path in backups:
        if path not in kept:
            try:
                path.unlink()
                gone.append(path)
            except OSError:
                pass  # a read-only share: the next run tries again
    return gone
