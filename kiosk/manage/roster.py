"""The holiday duty roster (节假日轮流值班): who keeps the hall open on rest days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import Clock, iso
from hall.queue.errors import QueueError, invalid
from hall.store.db import Database


class DutyRoster:
    def __init__(self, db: Database, config: HallConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def _staff_name(self, staff_id: str) -> str:
        s = self.config.staff_member(staff_id)
        if s is None:
            raise QueueError("not_found", f"工号 {staff_id} 不存在", 404)
        return s.name

    def assign(self, day: date, staff_id: str, actor: str, note: str = "") -> dict[str, Any]:
        self._staff_name(staff_id)
        with self.db.write() as c:
            exists = c.execute("SELECT 1 FROM duty_roster WHERE day = ? AND staff_id = ?",
                               (day.isoformat(), staff_id)).fetchone()
            if exists:
                raise QueueError("duplicate", f"{day} 已安排该人员值班", 409)
            c.execute(
                "INSERT INTO duty_roster (day, staff_id, note, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                (day.isoformat(), staff_id, note[:100], actor, iso(self.clock.now())),
            )
        return {"day": day.isoformat(), "staff_id": staff_id, "name": self._staff_name(staff_id), "note": note}

    def remove(self, day: date, staff_id: str) -> None:
        with self.db.write() as c:
            c.execute("DELETE FROM duty_roster WHERE day = ? AND staff_id = ?", (day.isoformat(), staff_id))

    def rotate(self, start: date, end: date, staff_ids: list[str], actor: str,
               is_workday: Callable[[date], bool], per_day: int = 1) -> list[dict[str, Any]]:
        """Fill every rest day in [start, end] in turn from `staff_ids`, continuing the rotation."""
        if not staff_ids:
            raise invalid("请至少选择一名值班人员")
        if end < start or (end - start).days > 366:
            raise invalid("日期范围无效（最长一年）")
        for sid in staff_ids:
            self._staff_name(sid)
        out = []
        i = 0
        d = start
        while d <= end:
            if not is_workday(d):
                have = {r["staff_id"] for r in self.day(d)}
                for _ in range(max(0, per_day - len(have))):
                    for _try in range(len(staff_ids)):
                        sid = staff_ids[i % len(staff_ids)]
                        i += 1
                        if sid not in have:
                            out.append(self.assign(d, sid, actor, "轮流值班"))
                            have.add(sid)
                            break
            d += timedelta(days=1)
        return out

    def day(self, d: date) -> list[dict[str, Any]]:
        return self.range(d, d)

    def range(self, start: date, end: date) -> list[dict[str, Any]]:
        rows = self.db.conn.execute(
            "SELECT day, staff_id, note FROM duty_roster WHERE day >= ? AND day <= ? ORDER BY day, staff_id",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
        out = []
        for r in rows:
            s = self.config.staff_member(r["staff_id"])
            out.append({"day": r["day"], "staff_id": r["staff_id"], "name": s.name if s else r["staff_id"],
                        "note": r["note"]})
        return out
