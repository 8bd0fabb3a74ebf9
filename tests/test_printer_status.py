"""DLE EOT status bytes: what each reply means, as byte tables."""

from __future__ import annotations

import pytest
from hall.drivers.printer.status import (
    REQ_HEALTH,
    REQ_PAPER,
    REQ_PRINTER,
    Paper,
    is_status_byte,
    offline_cause_byte,
    paper_status_byte,
    parse_health,
    parse_offline_cause,
    parse_paper_status,
    parse_printer_status,
    printer_status_byte,
)


def test_requests_are_dle_eot_n() -> None:
    assert REQ_PRINTER == b"\x10\x04\x01"
    assert REQ_PAPER == b"\x10\x04\x04"
    assert REQ_HEALTH == b"\x10\x04\x01\x10\x04\x04"


@pytest.mark.parametrize(
    ("byte", "paper"),
    [
        (0x12, Paper.OK),
        (0x1E, Paper.NEAR_END),   # near-end sensor bits 2-3
        (0x16, Paper.NEAR_END),   # one near-end bit is enough
        (0x72, Paper.OUT),        # end sensor bits 5-6
        (0x7E, Paper.OUT),        # both sensors: out wins
        (0x32, Paper.OUT),
    ],
)
def test_paper_status_table(byte: int, paper: Paper) -> None:
    assert parse_paper_status(byte) == paper


@pytest.mark.parametrize(
    ("byte", "online", "waiting", "feed"),
    [
        (0x12, True, False, False),
        (0x1A, False, False, False),   # bit 3: offline
        (0x3A, False, True, False),    # bit 5: waiting for online recovery
        (0x52, True, False, True),     # bit 6: feed button pressed
        (0x16, True, False, False),    # bit 2: drawer pin, not our business
    ],
)
def test_printer_status_table(byte: int, online: bool, waiting: bool, feed: bool) -> None:
    s = parse_printer_status(byte)
    assert (s.online, s.waiting_recovery, s.feed_button) == (online, waiting, feed)


@pytest.mark.parametrize(
    ("byte", "cover", "paper_stop", "error"),
    [(0x12, False, False, False), (0x16, True, False, False), (0x32, False, True, False),
     (0x52, False, False, True)],
)
def test_offline_cause_table(byte: int, cover: bool, paper_stop: bool, error: bool) -> None:
    c = parse_offline_cause(byte)
    assert (c.cover_open, c.paper_end_stop, c.error) == (cover, paper_stop, error)


@pytest.mark.parametrize("noise", [0x00, 0x11, 0x13, 0x10, 0x92, 0xFF, 0x0A, 0x93])
def test_noise_is_not_a_status_byte(noise: int) -> None:
    # XON/XOFF (0x11/0x13) on a serial line, stray bytes: never read as a state.
    assert not is_status_byte(noise)
    with pytest.raises(ValueError):
        parse_paper_status(noise)


def test_encoders_round_trip() -> None:
    for paper in (Paper.OK, Paper.NEAR_END, Paper.OUT):
        assert parse_paper_status(paper_status_byte(paper)) == paper
    assert paper_status_byte(Paper.OK) == 0x12
    assert paper_status_byte(Paper.NEAR_END) == 0x1E
    assert paper_status_byte(Paper.OUT) == 0x7E
    assert printer_status_byte(online=True) == 0x12
    assert printer_status_byte(online=False) == 0x1A
    assert parse_offline_cause(offline_cause_byte(cover_open=True)).cover_open


@pytest.mark.parametrize(
    ("reply", "can_print", "message"),
    [
        (b"\x12\x12", True, "打印机正常"),
        (b"\x12\x1e", True, "打印纸即将用完"),
        (b"\x1a\x72", False, "打印机缺纸"),
        (b"\x1a\x12", False, "打印机脱机（可能是纸仓盖未合上）"),
    ],
)
def test_health_from_two_replies(reply: bytes, can_print: bool, message: str) -> None:
    h = parse_health(reply)
    assert h.can_print is can_print
    assert h.message == message


def test_health_needs_two_status_bytes() -> None:
    with pytest.raises(ValueError):
        parse_health(b"\x12")
    with pytest.raises(ValueError):
        parse_health(b"\x12\x00")
