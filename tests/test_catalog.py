"""The service catalog: shipped demo content, validation, pinyin search, atomic updates."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import hall.records.catalog as catalog_mod
import pytest
from hall.records.catalog import (
    CURRENT,
    PREVIOUS,
    CaseKind,
    CatalogInvalid,
    CatalogStore,
    ExerciseLevel,
    ItemType,
    TimeLimit,
    catalog_json_schema,
    item_guide,
    shipped_catalog_path,
    validate_catalog,
)
from hall.records.catalog_forms import render_form
from hall.records.catalog_search import SearchIndex

CATEGORIES = "ABCDEF"


@pytest.fixture(scope="module")
def shipped_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(shipped_catalog_path().read_text("utf-8"))
    return raw


@pytest.fixture(scope="module")
def shipped(shipped_raw: dict[str, Any]) -> Any:
    return validate_catalog(shipped_raw, CATEGORIES)


def county_version(raw: dict[str, Any], n: int, **changes: Any) -> dict[str, Any]:
    """A later county version of the shipped catalog."""
    new = copy.deepcopy(raw)
    new["version"] = f"2026.12.{n}"
    new["published_at"] = f"2026-12-{n:02d}T08:00:00+08:00"
    new["items"][0]["name"] = f"人民调解申请（第{n}版）"
    new.update(changes)
    return new


def by_name(items: list[Any]) -> list[str]:
    return [i.name for i in items]


# ---- the shipped demo catalog ------------------------------------------------------------------------

def test_shipped_catalog_is_valid_and_large_enough(shipped: Any) -> None:
    assert len(shipped.items) >= 30
    assert {i.category for i in shipped.items} == set(CATEGORIES)
    for prefix in CATEGORIES:
        assert len([i for i in shipped.items if i.category == prefix]) >= 4, prefix
    levels = [i.exercise_level for i in shipped.items]
    assert levels.count(ExerciseLevel.TOWNSHIP) >= 30
    assert ExerciseLevel.VILLAGE in levels
    assert shipped.published_at.utcoffset() is not None
    assert "演示" in shipped.notice            # the codes and phones are examples, and it says so


@pytest.mark.parametrize("name", [
    "最低生活保障申请", "特困人员救助供养申请", "临时救助申请", "残疾人证申领",
    "困难残疾人生活补贴和重度残疾人护理补贴申请", "城乡居民基本医疗保险参保登记", "城乡居民基本养老保险参保登记",
    "城乡居民基本养老保险待遇申领", "农村危房改造申请", "农村宅基地和建房（规划许可）申请", "生育登记",
    "退役军人优待证申领", "林木采伐许可证核发", "人民调解申请", "法律援助申请", "医疗救助申请",
    "门诊慢特病病种待遇认定",
])
def test_common_township_items_are_present(shipped: Any, name: str) -> None:
    assert name in by_name(shipped.items)


def test_every_shipped_item_has_a_complete_guide(shipped: Any, shipped_raw: dict[str, Any]) -> None:
    for raw_item, item in zip(shipped_raw["items"], shipped.items, strict=True):
        where = item.name
        assert "legal_limit" in raw_item, where           # explicit, even when no law sets one
        for field in ("impl_code", "basic_code", "name", "short_name", "department", "implementing_body",
                      "result", "location", "hours", "phone", "complaint_phone"):
            assert getattr(item, field).strip(), (where, field)
        assert item.policy_basis and all(p.startswith(("《", "县", "本省", "省", "民政部", "财政部")) for p in
                                         item.policy_basis), where
        assert item.conditions and all(len(c) >= 5 for c in item.conditions), where
        assert len(item.process) >= 2, where
        assert all(s.name and s.actor and s.detail for s in item.process), where
        assert item.fee.text and item.service_objects and item.handling_forms, where
        assert item.materials and all(m.name and m.originals + m.copies >= 1 for m in item.materials), where
        assert any(m.required for m in item.materials), where
        assert item.promised_limit.text, where
        if item.case_kind is CaseKind.IMMEDIATE:
            assert item.promised_limit.value == 0, where
        if item.online:
            assert item.online_url.startswith("https://"), where
        assert item.location.startswith(("示范镇便民服务中心", "所在村")), where


def test_shipped_codes_are_unique_and_look_like_implementation_codes(shipped: Any) -> None:
    codes = [i.impl_code for i in shipped.items]
    assert len(set(codes)) == len(codes)
    for i in shipped.items:
        assert i.impl_code.startswith(("11430224", "54430224")), i.impl_code      # credit code of the body
        assert i.basic_code in i.impl_code
        assert i.basic_code.startswith(i.item_type.value)


def test_several_items_ship_blank_forms_that_render(shipped: Any) -> None:
    with_forms = [i for i in shipped.items if i.forms]
    assert len(with_forms) >= 10
    for item in with_forms:
        for n, form in enumerate(item.forms, start=1):
            html = render_form(item, n, hall_name="示范镇便民服务中心")
            assert html.startswith("<!DOCTYPE html>")
            assert f"<h1>{form.title}</h1>" in html
            assert item.impl_code in html and "示范镇便民服务中心" in html
            assert "http" not in html.replace("http-equiv", "")       # no external assets
        referenced = {m.form for m in item.materials if m.form}
        assert referenced <= set(range(1, len(item.forms) + 1)), item.name
    with pytest.raises(IndexError):
        render_form(with_forms[0], len(with_forms[0].forms) + 1)


def test_form_text_is_escaped(shipped_raw: dict[str, Any]) -> None:
    raw = county_version(shipped_raw, 3)
    target = next(i for i in raw["items"] if i.get("forms"))
    target["forms"][0]["title"] = "<script>alert(1)</script>申请表"
    doc = validate_catalog(raw, CATEGORIES)
    item = next(i for i in doc.items if i.impl_code == target["impl_code"])
    html = render_form(item, 1)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_guide_view_names_codes_and_limits(shipped: Any) -> None:
    item = next(i for i in shipped.items if i.name == "最低生活保障申请")
    g = item_guide(item, lambda n: f"/f/{n}")
    assert g["item_type_name"] == "行政给付" and g["case_kind_name"] == "承诺件"
    assert g["exercise_level_name"] == "乡镇（街道）级"
    assert g["legal_limit_text"].startswith("30个工作日")
    assert g["forms"][0] == {"n": 1, "title": "最低生活保障申请书", "url": "/f/1"}
    assert g["materials"][0]["form_title"] == "最低生活保障申请书"
    no_law = next(i for i in shipped.items if i.legal_limit is None)
    assert item_guide(no_law)["legal_limit_text"] == "法律法规未作规定"


def test_time_limit_text() -> None:
    assert TimeLimit(value=0, unit="工作日").text == "即时办结"
    assert TimeLimit(value=20, unit="工作日").text == "20个工作日"
    assert TimeLimit(value=7, unit="天", note="不含公示期").text == "7天（不含公示期）"
    assert TimeLimit(value=1, unit="月").text == "1个月"


def test_code_tables() -> None:
    assert ItemType("01").label == "行政许可" and ItemType("20").label == "公共服务"
    assert ItemType.PAYMENT.value == "05" and ItemType.CONFIRMATION.value == "07"
    assert ExerciseLevel("6").label == "村（社区）级"
    assert CaseKind("1").label == "即办件" and CaseKind("2").label == "承诺件"


# ---- validation ---------------------------------------------------------------------------------------

def _errors(raw: Any, categories: str | None = CATEGORIES) -> list[str]:
    with pytest.raises(CatalogInvalid) as exc:
        validate_catalog(raw, categories)
    return exc.value.errors


def test_errors_name_the_item_and_the_field(shipped_raw: dict[str, Any]) -> None:
    raw = county_version(shipped_raw, 4)
    low = next(i for i in raw["items"] if i["name"] == "最低生活保障申请")
    idx = raw["items"].index(low)
    del low["conditions"]
    low["materials"][0]["name"] = ""
    errors = _errors(raw)
    assert any(e.startswith(f"items[{idx}]（最低生活保障申请 {low['impl_code']}）.conditions: 缺少必填字段")
               for e in errors), errors
    assert any(".materials[0].name: 不能为空或过短" in e for e in errors), errors
    assert all(" / " in e for e in errors)           # Chinese, then the English detail


@pytest.mark.parametrize(("change", "expected"), [
    (lambda it: it.update(case_kind="1"), "即办件的承诺时限应为0"),
    (lambda it: it.update(promised_limit={"value": 0, "unit": "工作日"}), "承诺件必须有承诺时限"),
    (lambda it: it.update(promised_limit={"value": 60, "unit": "工作日"}), "承诺时限不能长于法定时限"),
    (lambda it: it.update(online_url=""), "可网办事项须提供网办地址"),
    (lambda it: it.update(handling_forms=["窗口"]), "与办理形式"),
    (lambda it: it["materials"][0].update(form=9), "表格 9 不存在"),
    (lambda it: it["materials"][1].update(originals=0, copies=0), "原件和复印件份数不能同时为0"),
    (lambda it: it.update(item_type="99"), "代码不在标准代码表内"),
    (lambda it: it.update(category="a"), "格式不正确"),
    (lambda it: it.update(fee={"charged": True, "text": "10元"}), "收费事项必须写明收费依据"),
    (lambda it: it.update(process=[it["process"][0]]), "条目过少"),
])
def test_item_rules(shipped_raw: dict[str, Any], change: Any, expected: str) -> None:
    raw = county_version(shipped_raw, 5)
    low = next(i for i in raw["items"] if i["name"] == "最低生活保障申请")
    change(low)
    errors = _errors(raw)
    assert any(expected in e and "最低生活保障申请" in e for e in errors), errors


def test_catalog_rules(shipped_raw: dict[str, Any]) -> None:
    raw = county_version(shipped_raw, 6)
    raw["items"][1]["impl_code"] = raw["items"][0]["impl_code"]
    assert any("实施编码与 items[0] 重复" in e for e in _errors(raw))
    assert any("本大厅没有业务类别 F" in e for e in _errors(county_version(shipped_raw, 6), "ABCDE"))
    assert _errors([]) == ["catalog: 目录应为 JSON 对象 / the catalog must be a JSON object"]
    assert any("format" in e and "请升级" in e for e in _errors(county_version(shipped_raw, 6, format=2)))
    assert any("format" in e and "请升级" in e
               for e in _errors(county_version(shipped_raw, 6, format="hall-catalog/2")))
    assert any(e.startswith("format: 格式不正确") for e in _errors(county_version(shipped_raw, 6, format="other/1")))
    assert validate_catalog(county_version(shipped_raw, 6, format=1), CATEGORIES).format == "hall-catalog/1"
    assert any("published_at" in e and "时区" in e
               for e in _errors(county_version(shipped_raw, 6, published_at="2026-12-06T08:00:00")))
    assert any(e.startswith("items: 条目过少") for e in _errors(county_version(shipped_raw, 6, items=[])))


def test_unknown_fields_from_a_later_county_version_are_ignored(shipped_raw: dict[str, Any]) -> None:
    raw = county_version(shipped_raw, 7, signature="abc")
    raw["items"][0]["new_field_2027"] = {"x": 1}
    assert validate_catalog(raw, CATEGORIES).items[0].name.endswith("（第7版）")


def test_integer_codes_are_accepted(shipped_raw: dict[str, Any]) -> None:
    raw = county_version(shipped_raw, 8)
    raw["items"][0].update(item_type=20, exercise_level=5, case_kind=2)
    item = validate_catalog(raw, CATEGORIES).items[0]
    assert (item.item_type, item.exercise_level, item.case_kind) == (ItemType.PUBLIC_SERVICE,
                                                                      ExerciseLevel.TOWNSHIP, CaseKind.PROMISED)


# ---- search -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CatalogStore:
    return CatalogStore(tmp_path_factory.mktemp("catalog"), categories=CATEGORIES)


@pytest.mark.parametrize(("query", "first"), [
    ("dbsq", "最低生活保障申请"),            # initials of the short name 低保申请
    ("DBSQ", "最低生活保障申请"),
    ("ｄｂｓｑ", "最低生活保障申请"),         # full-width letters from some keypads
    ("dibao", "最低生活保障申请"),
    ("di bao shen qing", "最低生活保障申请"),
    ("dibaosq", "最低生活保障申请"),         # full pinyin and initials mixed
    ("zdshbz", "最低生活保障申请"),          # initials of the official name
    ("zuidishenghuo", "最低生活保障申请"),
    ("低保", "最低生活保障申请"),
    ("最低生活保障", "最低生活保障申请"),
    ("lsjz", "临时救助申请"),
    ("临时救助", "临时救助申请"),
    ("cjrz", "残疾人证申领"),
    ("ydjy", "跨省异地就医备案"),
    ("zjd", "农村宅基地和建房（规划许可）申请"),
    ("宅基地", "农村宅基地和建房（规划许可）申请"),
    ("caifa", "林木采伐许可证核发"),
    ("xnh", "城乡居民基本医疗保险参保登记"),  # 新农合, the name villagers still use
    ("gljt", "80周岁以上老年人高龄津贴申领"),
    ("80", "80周岁以上老年人高龄津贴申领"),
    ("wfgz", "农村危房改造申请"),
    ("shengyu", "生育登记"),
    ("zdcjr", "困难残疾人生活补贴和重度残疾人护理补贴申请"),
])
def test_search_finds_items(store: CatalogStore, query: str, first: str) -> None:
    found = store.current.search(query)
    assert found and found[0].name == first, by_name(found)[:5]


def test_search_initials_of_a_phrase_inside_the_name(store: CatalogStore) -> None:
    found = by_name(store.current.search("cbdj"))          # 参保登记
    assert "城乡居民基本医疗保险参保登记" in found
    assert "城乡居民基本养老保险参保登记" in found


def test_search_is_precise_when_a_good_match_exists(store: CatalogStore) -> None:
    # dbsq is spread over other long names too (倒房重建补助申请); they are not shown.
    assert by_name(store.current.search("dbsq")) == ["最低生活保障申请"]
    assert store.current.search("zzzzqqqq") == []
    assert store.current.search("   ") == store.current.items


def test_search_filters(store: CatalogStore) -> None:
    cat = store.current
    b = cat.search(category="B")
    assert b and all(i.category == "B" for i in b) and len(b) == cat.category_counts()["B"]
    assert cat.search("dbsq", category="C") == []
    dept = cat.search(department="林业站")
    assert {i.name for i in dept} >= {"林木采伐许可证核发"} and all(i.department == "林业站" for i in dept)
    assert by_name(cat.search("minzheng"))[:1] and all(i.department == "民政办" for i in cat.search("minzheng"))
    assert len(cat.search(category="A", limit=2)) == 2


def test_search_by_code(store: CatalogStore) -> None:
    item = store.current.items[5]
    assert store.current.search(item.impl_code)[0] is item
    assert store.current.get(item.impl_code) is item
    assert store.current.get("nope") is None


def test_spread_initials_are_the_fallback() -> None:
    index = SearchIndex([("1", ["最低生活保障申请"], ["X1"], "民政办"), ("2", ["临时救助申请"], ["X2"], "民政办")])
    assert index.scores("dbsq") == {"1": 40}              # no alias: letters found in order in the long name
    assert set(index.scores("sq")) == {"1", "2"}


def test_heteronyms_match_every_reading() -> None:
    index = SearchIndex([("1", ["参保登记"], ["X1"], "医保站")])
    assert index.scores("cbdj") == {"1": 100}
    assert index.scores("shenbao") == {"1": 90}           # 参 also reads shen; a rare reading still finds it


# ---- the store: cache, validation before use, atomic swap ---------------------------------------------

def test_store_starts_on_the_shipped_catalog(tmp_path: Path, shipped: Any) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    assert s.current.source == "shipped" and s.current.version == shipped.version
    assert len(s.current) == len(shipped.items)
    st = s.status()
    assert st["loaded_from"].endswith(CURRENT) and st["load_errors"] == [] and st["last_attempt"] is None


def test_apply_swaps_caches_and_announces(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    s = CatalogStore(tmp_path, categories=CATEGORIES, publish=lambda k, d: events.append((k, d)))
    old = s.current
    new = county_version(shipped_raw, 1)
    result = s.apply(new)
    assert result.status == "applied" and result.ok
    assert (result.version, result.previous_version) == ("2026.12.1", old.version)
    assert s.current is not old and s.current.source == "county"
    assert s.current.items[0].name == "人民调解申请（第1版）"
    assert old.items[0].name == "人民调解申请"             # a reader holding the old version keeps it whole
    assert json.loads((tmp_path / "catalog" / CURRENT).read_text("utf-8")) == new
    assert events == [("catalog.updated", {"version": "2026.12.1", "item_count": len(new["items"])})]
    # The same version again changes nothing.
    again = s.apply(copy.deepcopy(new))
    assert again.status == "unchanged" and s.current.version == "2026.12.1"
    assert len(events) == 1


def test_cached_version_is_loaded_at_start(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    CatalogStore(tmp_path, categories=CATEGORIES).apply(county_version(shipped_raw, 1))
    restarted = CatalogStore(tmp_path, categories=CATEGORIES)
    assert restarted.current.version == "2026.12.1" and restarted.current.source == "county"
    assert restarted.status()["last_attempt"]["status"] == "applied"
    assert restarted.apply(county_version(shipped_raw, 1)).status == "unchanged"


def test_invalid_version_keeps_the_last_good_one(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    assert s.apply(county_version(shipped_raw, 1)).status == "applied"
    cached = (tmp_path / "catalog" / CURRENT).read_bytes()
    bad = county_version(shipped_raw, 2)
    del bad["items"][3]["materials"]
    result = s.apply(bad)
    assert result.status == "rejected" and not result.ok
    assert any(".materials: 缺少必填字段" in e for e in result.errors)
    assert "继续使用版本 2026.12.1" in result.message
    assert s.current.version == "2026.12.1"
    assert (tmp_path / "catalog" / CURRENT).read_bytes() == cached
    st = s.status()
    assert st["last_attempt"]["status"] == "rejected" and st["last_attempt"]["version"] == "2026.12.2"
    assert CatalogStore(tmp_path, categories=CATEGORIES).current.version == "2026.12.1"
    assert s.apply("not a catalog").status == "rejected"   # type: ignore[arg-type]


def test_older_version_is_not_taken(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    s.apply(county_version(shipped_raw, 5))
    result = s.apply(county_version(shipped_raw, 4))
    assert result.status == "rejected" and "比当前版本 2026.12.5 旧" in result.message
    assert s.current.version == "2026.12.5"


def test_county_version_older_than_the_shipped_demo_is_taken(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    old = county_version(shipped_raw, 1, version="2025.01", published_at="2025-01-02T08:00:00+08:00")
    assert s.apply(old).status == "applied"               # the demo catalog is no county baseline


def test_failed_write_keeps_the_old_version(tmp_path: Path, shipped_raw: dict[str, Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    s.apply(county_version(shipped_raw, 1))

    def disk_full(path: Path, data: dict[str, Any]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalog_mod, "atomic_write_json", disk_full)
    result = s.apply(county_version(shipped_raw, 2))
    assert result.status == "failed" and "No space left" in result.errors[0]
    assert s.current.version == "2026.12.1"


def test_interrupted_replace_keeps_both_file_and_memory(tmp_path: Path, shipped_raw: dict[str, Any],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    s.apply(county_version(shipped_raw, 1))

    def interrupted(tmp: Path, target: Path) -> None:
        if target.name == CURRENT:
            raise KeyboardInterrupt        # not an OSError: the store must not swallow it

    monkeypatch.setattr(catalog_mod, "_before_replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        s.apply(county_version(shipped_raw, 2))
    assert s.current.version == "2026.12.1"
    assert json.loads((tmp_path / "catalog" / CURRENT).read_text("utf-8"))["version"] == "2026.12.1"
    assert list((tmp_path / "catalog").glob(".*.tmp")) == []


_CRASH = """
import json, os, sys
from pathlib import Path
import hall.records.catalog as cat
store = cat.CatalogStore(Path(sys.argv[1]), categories="ABCDEF")
def crash(tmp, target):
    if target.name == cat.CURRENT:
        os._exit(17)          # power cut: the new version is durable in the temp file, not yet renamed
cat._before_replace = crash
store.apply(json.loads(Path(sys.argv[2]).read_text("utf-8")))
"""


def test_crash_between_temp_write_and_replace(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    data = tmp_path / "data"
    CatalogStore(data, categories=CATEGORIES).apply(county_version(shipped_raw, 1))
    new = tmp_path / "v2.json"
    new.write_text(json.dumps(county_version(shipped_raw, 2), ensure_ascii=False), "utf-8")
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(data), str(new)], capture_output=True, timeout=60)
    assert proc.returncode == 17, proc.stderr.decode()
    leftovers = list((data / "catalog").glob(".catalog.json.*.tmp"))
    assert len(leftovers) == 1 and json.loads(leftovers[0].read_text("utf-8"))["version"] == "2026.12.2"
    assert json.loads((data / "catalog" / CURRENT).read_text("utf-8"))["version"] == "2026.12.1"

    restarted = CatalogStore(data, categories=CATEGORIES)
    assert restarted.current.version == "2026.12.1"
    assert not leftovers[0].exists()                          # the half-done update is cleared away
    assert restarted.apply(county_version(shipped_raw, 2)).status == "applied"   # and the sync simply retries


def test_damaged_cache_falls_back_to_previous_then_shipped(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    s.apply(county_version(shipped_raw, 1))
    s.apply(county_version(shipped_raw, 2))
    folder = tmp_path / "catalog"
    assert json.loads((folder / PREVIOUS).read_text("utf-8"))["version"] == "2026.12.1"

    (folder / CURRENT).write_text('{"version": "2026.12.2", "items": [', "utf-8")     # torn by a bad disk
    s2 = CatalogStore(tmp_path, categories=CATEGORIES)
    assert s2.current.version == "2026.12.1" and s2.current.source == "county"
    assert s2.status()["load_errors"][0].startswith(CURRENT)

    (folder / PREVIOUS).write_text("{}", "utf-8")
    s3 = CatalogStore(tmp_path, categories=CATEGORIES)
    assert s3.current.source == "shipped" and len(s3.status()["load_errors"]) == 2
    assert s3.apply(county_version(shipped_raw, 3)).status == "applied"


def test_no_usable_catalog_gives_an_empty_guide(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    s = CatalogStore(tmp_path, categories=CATEGORIES, shipped=missing)
    assert s.current.source == "empty" and len(s.current) == 0 and s.current.search("dbsq") == []


def test_readers_never_see_a_mixed_catalog(tmp_path: Path, shipped_raw: dict[str, Any]) -> None:
    s = CatalogStore(tmp_path, categories=CATEGORIES)
    versions = [county_version(shipped_raw, n) for n in range(1, 5)]
    for n, v in enumerate(versions, start=1):
        v["items"] = v["items"][: 10 + n]                    # each version has its own item count
    expected = {v["version"]: len(v["items"]) for v in versions}
    expected[s.current.version] = len(s.current)
    bad: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            c = s.current
            if len(c) != expected[c.version] or len(c.search(category="A")) != len(c.by_category("A")):
                bad.append(c.version)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for v in versions:
            assert s.apply(v).status == "applied"
    finally:
        done.set()
        t.join()
    assert bad == []


def test_the_county_simulator_serves_a_catalog_the_store_takes(tmp_path: Path) -> None:
    from hall.relay import county_sim, wire

    doc = county_sim.default_catalog()
    assert wire.validate(doc, "Catalog") == [] and doc["format"] == "hall-catalog/1"
    assert doc == json.loads(shipped_catalog_path().read_text("utf-8"))
    served = county_version(doc, 9)
    assert CatalogStore(tmp_path, categories=CATEGORIES).apply(served).status == "applied"


def test_shipped_json_schema_matches_the_model() -> None:
    shipped = json.loads((shipped_catalog_path().parent / "catalog.schema.json").read_text("utf-8"))
    assert shipped == catalog_json_schema(), "regenerate data/catalog.schema.json from catalog_json_schema()"
    assert shipped["properties"]["format"]["pattern"] == "^hall-catalog/\\d{1,4}$"
    assert set(shipped["$defs"]["ServiceItem"]["required"]) >= {
        "impl_code", "name", "item_type", "legal_limit", "promised_limit", "case_kind", "materials"}
