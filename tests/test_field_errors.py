"""Validation errors reach clerks as plain Chinese naming the field (hall.web.field_errors), never library text."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import hall.web
import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.records.models import CaseIn
from hall.services import Services, build_services
from hall.web.field_errors import FIELD_LABELS, OWNER_LABELS, describe, validation_error
from pydantic import BaseModel, ValidationError

GOOD_ID = "11010519491231002X"
BAD_CHECK = "110105194912310021"          # the last digit does not match GB 11643
LIBRARY_WORDS = re.compile(r"Value error|Input should|Field required|String should|参数 \w+ 无效|[a-z]+_[a-z]+")


def first_error(**fields: Any) -> tuple[str, str]:
    body: dict[str, Any] = {"item_code": "430224100LS01",
                            "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": GOOD_ID}}
    for key, value in fields.items():
        if key.startswith("applicant_"):
            body["applicant"][key.removeprefix("applicant_")] = value
        else:
            body[key] = value
    with pytest.raises(ValidationError) as info:
        CaseIn.model_validate(body)
    return validation_error(info.value)


@pytest.mark.parametrize(("fields", "message", "field"), [
    ({"applicant_cert_no": BAD_CHECK}, "申请人证件号码校验位不正确，请逐位核对", "applicant.cert_no"),
    ({"applicant_cert_no": "1234"}, "申请人证件号码应为 18 位（前 17 位为数字，末位为数字或 X）", "applicant.cert_no"),
    ({"applicant_name": ""}, "请填写申请人姓名", "applicant.name"),
    ({"applicant_cert_type": "999"}, "申请人证件类型 999 无效", "applicant.cert_type"),
    ({"applicant_phone": "12345"}, "申请人电话号码格式不正确（手机号 11 位，或带区号的固定电话）", "applicant.phone"),
    ({"limit_unit": "周"}, "时限单位须为 天、工作日、月、年 之一", "limit_unit"),
    ({"limit_value": -1}, "承诺时限不能小于 0", "limit_value"),
    ({"limit_value": "十"}, "承诺时限须为整数", "limit_value"),
    ({"note": "字" * 501}, "备注过长（最多 500 个字）", "note"),
    ({"category": "a1"}, "业务类别格式不正确", "category"),
    ({"agent": {"name": "王村", "cert_no": BAD_CHECK}}, "代办员证件号码校验位不正确，请逐位核对", "agent.cert_no"),
    ({"materials": [{"name": "身份证", "path": ""}]}, "请填写材料第1项文件", "materials.0.path"),
    ({"bogus": 1}, "不支持的填写项“bogus”", "bogus"),
])
def test_case_form_errors_name_the_field_in_chinese(fields: dict[str, Any], message: str, field: str) -> None:
    assert first_error(**fields) == (message, field)


def test_a_missing_field_and_library_value_errors_stay_plain() -> None:
    with pytest.raises(ValidationError) as info:
        CaseIn.model_validate({"item_code": "x"})
    assert validation_error(info.value) == ("请填写申请人", "applicant")
    # a validator raising English library text never shows it: the field is named instead
    err: Any = {"type": "value_error", "loc": ("window",), "msg": "Value error, invalid literal for int()",
                "input": "x", "ctx": {"error": ValueError("invalid literal for int()")}}
    assert describe(err) == "窗口号无效"


def _request_models() -> Iterator[type[BaseModel]]:
    """The request bodies of the web API and the records/village inputs they use."""
    names = ["hall.records.models", "hall.village.models"]
    names += [f"hall.web.{m.name}" for m in pkgutil.iter_modules(hall.web.__path__)]
    for name in names:
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if inspect.isclass(obj) and issubclass(obj, BaseModel) and obj.__module__ == name:
                yield obj


def _fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        yield name
        stack: list[Any] = [info.annotation]
        while stack:
            t = stack.pop()
            if inspect.isclass(t) and issubclass(t, BaseModel):
                yield from _fields(t, seen)
            stack.extend(get_args(t))


def test_every_request_field_has_a_chinese_label() -> None:
    seen: set[type[BaseModel]] = set()
    missing = sorted({f for m in _request_models() for f in _fields(m, seen)} - set(FIELD_LABELS) - set(OWNER_LABELS))
    assert missing == [], f"add these to hall.web.field_errors.FIELD_LABELS: {missing}"


# ---------------------------------------------------------------------- through the API
@pytest.fixture
def services(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    yield svc
    svc.stop()


def test_the_api_answers_a_bad_case_in_chinese_with_the_field(client: Any) -> None:
    r = client.post("/api/session", json={"staff_id": "1001", "pin": "123456", "window": 1})
    h = {"Authorization": f"Bearer {r.get_json()['token']}"}
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "category": "A",
            "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": BAD_CHECK}}
    r = client.post("/api/cases", headers=h, json=body)
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err == {"code": "invalid", "message": "申请人证件号码校验位不正确，请逐位核对", "field": "applicant.cert_no"}
    # other routes share the one handler: a bad ticket request names its field too
    r = client.post("/api/tickets", json={"category": "A", "lane": "vip"})
    assert r.status_code == 400
    message = r.get_json()["error"]["message"]
    assert message.startswith("取号类型须为") and not LIBRARY_WORDS.search(message), message
