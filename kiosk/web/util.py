"""Small request helpers shared by the API blueprints."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import current_app, request
from hall.services import Services
from hall.web.errors import ApiError
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def services() -> Services:
    svc: Services = current_app.extensions["hall"]
    return svc


def body(model: type[M]) -> M:
    """The JSON body validated against `model`; a clear 400/415 otherwise."""
    if not request.is_json:
        raise ApiError("not_json", "请求内容须为 JSON（Content-Type: application/json）", 415)
    data: Any = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("bad_json", "请求内容不是有效的 JSON 对象", 400)
    return model.model_validate(data)
