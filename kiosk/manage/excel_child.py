"""Excel workbooks (.xlsx) built in a short-lived child process, never in the service's own.

Why a child: building a workbook imports openpyxl (and numpy with it) and runs
a month of report queries; in the service process that left ~20 MB resident
until the next restart, after a single manager download or the month's
workbook in the backup folder. The child is started with the "spawn" method,
which works the same on Windows and Linux, opens its own connection to the
database, builds the workbook, sends its bytes back through a pipe and exits,
so the service never imports openpyxl. A child costs about a second to start:
nothing for a report asked for a few times a month.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from datetime import date, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from hall.config.schema import HallConfig

CHILD_SECONDS = 600.0   # a month of a busy hall builds in seconds; a child hung this long is killed


def spawn_context() -> multiprocessing.context.SpawnContext:
    """Spawn on every OS; under pywin32's pythonservice.exe the child must still be python.exe."""
    ctx = multiprocessing.get_context("spawn")
    exe = Path(sys.executable)
    if sys.platform == "win32" and exe.name.lower() not in ("python.exe", "pythonw.exe"):
        ctx.set_executable(str(Path(sys.exec_prefix) / "python.exe"))
    return ctx


def build_in_child(config: HallConfig, data_dir: Path, db_path: str | Path, kind: str, now: datetime, *,
                   day: date | None = None, month: str | None = None,
                   stopping: threading.Event | None = None) -> tuple[bytes, str]:
    """(xlsx bytes, file name) as ExcelReports.build gives them, built by a child process as of `now`.

    Raises RuntimeError with the child's reason (Chinese when it is ours) when no workbook came back;
    `stopping` set ends the child at once (the service is shutting down)."""
    ctx = spawn_context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=build_workbook_in_child, name=f"xlsx-{kind}",
                        args=(send, config, data_dir, str(db_path), kind, day, month, now), daemon=True)
    child.start()
    send.close()                     # ours; the child holds its own copy, closed when it exits
    try:
        deadline = time.monotonic() + CHILD_SECONDS
        while not receive.poll(0.5):     # in slices, so a stopping service does not wait for the child
            halted = stopping is not None and stopping.is_set()
            if halted or time.monotonic() > deadline:
                child.kill()
                raise RuntimeError("服务正在停止，生成进程已结束" if halted
                                   else f"生成进程 {CHILD_SECONDS:.0f} 秒未完成，已结束")
        try:
            error, data, name = receive.recv()
        except EOFError:             # the child died before it could answer
            child.join(30)
            raise RuntimeError(f"生成进程意外退出（退出码 {child.exitcode}）") from None
    finally:
        receive.close()
        child.join(30)
    if error:
        raise RuntimeError(error)
    return data, name


def build_workbook_in_child(answer: Connection, config: HallConfig, data_dir: Path, db_path: str, kind: str,
                            day: date | None, month: str | None, now: datetime) -> None:
    """The child's whole life: its own connection, the records the report reads, the workbook's bytes."""
    try:
        from hall.manage.excel import ExcelReports
        from hall.queue.clock import FixedClock
        from hall.queue.engine import QueueEngine
        from hall.records.service import Records
        from hall.store.db import Database

        db = Database(db_path)
        try:
            clock = FixedClock(now, config.hall.timezone)   # the figures as of the parent's request
            engine = QueueEngine(db, config, clock=clock)
            records = Records(config, data_dir, db, engine, clock, lambda _type, _data: None)
            data, name = ExcelReports(db, config, records).build(kind, day=day, month=month)
        finally:
            db.close()
        answer.send(("", data, name))
    except BaseException as exc:   # the parent reports it; the child has no log of its own
        answer.send((f"{type(exc).__name__}: {exc}", b"", ""))
    finally:
        answer.close()
