"""Appointment routes: staff book (manager page), the kiosk checks in (预约签到)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from hall.records.models import AppointmentIn
from hall.web.api_cases import citizen_actor, records, staff_actor
from hall.web.api_printer import KIOSK_ID, known_kiosk
from hall.web.auth import require_role
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("appointments", __name__)


class CheckInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=80)
    kiosk: str | None = Field(default=None, pattern=KIOSK_ID)   # the terminal: its printer prints the slip


@bp.post("/api/appointments/check-in")
def check_in() -> tuple[Response, int]:
    """The kiosk: a code typed or scanned (QR) → a ticket in the appointment lane."""
    req = body(CheckInRequest)
    kiosk = known_kiosk(services(), req.kiosk)
    result = records().appointments.check_in(req.code, citizen_actor("kiosk"), terminal=kiosk)
    return jsonify(result), 200 if result["already"] else 201


@bp.post("/api/appointments")
@require_role("manager")
def book() -> tuple[Response, int]:
    req = body(AppointmentIn)
    return jsonify({"appointment": records().appointments.book(req, staff_actor())}), 201


@bp.get("/api/appointments")
@require_role("clerk", "manager")
def list_appointments() -> Response:
    """A day's appointments (?day=YYYY-MM-DD, default today), masked."""
    rec = records()
    day = request.args.get("day") or rec.ctx.now().date().isoformat()
    if len(day) != 10:
        raise ApiError("invalid", "参数 day 须为 YYYY-MM-DD", 400)
    return jsonify({"day": day, "appointments": rec.appointments.search(day=day,
                                                                      state=request.args.get("state") or None)})


@bp.post("/api/appointments/<int:appt_id>/cancel")
@require_role("manager")
def cancel(appt_id: int) -> Response:
    return jsonify({"appointment": records().appointments.cancel(appt_id, staff_actor())})
