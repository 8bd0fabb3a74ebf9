"""Faces on the 公示栏 (issue 11 item 7): the manager's photo upload is re-encoded (EXIF and GPS gone, size
bounded), oversized or non-image uploads get a clear 413/400, only the manager may change photos or the
hall's rules text, and every change is in the audit trail."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.conftest import auth

GPS_IFD = 0x8825


def _auth(api: Any, staff_id: str, secret: str, window: int | None = None) -> dict[str, str]:
    return auth(api, staff_id, secret, window)


@pytest.fixture
def manager(api: Any) -> dict[str, str]:
    return _auth(api, "9001", "hall-8888")


def _phone_photo(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A JPEG as a phone writes it: camera make, GPS position and an orientation tag in its EXIF."""
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))      # left half blue: shows the turn
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"                                   # Make
    exif[0x0112] = 6                                              # Orientation: rotate 90° clockwise
    exif[GPS_IFD] = {1: "N", 2: (28.0, 11.0, 30.0), 3: "E", 4: (112.0, 58.0, 10.0)}
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture really carries GPS
    return data


def test_upload_strips_exif_and_bounds_the_size(api: Any, manager: dict[str, str], services: Any) -> None:
    r = api.put("/api/staff/1001/photo", data=_phone_photo(), headers={**manager, "Content-Type": "image/jpeg"})
    assert r.status_code == 200, r.get_json()
    assert max(r.get_json()["width"], r.get_json()["height"]) <= 600
    got = api.get("/api/staff/1001/photo")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    img = Image.open(io.BytesIO(got.data))
    assert img.format == "JPEG" and max(img.size) <= 600
    assert not img.getexif() and b"Exif" not in got.data and b"PhoneMaker" not in got.data
    assert img.size[1] > img.size[0]                             # turned upright by its orientation tag
    assert api.get("/api/staff/photos").get_json()["photos"].keys() == {"1001"}
    rows = services.db.conn.execute("SELECT action, target FROM audit WHERE action LIKE 'staff.photo%'").fetchall()
    assert [tuple(x) for x in rows] == [("staff.photo", "1001")]


def test_png_is_accepted_and_re_encoded_as_jpeg(api: Any, manager: dict[str, str]) -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (300, 400), (0, 128, 0, 128)).save(buf, format="PNG")
    r = api.put("/api/staff/1002/photo", data=buf.getvalue(), headers={**manager, "Content-Type": "image/png"})
    assert r.status_code == 200, r.get_json()
    assert Image.open(io.BytesIO(api.get("/api/staff/1002/photo").data)).format == "JPEG"


def test_oversized_and_non_image_uploads_are_refused_clearly(api: Any, manager: dict[str, str]) -> None:
    big = b"\xff\xd8" + b"\0" * (8 * 1024 * 1024 + 10)
    r = api.put("/api/staff/1001/photo", data=big, headers={**manager, "Content-Type": "image/jpeg"})
    assert r.status_code == 413 and "8 MB" in r.get_json()["error"]["message"]
    r = api.put("/api/staff/1001/photo", data=b"not a picture", headers={**manager, "Content-Type": "image/jpeg"})
    assert r.status_code == 400 and "照片" in r.get_json()["error"]["message"]
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="GIF")
    r = api.put("/api/staff/1001/photo", data=buf.getvalue(), headers={**manager, "Content-Type": "image/gif"})
    assert r.status_code == 400 and "JPEG" in r.get_json()["error"]["message"]
    assert api.get("/api/staff/1001/photo").status_code == 404              # nothing was stored
    assert api.put("/api/staff/9999/photo", data=_phone_photo((50, 50)), headers=manager).status_code == 404


def test_only_the_manager_changes_photos_and_rules(api: Any, manager: dict[str, str], services: Any) -> None:
    clerk = _auth(api, "1001", "123456", 1)
    photo = _phone_photo((80, 60))
    assert api.put("/api/staff/1001/photo", data=photo).status_code == 401
    assert api.put("/api/staff/1001/photo", data=photo, headers=clerk).status_code == 403
    assert api.put("/api/hall/rules", json={"text": "x"}, headers=clerk).status_code == 403
    assert api.get("/api/hall/rules").get_json()["text"] is None             # screens show their default
    rules = "首问负责制：第一位接待的工作人员负责到底。\n限时办结制：承诺件按时办结。"
    r = api.put("/api/hall/rules", json={"text": rules}, headers=manager)
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/hall/rules").get_json()["text"] == rules
    assert api.put("/api/hall/rules", json={"text": "长" * 4001}, headers=manager).status_code == 400
    assert api.put("/api/staff/1003/photo", data=photo, headers=manager).status_code == 200
    assert api.delete("/api/staff/1003/photo", headers=manager).status_code == 200
    assert api.get("/api/staff/1003/photo").status_code == 404
    actions = [r[0] for r in services.db.conn.execute("SELECT action FROM audit ORDER BY id")]
    assert {"hall.rules", "staff.photo", "staff.photo.delete"} <= set(actions)
