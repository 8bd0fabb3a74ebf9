"""An ESC/POS receipt printer emulator behind a real channel.

It listens on TCP 127.0.0.1 (like a network printer's port 9100) or sits on
a pty (like a serial printer; POSIX only, kept out of the service's core),
records every byte, splits jobs at cut commands, renders each job to
readable text (GB18030 text, QR payloads, cut marks), and answers the
real-time status requests `DLE EOT n` the way a printer does.

Faults can be injected while it runs, from code, from `kiosk emulate printer`
(stdin commands) or from the technician API:

    paper ok | near | out | N      paper state, or "N tickets left" (near end at 3, out during ticket N+1)
    cover open | close             cover open: offline, as real printers go
    silence on | off               stop answering status requests (a hung or powered-off printer)
    unplug | replug                drop every connection and refuse new ones / accept again
    slow CHUNK DELAY_MS | off      read CHUNK bytes at a time with a pause: partial writes on the sender
    baud N | off                   pace reading like a serial line at N baud (10 bits per byte)
    clear                          forget the recorded jobs
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from hall.drivers.emulators.channel import StreamEmulator, notify
from hall.drivers.emulators.faults import FaultCommands, baud, cable, switch, unknown_word
from hall.drivers.printer.render import EscposReader, Job
from hall.drivers.printer.status import (
    Paper,
    offline_cause_byte,
    paper_status_byte,
    printer_status_byte,
)

log = logging.getLogger(__name__)

FAULT_HELP = (
    "paper ok|near|out|N · cover open|close · silence on|off · unplug · replug · "
    "slow CHUNK DELAY_MS|off · baud N|off · clear · status"
)


class PrinterEmulator(StreamEmulator):
    kind = "printer"
    thread_name = "printer-emu"     # unplug needs TCP: a bare pty has no node to take away

    def __init__(self, columns: int = 42, *, chinese_default: bool = True, keep_jobs: int = 200,
                 on_job: Callable[[Job], None] | None = None) -> None:
        super().__init__()
        self.columns = columns
        self.chinese_default = chinese_default
        self.on_job = on_job
        self.jobs: deque[Job] = deque(maxlen=keep_jobs)
        self.paper = Paper.OK
        self.paper_left: int | None = None
        self.cover_open = False
        self.silent = False
        self.read_chunk = 4096
        self.read_delay = 0.0
        self.baud: int | None = None
        self.received = 0
        self.status_requests = 0
        self._jobs_changed = threading.Condition(self._lock)

    # ------------------------------------------------------------------ channels
    def _session(self, chunks: Iterator[bytes], send: Callable[[bytes], None]) -> None:
        reader = self._new_reader()
        line = 0.0
        try:
            for data in chunks:
                for piece in self._pieces(data):
                    if self.unplugged or self._stop.is_set():
                        break                  # pulled out: what was still in the read buffer is lost
                    line = self._line_time(len(piece), line)
                    replies = self._receive(reader, piece)
                    if replies:
                        with contextlib.suppress(OSError):
                            send(replies)
                    self._pace()
        finally:
            self._finish(reader)

    def _pieces(self, data: bytes) -> list[bytes]:
        """Take what arrived a few bytes at a time when told to be slow (also what a read already held)."""
        step = self.read_size()
        if len(data) <= step:
            return [data]
        return [data[i:i + step] for i in range(0, len(data), step)]

    def read_size(self) -> int:
        # At a set baud rate, take ~20 ms of line time at once, so arrival times are realistic.
        return min(self.read_chunk, max(1, self.baud // 500)) if self.baud else self.read_chunk

    def _line_time(self, n: int, line: float) -> float:
        """At a set baud rate, let n bytes 'arrive' only after their time on the wire (10 bits a byte).

        `line` is when the wire was last free; sleeping to an absolute time keeps sleep overshoot
        from adding up over a ticket.
        """
        if not self.baud:
            return 0.0
        now = time.monotonic()
        line = max(line, now) + n * 10 / self.baud
        if line > now:
            time.sleep(line - now)
        return line

    def _pace(self) -> None:
        if self.read_delay > 0:
            time.sleep(self.read_delay)

    # ------------------------------------------------------------------ protocol
    def _new_reader(self) -> EscposReader:
        return EscposReader(self.columns, chinese_default=self.chinese_default)

    def _receive(self, reader: EscposReader, data: bytes) -> bytes:
        with self._lock:
            self.received += len(data)
            before = len(reader.jobs)
            requests = reader.feed(data)
            if reader.current.has_content():
                if self.paper_left == 0:
                    self.paper = Paper.OUT          # the roll ends during this ticket
                if self.paper == Paper.OUT:
                    reader.current.paper_out = True     # it came in while there was no paper
            new_jobs = reader.jobs[before:]
            for job in new_jobs:
                self._record(job)
            # the emulator keeps its own bounded history (self.jobs); the connection's reader must not
            # keep every job it ever parsed: on the driver's long-lived connection that grew all day
            del reader.jobs[:]
            self.status_requests += len(requests)
            if self.silent:
                return b""
            return bytes(self._answer(n) for n in requests)

    def _record(self, job: Job) -> None:
        if self.paper_left == 0 and job.has_content():
            self.paper = Paper.OUT
        if self.paper == Paper.OUT:
            job.paper_out = True
        elif self.paper_left is not None and job.cut:
            # N tickets left: each cut one uses a piece; the near-end sensor trips at 3, and the
            # roll runs out during the ticket after the last piece.
            self.paper_left = max(0, self.paper_left - 1)
            self.paper = Paper.NEAR_END if self.paper_left <= 3 else Paper.OK
        self.jobs.append(job)
        self._jobs_changed.notify_all()
        notify(self.on_job, job, "printer emulator on_job")

    def _finish(self, reader: EscposReader) -> None:
        with self._lock:
            job = reader.flush()
            if job is not None:
                self._record(job)

    def _answer(self, n: int) -> int:
        offline = self.paper == Paper.OUT or self.cover_open
        if n == 1:
            return printer_status_byte(online=not offline)
        if n == 2:
            return offline_cause_byte(cover_open=self.cover_open, paper_end_stop=self.paper == Paper.OUT)
        if n == 4:
            return paper_status_byte(self.paper)
        return 0x12   # DLE EOT 3: no error

    # ------------------------------------------------------------------ faults
    def set_paper(self, paper: Paper | str, left: int | None = None) -> None:
        with self._lock:
            self.paper = Paper(paper)
            self.paper_left = left

    def fault(self, command: str) -> str:
        """Apply a text fault command (see the module doc); returns what happened, in Chinese."""
        commands = FaultCommands({
            "paper": self._fault_paper, "cover": self._fault_cover,
            "silence": self._fault_silence, "silent": self._fault_silence,
            **cable(self, "已断开（拒绝连接）", "已重新连接"), "slow": self._fault_slow, **baud(self),
            "clear": self._fault_clear, "status": lambda _args: str(self.status()),
        }, FAULT_HELP, lower=True, otherwise=unknown_word(FAULT_HELP), bad_args=f"参数有误；可用：{FAULT_HELP}")
        return commands(command)

    def _fault_paper(self, args: list[str]) -> str:
        arg = args[0] if args else ""
        if arg.isdigit():
            n = int(arg)
            self.set_paper(Paper.OUT if n == 0 else Paper.NEAR_END if n <= 3 else Paper.OK, left=n)
            return f"纸卷剩余 {n} 张"
        names = {"ok": Paper.OK, "near": Paper.NEAR_END, "near_end": Paper.NEAR_END, "out": Paper.OUT}
        paper = names.get(arg)
        if paper is None:
            return "用法：paper ok|near|out|N"
        self.set_paper(paper)
        return {Paper.OK: "纸张正常", Paper.NEAR_END: "纸将尽", Paper.OUT: "缺纸"}[paper]

    def _fault_cover(self, args: list[str]) -> str:
        self.cover_open = bool(args) and args[0] == "open"
        return "纸仓盖已打开（脱机）" if self.cover_open else "纸仓盖已合上"

    def _fault_silence(self, args: list[str]) -> str:
        self.silent = switch(args)
        return "不再应答状态查询" if self.silent else "恢复应答"

    def _fault_slow(self, args: list[str]) -> str:
        arg = args[0] if args else ""
        if arg in ("off", ""):
            self.read_chunk, self.read_delay = 4096, 0.0
            return "恢复正常接收"
        try:
            self.read_chunk = max(1, int(arg))
            self.read_delay = float(args[1]) / 1000 if len(args) > 1 else 0.01
        except ValueError:
            return "用法：slow CHUNK DELAY_MS | slow off"
        return f"每次只收 {self.read_chunk} 字节，间隔 {self.read_delay * 1000:.0f} ms"

    def _fault_clear(self, _args: list[str]) -> str:
        with self._lock:
            self.jobs.clear()
        return "已清空记录"

    # ------------------------------------------------------------------ observation
    def last_jobs(self, n: int = 10) -> list[dict[str, Any]]:
        """The last n jobs, newest first, as rendered text (for the technician page)."""
        with self._lock:
            return [j.as_dict() for j in list(self.jobs)[-n:][::-1]]

    def view(self) -> dict[str, Any]:
        """What the technician page shows: the paper state and the last tickets as they came out."""
        return {"status": self.status(), "jobs": self.last_jobs(5)}

    def wait_for_jobs(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least `count` jobs were recorded (tests, demo, bench)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.jobs) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._jobs_changed.wait(remaining)
        return True

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "kind": self.kind,
                "url": self.url,
                "paper": str(self.paper),
                "paper_left": self.paper_left,
                "cover_open": self.cover_open,
                "silent": self.silent,
                "unplugged": self.unplugged,
                "read_chunk": self.read_chunk,
                "read_delay_ms": round(self.read_delay * 1000, 1),
                "baud": self.baud,
                "received_bytes": self.received,
                "status_requests": self.status_requests,
                "connections": self.connections,
                "jobs": len(self.jobs),
            }
