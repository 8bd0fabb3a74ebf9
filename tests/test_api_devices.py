"""Device API for technicians: roles, states, test actions run on the worker, emulator views and faults."""

from __future__ import annotations

from typing import Any

from hall.services import Services

from tests.conftest import login
from tests.waiting import wait_until

ROUTES = [
    ("get", "/api/devices"),
    ("post", "/api/devices/led-board/test"),
    ("get", "/api/devices/emulators"),
    ("post", "/api/devices/emulators/led-board/fault"),
]


def _started(services: Services) -> None:
    services.devices.start()
    assert wait_until(lambda: services.devices.get("led-board").status()["state"] == "ready")  # type: ignore[union-attr]


def _tech(client: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(client, '9101', 'tech-6666', window=None)}"}


def test_routes_need_a_technician(client: Any) -> None:
    for method, path in ROUTES:
        r = getattr(client, method)(path, json={"command": "status"})
        assert r.status_code == 401, path
    tokens = {staff: login(client, staff, pin, window=window)
              for staff, pin, window in (("1001", "123456", 1), ("9001", "hall-8888", None))}
    for method, path in ROUTES:
        for staff, token in tokens.items():
            r = getattr(client, method)(path, json={"command": "status"},
                                        headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, (staff, path, r.get_json())
            assert r.get_json()["error"]["code"] == "forbidden"


def test_states_list_every_device(client: Any, services: Services) -> None:
    _started(services)
    r = client.get("/api/devices", headers=_tech(client))
    assert r.status_code == 200
    body = r.get_json()
    by_name = {d["name"]: d for d in body["devices"]}
    assert {"led-board", "led-w1", "led-w2"} <= set(by_name)
    assert by_name["led-w1"]["role"] == "window" and by_name["led-w1"]["window"] == 1
    assert body["emulators_active"] is True


def test_led_test_runs_and_the_emulator_shows_it(client: Any, services: Services) -> None:
    _started(services)
    headers = _tech(client)
    r = client.post("/api/devices/led-board/test", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["ok"] is True and body["kind"] == "led" and "测试图案" in body["message"]
    r = client.get("/api/devices/emulators", headers=headers)
    views = {e["name"]: e for e in r.get_json()["emulators"]}
    board = views["led-board"]
    assert board["kind"] == "led" and board["faults"] is True
    assert board["view"]["lines"][0] == "测试 TEST led-board"
    assert [a["id"] for a in board["view"]["areas"]] == [0, 1, 2]


def test_fault_then_failing_test(client: Any, services: Services) -> None:
    _started(services)
    headers = _tech(client)
    r = client.post("/api/devices/emulators/led-w1/fault", json={"command": "nack 3"}, headers=headers)
    assert r.status_code == 200 and "NACK" in r.get_json()["message"]
    r = client.post("/api/devices/led-w1/test", headers=headers)
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is False and "控制器忙" in body["message"]
    with services.db.read() as c:
        actions = [row[0] for row in c.execute("SELECT action FROM audit WHERE target = 'led-w1' ORDER BY id")]
    assert actions == ["emulator.fault", "device.test"]


def test_unknown_names_and_bad_bodies(client: Any, services: Services) -> None:
    headers = _tech(client)
    assert client.post("/api/devices/nope/test", headers=headers).status_code == 404
    assert client.post("/api/devices/emulators/nope/fault", json={"command": "x"}, headers=headers).status_code == 404
    r = client.post("/api/devices/emulators/led-w1/fault", json={"command": ""}, headers=headers)
    assert r.status_code == 400


def test_a_device_with_only_a_blocking_test_runs_off_the_request_thread(client: Any, services: Services) -> None:
    import threading

    seen: dict[str, str] = {}

    class Blocking:
        name, kind = "fake", "voice"

        def start(self) -> None: ...

        def stop(self) -> None: ...

        def status(self) -> dict[str, Any]:
            return {"name": self.name, "kind": self.kind, "state": "ready"}

        def test(self) -> dict[str, Any]:
            seen["thread"] = threading.current_thread().name
            return {"ok": True, "message": "测试语音已播放"}

    services.devices.add(Blocking())
    r = client.post("/api/devices/fake/test", headers=_tech(client))
    assert r.status_code == 200 and r.get_json()["ok"] is True
    assert seen["thread"].startswith("device-test")


def test_county_simulator_faults_are_switched_on_and_off_from_the_technician_page(
        tmp_path: Any, clock: Any) -> None:
    """Issue 10: `reject` injected from /tech stayed on until a restart; `clear` lifts it."""
    from hall.config.loader import demo_config_path, load_config
    from hall.services import build_services
    from hall.web.app import create_app

    cfg = load_config(demo_config_path())      # the demo's county: emulator://, a simulator on loopback
    svc = build_services(cfg, tmp_path, clock=clock)
    try:
        client = create_app(svc, {"TESTING": True}).test_client()
        h = {**_tech(client), "Origin": "http://localhost"}
        sim = svc.devices.emulators["county"]

        def post(command: str) -> Any:
            return client.post("/api/devices/emulators/county/fault", json={"command": command}, headers=h)

        r = post("reject")
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["view"]["faults"] == ["reject"] and sim.active_faults() == ["reject"]
        assert post("partition").get_json()["view"]["faults"] == ["partition", "reject"]
        r = post("clear reject")
        assert r.status_code == 200 and r.get_json()["view"]["faults"] == ["partition"]
        r = post("clear")
        assert r.status_code == 200 and r.get_json()["view"]["faults"] == [] and sim.active_faults() == []
        bad = post("melt")
        assert bad.status_code == 409 and "clear" in bad.get_json()["error"]["message"]
        listed = {e["name"]: e for e in client.get("/api/devices/emulators", headers=h).get_json()["emulators"]}
        assert listed["county"]["kind"] == "county" and listed["county"]["faults"] is True
    finally:
        svc.stop()
