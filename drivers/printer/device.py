"""The ticket printer device: prints each issued ticket and knows its paper before a citizen presses.

`PrinterDevice` is a `DeviceWorker` of kind "printer". It listens to the hub's
"ticket.issued" events (the listener only enqueues), and on its own thread:

1. asks the printer's state (`DLE EOT 1` + `DLE EOT 4`, one round trip);
   paper out or offline: the ticket is not sent and is marked failed;
2. sends the ticket's bytes (built from the hall's template);
3. asks the state again: the reply comes after the ticket's bytes on the
   same channel, so the printer has taken them, and paper did not run out
   while printing;
4. records the outcome with `engine.set_print_status(id, "printed"|"failed")`.

A ticket that could not print keeps its number: the kiosk shows it on screen
and offers a reprint (`reprint`). While idle, a probe asks the state every
`probe_interval` seconds, so `/healthz`, `GET /api/printer` and the kiosk
(event "printer.status") know the paper ran out before the next citizen.

A printer that does not answer status requests within `status_timeout` is
taken as gone (a serial printer that is switched off raises no error on
write): the worker goes offline and reconnects with backoff. Printers on a
write-only channel (a device file) set `status = false`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hall.config.schema import Device
from hall.drivers.base import DeviceState, DeviceWorker, outcome_within
from hall.drivers.contracts import EventSource, HallEvent
from hall.drivers.options import bool_option, float_option, int_option
from hall.drivers.pace import Pace
from hall.drivers.printer.status import PAPER_NAMES, REQ_HEALTH, Health, Paper, is_status_byte, parse_health
from hall.drivers.printer.ticket import TicketLayout
from hall.drivers.transport import (
    FileTransport,
    SerialTransport,
    Transport,
    TransportError,
    open_transport,
)
from hall.netaddr import public_link

log = logging.getLogger(__name__)

WHAT = "打印机选项"     # how option errors name the options


# dup-ok: a frozen value dataclass, the shape of drivers/led/layout.py Geometry; other fields
@dataclass(frozen=True)
class PrintOutcome:
    ok: bool
    message: str
    nbytes: int = 0
    ms: float = 0.0


@dataclass
class _Job:
    make: Callable[[], bytes]          # builds the bytes on the worker thread
    fut: Future[PrintOutcome]
    queued: float
    label: str


class PrinterDevice(DeviceWorker):
    kind = "printer"

    def __init__(self, name: str, transport: Transport, *, layout: TicketLayout, engine: Any, hub: EventSource,
                 emulated: bool = False, status_check: bool = True, probe_interval: float = 2.0,
                 rest_probe_interval: float = 10.0, pace: Pace | None = None,
                 status_timeout: float = 1.0, baudrate: int | None = None, prints_tickets: bool = True,
                 stale_seconds: float = 120.0, backoff_max: float = 5.0,
                 takes_terminal: Callable[[str | None], bool] | None = None) -> None:
        # Short backoff: a kiosk must learn within seconds that the printer is back.
        super().__init__(name, transport, emulated=emulated, backoff_max=backoff_max,
                         idle_interval=probe_interval, pace=pace,
                         rest_interval=rest_probe_interval)
        # dup-ok: a constructor keeping its arguments, the shape of drivers/led/device.py, kiosk/relay/client.py
        self.layout = layout
        self.engine = engine
        self.hub = hub
        self.status_check = status_check
        self.status_timeout = status_timeout
        self.baudrate = baudrate
        self.prints_tickets = prints_tickets
        # Which issued tickets are this printer's, by the kiosk they were taken at (HallConfig.ticket_printer_for);
        # None: all of them (a hall with one printer, tests).
        self.takes_terminal = takes_terminal
        self.stale_seconds = stale_seconds
        self.paper = Paper.UNKNOWN
        self.printer_online = True
        self.printed = 0
        self.failed = 0
        self.noise_bytes = 0
        self.last_ticket_bytes = 0
        self.last_print_ms: float | None = None
        self.last_failure = ""
        self.kiosk_reprints: dict[int, int] = {}   # ticket id → self-service reprints (the API limits them)
        self.fresh_seconds = min(0.5, probe_interval)
        self._checked_at = float("-inf")
        self.max_batch = 16
        self._jobs: deque[_Job] = deque()
        self._queue_lock = threading.Lock()
        self._flush_queued = False
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix=f"printer-{name}-status")
        self._published: dict[str, Any] | None = None
        self.on_state_change(lambda _dev: self._publish_readiness())

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self.prints_tickets:
            self.listen(self.hub, self._on_event)
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        # Whatever was still queued did not print: say so, so no ticket stays "pending" forever.
        self._drain_failed()
        self._fail_waiting(TransportError(f"{self.name} 已停止 / stopped"))
        self._recorder.shutdown(wait=True)      # every outcome is in the database before it closes
        self._recorder = ThreadPoolExecutor(1, thread_name_prefix=f"printer-{self.name}-status")  # for a restart

    def _on_event(self, ev: HallEvent) -> None:
        """Hub listener: runs on the publisher's (request) thread, so it only enqueues."""
        if ev.kind == "ticket.issued" and self._listening and self.takes(ev.data):
            self.print_ticket(ev.data)

    def takes(self, payload: Mapping[str, Any]) -> bool:
        """Is this issued ticket this printer's? A kiosk's tickets come out of that kiosk's printer only."""
        if self.takes_terminal is None:
            return True
        return self.takes_terminal((payload.get("ticket") or {}).get("terminal"))

    # ------------------------------------------------------------------ commands
    def print_ticket(self, payload: Mapping[str, Any], *, reprint: bool = False) -> Future[PrintOutcome]:
        """Queue a ticket (an IssueResult dict); its outcome is recorded with the engine."""
        ticket_id = int((payload.get("ticket") or {}).get("id", 0))
        number = str(payload.get("number", ticket_id))
        fut = self.enqueue(lambda: self.layout.ticket(payload, reprint=reprint), number)
        fut.add_done_callback(lambda f: self._settle(ticket_id, number, f))
        return fut

    def reprint(self, ticket_id: int) -> Future[PrintOutcome]:
        """Print a ticket again from the database (people ahead as of now), marked 补打."""
        fut = self.enqueue(lambda: self.layout.ticket(self._payload(ticket_id), reprint=True), str(ticket_id))
        fut.add_done_callback(lambda f: self._settle(ticket_id, str(ticket_id), f))
        return fut

    def print_slip(self, items: Sequence[tuple[str, str]], label: str) -> Future[PrintOutcome]:
        """Queue a text slip ((style, text) lines, see hall.drivers.printer.slip), e.g. a 告知单."""
        from hall.drivers.printer.slip import slip_bytes

        lines = list(items)
        return self.enqueue(lambda: slip_bytes(lines, self.layout.options, self.layout.redact), label)

    def test_async(self) -> Future[dict[str, Any]]:
        """Print the test ticket (the hall's real layout with sample data); {"ok", "message"} when done."""
        result: Future[dict[str, Any]] = Future()

        def done(fut: Future[PrintOutcome]) -> None:
            try:
                outcome = fut.result()
            except Exception as exc:
                result.set_result({"ok": False, "message": f"测试打印失败：{exc}"})
                return
            if outcome.ok:
                result.set_result({"ok": True,
                                   "message": f"测试小票已打印（{outcome.nbytes} 字节，{outcome.ms:.0f} ms）"})
            else:
                result.set_result({"ok": False, "message": f"测试打印失败：{outcome.message}"})

        self.enqueue(lambda: self.layout.test_page(self.engine.clock.now()), "test").add_done_callback(done)
        return result

    def test(self, timeout: float = 10.0) -> dict[str, Any]:
        """The test ticket, waiting for the outcome (CLI diagnostics); never longer than `timeout`."""
        return outcome_within(self.test_async(), timeout, f"测试打印超时（{timeout:.0f} 秒内未完成）")

    def _payload(self, ticket_id: int) -> dict[str, Any]:
        st = self.engine.ticket_status(ticket_id)
        t = st["ticket"]
        cat = self.engine.config.category(t["category"])
        return {
            "ticket": t, "number": t["number"], "category": t["category"],
            "category_name": cat.name if cat else t["category"], "lane": t["lane"],
            "ahead": st["ahead"], "wait_minutes": st["wait_minutes"], "issued_at": t["issued_at"],
            "no_show_rule": self.engine.no_show_rule(),
        }

    def _settle(self, ticket_id: int, number: str, fut: Future[PrintOutcome]) -> None:
        if fut.cancelled():
            outcome = PrintOutcome(False, "已取消")
        else:
            exc = fut.exception()
            outcome = PrintOutcome(False, str(exc) or exc.__class__.__name__) if exc else fut.result()
        if outcome.ok:
            self.printed += 1
        else:
            self.failed += 1
            self.last_failure = outcome.message
            log.warning("ticket %s not printed on %s: %s", number, self.name, outcome.message)
        # The database write (a durable transaction) runs on the recorder thread, so the printer's
        # worker goes straight on to the next ticket.
        status = "printed" if outcome.ok else "failed"
        try:
            self._recorder.submit(self._record, ticket_id, number, status)
        except RuntimeError:          # stopped: record it here
            self._record(ticket_id, number, status)

    def _record(self, ticket_id: int, number: str, status: str) -> None:
        try:
            self.engine.set_print_status(ticket_id, status)
        except Exception:
            log.exception("recording the print status of ticket %s failed", number)
        finally:
            self._done_working()     # the recorder thread's connection goes back too

    # ------------------------------------------------------------------ the print queue
    # Jobs wait in their own queue; one "flush" command at a time runs on the worker and takes every
    # job waiting (up to max_batch). One ticket alone goes out at once; a burst from several kiosks
    # goes out in one write with one status round trip after it, instead of one per ticket.
    def enqueue(self, make: Callable[[], bytes], label: str) -> Future[PrintOutcome]:
        """Queue any print job; `make` builds its bytes on the worker thread. No print status is kept."""
        fut: Future[PrintOutcome] = Future()
        with self._queue_lock:
            self._jobs.append(_Job(make, fut, time.monotonic(), label))
            schedule = not self._flush_queued
            self._flush_queued = True
        if schedule:
            self._schedule_flush()
        return fut

    def _schedule_flush(self) -> None:
        ran = threading.Event()

        def flush(t: Transport) -> None:
            ran.set()
            self._flush(t)

        def done(cmd: Future[None]) -> None:
            if not ran.is_set():
                # The worker never ran it (offline or stopping): every waiting job fails now, so no
                # ticket stays "pending" while the printer is away.
                exc = cmd.exception() if not cmd.cancelled() else None
                self._fail_waiting(exc or TransportError(f"{self.name} 未运行 / not running"))

        self.submit(flush).add_done_callback(done)

    def _fail_waiting(self, exc: BaseException) -> None:
        with self._queue_lock:
            jobs = list(self._jobs)
            self._jobs.clear()
            self._flush_queued = False
        for job in jobs:
            if job.fut.set_running_or_notify_cancel():
                job.fut.set_exception(exc)

    def _flush(self, t: Transport) -> None:
        with self._queue_lock:
            batch = [self._jobs.popleft() for _ in range(min(len(self._jobs), self.max_batch))]
        try:
            self._print_batch(t, batch)
        except BaseException as exc:
            for job in batch:
                if not job.fut.done():
                    job.fut.set_exception(exc)
            raise
        finally:
            with self._queue_lock:
                more = bool(self._jobs)
                self._flush_queued = more
            if more:
                self._schedule_flush()

    # ------------------------------------------------------------------ on the worker thread
    def _print_batch(self, t: Transport, batch: list[_Job]) -> None:
        t0 = time.monotonic()
        ready: list[tuple[_Job, bytes]] = []
        for job in batch:
            if not job.fut.set_running_or_notify_cancel():
                continue
            if t0 - job.queued > self.stale_seconds:
                job.fut.set_result(PrintOutcome(False, f"排队超过 {self.stale_seconds:.0f} 秒未打印，已放弃"))
                continue
            try:
                ready.append((job, job.make()))
            except Exception as exc:      # a template or database problem: this job only
                log.exception("building print job %s failed", job.label)
                job.fut.set_result(PrintOutcome(False, f"小票生成失败：{exc}"))
        if not ready:
            return
        # Ask first, so nothing goes into an empty printer (it would print it later, after the paper
        # change, next to the reprint) — unless a reply under half a second old said all is well.
        fresh = (t0 - self._checked_at < self.fresh_seconds and self.paper == Paper.OK
                 and self.printer_online)
        if self.status_check and not fresh:
            before = self._query(t)
            if not before.can_print:
                for job, _ in ready:
                    job.fut.set_result(PrintOutcome(False, before.message))
                return
        # Near the end of the roll paper may run out any moment: then check after each ticket.
        per_ticket = self.status_check and self.paper == Paper.NEAR_END
        groups = [[item] for item in ready] if per_ticket else [ready]
        for n, group in enumerate(groups):
            data = b"".join(d for _, d in group)
            self._send(t, data)
            if self.status_check:
                after = self._query(t, in_flight=len(data))
                if not after.can_print:
                    for job, _ in [item for g in groups[n:] for item in g]:
                        job.fut.set_result(PrintOutcome(False, f"{after.message}（打印过程中）"))
                    return
            ms = (time.monotonic() - t0) * 1000
            for job, d in group:
                job.fut.set_result(PrintOutcome(True, "已打印", len(d), ms))
            self.last_ticket_bytes, self.last_print_ms = len(group[-1][1]), round(ms, 1)

    def _send(self, t: Transport, data: bytes) -> None:
        # A serial write has a whole-call timeout: send in pieces that each fit well inside it.
        step = 256 if isinstance(t, SerialTransport) else len(data) or 1
        for i in range(0, len(data), step):
            t.write(data[i:i + step])

    def _query(self, t: Transport, in_flight: int = 0) -> Health:
        """One round trip: DLE EOT 1 + DLE EOT 4 → two status bytes (noise in between is skipped)."""
        t0 = time.monotonic()
        t.write(REQ_HEALTH)
        timeout = self.status_timeout
        if self.baudrate:
            # The reply queues behind the ticket on a slow line: allow its wire time, with margin for a
            # printer that holds the line busy while it prints.
            timeout += 1.5 * (in_flight + len(REQ_HEALTH)) * 10 / self.baudrate
        deadline = time.monotonic() + timeout
        reply = b""
        while len(reply) < 2:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for b in t.read(2 - len(reply), remaining):
                if is_status_byte(b):
                    reply += bytes([b])
                else:
                    self.noise_bytes += 1
        if len(reply) < 2:
            raise TransportError(f"打印机无应答（{timeout:.1f} 秒内未回复状态查询）/ no status reply")
        health = parse_health(reply)
        self.rtt_ms = round((time.monotonic() - t0) * 1000, 1)
        self._apply(health)
        return health

    def _apply(self, health: Health) -> None:
        self._checked_at = time.monotonic()
        self.paper = health.paper
        self.printer_online = health.online
        ok = health.online and health.paper == Paper.OK
        self.set_degraded("" if ok else health.message)
        self._publish_readiness()

    def on_connect(self, transport: Transport) -> None:
        if not self.status_check:
            return
        transport.read(256, 0.05)   # drop anything stale from before (a late reply, noise)
        self._query(transport)

    def probe(self, transport: Transport) -> None:
        if self.status_check:
            self._query(transport)

    # ------------------------------------------------------------------ state
    def readiness(self) -> dict[str, Any]:
        """Can a ticket print right now? For the kiosk; no device I/O (the probe keeps it fresh)."""
        state = self.state
        if state == DeviceState.STOPPED:
            return {"ready": False, "state": "stopped", "message": "打印机未启动"}
        if state == DeviceState.CONNECTING:
            return {"ready": False, "state": "connecting", "message": "打印机连接中"}
        if state == DeviceState.OFFLINE:
            return {"ready": False, "state": "offline", "message": "打印机未连接或未开机"}
        if self.paper == Paper.OUT:
            return {"ready": False, "state": "paper_out", "message": "打印机缺纸"}
        if not self.printer_online:
            return {"ready": False, "state": "not_ready", "message": "打印机脱机（纸仓盖可能未合上）"}
        if self.paper == Paper.NEAR_END:
            return {"ready": True, "state": "near_end", "message": "打印纸即将用完"}
        return {"ready": True, "state": "ready", "message": "打印机正常"}

    def _publish_readiness(self) -> None:
        now = self.readiness()
        if now != self._published:
            self._published = now
            self.hub.publish("printer.status", {"name": self.name, **now})

    def status(self) -> dict[str, Any]:
        s = super().status()
        s.update({
            "paper": str(self.paper),
            "paper_name": PAPER_NAMES[self.paper],
            "readiness": self.readiness(),
            "printed": self.printed,
            "failed": self.failed,
            "last_failure": self.last_failure,
            "last_ticket_bytes": self.last_ticket_bytes,
            "last_print_ms": self.last_print_ms,
            "noise_bytes": self.noise_bytes,
            "qr": self.layout.options.qr,
            "profile": self.layout.options.profile,
            "cut": self.layout.options.cut,
            "template": self.layout.source,
        })
        return s


# ------------------------------------------------------------------ builder
def build_printer(spec: Device, ctx: Any) -> PrinterDevice:
    """Factory builder for kind "printer" (see hall.drivers.factory).

    `emulator://` starts the printer emulator on TCP 127.0.0.1 (a free port);
    `emulator://pty` puts it on a pty and drives it as a serial printer (POSIX).
    Driver options besides the ticket's (see hall.drivers.printer.ticket): status (ask DLE EOT,
    default true except for device files), probe_interval (s, 2), rest_probe_interval (s, 10: while the hall
    is at rest, hall.drivers.pace), status_timeout (s, 1),
    reconnect_max (s, 5), tickets (print issued tickets, default true), baudrate (serial).
    """
    opts = dict(spec.options)
    # The QR is opened by a citizen's phone: the hall's public address, never the bind address.
    layout = TicketLayout.from_options(opts, hall_name=ctx.config.hall.name,
                                       default_qr_base=public_link(ctx.config.server, "/r/"), redact=ctx.redact)
    layout.qr_path = ctx.extra.get("rating_url")  # signed /r/<token> links from the records service
    baudrate: int | None = None
    transport: Transport
    emulated = spec.url.startswith("emulator://")
    if emulated:
        from hall.drivers.emulators.channel import driver_transport
        from hall.drivers.emulators.printer import PrinterEmulator

        emu = PrinterEmulator(columns=layout.options.columns)
        transport = driver_transport(emu, spec.url, baudrate=int_option(opts, "baudrate", 9600, what=WHAT))
        ctx.manager.add_emulator(spec.name, emu)
    else:
        transport = open_transport(spec.url, opts)
    if isinstance(transport, SerialTransport):
        baudrate = int_option(opts, "baudrate", 9600, what=WHAT)
    return PrinterDevice(
        spec.name, transport, layout=layout, engine=ctx.engine, hub=ctx.hub, emulated=emulated,
        status_check=bool_option(opts, "status", not isinstance(transport, FileTransport), what=WHAT),
        probe_interval=float_option(opts, "probe_interval", 2.0, what=WHAT),
        rest_probe_interval=float_option(opts, "rest_probe_interval", 10.0, what=WHAT), pace=ctx.manager.pace,
        status_timeout=float_option(opts, "status_timeout", 1.0, what=WHAT),
        baudrate=baudrate,
        prints_tickets=bool_option(opts, "tickets", True, what=WHAT),
        backoff_max=float_option(opts, "reconnect_max", 5.0, what=WHAT),
        takes_terminal=lambda terminal: ctx.config.ticket_printer_for(terminal) == spec.name,
    )
