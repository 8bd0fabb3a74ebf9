"""Break time (coded pauses) for the manager: per clerk, per reason, per day, over a period.

Read-only over `window_pauses` (one row per pause, written by the queue
engine). A pause counts toward the day it began, as the clerk who paused; a
pause still running counts up to now, so today's figure is live.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import parse_iso
from hall.store.db import Database


def _zero(codes: list[str]) -> dict[str, int]:
    return dict.fromkeys(codes, 0)


def break_time(db: Database, config: HallConfig, start: date, end: date, now: datetime) -> dict[str, Any]:
    """Seconds paused per reason code: in all, per clerk, per day (each day also per clerk)."""
    reasons = config.queue.pause_reasons
    codes = [r.code for r in reasons]
    with db.read() as c:
        rows = c.execute(
            "SELECT window, clerk, code, started_at, ended_at FROM window_pauses "
            "WHERE substr(started_at, 1, 10) >= ? AND substr(started_at, 1, 10) <= ? ORDER BY id",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
    total = _zero(codes)
    by_clerk: dict[str, dict[str, int]] = defaultdict(lambda: _zero(codes))
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: _zero(codes))
    day_clerk: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        began = parse_iso(r["started_at"])
        ended = parse_iso(r["ended_at"]) if r["ended_at"] else now
        seconds = max(0, round((ended - began).total_seconds()))
        code = r["code"]
        for bucket in (total, by_clerk[r["clerk"]], by_day[r["started_at"][:10]]):
            bucket[code] = bucket.get(code, 0) + seconds   # a code since removed from config still counts
        day_clerk[r["started_at"][:10]][r["clerk"]] += seconds
    names = {s.id: s.name for s in config.staff}
    days = []
    d = start
    while d <= end:
        key = d.isoformat()
        per = by_day.get(key, _zero(codes))
        days.append({"date": key, "seconds": sum(per.values()), "by_reason": per,
                     "clerks": dict(day_clerk.get(key, {}))})
        d += timedelta(days=1)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "reasons": [{"code": r.code, "label": r.label} for r in reasons],
        "total": {"seconds": sum(total.values()), "by_reason": total},
        "clerks": [{"staff_id": sid, "name": names.get(sid, sid), "seconds": sum(per.values()), "by_reason": per}
                   for sid, per in sorted(by_clerk.items())],
        "days": days,
    }
