"""A virtual speaker: what the voice device would have played, for the demo and the technician page.

It "plays" a rendered WAV by recording it (text, what the engine was given,
file, duration, start and end), optionally taking a fraction of the real
duration so ordering and overlap can be observed, and can fail on command like
a broken sound card.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from hall.drivers.emulators.faults import FaultCommands

FAULT_HELP = "命令：fail [N]  让接下来 N 次播报失败"


class SpeakerFault(RuntimeError):
    pass


class VirtualSpeaker:
    kind = "voice"

    def __init__(self, name: str = "voice", *, realtime: float = 0.0, keep: int = 100) -> None:
        self.name = name
        self.realtime = realtime          # 0: instant; 1.0: as long as the real audio
        self.history: deque[dict[str, Any]] = deque(maxlen=keep)
        self.playing: dict[str, Any] | None = None
        self.count = 0
        self._fail_next = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    def play(self, path: Path, *, duration: float, text: str, spoken: str) -> dict[str, Any]:
        with self._lock:
            if self._fail_next > 0:
                self._fail_next -= 1
                raise SpeakerFault("模拟故障：声卡无响应")
            entry = {"text": text, "spoken": spoken, "wav": path.name, "duration_s": round(duration, 2),
                     "started": time.monotonic(), "ended": None, "at": round(time.time(), 3)}
            self.playing = entry
        if self.realtime > 0:
            self._stopped.wait(duration * self.realtime)
        with self._lock:
            entry["ended"] = time.monotonic()
            self.playing = None
            self.history.append(entry)
            self.count += 1
        return entry

    def fail_next(self, n: int = 1) -> None:
        with self._lock:
            self._fail_next += n

    def fault(self, command: str) -> str:
        """`fail [N]`: the next N announcements fail like a broken sound card."""
        return FaultCommands({"fail": self._fault_fail}, FAULT_HELP)(command)

    def _fault_fail(self, args: list[str]) -> str:
        n = int(args[0]) if args and args[0].isdigit() else 1
        self.fail_next(n)
        return f"接下来 {n} 次播报将失败（模拟声卡故障）"

    def view(self) -> dict[str, Any]:
        with self._lock:
            return {
                "name": self.name, "kind": self.kind,
                "playing": dict(self.playing) if self.playing else None,
                "count": self.count,
                "history": [{k: v for k, v in e.items() if k not in ("started", "ended")}
                            for e in list(self.history)[-20:]],
            }

    def stop(self) -> None:
        self._stopped.set()
