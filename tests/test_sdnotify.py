"""hall.sdnotify against a real AF_UNIX datagram socket, as systemd would listen."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hall.sdnotify import Notifier

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX sockets on this platform")


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    yield s, path
    s.close()


def receive(s: socket.socket) -> str:
    return s.recv(4096).decode()


def test_silent_without_notify_socket() -> None:
    n = Notifier({})
    assert not n.enabled
    assert n.notify("READY=1") is False
    n.ready()          # no socket, no thread, no error
    n.stopping()
    n.close()


def test_ready_and_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    s, path = listener
    n = Notifier({"NOTIFY_SOCKET": path})
    n.ready("serving on 0.0.0.0:8080")
    assert receive(s) == "READY=1\nSTATUS=serving on 0.0.0.0:8080"
    n.stopping()
    assert receive(s) == "STOPPING=1"
    n.close()


def test_watchdog_is_fed_at_half_the_interval(listener: tuple[socket.socket, str]) -> None:
    s, path = listener
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())})
    assert n.watchdog_seconds == pytest.approx(0.2)
    n.ready()
    try:
        assert receive(s).startswith("READY=1")
        for _ in range(3):              # the first feed is immediate, the rest come from the thread
            assert receive(s) == "WATCHDOG=1"
    finally:
        n.close()


def test_unhealthy_service_starves_the_watchdog(listener: tuple[socket.socket, str]) -> None:
    s, path = listener
    healthy = {"ok": True}
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
    n.ready(healthy=lambda: healthy["ok"])
    try:
        assert receive(s).startswith("READY=1")
        assert receive(s) == "WATCHDOG=1"
        assert receive(s) == "WATCHDOG=1"   # fed by the thread while healthy
        healthy["ok"] = False
        # Drain whatever was in flight, then nothing more may come.
        s.settimeout(0.5)
        got = []
        try:
            while True:
                got.append(receive(s))
        except TimeoutError:
            pass
        assert len(got) <= 1, got
    finally:
        n.close()


def test_watchdog_for_another_pid_is_ignored(listener: tuple[socket.socket, str]) -> None:
    _, path = listener
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
    assert n.watchdog_seconds is None


def test_abstract_socket_name(tmp_path: Path) -> None:
    name = f"hall-test-{os.getpid()}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(5)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).notify("READY=1")
        assert receive(s) == "READY=1"
    finally:
        s.close()


def test_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert n.notify("WATCHDOG=1") is False
