"""JSON errors for the API: `{"error": {"code", "message"}}` with a fitting status.

Messages a citizen or clerk may see are Chinese; the code is stable for programs.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from hall.queue.errors import QueueError
from hall.web.field_errors import validation_error
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

_HTTP_MESSAGES = {
    400: "请求格式错误",
    401: "请先登录",
    403: "无权执行此操作",
    404: "请求的地址不存在",
    405: "不支持该请求方法",
    413: "上传内容过大",
    415: "请求内容须为 JSON",
    429: "请求过于频繁，请稍后再试",
    503: "服务繁忙，请稍后再试",
}


class ApiError(QueueError):
    """An error raised by the web layer itself (bad input, missing login)."""


def error_response(code: str, message: str, status: int, **extra: Any) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(QueueError)
    def _queue_error(exc: QueueError) -> tuple[Response, int]:
        resp, status = error_response(exc.code, exc.message, exc.status)
        retry_after = getattr(exc, "retry_after", None)   # throttles say when to come back
        if retry_after is not None:
            resp.headers["Retry-After"] = str(int(retry_after))
        return resp, status

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> tuple[Response, int]:
        message, field = validation_error(exc)
        return error_response("invalid", message, 400, field=field)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        if not (request.path.startswith("/api/") or request.path == "/healthz"):
            return exc
        status = exc.code or 500
        return error_response(f"http_{status}", _HTTP_MESSAGES.get(status, exc.name), status)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal", "系统内部错误，请联系工作人员", 500)
