"""Notices the manager publishes for the kiosk (政策宣传) and the board's scrolling line."""

from __future__ import annotations

from datetime import date
from typing import Any

from hall.queue.clock import Clock, iso
from hall.queue.errors import QueueError, invalid
from hall.store.db import Database


class Notices:
    def __init__(self, db: Database, clock: Clock, publish: Any = None) -> None:
        self.db = db
        self.clock = clock
        self.publish = publish or (lambda kind, data: None)

    def create(self, title: str, body: str, kind: str, author: str, expires_on: date | None = None) -> dict[str, Any]:
        title, body = title.strip(), body.strip()
        if not title or not body:
            raise invalid("公告标题和内容都不能为空")
        if kind not in ("policy", "hall"):
            raise invalid("公告类别须为 policy（政策宣传）或 hall（大厅通知）")
        if expires_on is not None and expires_on < self.clock.today():
            raise invalid("截止日期不能早于今天")
        with self.db.write() as c:
            cur = c.execute(
                "INSERT INTO notices (title, body, kind, published_at, expires_on, author) VALUES (?, ?, ?, ?, ?, ?)",
                (title[:100], body[:4000], kind, iso(self.clock.now()),
                 expires_on.isoformat() if expires_on else None, author),
            )
            c.execute("INSERT INTO audit (at, actor, action, target) VALUES (?, ?, 'notice.create', ?)",
                      (iso(self.clock.now()), author, str(cur.lastrowid)))
        self.publish("notices.changed", {"active": self.active()})
        return self.get(int(cur.lastrowid or 0))

    def get(self, notice_id: int) -> dict[str, Any]:
        row = self.db.conn.execute("SELECT * FROM notices WHERE id = ?", (notice_id,)).fetchone()
        if row is None:
            raise QueueError("not_found", "公告不存在", 404)
        return dict(row)

    def withdraw(self, notice_id: int, actor: str) -> None:
        self.get(notice_id)
        with self.db.write() as c:
            c.execute("UPDATE notices SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL",
                      (iso(self.clock.now()), notice_id))
            c.execute("INSERT INTO audit (at, actor, action, target) VALUES (?, ?, 'notice.withdraw', ?)",
                      (iso(self.clock.now()), actor, str(notice_id)))
        self.publish("notices.changed", {"active": self.active()})

    def active(self) -> list[dict[str, Any]]:
        today = self.clock.today().isoformat()
        return [dict(r) for r in self.db.conn.execute(
            "SELECT id, title, body, kind, published_at, expires_on FROM notices "
            "WHERE withdrawn_at IS NULL AND (expires_on IS NULL OR expires_on >= ?) ORDER BY published_at DESC",
            (today,),
        )]

    def all(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.conn.execute("SELECT * FROM notices ORDER BY published_at DESC LIMIT 200")]
