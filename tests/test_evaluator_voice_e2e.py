"""End to end on the demo config: a clerk's call is announced by the voice device, the clerk's
请评价 puts the window-1 keypad emulator (over its pty/TCP channel) into prompt mode, and one key
press becomes exactly one stored rating through the records service's rating sink."""

from __future__ import annotations

from typing import Any

from hall.drivers.base import DeviceState
from hall.services import Services

from tests.waiting import wait_until


def _login(client: Any, staff_id: str, window: int) -> dict[str, str]:
    r = client.post("/api/session", json={"staff_id": staff_id, "pin": "123456", "window": window})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _ratings(services: Services) -> list[tuple[str, str, int]]:
    with services.db.read() as c:
        return [(r[0], r[1], r[2]) for r in c.execute("SELECT channel, level, window FROM ratings")]


def test_call_is_announced_and_a_keypad_press_is_one_rating(services: Services, client: Any) -> None:
    evaluator = services.devices.get("eval-w1")
    voice = services.devices.get("voice")
    assert evaluator is not None and voice is not None
    keypad = services.devices.emulators["eval-w1"]
    speaker = services.devices.emulators["voice"]
    evaluator.start()
    voice.start()
    assert wait_until(lambda: evaluator.status()["state"] == DeviceState.READY), evaluator.status()
    assert wait_until(lambda: voice.status()["state"] == DeviceState.READY), voice.status()

    h = _login(client, "1001", 1)
    assert client.post("/api/tickets", json={"category": "A"}).status_code == 201
    r = client.post("/api/windows/1/call", headers=h)
    assert r.status_code == 200, r.get_json()
    assert wait_until(lambda: speaker.count == 1)
    said = speaker.history[-1]
    assert said["text"] == "请A001号到1号窗口办理" and said["spoken"] == "请 A 零零一 号到一号窗口办理"
    assert said["duration_s"] > 1

    keypad.press("非常不满意")                      # before any prompt: nothing
    assert client.post("/api/windows/1/start", headers=h).status_code == 200
    r = client.post("/api/windows/1/rate-prompt", headers=h)
    assert r.status_code == 201, r.get_json()
    assert wait_until(lambda: keypad.view()["mode"] == "prompt")
    assert keypad.view()["clerk_name"] == "李明"
    token = keypad.view()["token"]
    seq = keypad.press("满意")
    assert wait_until(lambda: any(k["seq"] == seq and k["status"] == 0 for k in keypad.key_results))
    assert wait_until(lambda: keypad.view()["mode"] == "thanks")
    keypad.press("非常满意", token=token)           # a second press for the same, now rated, prompt
    assert wait_until(lambda: evaluator.status()["counters"]["presses"] == 3)
    assert _ratings(services) == [("窗口评价器", "满意", 1)]
    state = client.get("/api/windows/1/rate-prompt", headers=h).get_json()
    assert state["prompt"]["state"] == "rated"


def test_technician_tests_and_virtual_keys_over_the_api(services: Services, client: Any) -> None:
    for name in ("eval-w2", "voice"):
        dev = services.devices.get(name)
        assert dev is not None
        dev.start()
        assert wait_until(lambda d=dev: d.status()["state"] == DeviceState.READY), dev.status()
    r = client.post("/api/session", json={"staff_id": "9101", "pin": "tech-6666"})
    assert r.status_code == 201, r.get_json()
    h = {"Authorization": f"Bearer {r.get_json()['token']}"}
    res = client.post("/api/devices/eval-w2/test", headers=h).get_json()
    assert res["ok"] and "评价器应答正常" in res["message"], res
    keypad = services.devices.emulators["eval-w2"]
    assert wait_until(lambda: keypad.view()["clerk_name"] == "设备测试")
    r = client.post("/api/devices/emulators/eval-w2/fault", headers=h, json={"command": "3"})
    assert r.status_code == 200, r.get_json()
    assert wait_until(lambda: services.devices.get("eval-w2").status()["last_test_key"] == "基本满意")
    assert _ratings(services) == []                 # a test key is never a rating
    res = client.post("/api/devices/voice/test", headers=h).get_json()
    assert res["ok"] and "语音合成正常" in res["message"], res
    emulators = client.get("/api/devices/emulators", headers=h).get_json()["emulators"]
    assert {"eval-w1", "eval-w2", "voice"} <= {e["name"] for e in emulators}
