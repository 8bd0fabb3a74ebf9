"""The service catalog (政务服务事项 / 办事指南): the store, its atomic updates and the API views.

The document model and its validation live in `hall.records.catalog_model` (re-exported here).

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
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from hall.records.catalog_model import (
    FORMAT_NAME,
    CaseKind,
    CatalogDocument,
    CatalogInvalid,
    ExerciseLevel,
    ItemType,
    ServiceItem,
    TimeLimit,
    catalog_json_schema,
    digest,
    validate_catalog,
)
from hall.records.catalog_search import SearchIndex

log = logging.getLogger(__name__)

# The document model's names stay importable from here, where callers found them before the split.
__all__ = [
    "CACHE_DIR", "CURRENT", "FORMAT_NAME", "PREVIOUS", "STATE", "ApplyResult", "CaseKind", "Catalog", "CatalogDocument",
    "CatalogInvalid", "CatalogStore", "ExerciseLevel", "ItemType", "ServiceItem", "TimeLimit", "atomic_write_json",
    "catalog_json_schema", "digest", "item_guide", "item_summary", "shipped_catalog_path", "validate_catalog",
]

CACHE_DIR = "catalog"
CURRENT = "catalog.json"
PREVIOUS = "catalog.prev.json"
STATE = "sync-state.json"


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


# dup-ok: a frozen result record, shaped like netaddr.py PublicAddress only
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
