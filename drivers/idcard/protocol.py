"""GA 467 security-module (SAM) frames: pure encoding and decoding, no I/O.

A frame is the preamble `AA AA AA 96 69`, a 2-byte big-endian length that
counts everything after it (payload and checksum), the payload, and one
checksum byte: the XOR of the length bytes and the payload. A host command's
payload is command, parameter, data; an answer's payload is three status
bytes (`00 00 90` success, `00 00 9F` card found, others errors) and data.

`FrameParser` takes bytes as they come off the line and gives whole frames;
noise before a preamble, impossible lengths and bad checksums are dropped and
counted, and the parser resynchronises on the next preamble, so one bad byte
never loses more than the frame it sat in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
MAX_LENGTH = 0x0600      # the longest answer (base information with photo) is 0x0508

# Commands (command, parameter).
RESET_SAM = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_BASE = (0x30, 0x01)

COMMAND_NAMES = {RESET_SAM: "复位安全模块", SAM_STATUS: "安全模块状态", FIND_CARD: "找卡",
                 SELECT_CARD: "选卡", READ_BASE: "读基本信息"}

# Third status byte (SW3) of an answer.
ST_OK = 0x90
ST_NO_CONTENT = 0x91
ST_CARD_FOUND = 0x9F
ST_BAD_CHECKSUM = 0x10
ST_BAD_LENGTH = 0x11
ST_BAD_COMMAND = 0x21
ST_NOT_ALLOWED = 0x23
ST_UNKNOWN_ERROR = 0x24
ST_CARD_AUTH_FAILED = 0x31
ST_SAM_AUTH_FAILED = 0x32
ST_INFO_CHECK_FAILED = 0x33
ST_UNKNOWN_CARD = 0x40
ST_READ_FAILED = 0x41
ST_RANDOM_FAILED = 0x47
ST_SAM_SELF_TEST_FAILED = 0x60
ST_SAM_NOT_AUTHORISED = 0x66
ST_NO_CARD = 0x80
ST_SELECT_FAILED = 0x81

STATUS_NAMES = {
    ST_OK: "操作成功",
    ST_NO_CONTENT: "无此项内容",
    ST_CARD_FOUND: "找卡成功",
    ST_BAD_CHECKSUM: "安全模块收到的数据校验和错误",
    ST_BAD_LENGTH: "安全模块收到的数据长度错误",
    ST_BAD_COMMAND: "安全模块收到的命令错误",
    ST_NOT_ALLOWED: "越权操作",
    ST_UNKNOWN_ERROR: "无法识别的错误",
    ST_CARD_AUTH_FAILED: "卡认证安全模块失败",
    ST_SAM_AUTH_FAILED: "安全模块认证卡失败",
    ST_INFO_CHECK_FAILED: "信息验证错误",
    ST_UNKNOWN_CARD: "无法识别的卡类型",
    ST_READ_FAILED: "读卡操作失败",
    ST_RANDOM_FAILED: "取随机数失败",
    ST_SAM_SELF_TEST_FAILED: "安全模块自检失败",
    ST_SAM_NOT_AUTHORISED: "安全模块未经授权",
    ST_NO_CARD: "找卡失败（无卡）",
    ST_SELECT_FAILED: "选卡失败",
}

TEXT_LENGTH = 256
PHOTO_LENGTH = 1024


class ProtocolError(ValueError):
    """An answer that is well framed but does not say what its command expects."""


def checksum(body: bytes) -> int:
    """XOR of the length bytes and the payload."""
    x = 0
    for b in body:
        x ^= b
    return x


def frame(payload: bytes) -> bytes:
    """Wrap a payload: preamble, length (payload + checksum), payload, checksum."""
    n = len(payload) + 1
    if n > MAX_LENGTH:
        raise ValueError(f"帧过长：{n} 字节")
    body = n.to_bytes(2, "big") + payload
    return PREAMBLE + body + bytes([checksum(body)])


def encode_command(command: tuple[int, int], data: bytes = b"") -> bytes:
    """A host command, e.g. `encode_command(FIND_CARD)` → `AA AA AA 96 69 00 03 20 01 22`."""
    return frame(bytes(command) + data)


def encode_answer(status: int, data: bytes = b"") -> bytes:
    """A security module's answer `00 00 <status>` with data (the emulator speaks it)."""
    return frame(bytes([0x00, 0x00, status]) + data)


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"未知状态 0x{status:02X}")


@dataclass(frozen=True)
class Answer:
    sw: bytes            # the three status bytes
    data: bytes

    @property
    def status(self) -> int:
        return self.sw[2]

    @property
    def ok(self) -> bool:
        return self.sw[:2] == b"\x00\x00" and self.status in (ST_OK, ST_CARD_FOUND)

    def describe(self) -> str:
        return f"{status_name(self.status)}（{self.sw.hex(' ').upper()}）"


@dataclass(frozen=True)
class Command:
    command: tuple[int, int]
    data: bytes


def decode_answer(payload: bytes) -> Answer:
    if len(payload) < 3:
        raise ProtocolError(f"应答过短：{len(payload)} 字节")
    return Answer(payload[:3], payload[3:])


def decode_command(payload: bytes) -> Command:
    if len(payload) < 2:
        raise ProtocolError(f"命令过短：{len(payload)} 字节")
    return Command((payload[0], payload[1]), payload[2:])


def split_base_info(data: bytes) -> tuple[bytes, bytes]:
    """The base-information answer's data: text length, photo length (2 bytes each, big-endian),
    the text block, the photo block. Returns (text, photo)."""
    if len(data) < 4:
        raise ProtocolError("基本信息应答缺少长度字段")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if text_len != TEXT_LENGTH:
        raise ProtocolError(f"文字信息长度应为 {TEXT_LENGTH}，而不是 {text_len}")
    if len(data) < 4 + text_len + photo_len:
        raise ProtocolError(f"基本信息应答不完整：{len(data)} 字节，应为 {4 + text_len + photo_len}")
    text = data[4:4 + text_len]
    photo = data[4 + text_len:4 + text_len + photo_len]
    return text, photo


def base_info_data(text: bytes, photo: bytes) -> bytes:
    return len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo


# dup-ok: a counter dataclass, the shape of kiosk/relay/county_sim.py Stats and sender.py BatchOutcome; other counters
@dataclass
class ParserStats:
    frames: int = 0
    noise_bytes: int = 0
    bad_checksum: int = 0
    bad_length: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"frames": self.frames, "noise_bytes": self.noise_bytes, "bad_checksum": self.bad_checksum,
                "bad_length": self.bad_length}


@dataclass
class FrameParser:
    """Bytes in, whole payloads out (see the module doc). Not thread-safe: one per line."""

    stats: ParserStats = field(default_factory=ParserStats)
    _buf: bytearray = field(default_factory=bytearray)

    def reset(self) -> None:
        self._buf.clear()

    def wanted(self) -> int:
        """How many bytes the frame being received still needs (at least 1): read no more,
        so a whole answer is handled as soon as it is in."""
        buf = self._buf
        start = buf.find(PREAMBLE)
        if start < 0:
            return len(PREAMBLE)
        have = len(buf) - start
        if have < 7:
            return 7 - have
        n = int.from_bytes(buf[start + 5:start + 7], "big")
        return max(1, 7 + n - have)

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            buf = self._buf
            start = buf.find(PREAMBLE)
            if start < 0:
                # keep a tail that may be the start of a preamble
                keep = 0
                for k in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
                    if buf.endswith(PREAMBLE[:k]):
                        keep = k
                        break
                self.stats.noise_bytes += len(buf) - keep
                del buf[:len(buf) - keep]
                return out
            if start:
                self.stats.noise_bytes += start
                del buf[:start]
            if len(buf) < 7:
                return out
            n = int.from_bytes(buf[5:7], "big")
            if n < 2 or n > MAX_LENGTH:
                self.stats.bad_length += 1
                del buf[:1]          # not a frame: look for the next preamble
                continue
            if len(buf) < 7 + n:
                return out
            body = bytes(buf[5:7 + n - 1])
            if checksum(body) != buf[7 + n - 1]:
                self.stats.bad_checksum += 1
                del buf[:1]          # the frame may have been cut by a new one: resync inside it
                continue
            del buf[:7 + n]
            self.stats.frames += 1
            out.append(body[2:])


def hexdump(data: bytes, limit: int = 48) -> str:
    """Short hex for logs and the technician's view (the base-information block is never passed here)."""
    s = data[:limit].hex(" ").upper()
    return s + (" …" if len(data) > limit else "")


def describe_command(cmd: Command) -> dict[str, Any]:
    return {"command": f"{cmd.command[0]:02X} {cmd.command[1]:02X}",
            "name": COMMAND_NAMES.get(cmd.command, "未知命令")}
