"""Sign-in under attack (issue 10, item 1): parallel wrong PINs over real HTTP, from several addresses.

The server is waitress on loopback; 127.0.0.x source addresses stand for
different PCs on the hall LAN. Every PIN check the service really runs is
counted by wrapping the verifier it calls.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import hall.sessions
import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.services import Services, build_services
from hall.signin_throttle import ACCOUNT_BUDGET, ADDRESS_BUDGET, STRANGER_BUDGET


class Live:
    def __init__(self, tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
        self.tmp_path, self.config, self.clock = tmp_path, config, clock
        self.checks: dict[str, int] = {}
        self._lock = threading.Lock()
        self.start()

    def start(self) -> None:
        import waitress
        from hall.web.app import create_app

        self.svc: Services = build_services(self.config, self.tmp_path, clock=self.clock, with_devices=False)
        self.server = waitress.create_server(create_app(self.svc), host="127.0.0.1", port=0, threads=48)
        self.port = self.server.socket.getsockname()[1]  # type: ignore[union-attr]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            if not self.stopping.is_set():       # closing the sockets under select() is how it stops
                raise

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.task_dispatcher.shutdown(timeout=5)
        self.server.close()
        self.thread.join(10)
        self.svc.stop()

    def sign_in(self, staff_id: str, pin: str, source: str = "127.0.0.1", window: int | None = None,
                ) -> tuple[int, dict[str, Any], dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=(source, 0))
        body: dict[str, Any] = {"staff_id": staff_id, "pin": pin}
        if window is not None:
            body["window"] = window
        try:
            conn.request("POST", "/api/session", json.dumps(body),
                         {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{self.port}"})
            r = conn.getresponse()
            return r.status, json.loads(r.read() or b"{}"), dict(r.getheaders())
        finally:
            conn.close()

    def flood(self, staff_id: str, count: int, sources: list[str]) -> list[int]:
        with ThreadPoolExecutor(max_workers=count) as pool:
            guesses = ["00000000", "wrong-guess-1"]
            futures = [pool.submit(self.sign_in, staff_id, guesses[i % 2], sources[i % len(sources)])
                       for i in range(count)]
            return [f.result()[0] for f in futures]


@pytest.fixture
def live(tmp_path: Path, config: HallConfig, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    hall_live = Live(tmp_path, config, clock)
    real = hall.sessions.verify_pin

    def counting(pin: str, stored: str) -> bool:
        with hall_live._lock:
            hall_live.checks[stored] = hall_live.checks.get(stored, 0) + 1
        return real(pin, stored)

    monkeypatch.setattr(hall.sessions, "verify_pin", counting)
    yield hall_live
    hall_live.stop()


def _checks(live: Live, staff_id: str) -> int:
    staff = live.config.staff_member(staff_id)
    assert staff is not None
    return live.checks.get(staff.secret_hash, 0)


def test_40_parallel_wrong_pins_get_four_checks_and_the_right_pin_from_another_pc_still_works(live: Live) -> None:
    statuses = live.flood("1003", 40, ["127.0.0.1"])
    checked = _checks(live, "1003")
    assert checked == ADDRESS_BUDGET <= ACCOUNT_BUDGET, checked
    assert statuses.count(401) == checked and statuses.count(429) == 40 - checked
    # the refusal says when to come back, in Chinese, with Retry-After
    status, body, headers = live.sign_in("1003", "123456", "127.0.0.1", window=3)
    assert status == 429 and "分钟后再试" in body["error"]["message"]
    assert 0 < int(headers["Retry-After"]) <= 3600
    # the clerk at another PC is not locked out by the flood: the right PIN is checked at once
    status, body, _ = live.sign_in("1003", "123456", "127.0.0.2", window=3)
    assert status == 201 and body["session"]["staff_id"] == "1003"
    # the budget lives in the database: a restart does not hand the flooder new guesses
    live.restart()
    status, _, _ = live.sign_in("1003", "123456", "127.0.0.1", window=3)
    assert status == 429


def test_150_parallel_wrong_passwords_from_three_pcs_never_exceed_the_budget(live: Live) -> None:
    # the manager's own PC has signed in before: it keeps a share nobody else can spend
    assert live.sign_in("9001", "hall-8888", "127.0.0.9")[0] == 201
    before = _checks(live, "9001")
    statuses = live.flood("9001", 150, ["127.0.0.3", "127.0.0.4", "127.0.0.5"])
    checked = _checks(live, "9001") - before
    assert checked == STRANGER_BUDGET <= ACCOUNT_BUDGET, checked
    assert statuses.count(401) == checked and statuses.count(429) == 150 - checked
    # a new PC now finds the strangers' share spent; the manager's usual PC signs in straight away
    assert live.sign_in("9001", "hall-8888", "127.0.0.6")[0] == 429
    assert live.sign_in("9001", "hall-8888", "127.0.0.9")[0] == 201


def test_right_pin_from_another_pc_succeeds_while_a_flood_is_running(live: Live) -> None:
    result: list[int] = []
    flood = threading.Thread(target=lambda: result.extend(live.flood("1004", 150, ["127.0.0.7"])))
    flood.start()
    status, body, _ = live.sign_in("1004", "123456", "127.0.0.8", window=4)
    flood.join(120)
    assert status == 201 and body["session"]["window"] == 4
    assert result.count(401) <= ADDRESS_BUDGET and _checks(live, "1004") <= ADDRESS_BUDGET + 1


def test_one_pc_spraying_every_account_is_stopped(live: Live) -> None:
    ids = [s.id for s in live.config.staff]
    seen = []
    for _ in range(4):
        for sid in ids:
            seen.append(live.sign_in(sid, "99999999", "127.0.0.11")[0])
    assert seen.count(401) == 20 and seen.count(429) == len(seen) - 20
