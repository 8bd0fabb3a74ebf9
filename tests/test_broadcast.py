"""Hall broadcast (issue 13 item 4): sent, withdrawn and expired; audited; back after a restart;
its LED row on the wire (decoded with the protocol's own decoders and by the emulator); the voice
orders it after a pending call; the routes are manager-only and Origin-checked."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.drivers.emulators.led import LedEmulator
from hall.drivers.emulators.voice import VirtualSpeaker
from hall.drivers.led import protocol as p
from hall.drivers.led.device import LedDevice
from hall.drivers.voice.device import VoiceDevice
from hall.events import EventHub
from hall.queue.clock import FixedClock
from hall.services import Services, build_services
from hall.web.app import create_app

from tests.conftest import app_client, auth
from tests.waiting import WAIT_SECONDS, wait_until

FAST = {"probe_interval": 0.1, "ack_timeout": 0.3, "retries": 2, "backoff_min": 0.05, "backoff_max": 0.2}
MSG = "系统维护，请稍候"


def _bare(config: HallConfig, tmp_path: Path, clock: FixedClock) -> Services:
    return build_services(config, tmp_path, clock=clock, with_devices=False)


@pytest.fixture
def bare(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    svc = _bare(config, tmp_path, clock)
    yield svc
    svc.stop()


def _audit(svc: Services, prefix: str = "broadcast") -> list[dict[str, Any]]:
    return [dict(r) for r in svc.db.conn.execute(
        "SELECT actor, action, target, detail FROM audit WHERE action LIKE ? ORDER BY id", (prefix + "%",))]


# ===================================================================== the service
def test_send_withdraw_and_audit(bare: Services, clock: FixedClock) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    bare.hub.add_listener(lambda ev: seen.append((ev.kind, ev.data)))
    b = bare.broadcasts
    assert b is not None
    item = b.send(MSG + "，咨询电话13812345678", ["kiosk", "board", "voice"], clock.now() + timedelta(minutes=30),
                  "9001", voice_times=2)
    assert item["targets"] == ["board", "voice", "kiosk"]          # the fixed order, whatever was sent
    assert "13812345678" not in item["message"] and "138****5678" in item["message"]   # masked on every screen
    assert [x["id"] for x in b.active()] == [item["id"]]
    kinds = [k for k, _ in seen]
    assert kinds == ["broadcast.changed", "broadcast.announce"]
    assert seen[1][1]["times"] == 2 and seen[1][1]["text"] == item["message"]
    b.withdraw(item["id"], "9001")
    assert b.active() == [] and seen[-1] == ("broadcast.changed", {"active": []})
    rows = _audit(bare)
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [
        ("9001", "broadcast.send", str(item["id"])), ("9001", "broadcast.withdraw", str(item["id"]))]
    assert json.loads(rows[0]["detail"])["targets"] == ["board", "voice", "kiosk"]
    with pytest.raises(Exception, match="已结束"):
        b.withdraw(item["id"], "9001")


def test_spoken_repeats_spread_out_come_one_every_n_minutes_and_survive_a_restart(
        tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    svc = _bare(config, tmp_path, clock)
    asked: list[dict[str, Any]] = []
    svc.hub.add_listener(lambda ev: asked.append(dict(ev.data)) if ev.kind == "broadcast.announce" else None)
    b = svc.broadcasts
    assert b is not None
    item = b.send(MSG, ["voice"], clock.now() + timedelta(minutes=12), "9001", voice_times=4, voice_every_minutes=5)
    assert [a["times"] for a in asked] == [1]                       # the first at once
    clock.advance(minutes=4)
    assert b.announce_due() == []
    clock.advance(minutes=1)
    assert b.announce_due() == [item["id"]] and len(asked) == 2
    svc.stop()
    clock.advance(minutes=5)
    svc = _bare(config, tmp_path, clock)                           # a restart: the third is still due
    try:
        b = svc.broadcasts
        assert b is not None
        again: list[dict[str, Any]] = []
        svc.hub.add_listener(lambda ev: again.append(dict(ev.data)) if ev.kind == "broadcast.announce" else None)
        assert b.announce_due() == [item["id"]] and again[0]["text"] == MSG
        clock.advance(minutes=5)                                   # 15 min: past its end, the fourth never comes
        assert b.announce_due() == [] and b.get(item["id"])["voice_done"] == 3
    finally:
        svc.stop()


def test_bad_broadcasts_are_refused_with_the_reason(bare: Services, clock: FixedClock) -> None:
    b = bare.broadcasts
    assert b is not None
    later = clock.now() + timedelta(minutes=5)
    for args, why in [(("  ", ["board"], later), "不能为空"), ((MSG, ["tv"], later), "播放位置"),
                      ((MSG, [], later), "播放位置"), ((MSG, ["board"], clock.now()), "晚于现在"),
                      ((MSG, ["board"], clock.now() + timedelta(days=4)), "最长")]:
        with pytest.raises(Exception, match=why):
            b.send(*args, author="9001")
    assert b.active() == [] and _audit(bare) == []


def test_expiry_ends_it_audited_and_a_restart_brings_an_unexpired_one_back(
        tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    svc = _bare(config, tmp_path, clock)
    b = svc.broadcasts
    assert b is not None
    short = b.send("十分钟后停电检修", ["board"], clock.now() + timedelta(minutes=10), "9001")
    long = b.send(MSG, ["kiosk", "led"], clock.now() + timedelta(hours=2), "9001")
    svc.stop()
    clock.advance(minutes=11)
    svc = _bare(config, tmp_path, clock)                 # a restart, after the short one ran out
    try:
        b = svc.broadcasts
        assert b is not None
        assert [x["id"] for x in b.current()] == [long["id"]]       # unexpired: back on every screen at once
        assert b.expire_due() == [short["id"]]
        assert b.get(short["id"])["end_reason"] == "expired"
        clock.advance(hours=2)
        assert b.active() == [] and b.current() == []
        assert b.expire_due() == [long["id"]]
        expired = [(r["actor"], r["action"]) for r in _audit(svc, "broadcast.expire")]
        assert expired == [("system", "broadcast.expire")] * 2
    finally:
        svc.stop()


def test_the_expiry_thread_tells_the_screens(tmp_path: Path, config: HallConfig) -> None:
    """With the real clock: the expiry thread ends a broadcast on time and publishes the change."""
    svc = build_services(config, tmp_path, with_devices=False)
    changed = threading.Event()
    try:
        b = svc.broadcasts
        assert b is not None
        svc.hub.add_listener(lambda ev: changed.set() if ev.kind == "broadcast.changed"
                             and not ev.data["active"] else None)     # before sending: it may end very soon
        b.start()
        item = b.send(MSG, ["board"], svc.clock.now() + timedelta(seconds=0.3), "9001")
        assert changed.wait(10)
        assert b.get(item["id"])["end_reason"] == "expired"
    finally:
        svc.stop()


# ===================================================================== routes
@pytest.fixture
def api(bare: Services) -> Any:
    return app_client(bare, use_cookies=False)


def _token(api: Any, staff_id: str, secret: str, window: int | None = None) -> dict[str, str]:
    return auth(api, staff_id, secret, window)


def test_routes_manager_only_and_public_read(api: Any, bare: Services) -> None:
    body = {"message": MSG, "targets": ["board", "kiosk"], "minutes": 15}
    assert api.post("/api/manage/broadcasts", json=body).status_code == 401
    clerk = _token(api, "1001", "123456", 1)
    assert api.post("/api/manage/broadcasts", json=body, headers=clerk).status_code == 403
    mgr = _token(api, "9001", "hall-8888")
    r = api.post("/api/manage/broadcasts", json=body, headers=mgr)
    assert r.status_code == 201, r.get_json()
    bid = r.get_json()["broadcast"]["id"]
    pub = api.get("/api/broadcasts").get_json()["broadcasts"]
    assert [x["message"] for x in pub] == [MSG] and "author" not in pub[0]
    bad = api.post("/api/manage/broadcasts", json={**body, "expires_at": "2026-11-25T10:00:00+08:00"}, headers=mgr)
    assert bad.status_code == 400 and "二者选一" in bad.get_json()["error"]["message"]
    assert api.post(f"/api/manage/broadcasts/{bid}/withdraw", headers=clerk).status_code == 403
    assert api.post(f"/api/manage/broadcasts/{bid}/withdraw", headers=mgr).status_code == 200
    assert api.get("/api/broadcasts").get_json()["broadcasts"] == []
    listing = api.get("/api/manage/broadcasts", headers=mgr).get_json()
    assert listing["active"] == [] and listing["recent"][0]["end_reason"] == "withdrawn"
    assert api.post("/api/manage/broadcasts/999/withdraw", headers=mgr).status_code == 404


def test_a_foreign_page_cannot_send_with_the_managers_cookie(bare: Services) -> None:
    web = create_app(bare, {"TESTING": True}).test_client()
    assert web.post("/api/session", json={"staff_id": "9001", "pin": "hall-8888"}).status_code == 201
    r = web.post("/api/manage/broadcasts", json={"message": MSG, "targets": ["board"], "minutes": 5},
                 headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and bare.broadcasts is not None and bare.broadcasts.active() == []


# ===================================================================== LED
@pytest.fixture
def led_hall(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    devices = [d.model_copy(update={"options": {**d.options, **FAST}}) for d in config.devices
               if d.kind == "led" and d.options.get("role", "board") == "board"]
    svc = build_services(config.model_copy(update={"devices": devices}), tmp_path, clock=clock)
    svc.devices.start()
    assert wait_until(lambda: all(d.status()["state"] == "ready" for d in svc.devices.devices.values()))
    yield svc
    svc.stop()


def test_led_scrolls_the_broadcast_in_a_ram_area_and_drops_it_when_withdrawn(
        led_hall: Services, clock: FixedClock) -> None:
    (name,) = led_hall.devices.devices
    dev: LedDevice = led_hall.devices.devices[name]  # type: ignore[assignment]
    emu: LedEmulator = led_hall.devices.emulators[name]
    rows_before = emu.lines()
    assert rows_before[-1].startswith("等候")
    sent: list[bytes] = []
    real_write = dev.transport.write
    dev.transport.write = lambda data: (sent.append(bytes(data)), real_write(data))[1]  # type: ignore[method-assign]
    b = led_hall.broadcasts
    assert b is not None
    item = b.send(MSG, ["led", "board"], clock.now() + timedelta(minutes=20), "9001")
    assert emu.wait_for(lambda e: e.lines()[-1] == MSG, WAIT_SECONDS)
    assert emu.lines()[:-1] == rows_before[:-1]                       # the call rows are untouched
    # what went down the line, decoded with the protocol's own decoders: one A3 06 dynamic-area frame
    # (RAM only: the card's flash is never written) that sets the bottom row to scroll the message
    frames = [p.decode_frame(f) for f in sent]
    updates = [f for f in frames if (f.group, f.cmd) == (p.GROUP_DISPLAY, p.CMD_DYNAMIC_AREA)]
    assert updates and all((f.group, f.cmd) in {(p.GROUP_DISPLAY, p.CMD_DYNAMIC_AREA),
                                                  (p.GROUP_SYSTEM, p.CMD_PING)} for f in frames)
    areas = [a for f in updates for a in p.parse_dynamic_area_data(f.data).areas]
    bottom = max(dev.geometry.rows - 1, 0)
    assert [a.area_id for a in areas] == [bottom]
    assert p.decode_text(areas[0].data).text == MSG
    assert areas[0].display_mode == p.SHOW_SCROLL_LEFT
    # the emulator, decoding the same bytes independently, lights it scrolling
    assert emu.areas()[bottom]["scroll"] is True
    b.withdraw(item["id"], "9001")
    assert emu.wait_for(lambda e: e.lines() == rows_before, WAIT_SECONDS)
    assert dev.status()["broadcast"] == ""


def test_led_shows_an_unexpired_broadcast_after_a_restart(tmp_path: Path, config: HallConfig,
                                                          clock: FixedClock) -> None:
    svc = _bare(config, tmp_path, clock)
    assert svc.broadcasts is not None
    svc.broadcasts.send(MSG, ["led"], clock.now() + timedelta(hours=1), "9001")
    svc.stop()
    devices = [d.model_copy(update={"options": {**d.options, **FAST}}) for d in config.devices
               if d.kind == "led" and d.options.get("role", "board") == "board"]
    svc = build_services(config.model_copy(update={"devices": devices}), tmp_path, clock=clock)
    try:
        svc.devices.start()
        (name,) = svc.devices.emulators
        emu: LedEmulator = svc.devices.emulators[name]
        assert emu.wait_for(lambda e: bool(e.lines()) and e.lines()[-1] == MSG, WAIT_SECONDS)
    finally:
        svc.stop()


# ===================================================================== voice
def _call(number: str, window: int) -> dict[str, Any]:
    return {"number": number, "window": window, "text": f"请{number}号到{window}号窗口办理"}


def test_voice_speaks_a_broadcast_queued_between_two_calls_after_both(
        voice: tuple[VoiceDevice, VirtualSpeaker, EventHub]) -> None:
    dev, speaker, hub = voice
    gate = threading.Event()
    dev.submit(lambda _t: gate.wait(10))                  # hold the worker so all three are queued together
    hub.publish("ticket.called", _call("A001", 1))
    hub.publish("broadcast.announce", {"id": 1, "text": MSG, "times": 2, "expires_at": "2099-01-01T00:00:00+08:00"})
    hub.publish("ticket.called", _call("B002", 2))
    gate.set()
    assert wait_until(lambda: speaker.count == 4, 60)
    played = list(speaker.history)
    assert [x["text"] for x in played] == [_call("A001", 1)["text"], _call("B002", 2)["text"], MSG, MSG]
    for a, b in itertools.pairwise(played):
        assert a["ended"] <= b["started"]                 # never over each other
    st = dev.status()["counters"]
    assert st["announced"] == 2 and st["broadcasts"] == 2 and st["deferred"] >= 1


def test_voice_drops_a_broadcast_that_expired_while_waiting(
        voice: tuple[VoiceDevice, VirtualSpeaker, EventHub]) -> None:
    dev, speaker, hub = voice
    hub.publish("broadcast.announce", {"id": 2, "text": MSG, "times": 1, "expires_at": "2020-01-01T00:00:00+08:00"})
    hub.publish("ticket.called", _call("C003", 3))
    assert wait_until(lambda: speaker.count == 1, 30)
    dev.submit(lambda _t: None).result(10)
    assert [x["text"] for x in speaker.history] == [_call("C003", 3)["text"]]


def test_a_call_that_can_never_be_spoken_does_not_hold_broadcasts_back(
        voice: tuple[VoiceDevice, VirtualSpeaker, EventHub]) -> None:
    dev, _speaker, _hub = voice
    dev.stop()
    refused = dev.announce("请A009号到1号窗口办理", number="A009")
    assert refused.exception(5) is not None                 # a stopped device refuses at once
    assert dev._calls_pending == 0                          # so no broadcast waits for it
