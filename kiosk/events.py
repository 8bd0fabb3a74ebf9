"""The event hub: fans queue and device events out to screens and device workers.

Events carry a monotonically increasing id and sit in a bounded ring buffer,
so an `EventSource` that reconnects with `Last-Event-ID` receives what it
missed (or is told to resync from a snapshot when it fell too far behind).
`publish` never blocks on a slow subscriber: it appends and notifies.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    data: dict[str, Any]
    at: float


class StreamLimit(Exception):
    """More live streams than the server can hold threads for."""


class EventHub:
    def __init__(self, buffer: int = 2000, max_streams: int = 16, first_id: int = 1) -> None:
        # The composition root starts ids at the boot time in ms, so ids never repeat across
        # restarts and a browser's Last-Event-ID from before a restart is recognised (resync).
        self._base = first_id - 1
        self._events: deque[Event] = deque(maxlen=buffer)
        self._ids = itertools.count(first_id)
        self._cond = threading.Condition()
        self._listeners: list[Callable[[Event], None]] = []
        self.max_streams = max_streams
        self._streams = 0
        self._closed = False

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        with self._cond:
            ev = Event(next(self._ids), kind, data, time.time())
            self._events.append(ev)
            self._cond.notify_all()
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(ev)
            except Exception:  # a broken listener must not break the publisher
                log.exception("event listener %r failed on %s", fn, kind)
        return ev

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """In-process listeners (device managers); they must only enqueue, never block."""
        with self._cond:
            self._listeners.append(fn)

    @property
    def last_id(self) -> int:
        with self._cond:
            return self._events[-1].id if self._events else self._base

    def since(self, last_id: int) -> tuple[list[Event], bool]:
        """Events after `last_id`, and whether some were already dropped (then resync)."""
        with self._cond:
            if not self._events:
                return [], last_id != self._base
            first, last = self._events[0].id, self._events[-1].id
            # an id this hub never gave out (another life of the service) also means resync
            stale = last_id > last or last_id < self._base
            gap = stale or (last_id + 1 < first and last_id < last)
            return [e for e in self._events if e.id > last_id], gap

    def wait(self, last_id: int, timeout: float) -> tuple[list[Event], bool]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                events, gap = self.since(last_id)
                if events or gap:
                    return events, gap
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        return [], False

    def open_stream(self) -> None:
        with self._cond:
            if self._streams >= self.max_streams:
                raise StreamLimit()
            self._streams += 1

    def close_stream(self) -> None:
        with self._cond:
            self._streams = max(0, self._streams - 1)

    @property
    def streams(self) -> int:
        with self._cond:
            return self._streams

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
