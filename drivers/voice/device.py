"""Voice announcements of calls (config `kind = "voice"`).

On each `ticket.called` event the device's listener enqueues one announcement;
its single worker thread renders the text with espeak-ng (`tts.EspeakRenderer`,
WAVs cached per text under `<data dir>/voice/`) and plays it to the end before
taking the next, so calls are spoken in the order they were made and never over
each other. An announcement that waited longer than `max_delay` seconds (a long
backlog) is dropped and counted rather than spoken late.

URL convention:

* `speaker://` (or `speaker://default`): render and play on the PC's speaker
  (`aplay` / `paplay` / sox `play` on Linux, winsound on Windows; option
  `player` gives another command). With option `play = false` it only renders.
* `emulator://`: render the WAVs for real but "play" them on a `VirtualSpeaker`
  (no sound), which records what would have been said; it is registered as
  the device's emulator so screens show the emulator banner and the technician
  page lists the announcements.

Options: voice (default cmn-latn-pinyin, else cmn), speed (150 wpm), pitch (50),
amplitude (120), espeak (path to espeak-ng), player, play (true), repeat (1),
max_delay (60 s).

Hall broadcasts (`broadcast.announce`, sent by the manager) are spoken `times`
times, each time only when no call is waiting: a broadcast that reaches the
front of the queue while a call is still pending goes back behind it, so a
broadcast never delays a call nor speaks over one. One whose expiry has passed
is dropped unspoken.

"Offline" means espeak-ng (or, when playing, a player) is missing: the worker
retries with backoff, so installing it brings the device back without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.config.schema import Device
from hall.drivers.base import DeviceState, DeviceWorker
from hall.drivers.emulators.voice import SpeakerFault, VirtualSpeaker
from hall.drivers.factory import DeviceContext
from hall.drivers.options import bool_option
from hall.drivers.transport import TransportError
from hall.drivers.voice.text import speech_text
from hall.drivers.voice.tts import EspeakRenderer, Player, VoiceError, wav_duration

log = logging.getLogger(__name__)

TEST_TEXT = "语音测试，请A001号到1号窗口办理"


class SpeechChannel:
    """The voice device's 'transport': opening it finds espeak-ng, its voice, and the player."""

    def __init__(self, url: str, cache_dir: Path, *, play: bool, options: dict[str, Any]) -> None:
        self.url = url
        self.cache_dir = cache_dir
        self.play = play
        self.options = options
        self.renderer: EspeakRenderer | None = None
        self.player: Player | None = None

    def open(self) -> None:
        o = self.options
        try:
            self.renderer = EspeakRenderer(
                self.cache_dir, exe=o.get("espeak") or None, voice=o.get("voice") or None,
                speed=int(o.get("speed", 150)), pitch=int(o.get("pitch", 50)),
                amplitude=int(o.get("amplitude", 120)))
            self.player = Player(o.get("player") or None) if self.play else None
        except VoiceError as exc:
            self.renderer = self.player = None
            raise TransportError(str(exc)) from exc

    def close(self) -> None:
        self.renderer = None
        self.player = None

    @property
    def is_open(self) -> bool:
        return self.renderer is not None

    def write(self, data: bytes) -> None:
        raise TransportError("语音设备不接收字节 / not a byte channel")

    def read(self, size: int, timeout: float) -> bytes:
        return b""


@dataclass(frozen=True)
class Announcement:
    text: str
    number: str | None
    window: int | None
    queued_at: float
    test: bool = False
    broadcast: bool = False
    expires_at: float | None = None      # epoch seconds; a broadcast spoken after this is dropped


class VoiceDevice(DeviceWorker):
    kind = "voice"

    def __init__(self, name: str, *, cache_dir: Path, url: str = "speaker://", play: bool = True,
                 speaker: VirtualSpeaker | None = None, options: dict[str, Any] | None = None,
                 emulated: bool = False, max_delay: float = 60.0, repeat: int = 1,
                 backoff_min: float = 1.0, backoff_max: float = 30.0) -> None:
        self.channel = SpeechChannel(url, cache_dir, play=play and speaker is None, options=dict(options or {}))
        super().__init__(name, self.channel, emulated=emulated, backoff_min=backoff_min, backoff_max=backoff_max,
                         idle_interval=5.0)
        self.speaker = speaker
        self.play = play
        self.max_delay = max_delay
        self.repeat = max(1, repeat)
        self.history: deque[dict[str, Any]] = deque(maxlen=50)
        self.counters = {"announced": 0, "failed": 0, "dropped_stale": 0, "broadcasts": 0, "deferred": 0}
        self._calls_pending = 0          # calls queued and not yet spoken: broadcasts wait behind them
        self._pending_lock = threading.Lock()

    # -------------------------------------------------------------- public
    def on_event(self, event: Any) -> None:
        """EventHub listener: enqueue the call's (or broadcast's) announcement (no rendering here)."""
        if self.state == DeviceState.STOPPED:
            return
        data = event.data
        if event.kind == "broadcast.announce":
            self.announce_broadcast(str(data.get("text") or ""), times=int(data.get("times") or 1),
                                    expires_at=_epoch(data.get("expires_at")))
            return
        if event.kind != "ticket.called":
            return
        text = data.get("text")
        if not text:
            return
        self.announce(str(text), number=data.get("number"), window=data.get("window"))

    def announce(self, text: str, *, number: str | None = None, window: int | None = None,
                 test: bool = False) -> Future[dict[str, Any]]:
        item = Announcement(text, number, window, time.monotonic(), test)
        if test:
            return self.submit(lambda _t: self._speak(item))
        with self._pending_lock:
            self._calls_pending += 1
        fut = self.submit(lambda _t: self._speak(item))
        # Counted down when the call is over however it ends (spoken, failed, refused while offline), so a
        # broadcast can never wait for a call that will not come.
        fut.add_done_callback(self._call_over)
        return fut

    def _call_over(self, _fut: Future[dict[str, Any]]) -> None:
        with self._pending_lock:
            self._calls_pending -= 1

    def announce_broadcast(self, text: str, *, times: int = 1, expires_at: float | None = None) -> None:
        """Queue a hall broadcast `times` times; each waits until no call is pending (see the module doc)."""
        if not text.strip():
            return
        item = Announcement(text, None, None, time.monotonic(), broadcast=True, expires_at=expires_at)
        for _ in range(max(1, min(times, 5))):
            self.submit(lambda _t: self._speak_broadcast(item))

    def _speak_broadcast(self, item: Announcement) -> dict[str, Any]:
        if item.expires_at is not None and time.time() >= item.expires_at:
            return {"ok": False, "error": "expired", "text": item.text}
        with self._pending_lock:
            behind_call = self._calls_pending > 0
        if behind_call:
            # A call not yet spoken is queued (it came in after this broadcast): it goes first, the broadcast
            # back behind it. Calls ahead of this item in the queue are already over (one FIFO worker).
            self.counters["deferred"] += 1
            self.submit(lambda _t: self._speak_broadcast(item))
            return {"ok": True, "deferred": True, "text": item.text}
        return self._speak(item)

    def status(self) -> dict[str, Any]:
        st = super().status()
        r, p = self.channel.renderer, self.channel.player
        st.update({
            "engine": r.exe if r else None,
            "voice": r.voice if r else self.channel.options.get("voice"),
            "player": "virtual" if self.speaker is not None else (p.name if p else None),
            "play": self.play,
            "cache_dir": str(self.channel.cache_dir),
            "renders": r.renders if r else 0,
            "cache_hits": r.cache_hits if r else 0,
            "counters": dict(self.counters),
            "last": self.history[-1] if self.history else None,
            "history": list(self.history)[-10:],
        })
        return st

    def test(self, timeout: float = 11.0) -> dict[str, Any]:
        """Render (and play, when configured) a test announcement, queued behind any calls."""
        if not self.online:
            return {"ok": False, "message": f"语音离线：{self.last_error or '未就绪'}"}
        try:
            res = self.announce(TEST_TEXT, number="A001", test=True).result(timeout)
        except Exception as exc:
            return {"ok": False, "message": f"语音测试失败：{exc}"}
        if not res.get("ok"):
            return {"ok": False, "message": f"语音测试失败：{res.get('error')}"}
        if self.speaker is not None:
            how = "已送虚拟扬声器（模拟）"
        else:
            how = "已播放" if res.get("played") else "未播放（play = false）"
        return {"ok": True, "message": f"语音合成正常：{res['duration_s']:.1f} 秒，语音 {res['voice']}，{how}",
                "duration_s": res["duration_s"], "wav": res["wav"]}

    # ------------------------------------------------------------ internal
    def _speak(self, item: Announcement) -> dict[str, Any]:
        waited = time.monotonic() - item.queued_at
        if not item.test and not item.broadcast and waited > self.max_delay:
            self.counters["dropped_stale"] += 1
            log.warning("voice %s: dropped %r after waiting %.0f s", self.name, item.text, waited)
            return {"ok": False, "error": "stale", "text": item.text}
        renderer = self.channel.renderer
        if renderer is None:
            raise TransportError("语音引擎未就绪")
        spoken = speech_text(item.text, item.number)
        entry: dict[str, Any] = {"text": item.text, "spoken": spoken, "window": item.window,
                                 "broadcast": item.broadcast,
                                 "at": round(time.time(), 3), "voice": renderer.voice, "played": False}
        try:
            wav = renderer.render(spoken)
            duration = wav_duration(wav)
            entry.update(wav=str(wav), duration_s=round(duration, 2))
            for _ in range(self.repeat):
                if self.speaker is not None:
                    self.speaker.play(wav, duration=duration, text=item.text, spoken=spoken)
                    entry["played"] = True
                elif self.channel.player is not None:
                    self.channel.player.play(wav, timeout=duration + 10.0)
                    entry["played"] = True
        except (VoiceError, SpeakerFault, OSError) as exc:
            self.counters["failed"] += 1
            entry.update(ok=False, error=str(exc))
            self.history.append(entry)
            self.last_error, self.last_error_at = str(exc), time.time()
            log.error("voice %s: announcement %r failed: %s", self.name, item.text, exc)
            self.set_degraded(f"播报失败：{exc}")
            return entry
        if self.state == DeviceState.DEGRADED:
            self.set_degraded("")
        entry["ok"] = True
        if item.broadcast:
            self.counters["broadcasts"] += 1
        elif not item.test:
            self.counters["announced"] += 1
        self.history.append(entry)
        return entry


def _epoch(value: object) -> float | None:
    """An ISO-8601 time (with offset) from an event as epoch seconds; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def build_voice(spec: Device, ctx: DeviceContext) -> VoiceDevice:
    opts: dict[str, Any] = dict(spec.options)
    url = spec.url.strip()
    emulated = url.startswith("emulator://")
    if not emulated and url.rstrip("/") not in ("speaker:", "speaker://default"):
        raise ValueError(f"语音设备 {spec.name} 的 url 应为 speaker://（本机扬声器）或 emulator://，而不是 {url}")
    speaker = VirtualSpeaker(spec.name) if emulated else None
    try:
        max_delay = float(opts.get("max_delay", 60.0))
        repeat = int(opts.get("repeat", 1))
    except (TypeError, ValueError):
        raise ValueError(f"语音设备 {spec.name}：max_delay、repeat 必须是数字") from None
    device = VoiceDevice(spec.name, cache_dir=ctx.data_dir / "voice", url=url,
                         play=bool_option(opts, "play", True, what="语音设备选项"), speaker=speaker,
                         options=opts, emulated=emulated, max_delay=max_delay, repeat=repeat)
    if speaker is not None:
        ctx.manager.add_emulator(spec.name, speaker)
    ctx.hub.add_listener(device.on_event)
    return device


__all__ = ["Announcement", "SpeechChannel", "VoiceDevice", "build_voice"]
