"""Staff sign-in and sign-out; a clerk's sign-in also puts them on a window post."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from hall.store.audit_chain import update_context
from hall.web.auth import COOKIE, current_session, open_session, token_from_request
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("session", __name__)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str = Field(min_length=1, max_length=32)
    pin: str = Field(min_length=4, max_length=128)   # a clerk's PIN, or the manager's/technician's password
    window: int | None = Field(default=None, ge=1, le=99)
    post: str | None = Field(default=None, pattern=r"^[AB]$")


@bp.post("/api/session")
def login() -> tuple[Response, int]:
    req = body(LoginRequest)
    svc = services()
    staff = svc.sessions.authenticate(req.staff_id, req.pin, request.remote_addr or "")
    update_context(role=staff.role)     # what this request does next is done by the one who signed in
    window = req.window
    if staff.role == "clerk":
        if window is None:
            raise ApiError("window_required", "请选择要登录的窗口", 400)
        svc.engine.login(window, staff.id, req.post)
    else:
        window = None
    return open_session(staff, window)


@bp.get("/api/session")
def whoami() -> Response:
    s = current_session()
    if s is None:
        raise ApiError("login_required", "请先登录", 401)
    return jsonify({"session": s.public()})


@bp.delete("/api/session")
def logout() -> Response:
    s = current_session()
    token = token_from_request()
    svc = services()
    if s is not None and token:
        if s.role == "clerk" and s.window is not None:
            svc.engine.logout(s.window, s.staff_id)
        svc.sessions.delete(token)
        svc.sessions.audit(s.staff_id, s.role, "auth.logout", f"account:{s.staff_id}")
    resp = jsonify({"ok": True})
    resp.delete_cookie(COOKIE)
    return resp


@bp.after_app_request
def _no_store(resp: Response) -> Response:
    if request.path.startswith("/api/"):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp
