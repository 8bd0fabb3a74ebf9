"""Material photos on a 代办 request: added (idempotent on the phone's client key), served, deleted.

The file and its row live or die together: a photo whose row was not written
(a race, a handover meanwhile) has its file removed. Photos can change only
while the request is still in the village.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hall.records.util import audit
from hall.village import photos
from hall.village.base import Who, conflict, forbidden, invalid, not_found
from hall.village.ledger_views import LedgerViews
from hall.village.models import EDITABLE


class LedgerPhotos(LedgerViews):
    """Adds the material photos; scope checks reuse the same row look-up as every other step."""

    def add_photo(
        self, record_id: int, who: Who, client_key: str, material: str, data: bytes
    ) -> tuple[dict[str, Any], bool]:
        if not who.is_agent:
            raise forbidden("只有本村代办员可以上传材料照片")
        with self.db.read() as c:
            row = self._row(c, record_id, who)
            existing = c.execute(
                "SELECT * FROM village_photos WHERE record_id = ? AND client_key = ?", (record_id, client_key)
            ).fetchone()
            count = c.execute(
                "SELECT COUNT(*) FROM village_photos WHERE record_id = ?", (record_id,)
            ).fetchone()[0]
        if existing is not None:
            return self._photo_view(existing), False
        if row["state"] not in EDITABLE:
            raise conflict("not_editable", f"代办已{row['state']}，不能再添加照片")
        names = [m["name"] for m in self._materials(row)]
        if material and material not in names:
            raise invalid(f"材料“{material}”不在该事项的材料清单中")
        if count >= photos.MAX_PHOTOS_PER_RECORD:
            raise conflict("too_many", f"每条代办最多 {photos.MAX_PHOTOS_PER_RECORD} 张照片")
        stored = photos.store(self.data_dir, row["village_id"], record_id, data)
        now = self._now()
        try:
            with self.db.write() as c:
                state = c.execute("SELECT state FROM village_records WHERE id = ?", (record_id,)).fetchone()[
                    0
                ]
                if state not in EDITABLE:  # handed over while the photo was on its way
                    raise conflict("not_editable", f"代办已{state}，不能再添加照片")
                cur = c.execute(
                    "INSERT INTO village_photos (record_id, client_key, material, path, bytes, width, "
                    "height, added_at, "
                    "added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record_id,
                        client_key,
                        material,
                        stored.relpath,
                        stored.size,
                        stored.width,
                        stored.height,
                        now,
                        who.id,
                    ),
                )
                audit(c, now, who.actor(), "village.photo", f"village_record:{record_id}", material or "其他")
                photo = c.execute("SELECT * FROM village_photos WHERE id = ?", (cur.lastrowid,)).fetchone()
        except sqlite3.IntegrityError:
            (self.data_dir / stored.relpath).unlink(missing_ok=True)  # the same photo won a race
            photo = self.db.conn.execute(
                "SELECT * FROM village_photos WHERE record_id = ? AND client_key = ?", (record_id, client_key)
            ).fetchone()
            if photo is None:
                raise
            return self._photo_view(photo), False
        except BaseException:
            (self.data_dir / stored.relpath).unlink(missing_ok=True)  # no row, no file
            raise
        return self._photo_view(photo), True

    def photo_file(self, record_id: int, photo_id: int, who: Who) -> Path:
        with self.db.read() as c:
            self._row(c, record_id, who)
            p = c.execute(
                "SELECT path FROM village_photos WHERE id = ? AND record_id = ?", (photo_id, record_id)
            ).fetchone()
        if p is None:
            raise not_found("照片")
        path = photos.resolve(self.data_dir, p[0])
        if not path.is_file():
            raise not_found("照片文件")
        return path

    def delete_photo(self, record_id: int, photo_id: int, who: Who) -> None:
        if not who.is_agent:
            raise forbidden("只有本村代办员可以删除材料照片")
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            if row["state"] not in EDITABLE:
                raise conflict("not_editable", f"代办已{row['state']}，照片已随材料送出，不能删除")
            p = c.execute(
                "SELECT * FROM village_photos WHERE id = ? AND record_id = ?", (photo_id, record_id)
            ).fetchone()
            if p is None:
                raise not_found("照片")
            c.execute("DELETE FROM village_photos WHERE id = ?", (photo_id,))
            audit(
                c,
                self._now(),
                who.actor(),
                "village.photo.delete",
                f"village_record:{record_id}",
                str(photo_id),
            )
        photos.resolve(self.data_dir, p["path"]).unlink(missing_ok=True)
