"""Manager functions: figures, attendance, roster, notices, alerts, monthly report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hall.manage.alerts import alerts
from hall.manage.attendance import attendance
from hall.manage.figures import month_bounds, period_figures
from hall.queue.clock import FixedClock
from hall.services import Services

from tests.conftest import serve_ticket


def _manager(client: Any) -> dict[str, str]:
    r = client.post("/api/session", json={"staff_id": "9001", "pin": "hall-8888"})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def _serve_one(services: Services, clock: FixedClock, cat: str, window: int, clerk: str, minutes: int) -> None:
    serve_ticket(services, clock, cat, window, clerk, 2, minutes)


def test_period_figures_per_window_and_clerk(services: Services, clock: FixedClock) -> None:
    services.engine.login(3, "1003")
    _serve_one(services, clock, "C", 3, "1003", 6)
    _serve_one(services, clock, "C", 3, "1003", 10)
    services.engine.issue("C")
    services.engine.call_next(3, "1003")
    services.engine.no_show(3, "1003")
    f = period_figures(services.db, services.config, clock.today(), clock.today())
    w3 = next(w for w in f["windows"] if w["window"] == 3)
    assert w3["served"] == 2 and w3["mean_service_minutes"] == 8.0
    liu = next(c for c in f["clerks"] if c["staff_id"] == "1003")
    assert liu["served"] == 2 and liu["name"] == "刘洋"
    assert sum(h["issued"] for h in f["per_hour"]) == 3
    # the absent ticket went back to the queue (re-queue policy), so two waits are complete
    assert sum(b["count"] for b in f["wait_distribution"]) == 2
    assert f["days"][0]["issued"] == 3


def test_tickets_per_hour_cover_every_hour_a_ticket_was_issued(services: Services, clock: FixedClock) -> None:
    f = period_figures(services.db, services.config, clock.today(), clock.today())
    assert [h["hour"] for h in f["per_hour"]] == list(range(7, 20))      # an empty day: the usual hours
    clock.advance(minutes=12 * 60 + 5)                                     # 21:05, an evening duty
    services.engine.issue("A")
    f = period_figures(services.db, services.config, clock.today(), clock.today())
    assert f["per_hour"][-1] == {"hour": 21, "issued": 1}
    assert [h["hour"] for h in f["per_hour"]] == list(range(7, 22))


def test_month_bounds() -> None:
    assert month_bounds(2026, 12) == (date(2026, 12, 1), date(2026, 12, 31))
    assert month_bounds(2026, 2) == (date(2026, 2, 1), date(2026, 2, 28))


def test_attendance_from_window_signins(services: Services, clock: FixedClock) -> None:
    services.engine.login(3, "1003")
    clock.advance(hours=3)
    services.engine.logout(3, "1003")
    rows = attendance(services.db, services.config, clock.today(), clock.today(), clock.now())
    liu = next(r for r in rows if r["staff_id"] == "1003")
    assert liu["status"] == "present" and liu["minutes_on_post"] == 180 and liu["windows"] == [3]
    li = next(r for r in rows if r["staff_id"] == "1001")
    assert li["status"] == "absent" and li["status_name"] == "未到岗"


def test_roster_rotation_fills_rest_days_in_turn(services: Services) -> None:
    added = services.roster.rotate(date(2026, 11, 28), date(2026, 12, 6), ["1001", "1002", "1004"], "9001",
                                   lambda d: d.isoweekday() <= 5)
    days = [(a["day"], a["staff_id"]) for a in added]
    assert days == [("2026-11-28", "1001"), ("2026-11-29", "1002"), ("2026-12-05", "1004"), ("2026-12-06", "1001")]
    # running it again adds nobody: every rest day already has someone
    assert services.roster.rotate(date(2026, 11, 28), date(2026, 12, 6), ["1001"], "9001",
                                  lambda d: d.isoweekday() <= 5) == []


def test_alerts_empty_post_long_wait_and_pause(services: Services, clock: FixedClock) -> None:
    services.engine.issue("C")
    clock.advance(minutes=45)
    services.engine.login(2, "1002")
    services.engine.pause(2, "1002", "外出开会")
    clock.advance(minutes=31)
    kinds = {(a["kind"], a.get("window") or a.get("category")) for a in alerts(services.engine)}
    assert ("empty_post", 3) in kinds and ("empty_post", 2) not in kinds
    assert ("long_wait", "C") in kinds and ("long_pause", 2) in kinds


def test_manager_api_roles_and_notices(client: Any) -> None:
    assert client.get("/api/manage/overview").status_code == 401
    clerk = client.post("/api/session", json={"staff_id": "1003", "pin": "123456", "window": 3}).get_json()
    r = client.get("/api/manage/overview", headers={"Authorization": f"Bearer {clerk['token']}"})
    assert r.status_code == 403
    h = _manager(client)
    assert client.get("/api/manage/overview", headers=h).status_code == 200
    r = client.post("/api/manage/notices", headers=h,
                    json={"title": "医保缴费提醒", "body": "2027年度城乡居民医保缴费期至12月31日", "kind": "policy"})
    assert r.status_code == 201
    nid = r.get_json()["notice"]["id"]
    assert [n["title"] for n in client.get("/api/notices").get_json()["notices"]] == ["医保缴费提醒"]
    client.post(f"/api/manage/notices/{nid}/withdraw", headers=h)
    assert client.get("/api/notices").get_json()["notices"] == []


def test_monthly_report_csv(client: Any, services: Services, clock: FixedClock) -> None:
    services.engine.login(3, "1003")
    _serve_one(services, clock, "C", 3, "1003", 5)
    h = _manager(client)
    r = client.get("/api/manage/report?month=2026-11&format=csv", headers=h)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert "全大厅" in text and "3号窗口" in text and "刘洋（A岗）" in text
    assert client.get("/api/manage/report?month=2026-13", headers=h).status_code == 400


def test_attendance_starts_at_each_clerks_first_day(services: Services, clock: FixedClock) -> None:
    """Installed (first seen) today: nobody is absent for the days before; a clerk who signed in on
    a day before the record (an upgraded hall) counts from that sign-in."""
    today = clock.today()
    rows = attendance(services.db, services.config, today - timedelta(days=20), today, clock.now(),
                      lambda d: True)
    assert rows and {r["date"] for r in rows} == {today.isoformat()}
    # a sign-in ten days ago, before the service recorded this clerk: attendance starts there
    ten_ago = clock.now() - timedelta(days=10)
    with services.db.write() as c:
        c.execute("INSERT INTO window_sessions (window, staff_id, post, login_at, logout_at) "
                  "VALUES (1, '1001', 'A', ?, ?)", (ten_ago.isoformat(), (ten_ago + timedelta(hours=2)).isoformat()))
    rows = attendance(services.db, services.config, today - timedelta(days=20), today, clock.now(),
                      lambda d: True)
    li = [r for r in rows if r["staff_id"] == "1001"]
    assert li[0]["date"] == (today - timedelta(days=10)).isoformat() and li[0]["status"] == "present"
    assert len(li) == 11 and all(r["status"] == "absent" for r in li[1:-1])
    assert {r["date"] for r in rows if r["staff_id"] == "1003"} == {today.isoformat()}
    # a clerk added to the config later starts on the day the service first sees them
    clock.advance(days=3)
    extra = services.config.staff[0].model_copy(update={"id": "1099", "name": "新同事", "role": "clerk"})
    cfg = services.config.model_copy(update={"staff": [*services.config.staff, extra]})
    rows = attendance(services.db, cfg, today, clock.today(), clock.now(), lambda d: True)
    assert {r["date"] for r in rows if r["staff_id"] == "1099"} == {clock.today().isoformat()}
