"""The service guide API the kiosk reads: overview, search, full guide, blank forms."""

from __future__ import annotations

import copy
import json
from typing import Any

from hall.records.catalog import shipped_catalog_path

from tests.conftest import login


def _code(client: Any, q: str) -> str:
    items = client.get("/api/catalog/items", query_string={"q": q}).get_json()["items"]
    code: str = items[0]["impl_code"]
    return code


def test_overview_lists_the_hall_categories_with_counts(client: Any, config: Any) -> None:
    r = client.get("/api/catalog")
    assert r.status_code == 200
    body = r.get_json()
    assert body["source"] == "shipped" and body["version"] and "演示" in body["notice"]
    assert [c["prefix"] for c in body["categories"]] == [c.prefix for c in config.categories]
    assert body["categories"][0]["name"] == "司法信访、应急、城管"
    assert all(c["count"] > 0 for c in body["categories"])
    assert sum(c["count"] for c in body["categories"]) == body["item_count"] >= 30
    assert sum(d["count"] for d in body["departments"]) == body["item_count"]


def test_search_and_filters(client: Any) -> None:
    body = client.get("/api/catalog/items?q=dbsq").get_json()
    assert body["total"] == 1
    row = body["items"][0]
    assert row["name"] == "最低生活保障申请" and row["short_name"] == "低保申请"
    assert row["case_kind_name"] == "承诺件" and row["promised_limit"] == "25个工作日" and row["has_forms"]

    b = client.get("/api/catalog/items?category=b").get_json()
    assert b["total"] >= 4 and {i["category"] for i in b["items"]} == {"B"}
    dept = client.get("/api/catalog/items", query_string={"department": "林业站"}).get_json()
    assert {i["department"] for i in dept["items"]} == {"林业站"}
    assert client.get("/api/catalog/items?limit=3").get_json()["total"] >= 30
    assert len(client.get("/api/catalog/items?limit=3").get_json()["items"]) == 3
    assert client.get("/api/catalog/items?q=" + "低" * 41).status_code == 400
    assert client.get("/api/catalog/items?limit=x").get_json()["error"]["message"] == "参数 limit 须为整数"
    assert client.get("/api/catalog/items?q=zzzzqqqq").get_json() == {
        "version": client.get("/api/catalog").get_json()["version"], "total": 0, "items": []}


def test_full_guide(client: Any) -> None:
    code = _code(client, "低保")
    g = client.get(f"/api/catalog/items/{code}").get_json()
    assert g["impl_code"] == code and g["item_type"] == "05" and g["item_type_name"] == "行政给付"
    assert g["legal_limit"]["unit"] == "工作日" and g["legal_limit_text"].startswith("30个工作日")
    assert g["promised_limit_text"] == "25个工作日"
    assert g["policy_basis"][0].startswith("《社会救助暂行办法》")
    assert len(g["process"]) >= 5 and g["process"][3]["limit"]["text"] == "7天"
    assert g["materials"][0]["form"] == 1 and g["materials"][0]["form_title"] == "最低生活保障申请书"
    assert g["forms"][1]["url"] == f"/api/catalog/items/{code}/forms/2"
    assert g["online"] and g["online_url"].startswith("https://")
    assert g["location"] == "示范镇便民服务中心2号窗口" and g["fee"]["text"] == "不收费"
    missing = client.get("/api/catalog/items/NOSUCHITEM0001")
    assert missing.status_code == 404 and "未找到该事项" in missing.get_json()["error"]["message"]


def test_blank_form_prints_as_html(client: Any) -> None:
    code = _code(client, "zjd")
    r = client.get(f"/api/catalog/items/{code}/forms/1")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    assert "<h1>农村宅基地和建房（规划许可）申请表</h1>" in html and "示范镇便民服务中心" in html
    assert "@page { size: A4" in html
    assert client.get(f"/api/catalog/items/{code}/forms/2").status_code == 200
    gone = client.get(f"/api/catalog/items/{code}/forms/3")
    assert gone.status_code == 404 and gone.get_json()["error"]["message"] == "该事项没有这份空白表格"
    assert client.get(f"/api/catalog/items/{code}/forms/0").status_code == 404


def test_status_is_for_staff(client: Any) -> None:
    assert client.get("/api/catalog/status").status_code == 401
    token = login(client, "9101", "tech-6666", window=None)
    r = client.get("/api/catalog/status", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["source"] == "shipped"


def test_guide_follows_a_county_update(client: Any, services: Any) -> None:
    raw = json.loads(shipped_catalog_path().read_text("utf-8"))
    new = copy.deepcopy(raw)
    new.update(version="2026.12.01", published_at="2026-12-01T08:00:00+08:00")
    new["items"] = [i for i in new["items"] if i["category"] != "F"]
    assert services.catalog.apply(new).status == "applied"
    body = client.get("/api/catalog").get_json()
    assert body["version"] == "2026.12.01" and body["source"] == "county"
    assert next(c for c in body["categories"] if c["prefix"] == "F")["count"] == 0
    assert client.get("/api/catalog/items", query_string={"q": "残疾人证"}).get_json()["total"] == 0


def test_technician_imports_a_catalog_file(client: Any, services: Any) -> None:
    raw = json.loads(shipped_catalog_path().read_text("utf-8"))
    new = copy.deepcopy(raw)
    new.update(version="2026.12.09", published_at="2026-12-09T08:00:00+08:00")
    assert client.post("/api/catalog/import", json=new).status_code == 401
    clerk = login(client, "1001", "123456", window=1)
    assert client.post("/api/catalog/import", json=new,
                       headers={"Authorization": f"Bearer {clerk}"}).status_code == 403
    tech = {"Authorization": f"Bearer {login(client, '9101', 'tech-6666', window=None)}"}

    bad = copy.deepcopy(new)
    bad["items"][2]["promised_limit"] = {"value": 3, "unit": "周"}
    r = client.post("/api/catalog/import", json=bad, headers=tech)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "catalog_rejected" and "继续使用版本" in err["message"]
    assert any("items[2]" in e and "promised_limit.unit" in e for e in err["errors"])
    assert client.get("/api/catalog").get_json()["source"] == "shipped"

    r = client.post("/api/catalog/import", json=new, headers=tech)
    assert r.status_code == 200 and r.get_json()["status"] == "applied"
    assert client.get("/api/catalog").get_json()["version"] == "2026.12.09"
    assert client.post("/api/catalog/import", json=new, headers=tech).get_json()["status"] == "unchanged"
    assert client.post("/api/catalog/import", data="x", headers=tech).status_code == 415
    with services.db.read() as c:
        rows = c.execute("SELECT actor, action, target, detail FROM audit WHERE action = 'catalog.import' "
                         "ORDER BY id").fetchall()
    assert [(r[0], r[2], r[3].split()[0]) for r in rows] == [
        ("9101", "2026.12.09", "rejected"), ("9101", "2026.12.09", "applied"), ("9101", "2026.12.09", "unchanged")]
