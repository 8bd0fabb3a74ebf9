"""LED screen protocols: pure byte encoding and decoding, no I/O.

The hall's main board and window screens are driven through a small
vendor-neutral interface, `ScreenProtocol`: the device worker hands it
`AreaSpec`s (a rectangle and the text it should show) and gets back the
frames to write; replies are fed to the protocol's `ReplyDecoder`. A new
vendor's window strip is added by implementing that interface and
registering it in `PROTOCOLS`; the worker, the event handling and the
diagnostics stay as they are.

The one protocol shipped is Onbon's BX-5K/6K font-card protocol
("BX-5K/6K通讯协议用户版本", onbon-docs/docs/zh/k/potocol.md):

    frame  = A5 ×8 | escape(header ‖ data ‖ crc) | 5A
    header = dst(2) src(2) reserved(3) barcode(1) check(1) display(1) type(1) version(1) len(2)   (LE)
    data   = group(1) cmd(1) response(1) reserved(2) payload
    crc    = CRC-16/ARC (poly 0xA001 reflected, init 0), LE, over header ‖ data before escaping
    escape : A5→A6 02, A6→A6 01, 5A→5B 02, 5B→5B 01
    reply  : A0 00 err 00 00 (ACK) or A0 01 err 00 00 (NACK)

Text goes to dynamic areas (`A3 06`), which live in RAM: they can be
rewritten on every call without wearing the controller's flash. Text is
GB2312; a character GB2312 lacks is replaced (never a crash) and reported.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from hall.drivers.crc import CRC16_ARC
from hall.drivers.options import int_option

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

# Dynamic-area display modes (区域数据格式 DisplayMode).
SHOW_STATIC = 0x01
SHOW_TYPE_OUT = 0x02
SHOW_SCROLL_LEFT = 0x03
COLOR_CODES = {"red": "1", "green": "2", "yellow": "3", "blue": "4", "cyan": "5", "magenta": "6", "white": "7"}
FONT_FILES = {16: ("O000", "E000"), 24: ("O001", "E001"), 32: ("O002", "E002")}


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


# ------------------------------------------------------------- dynamic areas
@dataclass(frozen=True)
class DynamicArea:
    """One dynamic area as the controller sees it (区域数据格式, with sound off and no extension bytes)."""

    area_id: int
    x: int
    y: int
    width: int
    height: int
    data: bytes
    area_type: int = 0
    line_spacing: int = 0
    run_mode: int = 0          # 0 loop, 1 stay on last page, 2 loop then delete after `timeout`
    timeout: int = 10
    align: int = 0             # bits 0-1: 0 left, 1 right, 2 centre; bits 2-3: 0 top, 1 bottom, 2 middle
    single_line: int = 0x02    # 1 single line, 2 multi-line
    new_line: int = 0x01       # 1 manual line breaks, 2 automatic
    display_mode: int = SHOW_STATIC
    exit_mode: int = 0
    speed: int = 2
    stay_time: int = 10        # 0.5 s units
    extension: bytes = b""     # ExtendParaLen bytes (type-setting, letter spacing…), as received

    def encode(self) -> bytes:
        for name in ("x", "width"):
            if not 0 <= getattr(self, name) < 0x8000:
                raise ValueError(f"area {name} out of range: {getattr(self, name)}")
        head = struct.pack(
            "<BHHHHBBBHBB",
            self.area_type, 0x8000 | self.x, self.y, 0x8000 | self.width, self.height,
            self.area_id, self.line_spacing, self.run_mode, self.timeout, 0, len(self.extension),
        )
        tail = bytes([self.align, self.single_line, self.new_line, self.display_mode, self.exit_mode,
                      self.speed, self.stay_time])
        return head + self.extension + tail + struct.pack("<I", len(self.data)) + self.data

    @classmethod
    def decode(cls, raw: bytes) -> DynamicArea:
        try:
            area_type, x, y, w, h, area_id, spacing, run_mode, timeout, sound = struct.unpack_from(
                "<BHHHHBBBHB", raw, 0)
            pos = 15
            if sound:
                pos += 3                                   # person/repeat, volume, speed
                if sound == 2:
                    (slen,) = struct.unpack_from("<I", raw, pos)
                    pos += 4 + slen
            ext_len = raw[pos]
            extension = raw[pos + 1: pos + 1 + ext_len]
            pos += 1 + ext_len
            align, single, newline, disp, exit_mode, speed, stay = raw[pos: pos + 7]
            pos += 7
            (dlen,) = struct.unpack_from("<I", raw, pos)
            pos += 4
        except (struct.error, IndexError, ValueError) as exc:
            raise FrameError("length", f"area data too short: {exc}") from exc
        data = raw[pos: pos + dlen]
        if len(data) != dlen or pos + dlen != len(raw):
            raise FrameError("length", f"area text length {dlen} does not match the area data")

        def unit(v: int) -> int:
            return v & 0x7FFF if v & 0x8000 else v * 8   # high bit: pixels; otherwise 8-pixel bytes

        return cls(area_id=area_id, x=unit(x), y=y, width=unit(w), height=h, data=bytes(data),
                   area_type=area_type, line_spacing=spacing, run_mode=run_mode, timeout=timeout, align=align,
                   single_line=single, new_line=newline, display_mode=disp, exit_mode=exit_mode, speed=speed,
                   stay_time=stay, extension=bytes(extension))


def dynamic_area_data(areas: Sequence[DynamicArea], *, delete: Sequence[int] | str = (),
                      response: bool = True, process_mode: int = 0) -> bytes:
    """The data field of `A3 06` (send real-time area data). `delete="all"` drops every dynamic area first."""
    if delete == "all":
        delete_part = b"\xff"
    else:
        ids = [int(i) for i in delete]
        delete_part = bytes([len(ids), *ids])
    body = bytearray(delete_part)
    body.append(len(areas))
    for area in areas:
        enc = area.encode()
        body += struct.pack("<H", len(enc)) + enc
    return request_data(GROUP_DISPLAY, CMD_DYNAMIC_AREA, bytes(body), response=response,
                        reserved=bytes([process_mode, 0]))


@dataclass(frozen=True)
class DynamicUpdate:
    delete_all: bool
    delete: tuple[int, ...]
    areas: tuple[DynamicArea, ...]
    process_mode: int


def parse_dynamic_area_data(data: bytes) -> DynamicUpdate:
    """Inverse of `dynamic_area_data` (the emulator's side)."""
    if len(data) < 7 or data[0] != GROUP_DISPLAY or data[1] != CMD_DYNAMIC_AREA:
        raise FrameError("length", "not a dynamic area command")
    process_mode = data[3]
    pos = 5
    n_delete = data[pos]
    pos += 1
    delete_all = n_delete == 0xFF
    delete: tuple[int, ...] = ()
    if not delete_all:
        delete = tuple(data[pos: pos + n_delete])
        pos += n_delete
    if pos >= len(data):
        raise FrameError("length", "area count missing")
    n_areas = data[pos]
    pos += 1
    areas = []
    for _ in range(n_areas):
        if pos + 2 > len(data):
            raise FrameError("length", "area length missing")
        (alen,) = struct.unpack_from("<H", data, pos)
        pos += 2
        chunk = data[pos: pos + alen]
        if len(chunk) != alen:
            raise FrameError("length", "area data cut short")
        areas.append(DynamicArea.decode(chunk))
        pos += alen
    if pos != len(data):
        raise FrameError("length", f"{len(data) - pos} stray bytes after the areas")
    return DynamicUpdate(delete_all, delete, tuple(areas), process_mode)


# ----------------------------------------------------------------------- text
# Characters people type that Python's GB2312 table maps elsewhere: the middle
# dot of minority names (买买提·艾力) and the em dash sit at A1A4 / A1AA as
# U+30FB / U+2015, so send those instead of a replacement box.
_GB2312_ALIASES = {"·": "・", "—": "―", "–": "-", "‐": "-", "﹣": "-", "～": "～", "•": "・", "¥": "￥"}
FALLBACK_CHAR = "□"


@dataclass(frozen=True)
class EncodedText:
    data: bytes
    replaced: tuple[str, ...] = ()     # characters the screen cannot show, in order of appearance


def encode_text(text: str, *, fallback: str = FALLBACK_CHAR, color: str | None = None,
                font_px: int | None = None) -> EncodedText:
    """GB2312 bytes for a dynamic area, with the card's in-band codes.

    A backslash would start a control code on the card (\\F font, \\C colour,
    \\n line break…), so a literal one becomes a full-width "＼". Control
    characters are dropped, line breaks become the card's `\\n` code. A
    character GB2312 lacks (rare name characters such as 镕, emoji, €) is
    tried in its NFKC form, then replaced by `fallback` and reported.
    """
    fb = fallback.encode("gb2312") if fallback else b""
    out = bytearray()
    if font_px is not None and font_px in FONT_FILES:
        cn, en = FONT_FILES[font_px]
        out += f"\\F{cn}\\F{en}".encode("ascii")
    if color:
        code = COLOR_CODES.get(color, color if color in "1234567" and len(color) == 1 else "")
        if code:
            out += f"\\C{code}".encode("ascii")
    replaced: list[str] = []
    for ch in text:
        if ch == "\n":
            out += b"\\n"
            continue
        if ch == "\\":
            ch = "＼"
        elif ch in _GB2312_ALIASES:
            ch = _GB2312_ALIASES[ch]
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        try:
            out += ch.encode("gb2312")
            continue
        except UnicodeEncodeError:
            pass
        norm = unicodedata.normalize("NFKC", ch)
        try:
            if norm != ch and "\\" not in norm:
                out += norm.encode("gb2312")
                continue
        except UnicodeEncodeError:
            pass
        replaced.append(ch)
        out += fb
    return EncodedText(bytes(out), tuple(replaced))


@dataclass(frozen=True)
class ShownText:
    text: str
    color: str | None = None
    fonts: tuple[str, ...] = ()


_COLOR_NAMES = {v: k for k, v in COLOR_CODES.items()}


def decode_text(data: bytes) -> ShownText:
    """What a dynamic area's bytes look like when lit: codes stripped, colour and fonts noted."""
    text = data.decode("gb2312", errors="replace")
    out: list[str] = []
    color: str | None = None
    fonts: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            code = text[i + 1]
            if code == "n":
                out.append("\n")
                i += 2
                continue
            if code == "C" and i + 2 < len(text):
                color = _COLOR_NAMES.get(text[i + 2], text[i + 2])
                i += 3
                continue
            if code == "F" and i + 6 <= len(text):
                fonts.append(text[i + 2: i + 6])
                i += 6
                continue
            if code == "D" and i + 2 < len(text):
                out.append({"S": "ss", "M": "mm", "H": "HH", "D": "DD", "L": "MM", "Y": "YYYY",
                            "W": "星期"}.get(text[i + 2], ""))
                i += 3
                continue
        out.append(ch)
        i += 1
    return ShownText("".join(out), color, tuple(fonts))


def text_width(text: str, font_px: int = 16) -> int:
    """Pixels a line takes on a font card: full-width glyphs are square, ASCII half as wide."""
    w = 0
    for ch in text:
        if ch == "\n":
            continue
        w += font_px // 2 if ord(ch) < 0x80 else font_px
    return w


# ----------------------------------------------------- vendor-neutral interface
@dataclass(frozen=True)
class AreaSpec:
    """A rectangle of a screen and the text it should show (pixels, origin top left)."""

    id: int
    x: int
    y: int
    width: int
    height: int
    text: str
    scroll: bool | None = None      # None: scroll only when the text is wider than the area
    align: str = "left"             # left | center | right
    color: str | None = None
    font_px: int | None = None


@dataclass(frozen=True)
class EncodedUpdate:
    frame: bytes
    area_ids: tuple[int, ...]
    replaced: tuple[str, ...] = ()


class ReplyDecoder(Protocol):
    def feed(self, data: bytes) -> list[Reply]: ...

    def needed(self) -> int: ...


class ScreenProtocol(Protocol):
    """What a screen vendor's protocol must provide to the LED device worker."""

    name: str
    replies: bool        # the screen answers every frame (ACK/NACK); False for write-only strips
    max_areas: int

    def render_area(self, spec: AreaSpec) -> bytes:
        """The bytes that describe one area: equal bytes mean the screen already shows it."""
        ...

    def update_frames(self, specs: Sequence[AreaSpec], *, replace_all: bool = False) -> list[EncodedUpdate]:
        """Frames that make the screen show `specs`; `replace_all` first drops every other area."""
        ...

    def ping_frame(self) -> bytes | None:
        """A cheap frame the screen answers, or None when the protocol has none."""
        ...

    def reply_decoder(self) -> ReplyDecoder: ...


class _OnbonReplyDecoder:
    def __init__(self) -> None:
        self.frames = FrameDecoder()
        self.bad_frames = 0

    def feed(self, data: bytes) -> list[Reply]:
        replies = []
        for item in self.frames.feed(data):
            if isinstance(item, FrameError):
                self.bad_frames += 1
            else:
                replies.append(parse_reply(item))
        return replies

    def needed(self) -> int:
        return self.frames.needed()


@dataclass
class OnbonBx5k:
    """Onbon BX-5K/6K font cards (字库卡): dynamic areas over `A3 06`, ACK/NACK replies."""

    address: int = ADDR_BROADCAST_REPLY
    device_type: int = DEVICE_ANY
    max_areas: int = 5                 # BX-6K: 5 dynamic areas (BX-5K: 8)
    max_packet: int = 512              # data bytes per frame: safe for the 5K's 512-byte buffer
    run_mode: int = 1                  # stay on the last page: a call stays lit until replaced
    timeout: int = 10                  # only used by run mode 2; the vendor's examples send 10
    speed: int = 2
    stay_time: int = 10
    name: str = "onbon"
    replies: bool = True
    fallback: str = FALLBACK_CHAR

    def to_dynamic(self, spec: AreaSpec) -> tuple[DynamicArea, tuple[str, ...]]:
        if not 0 <= spec.id < self.max_areas:
            raise ValueError(f"区域号 {spec.id} 超出控制卡支持的 {self.max_areas} 个动态区")
        enc = encode_text(spec.text, fallback=self.fallback, color=spec.color, font_px=spec.font_px)
        font = spec.font_px or 16
        scroll = spec.scroll if spec.scroll is not None else text_width(spec.text, font) > spec.width
        align = {"left": 0, "right": 1, "center": 2}.get(spec.align, 0) | 0x08   # vertically centred
        area = DynamicArea(
            area_id=spec.id, x=spec.x, y=spec.y, width=spec.width, height=spec.height, data=enc.data,
            run_mode=0 if scroll else self.run_mode, timeout=self.timeout, align=0 if scroll else align,
            single_line=0x01, new_line=0x01, display_mode=SHOW_SCROLL_LEFT if scroll else SHOW_STATIC,
            speed=self.speed if not scroll else 4, stay_time=0 if scroll else self.stay_time,
        )
        return area, enc.replaced

    def render_area(self, spec: AreaSpec) -> bytes:
        return self.to_dynamic(spec)[0].encode()

    def frame(self, data: bytes) -> bytes:
        return encode_packet(data, dst=self.address, device_type=self.device_type)

    def update_frames(self, specs: Sequence[AreaSpec], *, replace_all: bool = False) -> list[EncodedUpdate]:
        updates: list[EncodedUpdate] = []
        batch: list[tuple[DynamicArea, tuple[str, ...]]] = []
        size = 0

        def flush() -> None:
            nonlocal size
            first = replace_all and not updates
            data = dynamic_area_data([a for a, _ in batch], delete="all" if first else ())
            replaced = tuple(ch for _, r in batch for ch in r)
            updates.append(EncodedUpdate(self.frame(data), tuple(a.area_id for a, _ in batch), replaced))
            batch.clear()
            size = 0

        for spec in specs:
            area, replaced = self.to_dynamic(spec)
            n = len(area.encode()) + 2
            if batch and size + n + 8 > self.max_packet:
                flush()
            batch.append((area, replaced))
            size += n
        if batch or (replace_all and not updates):
            flush()
        return updates

    def ping_frame(self) -> bytes:
        return self.frame(ping_data())

    def reply_decoder(self) -> _OnbonReplyDecoder:
        return _OnbonReplyDecoder()


# name → (class, defaults). "onbon" fits both card generations: 5 dynamic areas (6K) and
# 512-byte packets (5K); name the generation to use the 5K's 8 areas or the 6K's 1 KB buffer.
PROTOCOLS: dict[str, tuple[type[OnbonBx5k], dict[str, int]]] = {
    "onbon": (OnbonBx5k, {"max_areas": 5, "max_packet": 512}),
    "onbon-bx5k": (OnbonBx5k, {"max_areas": 8, "max_packet": 512}),
    "onbon-bx6k": (OnbonBx5k, {"max_areas": 5, "max_packet": 1000}),
}


def make_protocol(name: str, options: Mapping[str, object]) -> ScreenProtocol:
    """Build the named protocol from a device's options (address, device_type, max_areas, max_packet…)."""
    entry = PROTOCOLS.get(name)
    if entry is None:
        known = "、".join(sorted(PROTOCOLS))
        raise ValueError(f"未知的显示屏协议 {name!r}（支持：{known}）")
    cls, defaults = entry
    kw: dict[str, object] = dict(defaults)
    for key in ("address", "device_type", "max_areas", "max_packet", "speed", "stay_time"):
        if key in options:
            kw[key] = int_option(options, key, 0, what="LED 选项")
    if "fallback" in options:
        kw["fallback"] = str(options["fallback"])
    proto = cls(**kw)  # type: ignore[arg-type]
    proto.name = name
    return proto
