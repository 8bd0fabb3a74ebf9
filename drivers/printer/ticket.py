"""The queue ticket: one template a hall can change, rendered to ESC/POS bytes.

The layout lives in a small line-based text template (the packaged
`ticket.txt` explains the markup). A hall changes it with the printer's
options: `template_file = "…"` or an inline multi-line `template = …`. The
template is parsed and test-rendered when the device is built, so a typo
fails at start with the line number, not at a citizen's first ticket.

Bytes are built with python-escpos's `Dummy` for the commands (init, style,
QR, cut), but text goes out as `text.encode("gb18030")` with the printer in
Chinese mode (`FS &`): python-escpos's own text path turns full-width
punctuation such as `，。：（）` into `?` when a string has no common hanzi
(python-escpos issues #491, #269, #190, #638).

Options (all optional) in the device's `options`:
  profile     python-escpos printer profile (default "default"; 58 mm: "POS-5890")
  columns     characters per line of font A (default: the profile's)
  qr          "native" (GS ( k, ~95 bytes) | "image" (raster at module resolution, ~0.6 KB) | "none";
              default: native when the profile declares it (python-escpos `qrCode`), else image.
              "native" on a profile without it prints the image QR (config check warns).
  qr_size     module size in dots, 1–16 (default 6 native, 4 image)
  qr_base     URL the QR points to, the ticket id is appended (default http://<server>/r/)
  cut         send a cut (default: the profile declares a cutter)
  cut_mode    "full" | "partial"
  template / template_file   the layout (default: the packaged ticket.txt)
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from hall.drivers.contracts import Redactor
from hall.drivers.options import bool_option, int_option
from hall.drivers.printer import load_escpos
from hall.drivers.printer.qr_image import qr_image_bytes

CHINESE_ON = b"\x1c\x26"    # FS &: select Chinese (double-byte) character mode
CHINESE_OFF = b"\x1c\x2e"   # FS .: cancel it
CUT_FULL = b"\x1dV\x00"     # GS V 0
CUT_PARTIAL = b"\x1dV\x01"  # GS V 1

FIELDS = (
    "hall_name", "number", "category", "category_name", "lane", "lane_label", "ahead", "wait_minutes",
    "wait_text", "issued_date", "issued_time", "issued_at", "no_show_rule", "qr_url", "ticket_id",
    "reprint_label", "holder_name",
)
LANE_LABELS = {"normal": "", "priority": "优先", "appointment": "预约"}

QrMode = Literal["native", "image", "none"]
# Image QR default: 4-dot modules (0.5 mm at 203 dpi) keep a ticket under 1.5 KB on the wire (qr_image).
IMAGE_QR_SIZE = 4
Align = Literal["left", "center", "right"]
Kind = Literal["text", "qr", "rule", "feed", "cut"]


class TemplateError(ValueError):
    """A ticket template the hall wrote cannot be used; the message names the line."""


# ------------------------------------------------------------------ template
@dataclass(frozen=True)
class Line:
    kind: Kind
    text: str = ""
    align: Align = "left"
    bold: bool = False
    width: int = 1
    height: int = 1
    when: str | None = None
    feed: int = 0
    lineno: int = 0


_TAG = re.compile(r"\[(center|left|right|bold|2x|3x|4x|wide|tall|qr|rule|cut|feed \d{1,2}|\?[a-z_]+)\]")


def parse_template(text: str, source: str = "template") -> list[Line]:
    lines: list[Line] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith("#"):
            continue
        rest = raw.rstrip()
        attrs: dict[str, Any] = {"kind": "text", "lineno": lineno}
        while (m := _TAG.match(rest)) is not None:
            tag = m.group(1)
            rest = rest[m.end():]
            if tag in ("center", "left", "right"):
                attrs["align"] = tag
            elif tag == "bold":
                attrs["bold"] = True
            elif tag in ("2x", "3x", "4x"):
                attrs["width"] = attrs["height"] = int(tag[0])
            elif tag == "wide":
                attrs["width"] = 2
            elif tag == "tall":
                attrs["height"] = 2
            elif tag.startswith("?"):
                attrs["when"] = tag[1:]
            elif tag.startswith("feed"):
                attrs["kind"], attrs["feed"] = "feed", int(tag.split()[1])
            else:
                attrs["kind"] = tag
        if rest.startswith("[") and _looks_like_tag(rest):
            raise TemplateError(f"{source} 第 {lineno} 行：不认识的标记 {rest.split(']')[0]}]")
        attrs["text"] = rest.strip() if attrs["kind"] == "qr" else rest
        if attrs["kind"] == "qr" and not attrs["text"]:
            raise TemplateError(f"{source} 第 {lineno} 行：[qr] 后面要写二维码内容，例如 {{qr_url}}")
        names = _field_names(attrs["text"], source, lineno) + ([attrs["when"]] if "when" in attrs else [])
        for name in names:
            if name not in FIELDS:
                raise TemplateError(
                    f"{source} 第 {lineno} 行：没有字段 {{{name}}}；可用字段：" + "、".join(FIELDS)
                )
        lines.append(Line(**attrs))
    if not any(ln.kind == "text" and "{number}" in ln.text for ln in lines):
        raise TemplateError(f"{source}：模板里必须有 {{number}}（号码）")
    return lines


def _looks_like_tag(s: str) -> bool:
    head = s.split("]")[0][1:]
    return "]" in s and bool(head) and head.isascii() and len(head) <= 12


def _field_names(fmt: str, source: str, lineno: int) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None]
    except ValueError as exc:
        raise TemplateError(
            f"{source} 第 {lineno} 行：花括号不成对（{exc}）；要印花括号请写 {{{{ 或 }}}}"
        ) from exc


def default_template_text() -> str:
    return resources.files("hall.drivers.printer").joinpath("ticket.txt").read_text("utf-8")


# ------------------------------------------------------------------ options
@dataclass(frozen=True)
class PrintOptions:
    profile: str = "default"
    columns: int = 42
    qr: QrMode = "native"
    qr_size: int = 6
    cut: bool = True
    cut_mode: Literal["full", "partial"] = "full"


def print_options(options: Mapping[str, Any]) -> PrintOptions:
    """Validate the printer's options (ValueError with a Chinese message on a bad value)."""
    load_escpos()
    from escpos.capabilities import get_profile

    name = str(options.get("profile", "default"))
    try:
        profile = get_profile(name)
    except KeyError:
        raise ValueError(
            f"打印机型号配置 profile = {name!r} 不存在（python-escpos 的 profile 名称）"
        ) from None
    native_ok = profile.supports("qrCode")
    qr = str(options.get("qr", "native" if native_ok else "image"))
    if qr not in ("native", "image", "none"):
        raise ValueError(f'打印机选项 qr 应为 "native"、"image" 或 "none"，而不是 {qr!r}')
    if qr == "native" and not native_ok:
        qr = "image"      # the profile says it cannot: a native QR would print nothing (config check warns)
    qr_size = int_option(options, "qr_size", 6 if qr == "native" else IMAGE_QR_SIZE, what="打印机选项")
    if not 1 <= qr_size <= 16:
        raise ValueError(f"打印机选项 qr_size 应在 1–16 之间，而不是 {qr_size}")
    has_cutter = profile.supports("paperFullCut") or profile.supports("paperPartCut")
    cut = bool_option(options, "cut", has_cutter, what="打印机选项")
    cut_mode = str(options.get("cut_mode", "full"))
    if cut_mode not in ("full", "partial"):
        raise ValueError(f'打印机选项 cut_mode 应为 "full" 或 "partial"，而不是 {cut_mode!r}')
    columns = int_option(options, "columns", profile.get_columns("a"), what="打印机选项")
    if not 16 <= columns <= 80:
        raise ValueError(f"打印机选项 columns 应在 16–80 之间，而不是 {columns}")
    return PrintOptions(profile=name, columns=columns, qr=qr, qr_size=qr_size, cut=cut,  # type: ignore[arg-type]
                        cut_mode=cut_mode)  # type: ignore[arg-type]


def qr_profile_warning(options: Mapping[str, Any]) -> str | None:
    """`qr = "native"` on a profile without native QR: what the hall gets instead, for `config check`."""
    load_escpos()
    from escpos.capabilities import get_profile

    name = str(options.get("profile", "default"))
    try:
        profile = get_profile(name)
    except KeyError:
        return None          # print_options reports the unknown profile as an error
    if str(options.get("qr", "")) == "native" and not profile.supports("qrCode"):
        return (f'qr = "native" 与打印机型号 profile = "{name}" 不符（该型号不支持原生二维码），'
                "将自动改用图片二维码；若打印机确实支持原生二维码，请选用声明支持的 profile")
    return None


# ------------------------------------------------------------------ fields
def _fmt_time(iso_text: str) -> tuple[str, str]:
    try:
        dt = datetime.fromisoformat(iso_text)
    except (TypeError, ValueError):
        return "", ""
    return dt.strftime("%Y-%m-%d"), dt.strftime("%H:%M")


def ticket_fields(payload: Mapping[str, Any], *, hall_name: str, qr_base: str,
                  reprint_label: str = "", qr_path: Callable[[int], str] | None = None) -> dict[str, Any]:
    """Template fields from a `ticket.issued` payload (IssueResult.as_dict()).

    `qr_path(ticket_id)` gives the signed path of the phone rating page ("/r/<token>"), so a
    ticket's QR cannot be guessed from another's; without it the id is appended to `qr_base`.
    """
    ticket = payload.get("ticket") or {}
    ticket_id = ticket.get("id", payload.get("id", ""))
    ahead = int(payload.get("ahead", 0))
    wait = int(payload.get("wait_minutes", 0))
    day, hm = _fmt_time(str(payload.get("issued_at", "")))
    lane = str(payload.get("lane", "normal"))
    return {
        "hall_name": hall_name,
        "number": str(payload.get("number", "")),
        "category": str(payload.get("category", "")),
        "category_name": str(payload.get("category_name", "")),
        "lane": lane,
        "lane_label": LANE_LABELS.get(lane, ""),
        "ahead": ahead,
        "wait_minutes": wait,
        "wait_text": "无需等候，请留意叫号" if ahead == 0 else f"约 {max(wait, 1)} 分钟",
        "issued_date": day,
        "issued_time": hm,
        "issued_at": f"{day} {hm}".strip(),
        "no_show_rule": str(payload.get("no_show_rule", "")),
        "qr_url": _qr_url(qr_base, ticket_id, qr_path),
        "ticket_id": ticket_id,
        "reprint_label": reprint_label,
        "holder_name": str(payload.get("holder_name") or ""),   # masked (张*) by the service; never a number
    }


def _qr_url(qr_base: str, ticket_id: Any, qr_path: Callable[[int], str] | None) -> str:
    base = qr_base[:-3] if qr_base.endswith("/r/") else qr_base.rstrip("/")
    if ticket_id == 0:
        # the technician's test ticket: its QR opens the hall's start page, so scanning it with a phone on
        # the hall Wi-Fi proves the public address works (commissioning), without a rating link
        return base + "/"
    if qr_path is not None and isinstance(ticket_id, int) and ticket_id > 0:
        return base + qr_path(ticket_id)
    return f"{qr_base}{ticket_id}"


def sample_fields(hall_name: str, qr_base: str, now: datetime) -> dict[str, Any]:
    """Fields for the technician's test ticket: the real layout, clearly not a valid number."""
    payload = {
        "ticket": {"id": 0}, "number": "A000", "category": "A", "category_name": "打印测试（样张）",
        "lane": "normal", "ahead": 3, "wait_minutes": 18, "issued_at": now.isoformat(),
        "no_show_rule": "过号后顺延3位重新排队",
    }
    return ticket_fields(payload, hall_name=hall_name, qr_base=qr_base,
                         reprint_label="测试小票，非有效号码：，。：；（）《》【】！？")


# ------------------------------------------------------------------ text helpers
def _char_width(ch: str) -> int:
    return 1 if ch < "\u1100" else (2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1)


def display_width(s: str) -> int:
    return len(s) if s.isascii() else sum(_char_width(ch) for ch in s)


# Punctuation a Chinese line must not start with (避头点); the hanzi before it moves down with it.
_NO_LINE_START = set("，。、；：！？）》】」』”’·…%,.;:!?)]")


def wrap(s: str, cols: int) -> list[str]:
    """Split into lines of at most `cols` display columns (a hanzi counts two)."""
    cols = max(cols, 4)
    if len(s) * 2 <= cols:
        return [s]
    out: list[str] = []
    cur, width = "", 0
    for ch in s:
        w = _char_width(ch)
        if width + w > cols and cur:
            carry, head = "", ch
            while head in _NO_LINE_START and len(cur) > 1:   # e.g. "意）" moves down before "，"
                cur, carry = cur[:-1], cur[-1] + carry
                head = carry[0]
            out.append(cur)
            cur, width = carry, display_width(carry)
        cur += ch
        width += w
    out.append(cur)
    return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")   # Unicode category Cc


def clean(s: str, redact: Redactor) -> str:
    """Printable text only: no control bytes (they would be printer commands), ID/phone numbers masked."""
    return redact(_CONTROL.sub("", s))


# ------------------------------------------------------------------ rendering
@dataclass
class TicketLayout:
    """A parsed template plus the printer's options: everything needed to build ticket bytes.

    `redact` is the app's masking rule, required so no caller can build a layout that
    prints an ID or phone number by forgetting it."""

    lines: list[Line]
    options: PrintOptions
    hall_name: str
    qr_base: str
    redact: Redactor
    source: str = "ticket.txt"
    _checked: bool = field(default=False, repr=False)
    qr_path: Callable[[int], str] | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, hall_name: str,
                     default_qr_base: str, redact: Redactor) -> TicketLayout:
        if "template" in options and "template_file" in options:
            raise ValueError("打印机选项 template 和 template_file 只能二选一")
        if "template" in options:
            text, source = str(options["template"]), "options.template"
        elif "template_file" in options:
            path = Path(str(options["template_file"]))
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"小票模板 {path} 读取失败：{exc}") from exc
            source = str(path)
        else:
            text, source = default_template_text(), "ticket.txt"
        qr_base = str(options.get("qr_base", default_qr_base))
        layout = cls(parse_template(text, source), print_options(options), hall_name, qr_base, redact, source)
        layout.check()
        return layout

    def check(self) -> None:
        """Render a sample once, so format errors ({ahead:d} on text…) surface at start."""
        try:
            self.render(sample_fields(self.hall_name, self.qr_base, datetime(2026, 1, 5, 9, 0)))
        except (KeyError, ValueError, IndexError) as exc:
            raise TemplateError(f"{self.source}：模板无法生成小票：{exc}") from exc

    def render(self, fields: Mapping[str, Any]) -> bytes:
        return encode(self.lines, fields, self.options, self.redact)

    def ticket(self, payload: Mapping[str, Any], *, reprint: bool = False) -> bytes:
        return self.render(ticket_fields(payload, hall_name=self.hall_name, qr_base=self.qr_base,
                                         reprint_label="补打" if reprint else "", qr_path=self.qr_path))

    def test_page(self, now: datetime) -> bytes:
        return self.render(sample_fields(self.hall_name, self.qr_base, now))


class _Style:
    """Sends style commands only when they change (fewer bytes on a 9600-baud line)."""

    def __init__(self, p: Any) -> None:
        self.p = p
        self.align, self.bold, self.size = "left", False, (1, 1)   # the state after ESC @

    def apply(self, align: str, bold: bool, width: int, height: int) -> None:
        if align != self.align:
            self.p.set(align=align)
            self.align = align
        if bold != self.bold:
            self.p.set(bold=bold)
            self.bold = bold
        if (width, height) != self.size:
            # GS ! n for every size, 1×1 included: python-escpos's normal_textsize sends only ESC ! 0.
            self.p.set(custom_size=True, width=width, height=height)
            self.size = (width, height)


def encode(lines: list[Line], fields: Mapping[str, Any], opts: PrintOptions, redact: Redactor) -> bytes:
    load_escpos()
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    p = Dummy(profile=opts.profile)
    _known_width(p, opts)
    p.hw("INIT")                      # ESC @: a clean state for every ticket
    p._raw(CHINESE_ON)
    style = _Style(p)
    cut_sent = False
    for line in lines:
        if line.when is not None and not fields.get(line.when):
            continue
        if line.kind == "text":
            text = clean(line.text.format_map(fields), redact)
            style.apply(line.align, line.bold, line.width, line.height)
            for chunk in wrap(text, max(2, opts.columns // line.width)):
                p._raw(chunk.encode("gb18030") + b"\n")
        elif line.kind == "rule":
            style.apply("left", False, 1, 1)
            p._raw(b"-" * opts.columns + b"\n")
        elif line.kind == "feed":
            p.print_and_feed(line.feed)
        elif line.kind == "qr":
            if opts.qr == "none":
                continue
            payload = clean(line.text.format_map(fields), redact)
            style.apply(line.align, False, 1, 1)   # ESC a also places the QR symbol
            if opts.qr == "native":
                p.qr(payload, native=True, size=opts.qr_size, ec=QR_ECLEVEL_M)
                p._raw(b"\n")
            else:
                p._raw(qr_image_bytes(payload, opts.qr_size))
        elif line.kind == "cut":
            _cut(p, opts)
            cut_sent = cut_sent or opts.cut
    if opts.cut and not cut_sent:
        _cut(p, opts)
    out: bytes = p.output
    return out


def _known_width(p: Any, opts: PrintOptions) -> None:
    """Give profiles without a pixel width one (12-dot font A × columns), on this instance only.

    python-escpos `print()`s a warning to stdout for every image on such profiles; the profile data is
    shared by all instances, so this instance gets a patched copy (made once per profile and width).
    """
    p.profile.profile_data = _profile_data(opts.profile, opts.columns, p.profile.profile_data)


_PROFILE_DATA: dict[tuple[str, int], dict[str, Any]] = {}


def _profile_data(name: str, columns: int, shared: dict[str, Any]) -> dict[str, Any]:
    key = (name, columns)
    data = _PROFILE_DATA.get(key)
    if data is None:
        media = shared.get("media", {})
        width = media.get("width", {})
        data = shared
        if str(width.get("pixels", "Unknown")) == "Unknown":
            data = {**shared, "media": {**media, "width": {**width, "pixels": columns * 12}}}
        _PROFILE_DATA[key] = data
    return data


def _cut(p: Any, opts: PrintOptions) -> None:
    if not opts.cut:
        p.print_and_feed(4)          # no cutter: feed past the tear bar
        return
    before = len(p.output)
    p.cut(mode="PART" if opts.cut_mode == "partial" else "FULL")
    if not p.output[before:].endswith((CUT_FULL, CUT_PARTIAL)):
        # The profile declares no cutter, so python-escpos sent only the feed: cut anyway, as configured.
        if len(p.output) == before:
            p.print_and_feed(6)
        p._raw(CUT_PARTIAL if opts.cut_mode == "partial" else CUT_FULL)
