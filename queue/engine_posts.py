"""Window posts: clerks signing on and off (A/B post cover), coded pauses, and a window's view.

Part of the queue engine (see `hall.queue.engine_core`); every change is one write transaction,
audited, and the window's new view and the kiosk's wait estimates are published after commit.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from hall.queue import window_tools as tools
from hall.queue.clock import iso
from hall.queue.engine_core import EngineCore
from hall.queue.errors import QueueError, invalid, not_found
from hall.queue.models import WindowView


class WindowPosts(EngineCore):
    def pause(self, window: int, clerk: str, reason: str = "", *, code: str | None = None) -> None:
        """Pause with a coded reason (config queue.pause_reasons); `reason` is the free text (needed for 其他).

        Without a code (older clients) the text alone is taken as 其他 / the
        reason that asks for text, so no pause ever goes uncounted.
        """
        self._window(window)
        if code is None:
            if not reason.strip():
                raise invalid("暂停服务需要选择或填写原因")
            code = next((r.code for r in self.policy.pause_reasons if r.needs_text), self.policy.pause_reasons[-1].code)
            shown = reason.strip()[:100]
        else:
            shown = tools.pause_text(self, code, reason)
        with self.db.write() as c:
            t = self._current(c, window)
            if t is not None and t.state == "called":
                raise QueueError("current_open", f"{t.number} 已叫号，请先处理再暂停", 409)
            c.execute("UPDATE windows SET paused = 1, pause_reason = ?, pause_code = ?, paused_at = ? WHERE number = ?",
                      (shown, code, iso(self.clock.now()), window))
            tools.open_pause(self, c, window, clerk, code, reason)
            self._audit(c, clerk, "window.pause", str(window), tools.audit_detail(code=code, reason=shown))
        self._window_updated(window)

    def resume(self, window: int, clerk: str) -> None:
        self._window(window)
        with self.db.write() as c:
            c.execute("UPDATE windows SET paused = 0, pause_reason = NULL, pause_code = NULL, paused_at = NULL "
                      "WHERE number = ?", (window,))
            tools.close_pause(self, c, window, clerk)
            self._audit(c, clerk, "window.resume", str(window))
        self._window_updated(window)

    def _window_updated(self, window: int) -> None:
        """A window opened, closed or paused: its view, and every category's wait estimate (the
        windows that serve changed, so the kiosk's estimates must change with them)."""
        with self.db.read() as c:
            counts = self._waiting_counts(c)
            waits = {p: self._estimate(c, p, n) for p, n in counts.items()}
            view = self.window_view(window, c).as_dict()
        self.publish("window.updated", {"window": view, "waits": waits})

    # ------------------------------------------------------------------ posts
    def login(self, window: int, staff_id: str, post: str | None = None) -> None:
        """Put a clerk on a window; whoever held it hands over (A/B post cover)."""
        self._window(window)
        staff = self.config.staff_member(staff_id)
        if staff is None:
            raise not_found(f"工号 {staff_id} ")
        if staff.windows and window not in staff.windows:
            raise QueueError("not_assigned", f"{staff.name} 未被安排在{window}号窗口", 403)
        post = post or staff.post
        now = iso(self.clock.now())
        with self.db.write() as c:
            c.execute(
                """UPDATE window_sessions SET logout_at = ?, logout_reason = 'handover'
                   WHERE logout_at IS NULL AND (window = ? OR staff_id = ?)""",
                (now, window, staff_id),
            )
            c.execute("INSERT INTO window_sessions (window, staff_id, post, login_at) VALUES (?, ?, ?, ?)",
                      (window, staff_id, post, now))
            self._audit(c, staff_id, "window.login", str(window), post)
        self._window_updated(window)

    def logout(self, window: int, staff_id: str, reason: str = "logout") -> None:
        with self.db.write() as c:
            c.execute(
                "UPDATE window_sessions SET logout_at = ?, logout_reason = ? "
                "WHERE logout_at IS NULL AND window = ? AND staff_id = ?",
                (iso(self.clock.now()), reason, window, staff_id),
            )
            self._audit(c, staff_id, "window.logout", str(window), reason)
        self._window_updated(window)

    def post_holder(self, window: int) -> tuple[str, str] | None:
        """(staff id, post) of whoever is signed in at the window now, or None (AB handover ends the other's turn)."""
        row = self.db.conn.execute(
            "SELECT staff_id, post FROM window_sessions WHERE window = ? AND logout_at IS NULL "
            "ORDER BY id DESC LIMIT 1", (window,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def window_view(self, number: int, c: sqlite3.Connection | None = None) -> WindowView:
        w = self._window(number)
        conn = c or self.db.conn
        row = conn.execute("SELECT paused, pause_reason, pause_code FROM windows WHERE number = ?",
                           (number,)).fetchone()
        sess = conn.execute(
            "SELECT staff_id, post FROM window_sessions WHERE window = ? AND logout_at IS NULL "
            "ORDER BY id DESC LIMIT 1",
            (number,),
        ).fetchone()
        current = self._current(conn, number)
        staff = self.config.staff_member(sess[0]) if sess else None
        return WindowView(
            number=number,
            name=w.name or f"{number}号窗口",
            categories=list(w.categories),
            paused=bool(row and row[0]),
            pause_reason=row[1] if row else None,
            clerk_id=sess[0] if sess else None,
            clerk_name=staff.name if staff else None,
            post=sess[1] if sess else None,
            current=current.public() if current else None,
            empty_post=sess is None and self.is_open(),
            pause_code=row[2] if row else None,
            parked=[t.public() for t in tools.parked_at(self, conn, number)],
        )

    def empty_posts(self, when: datetime | None = None) -> list[int]:
        """Windows with no clerk on post during opening hours: an alert for the manager."""
        if not self.is_open(when):
            return []
        with self.db.read() as c:
            manned = {r[0] for r in c.execute("SELECT window FROM window_sessions WHERE logout_at IS NULL")}
        return [w.number for w in self.config.windows if w.number not in manned]
