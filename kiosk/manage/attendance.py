"""Attendance (考勤) derived from window sign-ins: nothing extra for clerks to do.

A clerk's day is read from `window_sessions`: first sign-in, last sign-out,
minutes on post and the windows held. A working day with no sign-in shows as
absent, which the manager checks against leave records kept elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import parse_iso
from hall.store.db import Database


def attendance(db: Database, config: HallConfig, start: date, end: date, now: datetime,
               workday: Any = None) -> list[dict[str, Any]]:
    """One row per clerk per day in [start, end]; `workday(date) -> bool` marks days expected at work."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo).isoformat()
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo).isoformat()
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
            if staff.role != "clerk":
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
