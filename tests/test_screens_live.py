"""What the screens' live stream relies on: resync after a service restart, and clean ends.

A board keeps its Last-Event-ID across a service restart; the new service must
answer with a snapshot rather than silently skip to "events after that id".
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.events import EventHub
from hall.queue.clock import FixedClock
from hall.services import Services, build_services


def test_ids_from_another_life_of_the_service_mean_resync() -> None:
    hub = EventHub(first_id=1_000_000)
    assert hub.last_id == 999_999
    assert hub.since(999_999) == ([], False)        # a client that saw this hub's start: nothing new
    assert hub.since(42)[1]                         # an id from before a restart
    hub.publish("x", {})
    hub.publish("x", {})
    events, gap = hub.since(1_000_000)
    assert [e.id for e in events] == [1_000_001] and not gap
    assert hub.since(5_000_000)[1]                  # an id this hub never gave out
    assert hub.since(42)[1]


def test_services_number_events_from_boot_time(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    before = int(time.time() * 1000)
    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    try:
        assert svc.hub.last_id >= before - 1
    finally:
        svc.stop()


@pytest.fixture
def live(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[tuple[Services, int]]:
    import waitress
    from hall.web.app import create_app

    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    app = create_app(svc, {"SSE_HEARTBEAT": 0.2, "SSE_LIFETIME": 30})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    threading.Thread(target=server.run, daemon=True).start()
    yield svc, port
    svc.hub.close()
    server.close()
    svc.stop()


def _first_event(resp: http.client.HTTPResponse) -> dict[str, Any]:
    cur: dict[str, Any] = {}
    while True:
        line = resp.readline().decode("utf-8").rstrip("\n")
        if line.startswith("event: "):
            cur["event"] = line[7:]
        elif line.startswith("id: "):
            cur["id"] = int(line[4:])
        elif line == "" and "event" in cur:
            return cur


def test_a_board_from_before_a_restart_gets_a_snapshot(live: tuple[Services, int]) -> None:
    svc, port = live
    svc.engine.issue("A")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/events", headers={"Last-Event-ID": "17"})   # the old service's numbering
    ev = _first_event(conn.getresponse())
    assert ev["event"] == "snapshot" and ev["id"] == svc.hub.last_id
    conn.close()


def test_closing_the_hub_ends_open_streams(live: tuple[Services, int]) -> None:
    svc, port = live
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/events")
    resp = conn.getresponse()
    _first_event(resp)
    svc.hub.close()
    lines = 0
    while resp.readline() and lines < 1000:   # the response ends instead of spinning on heartbeats
        lines += 1
    assert lines < 10, f"{lines} lines after the hub closed"
    conn.close()
