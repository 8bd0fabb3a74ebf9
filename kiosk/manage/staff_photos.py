"""Staff photos for the 公示栏 and the hall's rules text, both set by the manager.

A photo is re-encoded on upload with Pillow: whatever came in (JPEG, PNG,
WebP; a phone photo with GPS in its EXIF) leaves as a fresh baseline JPEG at
most MAX_SIDE pixels on its long side, turned upright by its EXIF orientation
and then carrying no metadata at all. A photo is personal data the hall shows
on purpose; where it was taken is not.
"""

from __future__ import annotations

import io
import sqlite3
from dataclasses import dataclass
from typing import Any

from hall.records.util import Actor, audit

MAX_UPLOAD_BYTES = 8 * 1024 * 1024      # a phone photo fits; anything bigger is refused (413)
MAX_PIXELS = 40_000_000                 # decompression bombs: refused before decoding
MAX_SIDE = 600
MAX_RULES_CHARS = 4000
FORMATS = ("JPEG", "PNG", "WEBP")


class PhotoError(ValueError):
    # dup-ok: coded errors (code, message, status) like pairing.py PairingError, for another API
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    width: int
    height: int


def reencode(data: bytes) -> Photo:
    """The upload as a small upright JPEG without EXIF; PhotoError with a Chinese reason otherwise."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoError("too_large", f"照片不能超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", 413)
    if not data:
        raise PhotoError("empty", "请上传照片文件（JPEG、PNG 或 WebP）")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in FORMATS:
                raise PhotoError("bad_format", "照片格式须为 JPEG、PNG 或 WebP")
            if img.width * img.height > MAX_PIXELS:
                raise PhotoError("too_many_pixels", "照片像素过大，请缩小后再上传", 413)
            upright = ImageOps.exif_transpose(img)
            rgb = upright.convert("RGB")
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PhotoError("bad_image", "无法识别的照片文件，请上传 JPEG、PNG 或 WebP 照片") from exc
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=85, optimize=True)      # no exif= argument: no metadata
    return Photo(out.getvalue(), rgb.width, rgb.height)


def save_photo(c: sqlite3.Connection, at: str, actor: Actor, staff_id: str, photo: Photo) -> None:
    c.execute("INSERT INTO staff_photos (staff_id, jpeg, width, height, updated_at, updated_by) "
              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(staff_id) DO UPDATE SET jpeg = excluded.jpeg, "
              "width = excluded.width, height = excluded.height, updated_at = excluded.updated_at, "
              "updated_by = excluded.updated_by",
              (staff_id, photo.jpeg, photo.width, photo.height, at, actor.id))
    audit(c, at, actor, "staff.photo", staff_id, f"{photo.width}x{photo.height} {len(photo.jpeg)} B")


def delete_photo(c: sqlite3.Connection, at: str, actor: Actor, staff_id: str) -> bool:
    gone = c.execute("DELETE FROM staff_photos WHERE staff_id = ?", (staff_id,)).rowcount > 0
    if gone:
        audit(c, at, actor, "staff.photo.delete", staff_id)
    return gone


def photo_of(c: sqlite3.Connection, staff_id: str) -> tuple[bytes, str] | None:
    row = c.execute("SELECT jpeg, updated_at FROM staff_photos WHERE staff_id = ?", (staff_id,)).fetchone()
    return (bytes(row[0]), str(row[1])) if row else None


def photo_ids(c: sqlite3.Connection) -> dict[str, str]:
    """staff id → when the photo changed (screens add it to the URL, so a new photo is not cached away)."""
    return {str(r[0]): str(r[1]) for r in c.execute("SELECT staff_id, updated_at FROM staff_photos")}


def rules_text(c: sqlite3.Connection) -> dict[str, Any] | None:
    row = c.execute("SELECT text, updated_at, updated_by FROM hall_texts WHERE key = 'rules'").fetchone()
    return {"text": row[0], "updated_at": row[1], "updated_by": row[2]} if row else None


def save_rules(c: sqlite3.Connection, at: str, actor: Actor, text: str) -> None:
    c.execute("INSERT INTO hall_texts (key, text, updated_at, updated_by) VALUES ('rules', ?, ?, ?) "
              "ON CONFLICT(key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at, "
              "updated_by = excluded.updated_by", (text, at, actor.id))
    audit(c, at, actor, "hall.rules", "rules", f"{len(text)} 字")
