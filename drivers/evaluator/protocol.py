"""The serial evaluator keypad's wire protocol (our own; spec in docs/evaluator-protocol.md).

Pure functions and one streaming parser: nothing here touches a port or a clock
it was not given, so every byte can be checked against the tables in the spec.

Frame (all multi-byte fields little-endian)::

    AA 55 | LEN | ~LEN | ADDR | SEQ | CMD | PAYLOAD (LEN-3 bytes) | CRC16 lo hi

LEN counts ADDR+SEQ+CMD+PAYLOAD (3..67). CRC-16/MODBUS (poly 0x8005 reflected,
init 0xFFFF) covers LEN through the end of PAYLOAD. The receiver finds frames by
the AA 55 sync word plus the LEN/~LEN pair and the CRC; anything else is noise.

Inside the service a satisfaction level is always its name (非常满意 …); the
wire numbers 1..5 exist only in `WIRE_LEVELS` below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hall.drivers.crc import CRC16_MODBUS

SYNC = b"\xaa\x55"
MIN_LEN = 3                 # ADDR + SEQ + CMD
MAX_PAYLOAD = 64
MAX_LEN = MIN_LEN + MAX_PAYLOAD
OVERHEAD = 6                # sync (2) + LEN + ~LEN + CRC (2)
MAX_FRAME = MAX_LEN + OVERHEAD
PROTOCOL_VERSION = 1

BROADCAST = 0xFF
DEFAULT_ADDRESS = 0x01

# Host → keypad
HEARTBEAT = 0x01
IDENTIFY = 0x02
PROMPT = 0x10
CANCEL = 0x11
THANKS = 0x12
# Keypad → host (ACK also goes host → keypad, to acknowledge a KEY)
ACK = 0x80
KEY = 0x81
INFO = 0x83

COMMAND_NAMES = {
    HEARTBEAT: "HEARTBEAT", IDENTIFY: "IDENTIFY", PROMPT: "PROMPT", CANCEL: "CANCEL", THANKS: "THANKS",
    ACK: "ACK", KEY: "KEY", INFO: "INFO",
}

# ACK status codes. 0x0_ are the keypad's answers to host commands; 0x1_ are the
# host's answers to a KEY.
ST_OK = 0x00
ST_BAD_PAYLOAD = 0x01
ST_UNKNOWN_COMMAND = 0x02
ST_BUSY = 0x03
ST_KEY_NOT_PROMPTED = 0x10   # no prompt open (or it timed out): nothing recorded
ST_KEY_STALE = 0x11          # the KEY carries another prompt's token: nothing recorded
ST_KEY_REJECTED = 0x12       # the service refused the rating (prompt closed elsewhere…)

# Keypad display mode reported in every ACK the keypad sends.
MODE_IDLE, MODE_PROMPT, MODE_THANKS, MODE_WAIT = 0, 1, 2, 3
MODE_NAMES = {MODE_IDLE: "idle", MODE_PROMPT: "prompt", MODE_THANKS: "thanks", MODE_WAIT: "wait"}

# The wire numbering follows GB/T 39046-2020 A.8 (1 = 非常满意 … 5 = 非常不满意).
# Note the provincial 好差评 interfaces number the other way round; that mapping
# belongs to the relay, never here.
WIRE_LEVELS: dict[int, str] = {1: "非常满意", 2: "满意", 3: "基本满意", 4: "不满意", 5: "非常不满意"}
LEVEL_WIRE: dict[str, int] = {name: code for code, name in WIRE_LEVELS.items()}

TEXT_ENCODING = "gb18030"    # identical to GB2312 for every character a GB2312 font has
NAME_MAX_BYTES = 16
TEXT_MAX_BYTES = 40
FIRMWARE_MAX_BYTES = 32


class ProtocolError(ValueError):
    """A frame with a valid checksum whose command or payload makes no sense."""


# ------------------------------------------------------------------ checksum
crc16_modbus = CRC16_MODBUS    # docs/evaluator-protocol.md §2: LEN … PAYLOAD, low byte first on the wire


# -------------------------------------------------------------------- frames
@dataclass(frozen=True)
class Frame:
    addr: int
    seq: int
    cmd: int
    payload: bytes = b""

    @property
    def name(self) -> str:
        return COMMAND_NAMES.get(self.cmd, f"0x{self.cmd:02X}")


def encode_frame(addr: int, seq: int, cmd: int, payload: bytes = b"") -> bytes:
    if not 0 <= addr <= 0xFF or not 0 <= seq <= 0xFF or not 0 <= cmd <= 0xFF:
        raise ValueError("addr, seq and cmd are single bytes")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    length = MIN_LEN + len(payload)
    body = bytes([length, length ^ 0xFF, addr, seq, cmd]) + payload
    crc = crc16_modbus(body)
    return SYNC + body + bytes([crc & 0xFF, crc >> 8])


def encode_text(text: str, max_bytes: int) -> bytes:
    """GB18030 bytes cut at a character boundary so the keypad never shows half a hanzi."""
    out = b""
    for ch in text:
        b = ch.encode(TEXT_ENCODING, errors="replace")
        if len(out) + len(b) > max_bytes:
            break
        out += b
    return out


def _token(token: int) -> bytes:
    if not 0 <= token <= 0xFFFF:
        raise ValueError("token is 16 bits")
    return token.to_bytes(2, "little")


# ------------------------------------------------------------------ messages
@dataclass(frozen=True)
class Heartbeat:
    pass


@dataclass(frozen=True)
class Identify:
    pass


@dataclass(frozen=True)
class Prompt:
    token: int          # 1..65535, echoed by every KEY pressed during this prompt
    timeout: int        # seconds the keypad counts down (cosmetic; the host decides)
    name: str = ""      # clerk's name, shown on the keypad's display
    text: str = ""      # e.g. 请您对本次服务进行评价


@dataclass(frozen=True)
class Cancel:
    token: int = 0      # 0 = whatever is shown


@dataclass(frozen=True)
class Thanks:
    token: int = 0
    show: int = 3       # seconds to show 谢谢您的评价


@dataclass(frozen=True)
class Ack:
    acked: int          # the command acknowledged
    status: int = ST_OK
    mode: int = MODE_IDLE


@dataclass(frozen=True)
class Key:
    level: str          # a name from WIRE_LEVELS
    token: int = 0      # the prompt shown when pressed; 0 when idle


@dataclass(frozen=True)
class Info:
    version: int = PROTOCOL_VERSION
    keys: int = 5
    firmware: str = ""


Message = Heartbeat | Identify | Prompt | Cancel | Thanks | Ack | Key | Info


def encode_payload(msg: Message) -> tuple[int, bytes]:
    """(command, payload bytes) of a message."""
    match msg:
        case Heartbeat():
            return HEARTBEAT, b""
        case Identify():
            return IDENTIFY, b""
        case Prompt(token=token, timeout=timeout, name=name, text=text):
            if not 1 <= token <= 0xFFFF:
                raise ValueError("a prompt token is 1..65535")
            name_b = encode_text(name, NAME_MAX_BYTES)
            text_b = encode_text(text, TEXT_MAX_BYTES)
            return PROMPT, _token(token) + bytes([max(1, min(255, timeout)), len(name_b)]) + name_b + text_b
        case Cancel(token=token):
            return CANCEL, _token(token)
        case Thanks(token=token, show=show):
            return THANKS, _token(token) + bytes([max(1, min(255, show))])
        case Ack(acked=acked, status=status, mode=mode):
            return ACK, bytes([acked, status, mode])
        case Key(level=level, token=token):
            if level not in LEVEL_WIRE:
                raise ValueError(f"unknown level {level!r}")
            return KEY, bytes([LEVEL_WIRE[level]]) + _token(token)
        case Info(version=version, keys=keys, firmware=firmware):
            fw = firmware.encode("ascii", errors="replace")[:FIRMWARE_MAX_BYTES]
            return INFO, bytes([version, keys]) + fw
    raise TypeError(f"not a message: {msg!r}")


def encode(msg: Message, *, addr: int = DEFAULT_ADDRESS, seq: int = 0) -> bytes:
    cmd, payload = encode_payload(msg)
    return encode_frame(addr, seq, cmd, payload)


def decode(frame: Frame) -> Message:
    """The message a checked frame carries; ProtocolError when its payload is malformed."""
    p, cmd = frame.payload, frame.cmd

    def need(n: int, exact: bool = True) -> None:
        if (len(p) != n) if exact else (len(p) < n):
            raise ProtocolError(f"{frame.name}: payload of {len(p)} bytes")

    if cmd == HEARTBEAT:
        need(0)
        return Heartbeat()
    if cmd == IDENTIFY:
        need(0)
        return Identify()
    if cmd == PROMPT:
        need(4, exact=False)
        token = int.from_bytes(p[0:2], "little")
        name_len = p[3]
        if token == 0 or p[2] == 0 or 4 + name_len > len(p) or name_len > NAME_MAX_BYTES \
                or len(p) - 4 - name_len > TEXT_MAX_BYTES:
            raise ProtocolError("PROMPT: bad token, timeout or lengths")
        name = p[4:4 + name_len].decode(TEXT_ENCODING, errors="replace")
        text = p[4 + name_len:].decode(TEXT_ENCODING, errors="replace")
        return Prompt(token, p[2], name, text)
    if cmd == CANCEL:
        need(2)
        return Cancel(int.from_bytes(p, "little"))
    if cmd == THANKS:
        need(3)
        return Thanks(int.from_bytes(p[0:2], "little"), p[2])
    if cmd == ACK:
        need(3)
        return Ack(p[0], p[1], p[2])
    if cmd == KEY:
        need(3)
        if p[0] not in WIRE_LEVELS:
            raise ProtocolError(f"KEY: level {p[0]} is not 1..5")
        return Key(WIRE_LEVELS[p[0]], int.from_bytes(p[1:3], "little"))
    if cmd == INFO:
        need(2, exact=False)
        if len(p) > 2 + FIRMWARE_MAX_BYTES:
            raise ProtocolError("INFO: firmware string too long")
        return Info(p[0], p[1], p[2:].decode("ascii", errors="replace"))
    raise ProtocolError(f"unknown command 0x{cmd:02X}")


# -------------------------------------------------------------------- parser
@dataclass
class ParserStats:
    frames: int = 0           # frames with a valid header and checksum
    noise_bytes: int = 0      # bytes thrown away outside any valid frame
    bad_length: int = 0       # AA 55 followed by a LEN/~LEN pair that does not match
    bad_checksum: int = 0     # a complete candidate frame whose CRC did not match
    partial: int = 0          # a frame that started but stopped arriving (inter-byte gap)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    @property
    def dropped(self) -> int:
        return self.bad_length + self.bad_checksum + self.partial


@dataclass
class FrameParser:
    """Streaming receiver: feed it whatever the line delivers, get whole checked frames back.

    Noise, broken headers, bad checksums and frames cut short are dropped and
    counted in `stats`; after any of them the parser re-hunts for the sync word
    starting one byte after the failed candidate's start, so a real frame that
    follows (or hides inside) garbage is still found. A candidate that stops
    arriving for longer than `gap` seconds is dropped as partial.
    """

    gap: float = 0.1
    stats: ParserStats = field(default_factory=ParserStats)
    _buf: bytearray = field(default_factory=bytearray)
    _last: float | None = None

    def feed(self, data: bytes, now: float | None = None) -> list[Frame]:
        now = time.monotonic() if now is None else now
        out = self.expire(now)
        if data:
            self._last = now
            self._buf += data
        return out + self._scan()

    def expire(self, now: float | None = None) -> list[Frame]:
        """Give up on an incomplete candidate once the line has been quiet for `gap`.

        Only the candidate's first byte is dropped before re-hunting, so a whole
        frame that arrived behind a cut-off one (whose LEN claimed more bytes
        than ever came) is still found; those frames are returned.
        """
        now = time.monotonic() if now is None else now
        out: list[Frame] = []
        if not self._buf or self._last is None or now - self._last <= self.gap:
            return out
        while self._buf:
            if self._buf.startswith(SYNC):
                self.stats.partial += 1
            self.stats.noise_bytes += 1
            del self._buf[:1]
            out += self._scan()
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)

    def wanted(self) -> int:
        """Bytes still needed to finish the frame being received (1 while hunting).

        A reader that asks the line for exactly this many bytes returns the moment
        a frame is complete instead of waiting out its timeout.
        """
        buf = self._buf
        if len(buf) < 4 or not buf.startswith(SYNC):
            return max(1, 4 - len(buf)) if buf.startswith(SYNC[:len(buf)]) and buf else 1
        length = buf[2]
        if length ^ buf[3] != 0xFF or not MIN_LEN <= length <= MAX_LEN:
            return 1
        return max(1, length + OVERHEAD - len(buf))

    def _scan(self) -> list[Frame]:
        out: list[Frame] = []
        buf = self._buf
        while buf:
            i = buf.find(SYNC)
            if i < 0:
                keep = 1 if buf[-1] == SYNC[0] else 0     # a lone AA may be the start of a frame
                self.stats.noise_bytes += len(buf) - keep
                del buf[:len(buf) - keep]
                break
            if i:
                self.stats.noise_bytes += i
                del buf[:i]
            if len(buf) < 4:
                break
            length = buf[2]
            if length ^ buf[3] != 0xFF or not MIN_LEN <= length <= MAX_LEN:
                self.stats.bad_length += 1
                self.stats.noise_bytes += 1
                del buf[:1]
                continue
            total = length + OVERHEAD
            if len(buf) < total:
                break
            crc = buf[total - 2] | (buf[total - 1] << 8)
            if crc16_modbus(bytes(buf[2:total - 2])) != crc:
                self.stats.bad_checksum += 1
                self.stats.noise_bytes += 1
                del buf[:1]
                continue
            out.append(Frame(buf[4], buf[5], buf[6], bytes(buf[7:total - 2])))
            self.stats.frames += 1
            del buf[:total]
        return out


def describe(data: bytes) -> str:
    """Hex dump for logs and the technician page: 'AA 55 06 F9 …'."""
    return data.hex(" ").upper()


def message_dict(msg: Message) -> dict[str, Any]:
    """A JSON-friendly view of a message (for emulator logs and diagnostics)."""
    d: dict[str, Any] = {"type": type(msg).__name__.upper()}
    d.update({k: v for k, v in msg.__dict__.items()})
    if isinstance(msg, Ack):
        d["acked"] = COMMAND_NAMES.get(msg.acked, f"0x{msg.acked:02X}")
        d["mode"] = MODE_NAMES.get(msg.mode, str(msg.mode))
    return d
