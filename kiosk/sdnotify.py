"""systemd's readiness and watchdog notifications (sd_notify), without libsystemd.

The unit runs with `Type=notify` and `WatchdogSec=`: systemd marks the hall
service started only once it can really answer (READY=1 after the server
socket is bound), and kills and restarts it when the feeding thread stops
(a wedged process is worse than a restarted one in a hall). The protocol is
one datagram per message on the AF_UNIX socket named in $NOTIFY_SOCKET, so a
dozen lines of stdlib beat a dependency (`systemd-python` needs libsystemd
headers to build; `sdnotify` is unmaintained). Everything is a no-op when the
variable is unset or the platform has no AF_UNIX (Windows), so the core stays
portable.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Notifier:
    """Sends state lines to systemd; silent when not started by systemd."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        addr = env.get("NOTIFY_SOCKET", "")
        self._addr: str | None = None
        if addr and hasattr(socket, "AF_UNIX"):
            # "@name" is the abstract namespace: a leading NUL byte on the wire.
            self._addr = "\0" + addr[1:] if addr.startswith("@") else addr
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        self.watchdog_seconds: float | None = None
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_seconds = int(usec) / 1_000_000
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self._addr is not None

    def notify(self, state: str) -> bool:
        """Send one message (e.g. "READY=1"); False when there is nobody to tell or it failed."""
        if self._addr is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.connect(self._addr)
                s.sendall(state.encode("utf-8"))
            return True
        except OSError as exc:
            # systemd gone or the socket not writable: the service itself must go on.
            log.warning("sd_notify %r failed: %s", state.split("\n")[0], exc)
            return False

    def ready(self, status: str = "", healthy: Callable[[], bool] | None = None) -> None:
        self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))
        self.start_watchdog(healthy)

    def stopping(self) -> None:
        self._stop.set()
        self.notify("STOPPING=1")

    def start_watchdog(self, healthy: Callable[[], bool] | None = None) -> None:
        """Feed WATCHDOG=1 at half the interval systemd asked for, from a daemon thread.

        `healthy` (e.g. "the database answers") is asked before each feed, so a
        service that is alive but can no longer serve gets restarted too.
        """
        if self._addr is None or self.watchdog_seconds is None or self._thread is not None:
            return
        interval = self.watchdog_seconds / 2

        def feed() -> None:
            while not self._stop.wait(interval):
                try:
                    ok = healthy() if healthy is not None else True
                except Exception:
                    ok = False
                if ok:
                    self.notify("WATCHDOG=1")
                else:
                    log.error("health check failed: not feeding the systemd watchdog")

        self.notify("WATCHDOG=1")
        self._thread = threading.Thread(target=feed, name="sd-watchdog", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
