"""The 代办 ledger's link to township cases: the case made from a request, and its progress carried back.

Cases are registered through the records (hall.records.cases), so a request
handled in the township or finished in the village is relayed to the county
like any other case. `follow_cases` turns a case's 补正/退回 into 退回补正 and
its 办结 into 办结, with the case's own time and clerk.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hall.village.base import Who, conflict
from hall.village.ledger_core import LedgerCore

#: What a township case's status means for the 代办 it was made from.
CASE_TO_STATE: dict[str, str] = {
    "受理": "乡镇已接件",
    "办理中": "乡镇已接件",
    "补正": "退回补正",
    "退回": "退回补正",
    "办结": "办结",
}



class LedgerCases(LedgerCore):
    """Adds the township case made from a request and the sync of its status back into the request."""

    def _case_request(self, c: sqlite3.Connection, row: sqlite3.Row, note: str | None) -> Any:
        from hall.records.models import Agent, Applicant, CaseIn, Material

        agent = c.execute(
            "SELECT a.*, v.name AS village FROM village_agents a JOIN villages v ON v.id = a.village_id "
            "WHERE a.id = ?",
            (row["agent_id"],),
        ).fetchone()
        mats = [
            Material(name=(p["material"] or "村代办照片")[:100], path=str(self.data_dir / p["path"]))
            for p in c.execute(
                "SELECT material, path FROM village_photos WHERE record_id = ? ORDER BY id", (row["id"],)
            )
        ]
        village = c.execute("SELECT name FROM villages WHERE id = ?", (row["village_id"],)).fetchone()[0]
        text = f"村代办 {row['ref_no']}（{village}，{row['kind']}"
        text += f"，{row['special_group']}" if row["special_group"] else ""
        text += "）" + (f" {row['note']}" if row["note"] else "") + (f" {note}" if note else "")
        return CaseIn(
            item_code=row["item_code"],
            item_name=row["item_name"],
            category=row["category"],
            applicant=Applicant(
                name=row["applicant_name"],
                cert_type=row["cert_type"],
                cert_no=row["cert_no"],
                phone=row["phone"],
            ),
            agent=Agent(
                name=agent["name"],
                cert_type=agent["cert_type"],
                cert_no=agent["cert_no"],
                phone=agent["phone"],
                village=agent["village"],
            ),
            materials=mats,
            note=text[:500],
        )

    def _cases(self) -> Any:
        rec = self._records()
        if rec is None:
            raise conflict("unavailable", "办件服务未启用，不能登记办件")
        return rec.cases

    def _village_case(
        self, c: sqlite3.Connection, row: sqlite3.Row, who: Who, note: str | None
    ) -> dict[str, Any]:
        """A request finished in the village: registered and closed as a case (relayed like any other)."""
        cases = self._cases()
        view = cases.register(self._case_request(c, row, note), who.actor(), None)
        done: dict[str, Any] = cases.transition(view["id"], "办结", who.actor(), None, "在村办结")
        return done

    def follow_cases(self) -> int:
        """Carry township case progress into the 代办 it came from; the number of requests changed.

        Reads the case's own history for the time, person and note, so the agent
        sees when and by whom the case was finished or sent back, whenever this runs.
        """
        rows = self.db.conn.execute(
            "SELECT r.id, k.status AS cs FROM village_records r JOIN cases k ON k.id = r.case_id "
            "WHERE r.case_status IS NULL OR r.case_status != k.status"
        ).fetchall()
        changed: list[sqlite3.Row] = []
        for r in rows:
            with self.db.write() as c:
                row = c.execute("SELECT * FROM village_records WHERE id = ?", (r["id"],)).fetchone()
                case = c.execute("SELECT status FROM cases WHERE id = ?", (row["case_id"],)).fetchone()
                if case is None or case[0] == row["case_status"]:
                    continue
                cs = case[0]
                h = c.execute(
                    "SELECT * FROM case_history WHERE case_id = ? AND to_status = ? ORDER BY id DESC LIMIT 1",
                    (row["case_id"], cs),
                ).fetchone()
                new = CASE_TO_STATE.get(cs, row["state"])
                at = h["at"] if h is not None else self._now()
                cols: dict[str, Any] = {"case_status": cs}
                if new != row["state"]:
                    actor = h["actor"] if h is not None else "system"
                    words = f"乡镇办件{cs}" + (f"：{h['note']}" if h is not None and h["note"] else "")
                    self._history(c, row["id"], row["state"], new, actor, self._names(actor), words, at)
                    cols["state"] = new
                    if new == "办结":
                        cols["finished_at"] = at
                    if new == "退回补正":
                        cols["pending_since"] = at
                sets = ", ".join(f"{k} = ?" for k in cols)
                c.execute(
                    f"UPDATE village_records SET {sets}, version = version + 1, updated_at = ? WHERE id = ?",
                    (*cols.values(), self._now(), row["id"]),
                )
                if new != row["state"]:
                    changed.append(
                        c.execute("SELECT * FROM village_records WHERE id = ?", (row["id"],)).fetchone()
                    )
        for row in changed:
            self._event(row)
        return len(changed)
