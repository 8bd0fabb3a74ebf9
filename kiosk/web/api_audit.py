"""The audit trail on the web: where each request comes from, and the manager's audit page API.

Every request runs inside an audit context (client address, device, the
signed-in role), so whichever part of the service writes an audit row during
it, the row says from where (the seal trigger reads the context).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from hall.manage.audit_log import ACTION_GROUPS, AuditFilter, actors, record, search, to_csv
from hall.store.audit_chain import reset_context, set_context, verify_audit
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError
from hall.web.util import date_arg, services

bp = Blueprint("audit", __name__)

MAX_PAGE = 1000
MAX_EXPORT = 100_000


def device_of_request() -> str:
    """The paired device's name when it sent its token, else the browser or program (User-Agent)."""
    paired = getattr(g, "hall_device", None)
    if paired:
        return str(paired)
    return (request.headers.get("User-Agent") or "")[:160]


@bp.before_app_request
def _enter_audit_context() -> None:
    s = current_session()
    g.hall_audit_token = set_context({
        "remote": request.remote_addr or "",
        "device": device_of_request(),
        "role": s.role if s is not None else "anonymous",
    })


@bp.teardown_app_request
def _leave_audit_context(exc: BaseException | None) -> None:
    token = g.pop("hall_audit_token", None)
    if token is not None:
        reset_context(token)


def audit_staff_action(action: str, target: str = "", detail: dict[str, Any] | str = "") -> None:
    """For routes whose action has no record of its own (exports, views of personal data)."""
    s = current_session()
    svc = services()
    record(svc.db, svc.clock, s.staff_id if s else "anonymous", s.role if s else "anonymous", action, target,
           detail)




def _filter() -> AuditFilter:
    before = request.args.get("before_id") or ""
    if before and not (before.isdigit() and len(before) < 16):
        raise ApiError("invalid", "参数 before_id 须为正整数", 400)
    text = {k: (request.args.get(k) or "").strip()[:64] or None for k in ("actor", "action", "role")}
    return AuditFilter(actor=text["actor"], action=text["action"], role=text["role"],
                       date_from=date_arg("date_from"), date_to=date_arg("date_to"),
                       before_id=int(before) if before else None)


def _names() -> dict[str, str]:
    return {s.id: s.name for s in services().config.staff}


@bp.get("/api/audit")
@require_role("manager")
def audit_entries() -> Response:
    """Newest first; `before_id` pages back. Filters: actor, action (or group), role, date_from, date_to."""
    raw = request.args.get("limit") or "200"
    if not (raw.isdigit() and 1 <= int(raw) <= MAX_PAGE):
        raise ApiError("invalid", f"参数 limit 须为 1–{MAX_PAGE}", 400)
    limit = int(raw)
    rows = search(services().db, _filter(), limit)
    names = _names()
    for r in rows:
        r["actor_name"] = names.get(r["actor"])
    return jsonify({"entries": rows, "next_before_id": rows[-1]["id"] if len(rows) == limit else None,
                    "groups": list(ACTION_GROUPS), "actors": actors(services().db)})


@bp.get("/api/audit/export")
@require_role("manager")
def audit_export() -> Response:
    flt = _filter()
    rows = search(services().db, flt, MAX_EXPORT)
    audit_staff_action("audit.export", "audit", {"rows": len(rows), **{k: str(v) for k, v in vars(flt).items()
                                                                      if v is not None}})
    resp = Response(to_csv(rows, _names()), mimetype="text/csv")
    resp.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return resp


@bp.get("/api/audit/verify")
@require_role("manager", "technician")
def audit_verify() -> Response:
    result = verify_audit(services().db.conn)
    return jsonify({"ok": result.ok, "rows": result.rows, "problems": result.problems, "anchor": result.anchor})
