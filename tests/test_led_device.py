"""LED board and window screens: the real driver against the BX-5K/6K emulator over TCP and a pty.

Each test builds the demo hall's three LED screens (`led-board`, `led-w1`,
`led-w2`, all `emulator://`), drives the queue engine, and reads what the
emulator decoded from the wire. `barrier(dev)` waits until the device's
worker has done everything queued before it (a sync waits for the screen's
ACK, and the emulator records a frame before it answers), so "nothing more
was sent" is checked without sleeping.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.drivers.base import DeviceState
from hall.drivers.emulators.led import LedEmulator
from hall.drivers.led import protocol as p
from hall.drivers.led.device import LedDevice
from hall.drivers.led.layout import BoardModel, Call, WindowModel, board_rows, window_rows
from hall.queue.clock import FixedClock
from hall.services import Services, build_services

from tests.waiting import WAIT_SECONDS, wait_until

FAST = {"probe_interval": 0.1, "ack_timeout": 0.3, "retries": 2, "backoff_min": 0.05, "backoff_max": 0.2,
        "test_seconds": 0.3}


def led_hall(config: HallConfig, tmp_path: Path, clock: FixedClock, **overrides: dict[str, Any]) -> Services:
    devices = []
    for d in config.devices:
        if d.kind != "led":
            continue
        update: dict[str, Any] = {"options": {**d.options, **FAST, **overrides.get(d.name, {}).get("options", {})}}
        if "url" in overrides.get(d.name, {}):
            update["url"] = overrides[d.name]["url"]
        devices.append(d.model_copy(update=update))
    svc = build_services(config.model_copy(update={"devices": devices}), tmp_path, clock=clock)
    svc.devices.start()
    assert wait_until(lambda: all(dev.status()["state"] == "ready" for dev in svc.devices.devices.values()))
    return svc


@pytest.fixture
def hall(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    svc = led_hall(config, tmp_path, clock)
    yield svc
    svc.stop()


def emu(svc: Services, name: str) -> LedEmulator:
    e: LedEmulator = svc.devices.emulators[name]
    return e


def dev(svc: Services, name: str) -> LedDevice:
    d: LedDevice = svc.devices.devices[name]  # type: ignore[assignment]
    return d


def barrier(d: LedDevice) -> None:
    d.submit(lambda t: None).result(5)


def shows(e: LedEmulator, *lines: str) -> bool:
    return e.wait_for(lambda em: em.lines() == list(lines), WAIT_SECONDS)


def area_ids(e: LedEmulator, since: int) -> list[tuple[int, ...]]:
    """Area ids of the frames recorded after `since` (an earlier `frame_count`)."""
    return [f.area_ids for f in e.area_frames(since)]


# ===================================================================== behaviour
def test_start_shows_welcome_and_paused_windows(hall: Services) -> None:
    assert shows(emu(hall, "led-board"), "欢迎光临示范镇便民服务中心", " ", "等候 A:0 B:0 C:0 D:0 E:0 F:0")
    assert shows(emu(hall, "led-w1"), "1号窗口", "暂停服务")
    assert shows(emu(hall, "led-w2"), "2号窗口", "暂停服务")
    first = emu(hall, "led-board").area_frames()[0]
    assert first.area_ids == (0, 1, 2)          # all rows in one frame (with "delete all" first)


def test_a_call_shows_on_the_board_and_the_window_screen(hall: Services) -> None:
    eng = hall.engine
    eng.login(1, "1001")
    for _ in range(3):
        eng.issue("A")
    eng.call_next(1, "1001")
    assert shows(emu(hall, "led-board"), "请A001号到1号窗口", " ", "等候 A:2 B:0 C:0 D:0 E:0 F:0")
    assert shows(emu(hall, "led-w1"), "1号窗口", "请A001号")
    eng.start(1, "1001")
    assert shows(emu(hall, "led-w1"), "1号窗口", "A001 办理中")
    eng.call_next(1, "1001")            # finishes A001, calls A002
    assert shows(emu(hall, "led-board"), "请A002号到1号窗口", "A001→1号窗口", "等候 A:1 B:0 C:0 D:0 E:0 F:0")
    assert shows(emu(hall, "led-w1"), "1号窗口", "请A002号")
    assert emu(hall, "led-w2").lines() == ["2号窗口", "暂停服务"]


def test_only_changed_areas_are_sent(hall: Services) -> None:
    board, w1, w2 = emu(hall, "led-board"), emu(hall, "led-w1"), emu(hall, "led-w2")
    eng = hall.engine
    devs = [dev(hall, n) for n in ("led-board", "led-w1", "led-w2")]
    for d in devs:
        barrier(d)
    b0, w10, w20 = board.frame_count, w1.frame_count, w2.frame_count

    eng.login(2, "1002")                # window 2 opens: only its status row changes
    for d in devs:
        barrier(d)
    assert area_ids(w2, w20) == [(1,)]
    assert area_ids(board, b0) == [] and area_ids(w1, w10) == []

    eng.issue("B")                       # one more waiting: only the board's waiting row
    for d in devs:
        barrier(d)
    assert area_ids(board, b0) == [(2,)]
    assert area_ids(w2, w20) == [(1,)] and area_ids(w1, w10) == []

    eng.login(2, "1002")                 # the same clerk again: nothing on any screen changes
    for d in devs:
        barrier(d)
    assert area_ids(board, b0) == [(2,)] and area_ids(w2, w20) == [(1,)]

    eng.call_next(2, "1002")             # newest call (first, alone) and waiting; not the earlier-calls row
    for d in devs:
        barrier(d)
    assert area_ids(board, b0) == [(2,), (0,), (2,)]
    assert area_ids(w2, w20) == [(1,), (1,)]
    assert w2.lines() == ["2号窗口", "请B001号"]


def test_recall_relights_the_newest_call(hall: Services) -> None:
    board = emu(hall, "led-board")
    eng = hall.engine
    eng.login(1, "1001")
    eng.issue("A")
    eng.call_next(1, "1001")
    d = dev(hall, "led-board")
    barrier(d)
    n = board.frame_count
    eng.recall(1, "1001")
    barrier(d)
    assert area_ids(board, n) == [(0,)]     # same text, sent again so the board flashes the call


@pytest.fixture
def no_probe_hall(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    """led-w1 never probes: every frame it sends comes from an event (no ping can take an injected fault)."""
    svc = led_hall(config, tmp_path, clock, **{"led-w1": {"options": {"probe_interval": 60}}})
    yield svc
    svc.stop()


def test_nack_is_retried(no_probe_hall: Services) -> None:
    w1, d = emu(no_probe_hall, "led-w1"), dev(no_probe_hall, "led-w1")
    barrier(d)
    n = w1.frame_count
    w1.fault("nack 3 2")                     # busy twice, then fine
    no_probe_hall.engine.login(1, "1001")
    assert shows(w1, "1号窗口", "欢迎办理")
    barrier(d)
    assert [f.reply for f in list(w1.frames)[n:]] == ["nack:3", "nack:3", "ack"]   # one sync, three tries
    assert d.nacks == 2 and d.state == DeviceState.READY


def test_persistent_nack_degrades_and_the_rows_follow_later(hall: Services) -> None:
    w1, d = emu(hall, "led-w1"), dev(hall, "led-w1")
    barrier(d)
    w1.fault("nack 5")                       # refuses everything (CRC error) until cleared
    hall.engine.login(1, "1001")
    assert wait_until(lambda: d.state == DeviceState.DEGRADED)
    assert "CRC" in d.status()["detail"]
    assert w1.lines() == ["1号窗口", "暂停服务"]
    w1.fault("nack off")
    assert shows(w1, "1号窗口", "欢迎办理")        # the probe sends the pending row
    assert wait_until(lambda: d.state == DeviceState.READY)


def test_a_screen_that_recovers_with_nothing_pending_is_ready_again(hall: Services) -> None:
    """Issue 10: a NACKed probe degraded the screen; with no row left to send it stayed degraded."""
    w1, d = emu(hall, "led-w1"), dev(hall, "led-w1")
    barrier(d)
    w1.fault("nack 5")                       # only the probe's pings meet it: no event, no pending row
    assert wait_until(lambda: d.state == DeviceState.DEGRADED)
    w1.fault("nack off")
    assert wait_until(lambda: d.state == DeviceState.READY)
    assert d.status()["detail"] == ""


def test_unplug_and_replug_resends_all_content(hall: Services) -> None:
    board, d = emu(hall, "led-board"), dev(hall, "led-board")
    eng = hall.engine
    eng.login(1, "1001")
    eng.issue("A")
    eng.issue("A")
    # let the frames already on their way land first, or one could arrive after the power loss below
    assert wait_until(lambda: any("等候 A:2" in line for line in board.lines()))
    board.unplug()
    board.clear()                            # the controller lost power: its RAM areas are gone
    assert wait_until(lambda: d.state == DeviceState.OFFLINE)
    eng.call_next(1, "1001")                 # a call while the board is away
    assert d.state == DeviceState.OFFLINE and board.lines() == []
    board.replug()
    assert shows(board, "请A001号到1号窗口", " ", "等候 A:1 B:0 C:0 D:0 E:0 F:0")
    assert wait_until(lambda: d.state == DeviceState.READY)
    assert board.area_frames()[-1].area_ids == (0, 1, 2)
    assert d.status()["last_error"]


def test_silent_controller_goes_offline_and_comes_back(hall: Services) -> None:
    w2, d = emu(hall, "led-w2"), dev(hall, "led-w2")
    w2.fault("silence on")
    assert wait_until(lambda: d.state == DeviceState.OFFLINE)
    assert "无应答" in d.status()["last_error"]
    hall.engine.login(2, "1002")
    w2.fault("silence off")
    assert shows(w2, "2号窗口", "欢迎办理")
    assert wait_until(lambda: d.state == DeviceState.READY)


def test_noise_garbled_and_partial_replies_are_survived(hall: Services) -> None:
    board, d = emu(hall, "led-board"), dev(hall, "led-board")
    eng = hall.engine
    eng.login(1, "1001")
    board.fault("garble on")                 # junk and a cut-off frame before every reply
    board.fault("slow 3 1")                  # replies trickle in 3 bytes at a time
    board.send_noise(64)
    for _ in range(2):
        eng.issue("A")
    eng.call_next(1, "1001")
    assert shows(board, "请A001号到1号窗口", " ", "等候 A:1 B:0 C:0 D:0 E:0 F:0")
    barrier(d)
    assert d.state == DeviceState.READY and d.timeouts == 0
    assert d._decoder.frames.errors.get("partial", 0) >= 1   # the cut-off frames were seen and dropped


def test_a_reply_with_a_bad_crc_is_not_taken_as_an_ack(no_probe_hall: Services) -> None:
    w1, d = emu(no_probe_hall, "led-w1"), dev(no_probe_hall, "led-w1")
    barrier(d)
    w1.fault("corrupt 1")
    no_probe_hall.engine.login(1, "1001")
    assert shows(w1, "1号窗口", "欢迎办理")
    barrier(d)
    assert d.timeouts == 1 and d.state == DeviceState.READY
    assert [f.area_ids for f in w1.area_frames()][-2:] == [(1,), (1,)]    # sent again after the spoiled ACK


def test_text_gb2312_cannot_encode_is_replaced(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    svc = led_hall(config, tmp_path, clock, **{"led-board": {"options": {"title": "朱镕基镇😀服务中心"}}})
    try:
        assert shows(emu(svc, "led-board"), "欢迎光临朱□基镇□服务中心", " ", "等候 A:0 B:0 C:0 D:0 E:0 F:0")
        st = dev(svc, "led-board").status()
        assert st["unshowable_chars"] == ["镕", "😀"] and st["state"] == "ready"
    finally:
        svc.stop()


def test_test_pattern_lights_then_the_rows_come_back(hall: Services) -> None:
    board, d = emu(hall, "led-board"), dev(hall, "led-board")
    result = d.test()
    assert result["ok"] is True and "测试图案" in result["message"]
    assert board.lines()[0] == "测试 TEST led-board" and set(board.lines()[1]) == {"■"}
    assert shows(board, "欢迎光临示范镇便民服务中心", " ", "等候 A:0 B:0 C:0 D:0 E:0 F:0")


def test_test_fails_fast_when_offline_or_refused(hall: Services) -> None:
    w1, d = emu(hall, "led-w1"), dev(hall, "led-w1")
    w1.fault("nack 3")
    result = d.test()
    assert result["ok"] is False and "控制器忙" in result["message"]
    w1.fault("nack off")
    w1.unplug()
    assert wait_until(lambda: d.state == DeviceState.OFFLINE)
    result = d.test()
    assert result["ok"] is False and "离线" in result["message"]


def test_window_screen_pause_and_resume(hall: Services) -> None:
    w1 = emu(hall, "led-w1")
    eng = hall.engine
    eng.login(1, "1001")
    assert shows(w1, "1号窗口", "欢迎办理")
    eng.pause(1, "1001", "午休")
    assert shows(w1, "1号窗口", "暂停服务：午休")         # the reason, when the 128-dot row holds it
    eng.resume(1, "1001")
    eng.pause(1, "1001", code="errand")                 # 暂停服务：外出办事 is 18 cells: just 暂停服务
    assert shows(w1, "1号窗口", "暂停服务")
    eng.resume(1, "1001")
    assert shows(w1, "1号窗口", "欢迎办理")


@pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "openpty"), reason="pty needs POSIX")
def test_serial_screen_over_a_pty_survives_unplug(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    svc = led_hall(config, tmp_path, clock, **{"led-w1": {"url": "emulator://pty"}})
    try:
        w1, d = emu(svc, "led-w1"), dev(svc, "led-w1")
        assert d.transport.url == w1.pty_path and w1.pty_path is not None
        assert os.path.islink(w1.pty_path)
        svc.engine.login(1, "1001")
        assert shows(w1, "1号窗口", "欢迎办理")
        w1.unplug()                              # the USB adapter is pulled: the device node disappears
        assert wait_until(lambda: d.state == DeviceState.OFFLINE)
        svc.engine.pause(1, "1001", "设备检修")
        w1.replug()
        assert shows(w1, "1号窗口", "暂停服务")
        assert wait_until(lambda: d.state == DeviceState.READY)
    finally:
        svc.stop()


def test_bad_device_options_are_refused(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    from hall.drivers.factory import DeviceContext
    from hall.drivers.led.device import build_led
    from hall.drivers.manager import DeviceManager
    from hall.security import redact_text

    svc = build_services(config.model_copy(update={"devices": []}), tmp_path, clock=clock)
    try:
        ctx = DeviceContext(config=config, hub=svc.hub, engine=svc.engine, data_dir=tmp_path, clock=clock,
                            manager=DeviceManager(), redact=redact_text)
        spec = next(d for d in config.devices if d.name == "led-w1")
        with pytest.raises(ValueError, match="窗口屏"):
            build_led(spec.model_copy(update={"window": None}), ctx)
        with pytest.raises(ValueError, match="角色"):
            build_led(spec.model_copy(update={"options": {"role": "wall"}}), ctx)
        with pytest.raises(ValueError, match="协议"):
            build_led(spec.model_copy(update={"options": {"role": "window", "protocol": "acme"}}), ctx)
        assert ctx.manager.emulators == {}       # nothing was started for a refused device
    finally:
        svc.stop()


# ===================================================================== emulator
# Vendor examples 8 (dynamic area "欢迎光临") and 4 (ACK, shown with nine A5 bytes); see test_led_protocol.py.
VENDOR_DYNAMIC = bytes.fromhex(
    "a5a5a5a5a5a5a5a5feff0080000000000000fe022c00a30601000000012300000080000080802000000000"
    "0a0000000002010100020a08000000bbb6d3adb9e2c1d93c495a"
)
VENDOR_ACK = bytes.fromhex("a5a5a5a5a5a5a5a5a50080feff000000000000fe020500a00000000014ac5a")

def _raw_client(e: LedEmulator) -> Any:
    import socket

    assert e.port is not None
    s = socket.create_connection(("127.0.0.1", e.port), timeout=WAIT_SECONDS)
    return s


def _read_frame(s: Any) -> p.Packet:
    dec = p.FrameDecoder()
    while True:
        for item in dec.feed(s.recv(dec.needed())):
            assert isinstance(item, p.Packet), item
            return item


@pytest.fixture
def emulator() -> Iterator[LedEmulator]:
    e = LedEmulator(128, 32, max_areas=5)
    e.start_tcp()
    yield e
    e.stop()


def test_emulator_answers_the_vendor_example_with_the_vendor_ack(emulator: LedEmulator) -> None:
    with _raw_client(emulator) as s:
        s.sendall(b"\x00\x13\x37noise" + VENDOR_DYNAMIC)
        dec = p.FrameDecoder()
        got = b""
        while not dec.feed(chunk := s.recv(dec.needed())):
            got += chunk
        got += chunk
        assert got == VENDOR_ACK[1:]
    assert emulator.lines() == ["欢迎光临"] and emulator.noise_bytes == 8


def test_emulator_nacks_bad_crc_and_ignores_other_addresses(emulator: LedEmulator) -> None:
    bad = bytearray(VENDOR_DYNAMIC)
    bad[-3] ^= 0x10
    other = p.encode_packet(p.ping_data(), dst=0x0007)       # another screen on the bus
    quiet = p.encode_packet(p.ping_data(), dst=p.ADDR_BROADCAST)
    with _raw_client(emulator) as s:
        s.sendall(bytes(bad))
        reply = p.parse_reply(_read_frame(s))
        assert not reply.ok and reply.code == p.ERR_CHECKSUM
        s.sendall(other + quiet + p.encode_packet(p.ping_data(), dst=0x0001))
        assert p.parse_reply(_read_frame(s)).ok                 # only the last one is answered
    assert emulator.lines() == [] and emulator.bad_frames == 1
    assert [f.reply for f in list(emulator.frames)] == ["nack:5", "none", "none", "ack"]


def test_emulator_refuses_areas_the_card_does_not_have(emulator: LedEmulator) -> None:
    area = p.DynamicArea(area_id=5, x=0, y=0, width=64, height=16, data=b"X")
    with _raw_client(emulator) as s:
        s.sendall(p.encode_packet(p.dynamic_area_data([area])))
        reply = p.parse_reply(_read_frame(s))
    assert not reply.ok and reply.code == p.ERR_MEMORYVOLUME
    assert emulator.lines() == []


def test_emulator_view_and_faults(emulator: LedEmulator) -> None:
    assert "nack" in emulator.fault("")
    assert "不认识" in emulator.fault("explode")
    assert "参数有误" in emulator.fault("nack x")
    view = emulator.view()
    assert view["kind"] == "led" and view["width"] == 128 and view["areas"] == []


# ===================================================================== layout
def test_board_rows_for_each_height() -> None:
    m = BoardModel(categories=["A", "B"], calls=[Call("A003", 1), Call("B002", 2), Call("A001", 3)],
                   waiting={"A": 4, "B": 0})
    assert board_rows(m, 1, title="大厅") == ["请A003号到1号窗口"]
    assert board_rows(m, 2, title="大厅") == ["请A003号到1号窗口", "等候 A:4 B:0"]
    assert board_rows(m, 3, title="大厅") == ["请A003号到1号窗口", "B002→2号窗口  A001→3号窗口", "等候 A:4 B:0"]
    assert board_rows(m, 4, title="大厅")[0] == "大厅"
    assert board_rows(BoardModel(categories=["A"]), 1, title="大厅") == ["欢迎光临大厅"]


def test_board_model_dedupes_recalls_and_seeds_from_snapshot() -> None:
    m = BoardModel(categories=["A"])
    m.seed({"date": "2026-11-25", "categories": [{"prefix": "A", "waiting": 2}],
            "recent_calls": [{"number": "A002", "window": 1}, {"number": "A001", "window": 2},
                             {"number": "A002", "window": 1}]})
    assert [c.number for c in m.calls] == ["A002", "A001"] and m.waiting == {"A": 2}
    assert m.apply("ticket.called", {"number": "A001", "window": 2, "waiting": {"A": 1}, "ticket": {}})
    assert [c.number for c in m.calls] == ["A001", "A002"] and m.waiting == {"A": 1}


def test_window_model_transitions() -> None:
    m = WindowModel(number=3)
    m.seed({"number": 3, "name": "3号窗口", "paused": False, "clerk_id": "1003", "current": None})
    assert window_rows(m, 2) == ["3号窗口", "欢迎办理"]
    m.apply("ticket.called", {"window": 3, "ticket": {"id": 7, "number": "C001", "state": "called"}})
    assert window_rows(m, 1) == ["请C001号"]
    m.apply("ticket.updated", {"window": 3, "ticket": {"id": 7, "number": "C001", "state": "serving", "window": 3}})
    assert window_rows(m, 1) == ["C001 办理中"]
    m.apply("ticket.updated", {"window": 3, "transferred_from": 7,
                               "ticket": {"id": 8, "number": "E001", "state": "waiting", "window": None}})
    assert window_rows(m, 1) == ["欢迎办理"]
    m.apply("ticket.called", {"window": 3, "ticket": {"id": 9, "number": "C002"}})
    m.apply("ticket.updated", {"window": 3, "ticket": {"id": 9, "number": "C002", "state": "no_show"}})
    assert window_rows(m, 1) == ["欢迎办理"]
    m.apply("window.updated", {"window": {"number": 4, "paused": True}})      # another window
    assert window_rows(m, 1) == ["欢迎办理"]
    m.apply("window.updated", {"window": {"number": 3, "paused": True, "clerk_id": "1003"}})
    assert window_rows(m, 1) == ["暂停服务"]


def test_kiosk_emulate_led_serves_a_real_port() -> None:
    import re
    import socket
    import subprocess

    kiosk = str(Path(sys.executable).with_name("kiosk"))
    proc = subprocess.Popen([kiosk, "emulate", "led", "--port", "0", "--width", "128", "--height", "32",
                             "--duration", "20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()
        m = re.search(r"tcp://127\.0\.0\.1:(\d+)", first)
        assert m, first
        with socket.create_connection(("127.0.0.1", int(m.group(1))), timeout=5) as s:
            s.sendall(VENDOR_DYNAMIC)
            assert p.parse_reply(_read_frame(s)).ok
        seen = ""
        while "欢迎光临" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        proc.stdin.write("nack 3\nquit\n")
        proc.stdin.flush()
        rest = proc.stdout.read()
        assert "NACK" in rest
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_resumed_call_and_paused_reason_rows() -> None:
    """A parked ticket called back says 回到 on the board; a paused window names its reason when it fits."""
    m = BoardModel(categories=["A"])
    m.apply("ticket.called", {"number": "A003", "window": 3, "resumed": True, "ticket": {}})
    assert board_rows(m, 1, title="大厅") == ["请A003号回到3号窗口"]
    m.seed({"recent_calls": [{"number": "A004", "window": 1, "resumed": True}]})
    assert board_rows(m, 1, title="大厅") == ["请A004号回到1号窗口"]
    w = WindowModel(number=1)
    w.seed({"number": 1, "paused": True, "pause_reason": "会议", "clerk_id": "1001"})
    assert window_rows(w, 1, 16) == ["暂停服务：会议"]         # 14 cells of 16
    assert window_rows(w, 1, 12) == ["暂停服务"]               # would not fit: never clipped
    assert window_rows(w, 1) == ["暂停服务"]
