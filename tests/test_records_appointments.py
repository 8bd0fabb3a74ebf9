"""Appointments (预约): booking rules, kiosk check-in into the appointment lane, no-shows, county import."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hall.queue.clock import FixedClock
from hall.records.models import AppointmentIn
from hall.records.util import Actor, RecordError
from hall.services import Services

from tests import records_support

MANAGER = Actor("9001", "manager")
KIOSK = Actor("kiosk", "citizen")


services = records_support.services
rec = records_support.records_fixture()


def booking(start: str = "2026-11-25T10:00:00+08:00", end: str = "2026-11-25T10:30:00+08:00",
            phone: str = "13812345678", name: str = "赵小红", category: str = "B") -> AppointmentIn:
    return AppointmentIn.model_validate({"category": category, "slot_start": start, "slot_end": end,
                                         "name": name, "phone": phone, "item_name": "临时救助申请"})


def test_booking_gives_a_code_and_qr_and_is_masked(services: Services, rec: Any) -> None:
    a = rec.appointments.book(booking(), MANAGER)
    assert len(a["code"]) == 6 and a["qr"] == "hall://appt/" + a["code"]
    assert a["name"] == "赵**" and a["phone"] == "138****5678" and a["state"] == "booked"
    assert a["category_name"] == "民政、退役军人事务"
    row = services.db.conn.execute("SELECT * FROM outbox WHERE kind = 'appointment'").fetchone()
    assert row["order_key"] == f"appointment:{a['id']}"
    listed = json.dumps(rec.appointments.search(day="2026-11-25"), ensure_ascii=False)
    assert "13812345678" not in listed and "赵小红" not in listed


def test_one_booking_per_person_per_day(services: Services, rec: Any) -> None:
    a = rec.appointments.book(booking(), MANAGER)
    with pytest.raises(RecordError, match="每人每天限约一次") as exc:
        rec.appointments.book(booking(start="2026-11-25T15:00:00+08:00", end="2026-11-25T15:30:00+08:00",
                                      name="赵红", phone="138 1234 5678"), MANAGER)
    assert exc.value.status == 409
    # Another day is fine; so is the same day once the first booking is cancelled.
    rec.appointments.book(booking(start="2026-11-26T09:00:00+08:00", end="2026-11-26T09:30:00+08:00"), MANAGER)
    rec.appointments.cancel(a["id"], MANAGER)
    rec.appointments.book(booking(start="2026-11-25T15:00:00+08:00", end="2026-11-25T15:30:00+08:00"), MANAGER)


def test_booking_refuses_past_or_impossible_slots(services: Services, rec: Any) -> None:
    with pytest.raises(RecordError, match="已过"):
        rec.appointments.book(booking(start="2026-11-25T08:00:00+08:00", end="2026-11-25T08:30:00+08:00"), MANAGER)
    with pytest.raises(RecordError, match="跨天"):
        rec.appointments.book(booking(start="2026-11-25T16:00:00+08:00", end="2026-11-26T08:30:00+08:00"), MANAGER)
    with pytest.raises(ValueError, match="时区"):
        booking(start="2026-11-25T10:00:00", end="2026-11-25T10:30:00")


def test_check_in_issues_a_ticket_in_the_appointment_lane(services: Services, rec: Any,
                                                          clock: FixedClock) -> None:
    a = rec.appointments.book(booking(), MANAGER)
    r = rec.appointments.check_in(a["qr"], KIOSK)          # the QR text works as well as the code
    t = r["ticket"]
    assert t["lane"] == "appointment" and t["category"] == "B" and r["already"] is False
    row = services.db.conn.execute("SELECT * FROM tickets WHERE id = ?", (t["id"],)).fetchone()
    assert row["appointment_id"] == a["id"] and row["slot_start"].startswith("2026-11-25T10:00")
    assert r["appointment"]["state"] == "checked_in" and r["appointment"]["ticket_id"] == t["id"]
    # A second scan does not issue a second ticket.
    again = rec.appointments.check_in(a["code"].lower(), KIOSK)
    assert again["already"] is True and again["ticket"]["id"] == t["id"]
    assert services.db.conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1
    # Once the slot has begun, the window calls it before an earlier normal ticket.
    normal = services.engine.issue("B")
    clock.set(datetime(2026, 11, 25, 10, 1))
    services.engine.login(2, "1002")
    called = services.engine.call_next(2, "1002")
    assert called.id == t["id"] and called.id != normal.ticket.id


def test_check_in_after_a_crash_reuses_the_issued_ticket(services: Services, rec: Any) -> None:
    a = rec.appointments.book(booking(), MANAGER)
    # The ticket was issued but the service died before the appointment was marked.
    first = services.engine.issue("B", "appointment", appointment_id=a["id"],
                                  slot_start=datetime.fromisoformat("2026-11-25T10:00:00+08:00"))
    r = rec.appointments.check_in(a["code"], KIOSK)
    assert r["ticket"]["id"] == first.ticket.id and r["appointment"]["state"] == "checked_in"
    assert services.db.conn.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1


def test_check_in_refusals(services: Services, rec: Any, clock: FixedClock) -> None:
    with pytest.raises(RecordError, match="未找到"):
        rec.appointments.check_in("ZZZZZZ", KIOSK)
    tomorrow = rec.appointments.book(booking(start="2026-11-26T09:00:00+08:00", end="2026-11-26T09:30:00+08:00"),
                                     MANAGER)
    with pytest.raises(RecordError, match="今天不能签到"):
        rec.appointments.check_in(tomorrow["code"], KIOSK)
    rec.appointments.cancel(tomorrow["id"], MANAGER)
    with pytest.raises(RecordError, match="已取消"):
        rec.appointments.check_in(tomorrow["code"], KIOSK)
    late = rec.appointments.book(booking(phone="13900000000"), MANAGER)
    clock.set(datetime(2026, 11, 25, 10, 30))
    with pytest.raises(RecordError, match="时段已过"):
        rec.appointments.check_in(late["code"], KIOSK)


def test_no_shows_are_counted_and_relayed(services: Services, rec: Any, clock: FixedClock) -> None:
    a = rec.appointments.book(booking(), MANAGER)
    b = rec.appointments.book(booking(phone="13900000000"), MANAGER)
    rec.appointments.check_in(b["code"], KIOSK)
    rec.tick()
    assert rec.appointments.search(state="no_show") == []
    clock.set(datetime(2026, 11, 25, 10, 30))
    rec.tick()
    (ns,) = rec.appointments.search(state="no_show")
    assert ns["id"] == a["id"]
    rows = services.db.conn.execute("SELECT * FROM outbox WHERE kind = 'appointment_noshow'").fetchall()
    assert [json.loads(r["payload"])["code"] for r in rows] == [a["code"]]
    assert rec.records_figures()["appointments"] == {"booked": 0, "checked_in": 1, "no_show": 1, "cancelled": 0}
    rec.tick()                                           # idempotent
    assert len(services.db.conn.execute("SELECT * FROM outbox WHERE kind = 'appointment_noshow'").fetchall()) == 1


def test_import_from_the_county_is_idempotent_by_code(services: Services, rec: Any) -> None:
    entry = {"code": "YY20261125001", "category": "C", "slot_start": "2026-11-25T14:00:00+08:00",
             "slot_end": "2026-11-25T14:30:00+08:00", "name": "孙建国", "phone": "13700001111",
             "item_code": "430224100YB01", "item_name": "城乡居民医保参保登记"}
    assert rec.import_appointments([entry]) == {"added": 1, "updated": 0, "unchanged": 0, "errors": []}
    assert rec.import_appointments([entry])["unchanged"] == 1
    moved = {**entry, "slot_start": "2026-11-25T15:00:00+08:00", "slot_end": "2026-11-25T15:30:00+08:00"}
    assert rec.import_appointments([moved])["updated"] == 1
    (a,) = rec.appointments.search(day="2026-11-25")
    assert a["slot_start"].startswith("2026-11-25T15:00") and a["source"] == "county"
    # A bad entry is reported without stopping the rest.
    result = rec.import_appointments([{"code": "x"}, {**entry, "code": "YY20261125002", "category": "Z"}])
    assert result["added"] == 0 and len(result["errors"]) == 2
    # Checked in here: a later county copy does not undo it; a county cancellation of a booked one applies.
    rec.appointments.check_in("YY20261125001", KIOSK)
    assert rec.import_appointments([{**moved, "cancelled": True}])["unchanged"] == 1
    rec.import_appointments([{**entry, "code": "YY20261125003", "phone": "13700002222"}])
    assert rec.import_appointments([{**entry, "code": "YY20261125003", "phone": "13700002222",
                                     "cancelled": True}])["updated"] == 1
    states = {a["code"]: a["state"] for a in rec.appointments.search(day="2026-11-25")}
    assert states == {"YY20261125001": "checked_in", "YY20261125003": "cancelled"}
    # Imported bookings were the county's to begin with: nothing to send back for them.
    kinds = [r["kind"] for r in services.db.conn.execute("SELECT kind FROM outbox")]
    assert kinds == ["appointment"]          # only the check-in of the county's booking
