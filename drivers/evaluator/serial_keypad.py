"""Serial evaluator keypad (config `kind = "evaluator"`, option `type = "serial"`).

Speaks the frame protocol of docs/evaluator-protocol.md over any pyserial URL
(`/dev/ttyUSB0`, `COM3`, `socket://host:port`, `rfc2217://…`). All I/O runs on
the device's worker thread:

* rating events from the hub land in an inbox; the worker opens/closes the
  prompt in its `PromptGate` and makes the keypad show it (PROMPT, CANCEL,
  THANKS, each acknowledged by the keypad and retried with the same SEQ);
* KEY frames are answered with an ACK carrying the host's verdict; a press
  counts only during the prompt the clerk opened (matching token, before the
  timeout), exactly once; the rating sink records it and the keypad says thanks;
* noise, broken headers, bad checksums and partial frames are dropped and
  counted by the parser, and never reach the gate;
* HEARTBEAT every `heartbeat` seconds while the hall is busy, every
  `rest_heartbeat` seconds when it is at rest (hall.drivers.pace; 8 s stays inside
  the keypad's own 10 s host-liveness, docs/evaluator-protocol.md). A frame the
  keypad leaves unanswered for `degraded_after − heartbeat` seconds → 异常
  (degraded), for `offline_after − heartbeat` seconds → 离线 (the worker closes
  the port and reconnects with backoff; the handshake is IDENTIFY → INFO). With
  the defaults a keypad that dies is 异常 within 5 s and 离线 within 12 s while
  the hall is busy (11 s and 18 s at rest). After a reconnect an open prompt is
  shown again with the time it has left.
* Between frames the worker listens to the line until its next heartbeat,
  prompt timeout or check is due; a rating event or a technician's command ends
  that wait at once (`Transport.wake`). A line that cannot be woken (a Windows
  COM port) is listened to in turns of at most `IDLE_READ_SECONDS`.

Options (config `options`): address (1), heartbeat (2 s), rest_heartbeat (8 s),
degraded_after (5 s), offline_after (12 s), reply_timeout (0.3 s), gap (0.1 s),
prompt_text, prompt_timeout (30 s, used when the event has no expires_at),
thanks_show (3 s), baudrate (9600).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from hall.drivers.base import DeviceWorker
from hall.drivers.contracts import Clock, ZoneClock
from hall.drivers.evaluator import protocol as P
from hall.drivers.evaluator.base import (
    DEFAULT_PROMPT_TEXT,
    DEFAULT_PROMPT_TIMEOUT,
    TEST_TOKEN,
    EventInbox,
    PressOutcome,
    PromptGate,
    SinkCaller,
    SinkProvider,
    apply_events,
)
from hall.drivers.pace import Pace, paced
from hall.drivers.transport import Transport, TransportError, can_wake

log = logging.getLogger(__name__)

_KEY_STATUS = {
    PressOutcome.NOT_PROMPTED: P.ST_KEY_NOT_PROMPTED,
    PressOutcome.STALE: P.ST_KEY_STALE,
    PressOutcome.UNKNOWN_LEVEL: P.ST_BAD_PAYLOAD,
}
_UNKNOWN = -1          # what the keypad shows is unknown (just connected)
SILENT_DETAIL = "评价器无应答（心跳超时）"


class NoReply(TransportError):
    """The keypad did not answer a command after every retry."""


class EvaluatorDevice(DeviceWorker):
    kind = "evaluator"
    device_type = "serial"

    def __init__(self, name: str, transport: Transport, *, window: int, sink: SinkProvider,
                 clock: Clock | None = None, address: int = P.DEFAULT_ADDRESS, emulated: bool = False,
                 heartbeat: float = 2.0, degraded_after: float = 5.0, offline_after: float = 12.0,
                 reply_timeout: float = 0.3, retries: int = 3, gap: float = 0.1,
                 prompt_text: str = DEFAULT_PROMPT_TEXT, prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT,
                 thanks_show: int = 3, backoff_min: float = 0.5, backoff_max: float = 5.0,
                 rest_heartbeat: float = 8.0, pace: Pace | None = None) -> None:
        super().__init__(name, transport, emulated=emulated, backoff_min=backoff_min,
                         backoff_max=backoff_max, idle_interval=0.01, pace=pace)
        if not 1 <= address <= 0xFE:
            raise ValueError(f"评价器地址必须在 1..254 之间，而不是 {address}")
        self.window = window
        self.address = address
        self.clock: Clock = clock or ZoneClock()
        self.heartbeat, self.degraded_after, self.offline_after = heartbeat, degraded_after, offline_after
        self.rest_heartbeat = max(heartbeat, rest_heartbeat)
        self.reply_timeout, self.retries = reply_timeout, max(1, retries)
        self.prompt_text, self.default_timeout, self.thanks_show = prompt_text, prompt_timeout, thanks_show
        self.gate = PromptGate(window)
        self.inbox = EventInbox(window)
        self.sink = SinkCaller(name, sink)
        self.parser = P.FrameParser(gap=gap)
        self.counters = {"presses": 0, "ignored_presses": 0, "duplicate_keys": 0, "bad_payload": 0,
                         "wrong_address": 0, "unacked_commands": 0, "refused_commands": 0,
                         "heartbeats": 0, "test_presses": 0}
        self.firmware = ""
        self.keypad_mode: int | None = None
        self.last_test_key: str | None = None
        self._seq = 0
        self._last_rx: float | None = None
        self._last_tx = 0.0
        self._asked_at: float | None = None    # first frame sent that still waits for any answer
        self._shown = _UNKNOWN            # token the keypad shows (0 = idle)
        self._thanks: list[int] = []      # tokens to thank for (rated here or on another channel)
        self._test_until = 0.0
        self._replies: dict[int, P.Message] = {}
        self._heartbeats: dict[int, float] = {}
        self._last_key: tuple[int, int, str, float, int] | None = None   # seq, token, level, at, status
        self._sync_retry_at = 0.0

    # ------------------------------------------------------------ public
    def on_event(self, event: Any) -> None:
        """EventHub listener: only enqueues, then ends the worker's wait on the line so it acts now."""
        self.inbox.listener(event)
        if self.inbox.pending():
            self.wake()

    def wake(self) -> None:
        if can_wake(self.transport):
            self.transport.wake()    # type: ignore[attr-defined]  # can_wake checked it

    def status(self) -> dict[str, Any]:
        st = super().status()
        now = time.monotonic()
        st.update({
            "type": self.device_type,
            "window": self.window,
            "address": self.address,
            "prompt": self.gate.view(),
            "keypad_mode": P.MODE_NAMES.get(self.keypad_mode, None) if self.keypad_mode is not None else None,
            "firmware": self.firmware,
            "last_rx_age_s": None if self._last_rx is None else round(now - self._last_rx, 2),
            "dropped": {**self.parser.stats.as_dict(), "bad_payload": self.counters["bad_payload"],
                        "wrong_address": self.counters["wrong_address"]},
            "counters": {**self.counters, **self.gate.counters, **self.sink.counters},
            "last_test_key": self.last_test_key,
        })
        return st

    def test(self, *, show_prompt: bool = True, timeout: float = 3.0) -> dict[str, Any]:
        """Technician test: an IDENTIFY round trip, then a 10 s test prompt on the keypad.

        Keys pressed during the test prompt are reported in `last_test_key` and
        never recorded as ratings; while a citizen's prompt is open no test
        prompt is shown. Safe to call from a request thread: the I/O runs on the
        worker, this only waits for its answer.
        """
        if not self.online:
            return {"ok": False, "message": f"评价器离线：{self.last_error or '未连接'}"}
        fut = self.submit(lambda t: self._test(t, show_prompt))
        try:
            return fut.result(timeout)
        except Exception as exc:
            return {"ok": False, "message": f"评价器测试失败：{exc}"}

    # ------------------------------------------------------- worker hooks
    def on_connect(self, transport: Transport) -> None:
        self.parser = P.FrameParser(gap=self.parser.gap, stats=self.parser.stats)
        self._replies.clear()
        self._heartbeats.clear()
        self._shown = _UNKNOWN
        self._last_rx = None
        self._asked_at = None
        t0 = time.monotonic()
        info = self._transact(transport, P.Identify(), expect=P.Info)
        assert isinstance(info, P.Info)
        self.rtt_ms = round((time.monotonic() - t0) * 1000, 1)
        self.firmware = info.firmware
        if info.version != P.PROTOCOL_VERSION:
            log.warning("evaluator %s speaks protocol v%s (we speak v%s)", self.name, info.version,
                        P.PROTOCOL_VERSION)
        self.detail = ""
        self._sync_retry_at = 0.0
        self._work(transport)

    def poll(self, transport: Transport) -> None:
        try:
            self._receive(transport, self._read_window())
            self._work(transport)
        except (OSError, TransportError):
            raise
        except Exception:   # a bug here must not kill the worker thread
            log.exception("evaluator %s: poll failed", self.name)
        now = time.monotonic()
        if now - self._last_tx >= self.heartbeat_every():
            seq = self._send(transport, P.Heartbeat())
            self._heartbeats[seq] = now
            self.counters["heartbeats"] += 1
            if len(self._heartbeats) > 16:
                self._heartbeats.pop(next(iter(self._heartbeats)))
        unanswered = now - self._asked_at if self._asked_at is not None else 0.0
        if unanswered > self._offline_margin():
            silent = now - (self._last_rx if self._last_rx is not None else self._asked_at or now)
            raise TransportError(f"评价器 {self.name} 已 {silent:.0f} 秒无应答 / no reply")
        if unanswered > self._degraded_margin():
            if self.detail != SILENT_DETAIL:
                log.warning("evaluator %s: no reply for %.1f s", self.name, unanswered)
            self.set_degraded(SILENT_DETAIL)
        elif self.detail == SILENT_DETAIL:
            self.set_degraded("")

    def heartbeat_every(self) -> float:
        """Seconds between heartbeats: `heartbeat` while the hall is busy, `rest_heartbeat` at rest."""
        return paced(self.pace, self.heartbeat, self.rest_heartbeat)

    # ------------------------------------------------------------ internal
    #: longest wait for the keypad between turns of the worker on a line that cannot be woken
    IDLE_READ_SECONDS = 0.5

    def _degraded_margin(self) -> float:
        return max(self.reply_timeout, self.degraded_after - self.heartbeat)

    def _offline_margin(self) -> float:
        return max(self._degraded_margin(), self.offline_after - self.heartbeat)

    def _work_waiting(self) -> bool:
        return (self.inbox.pending() or bool(self._thanks) or self.has_commands()
                or time.monotonic() < self._test_until)

    def _read_window(self) -> float:
        """How long one poll listens to the line. A key ends the read at once, so the ACK stays fast; what
        waits is the host's own work. On a line that can be woken the wait lasts until the next heartbeat,
        prompt timeout or silence check, and a rating event or a command ends it (`wake`); otherwise it
        is ≤ 500 ms. A fixed 30 ms turn woke the worker ~30 times a second for nothing, and 500 ms turns
        still cost a fanless hall PC ~0.08 % of a core per keypad."""
        if self._work_waiting():
            return 0.03
        now = time.monotonic()
        due = [self._last_tx + self.heartbeat_every()]
        if self._asked_at is not None:
            due += [self._asked_at + self._degraded_margin(), self._asked_at + self._offline_margin()]
        if self._sync_retry_at > now:
            due.append(self._sync_retry_at)
        prompt = self.gate.current()
        if prompt is not None:
            due.append(prompt.deadline)
        longest = 3600.0 if can_wake(self.transport) else self.IDLE_READ_SECONDS
        return max(0.03, min(longest, min(due) - now + 0.01))

    def _work(self, transport: Transport) -> None:
        """Apply queued rating events, time out the prompt, and make the keypad show the truth."""
        rated = apply_events(self.name, self.inbox, self.gate, self.clock.now(), self.default_timeout)
        self._thanks.extend(p.token for p in rated)
        self._sync(transport)

    def _sync(self, transport: Transport) -> None:
        now = time.monotonic()
        if now < self._sync_retry_at:
            return
        if self._test_until:
            if now < self._test_until and self.gate.current() is None:
                return
            self._test_until = 0.0
        try:
            if self._thanks:
                token = self._thanks.pop(0)
                self._command(transport, P.Thanks(token, self.thanks_show))
                self._shown = 0
                return
            p = self.gate.current()
            want = p.token if p is not None else 0
            if want == self._shown:
                return
            if p is not None:
                msg: P.Message = P.Prompt(p.token, max(1, math.ceil(p.remaining())), p.clerk_name,
                                          self.prompt_text)
            else:
                msg = P.Cancel(self._shown if self._shown > 0 else 0)
            self._command(transport, msg)
            self._shown = want
        except NoReply:
            self.counters["unacked_commands"] += 1
            self._sync_retry_at = time.monotonic() + 1.0

    def _command(self, transport: Transport, msg: P.Message) -> None:
        ack = self._transact(transport, msg, expect=P.Ack)
        assert isinstance(ack, P.Ack)
        if ack.status != P.ST_OK:
            self.counters["refused_commands"] += 1
            log.warning("evaluator %s refused %s (status 0x%02X)", self.name, type(msg).__name__, ack.status)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _send(self, transport: Transport, msg: P.Message, seq: int | None = None) -> int:
        seq = self._next_seq() if seq is None else seq
        transport.write(P.encode(msg, addr=self.address, seq=seq))
        self._last_tx = time.monotonic()
        if self._asked_at is None and not isinstance(msg, P.Ack):   # an ACK to a key wants no answer
            self._asked_at = self._last_tx
        return seq

    def _transact(self, transport: Transport, msg: P.Message, *, expect: type) -> P.Message:
        """Send and wait for the reply with the same SEQ, retrying with that SEQ; frames that
        arrive meanwhile (keys, heartbeat ACKs) are handled as usual."""
        seq = self._next_seq()
        for _ in range(self.retries):
            self._replies.pop(seq, None)
            self._send(transport, msg, seq)
            deadline = time.monotonic() + self.reply_timeout
            while True:
                reply = self._replies.pop(seq, None)
                if reply is not None and isinstance(reply, expect):
                    return reply
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._receive(transport, remaining)
        raise NoReply(f"评价器 {self.name} 未应答 {type(msg).__name__} / no reply")

    def _receive(self, transport: Transport, timeout: float) -> None:
        """Read until at least one whole frame arrived or `timeout` passed, asking the line for
        exactly the bytes the parser still needs, so a complete frame is handled at once."""
        deadline = time.monotonic() + timeout
        while True:
            data = transport.read(self.parser.wanted(), max(0.0, deadline - time.monotonic()))
            frames = self.parser.feed(data)
            for frame in frames:
                self._handle(frame, transport)
            # nothing read before the deadline: the wait was woken (see `wake`), work is waiting
            if frames or not data or time.monotonic() >= deadline or self._work_waiting():
                return

    def _handle(self, frame: P.Frame, transport: Transport) -> None:
        if frame.addr != self.address:
            self.counters["wrong_address"] += 1
            return
        try:
            msg = P.decode(frame)
        except P.ProtocolError as exc:
            self.counters["bad_payload"] += 1
            log.debug("evaluator %s: dropped frame %s: %s", self.name, frame, exc)
            return
        now = time.monotonic()
        self._last_rx = now
        self._asked_at = None
        if isinstance(msg, P.Ack):
            self.keypad_mode = msg.mode
            sent = self._heartbeats.pop(frame.seq, None)
            if sent is not None and msg.acked == P.HEARTBEAT:
                self.rtt_ms = round((now - sent) * 1000, 1)
                self.last_ok_at = time.time()
                if msg.mode == P.MODE_IDLE and self._shown > 0 and not self._test_until:
                    self._shown = _UNKNOWN    # keypad restarted or timed out early: show the prompt again
            self._replies[frame.seq] = msg
        elif isinstance(msg, P.Info):
            self._replies[frame.seq] = msg
        elif isinstance(msg, P.Key):
            self._on_key(frame.seq, msg, transport)
        else:   # a host command coming back: a mis-wired bus or an echoing line
            self.counters["bad_payload"] += 1

    def _on_key(self, seq: int, key: P.Key, transport: Transport) -> None:
        now = time.monotonic()
        last = self._last_key
        if last is not None and last[:3] == (seq, key.token, key.level) and now - last[3] < 5.0:
            self.counters["duplicate_keys"] += 1      # the keypad retransmitted: answer again, record nothing
            self._send(transport, P.Ack(P.KEY, last[4], P.MODE_IDLE), seq)
            return
        self.counters["presses"] += 1
        if key.token == TEST_TOKEN and self._test_until:
            self.counters["test_presses"] += 1
            self.last_test_key = key.level
            log.info("evaluator %s: test key %s", self.name, key.level)
            self._last_key = (seq, key.token, key.level, now, P.ST_OK)
            self._send(transport, P.Ack(P.KEY, P.ST_OK, P.MODE_IDLE), seq)
            return
        outcome, prompt = self.gate.press(key.level, key.token)
        if prompt is not None:
            recorded = self.sink(prompt, key.level)
            status = P.ST_OK if recorded else P.ST_KEY_REJECTED
            log.info("evaluator %s: prompt %s rated %s (%s)", self.name, prompt.prompt_id, key.level,
                     "recorded" if recorded else "not recorded")
            if recorded:
                self._thanks.append(prompt.token)
        else:
            status = _KEY_STATUS.get(outcome, P.ST_KEY_NOT_PROMPTED)
            self.counters["ignored_presses"] += 1
        self._last_key = (seq, key.token, key.level, now, status)
        self._send(transport, P.Ack(P.KEY, status, P.MODE_IDLE), seq)

    def _test(self, transport: Transport, show_prompt: bool) -> dict[str, Any]:
        t0 = time.monotonic()
        info = self._transact(transport, P.Identify(), expect=P.Info)
        assert isinstance(info, P.Info)
        rtt = round((time.monotonic() - t0) * 1000, 1)
        self.firmware = info.firmware
        msg = f"评价器应答正常：固件 {info.firmware or '未知'}，协议 v{info.version}，{info.keys} 键，往返 {rtt} ms"
        if show_prompt and self.gate.current() is not None:
            msg += "；正在等待群众评价，未显示测试提示"
        elif show_prompt:
            self._command(transport, P.Prompt(TEST_TOKEN, 10, "设备测试", "测试：请按任意键，不计入评价"))
            self._shown = TEST_TOKEN
            self._test_until = time.monotonic() + 10.0
            self.last_test_key = None
            msg += "；评价器显示 10 秒测试提示，请按任意键（不计入评价），结果见设备状态 last_test_key"
        self.rtt_ms = rtt
        return {"ok": True, "message": msg, "rtt_ms": rtt, "firmware": info.firmware}
