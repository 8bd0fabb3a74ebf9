"""Who is asking: the staff session behind a request, and role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, request
from hall.config.schema import Staff
from hall.sessions import Principal, Session
from hall.web.errors import ApiError

COOKIE = "hall_session"
F = TypeVar("F", bound=Callable[..., Any])


def token_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


def open_session(who: Staff | Principal, window: int | None) -> tuple[Response, int]:
    """A sign-in's answer: the token in the body (tablet apps send it back as a Bearer token) and as the
    browser's HttpOnly cookie, so staff and agent sign-in hand out sessions the same way."""
    sessions = current_app.extensions["hall"].sessions
    token = sessions.create(who, window)
    session = sessions.get(token)
    assert session is not None
    resp = jsonify({"token": token, "session": session.public()})
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=12 * 3600)
    return resp, 201


def current_session() -> Session | None:
    if "hall_session" not in g:
        g.hall_session = current_app.extensions["hall"].sessions.get(token_from_request())
    session: Session | None = g.hall_session
    return session


def on_post(window: int | None = None) -> Session:
    """The session, checked to be the clerk on duty at `window` (their own when None); managers pass.

    A clerk's session names the window they signed in at, but the post can
    change hands since (AB handover, or they signed in at another window):
    their next action is then refused, naming who holds the window now.
    """
    s = current_session()
    if s is None:
        raise ApiError("login_required", "请先登录", 401)
    if s.role != "clerk":
        return s
    if window is not None and s.window != window:
        raise ApiError("wrong_window", f"您登录的是{s.window}号窗口，不能操作{window}号窗口", 403)
    if s.window is None:
        raise ApiError("no_window", "请先登录窗口", 403)
    svc = current_app.extensions["hall"]
    holder = svc.engine.post_holder(s.window)
    if holder is None:
        raise ApiError("post_left", f"您已不在{s.window}号窗口岗位上，请重新登录窗口", 403)
    if holder[0] != s.staff_id:
        who = svc.config.staff_member(holder[0])
        name = who.name if who is not None else holder[0]
        raise ApiError("post_taken",
                       f"{s.window}号窗口现由{name}（{holder[1]}岗）值守，您已交接，不能再操作该窗口", 403)
    return s


def require_role(*roles: str) -> Callable[[F], F]:
    """Routes for staff only: 401 without a session, 403 with the wrong role."""

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            s = current_session()
            if s is None:
                raise ApiError("login_required", "请先登录", 401)
            if s.role not in roles:
                raise ApiError("forbidden", "当前账号无权执行此操作", 403)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco
