"""The one CRC-16 function: each variant against its published check value, and the table
version against a bit-at-a-time reference written from the Rocksoft model."""

from __future__ import annotations

import binascii

import pytest
from hall.drivers.crc import CRC16_ARC, CRC16_MODBUS, Crc16
from hall.drivers.evaluator import protocol as evaluator_protocol
from hall.drivers.led import protocol as led_protocol
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CHECK_INPUT = b"123456789"

# name, poly, init, refin, refout, xorout, check — copied from the reveng CRC catalogue
# (https://reveng.sourceforge.io/crc-catalogue/16.htm), not computed here.
CATALOGUE = [
    ("CRC-16/ARC", 0x8005, 0x0000, True, True, 0x0000, 0xBB3D),
    ("CRC-16/MODBUS", 0x8005, 0xFFFF, True, True, 0x0000, 0x4B37),
    ("CRC-16/XMODEM", 0x1021, 0x0000, False, False, 0x0000, 0x31C3),
    ("CRC-16/IBM-3740", 0x1021, 0xFFFF, False, False, 0x0000, 0x29B1),     # alias CRC-16/CCITT-FALSE
    ("CRC-16/KERMIT", 0x1021, 0x0000, True, True, 0x0000, 0x2189),
    ("CRC-16/IBM-SDLC", 0x1021, 0xFFFF, True, True, 0xFFFF, 0x906E),       # alias CRC-16/X-25
    ("CRC-16/USB", 0x8005, 0xFFFF, True, True, 0xFFFF, 0xB4C8),
    ("CRC-16/MAXIM-DOW", 0x8005, 0x0000, True, True, 0xFFFF, 0x44C2),
    ("CRC-16/UMTS", 0x8005, 0x0000, False, False, 0x0000, 0xFEE8),          # alias CRC-16/BUYPASS
    ("CRC-16/GENIBUS", 0x1021, 0xFFFF, False, False, 0xFFFF, 0xD64E),
    ("CRC-16/DNP", 0x3D65, 0x0000, True, True, 0xFFFF, 0xEA82),
    ("CRC-16/RIELLO", 0x1021, 0xB2AA, True, True, 0x0000, 0x63D0),          # a non-symmetric init, reflected
    ("CRC-16/SPI-FUJITSU", 0x1021, 0x1D0F, False, False, 0x0000, 0xE5CC),
    ("CRC-16/CDMA2000", 0xC867, 0xFFFF, False, False, 0x0000, 0x4C06),
]


def _reflect(value: int, bits: int) -> int:
    out = 0
    for i in range(bits):
        if value >> i & 1:
            out |= 1 << (bits - 1 - i)
    return out


def reference_crc16(data: bytes, poly: int, init: int, refin: bool, refout: bool, xorout: int) -> int:
    """Bit at a time, MSB-first register, exactly as the Rocksoft model defines the parameters."""
    reg = init
    for byte in data:
        if refin:
            byte = _reflect(byte, 8)
        reg ^= byte << 8
        for _ in range(8):
            reg = ((reg << 1) ^ poly) & 0xFFFF if reg & 0x8000 else (reg << 1) & 0xFFFF
    if refout:
        reg = _reflect(reg, 16)
    return reg ^ xorout


@pytest.mark.parametrize(("name", "poly", "init", "refin", "refout", "xorout", "check"), CATALOGUE,
                         ids=[row[0] for row in CATALOGUE])
def test_catalogue_check_values(name: str, poly: int, init: int, refin: bool, refout: bool, xorout: int,
                                check: int) -> None:
    algo = Crc16(name, poly=poly, init=init, refin=refin, refout=refout, xorout=xorout, check=check)
    assert algo(CHECK_INPUT) == check
    assert reference_crc16(CHECK_INPUT, poly, init, refin, refout, xorout) == check


def test_the_protocols_presets_are_the_catalogue_entries() -> None:
    rows = {row[0]: row[1:] for row in CATALOGUE}
    for preset in (CRC16_ARC, CRC16_MODBUS):
        assert (preset.poly, preset.init, preset.refin, preset.refout, preset.xorout, preset.check) \
            == rows[preset.name]
        assert preset(CHECK_INPUT) == preset.check


def test_both_protocols_use_the_one_function() -> None:
    assert led_protocol.crc16_arc is CRC16_ARC
    assert evaluator_protocol.crc16_modbus is CRC16_MODBUS
    for module in (led_protocol, evaluator_protocol):
        assert not hasattr(module, "_CRC_TABLE"), f"{module.__name__} carries its own CRC table again"


def test_stdlib_crc_hqx_agrees_on_the_unreflected_ccitt_variants() -> None:
    """binascii.crc_hqx is an independent implementation of poly 0x1021, MSB-first, any init."""
    data = bytes(range(256)) * 3
    for init in (0x0000, 0xFFFF, 0x1D0F):
        algo = Crc16("ccitt", poly=0x1021, init=init, refin=False, refout=False, xorout=0, check=0)
        assert algo(data) == binascii.crc_hqx(data, init)


def test_empty_input_gives_init_through_the_output_steps() -> None:
    assert CRC16_ARC(b"") == 0x0000 and CRC16_MODBUS(b"") == 0xFFFF
    usb = Crc16("CRC-16/USB", poly=0x8005, init=0xFFFF, refin=True, refout=True, xorout=0xFFFF, check=0xB4C8)
    assert usb(b"") == 0x0000


def test_parameters_out_of_16_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="poly"):
        Crc16("bad", poly=0x18005, init=0, refin=True, refout=True, xorout=0, check=0)


# A loaded CI machine can make generation or one example look slow; neither is what is tested.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=64), poly=st.integers(1, 0xFFFF).map(lambda p: p | 1), init=st.integers(0, 0xFFFF),
       refin=st.booleans(), refout=st.booleans(), xorout=st.integers(0, 0xFFFF))
def test_table_matches_the_bitwise_reference(data: bytes, poly: int, init: int, refin: bool, refout: bool,
                                             xorout: int) -> None:
    algo = Crc16("any", poly=poly, init=init, refin=refin, refout=refout, xorout=xorout, check=0)
    assert algo(data) == reference_crc16(data, poly, init, refin, refout, xorout)

