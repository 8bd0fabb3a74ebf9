"""The catalog document (GB/T 39046-2020 fields) and its validation, apart from where it is kept.

Kept apart from `hall.records.catalog` (the store, atomic cache writes and the API views)
because the model is what the county side, the forms and the printouts share; the store is
the hall's own business. Validation errors are Chinese for the technician, with the English
cause after a slash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FORMAT = 1                      # the catalog document format this code reads: "hall-catalog/1"
FORMAT_NAME = f"hall-catalog/{FORMAT}"
MAX_ERRORS = 20                 # errors reported per rejected version



# dup-ok: ItemType and ExerciseLevel below are two code tables of GB/T 39046 (A.1, A.2), alike only in shape
class ItemType(StrEnum):
    """GB/T 39046-2020 A.1 事项类型."""

    LICENSE = "01"
    PENALTY = "02"
    COERCION = "03"
    LEVY = "04"
    PAYMENT = "05"
    INSPECTION = "06"
    CONFIRMATION = "07"
    REWARD = "08"
    RULING = "09"
    OTHER_POWER = "10"
    PUBLIC_SERVICE = "20"

    @property
    def label(self) -> str:
        return _ITEM_TYPE_NAMES[self]


_ITEM_TYPE_NAMES = {
    ItemType.LICENSE: "行政许可", ItemType.PENALTY: "行政处罚", ItemType.COERCION: "行政强制",
    ItemType.LEVY: "行政征收", ItemType.PAYMENT: "行政给付", ItemType.INSPECTION: "行政检查",
    ItemType.CONFIRMATION: "行政确认", ItemType.REWARD: "行政奖励", ItemType.RULING: "行政裁决",
    ItemType.OTHER_POWER: "其他行政权力", ItemType.PUBLIC_SERVICE: "公共服务",
}


# dup-ok: a code table of GB/T 39046 (A.2) shaped like ItemType (A.1) above
class ExerciseLevel(StrEnum):
    """GB/T 39046-2020 A.2 行使层级."""

    NATIONAL = "1"
    PROVINCE = "2"
    CITY = "3"
    COUNTY = "4"
    TOWNSHIP = "5"
    VILLAGE = "6"

    @property
    def label(self) -> str:
        return _LEVEL_NAMES[self]


_LEVEL_NAMES = {
    ExerciseLevel.NATIONAL: "国家级", ExerciseLevel.PROVINCE: "省级", ExerciseLevel.CITY: "市级",
    ExerciseLevel.COUNTY: "县级", ExerciseLevel.TOWNSHIP: "乡镇（街道）级", ExerciseLevel.VILLAGE: "村（社区）级",
}


class CaseKind(StrEnum):
    """GB/T 39046-2020 A.6 办件类型."""

    IMMEDIATE = "1"
    PROMISED = "2"

    @property
    def label(self) -> str:
        return "即办件" if self is CaseKind.IMMEDIATE else "承诺件"


Unit = Literal["天", "工作日", "月", "年"]
HandlingForm = Literal["窗口", "网上", "移动端", "快递"]
ServiceObject = Literal["自然人", "法人", "其他组织"]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Line = Annotated[str, Field(min_length=1, max_length=300)]


class _Model(BaseModel):
    # Fields a later county version adds are ignored, not fatal: the hall must
    # keep taking catalog updates between its own software updates.
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class TimeLimit(_Model):
    value: int = Field(ge=0, le=3650)
    unit: Unit
    note: str = Field(default="", max_length=200)   # e.g. 不含公示时间

    @property
    def text(self) -> str:
        if self.value == 0:
            return "即时办结"
        words = {"天": f"{self.value}天", "工作日": f"{self.value}个工作日", "月": f"{self.value}个月",
                 "年": f"{self.value}年"}
        return words[self.unit] + (f"（{self.note}）" if self.note else "")

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "note": self.note, "text": self.text}


class ProcessStep(_Model):
    """One box of the process flow diagram."""

    name: Annotated[str, Field(min_length=1, max_length=20)]
    actor: Line                                   # who acts: 申请人 / 村（居）民委员会 / 便民服务中心 …
    detail: Text
    limit: TimeLimit | None = None


class Fee(_Model):
    charged: bool = False
    text: Line = "不收费"
    basis: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _basis(self) -> Fee:
        if self.charged and not self.basis:
            raise ValueError("收费事项必须写明收费依据 / a charged item needs its fee basis")
        return self


class Material(_Model):
    name: Line
    originals: int = Field(ge=0, le=20)
    copies: int = Field(ge=0, le=20)
    required: bool = True
    form: int | None = Field(default=None, ge=1)   # 1-based index into the item's `forms`
    source: str = Field(default="申请人自备", max_length=100)
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _some_paper(self) -> Material:
        if self.originals + self.copies == 0:
            raise ValueError("原件和复印件份数不能同时为0 / originals and copies are both 0")
        return self


class FormField(_Model):
    label: Annotated[str, Field(min_length=1, max_length=40)]
    wide: bool = False          # spans the whole row
    lines: int = Field(default=1, ge=1, le=12)
    hint: str = Field(default="", max_length=60)


class FormSection(_Model):
    """Labelled fields, or a table (e.g. family members) with `columns` and `rows` blank rows."""

    heading: str = Field(default="", max_length=40)
    fields: list[FormField] = Field(default=[], max_length=60)
    columns: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(default=[], max_length=10)
    rows: int = Field(default=0, ge=0, le=20)

    @model_validator(mode="after")
    def _one_kind(self) -> FormSection:
        if bool(self.fields) == bool(self.columns):
            raise ValueError("须有 fields 或 columns 之一 / give either fields or columns")
        if self.columns and self.rows == 0:
            raise ValueError("rows: 表格至少一行 / a table needs rows")
        return self


class BlankForm(_Model):
    """A blank form, described as data so it syncs with the catalog and prints as A4 HTML."""

    title: Line
    sections: list[FormSection] = Field(min_length=1, max_length=12)
    declaration: str = Field(default="", max_length=1000)
    signatures: list[Annotated[str, Field(min_length=1, max_length=30)]] = ["申请人（签字或按手印）", "日期"]
    notes: list[Line] = []


class ServiceItem(_Model):
    impl_code: str = Field(pattern=r"^[0-9A-Za-z]{8,64}$")
    basic_code: str = Field(pattern=r"^[0-9A-Za-z]{4,32}$")
    name: Annotated[str, Field(min_length=2, max_length=100)]
    short_name: str = Field(default="", max_length=30)
    aliases: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(default=[], max_length=20)
    item_type: ItemType
    exercise_level: ExerciseLevel
    category: str = Field(pattern=r"^[A-Z]$")
    department: Annotated[str, Field(min_length=1, max_length=60)]
    implementing_body: Annotated[str, Field(min_length=1, max_length=100)]
    decision_body: str = Field(default="", max_length=100)
    legal_limit: TimeLimit | None           # required key; null when no law sets one
    promised_limit: TimeLimit
    case_kind: CaseKind
    visits: int = Field(ge=0, le=5)         # 到办事现场次数
    policy_basis: list[Text] = Field(min_length=1)
    conditions: list[Text] = Field(min_length=1)
    process: list[ProcessStep] = Field(min_length=2)
    fee: Fee
    service_objects: list[ServiceObject] = Field(min_length=1)
    handling_forms: list[HandlingForm] = Field(min_length=1)
    appointment: bool
    online: bool
    online_url: str = Field(default="", max_length=500)
    result: Line                            # what the applicant receives
    location: Line
    hours: Line
    phone: Annotated[str, Field(pattern=r"^[0-9+()（）\- ]{5,30}$")]
    complaint_phone: str = Field(default="12345", pattern=r"^[0-9+()（）\- ]{3,30}$")
    materials: list[Material] = Field(min_length=1)
    forms: list[BlankForm] = []
    notes: list[Text] = []

    @field_validator("item_type", mode="before")
    @classmethod
    def _type_code(cls, v: Any) -> Any:
        return f"{v:02d}" if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("exercise_level", "case_kind", mode="before")
    @classmethod
    def _small_code(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    @model_validator(mode="after")
    def _coherent(self) -> ServiceItem:
        if self.case_kind is CaseKind.IMMEDIATE and self.promised_limit.value != 0:
            raise ValueError("promised_limit: 即办件的承诺时限应为0（即时办结） / an immediate item has limit 0")
        if self.case_kind is CaseKind.PROMISED and self.promised_limit.value == 0:
            raise ValueError("promised_limit: 承诺件必须有承诺时限 / a promised item needs a time limit")
        lim = self.legal_limit
        if lim and lim.unit == self.promised_limit.unit and self.promised_limit.value > lim.value > 0:
            raise ValueError("promised_limit: 承诺时限不能长于法定时限 / promised limit exceeds the legal one")
        if self.online != ("网上" in self.handling_forms or "移动端" in self.handling_forms):
            raise ValueError("online: 与办理形式（网上/移动端）不一致 / disagrees with handling_forms")
        if self.online and not self.online_url.startswith(("https://", "http://")):
            raise ValueError("online_url: 可网办事项须提供网办地址 / an online item needs an http(s) URL")
        for i, m in enumerate(self.materials):
            if m.form is not None and m.form > len(self.forms):
                raise ValueError(f"materials[{i}].form: 表格 {m.form} 不存在 / form {m.form} does not exist")
        return self

    @property
    def search_names(self) -> list[str]:
        return [self.name, self.short_name, *self.aliases]


class CatalogDocument(_Model):
    format: str = Field(default=FORMAT_NAME, pattern=r"^hall-catalog/\d{1,4}$")
    version: Annotated[str, Field(min_length=1, max_length=64)]
    published_at: datetime
    issuer: str = Field(default="", max_length=100)
    region_code: str = Field(default="", max_length=12)
    notice: str = Field(default="", max_length=500)
    items: list[ServiceItem] = Field(min_length=1, max_length=5000)

    @field_validator("format", mode="before")
    @classmethod
    def _format_number(cls, v: Any) -> Any:
        # A bare format number (1) is read as "hall-catalog/1".
        return f"hall-catalog/{v}" if isinstance(v, int) and not isinstance(v, bool) else v

    @field_validator("format")
    @classmethod
    def _format(cls, v: str) -> str:
        n = int(v.rsplit("/", 1)[1])
        if n > FORMAT:
            raise ValueError(f"目录格式 {v} 高于本程序支持的 {FORMAT_NAME}，请升级大厅服务 / format {v} is newer")
        return v

    @field_validator("published_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("发布时间须带时区，如 +08:00 / published_at needs a UTC offset")
        return v


def catalog_json_schema() -> dict[str, Any]:
    """JSON Schema of the catalog document, for the county side (shipped as data/catalog.schema.json).

    The schema covers fields and types; the cross-field rules (即办件 limit 0,
    promised ≤ legal limit, online items need a URL, unique codes, categories
    the hall knows) are checked by `validate_catalog` and listed in the description.
    """
    schema = CatalogDocument.model_json_schema(mode="validation")
    schema.update({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:hall:{FORMAT_NAME}",
        "title": "乡镇便民服务中心政务服务事项目录 (service catalog)",
        "description": (
            "Fields after GB/T 39046-2020. Codes: item_type A.1 (01 行政许可 … 05 行政给付 … 07 行政确认 … "
            "20 公共服务), exercise_level A.2 (5 乡镇, 6 村), case_kind A.6 (1 即办件, 2 承诺件). "
            "Rules beyond this schema: impl_code unique; category one of the hall's prefixes; 即办件 has "
            "promised_limit.value 0 and 承诺件 > 0; promised_limit not longer than legal_limit in the same unit; "
            "online is true exactly when handling_forms has 网上 or 移动端, and then online_url is http(s); "
            "materials[].form is a 1-based index into forms; a charged fee names its basis. "
            "Unknown fields are ignored."),
    })
    return schema


class CatalogInvalid(ValueError):
    """A catalog document failed validation; `errors` name the item and the field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:3]) + (f" …（共 {len(errors)} 处）" if len(errors) > 3 else ""))
        self.errors = errors


_ZH = {
    "missing": "缺少必填字段",
    "string_too_short": "不能为空或过短",
    "string_too_long": "过长",
    "too_short": "条目过少",
    "too_long": "条目过多",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "取值不在允许范围内",
    "enum": "代码不在标准代码表内",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "bool_parsing": "应为 true/false",
    "bool_type": "应为 true/false",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "dict_type": "应为对象",
    "datetime_parsing": "日期时间格式不正确",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "datetime_type": "日期时间格式不正确",
    "value_error": "不符合规则",
}


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """`items[3]（最低生活保障申请 1143…）.materials[0].name` from a pydantic location."""
    parts: list[str] = []
    for i, p in enumerate(loc):
        if isinstance(p, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{p}]"]
            if i == 1 and loc[0] == "items" and isinstance(raw, dict):
                try:
                    item = raw["items"][p]
                    label = " ".join(str(item.get(k)) for k in ("name", "impl_code") if item.get(k))
                except (KeyError, IndexError, TypeError, AttributeError):
                    label = ""
                if label:
                    parts[-1] += f"（{label}）"
        else:
            parts.append(str(p))
    return ".".join(parts) or "catalog"


def _describe(raw: Any, exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors(include_url=False):
        msg = str(e.get("msg", ""))
        if e["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            out.append(f"{_where(raw, tuple(e['loc']))}: {msg}")
        else:
            out.append(f"{_where(raw, tuple(e['loc']))}: {_ZH.get(e['type'], '无效')} / {msg}")
    return out


def validate_catalog(raw: Any, categories: Iterable[str] | None = None) -> CatalogDocument:
    """The checked document, or `CatalogInvalid` listing (at most MAX_ERRORS) problems."""
    if not isinstance(raw, dict):
        raise CatalogInvalid(["catalog: 目录应为 JSON 对象 / the catalog must be a JSON object"])
    try:
        doc = CatalogDocument.model_validate(raw)
    except ValidationError as exc:
        raise CatalogInvalid(_describe(raw, exc)[:MAX_ERRORS]) from None
    errors: list[str] = []
    known = set(categories) if categories is not None else None
    seen: dict[str, int] = {}
    for i, item in enumerate(doc.items):
        where = f"items[{i}]（{item.name} {item.impl_code}）"
        if item.impl_code in seen:
            errors.append(f"{where}.impl_code: 实施编码与 items[{seen[item.impl_code]}] 重复 / duplicate impl_code")
        seen.setdefault(item.impl_code, i)
        if known is not None and item.category not in known:
            errors.append(f"{where}.category: 本大厅没有业务类别 {item.category} / unknown category")
    if errors:
        raise CatalogInvalid(errors[:MAX_ERRORS])
    return doc


def digest(raw: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(raw, ensure_ascii=False, sort_keys=True,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()
