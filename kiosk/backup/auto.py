"""The daily automatic backup, and its state for /healthz and the technician page.

Hall PCs are often switched off at night, so the backup is not tied to a
wall-clock moment: it runs at the first check after `[backup] daily_at` on a
day that has no automatic backup yet. A configured folder (USB disk, network
share) is never created: an unplugged disk's empty mount point must not
silently fill the system disk; it is a warning, and the service carries on.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hall.backup.archive import BackupError
from hall.backup.rotation import auto_backups, prune
from hall.backup.take import backup_hall, default_folder
from hall.config.schema import HallConfig

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(hours=48)
# A service that just started is busy (devices connecting, screens reloading): back up a little later.
SETTLE_SECONDS = 300.0


class AutoBackup:
    def __init__(self, config: HallConfig, data_dir: Path, *, config_path: Path | None = None,
                 settle_seconds: float = SETTLE_SECONDS) -> None:
        self.config = config
        self.not_before = time.monotonic() + settle_seconds
        self.settings = config.backup
        self.data_dir = Path(data_dir)
        self.config_path = config_path
        self.folder = default_folder(config, data_dir)
        self.configured_folder = bool(self.settings.folder)
        self._lock = threading.Lock()
        self.last_ok_at: datetime | None = None
        self.last_file: str = ""
        self.last_seconds: float | None = None
        self.last_error: str = ""
        self.last_error_at: datetime | None = None
        self.folder_problem: str = ""

    # ------------------------------------------------------------------ checks
    def _check_folder(self) -> str:
        """'' when the folder can take a backup, else why not (in words for a technician)."""
        f = self.folder
        if not self.configured_folder:
            try:
                f.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                return f"备份目录 {f} 无法创建：{exc.strerror or exc}"
        if not f.is_dir():
            return f"备份目录 {f} 不存在（U盘未插入或网络共享未连接？）"
        if not os.access(f, os.W_OK):
            return f"备份目录 {f} 不可写（检查权限或U盘写保护）"
        return ""

    def _newest(self) -> datetime | None:
        try:
            found = auto_backups(self.folder)
        except OSError:
            return None
        return found[0][0] if found else None

    def due(self, now: datetime) -> bool:
        if not self.settings.enabled or now.time() < self.settings.daily_at:
            return False
        last = self.last_ok_at.replace(tzinfo=None) if self.last_ok_at else self._newest()
        return last is None or last.date() < now.date()

    def tick(self, now: datetime) -> Path | None:
        """Back up if due; always refresh the folder check. Never raises: the hall keeps serving."""
        if not self.settings.enabled:
            return None
        with self._lock:
            self.folder_problem = self._check_folder()
            if time.monotonic() < self.not_before:
                return None  # the folder check above still shows an unplugged disk at once
            if self.folder_problem or not self.due(now):
                if self.folder_problem and self.due(now):
                    self._failed(now, self.folder_problem)
                return None
            try:
                result = backup_hall(self.config, self.data_dir, config_path=self.config_path,
                                     dest=self.folder, now=now, auto=True)
            except BackupError as exc:
                self._failed(now, str(exc))
                return None
            except Exception as exc:  # a full disk, a bug: reported, never fatal
                log.exception("automatic backup failed")
                self._failed(now, f"{type(exc).__name__}: {exc}")
                return None
            self.last_ok_at, self.last_file, self.last_seconds = now, str(result.path), result.seconds
            self.last_error = ""
            gone = prune(self.folder, self.settings.keep_daily, self.settings.keep_weekly,
                         self.settings.keep_monthly)
            log.info("automatic backup %s (%.1f MB, %.1f s); %d old backup(s) rotated out", result.path,
                     result.sizes["file"] / 1e6, result.seconds, len(gone))
            return result.path

    def _failed(self, now: datetime, why: str) -> None:
        if why != self.last_error:
            log.warning("automatic backup not taken: %s", why)
        self.last_error, self.last_error_at = why, now

    # ------------------------------------------------------------------ status
    def status(self, now: datetime) -> dict[str, Any]:
        if not self.settings.enabled:
            return {"state": "disabled", "folder": str(self.folder), "warning": ""}
        last = self.last_ok_at.replace(tzinfo=None) if self.last_ok_at else self._newest()
        warning = self.folder_problem or self.last_error
        if not warning and last is not None and now.replace(tzinfo=None) - last > STALE_AFTER:
            warning = f"最近一次自动备份在 {last:%Y-%m-%d %H:%M}，已超过 2 天"
        return {
            "state": "warning" if warning else "ok",
            "folder": str(self.folder),
            "last_backup_at": last.isoformat(timespec="seconds") if last else None,
            "last_file": self.last_file,
            "last_seconds": round(self.last_seconds, 2) if self.last_seconds is not None else None,
            "warning": warning,
        }
