"""Completing a keypad 差评's reason ("原因待补").

A five-key keypad cannot say why a citizen was unhappy; the rating is stored
at once (nothing is lost) with the keypad's placeholder reason and
`reason_pending = 1`. The citizen can then pick the real reasons where they
are: the window tablet (if the window has one), the ticket's phone page (the QR
token) or the kiosk's 评价 screen (the same token, scanned). The completed
reasons replace the placeholder and go to the county as the rating's next
version (same payload, new reasons), so its record is whole too.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

from hall.queue.clock import iso
from hall.records.base import RecordContext
from hall.records.reasons import ReasonList, ReasonListError
from hall.records.util import Actor, RecordError, conflict, dumps, invalid
from hall.security import redact_text

PENDING_TEXT = "原因待补"


class ReasonCompletion:
    def __init__(self, ctx: RecordContext, reasons: ReasonList, ticket_of_token: Any) -> None:
        self.ctx = ctx
        self.reasons = reasons
        self.ticket_of_token = ticket_of_token

    # ------------------------------------------------------------------ where they are offered
    def _chain(self, c: sqlite3.Connection, ticket_id: int) -> list[int]:
        """The ticket and the tickets it was transferred into (one citizen, one QR)."""
        ids = [ticket_id]
        for _ in range(20):
            row = c.execute("SELECT id FROM tickets WHERE transferred_from = ? ORDER BY id DESC LIMIT 1",
                            (ids[-1],)).fetchone()
            if row is None:
                break
            ids.append(int(row[0]))
        return ids

    def _view(self, r: sqlite3.Row) -> dict[str, Any]:
        return {"rating_id": r["id"], "level": r["level"], "window": r["window"], "rated_at": r["rated_at"],
                "text": PENDING_TEXT}

    def for_token(self, token: str) -> list[dict[str, Any]]:
        """The ticket's keypad 差评 still without a reason (phone page, kiosk)."""
        ticket_id = self.ticket_of_token(token)
        with self.ctx.db.read() as c:
            ids = self._chain(c, ticket_id)
            marks = ",".join("?" * len(ids))
            rows = c.execute(f"SELECT * FROM ratings WHERE reason_pending = 1 AND ticket_id IN ({marks}) ORDER BY id",
                             ids).fetchall()
        return [self._view(r) for r in rows]

    def at_window(self, window: int) -> dict[str, Any] | None:
        """The window's latest keypad 差评 without a reason, while the citizen may still be there
        (`rate_after_finish_minutes`): the window tablet offers it."""
        since = iso(self.ctx.now() - timedelta(minutes=self.ctx.config.records.rate_after_finish_minutes))
        with self.ctx.db.read() as c:
            r = c.execute("SELECT * FROM ratings WHERE reason_pending = 1 AND window = ? AND rated_at >= ? "
                          "ORDER BY id DESC LIMIT 1", (window, since)).fetchone()
        return self._view(r) if r is not None else None

    def count(self) -> int:
        """差评 still lacking a reason (the manager's 差评整改 tab)."""
        with self.ctx.db.read() as c:
            return int(c.execute("SELECT COUNT(*) FROM ratings WHERE reason_pending = 1").fetchone()[0])

    # ------------------------------------------------------------------ completing
    def complete(self, rating_id: int, reasons: list[str], comment: str | None, actor: Actor, *,
                 token: str | None = None, window: int | None = None) -> dict[str, Any]:
        """Replace the placeholder with the citizen's reasons. Allowed by the ticket's QR token (its own
        ratings) or at the rating's window while it is recent (the tablet)."""
        if actor.role != "citizen":
            raise RecordError("staff_cannot_rate", "工作人员不能代替群众评价", 403)
        if not reasons:
            raise invalid("请至少选择一项不满意的原因")
        try:
            chosen = self.reasons.resolve_rating(reasons)
        except ReasonListError as exc:
            raise invalid(str(exc)) from exc
        allowed: set[int] = set()
        if token is not None:
            allowed = {p["rating_id"] for p in self.for_token(token)}
        elif window is not None:
            p = self.at_window(window)
            allowed = {p["rating_id"]} if p else set()
        if rating_id not in allowed:
            raise conflict("no_pending_reason", "该评价不需要补充原因，或已超过补充时间")
        now = self.ctx.now_iso()
        note = redact_text(comment.strip())[:500] if comment and comment.strip() else None
        with self.ctx.db.write() as c:
            r = c.execute("SELECT * FROM ratings WHERE id = ? AND reason_pending = 1", (rating_id,)).fetchone()
            if r is None:
                raise conflict("no_pending_reason", "该评价的原因已补充")
            c.execute("UPDATE ratings SET reasons = ?, reason_pending = 0, reason_completed_at = ?, "
                      "comment = COALESCE(?, comment) WHERE id = ?", (dumps(chosen), now, note, rating_id))
            self._relay(c, rating_id, chosen, note)
            self.ctx.audit(c, actor, "rating.reason", r["service_key"], "、".join(x["text"] for x in chosen))
        self.ctx.publish("rating.recorded", {"rating_id": rating_id, "window": r["window"]})
        return {"rating_id": rating_id, "reasons": chosen, "completed_at": now}

    def _relay(self, c: sqlite3.Connection, rating_id: int, chosen: list[dict[str, str]], note: str | None) -> None:
        """The rating's next version for the county: its first payload with the completed reasons."""
        rows = c.execute("SELECT message_id, order_key, payload FROM outbox WHERE kind = 'rating' "
                         "AND json_extract(payload, '$.rating_id') = ? ORDER BY id", (rating_id,)).fetchall()
        if not rows:
            return          # no county link configured when it was rated (or pruned): nothing to amend
        payload = json.loads(rows[-1]["payload"])
        payload.pop("hall_id", None)
        payload.update({"reasons": chosen, "reason_completed_at": self.ctx.now_iso()})
        if note is not None:
            payload["comment"] = note
        self.ctx.relay(c, "rating", rating_id, len(rows) + 1, rows[-1]["order_key"], payload)
