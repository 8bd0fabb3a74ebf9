"""Hall broadcast routes: the manager sends and withdraws; the board and kiosk read what is active.

The service (hall.manage.broadcast) writes the audit rows itself, in the same
transaction as the broadcast, so a crash can never leave a message on the
screens that the audit trail does not show.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, Response, jsonify
from hall.manage.broadcast import MAX_HOURS, MAX_VOICE_EVERY, MAX_VOICE_TIMES, TARGETS, Broadcasts
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError
from hall.web.util import body, enabled, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("broadcast", __name__)


class BroadcastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=200)
    targets: list[str] = Field(min_length=1, max_length=len(TARGETS))
    # Either how long it runs (minutes from now) or when it ends (hall time, ISO-8601).
    minutes: int | None = Field(default=None, ge=1, le=MAX_HOURS * 60)
    expires_at: datetime | None = None
    voice_times: int = Field(default=1, ge=1, le=MAX_VOICE_TIMES)
    # 0: the repeats follow one another; N: one every N minutes while the message lasts
    voice_every_minutes: int = Field(default=0, ge=0, le=MAX_VOICE_EVERY)


def _broadcasts() -> Broadcasts:
    return enabled(services().broadcasts, "大厅广播")


def _actor() -> str:
    s = current_session()
    return s.staff_id if s is not None else "anonymous"


@bp.get("/api/broadcasts")
def public_broadcasts() -> Response:
    """Active broadcasts (public: the board and kiosk banners read it on load; changes come over SSE)."""
    return jsonify({"broadcasts": _broadcasts().current()})


@bp.get("/api/manage/broadcasts")
@require_role("manager")
def manager_broadcasts() -> Response:
    b = _broadcasts()
    return jsonify({"active": b.active(), "recent": b.recent()})


@bp.post("/api/manage/broadcasts")
@require_role("manager")
def send_broadcast() -> tuple[Response, int]:
    req = body(BroadcastRequest)
    svc = services()
    if (req.minutes is None) == (req.expires_at is None):
        raise ApiError("invalid", "请给出持续时间（分钟）或到期时间，二者选一", 400)
    now = svc.clock.now()
    expires = now + timedelta(minutes=req.minutes) if req.minutes is not None else req.expires_at
    assert expires is not None
    item = _broadcasts().send(req.message, req.targets, expires, _actor(), voice_times=req.voice_times,
                                voice_every_minutes=req.voice_every_minutes)
    return jsonify({"broadcast": item}), 201


@bp.post("/api/manage/broadcasts/<int:broadcast_id>/withdraw")
@require_role("manager")
def withdraw_broadcast(broadcast_id: int) -> Response:
    return jsonify({"broadcast": _broadcasts().withdraw(broadcast_id, _actor())})
