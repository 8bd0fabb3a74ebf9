"""Logging, configured once: console plus a rotating file, with personal data masked."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path
from typing import Any

from hall.security import redact_text

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Masks the whole formatted line, exception text and stack included.

    The filter below only sees the message; a traceback is rendered later, by the
    formatter, and an exception's text often carries what the request held
    (`ValueError: 证件号码 430… 校验位错误`).
    """

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


def setup_logging(log_dir: Path | None, level: str = "INFO") -> Path | None:
    root = logging.getLogger()
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
