"""The month's report workbook (一月一通报, .xlsx) written to the backup folder by itself.

Once a month has ended, the first housekeeping check writes the previous
month's workbook next to the backups (a USB disk or share the county can
collect), named `月度通报-YYYY-MM.xlsx`. It is written only once: a file that
is already there (or was taken away and put back) is left alone. A missing or
read-only configured folder is not created, as for the backups themselves;
the next check tries again. The file is written to a temporary name, flushed
and renamed, so a crash never leaves half a workbook under the real name.

The workbook is built in a child process (hall.manage.excel_child says why), so
the service process never imports openpyxl for it; the service writes the bytes
it sends back. A child that fails or dies is logged and tried again at the next
check.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from hall.backup.take import default_folder
from hall.config.schema import HallConfig
from hall.manage.excel_child import build_in_child

log = logging.getLogger(__name__)


def previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


class MonthlyReportWriter:
    def __init__(self, config: HallConfig, data_dir: Path, db_path: str | Path) -> None:
        self.config = config
        self.data_dir = data_dir
        self.db_path = str(db_path)
        self.folder = default_folder(config, data_dir)
        self.configured_folder = bool(config.backup.folder)
        self.last_written: Path | None = None
        self.last_error = ""
        self._stopping = threading.Event()

    def stop(self) -> None:
        """The service is stopping: a child still building is ended (the month is tried again at the next start)."""
        self._stopping.set()

    def path_for(self, month: str) -> Path:
        return self.folder / f"月度通报-{month}.xlsx"

    def tick(self, now: datetime) -> Path | None:
        """Write last month's workbook if it is not there yet; never raises (the hall keeps serving)."""
        if not self.config.backup.enabled:
            return None
        month = previous_month(now.date())
        target = self.path_for(month)
        try:
            if target.exists():
                return None
            if not self.configured_folder:
                self.folder.mkdir(parents=True, exist_ok=True)
            if not self.folder.is_dir():
                self._failed(f"备份目录 {self.folder} 不存在，{month} 月度通报暂未写出")
                return None
            data, _name = build_in_child(self.config, self.data_dir, self.db_path, "monthly", now, month=month,
                                         stopping=self._stopping)
            _write(data, target)
        except Exception as exc:   # a full disk, a pulled USB stick, a dead child: logged, retried at the next check
            self._failed(f"{month} 月度通报写出失败：{exc}")
            return None
        self.last_written, self.last_error = target, ""
        log.info("monthly report workbook written: %s", target)
        return target

    def _failed(self, why: str) -> None:
        if why != self.last_error:
            log.warning("%s", why)
        self.last_error = why


def _write(data: bytes, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(target)
