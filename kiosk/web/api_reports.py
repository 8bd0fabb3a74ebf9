"""Excel report downloads for the manager (.xlsx); each download is audited as an export.

Each workbook is built by a child process (hall.manage.excel_child), so a download does not leave
openpyxl and numpy (~20 MB) resident in the service until its next restart."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, request
from hall.manage.excel import KINDS
from hall.manage.excel_child import build_in_child
from hall.web.api_audit import audit_staff_action
from hall.web.auth import require_role
from hall.web.errors import ApiError
from hall.web.util import services

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month() -> str:
    svc = services()
    raw = request.args.get("month") or f"{svc.clock.today():%Y-%m}"
    m = re.fullmatch(r"(\d{4})-(\d{2})", raw)
    if not m or not 2000 <= int(m.group(1)) <= 2100 or not 1 <= int(m.group(2)) <= 12:
        raise ApiError("invalid", "参数 month 须为 YYYY-MM", 400)
    return raw


def _day() -> date:
    raw = request.args.get("date")
    if not raw:
        return services().clock.today()
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid", "参数 date 须为日期 YYYY-MM-DD", 400) from None
    if not 2000 <= d.year <= 2100:
        raise ApiError("invalid", "参数 date 超出范围", 400)
    return d


@bp.get("/api/manage/xlsx/<kind>")
@require_role("manager")
def download(kind: str) -> Response:
    """daily (?date=), monthly (一月一通报), clerks, ratings, cases (?month=YYYY-MM) as .xlsx."""
    if kind not in KINDS:
        raise ApiError("not_found", f"报表类型应为 {'、'.join(KINDS)} 之一", 404)
    svc = services()
    if kind in ("ratings", "cases") and svc.records is None:
        raise ApiError("unavailable", "办件与评价记录未启用", 503)
    day, month = (_day(), None) if kind == "daily" else (None, _month())
    try:
        data, name = build_in_child(svc.config, svc.data_dir, svc.db.path, kind, svc.clock.now(), day=day, month=month)
    except RuntimeError as exc:
        raise ApiError("unavailable", f"报表生成失败：{exc}", 503) from None
    audit_staff_action("export", name, {"bytes": len(data)})
    resp = Response(data, mimetype=XLSX)
    resp.headers["Content-Disposition"] = f"attachment; filename=\"report.xlsx\"; filename*=UTF-8''{quote(name)}"
    return resp
