"""The HTTP API for the queue: tickets, sessions, window actions, errors."""

from __future__ import annotations

from typing import Any

from hall.services import Services


def _login(client: Any, staff_id: str = "1003", pin: str = "123456", window: int | None = 3) -> dict[str, str]:
    body: dict[str, Any] = {"staff_id": staff_id, "pin": pin}
    if window is not None:
        body["window"] = window
    r = client.post("/api/session", json=body)
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_issue_ticket(client: Any) -> None:
    r = client.post("/api/tickets", json={"category": "C", "lane": "normal"})
    assert r.status_code == 201
    body = r.get_json()
    assert body["number"] == "C001" and body["ahead"] == 0 and body["category_name"] == "医保、人社"
    assert client.post("/api/tickets", json={"category": "C"}).get_json()["ahead"] == 1


def test_issue_errors_are_json_in_chinese(client: Any) -> None:
    r = client.post("/api/tickets", data="not json", content_type="text/plain")
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "not_json"
    r = client.post("/api/tickets", json={"category": "c"})
    err = r.get_json()["error"]
    # the message names the field in Chinese; the body names it for the form that marks the box
    assert r.status_code == 400 and "业务类别" in err["message"] and err["field"] == "category"
    r = client.post("/api/tickets", json={"category": "Z"})
    assert r.status_code == 404 and "不存在" in r.get_json()["error"]["message"]
    r = client.post("/api/tickets", json={"category": "A", "lane": "appointment"})
    assert r.status_code == 400  # the appointment lane is only reached through check-in
    r = client.post("/api/tickets", json={"category": "A", "extra": 1})
    assert r.status_code == 400
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "http_404"


def test_clerk_actions_need_a_session(client: Any) -> None:
    r = client.post("/api/windows/3/call")
    assert r.status_code == 401 and r.get_json()["error"]["message"] == "请先登录"


def test_clerk_flow_over_http(client: Any, services: Services) -> None:
    client.post("/api/tickets", json={"category": "C"})
    client.post("/api/tickets", json={"category": "C"})
    h = _login(client)
    r = client.post("/api/windows/3/call", headers=h)
    assert r.status_code == 200 and r.get_json()["ticket"]["number"] == "C001"
    assert client.post("/api/windows/3/recall", headers=h).get_json()["ticket"]["call_count"] == 2
    assert client.post("/api/windows/3/start", headers=h).get_json()["ticket"]["state"] == "serving"
    assert client.post("/api/windows/3/finish", headers=h).get_json()["ticket"]["state"] == "done"
    client.post("/api/windows/3/call", headers=h)
    r = client.post("/api/windows/3/transfer", headers=h, json={"category": "B"})
    assert r.get_json()["ticket"]["category"] == "B"
    r = client.post("/api/windows/3/pause", headers=h, json={"reason": "系统维护"})
    assert r.get_json()["window"]["paused"] is True
    r = client.post("/api/windows/3/call", headers=h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "window_paused"
    assert client.post("/api/windows/3/resume", headers=h).get_json()["window"]["paused"] is False
    snap = client.get("/api/queue").get_json()
    assert next(w for w in snap["windows"] if w["number"] == 3)["clerk_name"] == "刘洋"


def test_clerk_cannot_act_on_another_window(client: Any) -> None:
    h = _login(client)
    r = client.post("/api/windows/1/call", headers=h)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_window"


def test_no_show_over_http(client: Any) -> None:
    client.post("/api/tickets", json={"category": "C"})
    h = _login(client)
    client.post("/api/windows/3/call", headers=h)
    r = client.post("/api/windows/3/no-show", headers=h)
    assert r.status_code == 200 and r.get_json()["ticket"]["state"] == "waiting"


def test_bad_pin_throttles_that_pc_not_the_account(client: Any) -> None:
    for _ in range(4):
        r = client.post("/api/session", json={"staff_id": "1003", "pin": "000000", "window": 3})
        assert r.status_code == 401 and r.get_json()["error"]["message"] == "工号或密码错误"
    r = client.post("/api/session", json={"staff_id": "1003", "pin": "123456", "window": 3})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # the clerk's PIN still works from another PC: nobody can lock an account from one machine
    r = client.post("/api/session", json={"staff_id": "1003", "pin": "123456", "window": 3},
                    environ_base={"REMOTE_ADDR": "10.0.0.23"})
    assert r.status_code == 201


def test_manager_signs_in_with_a_password_and_short_guesses_cost_no_check(client: Any, services: Services) -> None:
    for _ in range(10):   # cannot be the 8+ character password: refused without spending the budget
        r = client.post("/api/session", json={"staff_id": "9001", "pin": "888888"})
        assert r.status_code == 401
    assert services.sessions.throttle.checks("9001", 0) == 0
    r = client.post("/api/session", json={"staff_id": "9001", "pin": "hall-8888"})
    assert r.status_code == 201 and r.get_json()["session"]["role"] == "manager"


def test_session_cookie_and_logout_leaves_the_post(client: Any, services: Services) -> None:
    r = client.post("/api/session", json={"staff_id": "1003", "pin": "123456", "window": 3})
    assert "hall_session=" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    assert client.get("/api/session").get_json()["session"]["window"] == 3  # cookie carries it
    assert 3 not in services.engine.empty_posts()
    client.delete("/api/session")
    assert client.get("/api/session").status_code == 401
    assert 3 in services.engine.empty_posts()


def test_manager_signs_in_without_window_and_sees_figures(client: Any) -> None:
    assert client.get("/api/queue/figures").status_code == 401
    h = _login(client, "9001", "hall-8888", None)
    r = client.get("/api/queue/figures", headers=h)
    assert r.status_code == 200 and "total" in r.get_json()


def test_clerk_needs_a_window(client: Any) -> None:
    r = client.post("/api/session", json={"staff_id": "1003", "pin": "123456"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "window_required"


def test_healthz(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["database"] == "ok" and "devices" in body and "relay" in body
    assert body["emulators_active"] in (True, False)


def test_ticket_status(client: Any) -> None:
    t = client.post("/api/tickets", json={"category": "A"}).get_json()
    r = client.get(f"/api/tickets/{t['ticket']['id']}")
    assert r.get_json()["ticket"]["number"] == "A001"
    assert client.get("/api/tickets/9999").status_code == 404
