"""The village duty roster (值班表): one cadre on duty at the village office per working day.

Only working days are rostered (China's working days, hall.records.workdays);
the township sees the working days a village left without anyone on duty.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from hall.queue.clock import Clock, iso
from hall.records.util import audit
from hall.store.db import Database
from hall.village.base import Who, forbidden, invalid, not_found

MAX_SPAN_DAYS = 92


class VillageRoster:
    def __init__(self, db: Database, clock: Clock, is_workday: Callable[[date], bool]) -> None:
        self.db = db
        self.clock = clock
        self.is_workday = is_workday

    def _village(self, who: Who, village_id: int | None, write: bool = True) -> int:
        """The village this person may see or roster: an agent only their own; staff must name one."""
        if who.is_agent:
            if village_id is not None and village_id != who.village_id:
                raise not_found(f"村（社区）{village_id} ")
            assert who.village_id is not None
            return who.village_id
        if write and who.role != "manager":
            raise forbidden("只有大厅主任或本村代办员可以安排村值班")
        if village_id is None:
            raise invalid("请选择村（社区）")
        return village_id

    def _agent(self, c: sqlite3.Connection, village_id: int, agent_id: int) -> sqlite3.Row:
        row = c.execute(
            "SELECT * FROM village_agents WHERE id = ? AND village_id = ?", (agent_id, village_id)
        ).fetchone()
        if row is None:
            raise invalid(f"代办员 {agent_id} 不属于该村（社区）")
        if not row["active"]:
            raise invalid(f"代办员“{row['name']}”已停用，不能安排值班")
        return row

    def set_day(
        self, who: Who, village_id: int | None, day: date, agent_id: int | None, note: str = ""
    ) -> dict[str, Any]:
        vid = self._village(who, village_id)
        now = iso(self.clock.now())
        with self.db.write() as c:
            if c.execute("SELECT 1 FROM villages WHERE id = ?", (vid,)).fetchone() is None:
                raise not_found(f"村（社区）{vid} ")
            if agent_id is None:
                c.execute("DELETE FROM village_duty WHERE village_id = ? AND day = ?", (vid, day.isoformat()))
                audit(c, now, who.actor(), "village.duty.clear", f"village:{vid}", day.isoformat())
                return {"village_id": vid, "day": day.isoformat(), "agent": None}
            if not self.is_workday(day):
                raise invalid(f"{day} 不是工作日，村值班只排工作日")
            agent = self._agent(c, vid, agent_id)
            c.execute(
                "INSERT INTO village_duty (village_id, day, agent_id, note, set_by, set_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (village_id, day) DO UPDATE SET "
                "agent_id = excluded.agent_id, note = excluded.note, "
                "set_by = excluded.set_by, set_at = excluded.set_at",
                (vid, day.isoformat(), agent_id, note[:100], who.id, now),
            )
            audit(c, now, who.actor(), "village.duty.set", f"village:{vid}", f"{day} agent:{agent_id}")
        return {
            "village_id": vid,
            "day": day.isoformat(),
            "agent": {"id": agent["id"], "name": agent["name"], "phone": agent["phone"]},
            "note": note,
        }

    def rotate(
        self,
        who: Who,
        village_id: int | None,
        start: date,
        end: date,
        agent_ids: list[int],
        overwrite: bool = False,
    ) -> list[dict[str, Any]]:
        """Fill the working days in [start, end] in turn from `agent_ids` (empty days only, or all)."""
        vid = self._village(who, village_id)
        if end < start or (end - start).days > MAX_SPAN_DAYS:
            raise invalid(f"日期范围无效（最长 {MAX_SPAN_DAYS} 天）")
        now = iso(self.clock.now())
        out = []
        with self.db.write() as c:
            agents = [self._agent(c, vid, a) for a in agent_ids]
            taken = {
                r[0]
                for r in c.execute(
                    "SELECT day FROM village_duty WHERE village_id = ? AND day BETWEEN ? AND ?",
                    (vid, start.isoformat(), end.isoformat()),
                )
            }
            i, d = 0, start
            while d <= end:
                if self.is_workday(d) and (overwrite or d.isoformat() not in taken):
                    a = agents[i % len(agents)]
                    i += 1
                    c.execute(
                        "INSERT INTO village_duty (village_id, day, agent_id, note, set_by, set_at) "
                        "VALUES (?, ?, ?, '轮流值班', ?, ?) ON CONFLICT (village_id, day) DO UPDATE SET "
                        "agent_id = excluded.agent_id, note = excluded.note, set_by = excluded.set_by, "
                        "set_at = excluded.set_at",
                        (vid, d.isoformat(), a["id"], who.id, now),
                    )
                    out.append({"day": d.isoformat(), "agent": {"id": a["id"], "name": a["name"]}})
                d += timedelta(days=1)
            audit(c, now, who.actor(), "village.duty.rotate", f"village:{vid}", f"{start}..{end} {len(out)}")
        return out

    def days(self, who: Who, village_id: int | None, start: date, end: date) -> list[dict[str, Any]]:
        """Each day of the range: working day or not, and who is on duty (public contact details)."""
        return self.village_days(self._village(who, village_id, write=False), start, end)

    def village_days(self, village_id: int, start: date, end: date) -> list[dict[str, Any]]:
        if end < start or (end - start).days > MAX_SPAN_DAYS:
            raise invalid(f"日期范围无效（最长 {MAX_SPAN_DAYS} 天）")
        rows = {
            r["day"]: r
            for r in self.db.conn.execute(
                "SELECT d.day, d.note, a.id, a.name, a.phone, a.duty, a.active FROM village_duty d "
                "JOIN village_agents a ON a.id = d.agent_id WHERE d.village_id = ? AND d.day BETWEEN ? AND ?",
                (village_id, start.isoformat(), end.isoformat()),
            )
        }
        out = []
        d = start
        while d <= end:
            r = rows.get(d.isoformat())
            work = self.is_workday(d)
            agent = (
                {"id": r["id"], "name": r["name"], "phone": r["phone"], "duty": r["duty"]}
                if r is not None and r["active"]
                else None
            )
            out.append(
                {
                    "day": d.isoformat(),
                    "workday": work,
                    "agent": agent,
                    "note": r["note"] if r is not None else "",
                    "gap": work and agent is None,
                }
            )
            d += timedelta(days=1)
        return out

    def on_duty(self, village_id: int, day: date) -> dict[str, Any] | None:
        r = self.db.conn.execute(
            "SELECT a.id, a.name, a.phone, a.duty FROM village_duty d "
            "JOIN village_agents a ON a.id = d.agent_id "
            "WHERE d.village_id = ? AND d.day = ? AND a.active = 1",
            (village_id, day.isoformat()),
        ).fetchone()
        return {"id": r["id"], "name": r["name"], "phone": r["phone"], "duty": r["duty"]} if r else None

    def gaps(self, start: date, end: date) -> list[dict[str, Any]]:
        """For the township: per active village, the working days in [start, end] with no one on duty.

        Days before the village was added to the service do not count.
        """
        out = []
        for v in self.db.conn.execute(
            "SELECT id, name, created_at FROM villages WHERE active = 1 ORDER BY id"
        ).fetchall():
            since = max(start, datetime.fromisoformat(v["created_at"]).astimezone(self.clock.tz).date())
            days = self.village_days(v["id"], since, end) if since <= end else []
            missing = [d["day"] for d in days if d["gap"]]
            out.append({"village_id": v["id"], "village": v["name"], "days": missing, "count": len(missing)})
        return out
