"""Complaints and suggestions (意见建议) left at the kiosk: records, relayed like the others."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hall.records.base import RecordContext
from hall.records.models import ComplaintIn
from hall.records.reasons import ReasonList, ReasonListError
from hall.records.util import Actor, RecordError, conflict, dumps, invalid, not_found, short_code
from hall.security import mask_name, mask_phone, redact_text


class ComplaintService:
    def __init__(self, ctx: RecordContext, reasons: ReasonList) -> None:
        self.ctx = ctx
        self.reasons = reasons

    def submit(self, req: ComplaintIn, actor: Actor) -> dict[str, Any]:
        """A citizen's complaint or suggestion; returns the reference number to show them."""
        try:
            chosen = self.reasons.resolve_complaint(req.reasons)
        except ReasonListError as exc:
            raise invalid(str(exc)) from exc
        if req.window is not None and self.ctx.config.window(req.window) is None:
            raise invalid(f"{req.window}号窗口不存在")
        # Free text may carry ID or phone numbers typed by the citizen: mask them at once.
        text = redact_text(req.text.strip())[:1000] if req.text and req.text.strip() else None
        now = self.ctx.now()
        with self.ctx.db.write() as c:
            seq = self.ctx.next_seq(c, f"complaint:{now.date().isoformat()}")
            ref = f"YJ{now:%Y%m%d}{seq:03d}{short_code(2)}"
            cur = c.execute(
                """INSERT INTO complaints (ref_no, kind, reasons, text, contact_name, contact_phone, window,
                       created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (ref, req.kind, dumps(chosen), text, req.contact_name or None, req.contact_phone, req.window,
                 self.ctx.now_iso()),
            )
            cid = int(cur.lastrowid or 0)
            self.ctx.audit(c, actor, "complaint.submit", f"complaint:{cid}", req.kind)
            self._relay(c, cid)
        self.ctx.publish("complaint.new", {"complaint_id": cid, "kind": req.kind})
        return {"id": cid, "ref_no": ref, "kind": req.kind}

    def _row(self, c: sqlite3.Connection, cid: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM complaints WHERE id = ?", (cid,)).fetchone()
        if row is None:
            raise not_found(f"意见建议 {cid} ")
        return row

    def _relay(self, c: sqlite3.Connection, cid: int) -> None:
        r = self._row(c, cid)
        self.ctx.relay(c, "complaint", cid, r["version"], f"complaint:{cid}", {
            "complaint_id": cid, "ref_no": r["ref_no"], "kind": r["kind"], "reasons": json.loads(r["reasons"]),
            "text": r["text"], "contact_name": r["contact_name"], "contact_phone": r["contact_phone"],
            "window": r["window"], "created_at": r["created_at"], "state": r["state"], "reply": r["reply"],
            "handled_at": r["handled_at"], "version": r["version"],
        })

    def handle(self, cid: int, reply: str, actor: Actor) -> dict[str, Any]:
        """The manager records how it was handled (relayed as a new version)."""
        if actor.role != "manager":
            raise RecordError("forbidden", "意见建议由大厅负责人处理", 403)
        reply = reply.strip()
        if not reply:
            raise invalid("请填写处理情况")
        with self.ctx.db.write() as c:
            r = self._row(c, cid)
            if r["state"] == "已处理":
                raise conflict("already_handled", "该意见建议已处理")
            c.execute("UPDATE complaints SET state = '已处理', reply = ?, handled_at = ?, handled_by = ?, "
                      "version = version + 1 WHERE id = ?", (redact_text(reply)[:1000], self.ctx.now_iso(),
                                                              actor.id, cid))
            self.ctx.audit(c, actor, "complaint.handle", f"complaint:{cid}")
            self._relay(c, cid)
            return self._view(self._row(c, cid))

    @staticmethod
    def _view(r: sqlite3.Row) -> dict[str, Any]:
        return {"id": r["id"], "ref_no": r["ref_no"], "kind": r["kind"], "reasons": json.loads(r["reasons"]),
                "text": r["text"], "contact_name": mask_name(r["contact_name"]),
                "contact_phone": mask_phone(r["contact_phone"]), "window": r["window"],
                "created_at": r["created_at"], "state": r["state"], "reply": r["reply"],
                "handled_at": r["handled_at"]}

    def search(self, *, start: str | None = None, end: str | None = None, open_only: bool = False,
               limit: int = 500) -> list[dict[str, Any]]:
        # dup-ok: each search builds its WHERE from its own filters (cases.py, village/ledger_views.py alike)
        sql = "SELECT * FROM complaints WHERE 1=1"
        args: list[Any] = []
        if start:
            sql += " AND created_at >= ?"
            args.append(start)
        if end:
            sql += " AND created_at < ?"
            args.append(end)
        if open_only:
            sql += " AND state = '待处理'"
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 5000)))
        with self.ctx.db.read() as c:
            return [self._view(r) for r in c.execute(sql, args)]
