"""Who is asking: the staff session behind a request, and role checks."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from hall.sessions import Session
from hall.web.errors import ApiError

COOKIE = "hall_session"
F = TypeVar("F", bound=Callable[..., Any])


def token_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.cookies.get(COOKIE)


def current_session() -> Session | None:
    if "hall_session" not in g:
        g.hall_session = current_app.extensions["hall"].sessions.get(token_from_request())
    session: Session | None = g.hall_session
    return session


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
