"""The month's report workbook (一月一通报, .xlsx) written to the backup folder by itself.

Once a month has ended, the first housekeeping check writes the previous
month's workbook next to the backups (a USB disk or share the county can
collect), named `月度通报-YYYY-MM.xlsx`. It is written only once: a file that
is already there (or was taken away and put back) is left alone. A missing or
read-only configured folder is not created, as for the backups themselves;
the next check tries again. The file is written to a temporary name, flushed
and renamed, so a crash never leaves half a workbook under the real name.

Why a child process: building the workbook imports openpyxl (and numpy with it)
and runs the month's report queries; in the service process that left ~20 MB
resident until the next restart, from the 1st of every month (and at once on a
fresh data folder). The child is started with the "spawn" method, which works
the same on Windows and Linux, opens its own connection to the database, writes
the file and exits, so the service process never imports openpyxl for it. A
child that fails or dies is logged and tried again at the next check.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from hall.backup.take import default_folder
from hall.config.schema import HallConfig

log = logging.getLogger(__name__)

CHILD_SECONDS = 600.0   # a month of a busy hall builds in seconds; a child hung this long is killed


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
            _run_child(self.config, self.data_dir, self.db_path, month, now, target, self._stopping)
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


def _spawn_context() -> multiprocessing.context.SpawnContext:
    """Spawn on every OS; under pywin32's pythonservice.exe the child must still be python.exe."""
    ctx = multiprocessing.get_context("spawn")
    exe = Path(sys.executable)
    if sys.platform == "win32" and exe.name.lower() not in ("python.exe", "pythonw.exe"):
        ctx.set_executable(str(Path(sys.exec_prefix) / "python.exe"))
    return ctx


def _run_child(config: HallConfig, data_dir: Path, db_path: str, month: str, now: datetime, target: Path,
               stopping: threading.Event) -> None:
    """Build and write the workbook in a child process; raises with the child's reason when it did not."""
    ctx = _spawn_context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=write_workbook_in_child, name="monthly-report",
                        args=(send, config, data_dir, db_path, month, now, target), daemon=True)
    child.start()
    send.close()                     # ours; the child holds its own copy, closed when it exits
    try:
        deadline = time.monotonic() + CHILD_SECONDS
        while not receive.poll(0.5):     # in slices, so a stopping service does not wait for the child
            if stopping.is_set() or time.monotonic() > deadline:
                child.kill()
                raise RuntimeError("服务正在停止，生成进程已结束" if stopping.is_set()
                                   else f"生成进程 {CHILD_SECONDS:.0f} 秒未完成，已结束")
        try:
            error = receive.recv()
        except EOFError:             # the child died before it could answer
            child.join(30)
            raise RuntimeError(f"生成进程意外退出（退出码 {child.exitcode}）") from None
    finally:
        receive.close()
        child.join(30)
    if error:
        raise RuntimeError(error)


def write_workbook_in_child(answer: Connection, config: HallConfig, data_dir: Path, db_path: str, month: str,
                            now: datetime, target: Path) -> None:
    """The child's whole life: its own connection, the records the report reads, the file; "" when written."""
    try:
        from hall.manage.excel import ExcelReports
        from hall.queue.clock import FixedClock
        from hall.queue.engine import QueueEngine
        from hall.records.service import Records
        from hall.store.db import Database

        db = Database(db_path)
        try:
            clock = FixedClock(now, config.hall.timezone)   # the figures as of the parent's check
            engine = QueueEngine(db, config, clock=clock)
            records = Records(config, data_dir, db, engine, clock, lambda _type, _data: None)
            data, _name = ExcelReports(db, config, records).build("monthly", month=month)
        finally:
            db.close()
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(target)
        answer.send("")
    except BaseException as exc:   # the parent logs it in Chinese; the child has no log of its own
        answer.send(f"{type(exc).__name__}: {exc}")
    finally:
        answer.close()
