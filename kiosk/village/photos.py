"""Photos of materials from the agent's phone: checked, cleaned and stored under the data folder.

An upload is accepted only if it is small enough, starts like a JPEG, PNG or
WebP file and Pillow can decode it within a pixel budget. It is then stored
re-encoded as a JPEG: turned upright from the phone's EXIF orientation, scaled
to at most 2400 px, and written without any metadata, so the GPS position of a
villager's home a phone writes into its photos never reaches the ledger.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from hall.records.util import atomic_write_bytes
from hall.village.base import VillageError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # a phone's original photo; the agent page sends ~0.3 MB
MAX_PIXELS = 40_000_000  # decompression bombs stop here
MAX_SIDE = 2400
JPEG_QUALITY = 85
MAX_PHOTOS_PER_RECORD = 30

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"WEBP", 8, "WEBP"),
)


@dataclass(frozen=True)
class StoredPhoto:
    relpath: str  # relative to the data folder, with forward slashes
    size: int
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    """The image format the bytes claim to be (by their signature), or None."""
    for sig, offset, fmt in _SIGNATURES:
        if data[offset : offset + len(sig)] == sig and (fmt != "WEBP" or data[:4] == b"RIFF"):
            return fmt
    return None


def clean_image(data: bytes) -> tuple[bytes, int, int]:
    """A metadata-free upright JPEG from an uploaded JPEG/PNG/WebP; VillageError if it is not one."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise VillageError("invalid", "照片文件为空", 400)
    if len(data) > MAX_UPLOAD_BYTES:
        raise VillageError(
            "too_large", f"照片过大（超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB），请重新拍摄", 413
        )
    claimed = sniff(data)
    if claimed is None:
        raise VillageError("bad_image", "只能上传照片（JPEG、PNG 或 WebP 图片）", 415)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != claimed:
                raise VillageError("bad_image", "图片内容与格式不符，请重新拍摄", 415)
            if probe.width * probe.height > MAX_PIXELS:
                raise VillageError("too_large", "照片像素过大，请降低相机分辨率后重拍", 413)
            probe.verify()  # structure check without decoding everything
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
            rgb = upright.convert("RGB")
    except VillageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise VillageError("bad_image", "照片无法读取（文件损坏或不是图片），请重新拍摄", 415) from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif= argument: no metadata
    return out.getvalue(), rgb.width, rgb.height


def store(data_dir: Path, village_id: int, record_id: int, data: bytes) -> StoredPhoto:
    """Clean the image and write it atomically under <data>/village/<village>/<record>/."""
    jpeg, width, height = clean_image(data)
    rel = Path("village") / str(village_id) / str(record_id) / f"{secrets.token_hex(8)}.jpg"
    target = data_dir / rel
    atomic_write_bytes(target, jpeg)
    return StoredPhoto(rel.as_posix(), len(jpeg), width, height)


def resolve(data_dir: Path, relpath: str) -> Path:
    """The file of a stored photo; refuses paths that leave the village folder."""
    base = (data_dir / "village").resolve()
    p = (data_dir / relpath).resolve()
    if not p.is_relative_to(base):
        raise VillageError("not_found", "照片不存在", 404)
    return p
