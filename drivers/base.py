"""The device worker: one thread per device, a command queue, reconnect with backoff.

A concrete device (printer, LED, evaluator…) subclasses `DeviceWorker` and
supplies `on_connect` (e.g. re-send the LED's content) and, optionally,
`probe` (a cheap health check run when idle) and `poll` (read input, for
devices that talk back, such as evaluators). Callers never touch the
transport: they `submit` a command, which runs on the worker thread.

State changes are logged once when a device goes and once when it returns,
never on every retry.
"""

from __future__ import annotations

import enum
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, TypeVar

from hall.drivers.pace import Pace, paced
from hall.drivers.transport import Transport, TransportError

# dup-ok: a worker's states and names, like drivers/camera/device.py's; the camera is no DeviceWorker
if TYPE_CHECKING:
    from hall.drivers.contracts import EventListener, EventSource

log = logging.getLogger(__name__)

T = TypeVar("T")


class DeviceState(enum.StrEnum):
    CONNECTING = "connecting"
    READY = "ready"
    DEGRADED = "degraded"   # connected but not fully usable (paper near end, NACKs…)
    OFFLINE = "offline"
    STOPPED = "stopped"


STATE_NAMES = {
    DeviceState.CONNECTING: "连接中",
    DeviceState.READY: "正常",
    DeviceState.DEGRADED: "异常",
    DeviceState.OFFLINE: "离线",
    DeviceState.STOPPED: "已停止",
}

Command = Callable[[Transport], Any]


def outcome_within(future: Future[dict[str, Any]], timeout: float, late: str) -> dict[str, Any]:
    """A device test's outcome, waiting no longer than `timeout` (CLI diagnostics); `late` says why not."""
    try:
        return future.result(timeout)
    except FutureTimeout:
        return {"ok": False, "message": late}


class DeviceWorker:
    kind = "device"

    def __init__(self, name: str, transport: Transport, *, emulated: bool = False,
                 backoff_min: float = 0.5, backoff_max: float = 30.0, idle_interval: float = 5.0,
                 pace: Pace | None = None, rest_interval: float | None = None) -> None:
        self.name = name
        self.pace = pace            # busy or at rest (hall.drivers.pace); None: always the busy pace
        self.rest_interval = rest_interval   # `idle_interval` while the hall is at rest (None: unchanged)
        self.transport = transport
        self.emulated = emulated
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.idle_interval = idle_interval
        self.state = DeviceState.STOPPED
        self.detail = ""            # why degraded (e.g. 纸将尽)
        self.last_error = ""
        self.last_error_at: float | None = None
        self.last_ok_at: float | None = None
        self.rtt_ms: float | None = None
        self._commands: queue.Queue[tuple[Command, Future[Any]] | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[DeviceWorker], None]] = []
        self._was_online = False
        self._listening = False         # hub events are wanted (the hub listener checks it)
        self._hub_listener_added = False
        # Run on the worker's own thread each time it has done its work and is about to wait. The
        # composition root sets it to hand the thread's SQLite connection back to the pool
        # (hall.store.db.Database.release): a device that read the queue once (an LED's snapshot, a
        # printer's ticket) would otherwise pin a warm connection (~0.5 MB) for the service's life.
        self.after_work: Callable[[], None] | None = None

    # ----------------------------------------------------------------- public
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self.state = DeviceState.CONNECTING
        self._thread = threading.Thread(target=self._run, name=f"device-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._listening = False
        self._stop.set()
        self._commands.put(None)
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self.transport.close()
        self._set_state(DeviceState.STOPPED)

    def submit(self, command: Callable[[Transport], T]) -> Future[T]:
        """Run `command(transport)` on the worker thread; the future holds its result or error."""
        fut: Future[T] = Future()
        if self.state in (DeviceState.OFFLINE, DeviceState.STOPPED) and self._stop.is_set():
            fut.set_exception(TransportError(f"{self.name} 已停止 / stopped"))
            return fut
        self._commands.put((command, fut))
        self.wake()
        return fut

    def has_commands(self) -> bool:
        """Whether a command waits for the worker (a `poll` that listens long ends early for it)."""
        return not self._commands.empty()

    def wake(self) -> None:
        """Make the worker look at its queue now: for kinds whose `poll` blocks on the line (a keypad
        listening until its next heartbeat), which the queue alone would not end."""

    def on_state_change(self, fn: Callable[[DeviceWorker], None]) -> None:
        self._listeners.append(fn)

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": str(self.state),
            "state_name": STATE_NAMES[self.state],
            "detail": self.detail,
            "url": self.transport.url,
            "emulated": self.emulated,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_ok_at": self.last_ok_at,
            "rtt_ms": self.rtt_ms,
            "pending": self._commands.qsize(),
        }

    @property
    def online(self) -> bool:
        return self.state in (DeviceState.READY, DeviceState.DEGRADED)

    # --------------------------------------------------------------- for kinds
    def on_connect(self, transport: Transport) -> None:
        """Called on the worker thread after each (re)connect; raise to fail it."""

    def probe(self, transport: Transport) -> None:
        """Cheap health check when idle; raise TransportError when the device is gone."""

    def poll(self, transport: Transport) -> None:
        """Read input from devices that talk back; called between commands."""

    def poll_interval(self) -> float:
        """How long to wait for a command before polling or probing again: longer while the hall rests."""
        return self.idle_interval if self.rest_interval is None else paced(self.pace, self.idle_interval,
                                                                             self.rest_interval)

    def listen(self, hub: EventSource, listener: EventListener) -> None:
        """Hear hub events in `listener` from now on (call in `start`). The hub has no remove, so the
        listener is added once and `stop()` mutes it: it must return at once while `_listening` is false."""
        if not self._hub_listener_added:
            hub.add_listener(listener)
            self._hub_listener_added = True
        self._listening = True

    def set_degraded(self, detail: str) -> None:
        self.detail = detail
        self._set_state(DeviceState.DEGRADED if detail else DeviceState.READY)

    # ---------------------------------------------------------------- internal
    def _set_state(self, state: DeviceState) -> None:
        if state == self.state:
            return
        self.state = state
        for fn in list(self._listeners):
            try:
                fn(self)
            except Exception:
                log.exception("state listener of %s failed", self.name)

    def _fail(self, exc: BaseException) -> None:
        self.last_error = str(exc) or exc.__class__.__name__
        self.last_error_at = time.time()
        if self._was_online:
            log.warning("device %s (%s) went offline: %s", self.name, self.transport.url, self.last_error)
            self._was_online = False
        self.transport.close()
        self._set_state(DeviceState.OFFLINE)

    def _connect(self) -> bool:
        try:
            t0 = time.monotonic()
            self.transport.open()
            self.on_connect(self.transport)
            self.rtt_ms = round((time.monotonic() - t0) * 1000, 1)
        except (OSError, TransportError) as exc:
            self._fail(exc)
            return False
        except Exception as exc:  # a device-kind bug must not kill the worker: retry with backoff
            log.exception("connecting %s failed", self.name)
            self._fail(exc)
            return False
        self.last_ok_at = time.time()
        if not self._was_online:
            log.info("device %s (%s) is online", self.name, self.transport.url)
            self._was_online = True
        if self.state != DeviceState.DEGRADED:
            self._set_state(DeviceState.READY)
        return True

    def _run(self) -> None:
        backoff = self.backoff_min
        first = True
        while not self._stop.is_set():
            if not self.transport.is_open:
                if not first:
                    self._set_state(DeviceState.OFFLINE if self.last_error else DeviceState.CONNECTING)
                first = False
                if not self._connect():
                    self._drain_failed()
                    self._done_working()
                    delay = backoff * (0.75 + random.random() / 2)
                    backoff = min(self.backoff_max, backoff * 2)
                    if self._stop.wait(delay):
                        return
                    continue
                backoff = self.backoff_min
            self._done_working()
            try:
                item = self._commands.get(timeout=self.poll_interval())
            except queue.Empty:
                item = None
                try:
                    self.poll(self.transport)
                    self.probe(self.transport)
                except (OSError, TransportError) as exc:
                    self._fail(exc)
                except Exception as exc:  # a device-kind bug: reconnect rather than let the worker die
                    log.exception("probe of %s failed", self.name)
                    self._fail(exc)
                continue
            if item is None:
                continue
            command, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = command(self.transport)
            except (OSError, TransportError) as exc:
                fut.set_exception(exc)
                self._fail(exc)
            except Exception as exc:  # a device-kind bug: report it, keep the worker alive
                log.exception("command on %s failed", self.name)
                fut.set_exception(exc)
            else:
                self.last_ok_at = time.time()
                fut.set_result(result)
            try:
                self.poll(self.transport) if self.transport.is_open else None
            except (OSError, TransportError) as exc:
                self._fail(exc)

    def _done_working(self) -> None:
        if self.after_work is None:
            return
        try:
            self.after_work()
        except Exception:   # a failing hook must not stop the device
            log.exception("after-work hook of %s failed", self.name)

    def _drain_failed(self) -> None:
        """While offline, commands fail at once so callers can tell the citizen."""
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return
            if item is None:
                continue
            _, fut = item
            if fut.set_running_or_notify_cancel():
                fut.set_exception(TransportError(f"{self.name} 离线 / offline: {self.last_error}"))


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Poll `predicate` until true or timeout; for tests, diagnostics and the demo."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
