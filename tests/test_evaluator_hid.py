"""Keyboard-style (HID) evaluator keypads: input_event parsing, key maps, and the driver reading
a FIFO of real `struct input_event` records written by the emulator (POSIX only)."""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hall.drivers.base import DeviceState
from hall.drivers.emulators.evaluator_hid import HidKeypadEmulator
from hall.drivers.evaluator.base import CHANNEL
from hall.drivers.evaluator.hid_keypad import (
    DEFAULT_KEYMAP,
    EV_KEY,
    EV_SYN,
    EVENT_SIZE,
    EvdevKeySource,
    HidEvaluatorDevice,
    pack_event,
    parse_keymap,
)
from hall.events import EventHub

from tests.waiting import wait_until

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="evdev/FIFO reader is POSIX-only")


def test_event_layout_is_the_kernels() -> None:
    # struct input_event on LP64 Linux: timeval (2 × 8) + u16 type + u16 code + s32 value
    assert (24 if struct.calcsize("l") == 8 else 16) == EVENT_SIZE
    raw = pack_event(EV_KEY, 2, 1, at=1700000000.25)
    sec, usec, t, c, v = struct.unpack("@llHHi", raw)
    assert (sec, usec, t, c, v) == (1700000000, 250000, EV_KEY, 2, 1)


def test_default_keymap_and_parsing() -> None:
    assert DEFAULT_KEYMAP[2] == "非常满意" and DEFAULT_KEYMAP[6] == "非常不满意"      # KEY_1 … KEY_5
    assert DEFAULT_KEYMAP[79] == "非常满意" and DEFAULT_KEYMAP[76] == "非常不满意"    # KP1 … KP5
    assert parse_keymap("KEY_F1=非常满意, KEY_F2=2，0x3d=基本满意, 62=4, key_f5=非常不满意") == {
        59: "非常满意", 60: "满意", 61: "基本满意", 62: "不满意", 63: "非常不满意"}
    for bad in ("KEY_F1", "KEY_NOPE=满意", "KEY_1=很好", "KEY_1=6", ","):
        with pytest.raises(ValueError):
            parse_keymap(bad)


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, window: int, level: str, channel: str, prompt_id: int) -> bool:
        with self._lock:
            self.calls.append((window, level, channel, prompt_id))
        return True


class HidRig:
    def __init__(self, tmp: Path) -> None:
        self.emu = HidKeypadEmulator(tmp / "kbd.evdev").start()
        self.sink = Sink()
        self.hub = EventHub()
        self.dev = HidEvaluatorDevice("eval-hid", EvdevKeySource(self.emu.url), window=2,
                                      sink=lambda: self.sink, backoff_min=0.05, backoff_max=0.2)
        self.hub.add_listener(self.dev.on_event)
        self.dev.start()
        assert wait_until(lambda: self.dev.state == DeviceState.READY)

    def prompt(self, pid: int, seconds: float | None = None) -> None:
        data: dict[str, object] = {"window": 2, "prompt_id": pid, "ticket_id": None, "clerk_name": "王芳",
                                   "expires_at": None}
        if seconds is not None:
            data["expires_at"] = self.dev.clock.now().timestamp() + seconds
        self.hub.publish("rating.prompt", data)
        assert wait_until(lambda: self.dev.gate.current() is not None)

    def presses_seen(self, n: int) -> bool:
        return wait_until(lambda: self.dev.counters["presses"] >= n)


@pytest.fixture
def hid(tmp_path: Path) -> Iterator[HidRig]:
    r = HidRig(tmp_path)
    yield r
    r.dev.stop()
    r.emu.stop()


def test_press_outside_prompt_records_nothing(hid: HidRig) -> None:
    hid.emu.press("非常满意")
    assert hid.presses_seen(1)
    assert hid.sink.calls == []
    assert hid.dev.status()["counters"]["ignored_presses"] == 1


def test_press_during_prompt_counts_once_and_noise_never(hid: HidRig) -> None:
    hid.prompt(5)
    hid.emu.inject_noise()         # unmapped key, auto-repeat, scan codes
    assert wait_until(lambda: hid.dev.counters["unmapped_keys"] == 1 and hid.dev.counters["repeats"] == 1)
    assert hid.sink.calls == []
    hid.emu.press("不满意")
    hid.emu.press("满意")           # a second press after the rating
    assert hid.presses_seen(2)
    assert hid.sink.calls == [(2, "不满意", CHANNEL, 5)]
    st = hid.dev.status()
    assert st["dropped"] == {"unmapped_keys": 1, "repeats": 1}
    assert st["last_key"]["level"] == "满意"
    assert hid.dev.test()["ok"]


def test_timeout_and_other_window(hid: HidRig) -> None:
    hid.hub.publish("rating.prompt", {"window": 1, "prompt_id": 9, "clerk_name": "李明"})
    hid.prompt(6, seconds=0.3)
    assert wait_until(lambda: hid.dev.gate.counters["expired"] == 1)
    hid.emu.press("非常满意")
    assert hid.presses_seen(1)
    assert hid.sink.calls == []
    assert hid.dev.gate.counters["prompts"] == 1


def test_unplug_and_replug(hid: HidRig) -> None:
    hid.prompt(7)
    hid.emu.unplug()
    assert wait_until(lambda: hid.dev.state == DeviceState.OFFLINE)
    assert "按键设备" in hid.dev.last_error
    assert hid.dev.test()["ok"] is False
    hid.emu.replug()
    assert wait_until(lambda: hid.dev.state == DeviceState.READY)
    hid.emu.press("基本满意")
    assert wait_until(lambda: len(hid.sink.calls) == 1)
    assert hid.sink.calls == [(2, "基本满意", CHANNEL, 7)]


def test_partial_records_are_reassembled(tmp_path: Path) -> None:
    fifo = tmp_path / "raw.evdev"
    os.mkfifo(fifo)
    src = EvdevKeySource(str(fifo), grab=True)
    src.open()
    fd = os.open(fifo, os.O_WRONLY)
    try:
        data = pack_event(EV_KEY, 3, 1) + pack_event(EV_SYN, 0, 0) + pack_event(EV_KEY, 3, 0)
        os.write(fd, data[:10])
        assert src.read_keys(0.2) == []
        os.write(fd, data[10:])
        events = src.read_keys(0.2)
        assert [(e.code, e.value) for e in events] == [(3, 1), (3, 0)]
        assert src.grabbed is False           # a FIFO cannot be grabbed; a real /dev/input node is
    finally:
        os.close(fd)
        src.close()


def test_missing_device_is_a_clear_error(tmp_path: Path) -> None:
    from hall.drivers.transport import TransportError

    with pytest.raises(TransportError, match="不存在"):
        EvdevKeySource(str(tmp_path / "nope")).open()


def test_emulator_fault_commands_for_the_technician_page(hid: HidRig) -> None:
    hid.prompt(8)
    assert "满意" in hid.emu.fault("press 2")
    assert wait_until(lambda: len(hid.sink.calls) == 1)
    assert hid.sink.calls == [(2, "满意", CHANNEL, 8)]
    assert "命令" in hid.emu.fault("what")
    assert hid.emu.view()["keys"][0] == {"level": "非常满意", "code": 2}
