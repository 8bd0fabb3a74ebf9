"""QR payloads in the right character set: byte-mode codes without ECI whose bytes are
valid in several charsets (drivers/camera/charset.py).

The promise checked here: on real phone photographs (zxing-cpp's own test samples,
Japanese Shift-JIS payloads included; tests/data/qr_photos) the service reads at least
every code zxing-cpp alone reads right, and GB18030 payloads (every Chinese text of the
demo service catalogue, and camera scenes of generated codes) come back exact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from hall.drivers.camera import charset as cs
from hall.drivers.camera import decode as dec
from hall.drivers.emulators.camera import qr_image, render_scene

PHOTOS = Path(__file__).parent / "data" / "qr_photos"
CATALOG = Path(dec.__file__).resolve().parents[2] / "kiosk" / "records" / "data" / "catalog.json"


def catalog_texts() -> list[str]:
    """Every string with a hanzi in the demo catalogue: names, materials, conditions, policy text."""
    found: set[str] = set()

    def walk(o: object) -> None:
        if isinstance(o, str) and re.search(r"[\u4e00-\u9fff]", o):
            found.add(o)
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(json.loads(CATALOG.read_text(encoding="utf-8")))
    return sorted(found)


# ------------------------------------------------------------------ the guess on bytes
def test_every_catalogue_text_in_gb18030_comes_back_exact() -> None:
    texts = catalog_texts()
    assert len(texts) > 500
    wrong = [(t, dec.decode_payload(t.encode("gb18030"))) for t in texts
             if dec.decode_payload(t.encode("gb18030")) != t]
    assert wrong == []


@pytest.mark.parametrize("text", ["今度のバージョンでは文章の暗号化ができます。", "ﾃﾞｻﾞｲﾝQR", "東京都千代田区",
                                  "予約番号：１２３", "ｶﾞｲﾄﾞ", "山田太郎", "電話番号"])
def test_shift_jis_japanese_is_read_as_japanese(text: str) -> None:
    assert dec.decode_payload(text.encode("cp932")) == text


def test_bytes_valid_in_both_pick_the_reading_with_common_characters() -> None:
    # 棉晦草 in GB18030 is ﾃﾞｻﾞｲﾝ in Shift-JIS: middling hanzi against well-voiced katakana.
    raw = "ﾃﾞｻﾞｲﾝ".encode("cp932")
    assert raw.decode("gb18030") == "棉晦草"
    assert cs.plausibility("ﾃﾞｻﾞｲﾝ", cs.SHIFT_JIS) > cs.plausibility("棉晦草", "gb18030")
    # 阿 in GB2312 is ｰ｢ in Shift-JIS: a long-vowel mark after no kana is not Japanese.
    assert dec.decode_payload("AD:SUB:阿;;".encode("gb2312")) == "AD:SUB:阿;;"
    # Two GB18030 bytes are often valid two-byte UTF-8 (一住 → Cyrillic + Hebrew): still Chinese.
    raw = "一住".encode("gb18030")
    assert raw.decode("utf-8") == "һס"
    assert dec.decode_payload(raw) == "一住"


def test_utf8_first_and_latin1_when_zxing_read_it_so() -> None:
    for t in ("预约签到码：YY20261125-0042", "Müller", "naïve façade", "MECARD:N:測試;;"):
        assert dec.decode_payload(t.encode("utf-8")) == t
    for t in ("Müller", "Ärger café"):
        raw = t.encode("latin-1")
        assert dec.decode_payload(raw, library_text=raw.decode("latin-1")) == t
    # An ECI said what the bytes are: the library's text is kept as it is.
    assert dec.decode_payload("予約".encode("shift_jis"), library_text="予約", has_eci=True) == "予約"


# ------------------------------------------------------------------ real photographs
def _photos() -> list[tuple[Path, str]]:
    out = []
    for img in sorted(PHOTOS.iterdir()):
        if img.suffix.lower() in (".png", ".webp", ".jpg"):
            out.append((img, img.with_suffix(".txt").read_bytes().decode("utf-8")))
    return out


def test_service_never_does_worse_than_zxing_cpp_alone_on_real_photographs() -> None:
    photos = _photos()
    assert len(photos) >= 40 and any("バ" in e or "ﾃﾞ" in e for _, e in photos)
    zx_right, svc_right, worse = [], [], []
    for img, expected in photos:
        image = cv2.imdecode(np.fromfile(img, np.uint8), cv2.IMREAD_COLOR)
        alone = {b.text for b in zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)}
        ours = {d["text"] for d in dec.decode(image, thorough=True)}
        if expected in alone:
            zx_right.append(img.name)
        if expected in ours:
            svc_right.append(img.name)
        if expected in alone and expected not in ours:
            worse.append(img.name)
    print(f"\nreal photographs: {len(photos)}; zxing-cpp alone right {len(zx_right)}, service right {len(svc_right)}")
    assert worse == []
    # The Japanese byte-mode payloads are the ones a GB18030-only guess got wrong.
    japanese = [i.name for i, e in photos if re.search(r"[\u3040-\u30ff\uff66-\uff9f]", e)]
    assert len(japanese) >= 10 and set(japanese) <= set(svc_right)


# ------------------------------------------------------------------ generated GB18030 codes
GB_PAYLOADS = [
    "办件回执：430224100-2026-000123 最低生活保障申请",
    "受理回执 B20261206-0007 城乡居民基本养老保险参保登记 承诺办结 2026-12-18",
    "缴费方式：自行缴纳",
    "预约签到 示范镇便民服务中心 3号窗口",
    "申请人：欧阳堃 临时救助",
    "踏勘现场",
    "新农保领取资格认证",
    "残疾人两项补贴",
]


def test_generated_gb18030_codes_read_exact_through_the_camera_path() -> None:
    zx_alone = 0
    for i, text in enumerate(GB_PAYLOADS):
        scene = render_scene([(text, "gb18030")], size=(1280, 720), angle=6 + i, blur=0.8, noise=4, seed=i)
        found = [d["text"] for d in dec.decode(scene.image)]
        assert found == [text], (text, found)
        zx_alone += text in {b.text for b in zxingcpp.read_barcodes(scene.image)}
        flat = qr_image(text, "gb18030")
        assert [d["text"] for d in dec.decode(flat)] == [text]
    print(f"\ngenerated GB18030 codes: {len(GB_PAYLOADS)}; service exact {len(GB_PAYLOADS)}, "
          f"zxing-cpp alone {zx_alone}")


def test_kiosk_scan_prints_a_japanese_payload_as_decoded(capsys: pytest.CaptureFixture[str]) -> None:
    from hall.cli import main

    img = PHOTOS / "qrcode-2_31.webp"
    assert main(["scan", str(img)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["text"] for d in lines] == [img.with_suffix(".txt").read_bytes().decode("utf-8")]


def test_kiosk_scan_help_says_what_it_masks(capsys: pytest.CaptureFixture[str]) -> None:
    from hall.cli import main

    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    out = capsys.readouterr().out
    assert "身份证号" in out and "手机号" in out and "mask" in out.lower()
