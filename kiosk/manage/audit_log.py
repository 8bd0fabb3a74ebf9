"""Reading the audit trail: filters for the manager's page, CSV export, and writing one staff action.

Rows are sealed (masked, hash-chained, stamped with where they came from) by
the database itself (hall.store.audit_chain); this module only reads them
and adds single entries for actions that have no record of their own
(sign-in, exports).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hall.queue.clock import Clock, iso
from hall.store.db import Database

#: shown first in the manager's action filter; any stored action can be filtered by prefix
ACTION_GROUPS = ("auth", "window", "ticket", "case", "rating", "rectification", "complaint", "appointment",
                 "notice", "device", "emulator", "relay", "catalog", "calendar", "village", "audit", "pairing",
                 "config")

CSV_HEAD = ["时间（大厅）", "时间（UTC）", "人员", "角色", "操作", "对象", "详情", "来源地址", "设备", "哈希"]


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None        # exact action, or a group prefix such as "ticket"
    role: str | None = None
    date_from: date | None = None    # hall dates, inclusive
    date_to: date | None = None
    before_id: int | None = None     # paging: entries older than this row

    def where(self) -> tuple[str, list[Any]]:
        sql: list[str] = ["1 = 1"]
        args: list[Any] = []
        if self.actor:
            sql.append("actor = ?")
            args.append(self.actor)
        if self.action:
            sql.append("(action = ? OR action LIKE ? ESCAPE '\\')")
            args += [self.action, self.action.replace("_", "\\_").replace("%", "\\%") + ".%"]
        if self.role:
            sql.append("role = ?")
            args.append(self.role)
        if self.date_from:
            sql.append("at >= ?")
            args.append(self.date_from.isoformat())
        if self.date_to:
            sql.append("at < ?")
            args.append((self.date_to + timedelta(days=1)).isoformat())
        if self.before_id:
            sql.append("id < ?")
            args.append(self.before_id)
        return " AND ".join(sql), args


def search(db: Database, flt: AuditFilter, limit: int = 200) -> list[dict[str, Any]]:
    where, args = flt.where()
    rows = db.conn.execute(
        f"SELECT id, at, at_utc, actor, role, action, target, detail, remote, device, hash FROM audit "
        f"WHERE {where} ORDER BY id DESC LIMIT ?", (*args, limit),
    ).fetchall()
    return [dict(r) for r in rows]


def actors(db: Database) -> list[str]:
    return [r[0] for r in db.conn.execute("SELECT DISTINCT actor FROM audit ORDER BY actor LIMIT 500")]


def to_csv(rows: list[dict[str, Any]], names: dict[str, str]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_HEAD)
    for r in rows:
        who = f"{names[r['actor']]}（{r['actor']}）" if r["actor"] in names else r["actor"]
        w.writerow([r["at"], r["at_utc"] or "", who, r["role"] or "", r["action"], r["target"] or "",
                    r["detail"] or "", r["remote"] or "", r["device"] or "", r["hash"] or ""])
    return "\ufeff" + out.getvalue()          # BOM: Excel opens UTF-8 correctly


def record(db: Database, clock: Clock, actor: str, role: str, action: str, target: str = "",
           detail: dict[str, Any] | str = "") -> None:
    """One entry in its own transaction (client address and device come from the request context)."""
    text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, sort_keys=True)
    with db.write() as c:
        c.execute("INSERT INTO audit (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                  (iso(clock.now()), actor, role, action, target, text[:1000]))
