"""Voice announcements: text for the speech engine, espeak-ng WAVs, order and no overlap.

Rendering runs the real espeak-ng (installed by scripts/setup); playing runs a real player
subprocess (a small script standing in for aplay that logs when it starts and ends).
"""

from __future__ import annotations

import itertools
import shutil
import sys
import wave
from pathlib import Path
from typing import Any

import pytest
from hall.drivers.base import DeviceState
from hall.drivers.emulators.voice import VirtualSpeaker
from hall.drivers.voice.device import VoiceDevice
from hall.drivers.voice.text import chinese_number, speech_text, spell_ticket
from hall.drivers.voice.tts import EspeakRenderer, VoiceError, wav_duration
from hall.events import EventHub

from tests.waiting import WAIT_SECONDS, wait_until

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


# ---------------------------------------------------------------- text (pure)
@pytest.mark.parametrize(("text", "number", "spoken"), [
    ("请A001号到3号窗口办理", "A001", "请 A 零零一 号到三号窗口办理"),
    ("请A001号到3号窗口办理（重呼）", "A001", "请 A 零零一 号到三号窗口办理，chong2 hu1"),
    ("请B120号到12号窗口办理", None, "请 B 一二零 号到十二号窗口办理"),
    ("请f009号到10号窗口办理", "f009", "请 F 零零九 号到十号窗口办理"),
    ("请A1000号到2号窗口办理", None, "请 A 一零零零 号到二号窗口办理"),
    ("请到第20号窗口", None, "请到第二十号窗口"),
])
def test_speech_text(text: str, number: str | None, spoken: str) -> None:
    assert speech_text(text, number) == spoken


def test_numbers_and_ticket_spelling() -> None:
    assert [chinese_number(n) for n in (0, 3, 10, 11, 20, 21, 100, 105, 110, 1005, 2000, 9999)] == [
        "零", "三", "十", "十一", "二十", "二十一", "一百", "一百零五", "一百一十", "一千零五", "两千",
        "九千九百九十九"]
    assert spell_ticket("A001") == "A 零零一"
    assert spell_ticket("ab12") == "A B 一二"


# ---------------------------------------------------------------- rendering
@needs_espeak
def test_renders_the_call_to_a_wav_and_caches_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = EspeakRenderer(tmp_path)
    assert r.voice in ("cmn-latn-pinyin", "cmn")
    text = speech_text("请A001号到3号窗口办理", "A001")
    wav = r.render(text)
    with wave.open(str(wav), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        duration = w.getnframes() / w.getframerate()
    assert duration > 1.0
    with capsys.disabled():
        print(f"\n[voice] 请A001号到3号窗口办理 → {duration:.2f} s WAV ({r.voice})")
    again = r.render(text)
    assert again == wav and r.renders == 1 and r.cache_hits == 1
    assert list(tmp_path.glob("*.tmp")) == []


@needs_espeak
def test_missing_engine_or_voice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="找不到配置的 espeak-ng"):
        EspeakRenderer(tmp_path, exe=str(tmp_path / "espeak-ng"))
    with pytest.raises(VoiceError, match="没有语音"):
        EspeakRenderer(tmp_path, voice="xx-nope")


# ---------------------------------------------------------------- the device
def called(number: str, window: int, recall: bool = False) -> dict[str, Any]:
    text = f"请{number}号到{window}号窗口办理" + ("（重呼）" if recall else "")
    return {"number": number, "window": window, "recall": recall, "text": text}


def test_calls_are_spoken_in_order_and_never_overlap(voice: tuple[VoiceDevice, VirtualSpeaker, EventHub]) -> None:
    dev, speaker, hub = voice
    calls = [called("A001", 1), called("B002", 2), called("A001", 1, recall=True)]
    for c in calls:
        hub.publish("ticket.called", c)                 # returns at once: the listener only enqueues
    hub.publish("ticket.issued", {"number": "C003"})    # not a call: not spoken
    assert wait_until(lambda: speaker.count == 3, 30)
    played = list(speaker.history)
    assert [p["text"] for p in played] == [c["text"] for c in calls]
    assert played[2]["spoken"].endswith("chong2 hu1")
    for a, b in itertools.pairwise(played):
        assert a["ended"] <= b["started"]
    st = dev.status()
    assert st["counters"]["announced"] == 3 and st["player"] == "virtual"
    assert st["renders"] == 3 or st["renders"] + st["cache_hits"] == 3
    assert all(p["duration_s"] > 1 for p in played)


def test_test_action_and_speaker_fault(voice: tuple[VoiceDevice, VirtualSpeaker, EventHub]) -> None:
    dev, speaker, _hub = voice
    res = dev.test()
    assert res["ok"] and "语音合成正常" in res["message"], res
    assert "1 次" in speaker.fault("fail")
    out = dev.announce("请A002号到2号窗口办理", number="A002").result(30)
    assert out["ok"] is False and dev.state == DeviceState.DEGRADED
    assert "播报失败" in dev.status()["detail"]
    assert dev.announce("请A003号到2号窗口办理", number="A003").result(30)["ok"]
    assert dev.state == DeviceState.READY
    assert dev.status()["counters"] == {"announced": 1, "failed": 1, "dropped_stale": 0, "broadcasts": 0, "deferred": 0}


def test_a_backlog_older_than_max_delay_is_dropped(tmp_path: Path) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed")
    speaker = VirtualSpeaker()
    dev = VoiceDevice("voice", cache_dir=tmp_path, url="emulator://", speaker=speaker, max_delay=0.0)
    dev.start()
    try:
        assert wait_until(lambda: dev.state == DeviceState.READY)
        assert dev.announce("请A001号到1号窗口办理").result(WAIT_SECONDS) == {
            "ok": False, "error": "stale", "text": "请A001号到1号窗口办理"}
        assert speaker.count == 0 and dev.status()["counters"]["dropped_stale"] == 1
    finally:
        dev.stop()


PLAYER = """
import sys, time
log, path = sys.argv[1], sys.argv[2]
with open(log, "a") as f:
    f.write(f"start {time.monotonic()} {path}\\n")
time.sleep(0.05)
with open(log, "a") as f:
    f.write(f"end {time.monotonic()} {path}\\n")
"""


@needs_espeak
def test_real_player_subprocess_plays_each_call_to_the_end_in_order(tmp_path: Path) -> None:
    script = tmp_path / "fake_aplay.py"
    script.write_text(PLAYER)
    log = tmp_path / "played.log"
    dev = VoiceDevice("voice", cache_dir=tmp_path / "voice", url="speaker://", play=True,
                      options={"player": f"{sys.executable} {script} {log} {{path}}"})
    dev.start()
    try:
        assert wait_until(lambda: dev.state == DeviceState.READY), dev.status()
        futs = [dev.announce(c["text"], number=c["number"]) for c in
                (called("A001", 1), called("B001", 2), called("C001", 3))]
        results = [f.result(30) for f in futs]
        assert all(r["ok"] and r["played"] for r in results)
        lines = [ln.split() for ln in log.read_text().splitlines()]
        assert [ln[0] for ln in lines] == ["start", "end"] * 3            # never two at once
        assert [ln[2] for ln in lines[::2]] == [r["wav"] for r in results]  # in call order
        times = [float(ln[1]) for ln in lines]
        assert times == sorted(times)
        assert all(wav_duration(Path(r["wav"])) > 1 for r in results)
        assert dev.status()["player"] == Path(sys.executable).name
    finally:
        dev.stop()


def test_missing_espeak_makes_the_device_offline_with_the_reason(tmp_path: Path) -> None:
    dev = VoiceDevice("voice", cache_dir=tmp_path, url="speaker://", play=False,
                      options={"espeak": str(tmp_path / "no-espeak")}, backoff_min=0.2, backoff_max=0.4)
    dev.start()
    try:
        assert wait_until(lambda: dev.state == DeviceState.OFFLINE)
        assert "找不到配置的 espeak-ng" in dev.status()["last_error"]
        assert dev.test()["ok"] is False
        with pytest.raises(Exception, match="离线"):
            dev.announce("请A001号到1号窗口办理").result(10)
    finally:
        dev.stop()
