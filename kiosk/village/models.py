"""Vocabulary and validated inputs of the village stations (村便民服务站).

States, kinds and groups keep their Chinese names, as the records do; the
township case made from a 代办 uses the records' own vocabulary (hall.records.models).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, ClassVar, Literal

from hall.records.models import Person, check_cert
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# ---------------------------------------------------------------------- ledger vocabulary
Kind = Literal["在村办结", "代办到乡镇", "上门代办"]
KINDS: tuple[str, ...] = ("在村办结", "代办到乡镇", "上门代办")

#: 上门代办 is for people who cannot come: the group is recorded for the township's figures.
SpecialGroup = Literal["孤寡老人", "病残", "五保户", "留守家庭", "其他"]
SPECIAL_GROUPS: tuple[str, ...] = ("孤寡老人", "病残", "五保户", "留守家庭", "其他")

State = Literal["登记", "材料齐全", "已送乡镇", "乡镇已接件", "办结", "退回补正"]
STATES: tuple[str, ...] = ("登记", "材料齐全", "已送乡镇", "乡镇已接件", "办结", "退回补正")

#: States in which the village still holds the request (the handover clock runs).
AT_VILLAGE = frozenset({"登记", "材料齐全", "退回补正"})
#: States in which the agent may still edit the request and its photos.
EDITABLE = AT_VILLAGE
CLOSED = frozenset({"办结"})

#: What the agent may do by hand (the township's steps and the case's results come separately).
AGENT_MOVES: dict[str, frozenset[str]] = {
    "登记": frozenset({"材料齐全"}),
    "材料齐全": frozenset({"登记", "已送乡镇", "办结"}),
    "退回补正": frozenset({"材料齐全"}),
}

SpotResult = Literal["合格", "有问题"]

_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_KEY_RE = r"^[0-9A-Za-z_-]{8,64}$"


# dup-ok: like records/models.py _phone, but drops all whitespace (agents' phones), there spaces only
def _phone(v: str | None) -> str | None:
    if v is None or v.strip() == "":
        return None
    p = re.sub(r"[\s]", "", v)
    if not _PHONE_RE.match(p):
        raise ValueError("电话号码格式不正确（手机号 11 位，或带区号的固定电话）")
    return p


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Patch(_In):
    """A partial update: a field left out stays as it is; an explicit null only where it clears something.

    Without this, `{"active": null}` passes as "given" and reaches a NOT NULL column (a 500).
    """

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None and key in cls.model_fields and key not in cls.NULLABLE:
                    raise ValueError(f"{key} 不能为空（null）：不修改就不要传这一项")
        return data


# ---------------------------------------------------------------------- administration (manager)
class VillageIn(_In):
    name: str = Field(min_length=1, max_length=40)
    station_name: str = Field(default="", max_length=60)
    address: str = Field(default="", max_length=120)
    phone: str | None = None
    hours: str = Field(default="", max_length=100)
    active: bool = True

    check_phone = field_validator("phone")(_phone)


class VillageUpdate(_Patch):
    NULLABLE = frozenset({"phone"})       # null clears the station's phone

    name: str | None = Field(default=None, min_length=1, max_length=40)
    station_name: str | None = Field(default=None, max_length=60)
    address: str | None = Field(default=None, max_length=120)
    phone: str | None = None
    hours: str | None = Field(default=None, max_length=100)
    active: bool | None = None

    check_phone = field_validator("phone")(_phone)


def _pin(v: str | None) -> str | None:
    if v is None:
        return None
    if not re.fullmatch(r"\d{6,12}", v):
        raise ValueError("密码须为 6–12 位数字")
    if len(set(v)) == 1 or v in "0123456789" or v in "9876543210":
        raise ValueError("密码过于简单（不能全部相同或为连续数字）")
    return v


class AgentIn(_In):
    village_id: int = Field(ge=1)
    login: str = Field(pattern=r"^[0-9A-Za-z_-]{2,32}$")
    name: str = Field(min_length=1, max_length=30)
    duty: str = Field(default="代办员", max_length=30)
    phone: str
    cert_type: str = "111"
    cert_no: str = Field(min_length=1, max_length=40)
    pin: str
    active: bool = True

    check_pin = field_validator("pin")(_pin)

    @field_validator("phone")
    @classmethod
    def _needs_phone(cls, v: str) -> str:
        p = _phone(v)
        if p is None:
            raise ValueError("请填写代办员联系电话（将在服务站公示）")
        return p

    @model_validator(mode="after")
    def _check_cert(self) -> AgentIn:
        self.cert_no = check_cert(self.cert_type, self.cert_no)
        return self


class AgentUpdate(_Patch):
    village_id: int | None = Field(default=None, ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=30)
    duty: str | None = Field(default=None, max_length=30)
    phone: str | None = None
    cert_type: str | None = None
    cert_no: str | None = Field(default=None, min_length=1, max_length=40)
    pin: str | None = None  # a new PIN (reset by the manager)
    active: bool | None = None

    check_pin = field_validator("pin")(_pin)
    check_phone = field_validator("phone")(_phone)


class AgentLogin(_In):
    login: str = Field(min_length=1, max_length=32)
    pin: str = Field(min_length=4, max_length=32)


class SettingsIn(_In):
    overdue_days: int | None = Field(default=None, ge=1, le=30)
    intake_days: int | None = Field(default=None, ge=1, le=30)


# ---------------------------------------------------------------------- the ledger (agents)
class Villager(Person):
    """The villager the request is for; validated like a case's applicant."""


class RecordIn(_In):
    client_key: str = Field(pattern=_KEY_RE)
    item_code: str = Field(min_length=1, max_length=64)
    kind: Kind
    special_group: SpecialGroup | None = None
    applicant: Villager
    materials_done: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _group(self) -> RecordIn:
        if self.kind == "上门代办" and self.special_group is None:
            raise ValueError("上门代办须选择服务对象类别（孤寡老人、病残、五保户、留守家庭或其他）")
        if self.kind != "上门代办":
            self.special_group = None
        return self


class RecordUpdate(_Patch):
    NULLABLE = frozenset({"note", "special_group"})

    materials_done: list[str] | None = Field(default=None, max_length=50)
    note: str | None = Field(default=None, max_length=500)
    kind: Kind | None = None
    special_group: SpecialGroup | None = None


class StateIn(_In):
    state: State
    note: str | None = Field(default=None, max_length=500)


class NoteIn(_In):
    note: str | None = Field(default=None, max_length=500)


class ReturnIn(_In):
    note: str = Field(min_length=2, max_length=500)


class DutyIn(_In):
    village_id: int | None = Field(default=None, ge=1)  # the manager names the village; agents have theirs
    day: date
    agent_id: int | None = Field(default=None, ge=1)  # None clears the day
    note: str = Field(default="", max_length=100)


class RotateIn(_In):
    village_id: int | None = Field(default=None, ge=1)
    start: date
    end: date
    agent_ids: list[int] = Field(min_length=1, max_length=30)
    overwrite: bool = False


class SpotPickIn(_In):
    count: int = Field(default=5, ge=1, le=50)
    village_id: int | None = Field(default=None, ge=1)
    month: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")


class SpotCheckIn(_In):
    result: SpotResult
    finding: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _finding(self) -> SpotCheckIn:
        if self.result == "有问题" and not self.finding:
            raise ValueError("抽查发现问题时须写明问题")
        return self
