"""Document pages from camera frames: crop and deskew, sharpness check, save as JPEG and PDF.

The small function API the records code uses (all pure functions, no device):

    crop = crop_page(frame)                 # PageCrop(image, corners, found)
    sharp = check_sharpness(crop.image)     # Sharpness(value, ok, message)
    if not sharp.ok: show(sharp.message)    # "画面模糊……请重拍"
    files = save_scan([crop.image, …], data_dir, case_id="C20261125-0007")
    files.pages / files.pdf / files.relative()   # paths to attach to the case

Crop and deskew: on a copy scaled to `WORK_SIDE` pixels, edges (Canny) and,
as a second try, a brightness threshold (a white page on a darker desk) give
contours; the largest convex quadrilateral covering at least `MIN_AREA` of the
frame is the page. Its corners are scaled back and the full-resolution frame is
warped to a straight page whose size follows the page's measured sides.

Sharpness is the variance of the Laplacian on a copy scaled down to
`SHARP_SIDE` pixels on its long side, so one threshold holds for the usual
camera resolutions (smaller images are measured as they are).

Files go to `<data_dir>/scans/<YYYY-MM-DD>/<scan id>/page-01.jpg …` and
`scan.pdf` (Pillow writes the multi-page PDF, each page sized as A4-width
paper), written atomically (temp file, fsync, replace). Paths are returned
absolute and relative to the data dir (what a case record should store).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hall.drivers.camera.capture import cv2_module

if TYPE_CHECKING:
    import numpy as np

WORK_SIDE = 640            # long side of the copy edges are searched on
MIN_AREA = 0.15            # a page covers at least this share of the frame
SHARP_SIDE = 800           # long side of the copy sharpness is measured on
SHARPNESS_MIN = 40.0       # variance of Laplacian below this: too blurry to file (see check_sharpness)
A4_WIDTH_INCH = 210 / 25.4

BLURRY_MESSAGE = "画面模糊，无法看清材料。请将材料放平、手离开镜头，待对焦清晰后重拍。"
DARK_MESSAGE = "画面过暗或全黑，请检查高拍仪镜头和补光灯后重拍。"


@dataclass(frozen=True)
class PageCrop:
    image: np.ndarray          # the straightened page, or the whole frame when no page was found
    corners: np.ndarray | None  # page corners in the frame (tl, tr, br, bl), float32 4×2
    found: bool


@dataclass(frozen=True)
class Sharpness:
    value: float
    ok: bool
    message: str               # empty when ok; Chinese, for the citizen or clerk, when not
    brightness: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 1), "ok": self.ok, "message": self.message,
                "brightness": round(self.brightness, 1)}


# ---------------------------------------------------------------- geometry
def order_corners(points: np.ndarray) -> np.ndarray:
    """Four points as top-left, top-right, bottom-right, bottom-left (image coordinates)."""
    import numpy as np

    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]                 # clockwise on screen, starting anywhere
    start = int(np.argmin(pts.sum(axis=1)))       # top-left: smallest x + y
    return np.roll(pts, -start, axis=0)


def find_page(frame: np.ndarray, *, min_area: float = MIN_AREA) -> np.ndarray | None:
    """The page's corners in `frame` (tl, tr, br, bl; float32), or None when no page is seen."""
    import numpy as np

    cv2 = cv2_module()
    h, w = frame.shape[:2]
    scale = max(h, w) / WORK_SIDE if max(h, w) > WORK_SIDE else 1.0
    # INTER_LINEAR, not INTER_AREA: 10× faster here, and the blur below removes its aliasing.
    small = cv2.resize(frame, (round(w / scale), round(h / scale)), interpolation=cv2.INTER_LINEAR) \
        if scale > 1 else frame
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    frame_area = gray.shape[0] * gray.shape[1]

    def edge_mask() -> np.ndarray:
        median = float(np.median(gray))
        edges = cv2.Canny(gray, max(10.0, 0.66 * median), max(40.0, min(255.0, 1.33 * median)))
        return cv2.dilate(edges, np.ones((3, 3), np.uint8), iterations=2)

    def bright_mask() -> np.ndarray:     # second try: a white page on a darker desk
        _, bright = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        return cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))

    for make_mask in (edge_mask, bright_mask):
        contours, _ = cv2.findContours(make_mask(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
            area = cv2.contourArea(contour)
            if area < min_area * frame_area:
                break
            hull = cv2.convexHull(contour)
            peri = cv2.arcLength(hull, True)
            quad = None
            for eps in (0.02, 0.03, 0.045):
                approx = cv2.approxPolyDP(hull, eps * peri, True)
                if len(approx) == 4:
                    quad = approx
                    break
            if quad is None or not cv2.isContourConvex(quad):
                continue
            if cv2.contourArea(quad) > 0.98 * frame_area:
                continue               # the frame border itself, not a page
            corners = order_corners(quad.reshape(4, 2).astype(np.float32) * scale)
            return _refine(frame, corners, scale)
    return None


def _refine(frame: np.ndarray, corners: np.ndarray, scale: float) -> np.ndarray:
    """Sub-pixel corners on the full-resolution frame (the search ran on a copy `scale`× smaller).

    Only a small patch around each corner is converted and searched. A corner too close to
    the frame's edge for the search window keeps its coarse position."""
    import numpy as np

    cv2 = cv2_module()
    half = max(5, round(scale * 4))       # the coarse corner is off by up to ~2-3 work pixels
    reach = 3 * half                      # patch radius: room for the window to move
    h, w = frame.shape[:2]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.05)
    refined = corners.copy()
    for i, (x, y) in enumerate(corners):
        if not (half + 1 < x < w - half - 1 and half + 1 < y < h - half - 1):
            continue
        x0, y0 = max(0, int(x) - reach), max(0, int(y) - reach)
        patch = frame[y0:min(h, int(y) + reach + 1), x0:min(w, int(x) + reach + 1)]
        gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY) if patch.ndim == 3 else patch
        start = np.array([[[x - x0, y - y0]]], dtype=np.float32)
        found = cv2.cornerSubPix(np.ascontiguousarray(gray), start, (half, half), (-1, -1), criteria)
        refined[i] = found.reshape(2) + np.array([x0, y0], dtype=np.float32)
    moved = np.linalg.norm(refined - corners, axis=1)
    return np.where((moved <= 1.5 * half)[:, None], refined, corners).astype(np.float32)


def warp_page(frame: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Straighten the quadrilateral `corners` of `frame` into an upright rectangle."""
    import numpy as np

    cv2 = cv2_module()
    tl, tr, br, bl = np.asarray(corners, dtype=np.float32)
    width = round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(np.array([tl, tr, br, bl], dtype=np.float32), dst)
    return cv2.warpPerspective(frame, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def crop_page(frame: np.ndarray, *, min_area: float = MIN_AREA) -> PageCrop:
    """Find, crop and deskew the page; the whole frame comes back (found=False) when none is seen."""
    corners = find_page(frame, min_area=min_area)
    if corners is None:
        return PageCrop(image=frame, corners=None, found=False)
    return PageCrop(image=warp_page(frame, corners), corners=corners, found=True)


# ---------------------------------------------------------------- sharpness
def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian on a copy whose long side is at most `SHARP_SIDE` pixels."""
    return _measure(image)[0]


def _measure(image: np.ndarray) -> tuple[float, float]:
    cv2 = cv2_module()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    h, w = gray.shape[:2]
    scale = SHARP_SIDE / max(h, w)
    if scale < 0.95:            # never upscale: interpolation would fake a blur
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=cv2.INTER_LINEAR)
    gray = cv2.GaussianBlur(gray, (5, 5), 0)      # sensor noise must not pass for detail
    _, std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))
    return float(std[0, 0]) ** 2, float(cv2.mean(gray)[0])


def check_sharpness(image: np.ndarray, threshold: float = SHARPNESS_MIN) -> Sharpness:
    """Sharp enough to file? A too-blurry or black frame gets a Chinese message saying what to do.

    Calibration on synthetic A4 pages (the emulator's scenes), measured on the cropped page
    after a 5×5 Gaussian (so sensor noise does not pass for detail): in focus 155–270 at any
    resolution; Gaussian blur σ=1.5 px at 1080p (text legible, QR still decodes) ≈ 58;
    σ=2.5 ≈ 19; σ=3 with heavy noise (σ=25 grey levels) ≈ 20–23; σ=4 at 5 MP with heavy
    noise ≈ 34; σ=2 at 640×480 ≈ 32. The default 40 rejects what a clerk could not read.
    Halls tune it per camera with the device option `sharpness_min`.
    """
    value, brightness = _measure(image)
    if brightness < 12:
        return Sharpness(value, False, DARK_MESSAGE, brightness)
    if value < threshold:
        return Sharpness(value, False, BLURRY_MESSAGE, brightness)
    return Sharpness(value, True, "", brightness)


# ---------------------------------------------------------------- saving
@dataclass(frozen=True)
class ScanFiles:
    scan_id: str
    folder: Path
    pages: list[Path]
    pdf: Path | None
    data_dir: Path

    def relative(self) -> dict[str, Any]:
        """Paths relative to the data dir, with forward slashes: what a case record stores."""
        def rel(p: Path) -> str:
            return p.relative_to(self.data_dir).as_posix()
        return {"scan_id": self.scan_id, "folder": rel(self.folder), "pages": [rel(p) for p in self.pages],
                "pdf": rel(self.pdf) if self.pdf else None}


_SAFE = re.compile(r"[^0-9A-Za-z_-]+")


def save_scan(pages: Sequence[np.ndarray], data_dir: str | Path, *, case_id: str | None = None,
              pdf: bool | None = None, quality: int = 85, now: dt.datetime | None = None) -> ScanFiles:
    """Save scanned pages (BGR arrays) as page-NN.jpg, plus scan.pdf when `pdf` (default: >1 page).

    The folder is `scans/<date>/<case id or "scan">-<time>-<random>` under `data_dir`, dated by `now`:
    callers pass the hall's clock (its time zone), the PC's local time is only the fallback;
    nothing is overwritten. Raises ValueError for an empty page list, OSError when the disk fails.
    """
    if not pages:
        raise ValueError("没有可保存的页面 / no pages to save")
    cv2 = cv2_module()
    base = Path(data_dir)
    now = now or dt.datetime.now().astimezone()
    prefix = _SAFE.sub("_", case_id)[:40].strip("_") if case_id else "scan"
    scan_id = f"{prefix or 'scan'}-{now:%H%M%S}-{secrets.token_hex(3)}"
    folder = base / "scans" / f"{now:%Y-%m-%d}" / scan_id
    folder.mkdir(parents=True, exist_ok=False)
    paths: list[Path] = []
    encoded: list[bytes] = []
    for i, page in enumerate(pages, start=1):
        ok, buf = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError(f"第 {i} 页无法编码为 JPEG")
        data = buf.tobytes()
        path = folder / f"page-{i:02d}.jpg"
        atomic_write(path, data)
        paths.append(path)
        encoded.append(data)
    pdf_path = None
    if pdf or (pdf is None and len(pages) > 1):
        pdf_path = folder / "scan.pdf"
        atomic_write(pdf_path, pdf_bytes(encoded))
    return ScanFiles(scan_id=scan_id, folder=folder, pages=paths, pdf=pdf_path, data_dir=base)


def pdf_bytes(jpegs: Sequence[bytes]) -> bytes:
    """A multi-page PDF of JPEG pages (Pillow), each page as wide as A4 paper."""
    import io

    from PIL import Image

    images = [Image.open(io.BytesIO(data)) for data in jpegs]
    try:
        out = io.BytesIO()
        first, rest = images[0], images[1:]
        # One resolution for all pages: the first page's width maps to A4's 210 mm.
        dpi = max(72.0, first.width / A4_WIDTH_INCH)
        first.save(out, format="PDF", save_all=True, append_images=rest, resolution=dpi,
                   title="扫描件", producer="hall-kiosk")
        return out.getvalue()
    finally:
        for im in images:
            im.close()


# dup-ok: kiosk/records/util.py atomic_write_bytes; drivers import nothing from the records room
def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder, fsync, then replace: never a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
