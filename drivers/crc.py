"""CRC-16 for the device wire protocols: one table-driven function, described by catalogue parameters.

Both serial protocols the hall speaks end their frames with a CRC-16 of the
same polynomial (0x8005, bit-reflected) and differ only in the start value:
Onbon's LED protocol uses CRC-16/ARC (init 0), our evaluator keypad
CRC-16/MODBUS (init 0xFFFF). Describing a CRC by the Rocksoft/reveng
parameters (poly, init, refin, refout, xorout) and naming each preset as the
CRC catalogue does (https://reveng.sourceforge.io/crc-catalogue/16.htm) keeps
the two from drifting apart, makes the variant a reader sees in a vendor's
document checkable against its published check value, and turns a new
vendor's variant (XMODEM, CCITT-FALSE, …) into one more line here.

Hand-written rather than `crcmod`/`crcmod-plus`: frames are at most a few
hundred bytes on a 9600-baud line, so a 256-entry table in Python is far
faster than the wire, and twenty lines do not justify one more compiled
dependency in the Debian and Windows locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_MASK = 0xFFFF


def _reflect16(value: int) -> int:
    return int(f"{value:016b}"[::-1], 2)


def _table(poly: int, reflected: bool) -> tuple[int, ...]:
    """The byte-at-a-time table: MSB-first for the normal form, LSB-first with the reflected poly."""
    out = []
    if reflected:
        rpoly = _reflect16(poly)
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ rpoly if c & 1 else c >> 1
            out.append(c)
    else:
        for i in range(256):
            c = i << 8
            for _ in range(8):
                c = ((c << 1) ^ poly) & _MASK if c & 0x8000 else (c << 1) & _MASK
            out.append(c)
    return tuple(out)


@dataclass(frozen=True)
class Crc16:
    """One CRC-16 variant in catalogue terms; call it on bytes to get the CRC as an int.

    `poly` and `init` are written as the catalogue writes them (normal, MSB-first form);
    `check` is the catalogue's CRC of b"123456789", kept beside the parameters so a
    test can hold each preset to its published value.
    """

    name: str
    poly: int
    init: int
    refin: bool
    refout: bool
    xorout: int
    check: int
    _table: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for what in ("poly", "init", "xorout", "check"):
            if not 0 <= getattr(self, what) <= _MASK:
                raise ValueError(f"{self.name}: {what} must fit in 16 bits")
        object.__setattr__(self, "_table", _table(self.poly, self.refin))

    def __call__(self, data: bytes) -> int:
        table = self._table
        if self.refin:
            crc = _reflect16(self.init)
            for b in data:
                crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
        else:
            crc = self.init
            for b in data:
                crc = ((crc << 8) & _MASK) ^ table[(crc >> 8) ^ b]
        if self.refout != self.refin:
            crc = _reflect16(crc)
        return crc ^ self.xorout


# The variants the shipped protocols use (drivers/led/protocol.py, drivers/evaluator/protocol.py).
CRC16_ARC = Crc16("CRC-16/ARC", poly=0x8005, init=0x0000, refin=True, refout=True, xorout=0x0000, check=0xBB3D)
CRC16_MODBUS = Crc16("CRC-16/MODBUS", poly=0x8005, init=0xFFFF, refin=True, refout=True, xorout=0x0000,
                     check=0x4B37)
