"""No full ID or phone number reaches the log file: messages, exception text and tracebacks alike."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.logsetup import setup_logging

ID = "430224198001011237"
PHONE = "13812345678"


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The service's logging, set up as `kiosk serve` does, then put back as it was."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, getattr(root, "_hall_configured", False))
    root.handlers = [h for h in root.handlers if type(h).__name__ == "LogCaptureHandler"]
    if hasattr(root, "_hall_configured"):
        del root._hall_configured
    path = setup_logging(tmp_path / "logs")
    assert path is not None
    yield path
    for h in root.handlers:
        if h not in saved[0]:
            h.close()
    root.handlers, root.level = saved[0], saved[1]
    root._hall_configured = saved[2]  # type: ignore[attr-defined]


def _flush() -> None:
    for h in logging.getLogger().handlers:
        h.flush()


def test_a_traceback_raised_through_a_route_is_masked(log_file: Path, client: Any) -> None:
    app = client.application

    def lookup(cert: str) -> str:
        # an error whose text carries what the request held, as a parser's or a driver's would
        raise ValueError(f"证件号码 {cert} 校验失败，联系电话 {PHONE}")

    app.add_url_rule("/api/test-boom/<cert>", "test_boom", lambda cert: lookup(cert), methods=["POST"])
    r = client.post(f"/api/test-boom/{ID}", json={"phone": PHONE}, headers={"Origin": "http://localhost"})
    assert r.status_code == 500 and ID not in r.get_data(as_text=True)
    _flush()
    text = log_file.read_text("utf-8")
    assert "Traceback" in text and "ValueError" in text   # the traceback was logged …
    assert "430***********1237" in text and "138****5678" in text   # … masked
    assert ID not in text and PHONE not in text


def test_exception_text_stack_and_arguments_are_masked(log_file: Path) -> None:
    log = logging.getLogger("hall.test")
    try:
        raise RuntimeError(f"printer said {ID}")
    except RuntimeError:
        log.exception("failed for %s", PHONE)
    log.warning("stack for %s", ID, stack_info=True)
    _flush()
    text = log_file.read_text("utf-8")
    assert text.count("430***********1237") >= 2 and "138****5678" in text
    assert ID not in text and PHONE not in text


def test_log_lines_carry_hall_time_with_its_offset(log_file: Path) -> None:
    """The technician reads the log in hall time, whatever zone the PC runs in (often UTC)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from hall.logsetup import RedactingFormatter, hall_zone, use_hall_time

    saved = RedactingFormatter.zone
    try:
        use_hall_time(hall_zone("Asia/Shanghai"))
        before = datetime.now(ZoneInfo("Asia/Shanghai"))
        logging.getLogger("hall.test").warning("hall-time probe")
        _flush()
        line = next(x for x in log_file.read_text("utf-8").splitlines() if "hall-time probe" in x)
        stamp = datetime.strptime(line[:29], "%Y-%m-%d %H:%M:%S,%f %z")
        assert line[24:29] == "+0800"
        floor = before.replace(microsecond=before.microsecond // 1000 * 1000)    # the log keeps milliseconds
        assert timedelta(0) <= stamp - floor < timedelta(seconds=5)
        assert hall_zone("Not/AZone") is None        # a zone this PC lacks: the system's, not a crash
    finally:
        use_hall_time(saved)
