"""The serial evaluator keypad emulator: the keypad of the protocol as a state machine behind a real line.

`EvaluatorEmulator` is the keypad of docs/evaluator-protocol.md as a state
machine (待机 → 请评价 → 提交中 → 谢谢 → 待机) behind a pty (POSIX; the driver
opens a stable symlink to the pty's slave, like a udev name for a USB-serial
adapter) or a TCP server on 127.0.0.1 (everywhere; the driver opens
`socket://127.0.0.1:PORT`). It answers every host frame as the spec says,
sends KEY frames for its virtual keys (`press`), retransmits an unacknowledged
KEY with the same SEQ, records what it received, and injects faults on command:
line noise, partial frames, bad checksums, silence, unplug and replug.

The keypad's lines (pty, TCP) are in `keypad_link.py`; the HID keypad emulator,
in `evaluator_hid.py`. Both emulators have `view()` for the technician page;
`fault(text)` serves `kiosk emulate evaluator`.
"""

from __future__ import annotations

import logging
import random
import select
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from hall.drivers.emulators.faults import FaultCommands, cable, switch
from hall.drivers.emulators.keypad_link import PtyLink, TcpLink, default_channel
from hall.drivers.evaluator import protocol as P
from hall.drivers.transport import Waker

log = logging.getLogger(__name__)

IDLE_SELECT = 5.0      # longest select with no timer due; changes from callers wake it at once
MODE_LABELS = {P.MODE_IDLE: "待机", P.MODE_PROMPT: "请评价", P.MODE_THANKS: "谢谢您的评价", P.MODE_WAIT: "提交中"}
KEY_RESULT_LABELS = {
    P.ST_OK: "已记录",
    P.ST_KEY_NOT_PROMPTED: "未在评价时段，不计入",
    P.ST_KEY_STALE: "不是当前评价，不计入",
    P.ST_KEY_REJECTED: "服务端未接受",
}


def key_level(word: str) -> str | None:
    """The rating level a typed word names: 1..5 (1 = 非常满意) or the level's own name; None for another word."""
    level = P.WIRE_LEVELS[int(word)] if word in {"1", "2", "3", "4", "5"} else word
    return level if level in P.LEVEL_WIRE else None


class EvaluatorEmulator:
    """A five-key serial evaluator keypad (protocol v1) on a pty or TCP."""

    kind = "evaluator"

    def __init__(self, *, name: str = "evaluator", channel: str | None = None, link: Path | None = None,
                 port: int = 0, address: int = P.DEFAULT_ADDRESS, firmware: str = "HALL-EMU-KP5 1.0",
                 key_retry: float = 0.3, key_tries: int = 3, seed: int = 7) -> None:
        self.name = name
        self.channel = channel or default_channel()
        self.address = address
        self.firmware = firmware
        self.key_retry, self.key_tries = key_retry, key_tries
        if self.channel == "pty":
            if link is None:
                raise ValueError("a pty keypad needs the path of its symlink")
            self._link: PtyLink | TcpLink = PtyLink(link)
        elif self.channel == "tcp":
            self._link = TcpLink(port)
        else:
            raise ValueError(f"unknown emulator channel {self.channel!r} (pty or tcp)")
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._parser = P.FrameParser(gap=0.1)
        self.plugged = False
        self.silent = False
        self._ignore_next = 0
        # keypad state
        self.mode = P.MODE_IDLE
        self.token = 0
        self.clerk_name = ""
        self.text = ""
        self._prompt_until = 0.0
        self._thanks_until = 0.0
        self._seq = 0
        self._last_host: tuple[int, int, bytes] | None = None
        self._last_host_at: float | None = None
        self._last_reply: bytes = b""
        self._pending_key: dict[int, tuple[bytes, int, float]] = {}   # seq → frame, tries left, next at
        self.received: deque[dict[str, Any]] = deque(maxlen=200)
        self.key_results: deque[dict[str, Any]] = deque(maxlen=50)
        self.faults: dict[str, int] = {"noise_bursts": 0, "partial_frames": 0, "bad_checksums": 0,
                                       "unplugs": 0, "ignored_frames": 0}
        self.keys_sent = 0
        self._waker = Waker()      # ends the loop's select when a caller changed what it waits for

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return self._link.url

    def start(self) -> EvaluatorEmulator:
        if self._thread is not None:
            return self
        self._link.plug()
        self.plugged = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"emu-{self.name}", daemon=True)
        self._thread.start()
        return self

    def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """For `kiosk emulate`: serve on TCP (pyserial URL socket://HOST:PORT); returns the port."""
        if isinstance(self._link, TcpLink):
            self._link.close()
        self.channel, self._link = "tcp", TcpLink(port, host)
        self.start()
        return self._link.port

    def start_pty(self) -> str:
        """For `kiosk emulate --pty`: serve on a pty; returns the stable path to open."""
        import tempfile

        if isinstance(self._link, TcpLink):
            self._link.close()
        if not isinstance(self._link, PtyLink):
            self._link = PtyLink(Path(tempfile.gettempdir()) / f"hall-{self.name}.tty")
        self.channel = "pty"
        self.start()
        return self.url

    def fault(self, command: str) -> str:
        """Text commands for `kiosk emulate evaluator` and the technician page."""
        commands = FaultCommands({
            "press": lambda args: self.fault(args[0]) if args else FAULT_HELP,
            "noise": lambda _args: "线路噪声 / noise: " + P.describe(self.inject_noise()),
            "partial": lambda _args: "半帧 / partial frame: " + P.describe(self.send_partial()),
            **dict.fromkeys(("badcrc", "bad-checksum", "checksum"), self._fault_badcrc),
            "silent": self._fault_silent, "silence": self._fault_silent, **cable(self),
            "reboot": self._fault_reboot, "ignore": self._fault_ignore,
        }, FAULT_HELP, otherwise=self._fault_key)
        return commands(command)

    def _fault_key(self, word: str, _args: list[str]) -> str:
        level = key_level(word)
        if level is None:
            return FAULT_HELP
        seq = self.press(level)
        return f"已按下 {level}（KEY seq={seq}）"

    def _fault_badcrc(self, _args: list[str]) -> str:
        return "校验错 / bad checksum: " + P.describe(self.send_bad_checksum())

    def _fault_silent(self, args: list[str]) -> str:
        self.set_silent(switch(args))
        return f"静默 / silent = {self.silent}"

    def _fault_reboot(self, _args: list[str]) -> str:
        self.reboot()
        return "已重启 / rebooted"

    def _fault_ignore(self, args: list[str]) -> str:
        self.ignore_next(int(args[0]) if args and args[0].isdigit() else 1)
        return "将不应答下一帧 / the next host frame goes unanswered"

    def display(self) -> str:
        """One line: what the keypad's display shows now."""
        v = self.view()
        if v["mode"] == "prompt":
            return f"【请评价】{v['clerk_name']}  {v['text']}  （剩余 {v['remaining_s']:.0f} 秒）"
        last = v["last_key"]
        tail = f"   上次按键：{last['result']}" if last else ""
        plug = "" if v["plugged"] else "（已拔出）"
        return f"【{v['mode_name']}】{plug}{tail}"

    def stop(self) -> None:
        self._stop.set()
        self._waker.wake()
        if self._thread is not None:
            self._thread.join(2.0)
        self._thread = None
        with self._lock:
            if isinstance(self._link, TcpLink):
                self._link.close()
            else:
                self._link.unplug()
            self.plugged = False

    # --------------------------------------------------------- virtual keys
    def press(self, level: str, *, token: int | None = None, repeat: int = 1) -> int:
        """Press the key for `level`; sends KEY (with the shown prompt's token, or `token`).

        Like a real keypad it sends the KEY even when idle (token 0) and leaves it
        to the host to ignore; `repeat` sends the same frame (same SEQ) again at
        once, as a bouncing key or a retransmission would. Returns the SEQ used.
        """
        if level not in P.LEVEL_WIRE:
            raise ValueError(f"未知的评价等级：{level}（应为 {'、'.join(P.LEVEL_WIRE)}）")
        with self._lock:
            tok = token if token is not None else (self.token if self.mode == P.MODE_PROMPT else 0)
            if tok and self.mode == P.MODE_PROMPT and token is None:
                self.mode = P.MODE_WAIT
            seq = self._next_seq()
            frame = P.encode(P.Key(level, tok), addr=self.address, seq=seq)
            if not self.silent:
                for _ in range(max(1, repeat)):
                    self._link.write(frame)
                self._pending_key[seq] = (frame, self.key_tries - 1, time.monotonic() + self.key_retry)
            self.keys_sent += 1
        self._waker.wake()          # the retry timer is new: the loop's select must wait for it
        return seq

    # ---------------------------------------------------------------- faults
    def inject_noise(self, data: bytes | None = None, n: int = 32) -> bytes:
        """Line noise: random bytes (seeded) that include a false sync word and a false header."""
        if data is None:
            data = bytes(self._rng.randrange(256) for _ in range(n)) + b"\xaa\x55\x07\xf8\x01" + \
                bytes(self._rng.randrange(256) for _ in range(4)) + b"\xaa\x55\x40"
        with self._lock:
            self._link.write(data)
            self.faults["noise_bursts"] += 1
        return data

    def send_partial(self, level: str = "非常满意", *, keep: int | None = None) -> bytes:
        """The first bytes of a KEY frame, and then nothing (a cable pulled mid-frame)."""
        with self._lock:
            frame = P.encode(P.Key(level, self.token), addr=self.address, seq=self._next_seq())
            part = frame[:keep if keep is not None else len(frame) // 2 + 1]
            self._link.write(part)
            self.faults["partial_frames"] += 1
            return part

    def send_bad_checksum(self, level: str = "非常满意") -> bytes:
        """A whole KEY frame for the shown prompt whose CRC is wrong."""
        with self._lock:
            frame = bytearray(P.encode(P.Key(level, self.token), addr=self.address, seq=self._next_seq()))
            frame[-1] ^= 0x5A
            self._link.write(bytes(frame))
            self.faults["bad_checksums"] += 1
            return bytes(frame)

    def set_silent(self, silent: bool = True) -> None:
        """Keep the line open but answer nothing (a hung keypad)."""
        with self._lock:
            self.silent = silent
        self._waker.wake()

    def ignore_next(self, n: int = 1) -> None:
        """Drop the next n host frames unanswered (the host must retry with the same SEQ)."""
        with self._lock:
            self._ignore_next += n

    def reboot(self) -> None:
        """Power-cycle the keypad: it forgets the prompt it showed but stays on the line."""
        with self._lock:
            self._reset_state()
            self.faults["reboots"] = self.faults.get("reboots", 0) + 1
        self._waker.wake()

    def unplug(self) -> None:
        with self._lock:
            if self.plugged:
                self._link.unplug()
                self.plugged = False
                self.faults["unplugs"] += 1
                self._reset_state()
        self._waker.wake()          # the select must drop the closed line

    def replug(self) -> None:
        with self._lock:
            if not self.plugged:
                self._link.plug()
                self.plugged = True
        self._waker.wake()          # and take up the new one

    # ------------------------------------------------------------------ view
    def view(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            return {
                "name": self.name,
                "kind": self.kind,
                "type": "serial",
                "url": self.url,
                "channel": self.channel,
                "address": self.address,
                "plugged": self.plugged,
                "connected": self._link.connected,
                "silent": self.silent,
                "host_alive": self._last_host_at is not None and now - self._last_host_at < 10.0,
                "mode": P.MODE_NAMES[self.mode],
                "mode_name": MODE_LABELS[self.mode],
                "clerk_name": self.clerk_name if self.mode == P.MODE_PROMPT else "",
                "text": self.text if self.mode == P.MODE_PROMPT else "",
                "remaining_s": round(max(0.0, self._prompt_until - now), 1) if self.mode == P.MODE_PROMPT
                else None,
                "token": self.token,
                "keys": [{"level": name, "wire": code} for code, name in P.WIRE_LEVELS.items()],
                "keys_sent": self.keys_sent,
                "last_key": self.key_results[-1] if self.key_results else None,
                "received": list(self.received)[-20:],
                "faults": dict(self.faults),
                "firmware": self.firmware,
            }

    # -------------------------------------------------------------- internal
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _reset_state(self) -> None:
        self.mode, self.token, self.clerk_name, self.text = P.MODE_IDLE, 0, "", ""
        self._pending_key.clear()
        self._last_host = None
        self._parser = P.FrameParser(gap=0.1)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                objs = self._link.readable()
            if not objs:
                self._stop.wait(0.02)
                self._timers()
                continue
            try:
                ready, _, _ = select.select([*objs, self._waker], [], [], self._select_timeout())
            except (OSError, ValueError):     # closed under us by unplug()
                self._stop.wait(0.01)
                continue
            if self._waker in ready:
                self._waker.drain()
                ready.remove(self._waker)
            for obj in ready:
                with self._lock:
                    if obj not in self._link.readable():
                        continue
                    data = self._link.on_readable(obj)
                    if data:
                        for frame in self._parser.feed(data):
                            self._on_frame(frame)
            self._timers()

    def _select_timeout(self) -> float:
        """Until the next timer is due (a key's ACK retry, the end of a prompt or of thanks), at most
        `IDLE_SELECT` s; 0.02 s while a partial frame may need dropping. An idle keypad has nothing to do
        until the host writes; waking 50 times a second through a whole 120 s prompt kept the demo PC busy
        after every rating request (0.5 % CPU for two emulated keypads), and a 0.25 s cap still cost the
        demo ~0.1 %. Callers that add a timer or change the line wake the select (`_waker`)."""
        with self._lock:
            if self._parser._buf:   # the frame gap (0.1 s) is checked as closely as before
                return 0.02
            now = time.monotonic()
            due = [at for _frame, _tries, at in self._pending_key.values()]
            if self.mode == P.MODE_PROMPT:
                due.append(self._prompt_until)
            elif self.mode == P.MODE_THANKS:
                due.append(self._thanks_until)
        return min(IDLE_SELECT, max(0.005, min(due, default=now + IDLE_SELECT) - now))

    def _timers(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._parser.expire(now)
            if self.mode == P.MODE_PROMPT and now >= self._prompt_until:
                self.mode, self.token = P.MODE_IDLE, 0
            if self.mode == P.MODE_THANKS and now >= self._thanks_until:
                self.mode, self.token = P.MODE_IDLE, 0
            for seq, (frame, tries, at) in list(self._pending_key.items()):
                if now < at:
                    continue
                if tries <= 0 or self.silent:
                    del self._pending_key[seq]
                    if self.mode == P.MODE_WAIT:
                        self.mode = P.MODE_IDLE
                    continue
                self._link.write(frame)
                self._pending_key[seq] = (frame, tries - 1, now + self.key_retry)

    def _reply(self, seq: int, msg: P.Message) -> None:
        data = P.encode(msg, addr=self.address, seq=seq)
        self._last_reply = data
        self._link.write(data)

    def _on_frame(self, frame: P.Frame) -> None:
        if self.silent:
            return
        if frame.addr not in (self.address, P.BROADCAST):
            return
        if self._ignore_next > 0:
            self._ignore_next -= 1
            self.faults["ignored_frames"] += 1
            return
        try:
            msg = P.decode(frame)
        except P.ProtocolError:
            if frame.addr != P.BROADCAST:
                self._reply(frame.seq, P.Ack(frame.cmd, P.ST_BAD_PAYLOAD if frame.cmd in P.COMMAND_NAMES
                                             else P.ST_UNKNOWN_COMMAND, self.mode))
            return
        self._last_host_at = time.monotonic()
        self.received.append({"seq": frame.seq, "at": round(time.time(), 3), **P.message_dict(msg)})
        if isinstance(msg, P.Ack):            # the host's verdict on one of our keys
            if msg.acked == P.KEY and self._pending_key.pop(frame.seq, None) is not None:
                self.key_results.append({"seq": frame.seq, "status": msg.status,
                                         "result": KEY_RESULT_LABELS.get(msg.status, f"0x{msg.status:02X}")})
                if msg.status != P.ST_OK and self.mode == P.MODE_WAIT:
                    self.mode = P.MODE_IDLE
            return
        key = (frame.seq, frame.cmd, frame.payload)
        if key == self._last_host and frame.addr != P.BROADCAST:
            self._link.write(self._last_reply)   # a retransmission: answer again, do not act twice
            return
        self._last_host = key
        now = time.monotonic()
        if isinstance(msg, P.Prompt):
            self.mode, self.token = P.MODE_PROMPT, msg.token
            self.clerk_name, self.text = msg.name, msg.text
            self._prompt_until = now + msg.timeout
        elif isinstance(msg, P.Cancel):
            if msg.token in (0, self.token):
                self.mode, self.token = P.MODE_IDLE, 0
        elif isinstance(msg, P.Thanks):
            self.mode, self.token = P.MODE_THANKS, 0
            self._thanks_until = now + msg.show
        if frame.addr == P.BROADCAST:
            return
        if isinstance(msg, P.Identify):
            self._reply(frame.seq, P.Info(P.PROTOCOL_VERSION, 5, self.firmware))
        elif isinstance(msg, P.Heartbeat | P.Prompt | P.Cancel | P.Thanks):
            self._reply(frame.seq, P.Ack(frame.cmd, P.ST_OK, self.mode))
        else:
            self._reply(frame.seq, P.Ack(frame.cmd, P.ST_UNKNOWN_COMMAND, self.mode))



# ----------------------------------------------------------------------- CLI
FAULT_HELP = """命令 / commands:
  1..5 或 非常满意…非常不满意   按下评价键 / press a level key (1 = 非常满意 … 5 = 非常不满意)
  noise      线路噪声 / line noise            partial   半帧 / a frame cut short
  badcrc     校验错的按键帧 / bad checksum      ignore N  不应答接下来 N 帧 / leave N host frames unanswered
  silent on|off  静默 / hung keypad            reboot    重启（忘记提示）/ power-cycle
  unplug / replug  拔出 / 插回"""
