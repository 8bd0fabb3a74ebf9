"""A keyboard-style (HID) evaluator keypad emulator: Linux `input_event` records written into a FIFO.

The HID driver reads the FIFO exactly as it reads `/dev/input/event*`. POSIX only.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from hall.drivers.emulators.evaluator import key_level
from hall.drivers.emulators.faults import FaultCommands, cable
from hall.drivers.evaluator import protocol as P

HID_HELP = "命令：1..5（或等级名称）按键、noise 干扰按键、unplug 拔出、replug 插回"


class HidKeypadEmulator:
    """A keyboard-style keypad: Linux `input_event` records written into a FIFO (POSIX only).

    The emulator holds the FIFO open read-write, so the driver never sees an end
    of file while it is "plugged"; `unplug` closes and removes the FIFO (the
    driver reads EOF, goes offline), `replug` creates it again.
    """

    kind = "evaluator"

    def __init__(self, path: Path, *, name: str = "evaluator", keymap: dict[int, str] | None = None) -> None:
        from hall.drivers.evaluator.hid_keypad import DEFAULT_KEYMAP

        if not hasattr(os, "mkfifo"):
            raise OSError("HID 评价器模拟需要 POSIX（mkfifo）/ the HID keypad emulator needs POSIX")
        self.name = name
        self.path = path
        self.keymap = dict(keymap or DEFAULT_KEYMAP)
        self._fd: int | None = None
        self._lock = threading.Lock()
        self.plugged = False
        self.keys_sent = 0
        self.faults = {"noise_events": 0, "unplugs": 0}
        self.sent: deque[dict[str, Any]] = deque(maxlen=50)

    @property
    def url(self) -> str:
        return str(self.path)

    def start(self) -> HidKeypadEmulator:
        self.replug()
        return self

    def stop(self) -> None:
        self.unplug()

    def replug(self) -> None:
        with self._lock:
            if self.plugged:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            os.mkfifo(self.path)  # posix-only: __init__ refuses without mkfifo
            self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)  # posix-only: as above
            self.plugged = True

    def unplug(self) -> None:
        with self._lock:
            if not self.plugged:
                return
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
            self.plugged = False
            self.faults["unplugs"] += 1

    def _write(self, events: list[tuple[int, int, int]]) -> None:
        from hall.drivers.evaluator.hid_keypad import pack_event

        with self._lock:
            if self._fd is None:
                return
            now = time.time()
            os.write(self._fd, b"".join(pack_event(t, c, v, now) for t, c, v in events))

    def press_code(self, code: int) -> None:
        from hall.drivers.evaluator.hid_keypad import EV_KEY, EV_MSC, EV_SYN, MSC_SCAN

        self._write([(EV_MSC, MSC_SCAN, 0x70000 + code), (EV_KEY, code, 1), (EV_SYN, 0, 0),
                     (EV_KEY, code, 0), (EV_SYN, 0, 0)])
        self.keys_sent += 1
        self.sent.append({"code": code, "level": self.keymap.get(code), "at": round(time.time(), 3)})

    def press(self, level: str) -> int:
        for code, name in self.keymap.items():
            if name == level:
                self.press_code(code)
                return code
        raise ValueError(f"未知的评价等级：{level}")

    def inject_noise(self) -> None:
        """Events a keyboard sends that are not ratings: an unmapped key, auto-repeat, scan codes."""
        from hall.drivers.evaluator.hid_keypad import EV_KEY, EV_MSC, EV_SYN, MSC_SCAN

        unmapped = next(c for c in range(30, 200) if c not in self.keymap)
        mapped = next(iter(self.keymap))
        self._write([(EV_MSC, MSC_SCAN, 0x70004), (EV_KEY, unmapped, 1), (EV_SYN, 0, 0),
                     (EV_KEY, unmapped, 0), (EV_SYN, 0, 0), (EV_KEY, mapped, 2), (EV_SYN, 0, 0)])
        self.faults["noise_events"] += 1

    def fault(self, command: str) -> str:
        """Text commands for the technician page: 1..5 or a level name, noise, unplug, replug."""
        commands = FaultCommands({
            "press": lambda args: self.fault(args[0]) if args else HID_HELP,
            "noise": self._fault_noise, **cable(self),
        }, HID_HELP, otherwise=self._fault_key)
        return commands(command)

    def _fault_key(self, word: str, _args: list[str]) -> str:
        level = key_level(word)
        return HID_HELP if level is None else f"已按下 {level}（键码 {self.press(level)}）"

    def _fault_noise(self, _args: list[str]) -> str:
        self.inject_noise()
        return "已发送非评价按键（未映射键、自动重复）"

    def view(self) -> dict[str, Any]:
        levels = {name: code for code, name in reversed(list(self.keymap.items()))}
        return {
            "name": self.name, "kind": self.kind, "type": "hid", "url": self.url, "plugged": self.plugged,
            "keys": [{"level": name, "code": levels[name]} for name in P.LEVEL_WIRE if name in levels],
            "keys_sent": self.keys_sent, "sent": list(self.sent)[-10:], "faults": dict(self.faults),
        }

