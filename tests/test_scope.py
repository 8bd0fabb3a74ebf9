"""Scope (issue 10, item 3): who may act on which case, rating prompt, complaint and appointment.

Every route of those four kinds is tried by every kind of caller: clerks at
their own and at other windows, a clerk replaced at an AB handover, the
manager, the technician, a village agent and nobody. Agents' village scope
(their own village's records only) is tested in test_village.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hall.services import Services

from tests import records_support
from tests.conftest import auth

ID = "11010519491231002X"


services = records_support.services_with_villages


def _sign_in(api: Any, staff_id: str, pin: str = "123456", window: int | None = None,
             post: str | None = None) -> dict[str, str]:
    return auth(api, staff_id, pin, window, post=post)


def _agent(api: Any) -> dict[str, str]:
    r = api.post("/api/village/session", json={"login": "qs01", "pin": "246810"})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _case(api: Any, h: dict[str, str]) -> int:
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "limit_value": 10, "limit_unit": "工作日",
            "category": "A", "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID}}
    r = api.post("/api/cases", json=body, headers=h)
    assert r.status_code == 201, r.get_json()
    return int(r.get_json()["case"]["id"])


@pytest.fixture
def hall(api: Any) -> dict[str, dict[str, str]]:
    return {
        "c3": _sign_in(api, "1003", window=3),          # 刘洋 at window 3
        "c4": _sign_in(api, "1004", window=4),          # 陈静 at window 4
        "manager": _sign_in(api, "9001", "hall-8888"),
        "tech": _sign_in(api, "9101", "tech-6666"),
        "agent": _agent(api),
        "nobody": {},
    }


def _error(r: Any) -> str:
    return str((r.get_json() or {}).get("error", {}).get("code"))


def test_a_clerk_changes_only_cases_of_their_own_or_their_window(api: Any, hall: dict[str, dict[str, str]]) -> None:
    case = _case(api, hall["c4"])                      # registered by 1004 at window 4
    calls = [
        ("get", f"/api/cases/{case}", None),
        ("post", f"/api/cases/{case}/status", {"status": "办理中"}),
        ("post", f"/api/cases/{case}/materials", {"name": "身份证复印件", "path": "scans/x.jpg"}),
        ("post", f"/api/cases/{case}/handover", {"clerk": "1003", "reason": "接办"}),
    ]
    expected = {"c3": 403, "tech": 403, "agent": 403, "nobody": 401}
    for who, status in expected.items():
        for method, url, body in calls:
            r = getattr(api, method)(url, json=body, headers=hall[who])
            assert r.status_code == status, (who, method, url, r.get_json())
    # the attack: clerk 1003 at window 3 moving case of 1004 at window 4 to 办理中
    r = api.post(f"/api/cases/{case}/status", json={"status": "办理中"}, headers=hall["c3"])
    assert _error(r) == "not_your_case" and "陈静在4号窗口受理" in r.get_json()["error"]["message"]
    assert api.get("/api/cases?limit=50", headers=hall["c3"]).get_json()["cases"] == []
    # the registering clerk and the manager may
    assert api.post(f"/api/cases/{case}/status", json={"status": "办理中"}, headers=hall["c4"]).status_code == 200
    r = api.post(f"/api/cases/{case}/status", json={"status": "补正", "note": "缺户口本"}, headers=hall["manager"])
    assert r.status_code == 200
    # whoever serves window 4 next may carry on with the window's case
    assert api.delete("/api/session", headers=hall["c4"]).status_code == 200
    other = _sign_in(api, "1003", window=4)
    assert api.post(f"/api/cases/{case}/status", json={"status": "办理中"}, headers=other).status_code == 200


def test_handing_a_case_to_another_clerk_is_explicit_and_audited(api: Any, services: Services,
                                                               hall: dict[str, dict[str, str]]) -> None:
    case = _case(api, hall["c4"])
    r = api.post(f"/api/cases/{case}/handover", json={"clerk": "9101", "reason": "x"}, headers=hall["c4"])
    assert r.status_code == 400 and "不是窗口工作人员" in r.get_json()["error"]["message"]
    r = api.post(f"/api/cases/{case}/handover", json={"clerk": "1003", "reason": "申请人改到3号窗口补材料"},
                 headers=hall["c4"])
    assert r.status_code == 200 and r.get_json()["case"]["clerk"] == "1003" and r.get_json()["case"]["window"] == 3
    assert api.post(f"/api/cases/{case}/status", json={"status": "办理中"}, headers=hall["c4"]).status_code == 403
    assert api.post(f"/api/cases/{case}/status", json={"status": "办理中"}, headers=hall["c3"]).status_code == 200
    row = services.db.conn.execute("SELECT actor, role, detail FROM audit WHERE action = 'case.handover'").fetchone()
    assert row["actor"] == "1004" and row["role"] == "clerk" and '"to_clerk":"1003"' in row["detail"]
    history = api.get(f"/api/cases/{case}", headers=hall["manager"]).get_json()["case"]["history"]
    assert any("移交给刘洋（3号窗口）" in (h.get("note") or "") for h in history)


def test_an_ab_handover_ends_the_replaced_clerks_turn_at_once(api: Any, services: Services,
                                                              hall: dict[str, dict[str, str]]) -> None:
    for _ in range(3):
        api.post("/api/tickets", json={"category": "C"})
    a = hall["c3"]
    assert api.post("/api/windows/3/call", headers=a).status_code == 200
    case = _case(api, a)
    b = _sign_in(api, "1004", window=3, post="B")     # 陈静 takes over window 3 on the B post
    for method, url, body in (("post", "/api/windows/3/finish", None), ("post", "/api/windows/3/call", None),
                              ("post", "/api/windows/3/pause", {"reason": "x"}),
                              ("post", "/api/windows/3/rate-prompt", None),
                              ("post", f"/api/cases/{case}/status", {"status": "办理中"}),
                              ("post", "/api/cases", {"item_code": "x"})):
        r = getattr(api, method)(url, json=body, headers=a)
        assert r.status_code == 403 and _error(r) == "post_taken", (url, r.get_json())
        assert "3号窗口现由陈静（B岗）值守" in r.get_json()["error"]["message"]
    assert api.post("/api/windows/3/finish", headers=b).status_code == 200
    finished_by = services.db.conn.execute("SELECT clerk FROM ticket_events WHERE action = 'finish'").fetchall()
    assert [r[0] for r in finished_by] == ["1004"]
    credited = services.db.conn.execute("SELECT COUNT(*) FROM ticket_events WHERE clerk = '1003' "
                                        "AND action != 'call'").fetchone()[0]
    assert credited == 0
    # the case registered by A stays A's: B may change it because it belongs to window 3
    assert api.post(f"/api/cases/{case}/status", json={"status": "办理中"}, headers=b).status_code == 200


def test_rating_prompts_only_at_ones_own_window(api: Any, hall: dict[str, dict[str, str]]) -> None:
    api.post("/api/tickets", json={"category": "C"})
    assert api.post("/api/windows/3/call", headers=hall["c3"]).status_code == 200
    expected = {"c3": {3: None, 4: 403}, "c4": {3: 403, 4: None}, "tech": {3: 403, 4: 403},
                "agent": {3: 403, 4: 403}, "nobody": {3: 401, 4: 401}}
    for who, by_window in expected.items():
        for n, status in by_window.items():
            for method in ("get", "post", "delete"):
                r = getattr(api, method)(f"/api/windows/{n}/rate-prompt", headers=hall[who])
                if status is None:
                    assert r.status_code < 400 or _error(r) in ("nothing_to_rate", "no_prompt", "nothing_current"), \
                        (who, n, method, r.get_json())
                else:
                    assert r.status_code == status, (who, n, method, r.get_json())
    # a staff session cannot rate in the citizen's place, at any window
    for who in ("c3", "manager"):
        r = api.post("/api/evaluator/3/rating", json={"level": "非常满意"}, headers=hall[who])
        assert r.status_code == 403


def test_manager_routes_for_ratings_complaints_and_appointments(api: Any, hall: dict[str, dict[str, str]]) -> None:
    cid = api.post("/api/complaints", json={"kind": "建议", "text": "多放几把椅子"}).get_json()["id"]
    appt = {"category": "B", "slot_start": "2026-11-25T10:00:00+08:00", "slot_end": "2026-11-25T10:30:00+08:00",
            "name": "赵小红", "phone": "13812345678"}
    routes = [
        ("get", "/api/ratings", None, {"manager"}),
        ("get", "/api/rectifications", None, {"manager"}),
        ("get", "/api/rectifications/1", None, {"manager"}),
        ("get", "/api/complaints", None, {"manager"}),
        ("post", f"/api/complaints/{cid}/handle", {"reply": "已添置"}, {"manager"}),
        ("get", "/api/appointments", None, {"manager", "c3", "c4"}),
        ("post", "/api/appointments", appt, {"manager"}),
        ("post", "/api/appointments/1/cancel", None, {"manager"}),
        ("get", "/api/ratings/mine", None, {"c3", "c4"}),
    ]
    for method, url, body, allowed in routes:
        for who, h in hall.items():
            r = getattr(api, method)(url, json=body, headers=h)
            if who in allowed:
                assert r.status_code not in (401, 403), (who, url, r.get_json())
            else:
                assert r.status_code == (401 if who == "nobody" else 403), (who, url, r.get_json())
