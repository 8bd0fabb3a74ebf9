"""选号叫号, 挂起/恢复, 作废 and coded pauses: engine rules, HTTP routes across windows and roles, figures."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hall.config.schema import HallConfig
from hall.manage.alerts import alerts
from hall.manage.pauses import break_time
from hall.queue.clock import FixedClock
from hall.services import Services, build_services


def _h(client: Any, staff_id: str, window: int | None, pin: str = "123456", post: str | None = None) -> dict[str, str]:
    body: dict[str, Any] = {"staff_id": staff_id, "pin": pin}
    if window is not None:
        body["window"] = window
    if post:
        body["post"] = post
    r = client.post("/api/session", json=body)
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _audit(services: Services, action: str) -> list[dict[str, Any]]:
    with services.db.read() as c:
        return [dict(r) for r in c.execute("SELECT * FROM audit WHERE action = ? ORDER BY id", (action,))]


# ---------------------------------------------------------------------- HTTP, scope and audit
def test_chosen_call_names_the_due_appointment_it_passed_over(client: Any, services: Services,
                                                              clock: FixedClock) -> None:
    e = services.engine
    c1 = e.issue("C").ticket
    e.issue("C", "appointment", appointment_id=7, slot_start=clock.now() - timedelta(minutes=5))
    later = e.issue("C", "appointment", appointment_id=8, slot_start=clock.now() + timedelta(hours=1))
    c4 = e.issue("C").ticket
    h = _h(client, "1003", 3)
    order = [t["number"] for t in client.get("/api/windows/3/waiting", headers=h).get_json()["tickets"]]
    assert order == ["C002", "C001", "C003", "C004"]      # the due appointment first, the early one as normal
    r = client.post("/api/windows/3/call-chosen", headers=h, json={"ticket_id": c4.id, "reason": "只需盖章"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["ticket"]["number"] == "C004" and body["ticket"]["state"] == "called"
    assert [p["number"] for p in body["passed_over"]] == ["C002"]   # not C003: its slot has not begun
    audit = _audit(services, "ticket.call_chosen")
    assert len(audit) == 1 and audit[0]["actor"] == "1003"
    detail = json.loads(audit[0]["detail"])
    assert detail["passed_over"] == ["C002"] and detail["reason"] == "只需盖章" and detail["window"] == 3
    # a ticket no longer waiting cannot be chosen; reason is required
    client.post("/api/windows/3/finish", headers=h)
    r = client.post("/api/windows/3/call-chosen", headers=h, json={"ticket_id": c4.id, "reason": "再叫"})
    assert r.status_code == 409 and "不在等候中" in r.get_json()["error"]["message"]
    r = client.post("/api/windows/3/call-chosen", headers=h, json={"ticket_id": c1.id, "reason": ""})
    assert r.status_code == 400
    assert later.ticket.state == "waiting"


def test_another_windows_clerk_gets_403_on_every_new_route(client: Any, services: Services) -> None:
    t = services.engine.issue("C").ticket
    anonymous = client.application.test_client()
    other = _h(client, "1001", 1)
    for method, path, body in (
        ("get", "/api/windows/3/waiting", None),
        ("post", "/api/windows/3/call-chosen", {"ticket_id": t.id, "reason": "x"}),
        ("post", "/api/windows/3/park", {}),
        ("post", f"/api/windows/3/parked/{t.id}/resume", {}),
        ("post", f"/api/windows/3/tickets/{t.id}/cancel", {}),
    ):
        r = getattr(client, method)(path, headers=other, json=body) if body is not None else \
            getattr(client, method)(path, headers=other)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_window", (path, r.get_json())
        assert getattr(anonymous, method)(path).status_code == 401
    assert services.engine.ticket_status(t.id)["ticket"]["state"] == "waiting"
    # a technician is not a clerk
    tech = client.post("/api/session", json={"staff_id": "9101", "pin": "tech-6666"}).get_json()["token"]
    r = client.post("/api/windows/3/park", headers={"Authorization": f"Bearer {tech}"})
    assert r.status_code == 403


def test_park_and_resume_only_at_the_parking_window(client: Any, services: Services, events: list[Any]) -> None:
    e = services.engine
    e.issue("E")
    e.issue("E")
    h1 = _h(client, "1001", 1)
    first = client.post("/api/windows/1/call", headers=h1).get_json()["ticket"]
    client.post("/api/windows/1/start", headers=h1)
    r = client.post("/api/windows/1/park", headers=h1)
    assert r.status_code == 200 and r.get_json()["ticket"]["state"] == "parked"
    view = client.get("/api/windows/1").get_json()["window"]
    assert view["current"] is None and [p["number"] for p in view["parked"]] == [first["number"]]
    # the window calls on while the citizen fetches the document
    second = client.post("/api/windows/1/call", headers=h1).get_json()["ticket"]
    assert second["number"] != first["number"]
    # resuming while another is called is refused, naming it
    r = client.post(f"/api/windows/1/parked/{first['id']}/resume", headers=h1)
    assert r.status_code == 409 and second["number"] in r.get_json()["error"]["message"]
    client.post("/api/windows/1/start", headers=h1)
    client.post("/api/windows/1/finish", headers=h1)
    # window 5 also serves E, but the ticket was parked at 1: a manager acting at 5 is refused too
    mgr = _h(client, "9001", None, pin="hall-8888")
    r = client.post(f"/api/windows/5/parked/{first['id']}/resume", headers=mgr)
    assert r.status_code == 409 and "1号窗口" in r.get_json()["error"]["message"]
    events.clear()
    r = client.post(f"/api/windows/1/parked/{first['id']}/resume", headers=h1)
    assert r.status_code == 200 and r.get_json()["ticket"]["state"] == "serving"
    called = [d for k, d in events if k == "ticket.called"]
    assert len(called) == 1 and called[0]["text"] == f"请{first['number']}号回到1号窗口" and called[0]["resumed"]
    assert client.get("/api/windows/1").get_json()["window"]["parked"] == []
    assert [json.loads(a["detail"])["number"] for a in _audit(services, "ticket.park")] == [first["number"]]
    assert len(_audit(services, "ticket.resume")) == 1
    # the board's recent calls include the resume
    assert services.engine.snapshot()["recent_calls"][0]["number"] == first["number"]


def test_parked_ticket_survives_a_restart(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    svc.engine.issue("C")
    svc.engine.call_next(3, "1003")
    t = svc.engine.park(3, "1003")
    svc.stop()
    again = build_services(config, tmp_path, clock=clock, with_devices=False)
    try:
        view = again.engine.window_view(3)
        assert [p["id"] for p in view.parked] == [t.id] and view.current is None
        assert again.engine.resume_parked(3, "1003", t.id).state == "called"
    finally:
        again.stop()


def test_cancel_only_waiting_tickets_of_served_categories(client: Any, services: Services) -> None:
    e = services.engine
    c1 = e.issue("C").ticket
    c2 = e.issue("C").ticket
    a1 = e.issue("A").ticket
    h = _h(client, "1003", 3)
    r = client.post(f"/api/windows/3/tickets/{c2.id}/cancel", headers=h, json={"reason": "群众已离开"})
    assert r.status_code == 200 and r.get_json()["ticket"]["state"] == "cancelled"
    r = client.post(f"/api/windows/3/tickets/{a1.id}/cancel", headers=h, json={})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_served"
    client.post("/api/windows/3/call", headers=h)                     # C001 is now called, not waiting
    r = client.post(f"/api/windows/3/tickets/{c1.id}/cancel", headers=h, json={})
    assert r.status_code == 409 and "等候中" in r.get_json()["error"]["message"]
    assert client.post("/api/windows/3/tickets/999999/cancel", headers=h, json={}).status_code == 404
    audit = _audit(services, "ticket.cancel")
    assert len(audit) == 1 and audit[0]["actor"] == "1003"
    assert json.loads(audit[0]["detail"]) == {"number": "C002", "window": 3, "reason": "群众已离开"}


# ---------------------------------------------------------------------- coded pauses
def test_coded_pause_route_and_its_words(client: Any, services: Services, events: list[Any]) -> None:
    h = _h(client, "1003", 3)
    r = client.post("/api/windows/3/pause", headers=h, json={"code": "meeting"})
    assert r.status_code == 200
    w = r.get_json()["window"]
    assert w["paused"] and w["pause_code"] == "meeting" and w["pause_reason"] == "会议"
    led = [d for k, d in events if k == "window.updated"][-1]["window"]
    assert led["pause_reason"] == "会议"
    client.post("/api/windows/3/resume", headers=h)
    r = client.post("/api/windows/3/pause", headers=h, json={"code": "other"})
    assert r.status_code == 400 and "其他" in r.get_json()["error"]["message"]
    r = client.post("/api/windows/3/pause", headers=h, json={"code": "nope"})
    assert r.status_code == 400 and "nope" in r.get_json()["error"]["message"]
    r = client.post("/api/windows/3/pause", headers=h, json={"code": "other", "reason": "系统升级"})
    assert r.get_json()["window"]["pause_reason"] == "其他：系统升级"
    r = client.post("/api/windows/3/pause", headers=h, json={})
    assert r.status_code == 400
    assert [json.loads(a["detail"])["code"] for a in _audit(services, "window.pause")] == ["meeting", "other"]


def test_break_time_per_clerk_reason_day_and_month(client: Any, services: Services, clock: FixedClock) -> None:
    e = services.engine
    e.pause(3, "1003", code="meeting")
    clock.advance(minutes=20)
    e.resume(3, "1003")
    e.pause(3, "1003", code="break")
    clock.advance(minutes=10)
    e.resume(3, "1003")
    e.pause(1, "1001", "临时外出")                     # free text only: counted under 其他
    clock.advance(minutes=5)                            # still paused: counts up to now
    day = clock.now().date()
    f = break_time(services.db, services.config, day.replace(day=1), day.replace(day=30), clock.now())
    clerks = {c["staff_id"]: c for c in f["clerks"]}
    assert clerks["1003"]["by_reason"]["meeting"] == 20 * 60 and clerks["1003"]["by_reason"]["break"] == 10 * 60
    assert clerks["1003"]["seconds"] == 30 * 60 and clerks["1001"]["by_reason"]["other"] == 5 * 60
    assert f["total"]["seconds"] == 35 * 60
    today = next(d for d in f["days"] if d["date"] == day.isoformat())
    assert today["clerks"] == {"1003": 30 * 60, "1001": 5 * 60}
    assert all(d["seconds"] == 0 for d in f["days"] if d["date"] != day.isoformat())
    # the JSON route: manager only, month selector
    mgr = _h(client, "9001", None, pin="hall-8888")
    r = client.get(f"/api/manage/pauses?month={day:%Y-%m}", headers=mgr)
    assert r.status_code == 200 and r.get_json()["total"] == f["total"]
    assert client.get("/api/manage/pauses?month=2026-13", headers=mgr).status_code == 400
    assert client.get("/api/manage/pauses", headers=_h(client, "1003", 3)).status_code == 403


def test_long_pause_alert_unless_a_b_post_covers(services: Services, clock: FixedClock) -> None:
    e = services.engine
    e.login(3, "1003")
    e.pause(3, "1003", code="errand")
    clock.advance(minutes=services.config.queue.alert_pause_minutes + 1)
    found = [a for a in alerts(e) if a["kind"] == "long_pause"]
    assert [a["window"] for a in found] == [3] and "外出办事" in found[0]["message"] and "B岗" in found[0]["message"]
    e.login(3, "1004", "B")                              # B post takes over the window
    assert not [a for a in alerts(e) if a["kind"] == "long_pause"]


# ---------------------------------------------------------------------- figures (item 6)
def test_figures_count_parked_and_cancelled_right(services: Services, clock: FixedClock) -> None:
    e = services.engine
    for _ in range(3):
        e.issue("C")
    e.call_next(3, "1003")
    e.start(3, "1003")
    clock.advance(minutes=4)
    parked = e.park(3, "1003")
    clock.advance(minutes=30)                           # citizen away fetching a copy: not service time
    e.resume_parked(3, "1003", parked.id)
    clock.advance(minutes=2)
    e.finish(3, "1003")
    e.cancel_at(3, "1003", e.waiting_for_window(3)[0]["id"], "离开")
    e.call_next(3, "1003")
    e.start(3, "1003")
    e.park(3, "1003")                                   # left parked at day's end
    total = e.figures()["total"]
    assert total["served"] == 1 and total["cancelled"] == 1 and total["parked"] == 1 and total["no_show"] == 0
    assert total["mean_service_seconds"] == 6 * 60
    assert total["no_show_rate"] == 0.0
    from hall.manage.figures import period_figures
    month = period_figures(services.db, services.config, date(2026, 11, 1), date(2026, 11, 30))["total"]
    assert month["mean_service_minutes"] == 6.0 and month["cancelled"] == 1 and month["parked"] == 1
    assert month["served"] == 1 and month["issued"] == 3
    from hall.manage.targets import category_figures, live_targets
    rows = [dict(r) for r in services.db.conn.execute("SELECT * FROM tickets")]
    assert next(c for c in category_figures(rows, services.config) if c["prefix"] == "C")["mean_service_minutes"] == 6.0
    live = live_targets(services.db, services.config, clock.now(), clock.now().date().isoformat())
    assert next(c for c in live if c["prefix"] == "C")["mean_service_minutes"] == 6.0


def test_wait_estimate_counts_only_windows_that_serve(services: Services, events: list[Any]) -> None:
    e = services.engine
    seen = events
    for w, who in ((1, "1001"), (5, "1004")):          # both serve A
        e.login(w, who)
    for _ in range(4):
        e.issue("A")
    both = next(c for c in e.snapshot()["categories"] if c["prefix"] == "A")["wait_minutes"]
    e.pause(5, "1004", code="training")
    one = next(c for c in e.snapshot()["categories"] if c["prefix"] == "A")["wait_minutes"]
    assert one == 2 * both > 0
    # the pause told the kiosks: window.updated carries every category's new estimate
    assert seen[-1][0] == "window.updated" and seen[-1][1]["waits"]["A"] == one
    t = e.issue("A")
    assert e.ticket_status(t.ticket.id)["wait_minutes"] == t.wait_minutes
    assert t.wait_minutes == one                         # four ahead of it, on the one window left


def test_phone_page_says_parked_not_cancelled(client: Any, services: Services) -> None:
    """The citizen's phone (ticket QR) while 挂起: come back to the same window, not 已作废."""
    assert services.records is not None
    t = services.engine.issue("C").ticket
    token = services.records.ratings.ticket_token(t.id)
    h = _h(client, "1003", 3)
    client.post("/api/windows/3/call", headers=h)
    client.post("/api/windows/3/park", headers=h)
    p = client.get(f"/api/progress/{token}").get_json()
    assert p["state"] == "parked" and p["window"] == 3 and "回到3号窗口" in p["headline"], p
    client.post(f"/api/windows/3/parked/{t.id}/resume", headers=h)
    assert client.get(f"/api/progress/{token}").get_json()["headline"] == "请到3号窗口办理"


def test_pause_records_are_pruned_with_the_tickets_of_their_days(services: Services, clock: FixedClock) -> None:
    from hall.config.schema import Retention
    from hall.retention import Pruner

    e = services.engine
    e.pause(3, "1003", code="break")
    clock.advance(minutes=10)
    e.resume(3, "1003")
    clock.advance(days=200)
    e.pause(3, "1003", code="meeting")               # recent and still running: kept
    pruner = Pruner(services.db, Retention(days=183), pause=0)
    assert pruner.run(clock.now())["pauses"] == 1
    with services.db.read() as c:
        assert [r[0] for r in c.execute("SELECT code FROM window_pauses")] == ["meeting"]
