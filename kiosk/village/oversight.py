"""Township oversight of the village stations: counts, overdue handovers, incomplete materials,
random spot checks (不定期抽查) and the monthly village table for the annual assessment (目标责任制考核).
"""

from __future__ import annotations

import csv
import io
import secrets
import sqlite3
from datetime import date, datetime, time, timedelta
from typing import Any

from hall.queue.clock import Clock, iso
from hall.records.util import audit
from hall.security import mask_name
from hall.store.db import Database
from hall.village.base import Who, get_setting, invalid, not_found, set_setting
from hall.village.ledger import Ledger
from hall.village.models import AT_VILLAGE
from hall.village.roster import VillageRoster

TABLE_HEAD = [
    "村（社区）",
    "登记代办",
    "在村办结",
    "代办到乡镇",
    "上门代办",
    "其中特殊群体",
    "已送乡镇",
    "办结",
    "退回补正",
    "超期未送（当前）",
    "材料不全（当前）",
    "值班缺岗（工作日）",
    "抽查",
    "抽查发现问题",
]


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of 'YYYY-MM'."""
    try:
        first = date.fromisoformat(month + "-01")
    except ValueError as exc:
        raise invalid(f"月份“{month}”格式应为 YYYY-MM") from exc
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


class Oversight:
    def __init__(self, db: Database, clock: Clock, ledger: Ledger, roster: VillageRoster) -> None:
        self.db = db
        self.clock = clock
        self.ledger = ledger
        self.roster = roster

    def _day_start(self, d: date) -> str:
        return iso(datetime.combine(d, time(0), tzinfo=self.clock.tz))

    def _month(self, month: str | None) -> tuple[str, date, date]:
        month = month or f"{self.clock.today():%Y-%m}"
        first, last = month_bounds(month)
        return month, first, last

    # ------------------------------------------------------------------ settings
    def settings(self) -> dict[str, int]:
        c = self.db.conn
        return {"overdue_days": get_setting(c, "overdue_days"), "intake_days": get_setting(c, "intake_days")}

    def set_settings(self, changes: dict[str, int], who: Who) -> dict[str, int]:
        with self.db.write() as c:
            for k, v in changes.items():
                set_setting(c, k, v)
            audit(
                c,
                iso(self.clock.now()),
                who.actor(),
                "village.settings",
                "village",
                ",".join(f"{k}={v}" for k, v in sorted(changes.items())),
            )
        return self.settings()

    # ------------------------------------------------------------------ the overview
    def overview(self, who: Who, month: str | None = None) -> dict[str, Any]:
        """Per village: the month's 代办 counts and what needs the township's attention now."""
        month, first, last = self._month(month)
        staff = Who(who.id, who.name, who.role)  # township view: every village
        current = self.ledger.search(staff, limit=5000, states=(*sorted(AT_VILLAGE), "已送乡镇"))
        at_village = [v for v in current if v["state"] in AT_VILLAGE]
        overdue = [v for v in at_village if v["overdue"]]
        incomplete = [v for v in at_village if v["missing"]]
        intake_days = get_setting(self.db.conn, "intake_days")
        late_intake = [
            v
            for v in current
            if v["state"] == "已送乡镇"
            and v["handed_at"]
            and self.ledger.working_days_since(v["handed_at"]) > intake_days
        ]
        table = self.monthly_table(month)
        return {
            "month": month,
            "settings": self.settings(),
            "villages": table["rows"],
            "total": table["total"],
            "overdue": overdue,
            "incomplete": incomplete,
            "late_intake": late_intake,
            "incoming": self.ledger.incoming_count(),
            "spot_checks": self.spot_checks(month),
            "duty_gaps": self.roster.gaps(first, min(last, self.clock.today()))
            if first <= self.clock.today()
            else [],
        }

    def monthly_table(self, month: str) -> dict[str, Any]:
        """One row per village for the month (counts by registration date), and the total row."""
        _, first, last = self._month(month)
        lo, hi = self._day_start(first), self._day_start(last + timedelta(days=1))
        c = self.db.conn
        villages = c.execute("SELECT id, name, active FROM villages ORDER BY id").fetchall()
        counts = {
            r["village_id"]: r
            for r in c.execute(
                """SELECT village_id, COUNT(*) AS n,
                      SUM(kind = '在村办结') AS in_village, SUM(kind = '代办到乡镇') AS to_township,
                      SUM(kind = '上门代办') AS at_home, SUM(special_group IS NOT NULL) AS special,
                      SUM(handed_at IS NOT NULL) AS handed, SUM(state = '办结') AS finished,
                      SUM(state = '退回补正') AS returned
               FROM village_records WHERE registered_at >= ? AND registered_at < ? GROUP BY village_id""",
                (lo, hi),
            )
        }
        checks = {
            r["village_id"]: r
            for r in c.execute(
                """SELECT village_id, COUNT(*) AS n, SUM(result = '有问题') AS bad FROM village_spot_checks
               WHERE picked_at >= ? AND picked_at < ? GROUP BY village_id""",
                (lo, hi),
            )
        }
        staff = Who("system", "system", "manager")
        current = self.ledger.search(staff, limit=5000, states=tuple(sorted(AT_VILLAGE)))
        overdue: dict[int, int] = {}
        incomplete: dict[int, int] = {}
        for v in current:
            if v["state"] in AT_VILLAGE:
                overdue[v["village_id"]] = overdue.get(v["village_id"], 0) + int(v["overdue"])
                incomplete[v["village_id"]] = incomplete.get(v["village_id"], 0) + int(bool(v["missing"]))
        today = self.clock.today()
        gaps = (
            {g["village_id"]: g["count"] for g in self.roster.gaps(first, min(last, today))}
            if first <= today
            else {}
        )
        rows = []
        for v in villages:
            k = counts.get(v["id"])
            s = checks.get(v["id"])
            if k is None and not v["active"]:
                continue
            rows.append(
                {
                    "village_id": v["id"],
                    "village": v["name"],
                    "registered": k["n"] if k else 0,
                    "in_village": (k["in_village"] or 0) if k else 0,
                    "to_township": (k["to_township"] or 0) if k else 0,
                    "at_home": (k["at_home"] or 0) if k else 0,
                    "special": (k["special"] or 0) if k else 0,
                    "handed": (k["handed"] or 0) if k else 0,
                    "finished": (k["finished"] or 0) if k else 0,
                    "returned": (k["returned"] or 0) if k else 0,
                    "overdue": overdue.get(v["id"], 0),
                    "incomplete": incomplete.get(v["id"], 0),
                    "duty_gaps": gaps.get(v["id"], 0),
                    "spot_checks": s["n"] if s else 0,
                    "spot_problems": (s["bad"] or 0) if s else 0,
                }
            )
        keys = [k for k in (rows[0] if rows else {}) if k not in ("village_id", "village")]
        total = {k: sum(r[k] for r in rows) for k in keys}
        return {"month": month, "rows": rows, "total": total}

    def monthly_csv(self, month: str | None, hall_name: str) -> tuple[str, str]:
        month, _, _ = self._month(month)
        table = self.monthly_table(month)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow([f"{hall_name} 村（社区）便民服务站代办情况月报", month])
        w.writerow(TABLE_HEAD)
        order = [
            "registered",
            "in_village",
            "to_township",
            "at_home",
            "special",
            "handed",
            "finished",
            "returned",
            "overdue",
            "incomplete",
            "duty_gaps",
            "spot_checks",
            "spot_problems",
        ]
        for r in table["rows"]:
            w.writerow([r["village"], *(r[k] for k in order)])
        if table["rows"]:
            w.writerow(["合计", *(table["total"][k] for k in order)])
        return "\ufeff" + out.getvalue(), month

    # ------------------------------------------------------------------ spot checks (不定期抽查)
    def pick(
        self, who: Who, count: int, village_id: int | None = None, month: str | None = None
    ) -> list[dict[str, Any]]:
        """Draw `count` records at random (never drawn before) from the month's ledger, for checking."""
        month, first, last = self._month(month)
        sql = (
            "SELECT r.id, r.village_id FROM village_records r "
            "WHERE r.registered_at >= ? AND r.registered_at < ? "
            "AND NOT EXISTS (SELECT 1 FROM village_spot_checks s WHERE s.record_id = r.id)"
        )
        args: list[Any] = [self._day_start(first), self._day_start(last + timedelta(days=1))]
        if village_id is not None:
            if self.db.conn.execute("SELECT 1 FROM villages WHERE id = ?", (village_id,)).fetchone() is None:
                raise not_found(f"村（社区）{village_id} ")
            sql += " AND r.village_id = ?"
            args.append(village_id)
        now = iso(self.clock.now())
        with self.db.write() as c:
            pool = c.execute(sql, args).fetchall()
            if not pool:
                raise invalid(f"{month} 没有可抽查的代办记录")
            chosen = secrets.SystemRandom().sample(pool, min(count, len(pool)))
            ids = []
            for r in chosen:
                cur = c.execute(
                    "INSERT INTO village_spot_checks (record_id, village_id, picked_at, picked_by) "
                    "VALUES (?, ?, ?, ?)",
                    (r["id"], r["village_id"], now, who.id),
                )
                ids.append(int(cur.lastrowid or 0))
            audit(c, now, who.actor(), "village.spot.pick", "village", f"{month} {len(ids)}")
        return [self._check_view(self._check_row(self.db.conn, i)) for i in ids]

    def _check_row(self, c: sqlite3.Connection, check_id: int) -> sqlite3.Row:
        row = c.execute(
            """SELECT s.*, r.ref_no, r.item_name, r.kind, r.state, r.applicant_name, r.registered_at,
                      v.name AS village
               FROM village_spot_checks s JOIN village_records r ON r.id = s.record_id
               JOIN villages v ON v.id = s.village_id WHERE s.id = ?""",
            (check_id,),
        ).fetchone()
        if row is None:
            raise not_found(f"抽查 {check_id} ")
        return row

    def _check_view(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "record_id": row["record_id"],
            "ref_no": row["ref_no"],
            "village_id": row["village_id"],
            "village": row["village"],
            "item_name": row["item_name"],
            "kind": row["kind"],
            "state": row["state"],
            "applicant_name": mask_name(row["applicant_name"]),
            "registered_at": row["registered_at"],
            "picked_at": row["picked_at"],
            "picked_by": row["picked_by"],
            "checked_at": row["checked_at"],
            "checked_by": row["checked_by"],
            "result": row["result"],
            "finding": row["finding"] or "",
        }

    def spot_checks(self, month: str | None = None) -> list[dict[str, Any]]:
        month, first, last = self._month(month)
        rows = self.db.conn.execute(
            "SELECT id FROM village_spot_checks WHERE picked_at >= ? AND picked_at < ? ORDER BY id",
            (self._day_start(first), self._day_start(last + timedelta(days=1))),
        ).fetchall()
        return [self._check_view(self._check_row(self.db.conn, r[0])) for r in rows]

    def check(self, check_id: int, result: str, finding: str, who: Who) -> dict[str, Any]:
        now = iso(self.clock.now())
        with self.db.write() as c:
            self._check_row(c, check_id)
            c.execute(
                "UPDATE village_spot_checks SET result = ?, finding = ?, checked_at = ?, checked_by = ? "
                "WHERE id = ?",
                (result, finding or None, now, who.id, check_id),
            )
            audit(c, now, who.actor(), "village.spot.check", f"spot:{check_id}", result)
            return self._check_view(self._check_row(c, check_id))
