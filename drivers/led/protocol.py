"""LED screen protocols: pure byte encoding and decoding, no I/O.

The hall's main board and window screens are driven through a small
vendor-neutral interface, `ScreenProtocol`: the device worker hands it
`AreaSpec`s (a rectangle and the text it should show) and gets back the
frames to write; replies are fed to the protocol's `ReplyDecoder`. A new
vendor's window strip is added by implementing that interface and
registering it in `PROTOCOLS`; the worker, the event handling and the
diagnostics stay as they are.

The one protocol shipped is Onbon's BX-5K/6K font-card protocol
("BX-5K/6K通讯协议用户版本", onbon-docs/docs/zh/k/potocol.md); its wire
layout is drawn at the top of `frame.py`.

Text goes to dynamic areas (`A3 06`), which live in RAM: they can be
rewritten on every call without wearing the controller's flash. Text is
GB2312; a character GB2312 lacks is replaced (never a crash) and reported.

This module holds the interface and the Onbon implementation of it; the
bytes are in `frame.py` (framing, CRC, escapes, ACK/NACK) and `areas.py`
(dynamic-area packets and their text), both re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

# The emulator, the bench and the tests read the whole wire vocabulary as `protocol.X`: re-export it.
from hall.drivers.led.areas import *  # noqa: F403
from hall.drivers.led.areas import (
    FALLBACK_CHAR,
    SHOW_SCROLL_LEFT,
    SHOW_STATIC,
    DynamicArea,
    dynamic_area_data,
    encode_text,
    text_width,
)
from hall.drivers.led.frame import *  # noqa: F403
from hall.drivers.led.frame import (
    ADDR_BROADCAST_REPLY,
    DEVICE_ANY,
    FrameDecoder,
    FrameError,
    Reply,
    encode_packet,
    parse_reply,
    ping_data,
)
from hall.drivers.options import int_option


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
