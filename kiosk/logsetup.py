"""Logging, configured once: console plus a rotating file, with personal data masked."""

from __future__ import annotations

import logging
import logging.handlers
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hall.security import redact_text

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Masks the whole formatted line, exception text and stack included.

    The filter below only sees the message; a traceback is rendered later, by the
    formatter, and an exception's text often carries what the request held
    (`ValueError: 证件号码 430… 校验位错误`).

    Times are the hall's (config `hall.timezone`) with their offset, not the server's zone: a hall
    PC often runs in UTC, and a technician comparing the log with the hall's clock was 8 h off.
    """

    zone: tzinfo | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        zone = self.zone
        if zone is None:
            return super().formatTime(record, datefmt)
        t = datetime.fromtimestamp(record.created, zone)
        return f"{t:%Y-%m-%d %H:%M:%S},{int(record.msecs):03d} {t:%z}"

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))

    def formatException(self, ei: Any) -> str:
        # also what Formatter caches in record.exc_text, so another handler reusing it gets masked text
        return redact_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact_text(super().formatStack(stack_info))


class RedactFilter(logging.Filter):
    """No ID or phone number reaches a log line, whoever wrote the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        red = redact_text(msg)
        if red != msg:
            record.msg, record.args = red, None
        return True


def hall_zone(name: str) -> tzinfo | None:
    """The IANA zone `name`, or None (the system's) if this machine lacks it (Windows without tzdata)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def use_hall_time(zone: tzinfo | None) -> None:
    """Stamp log lines in the hall's zone from now on (once the config says which it is)."""
    RedactingFormatter.zone = zone


def setup_logging(log_dir: Path | None, level: str = "INFO", zone: tzinfo | None = None) -> Path | None:
    root = logging.getLogger()
    if zone is not None:
        use_hall_time(zone)
    if getattr(root, "_hall_configured", False):
        return None
    root.setLevel(level)
    console = logging.StreamHandler()
    console.setFormatter(RedactingFormatter(_FORMAT))
    console.addFilter(RedactFilter())
    root.addHandler(console)
    path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "hall.log"
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=10, encoding="utf-8")
        fh.setFormatter(RedactingFormatter(_FORMAT))
        fh.addFilter(RedactFilter())
        root.addHandler(fh)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    root._hall_configured = True  # type: ignore[attr-defined]
    return path
