"""Pydantic validation errors as one plain-Chinese sentence that names the field.

Clerks, managers and citizens read these messages at the counter, so they must say
which box is wrong in the words the form uses ("申请人证件号码校验位不正确"), never
library text ("参数 applicant 无效：Value error, …"). Every API route's request
models go through here (hall.web.errors), so the labels live in this one table:
a new request field gets its Chinese name here, and tests/test_field_errors.py
fails for a field of a route model that has none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

#: Field name → what the screens call it. Shared names (name, phone…) mean the same on every form.
FIELD_LABELS: dict[str, str] = {
    # people
    "name": "姓名", "phone": "联系电话", "cert_type": "证件类型", "cert_no": "证件号码", "type": "类型",
    "contact_name": "联系人", "contact_phone": "联系电话", "village": "所在村", "duty": "职务",
    "staff_id": "工号", "pin": "密码", "login": "登录账号", "post": "岗位", "role": "角色", "active": "启用状态",
    "staff_ids": "人员", "clerk": "接办人工号",
    # cases and records
    "item_code": "办理事项", "item_name": "事项名称", "category": "业务类别", "case_kind": "办件类型",
    "limit_value": "承诺时限", "limit_unit": "时限单位", "ticket_id": "号票", "materials": "材料",
    "note": "备注", "status": "办件状态", "reason": "原因", "reasons": "原因", "level": "满意度",
    "comment": "评价内容", "kind": "类型", "text": "内容", "case_id": "办件", "prompt_id": "评价邀请",
    "assess_number": "评价次数", "channel": "评价渠道", "path": "文件", "relpath": "文件", "code": "编码",
    "materials_done": "已收材料", "finding": "核查情况", "reply": "答复内容", "passed": "核查结论",
    "result": "核查结果", "special_group": "特殊群体", "state": "状态", "rating_id": "评价记录",
    "card_read": "读卡记录", "id_number": "身份证号码",
    # queue and windows
    "window": "窗口号", "lane": "取号类型", "kiosk": "自助终端", "terminal": "自助终端",
    # dates and times
    "slot_start": "预约开始时间", "slot_end": "预约结束时间", "start": "开始日期", "end": "结束日期",
    "day": "日期", "month": "月份", "year": "年份", "expires_on": "有效期", "booked_at": "预约时间",
    "per_day": "每日人数", "holidays": "节假日", "workdays": "调休工作日", "hours": "办公时间",
    "overdue_days": "超期天数", "intake_days": "受理天数",
    # notices, villages, stations
    "title": "标题", "body": "正文", "message": "广播内容", "targets": "播放位置", "minutes": "播放时长（分钟）",
    "expires_at": "结束时间", "voice_times": "语音播报次数", "voice_every_minutes": "语音播报间隔（分钟）",
    "village_id": "村", "station_name": "服务站名称", "address": "地址",
    "agent_id": "代办员", "agent_ids": "代办员", "client_key": "草稿编号",
    # devices and technician tools
    "command": "指令", "count": "数量", "width": "宽度", "height": "高度", "size": "大小", "data": "数据",
    "symbologies": "码制", "source": "来源", "token": "令牌", "id": "编号", "info": "说明",
    "overwrite": "覆盖", "doc": "文档", "cancelled": "取消状态",
}

#: Fields that hold a nested form: their label says whose field it is ("申请人" + "证件号码").
OWNER_LABELS: dict[str, str] = {"applicant": "申请人", "agent": "代办员"}

_CJK = re.compile(r"[\u4e00-\u9fff]")

#: A bound broken (length, count, value): pydantic's error kind -> (the ctx key holding the bound, message).
_BOUNDS: dict[str, tuple[str, str]] = {
    "string_too_long": ("max_length", "{label}过长（最多 {n} 个字）"),
    "too_short": ("min_length", "{label}至少 {n} 项"),
    "too_long": ("max_length", "{label}最多 {n} 项"),
    "greater_than_equal": ("ge", "{label}不能小于 {n}"),
    "greater_than": ("gt", "{label}须大于 {n}"),
    "less_than_equal": ("le", "{label}不能大于 {n}"),
    "less_than": ("lt", "{label}须小于 {n}"),
}


def _label(loc: Sequence[int | str]) -> str:
    """The Chinese name of a location: owners first, then the field; list positions count from 1."""
    parts: list[str] = []
    for i, p in enumerate(loc):
        if isinstance(p, int):
            parts.append(f"第{p + 1}项")
        elif p in OWNER_LABELS:
            parts.append(OWNER_LABELS[p])
        elif i == len(loc) - 1 or p in FIELD_LABELS:
            parts.append(FIELD_LABELS.get(p, f"“{p}”"))
    return "".join(parts)


def _owner(loc: Sequence[int | str]) -> str:
    """Whose form a validator's own sentence is about (applicant/agent/list item), without the field."""
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"第{p + 1}项")
        elif p in OWNER_LABELS:
            parts.append(OWNER_LABELS[p])
    return "".join(parts)


def _choices(expected: str) -> str:
    """pydantic's "'受理', '办理中' or '补正'" as "受理、办理中、补正"."""
    return "、".join(re.findall(r"'([^']*)'", expected)) or expected


def describe(err: ErrorDetails) -> str:
    """One error as a sentence a clerk understands."""
    loc = tuple(err.get("loc", ()))
    label = _label(loc) or "提交的内容"
    kind = err.get("type", "")
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        msg = str(err.get("msg", ""))
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        # our validators write whole Chinese sentences that name their field; library text does not
        return f"{_owner(loc)}{msg}" if _CJK.search(msg) else f"{label}无效"
    if kind == "missing":
        return f"请填写{label}"
    if kind == "string_too_short":
        return f"请填写{label}" if ctx.get("min_length", 1) <= 1 else f"{label}至少 {ctx['min_length']} 个字"
    if kind in _BOUNDS:
        key, text = _BOUNDS[kind]
        return text.format(label=label, n=ctx.get(key))
    if kind in ("literal_error", "enum"):
        return f"{label}须为 {_choices(str(ctx.get('expected', '')))} 之一"
    if kind == "extra_forbidden":
        return f"不支持的填写项{_label(loc[-1:])}" if loc else "含有不支持的填写项"
    simple = {
        "string_pattern_mismatch": "格式不正确", "string_type": "须为文字", "int_parsing": "须为整数",
        "int_type": "须为整数", "int_from_float": "须为整数", "float_parsing": "须为数字", "float_type": "须为数字",
        "bool_parsing": "须为“是”或“否”", "bool_type": "须为“是”或“否”", "list_type": "格式不正确（应为列表）",
        "dict_type": "格式不正确", "model_type": "格式不正确", "model_attributes_type": "格式不正确",
        "date_parsing": "格式不正确（如 2026-12-01）", "date_type": "格式不正确（如 2026-12-01）",
        "date_from_datetime_parsing": "格式不正确（如 2026-12-01）",
        "date_from_datetime_inexact": "须为日期，不带时间",
        "datetime_parsing": "格式不正确（如 2026-12-01T09:00:00+08:00）",
        "datetime_type": "格式不正确（如 2026-12-01T09:00:00+08:00）",
        "datetime_from_date_parsing": "格式不正确（如 2026-12-01T09:00:00+08:00）",
        "string_unicode": "含有无法识别的字符", "json_invalid": "不是有效的 JSON",
    }
    return f"{label}{simple.get(kind, '无效')}"


def validation_error(exc: ValidationError) -> tuple[str, str]:
    """(message, field path) for the first error: the path lets a form mark the box."""
    errors = exc.errors(include_url=False)
    if not errors:
        return "提交的内容无效", ""
    first = errors[0]
    return describe(first), ".".join(str(p) for p in first.get("loc", ()))
