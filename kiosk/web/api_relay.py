"""Relay routes for technicians (and the manager's view): backlog, errors, dead letters, retry.

Dead letters are listed without their payloads: those hold the applicants'
personal data, which only the relay itself hands to the county.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from hall.relay.outbox import dead_letters, retry_dead_letter
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError
from hall.web.util import int_arg, services

bp = Blueprint("relay", __name__)


@bp.get("/api/relay")
@require_role("technician", "manager")
def relay_overview() -> Response:
    svc = services()
    limit = int_arg("limit", lo=1, hi=1000) or 200   # refused (400) when not 1–1000, rather than silently clamped
    return jsonify({"status": svc.relay_status(), "dead_letters": dead_letters(svc.db, limit)})


@bp.post("/api/relay/dead-letters/<int:row_id>/retry")
@require_role("technician")
def retry(row_id: int) -> tuple[Response, int]:
    svc = services()
    s = current_session()
    assert s is not None  # require_role ran first
    if not retry_dead_letter(svc.db, row_id, actor=s.staff_id, remote=request.remote_addr):
        raise ApiError("not_found", f"没有编号为 {row_id} 的待重发报文（可能已重发）", 404)
    if svc.relay is not None:
        svc.relay.wake()
    return jsonify({"ok": True, "id": row_id, "message": "已重新排队发送"}), 202
