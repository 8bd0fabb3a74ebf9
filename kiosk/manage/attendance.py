"""Attendance (考勤) derived from window sign-ins: nothing extra for clerks to do.

A clerk's day is read from `window_sessions`: first sign-in, last sign-out,
minutes on post and the windows held. A working day with no sign-in shows as
absent, which the manager checks against leave records kept elsewhere — but
only from the clerk's first day with the system (the day the service first saw
them in the config, or their first sign-in if earlier): a hall that installed
the system on the 20th must not see everyone absent from the 1st to the 19th.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import parse_iso
from hall.store.db import Database


def record_first_days(db: Database, config: HallConfig, today: date) -> None:
    """Note today as the first day of every clerk the service has not seen before (idempotent)."""
    clerks = [(s.id, today.isoformat()) for s in config.staff if s.role == "clerk"]
    if not clerks:
        return
    with db.write() as c:
        c.executemany("INSERT OR IGNORE INTO staff_first_day (staff_id, first_day) VALUES (?, ?)", clerks)


def first_days(db: Database, config: HallConfig, now: datetime) -> dict[str, date]:
    """Each clerk's first day: the recorded day or their first sign-in (hall time), whichever is earlier."""
    record_first_days(db, config, now.date())      # a clerk added by a config reload starts today
    with db.read() as c:
        out = {r[0]: date.fromisoformat(r[1]) for r in c.execute("SELECT staff_id, first_day FROM staff_first_day")}
        for staff_id, first in c.execute("SELECT staff_id, MIN(login_at) FROM window_sessions GROUP BY staff_id"):
            day = parse_iso(first).astimezone(now.tzinfo).date()
            if staff_id not in out or day < out[staff_id]:
                out[staff_id] = day
    return out


def attendance(db: Database, config: HallConfig, start: date, end: date, now: datetime,
               workday: Any = None) -> list[dict[str, Any]]:
    """One row per clerk per day in [start, end] from the clerk's first day on; `workday(date) -> bool`
    marks days expected at work."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo).isoformat()
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo).isoformat()
    firsts = first_days(db, config, now)
    with db.read() as c:
        sessions = [dict(r) for r in c.execute(
            "SELECT * FROM window_sessions WHERE login_at >= ? AND login_at < ? ORDER BY login_at", (lo, hi)
        )]
    per: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for s in sessions:
        day = parse_iso(s["login_at"]).astimezone(now.tzinfo).date().isoformat()
        per[(s["staff_id"], day)].append(s)
    rows = []
    d = start
    while d <= end:
        expected = bool(workday(d)) if workday else d.isoweekday() <= 5
        for staff in config.staff:
            if staff.role != "clerk" or d < firsts.get(staff.id, now.date()):
                continue
            ss = per.get((staff.id, d.isoformat()), [])
            minutes = 0.0
            for s in ss:
                out = parse_iso(s["logout_at"]) if s["logout_at"] else min(now, _day_end(s["login_at"], now))
                minutes += max(0.0, (out - parse_iso(s["login_at"])).total_seconds() / 60)
            if not ss and not expected:
                continue
            rows.append({
                "date": d.isoformat(),
                "staff_id": staff.id,
                "name": staff.name,
                "post": staff.post,
                "first_login": ss[0]["login_at"] if ss else None,
                "last_logout": (ss[-1]["logout_at"] if ss and ss[-1]["logout_at"] else None),
                "on_post_now": bool(ss and ss[-1]["logout_at"] is None and d == now.date()),
                "minutes_on_post": round(minutes),
                "windows": sorted({s["window"] for s in ss}),
                "status": "present" if ss else "absent",
                "status_name": "出勤" if ss else "未到岗",
            })
        d += timedelta(days=1)
    return rows


def _day_end(login_at: str, now: datetime) -> datetime:
    t = parse_iso(login_at).astimezone(now.tzinfo)
    return datetime.combine(t.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
