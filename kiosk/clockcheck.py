"""Is the hall PC's clock right? Compared with the county platform's `Date` header and optional SNTP servers.

Numbering restarts at local midnight and case deadlines count days, so a PC
clock that is minutes off (a dead CMOS battery, a PC that never synced)
misdates records the county receives. The hall has no internet, so the
references are what the extranet offers: every answer from the county
carries an HTTP `Date` header (1 s resolution, plenty for a 2-minute limit),
and an SNTP server where the county runs one. The last comparison is kept;
beyond `[clock] max_offset_seconds` it is a warning on /healthz and the
technician page. The check never changes the clock: that is the operating
system's job, and a service that set it would fight NTP daemons.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from hall.config.schema import ClockCheck

log = logging.getLogger(__name__)

NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


def sntp_offset(server: str, *, timeout: float = 2.0, wall: Callable[[], float] = time.time) -> float:
    """Seconds to add to our clock to match `server` ("host" or "host:port"); raises OSError / ValueError."""
    host, _, port = server.partition(":")
    addr = (host, int(port or 123))
    packet = b"\x23" + 47 * b"\0"  # LI 0, version 4, mode 3 (client)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        t1 = wall()
        s.sendto(packet, addr)
        data, _ = s.recvfrom(512)
        t4 = wall()
    if len(data) < 48:
        raise ValueError(f"short SNTP answer ({len(data)} bytes)")
    mode, stratum = data[0] & 0x07, data[1]
    if mode not in (4, 5) or stratum == 0:
        raise ValueError(f"SNTP server refused (mode {mode}, stratum {stratum})")

    def ts(offset: int) -> float:
        secs, frac = struct.unpack("!II", data[offset:offset + 8])
        return secs - NTP_EPOCH_OFFSET + frac / 2**32

    t2, t3 = ts(32), ts(40)
    return ((t2 - t1) + (t3 - t4)) / 2


class ClockMonitor:
    def __init__(self, settings: ClockCheck, *, wall: Callable[[], float] = time.time,
                 ntp: Callable[[str], float] | None = None) -> None:
        self.settings = settings
        self.wall = wall
        self._ntp = ntp or (lambda server: sntp_offset(server, wall=wall))
        self._lock = threading.Lock()
        self.offset: float | None = None     # reference minus ours, seconds
        self.source = ""
        self.checked_at: float | None = None
        self._last_ntp: float | None = None
        self._warned = False
        self.ntp_error = ""

    def observe(self, offset: float, source: str) -> None:
        with self._lock:
            self.offset, self.source, self.checked_at = offset, source, self.wall()
            off = abs(offset) > self.settings.max_offset_seconds
        if off and not self._warned:
            log.warning("hall PC clock differs from %s by %+.0f s: set the PC's time", source, offset)
        elif not off and self._warned:
            log.info("hall PC clock agrees with %s again (%+.1f s)", source, offset)
        self._warned = off

    def observe_date_header(self, value: str | None, received_at: float | None = None) -> None:
        """Called with each county answer's `Date` header (the relay's client sees them all)."""
        if not value:
            return
        try:
            theirs = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return
        ours = received_at if received_at is not None else self.wall()
        # Date is truncated to the second: on average the answer left half a second later.
        self.observe(theirs + 0.5 - ours, "county")

    def tick(self, now: datetime | None = None) -> None:
        """At start and every `check_minutes`: ask the configured SNTP servers (first that answers)."""
        servers = self.settings.ntp_servers
        t = self.wall()
        if not servers or (self._last_ntp is not None and t - self._last_ntp < self.settings.check_minutes * 60):
            return
        self._last_ntp = t
        errors = []
        for server in servers:
            try:
                self.observe(self._ntp(server), f"ntp:{server}")
                self.ntp_error = ""
                return
            except (OSError, ValueError) as exc:
                errors.append(f"{server}: {exc}")
        self.ntp_error = "；".join(errors)
        log.warning("no SNTP server answered: %s", self.ntp_error)

    def status(self) -> dict[str, Any]:
        with self._lock:
            offset, source, checked = self.offset, self.source, self.checked_at
        warning = ""
        if offset is not None and abs(offset) > self.settings.max_offset_seconds:
            ref = "县级平台" if source == "county" else f"时间服务器 {source.removeprefix('ntp:')}"
            direction = "慢" if offset > 0 else "快"
            limit = _span(self.settings.max_offset_seconds)
            warning = (f"本机时钟比{ref}{direction} {_span(abs(offset))}（超过 {limit}）"
                       "：请校准电脑时间，取号日期和办理时限都依赖它")
        return {
            "offset_seconds": round(offset, 1) if offset is not None else None,
            "source": source,
            "checked_at": (datetime.fromtimestamp(checked).astimezone().isoformat(timespec="seconds")
                           if checked is not None else None),
            "max_offset_seconds": self.settings.max_offset_seconds,
            "ntp_error": self.ntp_error,
            "warning": warning,
        }


def _span(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分 {s % 60} 秒" if s % 60 else f"{s // 60} 分钟"
    return f"{s // 3600} 小时 {s % 3600 // 60} 分"
