"""Devices rest when the hall is quiet (hall.drivers.pace), and a wait on a keypad's line ends when work arrives.

The figures (idle CPU busy and at rest) come from `./scripts/bench`; these tests
check the behaviour that makes them possible without costing a citizen anything:
the pace follows what people do, polls slow down only at rest, a rating prompt
or a technician's command reaches a keypad that is listening for minutes at once,
and a transport's wake is never lost, even when it comes before the read.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hall.drivers.base import DeviceState
from hall.drivers.emulators.evaluator import EvaluatorEmulator
from hall.drivers.evaluator.serial_keypad import EvaluatorDevice
from hall.drivers.idcard.device import IdCardReader
from hall.drivers.pace import Pace
from hall.drivers.transport import SerialTransport, TcpTransport, Transport, can_wake, open_transport
from hall.events import EventHub
from hall.queue.clock import FixedClock, iso

from tests.waiting import WAIT_SECONDS, wait_until

CHANNELS = ["pty", "tcp"] if os.name == "posix" else ["tcp"]
LONG = 600.0      # a read window far beyond any wait budget: only a wake can end it in time


@dataclass
class Ev:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# ------------------------------------------------------------------ the pace itself
def test_the_hall_rests_after_a_quiet_spell_and_wakes_on_what_people_do() -> None:
    clock = Clock()
    pace = Pace(rest_after=120, clock=clock)
    assert not pace.resting() and pace.pick(0.5, 2.0) == 0.5          # a service that just started is busy
    clock.t += 119
    assert not pace.resting()
    clock.t += 2
    assert pace.resting() and pace.pick(0.5, 2.0) == 2.0
    for chatter in ("relay.state", "printer.status", "catalog.updated", "device.revoked", "notices.changed"):
        pace.listener(Ev(chatter))
    assert pace.resting(), "device and relay chatter is nobody being served"
    pace.listener(Ev("ticket.issued"))
    assert not pace.resting() and pace.wakes == 1
    assert pace.status() == {"resting": False, "quiet_s": 0.0, "rest_after_s": 120, "wakes": 1}
    for kind in ("rating.prompt", "idcard.read", "card.read", "case.updated", "appointment.updated"):
        clock.t += 200
        assert pace.resting()
        pace.listener(Ev(kind))
        assert not pace.resting(), kind
    assert pace.pick(5.0, 1.0) == 5.0, "a rest interval never makes a device poll faster"


def test_devices_poll_slower_only_at_rest() -> None:
    clock = Clock()
    pace = Pace(rest_after=120, clock=clock)
    reader = IdCardReader("idcard-k1", TcpTransport("127.0.0.1", 9), pace=pace, poll_every=0.5,
                          rest_poll_every=2.0)
    keypad = EvaluatorDevice("eval-w1", TcpTransport("127.0.0.1", 9), window=1, sink=lambda: None, pace=pace,
                             heartbeat=2.0, rest_heartbeat=8.0)
    unpaced = IdCardReader("idcard-w1", TcpTransport("127.0.0.1", 9), poll_every=0.5, rest_poll_every=2.0)
    assert (reader.poll_interval(), keypad.heartbeat_every()) == (0.5, 2.0)
    clock.t += 121
    assert (reader.poll_interval(), keypad.heartbeat_every()) == (2.0, 8.0)
    assert unpaced.poll_interval() == 0.5, "a device built without a pace keeps the busy pace"
    pace.listener(Ev("ticket.called"))
    assert (reader.poll_interval(), keypad.heartbeat_every()) == (0.5, 2.0)


# ------------------------------------------------------------------ transports: a wake is never lost
def _tcp_pair() -> tuple[socket.socket, int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    return server, server.getsockname()[1]


def _opened(kind: str, tmp_path: Path) -> Iterator[Transport]:
    if kind == "pty":
        master, slave = os.openpty()
        t: Transport = SerialTransport(os.ttyname(slave))
        t.open()
        yield t
        t.close()
        os.close(master)
        os.close(slave)
        return
    server, port = _tcp_pair()
    t = TcpTransport("127.0.0.1", port) if kind == "tcp" else SerialTransport(f"socket://127.0.0.1:{port}")
    t.open()
    peer, _ = server.accept()
    yield t
    t.close()
    peer.close()
    server.close()


@pytest.fixture(params=[*(["pty"] if os.name == "posix" else []), "tcp", "socket"])
def line(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Transport]:
    yield from _opened(request.param, tmp_path)


def _read_in_thread(t: Transport) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []
    th = threading.Thread(target=lambda: got.append(t.read(64, LONG)), daemon=True)
    th.start()
    return th, got


def test_a_wake_ends_a_read_in_progress(line: Transport) -> None:
    assert can_wake(line)
    th, got = _read_in_thread(line)
    assert not wait_until(lambda: not th.is_alive(), 0.3), "the read ended before anything woke it"
    line.wake()   # type: ignore[attr-defined]
    th.join(WAIT_SECONDS)
    assert not th.is_alive() and got == [b""]


def test_a_wake_before_the_read_ends_the_next_read_and_only_that_one(line: Transport) -> None:
    line.wake()   # type: ignore[attr-defined]
    th, got = _read_in_thread(line)
    th.join(WAIT_SECONDS)
    assert not th.is_alive() and got == [b""], "a wake that came early was lost"
    assert line.read(64, 0.3) == b"", "the wake was spent: the next read waits its whole window"


def test_lines_that_cannot_be_woken_say_so() -> None:
    t = open_transport("loop://")
    t.open()
    try:
        assert not can_wake(t)
    finally:
        t.close()


# ------------------------------------------------------------------ a keypad listening for minutes
class KeypadRig:
    def __init__(self, tmp: Path, channel: str) -> None:
        self.clock = FixedClock(datetime(2026, 12, 6, 9, 0, 0))
        self.hub = EventHub()
        self.emu = EvaluatorEmulator(name="kp", channel=channel, link=tmp / "kp.tty").start()
        # heartbeats minutes apart: the worker listens to the line for minutes between frames
        self.dev = EvaluatorDevice("eval-w1", open_transport(self.emu.url), window=1, sink=lambda: None,
                                   clock=self.clock, heartbeat=LONG, degraded_after=LONG + 5,
                                   offline_after=LONG + 10, reply_timeout=0.5)
        self.hub.add_listener(self.dev.on_event)
        self.dev.start()
        assert wait_until(lambda: self.dev.state == DeviceState.READY), self.dev.status()

    def close(self) -> None:
        self.dev.stop()
        self.emu.stop()


@pytest.fixture(params=CHANNELS)
def keypad(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeypadRig]:
    r = KeypadRig(tmp_path, request.param)
    yield r
    r.close()


def test_a_prompt_reaches_a_keypad_that_listens_until_its_next_heartbeat(keypad: KeypadRig) -> None:
    assert can_wake(keypad.dev.transport)
    assert keypad.dev._read_window() > WAIT_SECONDS, "the worker should listen until its heartbeat"
    keypad.hub.publish("rating.prompt", {
        "window": 1, "prompt_id": 7, "ticket_id": 3, "clerk_name": "李明",
        "expires_at": iso(keypad.clock.now() + timedelta(seconds=120))})
    assert wait_until(lambda: keypad.emu.view()["mode"] == "prompt"), keypad.emu.view()
    keypad.hub.publish("rating.closed", {"window": 1, "prompt_id": 7, "reason": "cancelled"})
    assert wait_until(lambda: keypad.emu.view()["mode"] != "prompt"), keypad.emu.view()


def test_a_technicians_test_reaches_a_keypad_that_listens(keypad: KeypadRig) -> None:
    out = keypad.dev.test(show_prompt=False, timeout=WAIT_SECONDS)
    assert out["ok"], out
    assert keypad.dev.counters["heartbeats"] == 0, "no heartbeat was due: only the wake ended the wait"
