"""Reads an ESC/POS byte stream back into readable text, the way the paper would look.

Used by the printer emulator (the technician page shows "the last printed
tickets as rendered text") and by tests that read a printed ticket back.
The parser is incremental: bytes may arrive in any chunking (a TCP segment or
a slow serial line can split a command or a hanzi), and an incomplete command
simply waits for more bytes.

What it understands: ESC @ ! E - a d J t 2 3 M G V { p c, FS & . ! - C,
GS ! V B ( k (QR store/print) v 0 (raster image at its printed scale, decoded back to the
QR text with zxing-cpp when available) L W H f h w k, DLE EOT n / DLE ENQ / DLE DC4,
LF CR HT FF, and text: ASCII, and GB18030 (2- and 4-byte) in Chinese mode.
Anything else is skipped and counted, never crashes the reader.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from hall.drivers.printer.ticket import display_width

CUT_MARK = "✂------------------- 切纸 -------------------"
NEED_MORE = -1
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


@dataclass
class Job:
    """One piece of paper: everything between two cuts (or two ESC @ with content between)."""

    lines: list[str] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)
    cut: bool = False
    qr: list[str] = field(default_factory=list)
    images: int = 0
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    finished_mono: float | None = None   # time.monotonic() at the cut, for latency measurements
    paper_out: bool = False              # paper ran out while this job came in: nothing came out

    @property
    def text(self) -> str:
        body = list(self.lines)
        while body and not body[-1].strip():
            body.pop()
        if self.paper_out:
            body.insert(0, "（缺纸：此单未出纸）")
        if self.cut:
            body.append(CUT_MARK)
        return "\n".join(body)

    def has_content(self) -> bool:
        return any(line.strip() for line in self.lines) or bool(self.qr) or self.images > 0

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "bytes": len(self.raw), "cut": self.cut, "qr": list(self.qr),
                "paper_out": self.paper_out, "started_at": self.started_at, "finished_at": self.finished_at}


class EscposReader:
    """Feed bytes; completed jobs land in `jobs`, status requests in the returned list."""

    def __init__(self, columns: int = 42, *, chinese_default: bool = True,
                 decode_images: bool = True) -> None:
        self.columns = columns
        self.chinese_default = chinese_default
        self.decode_images = decode_images
        self.jobs: list[Job] = []
        self.unknown = 0
        self._buf = bytearray()
        self._job = Job()
        self._reset_modes()
        self._qr_data = b""
        self._closed_by_cut = False

    # ------------------------------------------------------------------ public
    def feed(self, data: bytes) -> list[int]:
        """Consume bytes; returns the DLE EOT n requests seen, in order, for the caller to answer."""
        self._buf += data
        requests: list[int] = []
        while self._buf:
            job = self._job
            used = self._step(requests)
            if used == NEED_MORE:
                break
            # A cut belongs to the job it ends; an ESC @ that closed a job belongs to the next one.
            target = job if (self._job is job or self._closed_by_cut) else self._job
            target.raw += self._buf[:used]
            del self._buf[:used]
        return requests

    @property
    def current(self) -> Job:
        return self._job

    def flush(self) -> Job | None:
        """Close the job in progress (no cut came): used when a connection ends."""
        while self._buf:                   # a last line without LF, or a command cut short
            b0 = self._buf[0]
            used = (self._multibyte() if b0 >= 0x80 else self._ascii()) if b0 >= 0x20 else len(self._buf)
            if used == NEED_MORE:
                used = len(self._buf)
                self.unknown += 1
            self._job.raw += self._buf[:used]
            del self._buf[:used]
        self._end_line(force=False)
        if self._job.has_content():
            return self._close_job(cut=False)
        return None

    # ------------------------------------------------------------------ state
    def _reset_modes(self) -> None:
        self.chinese = self.chinese_default
        self.align = 0
        self.bold = False
        self.width = self.height = 1
        self._line: list[tuple[str, int]] = []   # (text, width multiplier)
        self._line_align = 0

    def _close_job(self, *, cut: bool) -> Job:
        self._closed_by_cut = cut
        job = self._job
        job.cut = cut
        job.finished_at = time.time()
        job.finished_mono = time.monotonic()
        self.jobs.append(job)
        self._job = Job()
        return job

    def _text(self, s: str) -> None:
        if not self._line:
            self._line_align = self.align
        self._line.append((s, self.width))

    def _end_line(self, force: bool = True) -> None:
        if not self._line and not force:
            return
        content = "".join(s for s, _ in self._line)
        width = sum(display_width(s) * w for s, w in self._line)
        pad = 0
        if self._line_align == 1:
            pad = max(0, (self.columns - width) // 2)
        elif self._line_align == 2:
            pad = max(0, self.columns - width)
        self._job.lines.append(" " * pad + content if content else "")
        self._line = []

    def _centered(self, s: str) -> str:
        pad = max(0, (self.columns - display_width(s)) // 2) if self.align == 1 else 0
        return " " * pad + s

    # ------------------------------------------------------------------ parsing
    def _step(self, requests: list[int]) -> int:
        b = self._buf
        c = b[0]
        if c == 0x0A:       # LF
            self._end_line()
            return 1
        if c == 0x0C:       # FF (standard mode: print and return)
            self._end_line(force=False)
            return 1
        if c == 0x09:
            self._text("    ")
            return 1
        if c == 0x10:
            return self._dle(requests)
        if c == 0x1B:
            return self._esc()
        if c == 0x1C:
            return self._fs()
        if c == 0x1D:
            return self._gs()
        if c < 0x20 or c == 0x7F:
            return 1        # CR and other controls: nothing visible
        if c < 0x80 or self.chinese:
            return self._text_run()
        return self._multibyte()

    def _text_run(self) -> int:
        """Text up to the next control byte, decoded in one go (a line of a ticket ends with LF)."""
        b = self._buf
        m = _CONTROL.search(b)
        if m is None:
            if len(b) < 512:
                return NEED_MORE            # the rest of the line (or of a hanzi) is still on its way
            return self._multibyte() if b[0] >= 0x80 else self._ascii()
        end = m.start()
        run = bytes(b[:end])
        if run.isascii():
            self._text(run.decode("ascii"))
        else:
            text = run.decode("gb18030", "replace")
            self.unknown += text.count("\ufffd")
            self._text(text)
        return end

    def _ascii(self) -> int:
        b = self._buf
        end = 1
        while end < len(b) and 0x20 <= b[end] < 0x7F:
            end += 1
        self._text(b[:end].decode("ascii", "replace"))
        return end

    def _multibyte(self) -> int:
        b = self._buf
        if not self.chinese:
            self._text("\ufffd")
            self.unknown += 1
            return 1
        if len(b) < 2:
            return NEED_MORE
        n = 4 if 0x30 <= b[1] <= 0x39 else 2
        if len(b) < n:
            return NEED_MORE
        try:
            ch = bytes(b[:n]).decode("gb18030")
        except UnicodeDecodeError:
            self.unknown += 1
            self._text("\ufffd")
            return 1
        self._text(ch)
        return n

    def _need(self, n: int) -> bool:
        return len(self._buf) >= n

    def _dle(self, requests: list[int]) -> int:
        b = self._buf
        if not self._need(2):
            return NEED_MORE
        if b[1] in (0x04, 0x05):          # DLE EOT n: real-time status; DLE ENQ n: real-time request
            if not self._need(3):
                return NEED_MORE
            if b[1] == 0x04:
                requests.append(b[2])
            return 3
        if b[1] == 0x14:                  # DLE DC4 fn m t
            return 5 if self._need(5) else NEED_MORE
        self.unknown += 1
        return 1

    # dup-ok: ESC and GS (_gs below) are two ESC/POS command families read the same way; their commands differ
    def _esc(self) -> int:
        b = self._buf
        if not self._need(2):
            return NEED_MORE
        cmd = chr(b[1])
        if cmd == "@":
            self._end_line(force=False)
            if self._job.has_content():
                self._close_job(cut=False)
            self._reset_modes()
            return 2
        if cmd in "!E-aGdJeMt3{VR UrT=?%":
            if not self._need(3):
                return NEED_MORE
            n = b[2]
            if cmd == "!":
                self.bold = bool(n & 0x08)
                self.width = 2 if n & 0x20 else 1
                self.height = 2 if n & 0x10 else 1
            elif cmd == "E":
                self.bold = bool(n & 1)
            elif cmd == "a":
                self.align = n % 48 if n >= 48 else n
                self.align = self.align if self.align in (0, 1, 2) else 0
            elif cmd == "d":
                self._end_line(force=False)
                self._job.lines.extend([""] * n)
            return 3
        if cmd in "2<SLim":
            if cmd in "im":               # old-style cut commands
                self._end_line(force=False)
                self._close_job(cut=True)
            return 2
        if cmd in "c$\\B":
            return 4 if self._need(4) else NEED_MORE
        if cmd == "p":
            return 5 if self._need(5) else NEED_MORE
        if cmd == "W":
            return 10 if self._need(10) else NEED_MORE
        if cmd == "D":                    # tab positions, NUL terminated (at most 32)
            end = b.find(b"\x00", 2)
            if end < 0:
                return NEED_MORE if len(b) < 35 else 2
            return end + 1
        if cmd == "*":                    # column bit image
            if not self._need(5):
                return NEED_MORE
            cols = b[3] + 256 * b[4]
            size = 5 + cols * (3 if b[2] in (32, 33) else 1)
            if not self._need(size):
                return NEED_MORE
            self._job.images += 1
            return size
        self.unknown += 1
        return 2

    def _fs(self) -> int:
        b = self._buf
        if not self._need(2):
            return NEED_MORE
        cmd = chr(b[1])
        if cmd == "&":
            self.chinese = True
            return 2
        if cmd == ".":
            self.chinese = False
            return 2
        if cmd in "!-CW":
            return 3 if self._need(3) else NEED_MORE
        if cmd in "Sp":
            return 4 if self._need(4) else NEED_MORE
        self.unknown += 1
        return 2

    # dup-ok: GS and ESC (_esc above) are two ESC/POS command families read the same way; their commands differ
    def _gs(self) -> int:
        b = self._buf
        if not self._need(2):
            return NEED_MORE
        cmd = chr(b[1])
        if cmd == "!":
            if not self._need(3):
                return NEED_MORE
            self.width = (b[2] >> 4) + 1
            self.height = (b[2] & 0x0F) + 1
            return 3
        if cmd == "V":
            if not self._need(3):
                return NEED_MORE
            size = 4 if b[2] in (65, 66, 97, 98, 103, 104) else 3
            if not self._need(size):
                return NEED_MORE
            self._end_line(force=False)
            self._close_job(cut=True)
            return size
        if cmd in "BHfhwbarI/":
            return 3 if self._need(3) else NEED_MORE
        if cmd in "LWP\\$":
            return 4 if self._need(4) else NEED_MORE
        if cmd == "^":
            return 5 if self._need(5) else NEED_MORE
        if cmd == "(":
            if not self._need(5):
                return NEED_MORE
            size = 5 + b[3] + 256 * b[4]
            if not self._need(size):
                return NEED_MORE
            if b[2] == ord("k"):
                self._two_d(bytes(b[5:size]))
            return size
        if cmd == "v":
            if not self._need(8):
                return NEED_MORE
            xbytes = b[4] + 256 * b[5]
            ydots = b[6] + 256 * b[7]
            size = 8 + xbytes * ydots
            if not self._need(size):
                return NEED_MORE
            self._image(xbytes, ydots, bytes(b[8:size]), mode=b[3])
            return size
        if cmd == "8":
            if not self._need(7):
                return NEED_MORE
            size = 7 + int.from_bytes(b[3:7], "little")
            return size if self._need(size) else NEED_MORE
        if cmd == "*":
            if not self._need(4):
                return NEED_MORE
            size = 4 + b[2] * b[3] * 8
            return size if self._need(size) else NEED_MORE
        if cmd == "k":
            if not self._need(3):
                return NEED_MORE
            if b[2] <= 6:
                end = b.find(b"\x00", 3)
                return end + 1 if end >= 0 else NEED_MORE
            if not self._need(4):
                return NEED_MORE
            size = 4 + b[3]
            return size if self._need(size) else NEED_MORE
        self.unknown += 1
        return 2

    def _two_d(self, body: bytes) -> None:
        # body = cn fn [m] data; cn '1' = QR. fn 'P' (80) stores data after m, fn 'Q' (81) prints it.
        if len(body) < 2 or body[0] != ord("1"):
            return
        fn = body[1]
        if fn == 80:
            self._qr_data = body[3:]
        elif fn == 81:
            self._end_line(force=False)
            text = self._qr_data.decode("utf-8", "replace")
            self._job.qr.append(text)
            self._job.lines.append(self._centered(f"[二维码] {text}"))

    def _image(self, xbytes: int, ydots: int, data: bytes, mode: int = 0) -> None:
        # GS v 0 m: m & 1 prints every dot twice as wide, m & 2 twice as tall (as on paper)
        sx, sy = (2 if mode & 1 else 1), (2 if mode & 2 else 1)
        self._end_line(force=False)
        self._job.images += 1
        text = self._decode_qr_image(xbytes, ydots, data, sx, sy) if self.decode_images else None
        if text is not None:
            self._job.qr.append(text)
            self._job.lines.append(self._centered(f"[二维码图片] {text}"))
        else:
            self._job.lines.append(self._centered(f"[图片 {xbytes * 8 * sx}×{ydots * sy} 点]"))

    @staticmethod
    def _decode_qr_image(xbytes: int, ydots: int, data: bytes, sx: int = 1, sy: int = 1) -> str | None:
        try:
            import zxingcpp
            from PIL import Image, ImageOps
        except ImportError:
            return None
        img = Image.frombytes("1", (xbytes * 8, ydots), data)
        if (sx, sy) != (1, 1):
            img = img.resize((xbytes * 8 * sx, ydots * sy), Image.Resampling.NEAREST)
        img = ImageOps.expand(ImageOps.invert(img.convert("L")), border=16, fill=255)  # 1 bits are black dots
        try:
            found = zxingcpp.read_barcodes(img)
        except Exception:
            return None
        return found[0].text if found else None


def render(data: bytes, columns: int = 42, *, chinese_default: bool = True) -> list[Job]:
    """All jobs in a complete byte string (the last one included even without a cut)."""
    reader = EscposReader(columns, chinese_default=chinese_default)
    reader.feed(data)
    reader.flush()
    return reader.jobs


def plain(s: str) -> str:
    """Collapse spaces, for tests that look for a phrase whatever the alignment."""
    return " ".join(unicodedata.normalize("NFC", s).split())
