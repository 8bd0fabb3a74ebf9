"""Logging, configured once: console plus a rotating file, with personal data masked."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from hall.security import redact_text

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


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
    console.setFormatter(logging.Formatter(_FORMAT))
    console.addFilter(RedactFilter())
    root.addHandler(console)
    path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "hall.log"
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=10, encoding="utf-8")
        fh.setFormatter(logging.Formatter(_FORMAT))
        fh.addFilter(RedactFilter())
        root.addHandler(fh)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    root._hall_configured = True  # type: ignore[attr-defined]
    return path
