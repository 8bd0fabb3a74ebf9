"""The records HTTP API: roles (the kiosk does no staff action), the clerk cannot rate, masking, errors in Chinese."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hall.services import Services

from tests import records_support
from tests.conftest import auth, pair_device

ID = "11010519491231002X"
PHONE = "13812345678"


services = records_support.services


def manager(api: Any) -> dict[str, str]:
    return auth(api, "9001", "hall-8888", None)


def case_body() -> dict[str, Any]:
    return {"item_code": "430224100LS01", "item_name": "临时救助申请", "limit_value": 10, "limit_unit": "工作日",
            "category": "A", "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID, "phone": PHONE}}


def serve(api: Any, h: dict[str, str], window: int = 1) -> int:
    t = api.post("/api/tickets", json={"category": "A"}).get_json()["ticket"]["id"]
    assert api.post(f"/api/windows/{window}/call", headers=h).status_code == 200
    assert api.post(f"/api/windows/{window}/start", headers=h).status_code == 200
    return int(t)


def test_kiosk_cannot_do_staff_actions(api: Any) -> None:
    for method, url in (("post", "/api/cases"), ("get", "/api/cases"), ("get", "/api/cases/1"),
                        ("post", "/api/cases/1/status"), ("post", "/api/windows/1/rate-prompt"),
                        ("get", "/api/ratings"), ("get", "/api/rectifications"), ("post", "/api/appointments"),
                        ("get", "/api/records/figures"), ("get", "/api/records/export/cases"),
                        ("get", "/api/complaints"), ("put", "/api/records/holidays/2027")):
        r = getattr(api, method)(url, json={})
        assert r.status_code == 401, (method, url, r.status_code)
        assert r.get_json()["error"]["message"] == "请先登录"


def test_clerk_cannot_see_manager_figures_or_act_on_another_window(api: Any) -> None:
    h = auth(api)
    assert api.get("/api/records/figures", headers=h).status_code == 403
    r = api.post("/api/windows/2/rate-prompt", headers=h, json={})
    assert r.status_code == 403 and "不能操作2号窗口" in r.get_json()["error"]["message"]


def test_register_look_up_and_move_a_case(api: Any) -> None:
    h = auth(api)
    serve(api, h)
    r = api.post("/api/cases", headers=h, json=case_body())
    assert r.status_code == 201, r.get_json()
    case = r.get_json()["case"]
    assert case["window"] == 1 and case["clerk"] == "1001" and case["ticket_id"] is not None
    r = api.post(f"/api/cases/{case['id']}/status", headers=h, json={"status": "办结"})
    assert r.get_json()["case"]["status"] == "办结"
    r = api.post(f"/api/cases/{case['id']}/status", headers=h, json={"status": "办理中"})
    assert r.status_code == 409 and "不能改为" in r.get_json()["error"]["message"]
    # The kiosk's look-up: masked, no session needed.
    r = api.get("/api/cases/progress", query_string={"q": case["qr"]})
    assert r.status_code == 200
    text = json.dumps(r.get_json(), ensure_ascii=False)
    assert ID not in text and PHONE not in text and "张桂英" not in text and r.get_json()["case"]["status"] == "办结"
    r = api.get("/api/cases/progress", query_string={"q": "nope"})
    assert r.status_code == 404 and "未找到" in r.get_json()["error"]["message"]
    assert api.get("/api/cases", headers=h).get_json()["cases"][0]["id"] == case["id"]
    assert api.get("/api/cases/alerts", headers=h).status_code == 200


def test_bad_certificate_number_is_a_chinese_error(api: Any) -> None:
    h = auth(api)
    body = case_body()
    body["applicant"]["cert_no"] = "110105194912310021"
    r = api.post("/api/cases", headers=h, json=body)
    assert r.status_code == 400 and r.get_json()["error"]["message"] == "申请人证件号码校验位不正确，请逐位核对"


def test_tablet_rating_needs_a_prompt_and_no_staff_session(api: Any, events: list[Any]) -> None:
    h = auth(api)
    tab = pair_device(api, window=1)     # the window's paired tablet (tests/test_pairing.py: others are refused)
    r = api.post("/api/evaluator/1/rating", json={"level": "满意"}, headers=tab)
    assert r.status_code == 409 and "请评价" in r.get_json()["error"]["message"]
    serve(api, h)
    r = api.post("/api/windows/1/rate-prompt", headers=h, json={})
    assert r.status_code == 201
    prompt = r.get_json()["prompt"]
    assert api.get("/api/evaluator/1/prompt").get_json()["prompt"]["prompt_id"] == prompt["prompt_id"]
    # The clerk (or any staff session) cannot rate on the citizen's behalf.
    r = api.post("/api/evaluator/1/rating", headers=h, json={"level": "非常满意"})
    assert r.status_code == 403 and r.get_json()["error"]["message"] == "工作人员不能代替群众评价"
    r = api.post("/api/evaluator/1/rating", json={"level": "不满意"}, headers=tab)
    assert r.status_code == 400 and "原因" in r.get_json()["error"]["message"]
    r = api.post("/api/evaluator/1/rating", json={"level": "不满意", "reasons": ["R04"],
                                                  "prompt_id": prompt["prompt_id"]}, headers=tab)
    assert r.status_code == 201 and "整改" in r.get_json()["message"]
    state = api.get("/api/windows/1/rate-prompt", headers=h).get_json()
    assert state["prompt"]["state"] == "rated" and "level" not in json.dumps(state)
    assert api.get("/api/ratings/mine", headers=h).get_json()["ratings"] == []
    ratings = api.get("/api/ratings", headers=manager(api), query_string={"bad": "1"}).get_json()["ratings"]
    assert [r["level"] for r in ratings] == ["不满意"]


def test_phone_page_rates_by_qr_token(api: Any, services: Services) -> None:
    h = auth(api)
    tid = serve(api, h)
    assert services.records is not None
    url = services.records.rating_url(tid)
    page = api.get(url)
    assert page.status_code == 200 and "服务评价" in page.get_data(as_text=True)
    assert "A001" in page.get_data(as_text=True)
    r = api.post(url, data={"level": "非常不满意", "assess_number": "1"})
    assert r.status_code == 400 and "原因" in r.get_data(as_text=True)
    r = api.post(url, data={"level": "非常不满意", "reasons": ["R05", "R06"], "comment": f"打 {PHONE}"})
    assert r.status_code == 200 and "感谢您的评价" in r.get_data(as_text=True)
    r = api.post(url, headers=h, data={"level": "满意", "assess_number": "2"})
    assert r.status_code == 403
    assert api.get("/r/1-forged").status_code == 404
    # The same token through the JSON API (the kiosk's scanner): an added rating, once.
    token = url.rsplit("/", 1)[1]
    assert api.get(f"/api/ratings/ticket/{token}").get_json()["services"][0]["can_add"] is True
    r = api.post("/api/ratings", json={"token": token, "level": "满意", "assess_number": 2})
    assert r.status_code == 201
    r = api.post("/api/ratings", json={"token": token, "level": "满意", "assess_number": 2})
    assert r.status_code == 409
    r = api.post("/api/ratings", headers=h, json={"token": token, "level": "满意"})
    assert r.status_code == 403
    (rect,) = api.get("/api/rectifications", headers=manager(api)).get_json()["rectifications"]
    assert PHONE not in json.dumps(rect, ensure_ascii=False)


def test_rectification_routes(api: Any, services: Services) -> None:
    h = auth(api)
    tid = serve(api, h)
    assert services.records is not None
    token = services.records.ratings.ticket_token(tid)
    api.post("/api/ratings", json={"token": token, "level": "不满意", "reasons": ["R01"], "channel": "二维码"})
    m = manager(api)
    (x,) = api.get("/api/rectifications", headers=m, query_string={"open": "1"}).get_json()["rectifications"]
    rid = x["id"]
    assert api.post(f"/api/rectifications/{rid}/reply", headers=h, json={"text": "x"}).status_code == 403
    assert api.post(f"/api/rectifications/{rid}/reply", headers=m, json={"text": "已整改"}).status_code == 200
    assert api.post(f"/api/rectifications/{rid}/verify", headers=m,
                    json={"passed": True, "text": "回访满意"}).status_code == 200
    r = api.post(f"/api/rectifications/{rid}/close", headers=m)
    assert r.status_code == 200 and r.get_json()["rectification"]["state"] == "已关闭"
    assert api.get("/api/rectifications", headers=m, query_string={"open": "1"}).get_json()["rectifications"] == []


def test_appointment_booking_and_kiosk_check_in(api: Any) -> None:
    m = manager(api)
    body = {"category": "B", "slot_start": "2026-11-25T10:00:00+08:00", "slot_end": "2026-11-25T10:30:00+08:00",
            "name": "赵小红", "phone": PHONE}
    r = api.post("/api/appointments", headers=m, json=body)
    assert r.status_code == 201
    appt = r.get_json()["appointment"]
    r = api.post("/api/appointments", headers=m, json={**body, "slot_start": "2026-11-25T14:00:00+08:00",
                                                       "slot_end": "2026-11-25T14:30:00+08:00"})
    assert r.status_code == 409 and "每人每天限约一次" in r.get_json()["error"]["message"]
    assert api.post("/api/appointments", headers=auth(api), json=body).status_code == 403
    r = api.post("/api/appointments/check-in", json={"code": appt["code"]})
    assert r.status_code == 201 and r.get_json()["ticket"]["lane"] == "appointment"
    r = api.post("/api/appointments/check-in", json={"code": appt["code"]})
    assert r.status_code == 200 and r.get_json()["already"] is True
    listed = api.get("/api/appointments", headers=m).get_json()["appointments"]
    assert listed[0]["state"] == "checked_in" and PHONE not in json.dumps(listed)


def test_complaints_figures_report_and_csv(api: Any) -> None:
    r = api.post("/api/complaints", json={"kind": "投诉", "reasons": ["C04"], "text": "排队太久",
                                          "contact_name": "钱多多", "contact_phone": PHONE})
    assert r.status_code == 201 and r.get_json()["ref_no"].startswith("YJ")
    r = api.post("/api/complaints", json={"kind": "表扬"})
    assert r.status_code == 400
    m = manager(api)
    (c,) = api.get("/api/complaints", headers=m).get_json()["complaints"]
    assert c["contact_phone"] == "138****5678" and c["contact_name"] == "钱**"
    assert api.post(f"/api/complaints/{c['id']}/handle", headers=m, json={"reply": "已优化窗口排班"}).status_code == 200
    f = api.get("/api/records/figures", headers=m, query_string={"period": "2026-11"}).get_json()
    assert f["complaints"] == {"投诉": 1}
    assert api.get("/api/records/report", headers=m).get_json()["month"] == "2026-11"
    r = api.get("/api/records/export/complaints", headers=m, query_string={"month": "2026-11"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data().decode("utf-8-sig")
    assert "钱多多" not in text and PHONE not in text and "138****5678" in text
    assert api.get("/api/records/export/secrets", headers=m).status_code == 400
    reasons = api.get("/api/reasons").get_json()
    assert reasons["rating_reasons"] and reasons["complaint_reasons"]


def test_technician_installs_a_holiday_list(api: Any, services: Services) -> None:
    t = auth(api, "9101", "tech-6666", None)
    info = api.get("/api/records/holidays", headers=t).get_json()
    assert info["this_year_known"] is True and info["next_year_known"] is False
    r = api.put("/api/records/holidays/2027", headers=t, json={"holidays": ["2027-01-01"], "workdays": ["2027-01-04"]})
    assert r.status_code == 400 and "本来就上班" in r.get_json()["error"]["message"]
    r = api.put("/api/records/holidays/2027", headers=t, json={"holidays": ["2027-01-01", "2027-02-08"],
                                                              "source": "国办发明电〔2026〕"})
    assert r.status_code == 200 and r.get_json()["known"] is True
    assert api.put("/api/records/holidays/2027", headers=manager(api), json={"holidays": []}).status_code == 403
    assert (services.data_dir / "holidays.json").exists()


def test_guessing_receipt_numbers_is_throttled(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hall.web import api_cases

    monkeypatch.setattr(api_cases, "lookup_throttle", api_cases.FailureThrottle(limit=3))
    for i in range(3):
        assert api.get("/api/cases/progress", query_string={"q": f"2026112500{i}ABC"}).status_code == 404
    r = api.get("/api/cases/progress", query_string={"q": "20261125009ABC"})
    assert r.status_code == 429 and "稍后再试" in r.get_json()["error"]["message"]
