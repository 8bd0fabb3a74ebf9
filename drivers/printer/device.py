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
import time
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from hall.config.schema import Device
from hall.drivers.base import DeviceState, DeviceWorker
from hall.drivers.printer.status import PAPER_NAMES, REQ_HEALTH, Health, Paper, is_status_byte, parse_health
from hall.drivers.printer.ticket import TicketLayout
from hall.drivers.transport import (
    FileTransport,
    SerialTransport,
    TcpTransport,
    Transport,
    TransportError,
    open_transport,
)
from hall.events import Event, EventHub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrintOutcome:
    ok: bool
    message: str
    nbytes: int = 0
    ms: float = 0.0


class PrinterDevice(DeviceWorker):
    kind = "printer"

    def __init__(self, name: str, transport: Transport, *, layout: TicketLayout, engine: Any, hub: EventHub,
                 emulated: bool = False, status_check: bool = True, probe_interval: float = 2.0,
                 status_timeout: float = 1.0, baudrate: int | None = None, prints_tickets: bool = True,
                 stale_seconds: float = 120.0, backoff_max: float = 5.0) -> None:
        # Short backoff: a kiosk must learn within seconds that the printer is back.
        super().__init__(name, transport, emulated=emulated, backoff_max=backoff_max,
                         idle_interval=probe_interval)
        self.layout = layout
        self.engine = engine
        self.hub = hub
        self.status_check = status_check
        self.status_timeout = status_timeout
        self.baudrate = baudrate
        self.prints_tickets = prints_tickets
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
        self._listening = False
        self._published: dict[str, Any] | None = None
        self.on_state_change(lambda _dev: self._publish_readiness())

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self.prints_tickets and not self._listening:
            self.hub.add_listener(self._on_event)
        self._listening = self.prints_tickets
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        self._listening = False
        super().stop(timeout)
        # Whatever was still queued did not print: say so, so no ticket stays "pending" forever.
        self._drain_failed()

    def _on_event(self, ev: Event) -> None:
        """Hub listener: runs on the publisher's (request) thread, so it only enqueues."""
        if ev.kind == "ticket.issued" and self._listening:
            self.print_ticket(ev.data)

    # ------------------------------------------------------------------ commands
    def print_ticket(self, payload: Mapping[str, Any], *, reprint: bool = False) -> Future[PrintOutcome]:
        """Queue a ticket (an IssueResult dict); its outcome is recorded with the engine."""
        ticket_id = int((payload.get("ticket") or {}).get("id", 0))
        number = str(payload.get("number", ticket_id))
        queued = time.monotonic()

        def command(t: Transport) -> PrintOutcome:
            if time.monotonic() - queued > self.stale_seconds:
                return PrintOutcome(False, f"排队超过 {self.stale_seconds:.0f} 秒未打印，已放弃")
            return self._print(t, self.layout.ticket(payload, reprint=reprint))

        fut = self.submit(command)
        fut.add_done_callback(lambda f: self._settle(ticket_id, number, f))
        return fut

    def reprint(self, ticket_id: int) -> Future[PrintOutcome]:
        """Print a ticket again from the database (people ahead as of now), marked 补打."""

        def command(t: Transport) -> PrintOutcome:
            return self._print(t, self.layout.ticket(self._payload(ticket_id), reprint=True))

        fut = self.submit(command)
        fut.add_done_callback(lambda f: self._settle(ticket_id, str(ticket_id), f))
        return fut

    def test(self, timeout: float = 10.0) -> dict[str, Any]:
        """Print the test ticket (the hall's real layout with sample data); for diagnostics."""
        fut = self.submit(lambda t: self._print(t, self.layout.test_page(self.engine.clock.now())))
        try:
            outcome = fut.result(timeout)
        except FutureTimeout:
            fut.cancel()
            return {"ok": False, "message": f"测试打印超时（{timeout:.0f} 秒内未完成）"}
        except Exception as exc:
            return {"ok": False, "message": f"测试打印失败：{exc}"}
        if outcome.ok:
            return {"ok": True, "message": f"测试小票已打印（{outcome.nbytes} 字节，{outcome.ms:.0f} ms）"}
        return {"ok": False, "message": f"测试打印失败：{outcome.message}"}

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
        try:
            self.engine.set_print_status(ticket_id, "printed" if outcome.ok else "failed")
        except Exception:
            log.exception("recording the print status of ticket %s failed", number)

    # ------------------------------------------------------------------ on the worker thread
    def _print(self, t: Transport, data: bytes) -> PrintOutcome:
        t0 = time.monotonic()
        if self.status_check:
            before = self._query(t)
            if not before.can_print:
                return PrintOutcome(False, before.message)
        self._send(t, data)
        if self.status_check:
            after = self._query(t, in_flight=len(data))
            if not after.can_print:
                return PrintOutcome(False, f"{after.message}（打印过程中）")
        ms = (time.monotonic() - t0) * 1000
        self.last_ticket_bytes, self.last_print_ms = len(data), round(ms, 1)
        return PrintOutcome(True, "已打印", len(data), ms)

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
            timeout += (in_flight + len(REQ_HEALTH)) * 10 / self.baudrate
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
def _flag(options: Mapping[str, Any], key: str, default: bool) -> bool:
    v = options.get(key, default)
    if isinstance(v, bool):
        return v
    if str(v).lower() in ("true", "yes", "1"):
        return True
    if str(v).lower() in ("false", "no", "0"):
        return False
    raise ValueError(f"打印机选项 {key} 应为 true 或 false，而不是 {v!r}")


def build_printer(spec: Device, ctx: Any) -> PrinterDevice:
    """Factory builder for kind "printer" (see hall.drivers.factory).

    `emulator://` starts the printer emulator on TCP 127.0.0.1 (a free port);
    `emulator://pty` puts it on a pty and drives it as a serial printer (POSIX).
    Driver options besides the ticket's (see hall.drivers.printer.ticket): status (ask DLE EOT,
    default true except for device files), probe_interval (s, 2), status_timeout (s, 1),
    reconnect_max (s, 5), tickets (print issued tickets, default true), baudrate (serial).
    """
    opts = dict(spec.options)
    server = ctx.config.server
    layout = TicketLayout.from_options(opts, hall_name=ctx.config.hall.name,
                                       default_qr_base=f"http://{server.host}:{server.port}/r/")
    baudrate: int | None = None
    transport: Transport
    emulated = spec.url.startswith("emulator://")
    if emulated:
        from hall.drivers.emulators.printer import PrinterEmulator

        emu = PrinterEmulator(columns=layout.options.columns)
        if spec.url.rstrip("/") == "emulator://pty":
            try:
                path = emu.start_pty()
            except RuntimeError as exc:
                raise ValueError(str(exc)) from exc
            baudrate = int(opts.get("baudrate", 9600))
            transport = SerialTransport(path, baudrate=baudrate)
        else:
            port = emu.start_tcp("127.0.0.1", 0)
            transport = TcpTransport("127.0.0.1", port, connect_timeout=1.0, io_timeout=3.0)
        ctx.manager.add_emulator(spec.name, emu)
    else:
        transport = open_transport(spec.url, opts)
        if isinstance(transport, SerialTransport):
            baudrate = int(opts.get("baudrate", 9600))
    return PrinterDevice(
        spec.name, transport, layout=layout, engine=ctx.engine, hub=ctx.hub, emulated=emulated,
        status_check=_flag(opts, "status", not isinstance(transport, FileTransport)),
        probe_interval=float(opts.get("probe_interval", 2.0)),
        status_timeout=float(opts.get("status_timeout", 1.0)),
        baudrate=baudrate,
        prints_tickets=_flag(opts, "tickets", True),
        backoff_max=float(opts.get("reconnect_max", 5.0)),
    )
