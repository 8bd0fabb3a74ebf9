"""Record vocabularies and validated inputs, shared by the record services and the API.

Values are the semantic Chinese names the standards use (受理, 非常满意, 平板…);
platform codes appear only in the relay adapter (hall.relay.codes).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from hall.relay.codes import BAD_LEVELS, LEVELS
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

__all__ = ["BAD_LEVELS", "LEVELS"]

# ---------------------------------------------------------------------- cases
CaseStatus = Literal["受理", "办理中", "补正", "办结", "退回"]
CASE_STATUSES: tuple[str, ...] = ("受理", "办理中", "补正", "办结", "退回")
CLOSED_STATUSES = frozenset({"办结", "退回"})

#: Allowed status changes. 补正 waits for the citizen's materials: it goes back to
#: 办理中 when they are supplied (the promised date is then counted again from that
#: day, as the time limit runs from receipt of complete materials) or ends in 退回.
TRANSITIONS: dict[str, frozenset[str]] = {
    "受理": frozenset({"办理中", "补正", "办结", "退回"}),
    "办理中": frozenset({"补正", "办结", "退回"}),
    "补正": frozenset({"办理中", "退回"}),
    "办结": frozenset(),
    "退回": frozenset(),
}

#: Certificate types (GA/T 517 codes as used by 政务服务 platforms). 111 is the one
#: township halls see nearly always. "001" for the unified social credit code of a
#: legal person follows common provincial interface practice; check the county's list.
CERT_TYPES: dict[str, str] = {
    "111": "居民身份证",
    "112": "临时居民身份证",
    "113": "户口簿",
    "114": "中国人民解放军军官证",
    "414": "普通护照",
    "511": "台湾居民来往大陆通行证",
    "516": "港澳居民来往内地通行证",
    "553": "外国人永久居留身份证",
    "001": "统一社会信用代码",
    "990": "其他证件",
}

_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_valid(number: str) -> bool:
    """GB 11643 check digit of an 18-digit 居民身份证 number."""
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def check_cert(cert_type: str, cert_no: str) -> str:
    """The certificate number as stored (居民身份证 upper-cased); ValueError for an unknown type or a
    居民身份证 number whose check digit does not match."""
    if cert_type not in CERT_TYPES:
        raise ValueError(f"证件类型 {cert_type} 无效")
    if cert_type == "111":
        cert_no = cert_no.upper()
        if not re.fullmatch(r"\d{17}[\dX]", cert_no):
            raise ValueError("证件号码应为 18 位（前 17 位为数字，末位为数字或 X）")
        if not id_number_valid(cert_no):
            raise ValueError("证件号码校验位不正确，请逐位核对")
    return cert_no


def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s\-]", "", phone)


# dup-ok: village/models.py checks phones alike but drops all whitespace (agents' phones); here spaces only
def _phone(v: str | None) -> str | None:
    if v is None or v.strip() == "":
        return None
    p = v.strip().replace(" ", "")
    if not _PHONE_RE.match(p):
        raise ValueError("电话号码格式不正确（手机号 11 位，或带区号的固定电话）")
    return p


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Person(_In):
    """An applicant or agent as entered by the clerk."""

    name: str = Field(min_length=1, max_length=100)
    cert_type: str = "111"
    cert_no: str = Field(min_length=1, max_length=40)
    phone: str | None = None

    check_phone = field_validator("phone")(_phone)

    # field validators (not one model validator) so an error names the box: applicant.cert_no
    @field_validator("cert_type")
    @classmethod
    def _cert_type(cls, v: str) -> str:
        if v not in CERT_TYPES:
            raise ValueError(f"证件类型 {v} 无效")
        return v

    @field_validator("cert_no")
    @classmethod
    def _cert(cls, v: str, info: ValidationInfo) -> str:
        if "cert_type" not in info.data:      # its own error is reported already
            return v
        return check_cert(info.data["cert_type"], v)


class Applicant(Person):
    type: Literal["自然人", "法人"] = "自然人"


class Agent(Person):
    """代办员: a village agent handling the case for a villager."""

    village: str = Field(default="", max_length=50)


class Material(_In):
    name: str = Field(min_length=1, max_length=100)
    path: str = Field(min_length=1, max_length=500)


class CaseIn(_In):
    item_code: str = Field(min_length=1, max_length=64)
    # Needed only when the catalog does not know the item (catalog not yet synced).
    item_name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, pattern=r"^[A-Z]$")
    case_kind: Literal["即办件", "承诺件"] | None = None
    limit_value: int | None = Field(default=None, ge=0, le=3650)
    limit_unit: Literal["天", "工作日", "月", "年"] | None = None
    applicant: Applicant
    agent: Agent | None = None
    ticket_id: int | None = None
    materials: list[Material] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=500)


class TransitionIn(_In):
    status: CaseStatus
    note: str | None = Field(default=None, max_length=500)


class HandoverIn(_In):
    """移交: the case goes to another clerk (and their window), explicitly and audited."""

    clerk: str = Field(pattern=r"^[0-9A-Za-z_-]{1,32}$")
    reason: str = Field(min_length=1, max_length=200)


# ---------------------------------------------------------------------- ratings
Channel = Literal["窗口评价器", "平板", "自助终端", "二维码"]
CHANNELS: tuple[str, ...] = ("窗口评价器", "平板", "自助终端", "二维码")

# English aliases a device driver may send; stored and shown by name.
LEVEL_ALIASES = {
    "very_satisfied": "非常满意", "satisfied": "满意", "basic": "基本满意", "basically_satisfied": "基本满意",
    "dissatisfied": "不满意", "very_dissatisfied": "非常不满意",
}


def level_name(level: str) -> str:
    """The level's name (非常满意 …) from a name or an English alias; ValueError otherwise."""
    name = LEVEL_ALIASES.get(level, level)
    if name not in LEVELS:
        raise ValueError(f"评价等级“{level}”无效，应为 {'、'.join(LEVELS)} 之一")
    return name


class RatingIn(_In):
    level: str
    reasons: list[str] = Field(default_factory=list, max_length=20)
    comment: str | None = Field(default=None, max_length=500)

    @field_validator("level")
    @classmethod
    def _level(cls, v: str) -> str:
        return level_name(v)


# ---------------------------------------------------------------------- complaints
class ComplaintIn(_In):
    kind: Literal["投诉", "建议"]
    reasons: list[str] = Field(default_factory=list, max_length=20)
    text: str | None = Field(default=None, max_length=1000)
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = None
    window: int | None = Field(default=None, ge=1, le=99)

    check_phone = field_validator("contact_phone")(_phone)

    @model_validator(mode="after")
    def _something(self) -> ComplaintIn:
        if not self.reasons and not (self.text or "").strip():
            raise ValueError("请至少选择一项原因或填写内容")
        return self


# ---------------------------------------------------------------------- appointments
class AppointmentIn(_In):
    """A booking made by staff for a caller (manager page)."""

    category: str = Field(pattern=r"^[A-Z]$")
    slot_start: datetime
    slot_end: datetime
    name: str = Field(min_length=1, max_length=50)
    phone: str
    item_code: str | None = Field(default=None, max_length=64)
    item_name: str | None = Field(default=None, max_length=200)
    # 居民身份证号码 (optional): only its keyed hash is kept, so the citizen can check in with the card.
    id_number: str | None = Field(default=None, max_length=18)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str | None) -> str | None:
        return check_cert("111", v) if v else None

    @field_validator("phone")
    @classmethod
    def _mobile(cls, v: str) -> str:
        p = _phone(v)
        if p is None:
            raise ValueError("请填写联系电话")
        return p

    @model_validator(mode="after")
    def _slot(self) -> AppointmentIn:
        if self.slot_start.tzinfo is None or self.slot_end.tzinfo is None:
            raise ValueError("预约时段须带时区（如 2026-11-26T09:00:00+08:00）")
        if self.slot_end <= self.slot_start:
            raise ValueError("预约时段结束须晚于开始")
        return self


class CountyAppointment(_In):
    """One appointment as the county sync delivers it (see hall.relay for the GET shape)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    code: str = Field(pattern=r"^[0-9A-Za-z\-]{4,40}$")
    category: str = Field(pattern=r"^[A-Z]$")
    slot_start: datetime
    slot_end: datetime
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=3, max_length=20)
    item_code: str | None = Field(default=None, max_length=64)
    item_name: str | None = Field(default=None, max_length=200)
    cancelled: bool = False
    booked_at: datetime | None = None
    id_number: str | None = Field(default=None, max_length=18)   # kept only as a keyed hash
