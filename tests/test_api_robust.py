"""The inputs that used to crash the service (issue 10's attack list), each refused with a clear 400/404.

Out-of-range integers, deep JSON, over-long strings and nulls must never reach
SQLite or the file system as they are: the caller gets a message naming the cause,
the service logs no error and keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hall.web.util import INT64_MAX, MAX_JSON_DEPTH, json_depth_exceeds

from tests import records_support
from tests.conftest import auth

ORIGIN = {"Origin": "http://localhost"}
HUGE = "99999999999999999999"          # > 2**63: SQLite cannot hold it


services = records_support.services_with_villages


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Server errors logged during the test: there must be none."""
    with caplog.at_level(logging.ERROR):
        yield caplog.records


def _auth(api: Any, staff_id: str, pin: str, window: int | None = None) -> dict[str, str]:
    return auth(api, staff_id, pin, window, headers=ORIGIN)


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:300])
    err: dict[str, Any] = r.get_json()["error"]
    assert err["message"] and err["code"]
    return err


@pytest.mark.parametrize("url", [
    f"/api/village/stations/{HUGE}",
    f"/api/tickets/{HUGE}",
    f"/api/windows/{HUGE}",
    f"/api/catalog/items/x/forms/{HUGE}",
    f"/api/evaluator/{HUGE}/prompt",
])
def test_an_integer_beyond_int64_in_a_path_is_not_found(api: Any, url: str, errors_logged: list[Any]) -> None:
    _error(api.get(url), 404)
    assert errors_logged == []


def test_the_largest_int64_still_reaches_the_route(api: Any) -> None:
    # the bound is SQLite's, not a smaller arbitrary one: the route answers "no such ticket" itself
    err = _error(api.get(f"/api/tickets/{INT64_MAX}"), 404)
    assert err["code"] == "not_found"


def test_integers_beyond_int64_in_a_query_are_a_400_naming_the_argument(api: Any, errors_logged: list[Any]) -> None:
    m = _auth(api, "9001", "hall-8888")
    for url in (f"/api/cases?window={HUGE}", f"/api/ratings?window={HUGE}", f"/api/village/agents?village_id={HUGE}",
                "/api/cases?limit=0", "/api/cases?limit=-5", f"/api/village/records?limit={HUGE}"):
        err = _error(api.get(url, headers=m), 400)
        assert "参数" in err["message"], url
    assert errors_logged == []


def test_ids_and_sizes_out_of_range_in_a_query_are_refused_not_clamped(api: Any, errors_logged: list[Any]) -> None:
    m = _auth(api, "9001", "hall-8888")
    t = _auth(api, "9101", "tech-6666")
    for url, who, name in (("/api/cases?window=0", m, "window"), ("/api/ratings?window=-1", m, "window"),
                           ("/api/village/agents?village_id=0", m, "village_id"),
                           ("/api/catalog/items?limit=0", m, "limit"), ("/api/catalog/items?limit=201", m, "limit"),
                           ("/api/relay?limit=1001", t, "limit"), ("/api/relay?limit=x", t, "limit"),
                           ("/api/tech/logs?lines=0", t, "lines")):
        err = _error(api.get(url, headers=who), 400)
        assert f"参数 {name}" in err["message"], url
    # pagination inside its range still answers
    assert api.get("/api/catalog/items?limit=200").status_code == 200
    assert api.get("/api/relay?limit=1000", headers=t).status_code == 200
    assert errors_logged == []


@pytest.mark.parametrize("url", ["/api/tickets", "/api/complaints", "/api/ratings", "/api/appointments/check-in"])
def test_deeply_nested_json_is_refused(api: Any, url: str, errors_logged: list[Any]) -> None:
    for depth in (3000, MAX_JSON_DEPTH + 1):
        deep = "[" * depth + "]" * depth
        err = _error(api.post(url, data=deep, content_type="application/json", headers=ORIGIN), 400)
        assert err["code"] == "too_deep" and "嵌套过深" in err["message"]
    assert errors_logged == []
    # and the service goes on serving
    assert api.post("/api/tickets", json={"category": "A"}, headers=ORIGIN).status_code == 201


def test_depth_counting_is_exact() -> None:
    assert not json_depth_exceeds({"a": [1, {"b": 2}]}, 3)
    assert json_depth_exceeds({"a": [1, {"b": [2]}]}, 3)
    assert not json_depth_exceeds("x" * 10, 0)


def test_a_material_path_over_the_file_system_limit_is_a_400(api: Any, errors_logged: list[Any]) -> None:
    clerk = _auth(api, "1001", "123456", 1)
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "category": "A", "case_kind": "即办件",
            "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": "11010519491231002X"}}
    r = api.post("/api/cases", json=body, headers=clerk)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case"]["id"]
    for path in ("scans/" + "x" * 300 + ".jpg", "a" * 255 + "/" + "b" * 240, "scans/a\x00b.jpg"):
        err = _error(api.post(f"/api/cases/{case_id}/materials", json={"name": "身份证", "path": path},
                              headers=clerk), 400)
        assert "身份证" in err["message"]
    assert errors_logged == []


def test_null_for_a_field_that_cannot_be_empty_is_a_400(api: Any, errors_logged: list[Any]) -> None:
    m = _auth(api, "9001", "hall-8888")
    for field in ("active", "name", "village_id", "cert_no", "duty"):
        err = _error(api.patch("/api/village/agents/1", json={field: None}, headers=m), 400)
        assert field in err["message"]
    err = _error(api.patch("/api/village/villages/1", json={"name": None}, headers=m), 400)
    # a null that means "clear it" still works
    r = api.patch("/api/village/villages/1", json={"phone": None}, headers=m)
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/village/agents", headers=m).get_json()["agents"][0]["active"] is True
    for url, body in (("/api/tickets", {"category": None}), ("/api/complaints", {"kind": None})):
        _error(api.post(url, json=body, headers=ORIGIN), 400)
    assert errors_logged == []


def test_over_long_strings_are_refused(api: Any, errors_logged: list[Any]) -> None:
    long = "长" * 20_000
    _error(api.post("/api/complaints", json={"kind": "建议", "text": long}, headers=ORIGIN), 400)
    _error(api.post("/api/session", json={"staff_id": long, "pin": "123456"}, headers=ORIGIN), 400)
    _error(api.get(f"/api/catalog/items?q={long}"), 400)
    assert errors_logged == []
