"""An Onbon BX-5K/6K LED controller emulator behind a real channel.

It listens on TCP 127.0.0.1 (like the 6K's network port) or sits on a pty
(like a controller on RS-232/485; POSIX only, kept out of the service's
core), decodes every frame with the same protocol module the driver uses,
answers ACK or NACK the way the vendor document describes, and keeps the
text of each dynamic area, so the technician page can show the areas as
they would light. Every frame is recorded with the moment its last byte
arrived (for `scripts/bench_led.py`).

What it answers (vendor behaviour first, emulator choices in brackets):
  - bad CRC → NACK ERR_CHECKSUM (5), addressed back to the sender;
  - a frame for another screen address → ignored (shared RS-485 bus);
    broadcast 0xFFFF or response flag 0x02 → applied, no reply;
  - PING (A2 00), dynamic areas (A3 06), clear screen (A3 10), on/off (A3 00),
    brightness (A3 02), set time (A2 03) → ACK;
  - [an area id beyond the card's dynamic areas, or more text than an area
    holds → NACK ERR_MEMORYVOLUME (4); malformed area data → NACK ERR_NOCMD (2);
    other commands → NACK ERR_NOCMD, unknown groups → ERR_OUTOFGROUP].

Faults can be injected while it runs, from code, `kiosk emulate led` (stdin)
or the technician API (`fault(command)`):

    nack [CODE] [N] | nack off   answer NACK CODE (default 3 = busy) to the next N frames (default: all)
    silence on | off             take frames but never answer nor show them (a hung controller)
    unplug | replug              drop the link and refuse it / accept again (TCP: refuse connections;
                                 pty: the device node disappears and comes back, like a USB adapter)
    noise [N]                    send N random bytes down the line now (default 16)
    garble on | off              send junk and a cut-off frame before every reply
    corrupt [N]                  spoil the CRC of the next N replies (default 1)
    slow CHUNK DELAY_MS | off    send replies CHUNK bytes at a time with a pause (partial writes)
    baud N | off                 take incoming bytes at the pace of an N-baud serial line
    clear                        forget the recorded frames and blank the screen
    status                       print what the emulator is doing
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hall.drivers.emulators.channel import StreamEmulator, notify, require_pty
from hall.drivers.emulators.faults import FaultCommands, baud, cable, switch, unknown_word
from hall.drivers.led import protocol as p

log = logging.getLogger(__name__)

FAULT_HELP = (
    "nack [CODE] [N]|off · silence on|off · unplug · replug · noise [N] · garble on|off · corrupt [N] · "
    "slow CHUNK DELAY_MS|off · baud N|off · clear · status"
)
AREA_CAPACITY = 1024       # bytes of text per dynamic area (6K; the 5K holds 512)


@dataclass(frozen=True)
class ReceivedFrame:
    seq: int
    at: float                  # time.perf_counter() when the frame's last byte arrived
    size: int                  # bytes on the wire, preamble and escapes included
    group: int
    cmd: int
    area_ids: tuple[int, ...]
    ok: bool                   # a valid frame that was acted on
    reply: str                 # "ack", "nack:N", "none"
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LitArea:
    area: p.DynamicArea
    text: str
    color: str | None
    updated_at: float

    def as_dict(self) -> dict[str, Any]:
        a = self.area
        return {
            "id": a.area_id, "x": a.x, "y": a.y, "width": a.width, "height": a.height, "text": self.text,
            "color": self.color, "scroll": a.display_mode in (p.SHOW_SCROLL_LEFT, 0x04, 0x05, 0x06),
            "display_mode": a.display_mode, "updated_at": self.updated_at,
        }


class _Link:
    """One connection's receive state (a decoder per TCP client or per pty)."""

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self.decoder = p.FrameDecoder()
        self.send = send


class LedEmulator(StreamEmulator):
    kind = "led"
    thread_name = "led-emu"
    pty_unplugs = True         # the stable link disappears and comes back, like a USB adapter's node

    def __init__(self, width: int = 256, height: int = 48, *, address: int = 0x0001, max_areas: int = 5,
                 keep_frames: int = 500, on_frame: Callable[[ReceivedFrame], None] | None = None) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.address = address
        self.max_areas = max_areas
        self.on_frame = on_frame
        self.frames: deque[ReceivedFrame] = deque(maxlen=keep_frames)
        self.frame_count = 0
        self.bad_frames = 0
        self.noise_bytes = 0
        self.power_on = True
        self.brightness: int | None = None
        self._areas: dict[int, LitArea] = {}
        # faults
        self.nack_code: int | None = None
        self.nack_left: int | None = None
        self.silent = False
        self.garble = False
        self.corrupt_left = 0
        self.write_chunk = 0
        self.write_delay = 0.0
        self.baud: int | None = None
        self._changed = threading.Condition(self._lock)
        self._pty_dir: tempfile.TemporaryDirectory[str] | None = None
        self._rng = random.Random(0x5A)

    # ================================================================ channels
    def start_pty(self) -> str:
        """Serve a pty; returns a stable symlink to its slave (like /dev/serial/by-id/…), POSIX only.

        The link survives `unplug`/`replug`: the pty behind it is closed (the
        node disappears, the driver's reads fail) and a new one is linked in.
        """
        require_pty()
        self._pty_dir = tempfile.TemporaryDirectory(prefix="hall-led-")
        return self._start_pty(Path(self._pty_dir.name) / "ttyLED0")

    def stop(self) -> None:
        super().stop()
        if self._pty_dir is not None:
            self._pty_dir.cleanup()
            self._pty_dir = None

    def _session(self, chunks: Iterator[bytes], send: Callable[[bytes], None]) -> None:
        link = _Link(lambda data: self._write(send, data))
        for data in chunks:
            self._receive(link, data)

    def _write(self, send: Callable[[bytes], Any], data: bytes) -> None:
        try:
            if self.write_chunk <= 0:
                send(data)
                return
            for i in range(0, len(data), self.write_chunk):
                send(data[i:i + self.write_chunk])
                time.sleep(self.write_delay)
        except OSError:
            pass        # the driver went away; it will reconnect

    # ================================================================ protocol
    def _receive(self, link: _Link, data: bytes) -> None:
        if self.baud:
            time.sleep(len(data) * 10 / self.baud)
        with self._lock:
            noise_before = link.decoder.noise_bytes
            items = link.decoder.feed(data)
            self.noise_bytes += link.decoder.noise_bytes - noise_before
            now = time.perf_counter()
            replies = [r for r in (self._handle(item, now) for item in items) if r]
        for reply in replies:
            link.send(reply)

    def _record(self, frame: ReceivedFrame) -> None:
        self.frames.append(frame)
        self.frame_count += 1
        self._changed.notify_all()
        notify(self.on_frame, frame, "LED emulator on_frame")

    def _handle(self, item: p.Packet | p.FrameError, now: float) -> bytes:
        """Act on one decoded frame; returns the reply bytes (or b"")."""
        seq = self.frame_count + 1
        if isinstance(item, p.FrameError):
            self.bad_frames += 1
            reply = b""
            hdr = item.header
            if item.reason == "crc" and hdr is not None and self._for_me(hdr.dst) and hdr.dst != p.ADDR_BROADCAST:
                reply = self._reply(hdr, p.nack_data(p.ERR_CHECKSUM))
            self._record(ReceivedFrame(seq, now, len(item.raw), -1, -1, (), False,
                                       "nack:5" if reply else "none", f"{item.reason}: {item.detail}"))
            return reply
        pkt = item
        if not self._for_me(pkt.header.dst):
            self._record(ReceivedFrame(seq, now, pkt.wire_len, pkt.group, pkt.cmd, (), False, "none",
                                       f"address {pkt.header.dst:#06x} is another screen's"))
            return b""
        if self.silent:
            self._record(ReceivedFrame(seq, now, pkt.wire_len, pkt.group, pkt.cmd, (), False, "none", "silent"))
            return b""
        wants_reply = pkt.header.dst != p.ADDR_BROADCAST and pkt.flag != p.RESPONSE_NONE
        area_ids: tuple[int, ...] = ()
        if self.nack_code is not None and (self.nack_left is None or self.nack_left > 0):
            code, ok, error = self.nack_code, False, "injected NACK"
            if self.nack_left is not None:
                self.nack_left -= 1
                if self.nack_left <= 0:
                    self.nack_code = self.nack_left = None
        else:
            code, area_ids, error = self._apply(pkt, now)
            ok = code == p.ERR_NO
        reply = b""
        if wants_reply:
            reply = self._reply(pkt.header, p.ack_data() if ok else p.nack_data(code))
        self._record(ReceivedFrame(seq, now, pkt.wire_len, pkt.group, pkt.cmd, area_ids, ok,
                                   ("ack" if ok else f"nack:{code}") if reply else "none", error))
        return reply

    def _for_me(self, dst: int) -> bool:
        return dst in (self.address, p.ADDR_BROADCAST, p.ADDR_BROADCAST_REPLY) or 0x8000 <= dst <= 0xDFFF

    def _reply(self, request: p.Header, data: bytes) -> bytes:
        frame = p.encode_packet(data, dst=request.src, src=request.dst, device_type=request.device_type)
        if self.corrupt_left > 0:
            self.corrupt_left -= 1
            spoiled = bytearray(frame)
            spoiled[-2] ^= 0x04    # a CRC byte (or half of its escape pair): either way a bad frame
            frame = bytes(spoiled)
        if self.garble:
            junk = bytes(self._rng.choice([0x00, 0x11, 0x5B, 0x7F, 0xFF]) for _ in range(5))
            frame = junk + frame[:12] + frame
        return frame

    def _apply(self, pkt: p.Packet, now: float) -> tuple[int, tuple[int, ...], str]:
        """Carry out a valid request: (CmdError, area ids touched, note)."""
        key = (pkt.group, pkt.cmd)
        if key == (p.GROUP_DISPLAY, p.CMD_DYNAMIC_AREA):
            try:
                upd = p.parse_dynamic_area_data(pkt.data)
            except p.FrameError as exc:
                return p.ERR_NOCMD, (), f"malformed area data: {exc}"
            for area in upd.areas:
                if area.area_id >= self.max_areas:
                    return p.ERR_MEMORYVOLUME, (), f"area {area.area_id} beyond {self.max_areas} dynamic areas"
                if len(area.data) > AREA_CAPACITY:
                    return p.ERR_MEMORYVOLUME, (), f"area {area.area_id} text of {len(area.data)} bytes"
            if upd.delete_all:
                self._areas.clear()
            for area_id in upd.delete:
                self._areas.pop(area_id, None)
            for area in upd.areas:
                shown = p.decode_text(area.data)
                self._areas[area.area_id] = LitArea(area, shown.text, shown.color, time.time())
            return p.ERR_NO, tuple(a.area_id for a in upd.areas), ""
        if key == (p.GROUP_DISPLAY, p.CMD_CLEAR_SCREEN):
            self._areas.clear()
            return p.ERR_NO, (), "clear screen"
        if key == (p.GROUP_DISPLAY, 0x00):
            self.power_on = pkt.payload[:1] != b"\x02"
            return p.ERR_NO, (), "power on" if self.power_on else "power off"
        if key == (p.GROUP_DISPLAY, 0x02):
            self.brightness = pkt.payload[1] if len(pkt.payload) > 1 else None
            return p.ERR_NO, (), "brightness"
        if key in ((p.GROUP_SYSTEM, p.CMD_PING), (p.GROUP_SYSTEM, 0x03)):
            return p.ERR_NO, (), ""
        if pkt.group in (0xA1, 0xA2, 0xA3, 0xA4):
            return p.ERR_NOCMD, (), f"command {pkt.group:02X} {pkt.cmd:02X} not emulated"
        return p.ERR_OUTOFGROUP, (), f"unknown command group {pkt.group:02X}"

    # ================================================================ faults
    def send_noise(self, n: int = 16) -> None:
        """Push random bytes (never a frame start) to every connected driver."""
        junk = bytes(self._rng.choice([b for b in range(256) if b != p.FRAME_START]) for _ in range(n))
        self._send_to_all(junk)

    def clear(self) -> None:
        with self._lock:
            self.frames.clear()
            self._areas.clear()
            self._changed.notify_all()

    def fault(self, command: str) -> str:
        """Apply a text fault command (see the module doc); returns what happened, in Chinese."""
        commands = FaultCommands({
            "nack": self._fault_nack, "silence": self._fault_silence, "silent": self._fault_silence,
            **cable(self, "已断开（拔线）", "已重新接上"), "noise": self._fault_noise, "garble": self._fault_garble,
            "corrupt": self._fault_corrupt, "slow": self._fault_slow, **baud(self),
            "clear": self._fault_clear, "status": lambda _args: str(self.status()),
        }, FAULT_HELP, lower=True, otherwise=unknown_word(FAULT_HELP), bad_args=f"参数有误；可用：{FAULT_HELP}")
        return commands(command)

    def _fault_nack(self, args: list[str]) -> str:
        arg = args[0] if args else ""
        if arg == "off":
            self.nack_code = self.nack_left = None
            return "恢复正常应答"
        self.nack_code = int(arg, 0) if arg else p.ERR_BUSY
        self.nack_left = int(args[1]) if len(args) > 1 else None
        times = f"接下来 {self.nack_left} 帧" if self.nack_left is not None else "所有帧"
        return f"{times}回复 NACK（{p.ERROR_NAMES.get(self.nack_code, self.nack_code)}）"

    def _fault_silence(self, args: list[str]) -> str:
        self.silent = switch(args)
        return "不再应答（控制卡死机）" if self.silent else "恢复应答"

    def _fault_noise(self, args: list[str]) -> str:
        n = int(args[0]) if args else 16
        self.send_noise(n)
        return f"已向线路发送 {n} 个干扰字节"

    def _fault_garble(self, args: list[str]) -> str:
        self.garble = switch(args)
        return "每个应答前夹带干扰和半帧" if self.garble else "应答恢复干净"

    def _fault_corrupt(self, args: list[str]) -> str:
        self.corrupt_left = int(args[0]) if args else 1
        return f"接下来 {self.corrupt_left} 个应答 CRC 错误"

    def _fault_slow(self, args: list[str]) -> str:
        arg = args[0] if args else ""
        if arg in ("off", ""):
            self.write_chunk, self.write_delay = 0, 0.0
            return "应答恢复整帧发送"
        self.write_chunk = max(1, int(arg))
        self.write_delay = float(args[1]) / 1000 if len(args) > 1 else 0.01
        return f"应答每次只发 {self.write_chunk} 字节，间隔 {self.write_delay * 1000:.0f} ms"

    def _fault_clear(self, _args: list[str]) -> str:
        self.clear()
        return "已清空记录和屏幕"

    # ================================================================ observation
    def areas(self) -> dict[int, dict[str, Any]]:
        """Each dynamic area's text as it would light, by area id."""
        with self._lock:
            return {i: lit.as_dict() for i, lit in sorted(self._areas.items())}

    def text(self, area_id: int) -> str | None:
        with self._lock:
            lit = self._areas.get(area_id)
            return lit.text if lit else None

    def lines(self) -> list[str]:
        """The areas' texts top to bottom, left to right: what a passer-by reads."""
        with self._lock:
            lit = sorted(self._areas.values(), key=lambda a: (a.area.y, a.area.x))
            return [a.text for a in lit] if self.power_on else []

    def wait_for(self, predicate: Callable[[LedEmulator], bool], timeout: float = 5.0) -> bool:
        """Block until `predicate(self)` holds (checked after every frame); for tests, demo and bench."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.2))
        return True

    def wait_for_frames(self, count: int, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda e: e.frame_count >= count, timeout)

    def area_frames(self, after: int = 0) -> list[ReceivedFrame]:
        """Recorded frames that changed areas (valid A3 06), those with `seq > after` (a `frame_count`)."""
        with self._lock:
            return [f for f in self.frames if f.seq > after and f.ok
                    and (f.group, f.cmd) == (p.GROUP_DISPLAY, p.CMD_DYNAMIC_AREA)]

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "kind": self.kind,
                "url": self.url,
                "address": self.address,
                "frames": self.frame_count,
                "bad_frames": self.bad_frames,
                "noise_bytes": self.noise_bytes,
                "connections": self.connections,
                "power_on": self.power_on,
                "faults": {
                    "nack": self.nack_code, "nack_left": self.nack_left, "silent": self.silent,
                    "unplugged": self.unplugged, "garble": self.garble, "corrupt_left": self.corrupt_left,
                    "write_chunk": self.write_chunk, "baud": self.baud,
                },
            }

    def view(self) -> dict[str, Any]:
        """What the technician page shows: the screen as it would light, and the last frames."""
        with self._lock:
            recent = [f.as_dict() for f in list(self.frames)[-10:][::-1]]
        return {**self.status(), "width": self.width, "height": self.height,
                "areas": list(self.areas().values()), "lines": self.lines(), "recent_frames": recent}
