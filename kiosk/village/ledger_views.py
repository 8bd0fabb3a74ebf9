"""What the 代办 ledger shows: one request with its history and photos, the list, the clerks' inbox.

Every view masks names, ID numbers and phones (hall.security) and passes free
text through `redact_text`; `next_steps` tells the page which buttons this
viewer may press, from the same transition table the writes enforce.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta
from typing import Any

from hall.queue.clock import iso
from hall.security import mask_id, mask_name, mask_phone, redact_text
from hall.village.base import Who, forbidden, get_setting, invalid
from hall.village.ledger_cases import LedgerCases
from hall.village.models import AGENT_MOVES, AT_VILLAGE, STATES


def _stamp(at: str) -> datetime:
    return datetime.fromisoformat(at)



class LedgerViews(LedgerCases):
    """Adds the masked views; they follow the cases first so a view never shows a stale state."""

    def incoming(self, who: Who) -> list[dict[str, Any]]:
        """For clerks: handed over and not yet received, or received and still waiting for a case."""
        if who.is_agent:
            raise forbidden()
        self.follow_cases()
        rows = self.db.conn.execute(
            """SELECT r.* FROM village_records r LEFT JOIN cases k ON k.id = r.case_id
               WHERE r.state = '已送乡镇'
                  OR (r.state = '乡镇已接件' AND (r.case_id IS NULL OR k.status = '退回'))
               ORDER BY r.handed_at, r.id"""
        ).fetchall()
        return [self._summary(r) for r in rows]

    def incoming_count(self) -> int:
        return int(
            self.db.conn.execute("SELECT COUNT(*) FROM village_records WHERE state = '已送乡镇'").fetchone()[
                0
            ]
        )

    # dup-ok: a row's view, shaped like directory.py agent_view; the fields differ
    @staticmethod
    def _photo_view(p: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": p["id"],
            "client_key": p["client_key"],
            "material": p["material"],
            "bytes": p["bytes"],
            "width": p["width"],
            "height": p["height"],
            "added_at": p["added_at"],
        }

    # ------------------------------------------------------------------ views
    def _case_view(self, c: sqlite3.Connection, case_id: int | None) -> dict[str, Any] | None:
        if case_id is None:
            return None
        k = c.execute(
            "SELECT id, receipt_no, official_no, status, promised_finish_at, finished_at FROM cases "
            "WHERE id = ?",
            (case_id,),
        ).fetchone()
        if k is None:
            return None
        return {
            "id": k["id"],
            "receipt_no": k["receipt_no"],
            "official_no": k["official_no"],
            "status": k["status"],
            "promised_finish_at": k["promised_finish_at"],
            "finished_at": k["finished_at"],
        }

    def _village_name(self, c: sqlite3.Connection, village_id: int) -> str:
        row = c.execute("SELECT name FROM villages WHERE id = ?", (village_id,)).fetchone()
        return str(row[0]) if row else ""

    def _summary(self, row: sqlite3.Row) -> dict[str, Any]:
        c = self.db.conn
        materials = self._materials(row)
        photo_count = c.execute(
            "SELECT COUNT(*) FROM village_photos WHERE record_id = ?", (row["id"],)
        ).fetchone()[0]
        return {
            "id": row["id"],
            "ref_no": row["ref_no"],
            "client_key": row["client_key"],
            "village_id": row["village_id"],
            "village": self._village_name(c, row["village_id"]),
            "item_code": row["item_code"],
            "item_name": row["item_name"],
            "category": row["category"],
            "village_level": bool(row["village_level"]),
            "kind": row["kind"],
            "special_group": row["special_group"],
            "state": row["state"],
            "applicant": {
                "name": mask_name(row["applicant_name"]),
                "cert_type": row["cert_type"],
                "cert_no": mask_id(row["cert_no"]),
                "phone": mask_phone(row["phone"]),
            },
            "materials": materials,
            "missing": self._missing(materials),
            "photo_count": photo_count,
            "note": redact_text(row["note"]) if row["note"] else None,
            "agent_id": row["agent_id"],
            "agent_name": self._names(f"agent:{row['agent_id']}"),
            "registered_at": row["registered_at"],
            "handed_at": row["handed_at"],
            "received_at": row["received_at"],
            "received_by": row["received_by"],
            "received_by_name": self._names(row["received_by"]) if row["received_by"] else None,
            "finished_at": row["finished_at"],
            "case": self._case_view(c, row["case_id"]),
            "overdue": self._overdue(row),
        }

    def _overdue(self, row: sqlite3.Row) -> bool:
        """Still in the village (to be handed over) longer than the configured number of working days."""
        if row["state"] not in AT_VILLAGE or row["kind"] == "在村办结":
            return False
        limit = get_setting(self.db.conn, "overdue_days")
        return self.working_days_since(row["pending_since"]) > limit

    def working_days_since(self, at: str) -> int:
        start = _stamp(at).astimezone(self.clock.tz).date()
        today = self.clock.today()
        if today <= start:
            return 0
        try:
            n, _guessed = self.calendar.count_workdays(start, today)
        except ValueError:
            n = (today - start).days
        return int(n)

    def get(self, record_id: int, who: Who) -> dict[str, Any]:
        self.follow_cases()
        with self.db.read() as c:
            row = self._row(c, record_id, who)
            view = self._summary(row)
            view["history"] = [
                {
                    "at": h["at"],
                    "from": h["from_state"],
                    "to": h["to_state"],
                    "actor": h["actor"],
                    "actor_name": h["actor_name"],
                    "note": redact_text(h["note"]) if h["note"] else None,
                }
                for h in c.execute(
                    "SELECT * FROM village_record_history WHERE record_id = ? ORDER BY id", (record_id,)
                )
            ]
            view["photos"] = [
                self._photo_view(p)
                for p in c.execute(
                    "SELECT * FROM village_photos WHERE record_id = ? ORDER BY id", (record_id,)
                )
            ]
        view["next"] = self.next_steps(view, who)
        return view

    def next_steps(self, view: dict[str, Any], who: Who) -> list[str]:
        """What this viewer may do next (the page shows only these buttons)."""
        state = view["state"]
        if who.is_agent:
            steps = sorted(AGENT_MOVES.get(state, frozenset()))
            if view["missing"]:  # these need every required material
                steps = [s for s in steps if s not in ("材料齐全", "已送乡镇", "办结")]
            if "已送乡镇" in steps and view["kind"] == "在村办结":
                steps.remove("已送乡镇")
            if "办结" in steps and (not view["village_level"] or view["kind"] == "代办到乡镇"):
                steps.remove("办结")
            return steps
        if state == "已送乡镇":
            return ["接件", "退回补正"]
        if state == "乡镇已接件":
            case = view["case"]
            if case is None or case["status"] == "退回":
                return ["登记办件", "退回补正"]
        return []

    def search(
        self,
        who: Who,
        *,
        village_id: int | None = None,
        state: str | None = None,
        kind: str | None = None,
        start: date | None = None,
        end: date | None = None,
        overdue: bool = False,
        states: tuple[str, ...] = (),
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """The ledger: an agent's own village always; township staff any village or all."""
        self.follow_cases()
        scope = who.scope if who.is_agent else village_id
        # dup-ok: each search builds its WHERE from its own filters (records/cases.py, complaints.py alike)
        sql = "SELECT * FROM village_records WHERE 1=1"
        args: list[Any] = []
        if scope is not None:
            sql += " AND village_id = ?"
            args.append(scope)
        if state:
            if state not in STATES:
                raise invalid(f"状态“{state}”无效")
            sql += " AND state = ?"
            args.append(state)
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args.extend(states)
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if start:
            sql += " AND registered_at >= ?"
            args.append(iso(datetime.combine(start, time(0), tzinfo=self.clock.tz)))
        if end:
            sql += " AND registered_at < ?"
            args.append(iso(datetime.combine(end + timedelta(days=1), time(0), tzinfo=self.clock.tz)))
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 5000)))
        views = [self._summary(r) for r in self.db.conn.execute(sql, args).fetchall()]
        if overdue:
            views = [v for v in views if v["overdue"]]
        return views
