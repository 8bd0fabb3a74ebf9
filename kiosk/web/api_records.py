"""Record routes: complaints from the kiosk, the manager's figures, report and CSV, holiday lists."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from hall.records.models import ComplaintIn
from hall.records.workdays import CalendarError
from hall.web.api_audit import audit_staff_action
from hall.web.api_cases import citizen_actor, records, staff_actor
from hall.web.auth import require_role
from hall.web.errors import ApiError
from hall.web.util import body
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("records", __name__)


class HandleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reply: str = Field(min_length=1, max_length=1000)


class HolidayList(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holidays: list[str]
    workdays: list[str] = []
    source: str = Field(default="", max_length=200)


@bp.post("/api/complaints")
def submit_complaint() -> tuple[Response, int]:
    """意见箱 at the kiosk: preset reasons and/or text, optional contact (stored, shown masked)."""
    req = body(ComplaintIn)
    return jsonify(records().complaints.submit(req, citizen_actor("kiosk"))), 201


@bp.get("/api/complaints")
@require_role("manager")
def list_complaints() -> Response:
    rec = records()
    period = request.args.get("period")
    start = end = None
    if period:
        _, _, _, start, end = rec.figures.period(period)
    return jsonify({"complaints": rec.complaints.search(start=start, end=end,
                                                        open_only=request.args.get("open") in ("1", "true"))})


@bp.post("/api/complaints/<int:cid>/handle")
@require_role("manager")
def handle_complaint(cid: int) -> Response:
    req = body(HandleRequest)
    return jsonify({"complaint": records().complaints.handle(cid, req.reply, staff_actor())})


@bp.get("/api/records/figures")
@require_role("manager")
def figures() -> Response:
    """评价率, 满意率, 差评 per window and clerk for ?period=YYYY-MM-DD (default today) or YYYY-MM."""
    return jsonify(records().records_figures(request.args.get("period") or None))


@bp.get("/api/records/report")
@require_role("manager")
def report() -> Response:
    """一月一通报 data for ?month=YYYY-MM (default this month)."""
    rec = records()
    now = rec.ctx.now()
    month = request.args.get("month") or f"{now.year:04d}-{now.month:02d}"
    return jsonify(rec.figures.monthly_report(month))


@bp.get("/api/records/export/<kind>")
@require_role("manager")
def export(kind: str) -> Response:
    """One month (?month=YYYY-MM) of ratings, cases, complaints, appointments or rectifications as CSV, masked."""
    rec = records()
    now = rec.ctx.now()
    month = request.args.get("month") or f"{now.year:04d}-{now.month:02d}"
    text = rec.figures.export_csv(kind, month)
    audit_staff_action("export", f"{kind}-{month}.csv", {"rows": max(0, text.count("\n") - 1)})
    resp = Response(text.encode("utf-8"), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{kind}-{month}.csv"'
    return resp


@bp.get("/api/records/holidays")
@require_role("manager", "technician")
def holidays() -> Response:
    """Which years have an official holiday list (the hall's file or the package) and which are guessed."""
    rec = records()
    year = rec.ctx.now().year
    info: dict[str, Any] = rec.calendar.years()
    info["next_year_known"] = rec.calendar.known(year + 1)
    info["this_year_known"] = rec.calendar.known(year)
    return jsonify(info)


@bp.put("/api/records/holidays/<int:year>")
@require_role("technician")
def set_holidays(year: int) -> Response:
    """Install a year's official holidays and adjusted workdays (from the State Council notice)."""
    if not 2000 <= year <= 2100:
        raise ApiError("invalid", "年份无效", 400)
    req = body(HolidayList)
    rec = records()
    try:
        rec.calendar.set_year(year, req.model_dump())
    except CalendarError as exc:
        raise ApiError("invalid", str(exc), 400) from exc
    with rec.ctx.db.write() as c:
        rec.ctx.audit(c, staff_actor(), "calendar.set_year", str(year), req.source)
    return jsonify({"year": year, "known": rec.calendar.known(year)})
