"""The hall clock: numbering across a clock set backwards over midnight, and the offset check (county Date, SNTP)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from hall.clockcheck import NTP_EPOCH_OFFSET, ClockMonitor, sntp_offset
from hall.config.schema import ClockCheck, HallConfig
from hall.queue.clock import FixedClock
from hall.relay.county_sim import CountySimulator
from hall.services import build_services

SECRET = "clock-test-secret-0123456789"


def test_clock_set_back_across_midnight_does_not_restart_numbering(tmp_path: Path, config: HallConfig) -> None:
    hours = config.hall.hours.model_copy(update={"enforce": False})
    cfg = config.model_copy(update={"hall": config.hall.model_copy(update={"hours": hours})})
    clock = FixedClock(datetime(2026, 11, 25, 23, 50))
    svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
    try:
        eng = svc.engine
        assert [eng.issue("A").ticket.number for _ in range(3)] == ["A001", "A002", "A003"]
        clock.set(datetime(2026, 11, 26, 0, 5))  # midnight: numbering restarts once
        assert eng.roll_over() == 3
        assert [eng.issue("A").ticket.number for _ in range(2)] == ["A001", "A002"]
        waiting_before = eng.snapshot()["categories"][0]["waiting"]

        clock.set(datetime(2026, 11, 25, 23, 58))  # someone sets the PC clock back 7 minutes
        assert eng.roll_over() == 0  # today's waiting tickets are not closed as "yesterday's"
        t = eng.issue("A").ticket
        assert (t.number, t.service_date) == ("A003", "2026-11-26")  # today's numbering goes on
        assert eng.snapshot()["date"] == "2026-11-26"
        assert eng.snapshot()["categories"][0]["waiting"] == waiting_before + 1

        clock.set(datetime(2026, 11, 26, 0, 1))  # the clock passes midnight a second time
        assert eng.roll_over() == 0
        assert eng.issue("A").ticket.number == "A004"  # no second restart
        # first come, first served although the clock stepped back: A001..A004 in issue order
        keys = [r[0] for r in svc.db.conn.execute(
            "SELECT number FROM tickets WHERE service_date = '2026-11-26' ORDER BY queue_key")]
        assert keys == ["A001", "A002", "A003", "A004"]

        # a restart while the clock is still behind keeps the day too (it comes from the database)
        svc.stop()
        clock.set(datetime(2026, 11, 25, 23, 59))
        svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
        assert svc.engine.issue("A").ticket.number == "A005"

        # a clock that had run days into the future and is corrected is followed, not held
        clock.set(datetime(2026, 11, 20, 9, 0))
        assert svc.engine.issue("A").ticket.number == "A001"
    finally:
        svc.stop()


class FakeSntp:
    """An SNTP server on loopback whose time is ours plus `shift` seconds."""

    def __init__(self, shift: float) -> None:
        self.shift = shift
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                _, peer = self.sock.recvfrom(512)
            except OSError:
                return
            now = time.time() + self.shift + NTP_EPOCH_OFFSET
            stamp = struct.pack("!II", int(now), int((now % 1) * 2**32))
            reply = bytes([0x24, 2, 0, 0]) + bytes(28) + stamp + stamp  # version 4, mode 4, stratum 2
            self.sock.sendto(reply, peer)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def sntp_off() -> Iterator[FakeSntp]:
    s = FakeSntp(shift=300.0)
    yield s
    s.close()


def test_sntp_offset_is_measured_and_warned_beyond_two_minutes(sntp_off: FakeSntp) -> None:
    assert sntp_offset(sntp_off.address) == pytest.approx(300.0, abs=1.0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # the first server never answers: the next one is asked
        dead = f"127.0.0.1:{silent.getsockname()[1]}"
        mon = ClockMonitor(ClockCheck(ntp_servers=[dead, sntp_off.address], check_minutes=60),
                           ntp=lambda server: sntp_offset(server, timeout=0.3))
        mon.tick()
    st = mon.status()
    assert st["offset_seconds"] == pytest.approx(300.0, abs=1.0) and st["source"] == f"ntp:{sntp_off.address}"
    assert "慢 5 分钟" in st["warning"] and "超过 2 分钟" in st["warning"]
    mon.observe(30.0, "county")  # within the limit: the warning goes
    assert mon.status()["warning"] == ""


def test_no_ntp_server_answering_is_reported_not_fatal() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))  # bound, never answers
        addr = f"127.0.0.1:{s.getsockname()[1]}"
        mon = ClockMonitor(ClockCheck(ntp_servers=[addr]),
                           ntp=lambda server: sntp_offset(server, timeout=0.2))
        mon.tick()
    st = mon.status()
    assert st["offset_seconds"] is None and st["warning"] == "" and addr in st["ntp_error"]


def test_county_date_header_feeds_the_check_and_healthz_warns(tmp_path: Path, config: HallConfig,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_COUNTY_SECRET", SECRET)
    with CountySimulator(secrets={"430224100-BMFW": SECRET.encode()}) as sim:
        county = config.county.model_copy(update={"endpoint": sim.url, "timeout_seconds": 2.0})
        svc = build_services(config.model_copy(update={"county": county}), tmp_path,
                             clock=FixedClock(datetime(2026, 11, 25, 9)), with_devices=False)
        try:
            from hall.web.app import create_app

            client = create_app(svc, {"TESTING": True}).test_client()
            assert svc.relay is not None and svc.clock_check is not None
            svc.relay.fetch_reasons()  # any answer carries a Date header
            st = client.get("/healthz").get_json()["clock"]
            assert st["source"] == "county" and abs(st["offset_seconds"]) < 3 and st["warning"] == ""
            # the same check with a PC clock 3 minutes fast
            svc.clock_check.wall = lambda: time.time() + 180
            svc.relay.fetch_reasons()
            body: dict[str, Any] = client.get("/healthz").get_json()
            assert body["clock"]["offset_seconds"] == pytest.approx(-180, abs=3)
            assert [w["item"] for w in body["warnings"]] == ["clock"]
            assert "快 3 分钟" in body["warnings"][0]["message"] and "县级平台" in body["warnings"][0]["message"]
        finally:
            svc.stop()


def test_date_header_parsing_ignores_garbage() -> None:
    mon = ClockMonitor(ClockCheck(), wall=lambda: 1_000_000.0)
    mon.observe_date_header("not a date")
    mon.observe_date_header(None)
    assert mon.status()["offset_seconds"] is None
    mon.observe_date_header(formatdate(1_000_000.0 + 600, usegmt=True))
    assert mon.status()["offset_seconds"] == pytest.approx(600.5)


def test_every_issue_writes_its_event_in_the_same_transaction(tmp_path: Path, config: HallConfig) -> None:
    svc = build_services(config, tmp_path, clock=FixedClock(datetime(2026, 11, 25, 9)), with_devices=False)
    try:
        ids = [svc.engine.issue("A").ticket.id for _ in range(4)]
        rows = [tuple(r) for r in svc.db.conn.execute(
            "SELECT ticket_id FROM ticket_events WHERE action = 'issue' ORDER BY ticket_id")]
        assert rows == [(i,) for i in ids]
    finally:
        svc.stop()
