"""Keyboard-style (USB HID) evaluator keypads (config `kind = "evaluator"`, option `type = "hid"`).

Many cheap evaluators are five-key USB keyboards: each key sends a key code. The
device reads those key events from a `KeySource`, maps codes to levels, and
applies the same prompt rules as the serial keypad (`PromptGate`): a press counts
only during the prompt the clerk opened, once. A HID keypad has no display, so
the prompt is shown elsewhere (tablet, window screen); there is no heartbeat,
and "online" means the input device is present.

Key sources:

* Linux: `EvdevKeySource` reads `struct input_event` records from
  `/dev/input/event*` (use the stable `/dev/input/by-id/usb-…-event-kbd` name)
  with plain `os.read` and `struct` (no extra dependency), and grabs the device
  (EVIOCGRAB) so its key presses never type into the kiosk's browser. The
  service user needs read access (group `input`, or a udev rule
  `SUBSYSTEM=="input", ATTRS{idVendor}=="…", MODE="0660", GROUP="hall"`).
* Windows: not implemented. A keyboard cannot be opened per device with file
  I/O there; a `KeySource` would use the Raw Input API (RegisterRawInputDevices
  with RIDEV_INPUTSINK on a message-only window, GetRawInputData, telling devices
  apart by hDevice / GetRawInputDeviceInfo's name) through ctypes, and would have
  to stop the keys reaching the focused kiosk window (RIDEV_NOLEGACY, or a
  low-level keyboard hook that swallows them). Until then, on Windows use a
  keypad in serial mode (most have a USB-serial variant) or the tablet page.

Options: `keymap` = "KEY_1=非常满意,KEY_2=满意,…" (names or numeric codes; levels
by name or wire number 1..5); the default maps both the top-row digits 1..5 and
the keypad's KP1..KP5 to 非常满意..非常不满意. `grab` (true), `prompt_timeout` (30 s).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from hall.drivers.base import DeviceWorker
from hall.drivers.contracts import Clock, ZoneClock
from hall.drivers.evaluator.base import (
    DEFAULT_PROMPT_TIMEOUT,
    LEVELS,
    EventInbox,
    PromptGate,
    SinkCaller,
    SinkProvider,
    apply_events,
)
from hall.drivers.options import bool_option
from hall.drivers.transport import TransportError, Waker

log = logging.getLogger(__name__)

# linux/input-event-codes.h
EV_SYN, EV_KEY, EV_MSC = 0x00, 0x01, 0x04
MSC_SCAN = 0x04
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
EVIOCGRAB = 0x40044590          # _IOW('E', 0x90, int)

# struct input_event { struct timeval time; __u16 type; __u16 code; __s32 value; } in the
# machine's native layout: 24 bytes on 64-bit Linux, 16 on 32-bit.
EVENT_FORMAT = "@llHHi"
EVENT_SIZE = struct.calcsize(EVENT_FORMAT)

KEY_CODES: dict[str, int] = {
    **{f"KEY_{d}": c for d, c in zip("1234567890", range(2, 12), strict=True)},
    **{f"KEY_{ch}": c for ch, c in zip("QWERTYUIOP", range(16, 26), strict=True)},
    **{f"KEY_{ch}": c for ch, c in zip("ASDFGHJKL", range(30, 39), strict=True)},
    **{f"KEY_{ch}": c for ch, c in zip("ZXCVBNM", range(44, 51), strict=True)},
    **{f"KEY_F{n}": c for n, c in zip(range(1, 11), range(59, 69), strict=True)},
    "KEY_F11": 87, "KEY_F12": 88,
    "KEY_KP7": 71, "KEY_KP8": 72, "KEY_KP9": 73, "KEY_KP4": 75, "KEY_KP5": 76, "KEY_KP6": 77,
    "KEY_KP1": 79, "KEY_KP2": 80, "KEY_KP3": 81, "KEY_KP0": 82,
    "KEY_ENTER": 28, "KEY_KPENTER": 96, "KEY_SPACE": 57, "KEY_ESC": 1,
}

DEFAULT_KEYMAP: dict[int, str] = {
    **{KEY_CODES[f"KEY_{i + 1}"]: level for i, level in enumerate(LEVELS)},
    **{KEY_CODES[f"KEY_KP{i + 1}"]: level for i, level in enumerate(LEVELS)},
}


def pack_event(ev_type: int, code: int, value: int, at: float | None = None) -> bytes:
    at = time.time() if at is None else at
    sec = int(at)
    return struct.pack(EVENT_FORMAT, sec, int((at - sec) * 1_000_000), ev_type, code, value)


def parse_keymap(text: str | None) -> dict[int, str]:
    """"KEY_1=非常满意, KEY_KP2=2, 30=满意" → {code: level}. Raises ValueError with a Chinese message."""
    if not text:
        return dict(DEFAULT_KEYMAP)
    out: dict[int, str] = {}
    for part in str(text).replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"按键映射项 {part!r} 应写成 按键=等级，例如 KEY_1=非常满意")
        key_s, level_s = (s.strip() for s in part.split("=", 1))
        if key_s.upper() in KEY_CODES:
            code = KEY_CODES[key_s.upper()]
        else:
            try:
                code = int(key_s, 0)
            except ValueError:
                raise ValueError(f"未知的按键 {key_s!r}（可用 KEY_1、KEY_KP1、KEY_F1 等或数字键码）") from None
        if level_s.isdigit() and 1 <= int(level_s) <= len(LEVELS):
            level = LEVELS[int(level_s) - 1]
        elif level_s in LEVELS:
            level = level_s
        else:
            raise ValueError(f"未知的评价等级 {level_s!r}（应为 {'、'.join(LEVELS)} 或 1..5）")
        out[code] = level
    if not out:
        raise ValueError("按键映射为空")
    return out


@dataclass(frozen=True)
class KeyEvent:
    code: int
    value: int          # 1 press, 0 release, 2 auto-repeat
    at: float


class KeySource(Protocol):
    """Where key events come from (Linux evdev today; Windows Raw Input would be another)."""

    url: str

    def open(self) -> None: ...

    def close(self) -> None: ...

    @property
    def is_open(self) -> bool: ...

    def read_keys(self, timeout: float) -> list[KeyEvent]:
        """EV_KEY events that arrived within `timeout`; raises TransportError when the device is gone."""
        ...


class EvdevKeySource:
    """Reads `/dev/input/event*` (or any file delivering `input_event` records). Linux only."""

    def __init__(self, path: str, *, grab: bool = True) -> None:
        self.path = path[len("evdev://"):] if path.startswith("evdev://") else path
        self.url = self.path
        self.grab = grab
        self._fd: int | None = None
        self._rest = b""
        self.grabbed = False
        self._waker = Waker()      # a rating prompt or a command ends the worker's wait for keys

    def wake(self) -> None:
        self._waker.wake()

    def open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # posix-only: default_key_source refuses elsewhere
        except FileNotFoundError:
            raise TransportError(f"按键设备 {self.path} 不存在（未插入？）/ not present") from None
        except PermissionError:
            raise TransportError(f"无权读取 {self.path}：请把服务用户加入 input 组或添加 udev 规则") from None
        except OSError as exc:
            raise TransportError(f"按键设备 {self.path} 打开失败：{exc.strerror}") from exc
        self._fd, self._rest, self.grabbed = fd, b"", False
        if self.grab and stat.S_ISCHR(os.fstat(fd).st_mode):
            import fcntl  # posix-only: evdev exists on Linux alone (see default_key_source)

            try:
                fcntl.ioctl(fd, EVIOCGRAB, 1)
                self.grabbed = True
            except OSError as exc:
                log.warning("cannot grab %s (keys may also reach the focused window): %s", self.path,
                            exc.strerror)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = None

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def read_keys(self, timeout: float) -> list[KeyEvent]:
        import select

        if self._fd is None:
            raise TransportError(f"{self.path} 未打开 / not open")
        ready, _, _ = select.select([self._fd, self._waker.fileno()], [], [], timeout)
        if self._waker.fileno() in ready:
            self._waker.drain()
        if self._fd not in ready:
            return []
        try:
            data = os.read(self._fd, EVENT_SIZE * 64)
        except BlockingIOError:
            return []
        except OSError as exc:     # ENODEV: the keypad was unplugged
            raise TransportError(f"按键设备 {self.path} 读取失败：{exc.strerror}") from exc
        if not data:               # a FIFO whose writer went away; evdev itself never returns 0 bytes
            raise TransportError(f"按键设备 {self.path} 已断开 / device gone")
        data = self._rest + data
        whole = len(data) - len(data) % EVENT_SIZE
        self._rest = data[whole:]
        out = []
        for sec, usec, ev_type, code, value in struct.iter_unpack(EVENT_FORMAT, data[:whole]):
            if ev_type == EV_KEY:
                out.append(KeyEvent(code, value, sec + usec / 1_000_000))
        return out


class _SourceTransport:
    """Lets a KeySource sit where DeviceWorker expects a Transport (it only opens and closes it)."""

    def __init__(self, source: KeySource) -> None:
        self.source = source
        self.url = source.url

    def open(self) -> None:
        self.source.open()

    def close(self) -> None:
        self.source.close()

    @property
    def is_open(self) -> bool:
        return self.source.is_open

    def write(self, data: bytes) -> None:
        raise TransportError(f"{self.url} 是只读按键设备 / read-only key device")

    def read(self, size: int, timeout: float) -> bytes:
        return b""


class HidEvaluatorDevice(DeviceWorker):
    kind = "evaluator"
    device_type = "hid"

    def __init__(self, name: str, source: KeySource, *, window: int, sink: SinkProvider,
                 keymap: dict[int, str] | None = None, clock: Clock | None = None, emulated: bool = False,
                 prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT, backoff_min: float = 0.5,
                 backoff_max: float = 5.0) -> None:
        super().__init__(name, _SourceTransport(source), emulated=emulated, backoff_min=backoff_min,
                         backoff_max=backoff_max, idle_interval=0.01)
        self.source = source
        self.window = window
        self.keymap = dict(keymap or DEFAULT_KEYMAP)
        self.clock: Clock = clock or ZoneClock()
        self.default_timeout = prompt_timeout
        self.gate = PromptGate(window)
        self.inbox = EventInbox(window)
        self.sink = SinkCaller(name, sink)
        self.counters = {"presses": 0, "ignored_presses": 0, "unmapped_keys": 0, "repeats": 0}
        self.last_key: dict[str, Any] | None = None

    def on_event(self, event: Any) -> None:
        self.inbox.listener(event)
        if self.inbox.pending():
            self.wake()

    def wake(self) -> None:
        wake = getattr(self.source, "wake", None)
        if wake is not None:
            wake()

    def status(self) -> dict[str, Any]:
        st = super().status()
        st.update({
            "type": self.device_type,
            "window": self.window,
            "prompt": self.gate.view(),
            "grabbed": getattr(self.source, "grabbed", None),
            "keymap": {str(code): level for code, level in sorted(self.keymap.items())},
            "dropped": {"unmapped_keys": self.counters["unmapped_keys"], "repeats": self.counters["repeats"]},
            "counters": {**self.counters, **self.gate.counters, **self.sink.counters},
            "last_key": self.last_key,
        })
        return st

    def test(self, timeout: float = 3.0) -> dict[str, Any]:
        """A HID keypad cannot be asked anything: report whether it is present and its last key."""
        if not self.online:
            return {"ok": False, "message": f"按键评价器离线：{self.last_error or '未连接'}"}
        last = self.last_key
        tail = f"；最近按键：{last['level'] or last['code']}" if last else "；尚未收到按键，请按任意评价键"
        grabbed = "已独占" if getattr(self.source, "grabbed", False) else "未独占（按键可能进入前台窗口）"
        return {"ok": True, "message": f"按键评价器在线（{self.source.url}，{grabbed}）{tail}"}

    def on_connect(self, transport: Any) -> None:
        self.detail = ""
        self._work()

    #: longest listen for keys between turns of the worker on a source that cannot be woken
    IDLE_READ_SECONDS = 1.0

    def _read_window(self) -> float:
        """A key ends the read at once; a prompt event or a command ends it through `wake` on sources that
        have one (evdev), so the worker listens until the open prompt times out, or a minute. A fixed 50 ms
        turn cost ~0.3 % of a core with nobody at the window."""
        if self.has_commands() or self.inbox.pending():
            return 0.05
        if getattr(self.source, "wake", None) is None:
            return self.IDLE_READ_SECONDS
        prompt = self.gate.current()
        return max(0.05, min(60.0, prompt.remaining() + 0.01)) if prompt is not None else 60.0

    def poll(self, transport: Any) -> None:
        try:
            events = self.source.read_keys(self._read_window())
            self._work()
            self._on_keys(events)
        except (OSError, TransportError):
            raise
        except Exception:
            log.exception("evaluator %s: poll failed", self.name)

    def _work(self) -> None:
        apply_events(self.name, self.inbox, self.gate, self.clock.now(), self.default_timeout)

    def _on_keys(self, events: Iterable[KeyEvent]) -> None:
        for ev in events:
            if ev.value == KEY_REPEAT:
                self.counters["repeats"] += 1
                continue
            if ev.value != KEY_PRESS:
                continue
            level = self.keymap.get(ev.code)
            self.last_key = {"code": ev.code, "level": level, "at": round(time.time(), 3)}
            if level is None:
                self.counters["unmapped_keys"] += 1
                continue
            self.counters["presses"] += 1
            outcome, prompt = self.gate.press(level)
            if prompt is None:
                self.counters["ignored_presses"] += 1
                log.debug("evaluator %s: key %s ignored (%s)", self.name, level, outcome)
                continue
            recorded = self.sink(prompt, level)
            log.info("evaluator %s: prompt %s rated %s (%s)", self.name, prompt.prompt_id, level,
                     "recorded" if recorded else "not recorded")


def default_key_source(url: str, options: dict[str, Any]) -> KeySource:
    """The platform's key source for a config URL; a clear error where none exists yet."""
    if os.name != "posix" or not hasattr(os, "O_NONBLOCK"):
        raise ValueError("HID 按键评价器目前只支持 Linux（/dev/input/event*）；Windows 请使用串口模式或平板评价页")
    return EvdevKeySource(url, grab=bool_option(options, "grab", True, what="评价器选项"))


__all__ = ["DEFAULT_KEYMAP", "EVENT_SIZE", "EvdevKeySource", "HidEvaluatorDevice", "KeyEvent", "KeySource",
           "default_key_source", "pack_event", "parse_keymap"]
