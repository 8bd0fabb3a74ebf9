"""QR and barcode decoding for the document camera: zxing-cpp first, pyzbar as the retry.

Measured on a 1920×1080 frame (DESIGN.md §6, `scripts/bench_camera.py`): zxing-cpp
decodes in a few milliseconds and reads rotated, blurred and noisy codes;
pyzbar restricted to a few symbologies takes tens of milliseconds and, after a
zxing-cpp miss, still reads a few more real-world photos. So: zxing-cpp first,
pyzbar only after a miss, on a frame downscaled to `PYZBAR_MAX_SIDE` (zbar is
faster *and* finds more there).

Character sets. A QR code in byte mode without an ECI marker does not say how
its bytes are encoded. County systems print receipts in UTF-8 or, the older
ones, GB18030/GB2312. zbar guesses (and turns GB18030 into mojibake), zxing-cpp
and OpenCV assume ISO-8859-1. So this module takes the *raw bytes* from both
libraries (zbar with ZBAR_CFG_BINARY) and decodes them itself: UTF-8 if the
bytes are valid UTF-8, the library's text when the symbol carried an ECI, then
the most plausible of the fallback charset (GB18030, a superset of GB2312),
Shift-JIS and ISO-8859-1 (charset.py says how plausibility is judged).

Result: `decode(image)` → list of {"format", "text", "decoder", "position"},
position = four [x, y] points in the input image's coordinates.

No import of OpenCV here: the decoders take numpy arrays; OpenCV is loaded only
by `load_image` (for `kiosk scan`) and by the capture path.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from hall.drivers.camera.charset import guess_text

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

PYZBAR_MAX_SIDE = 1280          # downscale larger frames before zbar
QR_FORMATS = "QRCode"
OTHER_FORMATS = "Code128,Code39,EAN13,ITF,DataMatrix,PDF417"
FALLBACK_CHARSET = "gb18030"

# Canonical format names (zxing-cpp's spelling) for both decoders.
_ZBAR_FORMATS = {
    "QRCODE": "QRCode", "CODE128": "Code128", "CODE39": "Code39", "CODE93": "Code93", "EAN13": "EAN13",
    "EAN8": "EAN8", "UPCA": "UPCA", "UPCE": "UPCE", "I25": "ITF", "PDF417": "PDF417", "CODABAR": "Codabar",
    "DATABAR": "DataBar", "DATABAR_EXP": "DataBarExpanded", "ISBN10": "ISBN10", "ISBN13": "ISBN13",
}
# Symbologies a hall meets: appointment codes and receipts (QR), licences (QR, PDF417),
# ID-less barcodes on forms and parcels (Code128, Code39, EAN-13). zbar with every
# symbology on is 5–10× slower, so the retry asks only for these.
_ZBAR_SYMBOLS = ("QRCODE", "CODE128", "CODE39", "EAN13", "PDF417")

# ISO/IEC 15424 symbology identifiers whose modifier says "ECI protocol implemented".
_ECI_IDENTIFIERS = {"]Q2", "]Q4", "]Q6", "]d4", "]d5", "]d6", "]z3", "]z4", "]z5", "]z6", "]z7", "]z8",
                    "]z9", "]zA", "]zB", "]zC", "]L1"}

ZBAR_CFG_BINARY = 4             # zbar ≥ 0.23: "don't convert binary data to text" (pyzbar predates it)


class Decoded(TypedDict):
    format: str
    text: str
    decoder: str
    position: list[list[int]]


class DecoderUnavailable(RuntimeError):
    """Neither zxing-cpp nor pyzbar can be loaded."""


class ImageUnreadable(ValueError):
    """A file that is not an image OpenCV can read (message in Chinese for the technician)."""


# ---------------------------------------------------------------- charsets
def decode_payload(raw: bytes, *, library_text: str | None = None, has_eci: bool = False,
                   fallback_charset: str = FALLBACK_CHARSET) -> str:
    """Turn a symbol's raw bytes into text; see the module docstring for the order."""
    if raw.isascii():
        return library_text if library_text is not None else raw.decode("ascii")
    if has_eci and library_text is not None:
        return library_text
    guess = guess_text(raw, fallback_charset=fallback_charset, library_text=library_text)
    if guess is not None:
        return guess
    return library_text if library_text is not None else raw.decode("latin-1")


# ---------------------------------------------------------------- zxing-cpp
_zxing: Any = None
_zbar: Any = None
_load_lock = threading.Lock()
_logged_missing: set[str] = set()


def _load_zxing() -> Any:
    global _zxing
    if _zxing is None:
        with _load_lock:
            try:
                import zxingcpp
            except ImportError as exc:
                _log_missing("zxing-cpp", exc)
                _zxing = False
            else:
                _zxing = zxingcpp
    return _zxing or None


def _log_missing(name: str, exc: BaseException) -> None:
    if name not in _logged_missing:
        _logged_missing.add(name)
        log.warning("decoder %s unavailable: %s", name, exc)


def decode_zxing(gray: np.ndarray, formats: str = "QRCode", *, fallback_charset: str = FALLBACK_CHARSET,
                 try_invert: bool = False) -> list[Decoded]:
    """zxing-cpp over `formats` (comma-separated zxing names). Inverted (light-on-dark) codes are
    not tried by default: printed receipts are dark on light and the inverted pass doubles the time."""
    zx = _load_zxing()
    if zx is None:
        return []
    out: list[Decoded] = []
    # Plain text mode: the payload as encoded (a GS1 code keeps its GS separators, control
    # characters stay themselves) rather than zxing-cpp's human-readable rendering.
    for b in zx.read_barcodes(gray, formats=zx.barcode_formats_from_str(formats), try_invert=try_invert,
                              text_mode=zx.TextMode.Plain):
        raw = bytes(b.bytes)
        text = decode_payload(raw, library_text=b.text, has_eci=b.symbology_identifier in _ECI_IDENTIFIERS,
                              fallback_charset=fallback_charset)
        p = b.position
        pts = [[int(p.top_left.x), int(p.top_left.y)], [int(p.top_right.x), int(p.top_right.y)],
               [int(p.bottom_right.x), int(p.bottom_right.y)], [int(p.bottom_left.x), int(p.bottom_left.y)]]
        out.append({"format": b.format.name, "text": text, "decoder": "zxing-cpp", "position": pts})
    return out


# ---------------------------------------------------------------- pyzbar
class _Zbar:
    """pyzbar's ctypes bindings, used directly so that ZBAR_CFG_BINARY can be set."""

    def __init__(self) -> None:
        from pyzbar import wrapper

        self.w = wrapper
        major, minor = ctypes.c_uint(), ctypes.c_uint()
        wrapper.zbar_version(ctypes.byref(major), ctypes.byref(minor))
        self.version = (major.value, minor.value)
        # Before 0.23, option 4 was ZBAR_CFG_NUM (a count, not an option): only ask for raw bytes after.
        self.binary = self.version >= (0, 23)
        self.symbols = [wrapper.ZBarSymbol[name] for name in _ZBAR_SYMBOLS]

    def scan(self, gray: np.ndarray, symbols: Iterable[Any] | None = None) -> list[tuple[str, bytes, list[list[int]]]]:
        w = self.w
        h, width = gray.shape[:2]
        pixels = gray.tobytes()
        scanner = w.zbar_image_scanner_create()
        if not scanner:
            raise RuntimeError("zbar: cannot create scanner")
        image = w.zbar_image_create()
        try:
            w.zbar_image_scanner_set_config(scanner, w.ZBarSymbol.NONE, w.ZBarConfig.CFG_ENABLE, 0)
            for sym in symbols or self.symbols:
                w.zbar_image_scanner_set_config(scanner, sym, w.ZBarConfig.CFG_ENABLE, 1)
                if self.binary:
                    w.zbar_image_scanner_set_config(scanner, sym, ZBAR_CFG_BINARY, 1)
            w.zbar_image_set_format(image, 808466521)          # fourcc "Y800": 8-bit grey
            w.zbar_image_set_size(image, width, h)
            buffer = ctypes.c_char_p(pixels)          # keeps `pixels` referenced while zbar reads it
            w.zbar_image_set_data(image, ctypes.cast(buffer, ctypes.c_void_p), len(pixels), None)
            if w.zbar_scan_image(scanner, image) < 0:
                raise RuntimeError("zbar: unsupported image")
            found = []
            sym = w.zbar_image_first_symbol(image)
            while sym:
                raw = ctypes.string_at(w.zbar_symbol_get_data(sym), w.zbar_symbol_get_data_length(sym))
                try:
                    name = w.ZBarSymbol(sym.contents.type).name
                except ValueError:
                    name = f"zbar-{sym.contents.type}"
                pts = [[w.zbar_symbol_get_loc_x(sym, i), w.zbar_symbol_get_loc_y(sym, i)]
                       for i in range(w.zbar_symbol_get_loc_size(sym))]
                found.append((name, raw, pts))
                sym = w.zbar_symbol_next(sym)
            return found
        finally:
            w.zbar_image_destroy(image)
            w.zbar_image_scanner_destroy(scanner)


def _load_zbar() -> _Zbar | None:
    global _zbar
    if _zbar is None:
        with _load_lock:
            try:
                _zbar = _Zbar()
            except (ImportError, OSError, AttributeError) as exc:   # no libzbar0, or an odd build
                _log_missing("pyzbar", exc)
                _zbar = False
    return _zbar or None


def _quad(points: list[list[int]], scale: float) -> list[list[int]]:
    """zbar gives every point it sampled; reduce to the bounding box's four corners (tl, tr, br, bl)."""
    if not points:
        return []
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = round(min(xs) * scale), round(max(xs) * scale)
    y0, y1 = round(min(ys) * scale), round(max(ys) * scale)
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def decode_pyzbar(gray: np.ndarray, *, max_side: int | None = PYZBAR_MAX_SIDE, qr_only: bool = False,
                  fallback_charset: str = FALLBACK_CHARSET) -> list[Decoded]:
    zb = _load_zbar()
    if zb is None:
        return []
    scale = 1.0
    h, w = gray.shape[:2]
    if max_side and max(h, w) > max_side:
        import cv2

        scale = max(h, w) / max_side
        gray = cv2.resize(gray, (round(w / scale), round(h / scale)), interpolation=cv2.INTER_AREA)
    symbols = [zb.w.ZBarSymbol.QRCODE] if qr_only else None
    out: list[Decoded] = []
    for name, raw, pts in zb.scan(gray, symbols):
        # With ZBAR_CFG_BINARY the bytes are the symbol's own; without it (old zbar) they are
        # zbar's UTF-8 guess, which is still the best we can do.
        text = decode_payload(raw, fallback_charset=fallback_charset)
        out.append({"format": _ZBAR_FORMATS.get(name, name), "text": text, "decoder": "pyzbar",
                    "position": _quad(pts, scale)})
    return out


# ---------------------------------------------------------------- public
def to_gray(image: np.ndarray) -> np.ndarray:
    """An 8-bit grey copy of a BGR/BGRA/grey frame: OpenCV's conversion when OpenCV is already
    loaded (10× faster), numpy otherwise (the decoders must not be what loads OpenCV)."""
    import numpy as np

    if image.ndim == 2:
        return np.ascontiguousarray(image, dtype=np.uint8)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and image.ndim == 3 and image.shape[2] in (3, 4) and image.dtype == np.uint8:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        b, g, r = (image[:, :, i].astype(np.uint16) for i in range(3))
        return ((29 * b + 150 * g + 77 * r) >> 8).astype(np.uint8)      # ITU-R BT.601 luma
    raise ValueError(f"unsupported image shape {image.shape}")


def available_decoders() -> list[str]:
    return [name for name, loader in (("zxing-cpp", _load_zxing), ("pyzbar", _load_zbar)) if loader()]


def decode(image: np.ndarray, *, thorough: bool = False, retry: bool = True,
           fallback_charset: str = FALLBACK_CHARSET) -> list[Decoded]:
    """Decode the QR codes and barcodes in `image` (BGR or grey numpy array).

    Tiers, each run only when the ones before found nothing (unless `thorough`):
    1. zxing-cpp, QR codes only: appointment codes, case receipts and electronic
       licences are QR; ≈ 4 ms on a 1080p frame.
    2. zxing-cpp, the other symbologies a hall meets (`OTHER_FORMATS`), and then
       (still nothing, or `thorough`) QR codes again with inverted images tried too.
    3. pyzbar (when `retry`) on a copy downscaled to `PYZBAR_MAX_SIDE`.
    `thorough` runs tiers 1 and 2 both (a page with a QR code *and* a barcode),
    as `kiosk scan` does. Raises DecoderUnavailable when neither library loads.
    """
    if _load_zxing() is None and _load_zbar() is None:
        raise DecoderUnavailable("二维码识别组件不可用（zxing-cpp 与 pyzbar/libzbar0 均未安装）")
    gray = to_gray(image)
    found = decode_zxing(gray, QR_FORMATS, fallback_charset=fallback_charset)
    if thorough or not found:
        seen = {(d["format"], d["text"]) for d in found}
        more = decode_zxing(gray, OTHER_FORMATS, fallback_charset=fallback_charset)
        if thorough or not (found or more):
            # Light-on-dark codes (a phone in dark mode): only after a miss, it doubles the time.
            more += decode_zxing(gray, QR_FORMATS, fallback_charset=fallback_charset, try_invert=True)
        for d in more:
            if (d["format"], d["text"]) not in seen:
                seen.add((d["format"], d["text"]))
                found.append(d)
    if not found and (retry or _load_zxing() is None):
        found = decode_pyzbar(gray, fallback_charset=fallback_charset)
    return found


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file into a BGR array; works with Chinese paths on Windows too.

    (`cv2.imread` cannot open non-ASCII paths on Windows, so the bytes are read
    by Python and decoded with `cv2.imdecode`.)
    """
    import numpy as np
    from hall.drivers.camera.capture import cv2_module

    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        raise ImageUnreadable(f"文件不存在：{p}") from exc
    except IsADirectoryError as exc:
        raise ImageUnreadable(f"这是一个文件夹，不是图片：{p}") from exc
    except OSError as exc:
        raise ImageUnreadable(f"无法读取文件：{p}（{exc.strerror or exc}）") from exc
    cv2 = cv2_module()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise ImageUnreadable(f"不是可识别的图片（支持 JPEG、PNG、BMP、TIFF 等）：{p}")
    return image
