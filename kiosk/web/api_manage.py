"""Manager routes: overview, period figures, monthly report, attendance, roster, notices, alerts.

Notices also have one public route, read by the kiosk and the board.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from hall.manage.alerts import alerts
from hall.manage.attendance import attendance
from hall.manage.figures import month_bounds, period_figures
from hall.manage.pauses import break_time
from hall.manage.targets import live_targets
from hall.services import Services
from hall.web.api_audit import audit_staff_action
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError
from hall.web.util import body, date_arg, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("manage", __name__)


def _workday_fn(svc: Services) -> Callable[[date], bool]:
    cal = getattr(svc, "calendar", None)
    if cal is not None and hasattr(cal, "is_workday"):
        fn: Callable[[date], bool] = cal.is_workday
        return fn
    return lambda d: d.isoweekday() <= 5




def _range() -> tuple[date, date]:
    svc = services()
    month = request.args.get("month")
    if month:
        m = re.fullmatch(r"(\d{4})-(\d{2})", month)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ApiError("invalid", "参数 month 须为 YYYY-MM", 400)
        return month_bounds(int(m.group(1)), int(m.group(2)))
    today = svc.clock.today()
    start, end = date_arg("start", today), date_arg("end", today)
    if end < start or (end - start).days > 400:
        raise ApiError("invalid", "日期范围无效（最长 400 天）", 400)
    return start, end


def _actor() -> str:
    s = current_session()
    assert s is not None
    return s.staff_id


@bp.get("/api/manage/overview")
@require_role("manager")
def overview() -> Response:
    svc = services()
    today = svc.clock.today()
    return jsonify({
        "snapshot": svc.engine.snapshot(),
        "today": period_figures(svc.db, svc.config, today, today),
        "alerts": alerts(svc.engine),
        "roster_today": svc.roster.day(today),
        "targets": _live_targets(),
    })


def _live_targets() -> list[dict[str, Any]]:
    svc = services()
    return live_targets(svc.db, svc.config, svc.clock.now(), svc.engine.service_day().isoformat())


@bp.get("/api/targets")
def public_targets() -> Response:
    """Service-level targets per category and which are over them now (public: the board marks them)."""
    return jsonify({"categories": _live_targets()})


@bp.get("/api/manage/figures")
@require_role("manager")
def figures() -> Response:
    svc = services()
    start, end = _range()
    return jsonify(period_figures(svc.db, svc.config, start, end))


@bp.get("/api/manage/alerts")
@require_role("manager")
def get_alerts() -> Response:
    return jsonify({"alerts": alerts(services().engine)})


@bp.get("/api/manage/pauses")
@require_role("manager")
def pause_figures() -> Response:
    """Break time per clerk, per reason, per day (month=YYYY-MM, or start/end)."""
    svc = services()
    start, end = _range()
    return jsonify(break_time(svc.db, svc.config, start, end, svc.clock.now()))


@bp.get("/api/manage/report")
@require_role("manager")
def monthly_report() -> Response:
    """一月一通报: the month's figures per window and per clerk, as JSON or CSV (no personal data)."""
    svc = services()
    start, end = _range()
    data = period_figures(svc.db, svc.config, start, end)
    if request.args.get("format") != "csv":
        return jsonify(data)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([f"{svc.config.hall.name} 月度通报", f"{start} 至 {end}"])
    head = ["对象", "取号数", "办结数", "过号数", "转移数", "过号率", "平均等候(分)", "平均办理(分)"]

    def row(label: str, f: dict[str, Any]) -> list[Any]:
        return [label, f["issued"], f["served"], f["no_show"], f["transferred"], f"{f['no_show_rate']:.1%}",
                f["mean_wait_minutes"] if f["mean_wait_minutes"] is not None else "",
                f["mean_service_minutes"] if f["mean_service_minutes"] is not None else ""]

    w.writerow(head)
    w.writerow(row("全大厅", data["total"]))
    for win in data["windows"]:
        w.writerow(row(f"{win['window']}号窗口", win))
    for c in data["clerks"]:
        w.writerow(row(f"{c['name']}（{c['post']}岗）", c))
    audit_staff_action("export", f"report-{start:%Y-%m}.csv")
    resp = Response("\ufeff" + out.getvalue(), mimetype="text/csv")  # BOM: Excel opens UTF-8 correctly
    resp.headers["Content-Disposition"] = f'attachment; filename="report-{start:%Y-%m}.csv"'
    return resp


@bp.get("/api/manage/attendance")
@require_role("manager")
def get_attendance() -> Response:
    svc = services()
    today = svc.clock.today()
    start, end = date_arg("start", today - timedelta(days=today.day - 1)), date_arg("end", today)
    if end < start or (end - start).days > 62:
        raise ApiError("invalid", "日期范围无效（最长 62 天）", 400)
    rows = attendance(svc.db, svc.config, start, end, svc.clock.now(), _workday_fn(svc))
    return jsonify({"start": start.isoformat(), "end": end.isoformat(), "rows": rows})


class RosterEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date
    staff_id: str = Field(min_length=1, max_length=32)
    note: str = Field(default="", max_length=100)


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date
    end: date
    staff_ids: list[str] = Field(min_length=1, max_length=50)
    per_day: int = Field(default=1, ge=1, le=5)


@bp.get("/api/manage/roster")
@require_role("manager")
def get_roster() -> Response:
    svc = services()
    today = svc.clock.today()
    start, end = date_arg("start", today), date_arg("end", today + timedelta(days=60))
    return jsonify({"entries": svc.roster.range(start, end)})


@bp.post("/api/manage/roster")
@require_role("manager")
def add_roster() -> tuple[Response, int]:
    req = body(RosterEntry)
    return jsonify(services().roster.assign(req.day, req.staff_id, _actor(), req.note)), 201


@bp.delete("/api/manage/roster")
@require_role("manager")
def delete_roster() -> Response:
    svc = services()
    day = date_arg("day", svc.clock.today())
    staff_id = request.args.get("staff_id", "")
    svc.roster.remove(day, staff_id)
    return jsonify({"ok": True})


@bp.post("/api/manage/roster/rotate")
@require_role("manager")
def rotate_roster() -> tuple[Response, int]:
    req = body(RotateRequest)
    svc = services()
    added = svc.roster.rotate(req.start, req.end, req.staff_ids, _actor(), _workday_fn(svc), req.per_day)
    return jsonify({"added": added}), 201


class NoticeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=4000)
    kind: str = Field(default="policy", pattern=r"^(policy|hall)$")
    expires_on: date | None = None


@bp.get("/api/notices")
def public_notices() -> Response:
    return jsonify({"notices": services().notices.active()})


# dup-ok: a manager CRUD route, shaped like api_village.py villages/agents
@bp.get("/api/manage/notices")
@require_role("manager")
def all_notices() -> Response:
    return jsonify({"notices": services().notices.all()})


@bp.post("/api/manage/notices")
@require_role("manager")
def create_notice() -> tuple[Response, int]:
    req = body(NoticeRequest)
    n = services().notices.create(req.title, req.body, req.kind, _actor(), req.expires_on)
    return jsonify({"notice": n}), 201


@bp.post("/api/manage/notices/<int:notice_id>/withdraw")
@require_role("manager")
def withdraw_notice(notice_id: int) -> Response:
    services().notices.withdraw(notice_id, _actor())
    return jsonify({"ok": True})
