"""The service catalog (政务服务事项 / 办事指南): model, validation, search and atomic updates.

The county publishes the township's items; the hall keeps a read-only copy and
shows each item's guide on the kiosk. Fields follow GB/T 39046-2020 (DESIGN.md
§4). Coded fields keep the standard's codes, with names for display:

- item type (A.1): 01 行政许可 02 行政处罚 03 行政强制 04 行政征收 05 行政给付 06 行政检查
  07 行政确认 08 行政奖励 09 行政裁决 10 其他行政权力 20 公共服务;
- exercise level (A.2): 1 国家级 … 4 县级, 5 乡镇（街道）级, 6 村（社区）级;
- case kind (A.6): 1 即办件 (finished on the spot, promised limit 0), 2 承诺件.

A catalog is one versioned JSON document, `{format, version, published_at,
items: [...]}`, the same shape from the county sync, in the local cache and in
the demo catalog shipped with the product (`data/catalog.json`).

`CatalogStore` is the only writer. At start it loads the last good cached
version (then the one before it, then the shipped demo catalog), and
`apply(raw)` validates a version from the county and swaps it in atomically:
temp file, fsync, `os.replace`, then the in-memory reference. A county that is
unreachable, or sends something invalid, leaves the hall on its last good
catalog; every attempt is recorded for the technician.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from hall.records.catalog_search import SearchIndex
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

log = logging.getLogger(__name__)

FORMAT = 1                      # the catalog document format this code reads: "hall-catalog/1"
FORMAT_NAME = f"hall-catalog/{FORMAT}"
CACHE_DIR = "catalog"
CURRENT = "catalog.json"
PREVIOUS = "catalog.prev.json"
STATE = "sync-state.json"
MAX_ERRORS = 20                 # errors reported per rejected version


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


class Catalog:
    """One validated catalog version, read-only, with lookups and search."""

    def __init__(self, doc: CatalogDocument, *, source: str, raw_digest: str = "") -> None:
        self.doc = doc
        self.source = source            # "county" (synced), "shipped" (demo), "empty"
        self.digest = raw_digest
        self._by_code = {item.impl_code: item for item in doc.items}
        self._index: SearchIndex | None = None
        self._index_lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.doc.version

    @property
    def published_at(self) -> datetime:
        return self.doc.published_at

    @property
    def items(self) -> list[ServiceItem]:
        return self.doc.items

    def __len__(self) -> int:
        return len(self.doc.items)

    def get(self, impl_code: str) -> ServiceItem | None:
        return self._by_code.get(impl_code)

    def by_category(self, prefix: str) -> list[ServiceItem]:
        return [i for i in self.doc.items if i.category == prefix]

    def by_department(self, department: str) -> list[ServiceItem]:
        return [i for i in self.doc.items if i.department == department]

    def category_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self.doc.items:
            counts[i.category] = counts.get(i.category, 0) + 1
        return counts

    def departments(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in self.doc.items:
            counts[i.department] = counts.get(i.department, 0) + 1
        return counts

    def index(self) -> SearchIndex:
        """The pinyin index, built on first use (imports pypinyin, ~0.4 s the first time)."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    self._index = SearchIndex(
                        (i.impl_code, i.search_names, (i.impl_code, i.basic_code), i.department)
                        for i in self.doc.items)
        return self._index

    def search(self, query: str = "", *, category: str = "", department: str = "",
               limit: int | None = None) -> list[ServiceItem]:
        """Items matching all given filters; with a query, best matches first."""
        items = [i for i in self.doc.items
                 if (not category or i.category == category) and (not department or i.department == department)]
        if query.strip():
            scores = self.index().scores(query)
            order = {item.impl_code: n for n, item in enumerate(self.doc.items)}
            items = sorted((i for i in items if i.impl_code in scores),
                           key=lambda i: (-scores[i.impl_code], order[i.impl_code]))
        return items[:limit] if limit is not None else items


def _empty_catalog() -> Catalog:
    doc = CatalogDocument.model_construct(format=FORMAT_NAME, version="none", items=[], issuer="", region_code="",
                                          notice="", published_at=datetime.fromtimestamp(0).astimezone())
    return Catalog(doc, source="empty")


def shipped_catalog_path() -> Path:
    return Path(str(resources.files("hall.records").joinpath("data", CURRENT)))


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); Windows has no directory handles to sync and needs none."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _before_replace(tmp: Path, target: Path) -> None:
    """Hook between the durable temp file and the rename; tests use it to crash there."""


def atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    """Readers (and a power cut) see the old file or the new one, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _before_replace(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


ApplyStatus = Literal["applied", "unchanged", "rejected", "failed"]


@dataclass(frozen=True)
class ApplyResult:
    """What became of one catalog version offered by the county sync."""

    status: ApplyStatus
    version: str
    previous_version: str
    item_count: int = 0
    errors: tuple[str, ...] = ()
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "unchanged")

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "version": self.version, "previous_version": self.previous_version,
                "item_count": self.item_count, "errors": list(self.errors), "message": self.message}


@dataclass
class _State:
    loaded_from: str = ""
    load_errors: list[str] = field(default_factory=list)
    last_attempt: dict[str, Any] | None = None
    last_applied_at: str = ""


class CatalogStore:
    """Holds the current catalog and replaces it, atomically, with validated county versions.

    Readers call `current` (one reference read, never a lock); only `apply`
    writes, one at a time. `publish(kind, data)` (the event hub) hears of
    every applied version as "catalog.updated" so screens can reload.
    """

    def __init__(self, data_dir: Path, *, categories: Iterable[str] | None = None,
                 now: Callable[[], datetime] | None = None,
                 publish: Callable[[str, dict[str, Any]], Any] | None = None,
                 shipped: Path | None = None) -> None:
        self.dir = Path(data_dir) / CACHE_DIR
        self.categories = list(categories) if categories is not None else None
        self._now = now or (lambda: datetime.now().astimezone())
        self._publish = publish
        self._shipped = shipped or shipped_catalog_path()
        self._write_lock = threading.Lock()
        self._state = _State()
        self._raw: dict[str, Any] | None = None     # the current county version as received
        self._catalog = self._load()

    # ---- reading -------------------------------------------------------------------------------------
    @property
    def current(self) -> Catalog:
        return self._catalog

    def status(self) -> dict[str, Any]:
        c = self._catalog
        return {
            "version": c.version, "published_at": c.published_at.isoformat(), "source": c.source,
            "item_count": len(c), "loaded_from": self._state.loaded_from,
            "load_errors": list(self._state.load_errors), "last_attempt": self._state.last_attempt,
            "last_applied_at": self._state.last_applied_at,
        }

    def warm(self) -> None:
        """Build the search index now (call from a background thread at start)."""
        try:
            self._catalog.index()
        except Exception:   # search then builds it on first use, or reports its own error
            log.exception("cannot build the service guide's search index")

    # ---- start-up ------------------------------------------------------------------------------------
    def _load(self) -> Catalog:
        self._clean_temp_files()
        self._read_state()
        for path, source in ((self.dir / CURRENT, "county"), (self.dir / PREVIOUS, "county"),
                             (self._shipped, "shipped")):
            if not path.exists():
                continue
            try:
                raw = json.loads(path.read_text("utf-8"))
                doc = validate_catalog(raw, self.categories)
            except (OSError, ValueError) as exc:   # CatalogInvalid and JSON errors are ValueErrors
                msg = f"{path.name}: {exc}"
                self._state.load_errors.append(msg)
                log.error("catalog file unusable, trying the next one: %s", msg)
                continue
            self._state.loaded_from = str(path)
            self._raw = raw if source == "county" else None
            log.info("service catalog %s loaded from %s (%d items)", doc.version, path, len(doc.items))
            return Catalog(doc, source=source, raw_digest=digest(raw))
        log.error("no usable service catalog: the kiosk's service guide will be empty")
        self._state.loaded_from = ""
        return _empty_catalog()

    def _clean_temp_files(self) -> None:
        """Temp files left by a crash between write and rename are never valid versions: remove them."""
        if not self.dir.is_dir():
            return
        for p in self.dir.glob(".*.tmp"):
            try:
                p.unlink()
                log.warning("removed %s left by an interrupted catalog update", p.name)
            except OSError as exc:
                log.warning("cannot remove %s: %s", p, exc)

    def _read_state(self) -> None:
        try:
            data = json.loads((self.dir / STATE).read_text("utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            attempt = data.get("last_attempt")
            self._state.last_attempt = attempt if isinstance(attempt, dict) else None
            self._state.last_applied_at = str(data.get("last_applied_at", ""))

    def _write_state(self) -> None:
        try:
            atomic_write_json(self.dir / STATE, {"last_attempt": self._state.last_attempt,
                                                 "last_applied_at": self._state.last_applied_at})
        except OSError:
            log.exception("cannot record the catalog sync state")

    # ---- updates -------------------------------------------------------------------------------------
    def apply(self, raw: dict[str, Any]) -> ApplyResult:
        """Validate a version from the county and make it current; never raises for bad input."""
        with self._write_lock:
            result = self._apply(raw)
            self._state.last_attempt = {"at": self._now().isoformat(timespec="seconds"), **result.as_dict()}
            if result.status == "applied":
                self._state.last_applied_at = self._state.last_attempt["at"]
            self._write_state()
        if result.status == "applied":
            log.info("service catalog updated %s → %s (%d items)", result.previous_version, result.version,
                     result.item_count)
            if self._publish is not None:
                self._publish("catalog.updated", {"version": result.version, "item_count": result.item_count})
        elif result.status in ("rejected", "failed"):
            log.error("service catalog version %s %s: %s", result.version or "?", result.status,
                      "; ".join(result.errors[:5]))
        return result

    def _apply(self, raw: dict[str, Any]) -> ApplyResult:
        old = self._catalog
        version = str(raw.get("version", "")) if isinstance(raw, dict) else ""
        try:
            doc = validate_catalog(raw, self.categories)
        except CatalogInvalid as exc:
            return ApplyResult("rejected", version, old.version, errors=tuple(exc.errors),
                               message=f"目录版本 {version or '（无版本号）'} 未通过校验，继续使用版本 {old.version}")
        new_digest = digest(raw)
        if new_digest == old.digest:
            return ApplyResult("unchanged", doc.version, old.version, len(doc.items), message="目录未变化")
        if old.source == "county" and doc.published_at < old.published_at:
            return ApplyResult("rejected", doc.version, old.version, len(doc.items),
                               errors=(f"published_at: {doc.published_at.isoformat()} 早于当前版本的 "
                                       f"{old.published_at.isoformat()} / older than the current version",),
                               message=f"目录版本 {doc.version} 比当前版本 {old.version} 旧，未采用")
        new = Catalog(doc, source="county", raw_digest=new_digest)
        new.index()     # built here, on the sync thread, so no kiosk request waits for it
        try:
            if self._raw is not None:   # keep the last good version should the current file ever be lost
                atomic_write_json(self.dir / PREVIOUS, self._raw)
            atomic_write_json(self.dir / CURRENT, raw)
        except (OSError, TypeError, ValueError) as exc:
            return ApplyResult("failed", doc.version, old.version, len(doc.items), errors=(f"{exc}",),
                               message=f"目录版本 {doc.version} 写入本地缓存失败，继续使用版本 {old.version}")
        self._catalog = new     # the swap: one reference assignment, atomic for readers
        self._raw = copy.deepcopy(raw)
        self._state.loaded_from = str(self.dir / CURRENT)
        self._state.load_errors = []
        return ApplyResult("applied", doc.version, old.version, len(doc.items),
                           message=f"目录已更新为版本 {doc.version}")


# ---- views for the API --------------------------------------------------------------------------------

def item_summary(item: ServiceItem) -> dict[str, Any]:
    """One row of a list: enough to choose an item."""
    return {
        "impl_code": item.impl_code, "name": item.name, "short_name": item.short_name,
        "category": item.category, "department": item.department,
        "item_type": item.item_type.value, "item_type_name": item.item_type.label,
        "case_kind": item.case_kind.value, "case_kind_name": item.case_kind.label,
        "promised_limit": item.promised_limit.text, "visits": item.visits,
        "online": item.online, "appointment": item.appointment, "has_forms": bool(item.forms),
    }


def item_guide(item: ServiceItem, form_url: Callable[[int], str] | None = None) -> dict[str, Any]:
    """The full guide (办事指南) as the kiosk shows it: codes with their names, limits with their text."""
    data = item.model_dump(mode="json")
    data.update(
        item_type_name=item.item_type.label,
        exercise_level_name=item.exercise_level.label,
        case_kind_name=item.case_kind.label,
        legal_limit=item.legal_limit.as_dict() if item.legal_limit else None,
        legal_limit_text=item.legal_limit.text if item.legal_limit else "法律法规未作规定",
        promised_limit=item.promised_limit.as_dict(),
        promised_limit_text=item.promised_limit.text,
        forms=[{"n": n, "title": f.title, "url": form_url(n) if form_url else None}
               for n, f in enumerate(item.forms, start=1)],
    )
    for step, ps in zip(data["process"], item.process, strict=True):
        step["limit"] = ps.limit.as_dict() if ps.limit else None
    for m, mat in zip(data["materials"], item.materials, strict=True):
        m["form_title"] = item.forms[mat.form - 1].title if mat.form else None
    return data
