"""The image QR for printers without native QR: small on the wire, the same on paper, chosen by profile."""

from __future__ import annotations

from typing import Any

import pytest
import qrcode
from hall.drivers.printer.qr_image import qr_image_bytes, qr_matrix, raster_bytes
from hall.drivers.printer.render import render
from hall.drivers.printer.ticket import TicketLayout, print_options, qr_profile_warning
from hall.security import redact_text
from PIL import Image

LONG_URL = "http://192.168.100.200:65535/r/123456-abcdefghijklmnop"   # the longest a LAN hall makes
PAYLOAD: dict[str, Any] = {
    "ticket": {"id": 123456}, "number": "C007", "category": "C", "category_name": "医保、人社",
    "lane": "normal", "ahead": 6, "wait_minutes": 12, "issued_at": "2026-11-25T09:41:07.000+08:00",
    "no_show_rule": "过号后顺延3位重新排队",
}


def _printed(raster: bytes) -> Image.Image:
    """What the paper shows for one GS v 0 command: every dot scaled as its mode says."""
    assert raster[:3] == b"\x1dv0"
    mode, xbytes, ydots = raster[3], int.from_bytes(raster[4:6], "little"), int.from_bytes(raster[6:8], "little")
    img = Image.frombytes("1", (xbytes * 8, ydots), raster[8:8 + xbytes * ydots])
    return img.resize((xbytes * 8 * (2 if mode & 1 else 1), ydots * (2 if mode & 2 else 1)),
                      Image.Resampling.NEAREST)


@pytest.mark.parametrize("dots", [2, 3, 4, 6])
def test_printed_raster_is_the_qr_at_full_resolution(dots: int) -> None:
    """Module resolution + printer scaling gives exactly the picture a full-resolution raster would."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, box_size=dots)
    code.add_data(LONG_URL.encode())
    full = code.make_image().get_image().convert("1")
    raster = raster_bytes(qr_matrix(LONG_URL), dots)
    assert raster[3] == (3 if dots % 2 == 0 else 0)               # even sizes use the printer's 2×
    paper = _printed(raster).crop((0, 0, full.width, full.height))
    # qrcode draws dark as 0 (black) in mode "1"; the printer's 1 bits are black dots
    dark_full = [v == 0 for v in full.convert("L").tobytes()]
    dark_paper = [v != 0 for v in paper.convert("L").tobytes()]
    assert dark_full == dark_paper and any(dark_full)


def test_image_ticket_is_small_and_decodes_from_the_emulator_rendering() -> None:
    lay = TicketLayout.from_options({"profile": "POS-5890"}, hall_name="示范镇便民服务中心",
                                    default_qr_base="http://192.168.100.200:65535/r/", redact=redact_text)
    lay.qr_path = lambda i: f"/r/{i}-abcdefghijklmnop"
    data = lay.ticket(PAYLOAD)
    assert lay.options.qr == "image" and b"\x1d(k" not in data
    assert len(data) <= 1536, len(data)            # 1.5 KB: ≤ 1.6 s at 9600 baud (10 bits a byte)
    assert render(data)[0].qr == [LONG_URL]


def test_qr_block_has_a_paper_quiet_zone() -> None:
    block = qr_image_bytes("http://10.0.0.1:8080/r/1-x", 4)
    assert block.startswith(b"\x1bJ\x10") and block.endswith(b"\x1bJ\x10")   # 4 modules × 4 dots of feed


def test_profile_without_native_qr_gets_the_image_qr() -> None:
    assert print_options({"profile": "POS-5890"}).qr == "image"
    assert print_options({"profile": "POS-5890"}).qr_size == 4
    assert print_options({"profile": "POS-5890", "qr": "native"}).qr == "image"
    assert print_options({"profile": "default"}).qr == "native"
    assert print_options({"profile": "default"}).qr_size == 6
    assert print_options({"profile": "POS-5890", "qr": "none"}).qr == "none"


def test_contradicting_option_is_named_for_config_check() -> None:
    warning = qr_profile_warning({"profile": "POS-5890", "qr": "native"})
    assert warning is not None and "POS-5890" in warning and "图片二维码" in warning
    assert qr_profile_warning({"profile": "POS-5890"}) is None
    assert qr_profile_warning({"profile": "default", "qr": "native"}) is None
    assert qr_profile_warning({"profile": "default", "qr": "image"}) is None


def test_config_check_warns_when_qr_option_contradicts_the_profile(tmp_path: Any) -> None:
    import subprocess
    import sys

    from hall.config.loader import demo_config_path

    text = demo_config_path().read_text(encoding="utf-8").replace(
        'options = { qr = "native" }', 'options = { qr = "native", profile = "POS-5890" }', 1)
    p = tmp_path / "hall.toml"
    p.write_text(text, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "hall.cli", "config", "check", str(p)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "devices[0].options.qr" in r.stdout and "POS-5890" in r.stdout and "图片二维码" in r.stdout
