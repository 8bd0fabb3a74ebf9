"""The event hub and the SSE stream, over a real waitress server."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.events import EventHub, StreamLimit
from hall.queue.clock import FixedClock
from hall.services import Services, build_services


def test_hub_resume_and_gap() -> None:
    hub = EventHub(buffer=3)
    for i in range(5):
        hub.publish("x", {"i": i})
    events, gap = hub.since(3)
    assert [e.id for e in events] == [4, 5] and not gap
    events, gap = hub.since(0)  # 1 and 2 already dropped: the client must resync
    assert gap


def test_hub_stream_cap() -> None:
    hub = EventHub(max_streams=1)
    hub.open_stream()
    with pytest.raises(StreamLimit):
        hub.open_stream()
    hub.close_stream()
    hub.open_stream()


@pytest.fixture
def live(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[tuple[Services, int]]:
    import waitress
    from hall.web.app import create_app

    cfg = config.model_copy(update={"server": config.server.model_copy(update={"max_streams": 2, "threads": 8})})
    svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
    app = create_app(svc, {"SSE_HEARTBEAT": 0.3, "SSE_LIFETIME": 30})
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    port = server.socket.getsockname()[1]  # type: ignore[union-attr]
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    yield svc, port
    svc.hub.close()
    server.close()
    svc.stop()


def _read_events(resp: http.client.HTTPResponse, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    while len(out) < count:
        line = resp.readline().decode("utf-8")
        if line == "":
            break
        line = line.rstrip("\n")
        if line == "":
            if "event" in cur:
                out.append(cur)
            cur = {}
        elif line.startswith("event: "):
            cur["event"] = line[7:]
        elif line.startswith("id: "):
            cur["id"] = int(line[4:])
        elif line.startswith("data: "):
            cur["data"] = json.loads(line[6:])
    return out


def _open(port: int, last_id: int | None = None) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    conn.request("GET", "/api/events", headers=headers)
    return conn, conn.getresponse()


def test_sse_snapshot_then_deltas_then_resume(live: tuple[Services, int]) -> None:
    svc, port = live
    conn, resp = _open(port)
    assert resp.status == 200 and resp.getheader("Content-Type", "").startswith("text/event-stream")
    first = _read_events(resp, 1)[0]
    assert first["event"] == "snapshot" and first["data"]["hall"] == svc.config.hall.name
    svc.engine.issue("A")
    ev = _read_events(resp, 1)[0]
    assert ev["event"] == "ticket.issued" and ev["data"]["number"] == "A001"
    last = ev["id"]
    conn.close()
    # while disconnected, two more things happen; a resume gets exactly those
    svc.engine.issue("A")
    svc.engine.call_next(1, "1001")
    conn, resp = _open(port, last)
    got = _read_events(resp, 2)
    assert [g["event"] for g in got] == ["ticket.issued", "ticket.called"]
    assert got[1]["data"]["text"] == "请A001号到1号窗口办理"
    conn.close()


def test_sse_stream_cap_answers_503_with_retry_after(live: tuple[Services, int]) -> None:
    _svc, port = live
    c1, r1 = _open(port)
    c2, r2 = _open(port)
    _read_events(r1, 1)
    _read_events(r2, 1)
    c3, r3 = _open(port)
    assert r3.status == 503 and r3.getheader("Retry-After") == "10"
    assert json.loads(r3.read())["error"]["code"] == "too_many_streams"
    # the cap never starves ordinary requests
    c4 = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c4.request("GET", "/healthz")
    assert c4.getresponse().status == 200
    for c in (c1, c2, c3, c4):
        c.close()


def test_sse_heartbeat(live: tuple[Services, int]) -> None:
    _, port = live
    conn, resp = _open(port)
    _read_events(resp, 1)
    lines = [resp.readline().decode() for _ in range(2)]
    assert ": heartbeat\n" in lines
    conn.close()
