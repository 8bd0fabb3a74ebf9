"""Onbon BX-5K/6K packet contents: dynamic areas (`A3 06`) and the GB2312 text they show; no I/O.

Dynamic areas live in the controller's RAM: they can be rewritten on every call
without wearing its flash. Text is GB2312; a character GB2312 lacks is replaced
(never a crash) and reported. The framing around these bytes is in `frame.py`.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from hall.drivers.led.frame import CMD_DYNAMIC_AREA, GROUP_DISPLAY, FrameError, request_data

# Dynamic-area display modes (区域数据格式 DisplayMode).
SHOW_STATIC = 0x01
SHOW_TYPE_OUT = 0x02
SHOW_SCROLL_LEFT = 0x03
COLOR_CODES = {"red": "1", "green": "2", "yellow": "3", "blue": "4", "cyan": "5", "magenta": "6", "white": "7"}
FONT_FILES = {16: ("O000", "E000"), 24: ("O001", "E001"), 32: ("O002", "E002")}


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
