"""The queue engine: tickets, windows and clerks, on the store, emitting events.

It imports neither Flask nor drivers. Every change runs in one write
transaction (`BEGIN IMMEDIATE`), so two kiosks issuing or two clerks calling
at once are serialised by SQLite and can never share a number or a ticket.
Events are published only after the transaction committed, so a listener
never sees a change that was rolled back.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any

from hall.queue import window_tools as tools
from hall.queue.clock import epoch_us, iso
from hall.queue.engine_core import Publish as Publish
from hall.queue.engine_views import EngineViews
from hall.queue.errors import QueueError, invalid
from hall.queue.models import LANES, CardHolder, Lane, Ticket
from hall.queue.models import IssueResult as IssueResult

log = logging.getLogger(__name__)


class QueueEngine(EngineViews):
    """Tickets from issue to finish: issue, call, recall, no-show, start, finish, transfer, cancel.

    The layers below hold the shared core (`engine_core`), window posts (`engine_posts`)
    and the views and figures (`engine_views`).
    """

    # ------------------------------------------------------------------ citizens
    def issue(self, category: str, lane: Lane = "normal", *, appointment_id: int | None = None,
              slot_start: datetime | None = None, terminal: str | None = None,
              holder: CardHolder | None = None) -> IssueResult:
        """A new number; `terminal` is the kiosk it was taken at (its printer prints it), None for none.

        `holder`: the ticket was taken with an ID card; the per-person daily limit is checked in the same
        write transaction as the insert, so two kiosks cannot both hand out the last allowed number."""
        cat = self._category(category)
        if lane not in LANES:
            raise invalid(f"取号通道 {lane} 无效")
        if lane == "appointment" and appointment_id is None:
            raise invalid("预约通道需要预约签到")
        now = self.clock.now()
        if self.config.hall.hours.enforce and not self.is_open(now):
            raise QueueError("closed", "当前不在办公时间，暂停取号", 409)
        day = self.service_day(now)
        today = day.isoformat()
        with self.db.write() as c:
            row = c.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM tickets WHERE service_date = ? AND category = ?",
                (today, category),
            ).fetchone()
            seq = int(row[0]) + 1
            # FIFO even when the clock stepped back: a new ticket never queues before an older one.
            last_key = c.execute("SELECT MAX(queue_key) FROM tickets WHERE service_date = ?", (today,)).fetchone()[0]
            queue_key = max(epoch_us(now), int(last_key or 0) + 1)
            if seq > cat.daily_cap:
                raise QueueError("category_full", f"{cat.name} 今日已满（{cat.daily_cap} 个号）", 409)
            if holder is not None and lane != "appointment":
                taken = self._holder_count(c, holder.id_hash, today, category)
                if taken >= holder.daily_limit:
                    raise QueueError(
                        "person_limit",
                        f"您今天已在“{cat.name}”取号 {taken} 次，每人每类业务每天最多 {holder.daily_limit} 次。"
                        "如需帮助，请咨询大厅工作人员", 409)
            number = f"{category}{seq:03d}"
            cur = c.execute(
                """INSERT INTO tickets (service_date, category, seq, number, lane, state, issued_at, queue_key,
                                       slot_start, appointment_id, terminal)
                   VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?, ?, ?, ?)""",
                (today, category, seq, number, lane, iso(now), queue_key,
                 iso(slot_start) if slot_start else None, appointment_id, terminal),
            )
            ticket_id = int(cur.lastrowid or 0)
            if holder is not None:
                c.execute("INSERT INTO ticket_holders (ticket_id, service_date, category, holder_hash, holder_name, "
                          "holder_age) VALUES (?, ?, ?, ?, ?, ?)",
                          (ticket_id, today, category, holder.id_hash, holder.name, holder.age))
            detail: dict[str, Any] = {"lane": lane, "terminal": terminal} if terminal else {"lane": lane}
            if holder is not None:
                detail["card"] = True
            self._event(c, ticket_id, "issue", None, None, detail)
        if self._latest_day is None or day > self._latest_day:
            self._latest_day = day
        # The number is committed; what follows only reads, outside the write lock.
        with self.db.read() as c:
            ticket = self._ticket(c, ticket_id)
            ahead = self._ahead(c, ticket)
            wait = self._estimate(c, category, ahead)
            waiting = self._waiting_counts(c)
        result = IssueResult(ticket, ahead, wait, cat.name, self.no_show_rule(),
                             holder.name if holder is not None else None)
        self.publish("ticket.issued", {**result.as_dict(), "waiting": waiting})
        return result

    def _holder_count(self, c: sqlite3.Connection, id_hash: str, day: str, category: str) -> int:
        row = c.execute(
            """SELECT COUNT(*) FROM ticket_holders h JOIN tickets t ON t.id = h.ticket_id
               WHERE h.holder_hash = ? AND h.service_date = ? AND h.category = ? AND t.state != 'cancelled'""",
            (id_hash, day, category)).fetchone()
        return int(row[0])

    def holder(self, ticket_id: int) -> dict[str, Any] | None:
        """The masked name and age of whoever took `ticket_id` with an ID card, or None."""
        with self.db.read() as c:
            row = c.execute("SELECT holder_name, holder_age FROM ticket_holders WHERE ticket_id = ?",
                            (ticket_id,)).fetchone()
        return {"name": row[0], "age": row[1]} if row else None

    def set_print_status(self, ticket_id: int, status: str) -> None:
        """Record whether the ticket reached paper, so a failed print is never silent."""
        with self.db.write() as c:
            c.execute("UPDATE tickets SET print_status = ? WHERE id = ?", (status, ticket_id))
            self._event(c, ticket_id, f"print_{status}", None, None)
        self.publish("ticket.print", {"id": ticket_id, "print_status": status})

    def cancel(self, ticket_id: int, actor: str, reason: str = "", *, window: int | None = None) -> Ticket:
        """Void a waiting ticket (the citizen left); `window` is where a clerk did it from."""
        with self.db.write() as c:
            t = self._ticket(c, ticket_id)
            if t.state != "waiting":
                raise QueueError("bad_state", f"{t.number} 当前状态不能作废（只能作废等候中的号）", 409)
            c.execute("UPDATE tickets SET state = 'cancelled', finished_at = ? WHERE id = ?",
                      (iso(self.clock.now()), t.id))
            self._event(c, t.id, "cancel", window, actor, {"reason": reason})
            self._audit(c, actor, "ticket.cancel", t.number,
                        tools.audit_detail(number=t.number, window=window, reason=reason))
            t = self._ticket(c, t.id)
            waiting = self._waiting_counts(c)
        self.publish("ticket.updated", {"ticket": t.public(), "waiting": waiting, "cancelled": True})
        return t

    # 选号叫号, 挂起/恢复, 作废 from a window: see window_tools (kept apart to keep this file short)
    def waiting_for_window(self, window: int) -> list[dict[str, Any]]:
        return tools.waiting_for_window(self, window)

    def call_chosen(self, window: int, clerk: str, ticket_id: int, reason: str) -> tools.ChosenCall:
        return tools.call_chosen(self, window, clerk, ticket_id, reason)

    def park(self, window: int, clerk: str) -> Ticket:
        return tools.park(self, window, clerk)

    def resume_parked(self, window: int, clerk: str, ticket_id: int) -> Ticket:
        return tools.resume_parked(self, window, clerk, ticket_id)

    def cancel_at(self, window: int, clerk: str, ticket_id: int, reason: str) -> Ticket:
        return tools.cancel_waiting(self, window, clerk, ticket_id, reason)

    def ticket_status(self, ticket_id: int) -> dict[str, Any]:
        with self.db.read() as c:
            t = self._ticket(c, ticket_id)
            ahead = self._ahead(c, t) if t.state == "waiting" else 0
            wait = self._estimate(c, t.category, ahead) if t.state == "waiting" else 0
        return {"ticket": t.public(), "ahead": ahead, "wait_minutes": wait}

    # ------------------------------------------------------------------ clerks
    def _require_open_window(self, c: sqlite3.Connection, window: int) -> None:
        row = c.execute("SELECT paused FROM windows WHERE number = ?", (window,)).fetchone()
        if row and row[0]:
            raise QueueError("window_paused", f"{window}号窗口已暂停服务，请先恢复", 409)

    def _finish_locked(self, c: sqlite3.Connection, t: Ticket, window: int, clerk: str) -> Ticket:
        now = iso(self.clock.now())
        c.execute(
            "UPDATE tickets SET state = 'done', serving_at = COALESCE(serving_at, ?), finished_at = ? WHERE id = ?",
            (now, now, t.id),
        )
        self._event(c, t.id, "finish", window, clerk)
        return self._ticket(c, t.id)

    def call_next(self, window: int, clerk: str) -> Ticket:
        """Call the next ticket for this window; a ticket being served is finished first."""
        w = self._window(window)
        now = self.clock.now()
        finished: Ticket | None = None
        with self.db.write() as c:
            self._require_open_window(c, window)
            current = self._current(c, window)
            if current is not None:
                if current.state == "called":
                    raise QueueError(
                        "current_open", f"{current.number} 已叫号未处理：请先开始办理、重呼或标记过号", 409
                    )
                finished = self._finish_locked(c, current, window, clerk)
            expr, params = self._lane_rank_sql()
            marks = ",".join("?" * len(w.categories))
            primary = "CASE WHEN category = ? THEN 0 ELSE 1 END, " if self.policy.prefer_primary else ""
            primary_params = [w.primary] if self.policy.prefer_primary else []
            row = c.execute(
                f"""SELECT * FROM tickets WHERE service_date = ? AND state = 'waiting' AND category IN ({marks})
                    ORDER BY {expr}, {primary}queue_key, id LIMIT 1""",
                (now.date().isoformat(), *w.categories, *params, *primary_params),
            ).fetchone()
            if row is None:
                raise QueueError("queue_empty", "当前没有等候的号", 409)
            t = Ticket.from_row(row)
            c.execute(
                """UPDATE tickets SET state = 'called', window = ?, clerk = ?, call_count = 1, called_at = ?
                   WHERE id = ? AND state = 'waiting'""",
                (window, clerk, iso(now), t.id),
            )
            self._event(c, t.id, "call", window, clerk)
            t = self._ticket(c, t.id)
            waiting = self._waiting_counts(c)
        if finished:
            self.publish("ticket.updated", {"ticket": finished.public(), "waiting": waiting})
        self.publish("ticket.called", self._call_payload(t, window, recall=False, waiting=waiting))
        return t

    def announcement(self, number: str, window: int, recall: bool) -> str:
        text = self.policy.announce_template.format(number=number, window=window)
        return text + ("（重呼）" if recall else "")

    def _call_payload(self, t: Ticket, window: int, *, recall: bool, waiting: dict[str, int]) -> dict[str, Any]:
        cat = self._category(t.category)
        return {
            "ticket": t.public(),
            "number": t.number,
            "window": window,
            "category_name": cat.name,
            "recall": recall,
            "call_count": t.call_count,
            "text": self.announcement(t.number, window, recall),
            "waiting": waiting,
        }

    def recall(self, window: int, clerk: str) -> Ticket:
        self._window(window)
        with self.db.write() as c:
            self._require_open_window(c, window)
            t = self._called(c, window)
            if t.call_count >= self.policy.recall_limit:
                raise QueueError(
                    "recall_limit", f"{t.number} 已呼叫 {t.call_count} 次，达到上限，请标记过号", 409
                )
            c.execute("UPDATE tickets SET call_count = call_count + 1 WHERE id = ?", (t.id,))
            self._event(c, t.id, "recall", window, clerk)
            t = self._ticket(c, t.id)
            waiting = self._waiting_counts(c)
        self.publish("ticket.called", self._call_payload(t, window, recall=True, waiting=waiting))
        return t

    def no_show(self, window: int, clerk: str) -> Ticket:
        """Mark the called ticket absent: void it, or re-queue it K places back, by policy."""
        self._window(window)
        with self.db.write() as c:
            t = self._called(c, window)
            requeue = self.policy.no_show == "requeue" and t.requeue_count < self.policy.max_requeues
            if requeue:
                others = sorted(
                    (o for o in self._waiting(c, [t.category]) if o.lane == t.lane),
                    key=lambda o: (o.queue_key, o.id),
                )
                k = self.policy.requeue_after
                if not others:
                    new_key = t.queue_key
                elif k == 0:
                    new_key = min(others[0].queue_key, t.queue_key)
                elif len(others) >= k:
                    new_key = others[k - 1].queue_key + 1
                else:
                    new_key = others[-1].queue_key + 1
                c.execute(
                    """UPDATE tickets SET state = 'waiting', window = NULL, clerk = NULL, called_at = NULL,
                       call_count = 0, requeue_count = requeue_count + 1, queue_key = ? WHERE id = ?""",
                    (new_key, t.id),
                )
                self._event(c, t.id, "requeue", window, clerk, {"after": k})
            else:
                c.execute("UPDATE tickets SET state = 'no_show', finished_at = ? WHERE id = ?",
                          (iso(self.clock.now()), t.id))
                self._event(c, t.id, "no_show", window, clerk)
            t = self._ticket(c, t.id)
            waiting = self._waiting_counts(c)
        self.publish("ticket.updated", {"ticket": t.public(), "window": window, "requeued": requeue,
                                        "waiting": waiting})
        return t

    def start(self, window: int, clerk: str) -> Ticket:
        self._window(window)
        with self.db.write() as c:
            t = self._called(c, window)
            c.execute("UPDATE tickets SET state = 'serving', serving_at = ? WHERE id = ?",
                      (iso(self.clock.now()), t.id))
            self._event(c, t.id, "start", window, clerk)
            t = self._ticket(c, t.id)
        self.publish("ticket.updated", {"ticket": t.public(), "window": window})
        return t

    def finish(self, window: int, clerk: str) -> Ticket:
        self._window(window)
        with self.db.write() as c:
            t = self._current(c, window)
            if t is None:
                raise QueueError("nothing_current", "当前没有正在办理的号", 409)
            t = self._finish_locked(c, t, window, clerk)
        self.publish("ticket.updated", {"ticket": t.public(), "window": window})
        return t

    def transfer(self, window: int, clerk: str, to_category: str) -> Ticket:
        """Hand the current ticket to another category; it keeps its number and place by issue time."""
        self._window(window)
        self._category(to_category)
        with self.db.write() as c:
            t = self._current(c, window)
            if t is None:
                raise QueueError("nothing_current", "当前没有可转移的号", 409)
            if t.category == to_category:
                raise invalid("不能转移到同一业务类别")
            c.execute("UPDATE tickets SET state = 'transferred', finished_at = ? WHERE id = ?",
                      (iso(self.clock.now()), t.id))
            cur = c.execute(
                """INSERT INTO tickets (service_date, category, seq, number, lane, state, issued_at, queue_key,
                                       slot_start, appointment_id, transferred_from, print_status, terminal)
                   VALUES (?, ?, NULL, ?, ?, 'waiting', ?, ?, ?, ?, ?, ?, ?)""",
                (t.service_date, to_category, t.number, t.lane, t.issued_at, t.queue_key, t.slot_start,
                 t.appointment_id, t.id, t.print_status, t.terminal),
            )
            new = self._ticket(c, int(cur.lastrowid or 0))
            self._event(c, t.id, "transfer", window, clerk, {"to": to_category, "new_id": new.id})
            self._event(c, new.id, "transfer_in", window, clerk, {"from": t.category})
            waiting = self._waiting_counts(c)
        self.publish("ticket.updated", {"ticket": new.public(), "window": window, "transferred_from": t.id,
                                        "waiting": waiting})
        return new
