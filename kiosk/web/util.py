"""Small request helpers shared by the API blueprints.

Everything a client sends is bounded here before it reaches the store: integers
to SQLite's 64-bit range (a larger one raises OverflowError deep in sqlite3, a
500), JSON to a modest nesting depth (a 3,000-deep array exhausts the parser's
recursion), so bad input gets a 400/404 that names the cause.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, TypeVar, overload

from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from hall.services import Services
from hall.web.errors import ApiError
from pydantic import BaseModel
from werkzeug.routing import IntegerConverter

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

#: SQLite stores integers as signed 64-bit; nothing larger can name a row.
INT64_MAX = 2**63 - 1
#: No request body of the hall's API nests deeper than a few levels.
MAX_JSON_DEPTH = 32


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


def int_arg(name: str, *, lo: int = -INT64_MAX, hi: int = INT64_MAX) -> int | None:
    """An optional integer query argument: absent -> None, otherwise bounded (400 naming the argument)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("invalid", f"参数 {name} 须为整数", 400) from None
    if not lo <= value <= hi:
        raise ApiError("invalid", f"参数 {name} 须在 {lo} 到 {hi} 之间", 400)
    return value


@overload
def date_arg(name: str) -> date | None: ...
@overload
def date_arg(name: str, default: date) -> date: ...
def date_arg(name: str, default: date | None = None) -> date | None:
    """An optional date query argument (YYYY-MM-DD): absent -> `default`, a bad one -> 400 naming the argument."""
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError("invalid", f"参数 {name} 须为日期 YYYY-MM-DD", 400) from None


def enabled(part: T | None, what: str) -> T:
    """A part of the service this hall's configuration may leave off: absent -> 503 naming it, never a 500."""
    if part is None:
        raise ApiError("unavailable", f"{what}未启用", 503)
    return part


class Int64Converter(IntegerConverter):
    """`<int:…>` in a URL, limited to what SQLite can hold: a larger id matches no route (404), not a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (iterative: a deep value must not exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing bodies nested deeper than MAX_JSON_DEPTH with a clear 400."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise ApiError("too_deep", f"请求内容嵌套过深（最多 {MAX_JSON_DEPTH} 层）", 400) from None
        if json_depth_exceeds(value, MAX_JSON_DEPTH):
            raise ApiError("too_deep", f"请求内容嵌套过深（最多 {MAX_JSON_DEPTH} 层）", 400)
        return value
