"""The hall's pace as devices see it: busy while people are served, at rest after a quiet spell.

A hall PC is often fanless and spends most of its hours with nobody at the
counters (lunch, evenings, quiet weekdays in a small township). Devices that
must be asked whether anything happened (an ID-card reader polled for a card,
a keypad's heartbeat, a printer's paper sensor, an LED screen's ping) need
not ask twice a second while nobody is there. While the hall is busy they
keep the pace that serves people; after `rest_after` seconds without a
ticket, call, rating, card read or case, they ask less often, and the first
such event puts every device back at the busy pace.

What that costs at rest is latency of things nobody is waiting for: a card
placed on a resting reader is found within its rest interval instead of half
a second; a keypad or screen that dies unseen is flagged a little later. A
prompt, a ticket to print or a board to update always wakes its device at
once (they arrive as commands or events, not by polling).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hall.drivers.contracts import HallEvent

#: seconds without a citizen's or clerk's action before devices slow their polling
REST_AFTER = 120.0

#: event kinds (prefix before the dot) that mean somebody is being served; device and relay chatter is not
ACTIVITY = frozenset({"ticket", "rating", "appointment", "window", "case", "complaint", "idcard", "card",
                      "village"})


class Pace:
    """Thread-safe enough by design: one float written by the hub's thread, read by device workers."""

    def __init__(self, rest_after: float = REST_AFTER, clock: Callable[[], float] = time.monotonic) -> None:
        self.rest_after = rest_after
        self._clock = clock
        self._last = clock()               # a service that just started is busy: devices connect at full pace
        self._lock = threading.Lock()
        self.wakes = 0                     # how often the hall came back from rest (technician status)

    def listener(self, event: HallEvent) -> None:
        """EventHub listener: any event a person caused marks the hall busy (no I/O, returns at once)."""
        if event.kind.split(".", 1)[0] in ACTIVITY:
            self.touch()

    def touch(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last >= self.rest_after:
                self.wakes += 1
            self._last = now

    def quiet_for(self) -> float:
        return max(0.0, self._clock() - self._last)

    def resting(self) -> bool:
        return self.quiet_for() >= self.rest_after

    def pick(self, busy: float, rest: float) -> float:
        """`busy` while people are served, else the longer of `busy` and `rest`."""
        return max(busy, rest) if self.resting() else busy

    def status(self) -> dict[str, object]:
        quiet = self.quiet_for()
        return {"resting": quiet >= self.rest_after, "quiet_s": round(quiet, 1), "rest_after_s": self.rest_after,
                "wakes": self.wakes}


def paced(pace: Pace | None, busy: float, rest: float) -> float:
    """`pace.pick(busy, rest)`, or `busy` for a device built without a pace (tests, CLI tools)."""
    return busy if pace is None else pace.pick(busy, rest)
