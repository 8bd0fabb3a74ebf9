"""ESC/POS real-time status (`DLE EOT n`): requests and the meaning of the replies.

Pure functions only, so they can be tested with byte tables and shared by the
driver and the emulator. Every reply is one byte whose bits 1 and 4 are always
set and bits 0 and 7 always clear (`byte & 0x93 == 0x12`); anything else is
noise or a reply to something else, and is treated as "no answer".

    DLE EOT 1  printer status   0x12 online · 0x1A offline (bit 3)
    DLE EOT 2  offline cause    bit 2 cover open · bit 3 feed button · bit 5 paper-end stop · bit 6 error
    DLE EOT 4  roll paper       0x12 paper ok · 0x1E near end (bits 2-3) · 0x72 out (bits 5-6)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DLE_EOT = b"\x10\x04"
REQ_PRINTER = DLE_EOT + b"\x01"
REQ_OFFLINE_CAUSE = DLE_EOT + b"\x02"
REQ_ERROR = DLE_EOT + b"\x03"
REQ_PAPER = DLE_EOT + b"\x04"
# What the driver sends before and after each ticket: two requests, two reply bytes.
REQ_HEALTH = REQ_PRINTER + REQ_PAPER

_FIXED_MASK = 0x93
_FIXED_BITS = 0x12


class Paper(enum.StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"   # write-only channel (a device file) or no answer yet


PAPER_NAMES = {
    Paper.OK: "纸张正常",
    Paper.NEAR_END: "打印纸即将用完",
    Paper.OUT: "打印机缺纸",
    Paper.UNKNOWN: "纸张状态未知",
}


def is_status_byte(b: int) -> bool:
    """True when `b` has the fixed bits every DLE EOT reply carries."""
    return 0 <= b <= 0xFF and (b & _FIXED_MASK) == _FIXED_BITS


@dataclass(frozen=True)
class PrinterStatus:
    """Reply to DLE EOT 1."""

    online: bool
    drawer_high: bool
    waiting_recovery: bool
    feed_button: bool


@dataclass(frozen=True)
class OfflineCause:
    """Reply to DLE EOT 2."""

    cover_open: bool
    feed_button: bool
    paper_end_stop: bool
    error: bool


def parse_printer_status(b: int) -> PrinterStatus:
    _check(b, "DLE EOT 1")
    return PrinterStatus(online=not b & 0x08, drawer_high=bool(b & 0x04),
                         waiting_recovery=bool(b & 0x20), feed_button=bool(b & 0x40))


def parse_offline_cause(b: int) -> OfflineCause:
    _check(b, "DLE EOT 2")
    return OfflineCause(cover_open=bool(b & 0x04), feed_button=bool(b & 0x08),
                        paper_end_stop=bool(b & 0x20), error=bool(b & 0x40))


def parse_paper_status(b: int) -> Paper:
    """Reply to DLE EOT 4. Paper end wins over near end (both sensors may fire)."""
    _check(b, "DLE EOT 4")
    if b & 0x60:
        return Paper.OUT
    if b & 0x0C:
        return Paper.NEAR_END
    return Paper.OK


def _check(b: int, what: str) -> None:
    if not is_status_byte(b):
        raise ValueError(f"{what}: 0x{b:02X} is not a status byte (fixed bits 0x12 under mask 0x93)")


# ------------------------------------------------------------------ encoding (for the emulator)
def printer_status_byte(*, online: bool, waiting_recovery: bool = False, feed_button: bool = False) -> int:
    return (_FIXED_BITS | (0 if online else 0x08) | (0x20 if waiting_recovery else 0)
            | (0x40 if feed_button else 0))


def offline_cause_byte(*, cover_open: bool = False, paper_end_stop: bool = False, error: bool = False) -> int:
    return (_FIXED_BITS | (0x04 if cover_open else 0) | (0x20 if paper_end_stop else 0)
            | (0x40 if error else 0))


def paper_status_byte(paper: Paper) -> int:
    if paper == Paper.OUT:
        return _FIXED_BITS | 0x60 | 0x0C   # the near-end sensor also reads empty
    if paper == Paper.NEAR_END:
        return _FIXED_BITS | 0x0C
    return _FIXED_BITS


@dataclass(frozen=True)
class Health:
    """Online and paper state from the two-byte reply to `REQ_HEALTH`."""

    online: bool
    paper: Paper

    @property
    def can_print(self) -> bool:
        return self.online and self.paper != Paper.OUT

    @property
    def message(self) -> str:
        if self.paper == Paper.OUT:
            return "打印机缺纸"
        if not self.online:
            return "打印机脱机（可能是纸仓盖未合上）"
        if self.paper == Paper.NEAR_END:
            return "打印纸即将用完"
        return "打印机正常"


def parse_health(reply: bytes) -> Health:
    """Parse the replies to DLE EOT 1 then DLE EOT 4; ValueError if they are not status bytes."""
    if len(reply) != 2:
        raise ValueError(f"expected 2 status bytes, got {len(reply)}: {reply.hex(' ')}")
    return Health(online=parse_printer_status(reply[0]).online, paper=parse_paper_status(reply[1]))
