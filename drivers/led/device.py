"""The LED device: the hall's main board or one window's screen, driven from queue events.

One worker thread per screen (see `hall.drivers.base.DeviceWorker`). Hub
events are only queued on the publisher's thread; the worker folds them into
the screen's model (`hall.drivers.led.layout`), works out each row's text,
and sends only the rows whose bytes differ from what the screen last
acknowledged, in as few frames as the protocol allows. Each frame waits for
the screen's ACK (short timeout); a NACK is retried a few times, then the
screen is marked degraded and the rows stay pending until the next event or
probe. After every (re)connect the screen is pinged and all rows are sent
again, because a controller that lost power also lost its RAM areas.

Device options (`[[devices]] options`):
  role = "board" | "window"        main board, or a window screen (`window = N` on the device)
  width, height, row_height        pixels (board 256×48, window 128×32, rows of 16)
  protocol = "onbon"               or "onbon-bx5k" / "onbon-bx6k"; see hall.drivers.led.protocol
  address, device_type             screen address (default 0xFFFE: any screen on a point-to-point line)
  baudrate                         serial lines: 9600 or 57600 (8N1)
  color, font                      e.g. "red", 16/24/32
  title, call_template, earlier_template
  broadcast = true                 board only: the manager's hall broadcast scrolls in the bottom row (RAM area)
  ack_timeout (s, 1.0), retries (2), probe_interval (s, 5), rest_probe_interval (s, 30: while the hall is at rest,
  hall.drivers.pace), test_seconds (5)
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

from hall.config.schema import Device
from hall.drivers.base import STATE_NAMES, DeviceWorker, outcome_within
from hall.drivers.contracts import EventSource, HallEvent
from hall.drivers.led.layout import (
    BoardModel,
    Geometry,
    Templates,
    WindowModel,
    board_rows,
    window_rows,
)
from hall.drivers.led.protocol import AreaSpec, Reply, ScreenProtocol, make_protocol
from hall.drivers.options import bool_option, float_option, int_option
from hall.drivers.pace import Pace
from hall.drivers.transport import Transport, TransportError, open_transport

log = logging.getLogger(__name__)

EVENTS = {
    "board": frozenset({"ticket.called", "ticket.updated", "window.updated", "ticket.issued", "broadcast.changed"}),
    "window": frozenset({"ticket.called", "ticket.updated", "window.updated"}),
}
ROLE_NAMES = {"board": "叫号大屏", "window": "窗口屏"}


class LedDevice(DeviceWorker):
    kind = "led"

    def __init__(self, name: str, transport: Transport, *, protocol: ScreenProtocol, role: str = "board",
                 window: int | None = None, geometry: Geometry, categories: list[str] | None = None,
                 title: str = "", templates: Templates | None = None, hub: EventSource | None = None,
                 snapshot: Callable[[], Mapping[str, Any]] | None = None,
                 broadcasts: Callable[[], Sequence[Mapping[str, Any]]] | None = None,
                 today: Callable[[], str] | None = None, emulated: bool = False, ack_timeout: float = 1.0,
                 retries: int = 2, probe_interval: float = 5.0, rest_probe_interval: float = 30.0,
                 pace: Pace | None = None, test_seconds: float = 5.0,
                 backoff_min: float = 0.5, backoff_max: float = 30.0) -> None:
        if role not in ROLE_NAMES:
            raise ValueError(f"LED 角色须为 board（大屏）或 window（窗口屏），而不是 {role!r}")
        if role == "window" and window is None:
            raise ValueError("窗口屏需要指定窗口号（设备的 window = N）")
        super().__init__(name, transport, emulated=emulated, backoff_min=backoff_min, backoff_max=backoff_max,
                         idle_interval=probe_interval, pace=pace,
                         rest_interval=rest_probe_interval)
        # dup-ok: a constructor keeping its arguments, the shape of drivers/printer/device.py
        self.protocol = protocol
        self.role = role
        self.window = window
        self.geometry = geometry
        self.title = title
        self.templates = templates or Templates()
        self.hub = hub
        self._snapshot = snapshot
        self._broadcasts = broadcasts if role == "board" else None
        self.banner = ""              # the hall broadcast's text while one targets the LED ("" = none)
        self._today = today
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.test_seconds = test_seconds
        self.board = BoardModel(categories=list(categories or []))
        self.win = WindowModel(number=window or 0)
        self._date = ""
        # events in, from the publisher's thread
        self._inbox: deque[tuple[str, Mapping[str, Any]]] = deque(maxlen=1000)
        self._resync = True
        self._sched_lock = threading.Lock()
        self._sync_scheduled = False
        # what the screen shows (worker thread writes; status() reads copies)
        self._shown: dict[int, bytes] = {}
        self._shown_text: dict[int, str] = {}
        self._rows: list[str] = []
        self._force: set[int] = set()
        self._replace_all = True
        self._decoder = protocol.reply_decoder()
        self._test_until = 0.0
        self._test_timer: threading.Timer | None = None
        self._unshowable: set[str] = set()
        # figures for diagnostics
        self.frames_sent = 0
        self.bytes_sent = 0
        self.nacks = 0
        self.timeouts = 0
        self.last_nack = ""

    # ================================================================ lifecycle
    def start(self) -> None:
        if self.hub is not None:
            self.listen(self.hub, self._on_event)
        super().start()

    def stop(self, timeout: float = 5.0) -> None:
        timer, self._test_timer = self._test_timer, None
        if timer is not None:
            timer.cancel()
        super().stop(timeout)

    # ================================================================ events
    def _on_event(self, ev: HallEvent) -> None:
        """Hub listener, on the publisher's (request) thread: enqueue only."""
        if not self._listening or ev.kind not in EVENTS[self.role]:
            return
        if len(self._inbox) == self._inbox.maxlen:
            self._resync = True       # the oldest event falls out: rebuild from the engine instead
        self._inbox.append((ev.kind, ev.data))
        self._schedule_sync()

    def _schedule_sync(self) -> None:
        with self._sched_lock:
            if self._sync_scheduled:
                return
            self._sync_scheduled = True
        fut = self.submit(self._sync_command)
        fut.add_done_callback(self._sync_done)

    def _sync_command(self, transport: Transport) -> None:
        with self._sched_lock:
            self._sync_scheduled = False
        self._sync(transport)

    def _sync_done(self, fut: Future[None]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            with self._sched_lock:      # it may never have run (offline): let the next event schedule again
                self._sync_scheduled = False

    def _take_events(self) -> None:
        """Fold queued events into the model (worker thread)."""
        if self._today is not None and self._date and self._today() != self._date:
            self._resync = True       # a new day: numbers restarted, yesterday's calls are gone
        if self._resync:
            self._reseed()
        while self._inbox:
            kind, data = self._inbox.popleft()
            if kind == "broadcast.changed":
                if self._broadcasts is not None:
                    self.banner = banner_text(data.get("active"))
                continue
            if self.role == "board":
                if self.board.apply(kind, data):
                    self._force.add(1 if self.geometry.rows >= 4 else 0)   # the newest-call row re-lights
            elif self.win.apply(kind, data):
                self._force.add(self.geometry.rows - 1)                      # the status row re-lights

    def _reseed(self) -> None:
        self._inbox.clear()     # events from here on apply on top of the snapshot
        self._resync = False
        if self._snapshot is None:
            return
        try:
            snap = self._snapshot()
        except Exception:
            log.exception("LED %s: cannot read the queue snapshot; keeping what it shows", self.name)
            self._resync = True
            return
        self._date = str(snap.get("date", ""))
        if self._broadcasts is not None:
            self.banner = banner_text(self._broadcasts())
        if self.role == "board":
            self.board.seed(snap)
        else:
            view = next((w for w in snap.get("windows", []) if w.get("number") == self.window), None)
            if view is not None:
                self.win.seed(view)

    # ================================================================ content
    def rows(self) -> list[str]:
        if self.role == "board":
            return board_rows(self.board, self.geometry.rows, title=self.title, templates=self.templates)
        # half-width cells per row: the card's font is square (16 dots unless set), a hanzi takes two cells
        cells = self.geometry.width * 2 // (self.geometry.font_px or 16)
        return window_rows(self.win, self.geometry.rows, cells)

    def _specs(self) -> list[AreaSpec]:
        specs = self.geometry.areas(self.rows(), centre_first=self.role == "window")
        if self.banner and len(specs) >= 2:
            # The broadcast takes the bottom row (the waiting counts) and scrolls there; it is a dynamic
            # area like every row (A3 06: RAM only, never the card's flash), so withdrawing it costs nothing.
            specs[-1] = dataclasses.replace(specs[-1], text=self.banner, scroll=True, align="left")
        return specs

    def _sync(self, transport: Transport) -> None:
        self._take_events()
        specs = self._specs()
        self._rows = [s.text for s in specs]
        if time.monotonic() < self._test_until:
            return              # the test pattern is up; the rows follow when it ends
        rendered = {s.id: self.protocol.render_area(s) for s in specs}
        changed = [s for s in specs
                   if self._replace_all or s.id in self._force or self._shown.get(s.id) != rendered[s.id]]
        if not changed:
            if self.detail:
                # the screen answered (ping or frames) and holds every row: it has recovered, even when
                # nothing was left to send (a NACKed ping, or rows later set back to what it shows)
                self.set_degraded("")
            return
        # A call goes down the line first, in a frame of its own: at 9600 baud the whole board
        # (call, earlier calls, waiting counts) takes ~200 ms, the call row alone ~80 ms.
        first = [s for s in changed if s.id in self._force] if not self._replace_all else []
        rest = [s for s in changed if s not in first]
        if first and rest:
            if self._send(transport, first, rendered):
                self._send(transport, rest, rendered)
        else:
            self._send(transport, changed, rendered)

    def _send(self, transport: Transport, specs: list[AreaSpec], rendered: Mapping[int, bytes]) -> bool:
        by_id = {s.id: s for s in specs}
        for update in self.protocol.update_frames(specs, replace_all=self._replace_all):
            reply = self._exchange(transport, update.frame)
            if not reply.ok:
                self.last_nack = reply.message
                self.set_degraded(f"显示屏拒收：{reply.message}")
                return False
            if self._replace_all:
                self._replace_all = False
                self._shown.clear()
                self._shown_text.clear()
            for area_id in update.area_ids:
                self._shown[area_id] = rendered[area_id]
                self._shown_text[area_id] = by_id[area_id].text
                self._force.discard(area_id)
            for ch in update.replaced:
                if ch not in self._unshowable:
                    self._unshowable.add(ch)
                    log.warning("LED %s cannot show %r (not in GB2312); shown as a box", self.name, ch)
        if self.detail:
            self.set_degraded("")
        return True

    # ================================================================ wire
    def _exchange(self, transport: Transport, frame: bytes) -> Reply:
        """Write a frame and wait for the screen's answer; retry NACKs and lost replies."""
        if not self.protocol.replies:
            transport.write(frame)
            self.frames_sent += 1
            self.bytes_sent += len(frame)
            return Reply(True)
        last: Reply | None = None
        for attempt in range(self.retries + 1):
            t0 = time.monotonic()
            transport.write(frame)
            self.frames_sent += 1
            self.bytes_sent += len(frame)
            reply = self._read_reply(transport, self.ack_timeout)
            if reply is None:
                self.timeouts += 1
                continue
            self.rtt_ms = round((time.monotonic() - t0) * 1000, 1)
            self.last_ok_at = time.time()
            if reply.ok:
                return reply
            self.nacks += 1
            last = reply
            self._stop.wait(0.05 * (attempt + 1))      # a busy controller gets a moment
        if last is None:
            raise TransportError(f"{self.name}: 显示屏 {self.ack_timeout:g} 秒内无应答 / no reply from the screen")
        return last

    def _read_reply(self, transport: Transport, timeout: float) -> Reply | None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = transport.read(self._decoder.needed(), remaining)
            if data:
                replies = self._decoder.feed(data)
                if replies:
                    return replies[0]

    # ================================================================ worker hooks
    def on_connect(self, transport: Transport) -> None:
        self._decoder = self.protocol.reply_decoder()
        ping = self.protocol.ping_frame()
        if ping is not None and self.protocol.replies:
            reply = self._exchange(transport, ping)
            if not reply.ok:
                self.set_degraded(f"显示屏拒收：{reply.message}")
        self._resync = True
        self._replace_all = True      # a screen that lost power lost its areas: send every row again
        self._force.clear()
        self._sync(transport)

    def probe(self, transport: Transport) -> None:
        if time.monotonic() < self._test_until:
            return
        ping = self.protocol.ping_frame()
        if ping is not None and self.protocol.replies:
            reply = self._exchange(transport, ping)
            if not reply.ok:
                self.set_degraded(f"显示屏拒收：{reply.message}")
                return
        self._sync(transport)         # rows left pending by an earlier NACK go now

    # ================================================================ diagnostics
    def test_async(self) -> Future[dict[str, Any]]:
        """Light a test pattern for `test_seconds`, then restore the rows; resolves to {"ok", "message"}."""
        out: Future[dict[str, Any]] = Future()
        if not self.online:
            why = self.last_error or STATE_NAMES[self.state]
            out.set_result({"ok": False, "message": f"显示屏离线：{why}"})
            return out
        inner = self.submit(self._show_test_pattern)

        def done(f: Future[dict[str, Any]]) -> None:
            try:
                out.set_result(f.result())
            except Exception as exc:
                out.set_result({"ok": False, "message": f"测试失败：{exc}"})

        inner.add_done_callback(done)
        return out

    def test(self, timeout: float = 5.0) -> dict[str, Any]:
        return outcome_within(self.test_async(), timeout, f"测试超时（{timeout:g} 秒内无结果）")

    def test_rows(self) -> list[str]:
        g = self.geometry
        cols = max(1, g.width // (g.font_px or g.row_height))
        first = f"测试 TEST {self.name}"
        return [first] + ["■" * cols] * (g.rows - 1)

    def _show_test_pattern(self, transport: Transport) -> dict[str, Any]:
        specs = self.geometry.areas(self.test_rows())
        t0 = time.monotonic()
        for update in self.protocol.update_frames(specs, replace_all=True):
            reply = self._exchange(transport, update.frame)
            if not reply.ok:
                return {"ok": False, "message": f"显示屏拒收测试图案：{reply.message}"}
        ms = round((time.monotonic() - t0) * 1000, 1)
        self._shown.clear()
        self._shown_text = {s.id: s.text for s in specs}
        self._replace_all = True
        self._test_until = time.monotonic() + self.test_seconds
        timer = threading.Timer(self.test_seconds, self._end_test)
        timer.daemon = True
        self._test_timer = timer
        timer.start()
        return {"ok": True, "rtt_ms": ms,
                "message": f"测试图案已点亮 {len(specs)} 行（{ms:g} ms），{self.test_seconds:g} 秒后恢复"}

    def _end_test(self) -> None:
        self._test_until = 0.0
        if self._listening or self._thread is not None:
            self._schedule_sync()

    def status(self) -> dict[str, Any]:
        s = super().status()
        s.update({
            "role": self.role,
            "role_name": ROLE_NAMES[self.role],
            "window": self.window,
            "protocol": self.protocol.name,
            "size": [self.geometry.width, self.geometry.height],
            "rows": list(self._rows),
            "shown": dict(self._shown_text),
            "frames_sent": self.frames_sent,
            "bytes_sent": self.bytes_sent,
            "nacks": self.nacks,
            "timeouts": self.timeouts,
            "last_nack": self.last_nack,
            "unshowable_chars": sorted(self._unshowable),
            "testing": time.monotonic() < self._test_until,
            "broadcast": self.banner,
        })
        return s


def banner_text(active: object) -> str:
    """The LED's broadcast row: the active broadcasts that name the LED, newest first, one line."""
    if not isinstance(active, Sequence):
        return ""
    texts = [str(b.get("message", "")) for b in active
             if isinstance(b, Mapping) and "led" in (b.get("targets") or ())]
    return "　　".join(t for t in texts if t)


# ==================================================================== factory
def _opt_int(opts: Mapping[str, Any], key: str, default: int) -> int:
    return int_option(opts, key, default, what="LED 选项")


def _opt_float(opts: Mapping[str, Any], key: str, default: float) -> float:
    return float_option(opts, key, default, what="LED 选项")


def build_led(spec: Device, ctx: Any) -> LedDevice:
    """Factory builder for kind "led" (see hall.drivers.factory).

    `emulator://` starts the BX-5K/6K emulator on TCP 127.0.0.1 (a free port);
    `emulator://pty` puts it behind a pty and drives it as a serial screen (POSIX).
    """
    opts = dict(spec.options)
    role = str(opts.get("role", "board"))
    window = spec.window if spec.window is not None else (
        _opt_int(opts, "window", 0) if "window" in opts else None)
    if role not in ROLE_NAMES:
        raise ValueError(f"LED 角色须为 board（大屏）或 window（窗口屏），而不是 {role!r}")
    if role == "window" and (window is None or ctx.config.window(window) is None):
        raise ValueError(f"窗口屏需要指定存在的窗口号（设备的 window = N），而不是 {window!r}")
    proto = make_protocol(str(opts.get("protocol", "onbon")), opts)
    board = role == "board"
    font = _opt_int(opts, "font", 0) or None
    row_height = _opt_int(opts, "row_height", font or 16)
    geometry = Geometry(
        width=_opt_int(opts, "width", 256 if board else 128),
        height=_opt_int(opts, "height", 48 if board else 32),
        row_height=row_height, max_rows=proto.max_areas,
        color=str(opts["color"]) if "color" in opts else None, font_px=font,
    )
    emulated = spec.url.startswith("emulator://")
    transport: Transport
    if emulated:
        from hall.drivers.emulators.channel import driver_transport
        from hall.drivers.emulators.led import LedEmulator

        emu = LedEmulator(geometry.width, geometry.height, address=_opt_int(opts, "address", 1),
                          max_areas=proto.max_areas)
        transport = driver_transport(emu, spec.url, baudrate=_opt_int(opts, "baudrate", 57600))
        ctx.manager.add_emulator(spec.name, emu)
    else:
        transport = open_transport(spec.url, opts)
    defaults = Templates()
    templates = Templates(
        call=str(opts.get("call_template", defaults.call)),
        earlier=str(opts.get("earlier_template", defaults.earlier)),
        resumed=str(opts.get("resumed_template", defaults.resumed)),
    )
    engine = ctx.engine
    clock = ctx.clock
    return LedDevice(
        spec.name, transport, protocol=proto, role=role, window=window, geometry=geometry,
        categories=[c.prefix for c in ctx.config.categories], title=str(opts.get("title", ctx.config.hall.name)),
        templates=templates, hub=ctx.hub, snapshot=engine.snapshot if engine is not None else None,
        broadcasts=ctx.extra.get("broadcasts") if bool_option(opts, "broadcast", True, what="LED 选项") else None,
        today=(lambda: clock.today().isoformat()) if clock is not None else None, emulated=emulated,
        ack_timeout=_opt_float(opts, "ack_timeout", 1.0), retries=_opt_int(opts, "retries", 2),
        probe_interval=_opt_float(opts, "probe_interval", 5.0),
        rest_probe_interval=_opt_float(opts, "rest_probe_interval", 30.0), pace=ctx.manager.pace,
        test_seconds=_opt_float(opts, "test_seconds", 5.0),
        backoff_min=_opt_float(opts, "backoff_min", 0.5), backoff_max=_opt_float(opts, "backoff_max", 30.0),
    )
