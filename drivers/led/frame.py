"""Onbon BX-5K/6K framing: the bytes around every packet, and the ACK/NACK replies; no I/O.

The wire layout (vendor document "BX-5K/6K通讯协议用户版本"):

    frame  = A5 ×8 | escape(header ‖ data ‖ crc) | 5A
    header = dst(2) src(2) reserved(3) barcode(1) check(1) display(1) type(1) version(1) len(2)   (LE)
    data   = group(1) cmd(1) response(1) reserved(2) payload
    crc    = CRC-16/ARC (poly 0xA001 reflected, init 0), LE, over header ‖ data before escaping
    escape : A5→A6 02, A6→A6 01, 5A→5B 02, 5B→5B 01
    reply  : A0 00 err 00 00 (ACK) or A0 01 err 00 00 (NACK)

What a packet carries (dynamic areas, text) lives in `areas.py`; the vendor-neutral
interface the device worker uses, in `protocol.py`, which re-exports both.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

from hall.drivers.crc import CRC16_ARC

# --------------------------------------------------------------------- framing
FRAME_START = 0xA5
FRAME_END = 0x5A
PREAMBLE = bytes([FRAME_START]) * 8
HEADER_LEN = 14
CRC_LEN = 2
MAX_BODY = 64 * 1024          # far above any real packet: a runaway frame is noise, not a 1 MB buffer

ADDR_BROADCAST = 0xFFFF       # controllers never answer
ADDR_BROADCAST_REPLY = 0xFFFE  # every controller answers, whatever its own address
ADDR_PC = 0x8000              # the source address of a PC client
DEVICE_ANY = 0xFE
PROTOCOL_VERSION = 0x02

CHECK_CRC16, CHECK_SUM, CHECK_NONE = 0, 1, 2

_ESCAPES = {0xA5: b"\xa6\x02", 0xA6: b"\xa6\x01", 0x5A: b"\x5b\x02", 0x5B: b"\x5b\x01"}
_UNESCAPES = {(0xA6, 0x02): 0xA5, (0xA6, 0x01): 0xA6, (0x5B, 0x02): 0x5A, (0x5B, 0x01): 0x5B}

# ---------------------------------------------------------------- command set
GROUP_ACK = 0xA0
CMD_ACK, CMD_NACK = 0x00, 0x01
GROUP_SYSTEM = 0xA2
CMD_PING = 0x00
GROUP_DISPLAY = 0xA3
CMD_DYNAMIC_AREA = 0x06
CMD_CLEAR_SCREEN = 0x10
RESPONSE_REQUIRED, RESPONSE_NONE = 0x01, 0x02

# CmdError values (vendor table "错误状态CmdError"), with the words a technician sees.
ERR_NO = 0
ERR_OUTOFGROUP = 1
ERR_NOCMD = 2
ERR_BUSY = 3
ERR_MEMORYVOLUME = 4
ERR_CHECKSUM = 5
ERROR_NAMES = {
    0: "无错误",
    1: "命令组错误",
    2: "命令不存在",
    3: "控制器忙",
    4: "存储容量不足",
    5: "CRC 校验错误",
    6: "文件不存在",
    7: "Flash 访问错误",
    8: "文件下载错误",
    9: "文件名错误",
    10: "文件类型错误",
    11: "文件 CRC 错误",
    12: "字库不存在",
    13: "固件类型错误（请检查控制卡型号）",
    14: "日期时间格式错误",
    15: "文件已存在",
    16: "文件块号错误",
}


class FrameError(ValueError):
    """A frame that cannot be used; `reason` is one of: escape, short, length, crc, partial, too_long."""

    def __init__(self, reason: str, detail: str = "", header: Header | None = None, raw: bytes = b"") -> None:
        self.reason = reason
        self.detail = detail
        self.header = header
        self.raw = raw
        super().__init__(f"{reason}: {detail}" if detail else reason)


# ------------------------------------------------------------------------ CRC
crc16_arc = CRC16_ARC    # the vendor appendix's table: X^16 + X^15 + X^2 + 1, reflected, init 0


def _checksum(mode: int, data: bytes) -> int | None:
    if mode == CHECK_CRC16:
        return crc16_arc(data)
    if mode == CHECK_SUM:
        return sum(data) & 0xFFFF
    return None   # CHECK_NONE: any value is accepted


# -------------------------------------------------------------------- escapes
def escape(raw: bytes) -> bytes:
    """Escape a PHY1 packet so that A5 and 5A only ever mark frame start and end."""
    if not any(b in _ESCAPES for b in raw):
        return bytes(raw)
    out = bytearray()
    for b in raw:
        esc = _ESCAPES.get(b)
        if esc is None:
            out.append(b)
        else:
            out += esc
    return bytes(out)


def unescape(escaped: bytes) -> bytes:
    out = bytearray()
    it = iter(range(len(escaped)))
    for i in it:
        b = escaped[i]
        if b in (0xA6, 0x5B):
            if i + 1 >= len(escaped):
                raise FrameError("escape", f"dangling escape byte {b:02X}")
            pair = (b, escaped[i + 1])
            if pair not in _UNESCAPES:
                raise FrameError("escape", f"invalid escape {b:02X} {escaped[i + 1]:02X}")
            out.append(_UNESCAPES[pair])
            next(it)
        elif b in (FRAME_START, FRAME_END):
            raise FrameError("escape", f"unescaped {b:02X} inside a frame")
        else:
            out.append(b)
    return bytes(out)


# --------------------------------------------------------------------- header
@dataclass(frozen=True)
class Header:
    dst: int = ADDR_BROADCAST_REPLY
    src: int = ADDR_PC
    data_len: int = 0
    device_type: int = DEVICE_ANY
    version: int = PROTOCOL_VERSION
    check_mode: int = CHECK_CRC16
    display_mode: int = 0
    barcode: int = 0
    reserved: bytes = b"\x00\x00\x00"

    _FMT = "<HH3sBBBBBH"

    def pack(self) -> bytes:
        return struct.pack(self._FMT, self.dst, self.src, self.reserved, self.barcode, self.check_mode,
                           self.display_mode, self.device_type, self.version, self.data_len)

    @classmethod
    def unpack(cls, raw: bytes) -> Header:
        if len(raw) < HEADER_LEN:
            raise FrameError("short", f"header needs {HEADER_LEN} bytes, got {len(raw)}")
        dst, src, res, barcode, check, display, dtype, version, dlen = struct.unpack(cls._FMT, raw[:HEADER_LEN])
        return cls(dst=dst, src=src, data_len=dlen, device_type=dtype, version=version, check_mode=check,
                   display_mode=display, barcode=barcode, reserved=res)


@dataclass(frozen=True)
class Packet:
    """One PHY1 packet: header and data (command group, command, response/error, reserved, payload)."""

    header: Header
    data: bytes
    wire_len: int = field(default=0, compare=False)   # bytes it took on the line (decoder only)

    @property
    def group(self) -> int:
        return self.data[0] if self.data else -1

    @property
    def cmd(self) -> int:
        return self.data[1] if len(self.data) > 1 else -1

    @property
    def flag(self) -> int:
        """Byte 3 of the data: the response flag in a request, CmdError in a reply."""
        return self.data[2] if len(self.data) > 2 else -1

    @property
    def payload(self) -> bytes:
        return self.data[5:]


def encode_packet(data: bytes, *, dst: int = ADDR_BROADCAST_REPLY, src: int = ADDR_PC,
                  device_type: int = DEVICE_ANY, display_mode: int = 0) -> bytes:
    """The full frame (preamble, escaped header ‖ data ‖ CRC, end byte) for a data field."""
    header = Header(dst=dst, src=src, device_type=device_type, display_mode=display_mode)
    return encode_with_header(header, data)


def encode_with_header(header: Header, data: bytes) -> bytes:
    """A frame with the given header fields; its length and check value are computed here."""
    if len(data) > 0xFFFF:
        raise ValueError(f"data field of {len(data)} bytes exceeds the 16-bit length")
    phy1 = replace(header, data_len=len(data)).pack() + data
    check = _checksum(header.check_mode, phy1)
    phy1 += struct.pack("<H", check if check is not None else 0)
    return PREAMBLE + escape(phy1) + bytes([FRAME_END])


def decode_phy1(raw: bytes) -> Packet:
    """Check an unescaped PHY1 packet (header ‖ data ‖ check) and split it."""
    if len(raw) < HEADER_LEN + CRC_LEN:
        raise FrameError("short", f"{len(raw)} bytes", raw=raw)
    header = Header.unpack(raw)
    if header.data_len != len(raw) - HEADER_LEN - CRC_LEN:
        raise FrameError("length", f"header says {header.data_len} data bytes, frame has "
                         f"{len(raw) - HEADER_LEN - CRC_LEN}", header=header, raw=raw)
    body, (check,) = raw[:-CRC_LEN], struct.unpack("<H", raw[-CRC_LEN:])
    expected = _checksum(header.check_mode, body)
    if expected is not None and expected != check:
        raise FrameError("crc", f"got {check:04X}, expected {expected:04X}", header=header, raw=raw)
    return Packet(header, body[HEADER_LEN:])


def decode_frame(frame: bytes) -> Packet:
    """Decode exactly one complete frame (any number of A5 bytes first, 5A last)."""
    packets = FrameDecoder().feed(frame)
    if len(packets) != 1:
        raise FrameError("short", f"expected one frame, found {len(packets)}")
    item = packets[0]
    if isinstance(item, FrameError):
        raise item
    return item


class FrameDecoder:
    """Stream decoder: bytes in, packets (or `FrameError`s) out.

    Robust against what a serial line does: bytes before a frame are noise
    and skipped; any number of A5 bytes start a frame; an A5 inside a body
    means the previous frame was cut short (`partial`); a body that runs past
    its declared length is dropped (`length`). `needed()` tells a reader the
    fewest bytes that could complete the frame in progress, so a blocking read
    never waits for bytes that belong to the next frame.
    """

    _IDLE, _PREAMBLE, _BODY = range(3)

    def __init__(self) -> None:
        self.noise_bytes = 0
        self.errors: dict[str, int] = {}
        self._reset()

    def _reset(self) -> None:
        self._state = self._IDLE
        self._body = bytearray()
        self._pending: int | None = None     # first byte of an escape pair
        self._raw = bytearray()

    def needed(self) -> int:
        if self._state == self._IDLE:
            return 1 + HEADER_LEN + CRC_LEN + 1
        if self._state == self._PREAMBLE:
            return HEADER_LEN + CRC_LEN + 1
        # Unescaped bytes still due (a pending escape's second byte yields one of them), plus the end byte;
        # each takes at least one byte on the wire.
        have = len(self._body)
        if have < HEADER_LEN:
            return HEADER_LEN - have + CRC_LEN + 1
        dlen = self._body[12] | (self._body[13] << 8)
        return max(1, HEADER_LEN + dlen + CRC_LEN - have + 1)

    def _error(self, out: list[Packet | FrameError], err: FrameError) -> None:
        self.errors[err.reason] = self.errors.get(err.reason, 0) + 1
        if not err.raw:
            err.raw = bytes(self._raw)
        out.append(err)

    def feed(self, data: bytes) -> list[Packet | FrameError]:
        out: list[Packet | FrameError] = []
        for b in data:
            if self._state == self._IDLE:
                if b == FRAME_START:
                    self._state = self._PREAMBLE
                    self._raw = bytearray([b])
                else:
                    self.noise_bytes += 1
                continue
            self._raw.append(b)
            if self._state == self._PREAMBLE:
                if b == FRAME_START:
                    continue
                if b == FRAME_END:          # A5…5A with nothing in between
                    self._error(out, FrameError("short", "empty frame"))
                    self._reset()
                    continue
                self._state = self._BODY
            # body byte
            if b == FRAME_START:            # a new frame starts: the one in progress was cut short
                self._error(out, FrameError("partial", f"cut after {len(self._body)} bytes",
                                            raw=bytes(self._raw[:-1])))
                self._reset()
                self._state = self._PREAMBLE
                self._raw = bytearray([b])
                continue
            if self._pending is not None:
                pair = (self._pending, b)
                self._pending = None
                if pair not in _UNESCAPES:
                    self._error(out, FrameError("escape", f"invalid escape {pair[0]:02X} {pair[1]:02X}"))
                    self._reset()
                    continue
                self._body.append(_UNESCAPES[pair])
            elif b == FRAME_END:
                raw = bytes(self._body)
                try:
                    out.append(replace(decode_phy1(raw), wire_len=len(self._raw)))
                except FrameError as err:
                    err.raw = bytes(self._raw)
                    self._error(out, err)
                self._reset()
                continue
            elif b in (0xA6, 0x5B):
                self._pending = b
                continue
            else:
                self._body.append(b)
            if len(self._body) >= HEADER_LEN:
                dlen = self._body[12] | (self._body[13] << 8)
                if len(self._body) > HEADER_LEN + dlen + CRC_LEN or len(self._body) > MAX_BODY:
                    self._error(out, FrameError("length", "no frame end where the header says"))
                    self._reset()
        return out


# -------------------------------------------------------------------- replies
def request_data(group: int, cmd: int, payload: bytes = b"", *, response: bool = True,
                 reserved: bytes = b"\x00\x00") -> bytes:
    return bytes([group, cmd, RESPONSE_REQUIRED if response else RESPONSE_NONE]) + reserved + payload


def ping_data() -> bytes:
    return request_data(GROUP_SYSTEM, CMD_PING)


def clear_screen_data() -> bytes:
    return request_data(GROUP_DISPLAY, CMD_CLEAR_SCREEN)


def ack_data(error: int = ERR_NO) -> bytes:
    return bytes([GROUP_ACK, CMD_ACK, error, 0, 0])


def nack_data(error: int) -> bytes:
    return bytes([GROUP_ACK, CMD_NACK, error, 0, 0])


@dataclass(frozen=True)
class Reply:
    """A screen's answer, vendor-neutral: ok, an error code, and words for the technician."""

    ok: bool
    code: int = 0
    message: str = ""
    group: int = GROUP_ACK
    cmd: int = CMD_ACK


def parse_reply(packet: Packet) -> Reply:
    code = packet.flag
    if packet.group == GROUP_ACK and packet.cmd == CMD_ACK:
        return Reply(True, code, "ACK", packet.group, packet.cmd)
    name = ERROR_NAMES.get(code, f"错误码 {code}")
    if packet.group == GROUP_ACK and packet.cmd == CMD_NACK:
        return Reply(False, code, f"NACK：{name}", packet.group, packet.cmd)
    # A data reply (status queries…): its CmdError byte says whether it worked.
    return Reply(code == ERR_NO, code, "OK" if code == ERR_NO else name, packet.group, packet.cmd)
