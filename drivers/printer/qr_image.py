"""The ticket's QR code as a small raster image, for printers without native QR (`GS ( k`).

A QR drawn at full print resolution (python-escpos `qr(native=False)`: 6 dots
a module, plus a border) is ~5 KB: 5 s down a 9600-baud serial line, for every
ticket. Here the code is sent at module resolution and the printer scales it:
`GS v 0` with m = 3 prints every dot 2×2, so a 4-dot module costs 2×2 bits on
the wire. A typical ticket URL (QR version 4, 33 modules) at 4 dots a module
(0.5 mm at 203 dpi, a 16.5 mm code a phone reads from 10–20 cm) is ~0.6 KB
instead of ~5 KB. The quiet zone is paper, not pixels: a few dots of feed
(`ESC J`) above and below, the paper's white on the sides.
"""

from __future__ import annotations

GS_V0 = b"\x1dv0"
ESC_J = b"\x1bJ"
DOUBLE = 3          # GS v 0 m: bit 0 doubles the width, bit 1 the height
NORMAL = 0
QUIET_MODULES = 4   # the QR standard's quiet zone


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR's modules (True = dark), error correction M like the native QR, no border."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, box_size=1)
    code.add_data(payload.encode("utf-8"))
    code.make(fit=True)
    return [[bool(v) for v in row] for row in code.get_matrix()]


def raster_bytes(matrix: list[list[bool]], module_dots: int) -> bytes:
    """`GS v 0` printing each module as `module_dots` square dots, using the printer's 2× when it can."""
    scale = 2 if module_dots % 2 == 0 else 1
    sent = max(1, module_dots // scale)           # dots per module on the wire
    width = len(matrix[0]) * sent if matrix else 0
    xbytes = (width + 7) // 8
    rows = bytearray()
    for row in matrix:
        bits = 0
        for dark in row:
            for _ in range(sent):
                bits = (bits << 1) | int(dark)
        line = (bits << (xbytes * 8 - width)).to_bytes(xbytes, "big")
        rows += line * sent
    height = len(matrix) * sent
    header = GS_V0 + bytes([DOUBLE if scale == 2 else NORMAL]) + xbytes.to_bytes(2, "little") + \
        height.to_bytes(2, "little")
    return header + bytes(rows)


def qr_image_bytes(payload: str, module_dots: int) -> bytes:
    """The whole QR block: quiet-zone feed, the scaled raster, quiet-zone feed."""
    quiet = min(255, QUIET_MODULES * module_dots)
    feed = ESC_J + bytes([quiet])
    return feed + raster_bytes(qr_matrix(payload), module_dots) + feed
