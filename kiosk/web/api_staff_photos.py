"""Faces on the 公示栏: the manager uploads staff photos and edits the hall's rules text.

Uploads are the raw image as the request body (Content-Type image/jpeg, image/png or image/webp):
the manager page sends the chosen file as is, and the service re-encodes it (hall.manage.staff_photos).
Every change is audited; reads are public, as the 公示栏 itself is.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from hall.manage.staff_photos import (
    MAX_RULES_CHARS,
    MAX_UPLOAD_BYTES,
    PhotoError,
    delete_photo,
    photo_ids,
    photo_of,
    reencode,
    rules_text,
    save_photo,
    save_rules,
)
from hall.queue.clock import iso
from hall.web.api_cases import staff_actor
from hall.web.auth import require_role
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("staff_photos", __name__)


class RulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_RULES_CHARS)


def _staff(staff_id: str) -> None:
    member = services().config.staff_member(staff_id)
    if member is None or member.role != "clerk":
        raise ApiError("unknown_clerk", f"工号 {staff_id} 不是窗口工作人员", 404)


@bp.put("/api/staff/<staff_id>/photo")
@require_role("manager")
def upload_photo(staff_id: str) -> Response:
    _staff(staff_id)
    if (request.content_length or 0) > MAX_UPLOAD_BYTES:
        raise ApiError("too_large", f"照片不能超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB", 413)
    try:
        photo = reencode(request.get_data(cache=False))
    except PhotoError as exc:
        raise ApiError(exc.code, exc.message, exc.status) from None
    svc = services()
    at = iso(svc.clock.now())
    with svc.db.write() as c:
        save_photo(c, at, staff_actor(), staff_id, photo)
    return jsonify({"staff_id": staff_id, "width": photo.width, "height": photo.height, "bytes": len(photo.jpeg),
                    "updated_at": at})


@bp.delete("/api/staff/<staff_id>/photo")
@require_role("manager")
def remove_photo(staff_id: str) -> Response:
    _staff(staff_id)
    svc = services()
    with svc.db.write() as c:
        if not delete_photo(c, iso(svc.clock.now()), staff_actor(), staff_id):
            raise ApiError("not_found", "该工作人员还没有照片", 404)
    return jsonify({"staff_id": staff_id, "deleted": True})


@bp.get("/api/staff/<staff_id>/photo")
def get_photo(staff_id: str) -> Response:
    with services().db.read() as c:
        found = photo_of(c, staff_id)
    if found is None:
        raise ApiError("not_found", "该工作人员还没有照片", 404)
    resp = Response(found[0], mimetype="image/jpeg")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/api/staff/photos")
def list_photos() -> Response:
    """Which clerks have a photo (and since when): screens ask once, then load only those."""
    with services().db.read() as c:
        return jsonify({"photos": photo_ids(c)})


@bp.get("/api/hall/rules")
def get_rules() -> Response:
    """The hall's rules text for the 公示栏; null text: the screens' shipped default."""
    with services().db.read() as c:
        found = rules_text(c)
    return jsonify(found or {"text": None, "updated_at": None, "updated_by": None})


@bp.put("/api/hall/rules")
@require_role("manager")
def put_rules() -> Response:
    req = body(RulesIn)
    svc = services()
    at = iso(svc.clock.now())
    with svc.db.write() as c:
        save_rules(c, at, staff_actor(), req.text.strip())
    return jsonify({"text": req.text.strip(), "updated_at": at})
