"""The serial evaluator driver against its emulator over real channels (pty and TCP on 127.0.0.1).

Every rating-relevant fault is checked for "no phantom record": presses outside a prompt,
after the timeout, with a stale token, noise, partial frames and bad checksums never reach the
rating sink; a press during a prompt reaches it exactly once, also across unplug/replug.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hall.drivers.base import DeviceState
from hall.drivers.emulators.evaluator import EvaluatorEmulator
from hall.drivers.evaluator import protocol as P
from hall.drivers.evaluator.base import CHANNEL, PressOutcome, PromptGate, prompt_timeout
from hall.drivers.evaluator.serial_keypad import SILENT_DETAIL, EvaluatorDevice
from hall.drivers.transport import open_transport
from hall.events import EventHub
from hall.queue.clock import FixedClock, iso

from tests.waiting import WAIT_SECONDS, wait_until

T0 = datetime(2026, 11, 25, 9, 0, 0)
CHANNELS = ["pty", "tcp"] if os.name == "posix" else ["tcp"]


class RecordingSink:
    def __init__(self, answer: bool = True) -> None:
        self.calls: list[tuple[int, str, str, int]] = []
        self.answer = answer
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, window: int, level: str, channel: str, prompt_id: int) -> bool:
        with self._lock:
            self.calls.append((window, level, channel, prompt_id))
            self.threads.add(threading.current_thread().name)
        return self.answer


class Rig:
    def __init__(self, tmp: Path, channel: str, *, sink: RecordingSink | None, window: int = 1) -> None:
        self.clock = FixedClock(T0)
        self.hub = EventHub()
        self.sink = sink
        self.emu = EvaluatorEmulator(name="kp", channel=channel, link=tmp / "kp.tty").start()
        self.dev = EvaluatorDevice(
            "eval-w1", open_transport(self.emu.url), window=window, sink=lambda: self.sink, clock=self.clock,
            heartbeat=0.2, degraded_after=0.8, offline_after=1.6, backoff_min=0.05, backoff_max=0.2,
            reply_timeout=0.2)
        self.hub.add_listener(self.dev.on_event)
        self.dev.start()
        assert wait_until(lambda: self.dev.state == DeviceState.READY), self.dev.status()

    def prompt(self, prompt_id: int = 11, *, seconds: float = 30, window: int = 1) -> None:
        self.hub.publish("rating.prompt", {
            "window": window, "prompt_id": prompt_id, "ticket_id": 5,
            "expires_at": iso(self.clock.now() + timedelta(seconds=seconds)), "clerk_name": "李明"})

    def wait_mode(self, mode: str, timeout: float = WAIT_SECONDS) -> bool:
        return wait_until(lambda: self.emu.view()["mode"] == mode, timeout)

    def wait_key_result(self, seq: int, timeout: float = WAIT_SECONDS) -> int | None:
        def done() -> bool:
            return any(r["seq"] == seq for r in self.emu.key_results)
        if not wait_until(done, timeout):
            return None
        status: int = next(r["status"] for r in reversed(self.emu.key_results) if r["seq"] == seq)
        return status

    def close(self) -> None:
        self.dev.stop()
        self.emu.stop()


@pytest.fixture(params=CHANNELS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path, request.param, sink=RecordingSink())
    yield r
    r.close()


@pytest.fixture
def pty_rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path, CHANNELS[0], sink=RecordingSink())
    yield r
    r.close()


def sink_of(r: Rig) -> RecordingSink:
    assert r.sink is not None
    return r.sink


# ------------------------------------------------------------------ gate (pure)
def test_gate_counts_one_press_per_prompt_and_nothing_outside() -> None:
    gate = PromptGate(window=1)
    assert gate.press("满意", now=0.0) == (PressOutcome.NOT_PROMPTED, None)
    p = gate.open(7, timeout=10, now=0.0)
    assert gate.press("满意", token=p.token + 1, now=1.0) == (PressOutcome.STALE, None)
    outcome, got = gate.press("满意", token=p.token, now=1.0)
    assert outcome == PressOutcome.ACCEPTED and got == p
    assert gate.press("满意", token=p.token, now=1.1) == (PressOutcome.NOT_PROMPTED, None)
    q = gate.open(8, timeout=5, now=2.0)
    assert gate.press("非常满意", token=q.token, now=7.0) == (PressOutcome.NOT_PROMPTED, None)   # timed out
    assert gate.expire(now=7.0) == q
    assert gate.press("差", now=1.0)[0] == PressOutcome.UNKNOWN_LEVEL


def test_prompt_timeout_reads_iso_epoch_and_bad_values() -> None:
    clock = FixedClock(T0)
    now = clock.now()
    assert prompt_timeout(iso(now + timedelta(seconds=45)), now) == pytest.approx(45)
    assert prompt_timeout((now + timedelta(seconds=20)).timestamp(), now) == pytest.approx(20)
    assert prompt_timeout(iso(now - timedelta(seconds=5)), now) == 0
    assert prompt_timeout("not a time", now, default=30) == 30
    assert prompt_timeout(None, now, default=12) == 12


# ------------------------------------------------------------ over real channels
def test_connects_identifies_and_reports(rig: Rig) -> None:
    st = rig.dev.status()
    assert st["firmware"] == rig.emu.firmware
    assert st["window"] == 1 and st["type"] == "serial"
    assert set(st["dropped"]) >= {"noise_bytes", "bad_checksum", "partial", "bad_length", "bad_payload"}
    res = rig.dev.test()
    assert res["ok"] and "评价器应答正常" in res["message"]


def test_press_outside_prompt_records_nothing(rig: Rig) -> None:
    seq = rig.emu.press("非常不满意")
    assert rig.wait_key_result(seq) == P.ST_KEY_NOT_PROMPTED
    assert sink_of(rig).calls == []
    assert rig.dev.status()["counters"]["ignored_presses"] == 1


def test_press_during_prompt_is_recorded_exactly_once(rig: Rig) -> None:
    rig.prompt(prompt_id=42)
    assert rig.wait_mode("prompt")
    view = rig.emu.view()
    assert view["clerk_name"] == "李明" and view["text"] == "请您对本次服务进行评价"
    seq = rig.emu.press("满意", repeat=2)          # a bouncing key: the same frame twice
    assert rig.wait_key_result(seq) == P.ST_OK
    assert rig.wait_mode("thanks")
    later = rig.emu.press("非常不满意", token=view["token"])   # a second press for the same prompt
    assert rig.wait_key_result(later) == P.ST_KEY_NOT_PROMPTED
    assert sink_of(rig).calls == [(1, "满意", CHANNEL, 42)]
    assert sink_of(rig).threads == {"device-eval-w1"}     # the worker thread, never the publisher's
    counters = rig.dev.status()["counters"]
    assert counters["duplicate_keys"] >= 1 and counters["recorded"] == 1


def test_noise_partial_and_bad_checksum_are_counted_never_rated(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.prompt(prompt_id=3)
    assert rig.wait_mode("prompt")
    rig.emu.inject_noise()
    rig.emu.send_bad_checksum("非常满意")
    assert wait_until(lambda: rig.dev.status()["dropped"]["bad_checksum"] >= 1)
    rig.emu.send_partial("非常满意")
    assert wait_until(lambda: rig.dev.status()["dropped"]["partial"] >= 1)
    # a frame for another keypad on the same bus
    rig.emu.inject_noise(P.encode(P.Key("非常满意", rig.emu.token), addr=2, seq=99))
    assert wait_until(lambda: rig.dev.status()["dropped"]["wrong_address"] == 1)
    # a checked frame with an impossible level
    rig.emu.inject_noise(P.encode_frame(1, 98, P.KEY, bytes([9]) + rig.emu.token.to_bytes(2, "little")))
    assert wait_until(lambda: rig.dev.status()["dropped"]["bad_payload"] == 1)
    dropped = rig.dev.status()["dropped"]
    assert dropped["noise_bytes"] > 0 and dropped["bad_length"] >= 1
    assert sink_of(rig).calls == []
    assert rig.emu.view()["mode"] == "prompt"      # still waiting for a real press
    seq = rig.emu.press("非常满意")
    assert rig.wait_key_result(seq) == P.ST_OK
    assert sink_of(rig).calls == [(1, "非常满意", CHANNEL, 3)]


def test_prompt_times_out_and_a_late_press_records_nothing(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.prompt(prompt_id=8, seconds=0.4)
    assert rig.wait_mode("prompt")
    token = rig.emu.token
    assert wait_until(lambda: rig.dev.status()["counters"]["expired"] == 1)
    assert rig.wait_mode("idle")                    # the host sent CANCEL
    assert any(r["type"] == "CANCEL" and r["token"] == token for r in rig.emu.received)
    seq = rig.emu.press("非常满意", token=token)     # a keypad that kept the old prompt
    assert rig.wait_key_result(seq) == P.ST_KEY_NOT_PROMPTED
    assert sink_of(rig).calls == []


def test_stale_token_and_other_windows_are_ignored(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.prompt(prompt_id=9, window=2)               # another window's prompt
    rig.prompt(prompt_id=10)
    assert rig.wait_mode("prompt")
    seq = rig.emu.press("满意", token=(rig.emu.token + 1) & 0xFFFF or 1)
    assert rig.wait_key_result(seq) == P.ST_KEY_STALE
    assert sink_of(rig).calls == []
    assert rig.dev.status()["counters"]["prompts"] == 1


def test_closed_prompt_cancels_or_thanks(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.prompt(prompt_id=20)
    assert rig.wait_mode("prompt")
    rig.hub.publish("rating.closed", {"window": 1, "prompt_id": 20, "reason": "cancelled"})
    assert rig.wait_mode("idle")
    rig.prompt(prompt_id=21)
    assert rig.wait_mode("prompt")
    rig.hub.publish("rating.closed", {"window": 1, "prompt_id": 21, "reason": "rated"})   # rated on the tablet
    assert rig.wait_mode("thanks")
    seq = rig.emu.press("满意", token=rig.emu.view()["token"])
    assert rig.wait_key_result(seq) == P.ST_KEY_NOT_PROMPTED
    assert sink_of(rig).calls == []


def test_host_retries_a_lost_command_with_the_same_seq(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.emu.ignore_next(1)
    rig.prompt(prompt_id=30)
    assert rig.wait_mode("prompt")
    assert rig.emu.faults["ignored_frames"] == 1
    assert rig.dev.status()["counters"]["unacked_commands"] == 0


def test_keypad_restart_gets_the_prompt_again(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.prompt(prompt_id=31)
    assert rig.wait_mode("prompt")
    rig.emu.reboot()
    assert rig.emu.view()["mode"] == "idle"
    assert rig.wait_mode("prompt")                  # noticed via the heartbeat's mode
    seq = rig.emu.press("基本满意")
    assert rig.wait_key_result(seq) == P.ST_OK
    assert sink_of(rig).calls == [(1, "基本满意", CHANNEL, 31)]


def test_unplug_and_replug_mid_prompt(rig: Rig) -> None:
    rig.prompt(prompt_id=50)
    assert rig.wait_mode("prompt")
    rig.emu.unplug()
    assert wait_until(lambda: rig.dev.state == DeviceState.OFFLINE)
    assert rig.dev.status()["last_error"]
    assert rig.dev.test()["ok"] is False
    rig.emu.replug()
    assert wait_until(lambda: rig.dev.state == DeviceState.READY)
    assert rig.wait_mode("prompt")                  # shown again with the time it has left
    seq = rig.emu.press("非常满意")
    assert rig.wait_key_result(seq) == P.ST_OK
    assert sink_of(rig).calls == [(1, "非常满意", CHANNEL, 50)]


def test_silence_degrades_then_goes_offline_and_recovers(pty_rig: Rig) -> None:
    rig = pty_rig
    assert wait_until(lambda: rig.dev.status()["counters"]["heartbeats"] >= 2)
    assert rig.dev.status()["rtt_ms"] is not None
    rig.emu.set_silent(True)
    assert wait_until(lambda: rig.dev.state == DeviceState.DEGRADED)
    assert rig.dev.status()["detail"] == SILENT_DETAIL
    assert wait_until(lambda: rig.dev.state == DeviceState.OFFLINE)
    seq = rig.emu.press("满意")                     # a silent keypad sends nothing
    rig.emu.set_silent(False)
    assert wait_until(lambda: rig.dev.state == DeviceState.READY)
    assert rig.dev.status()["detail"] == ""
    assert rig.wait_key_result(seq, timeout=0.5) is None   # short on purpose: no result must come
    assert sink_of(rig).calls == []


def test_refused_and_missing_sink_record_nothing_and_clear_the_keypad(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    r = Rig(tmp_path, CHANNELS[0], sink=RecordingSink(answer=False))
    try:
        r.prompt(prompt_id=60)
        assert r.wait_mode("prompt")
        seq = r.emu.press("不满意")
        assert r.wait_key_result(seq) == P.ST_KEY_REJECTED
        assert r.wait_mode("idle")
        assert sink_of(r).calls == [(1, "不满意", CHANNEL, 60)]
        r.sink = None                               # no records service wired
        for pid in (61, 62):
            r.prompt(prompt_id=pid)
            assert r.wait_mode("prompt")
            assert r.wait_key_result(r.emu.press("满意")) == P.ST_KEY_REJECTED
            assert r.wait_mode("idle")
        assert r.dev.status()["counters"]["no_sink"] == 2
        assert sum("no rating sink" in m for m in caplog.messages) == 1     # logged once
    finally:
        r.close()


def test_technician_test_prompt_reports_keys_without_rating(pty_rig: Rig) -> None:
    rig = pty_rig
    res = rig.dev.test(show_prompt=True)
    assert res["ok"], res
    assert rig.wait_mode("prompt")
    assert rig.emu.view()["clerk_name"] == "设备测试"
    seq = rig.emu.press("不满意")
    assert rig.wait_key_result(seq) == P.ST_OK
    assert wait_until(lambda: rig.dev.status()["last_test_key"] == "不满意")
    assert sink_of(rig).calls == []
    # a real prompt takes over from the test prompt
    rig.prompt(prompt_id=70)
    assert wait_until(lambda: rig.emu.view()["clerk_name"] == "李明")


def test_emulator_fault_commands(pty_rig: Rig) -> None:
    rig = pty_rig
    rig.prompt(prompt_id=80)
    assert rig.wait_mode("prompt")
    assert "线路噪声" in rig.emu.fault("noise")
    assert "半帧" in rig.emu.fault("partial")
    assert "校验错" in rig.emu.fault("badcrc")
    assert "命令" in rig.emu.fault("help me")
    assert "非常满意" in rig.emu.fault("1")
    assert wait_until(lambda: len(sink_of(rig).calls) == 1)
    assert sink_of(rig).calls == [(1, "非常满意", CHANNEL, 80)]
    assert rig.emu.display().startswith("【")


def test_emulator_view_for_the_technician_page(pty_rig: Rig) -> None:
    view = pty_rig.emu.view()
    assert [k["level"] for k in view["keys"]] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert view["mode_name"] == "待机" and view["plugged"] and view["connected"]
    assert any(r["type"] == "IDENTIFY" for r in view["received"])
