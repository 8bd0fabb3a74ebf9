"""Rectification (整改) of a 差评: opened with the rating, then reply → verify → close by the manager.

Part of `hall.records.ratings.RatingService` (its base class), kept in its own file because
the 整改 workflow is a job of its own: a small state machine (待整改 → 已回复 → 已核实 → 已关闭,
a failed verification goes back to 待整改), each step audited and relayed to the county as the
rectification's next version.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from hall.queue.clock import iso
from hall.records.base import RecordContext
from hall.records.util import Actor, RecordError, conflict, invalid, not_found

if TYPE_CHECKING:
    from hall.records.ratings import Service


class Rectifications:
    ctx: RecordContext

    if TYPE_CHECKING:
        def _rating_view(self, r: sqlite3.Row) -> dict[str, Any]: ...

    def _open_rectification(self, c: sqlite3.Connection, rating_id: int, svc: Service) -> int:
        now = self.ctx.now()
        due_at, dl = self.ctx.due(now.date(), self.ctx.policy.rectification_days, "工作日")
        cur = c.execute(
            "INSERT INTO rectifications (rating_id, opened_at, due_at, due_estimated, state, updated_at) "
            "VALUES (?, ?, ?, ?, '待整改', ?)",
            (rating_id, iso(now), due_at, int(dl.estimated), iso(now)),
        )
        rect_id = int(cur.lastrowid or 0)
        c.execute("INSERT INTO rectification_events (rectification_id, at, action, actor, text) "
                  "VALUES (?, ?, 'open', 'system', NULL)", (rect_id, iso(now)))
        self._relay_rect(c, rect_id, svc.order_key)
        return rect_id

    def _rect_row(self, c: sqlite3.Connection, rect_id: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM rectifications WHERE id = ?", (rect_id,)).fetchone()
        if row is None:
            raise not_found(f"整改任务 {rect_id} ")
        return row

    def _relay_rect(self, c: sqlite3.Connection, rect_id: int, order_key: str) -> None:
        r = self._rect_row(c, rect_id)
        self.ctx.relay(c, "rectification", rect_id, r["version"], order_key, {
            "rectification_id": rect_id, "rating_id": r["rating_id"], "state": r["state"],
            "opened_at": r["opened_at"], "due_at": r["due_at"], "due_estimated": bool(r["due_estimated"]),
            "reply": r["reply"], "replied_at": r["replied_at"], "verification": r["verification"],
            "verified_at": r["verified_at"], "closed_at": r["closed_at"], "version": r["version"],
        })

    def _rect_step(self, rect_id: int, actor: Actor, action: str, text: str | None) -> dict[str, Any]:
        if actor.role != "manager":
            raise RecordError("forbidden", "整改任务由大厅负责人办理", 403)
        text = (text or "").strip() or None
        if action in ("reply", "verify_fail") and not text:
            raise invalid("请填写整改回复或核实意见")
        now = self.ctx.now_iso()
        with self.ctx.db.write() as c:
            r = self._rect_row(c, rect_id)
            state = r["state"]
            moves = {"reply": ("待整改", "已回复"), "verify_pass": ("已回复", "已核实"),
                     "verify_fail": ("已回复", "待整改"), "close": ("已核实", "已关闭")}
            src, dst = moves[action]
            if state != src:
                raise conflict("bad_transition", f"整改任务当前为“{state}”，不能执行此操作")
            sets = {"reply": "reply = ?, replied_at = ?, replied_by = ?",
                    "verify_pass": "verification = ?, verified_at = ?, verified_by = ?",
                    "verify_fail": "verification = ?, verified_at = ?, verified_by = ?",
                    "close": "closed_at = ?, closed_by = ?"}[action]
            vals: list[Any] = [now, actor.id] if action == "close" else [text, now, actor.id]
            c.execute(f"UPDATE rectifications SET {sets}, state = ?, version = version + 1, updated_at = ? "
                      "WHERE id = ?", (*vals, dst, now, rect_id))
            c.execute("INSERT INTO rectification_events (rectification_id, at, action, actor, text) "
                      "VALUES (?, ?, ?, ?, ?)", (rect_id, now, action, actor.id, text))
            self.ctx.audit(c, actor, f"rectification.{action}", f"rectification:{rect_id}", f"{state}->{dst}")
            key = c.execute("SELECT service_key FROM ratings WHERE id = ?", (r["rating_id"],)).fetchone()[0]
            self._relay_rect(c, rect_id, key)
            view = self._rect_view(c, self._rect_row(c, rect_id))
        self.ctx.publish("rectification.updated", {"rectification_id": rect_id, "state": dst})
        return view

    def reply(self, rect_id: int, text: str, actor: Actor) -> dict[str, Any]:
        return self._rect_step(rect_id, actor, "reply", text)

    def verify(self, rect_id: int, passed: bool, text: str | None, actor: Actor) -> dict[str, Any]:
        return self._rect_step(rect_id, actor, "verify_pass" if passed else "verify_fail", text)

    def close(self, rect_id: int, actor: Actor, text: str | None = None) -> dict[str, Any]:
        return self._rect_step(rect_id, actor, "close", text)

    def _rect_view(self, c: sqlite3.Connection, r: sqlite3.Row) -> dict[str, Any]:
        rating = c.execute("SELECT * FROM ratings WHERE id = ?", (r["rating_id"],)).fetchone()
        events = [{"at": e["at"], "action": e["action"], "actor": e["actor"], "text": e["text"]}
                  for e in c.execute("SELECT * FROM rectification_events WHERE rectification_id = ? ORDER BY id",
                                     (r["id"],))]
        return {
            "id": r["id"], "state": r["state"], "opened_at": r["opened_at"],
            "deadline": self.ctx.deadline_view(r["due_at"], bool(r["due_estimated"]), r["state"] == "已关闭"),
            "reply": r["reply"], "verification": r["verification"], "closed_at": r["closed_at"],
            "rating": self._rating_view(rating), "events": events,
        }

    def rectification(self, rect_id: int) -> dict[str, Any]:
        with self.ctx.db.read() as c:
            return self._rect_view(c, self._rect_row(c, rect_id))

    def rectifications(self, *, open_only: bool = False, limit: int = 500) -> list[dict[str, Any]]:
        sql = "SELECT * FROM rectifications"
        if open_only:
            sql += " WHERE state != '已关闭'"
        sql += " ORDER BY due_at, id LIMIT ?"
        with self.ctx.db.read() as c:
            return [self._rect_view(c, r) for r in c.execute(sql, (max(1, min(limit, 5000)),)).fetchall()]
