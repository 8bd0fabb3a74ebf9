"""The queue engine: tickets, windows and clerks, on the store, emitting events.

It imports neither Flask nor drivers. Every change runs in one write
transaction (`BEGIN IMMEDIATE`), so two kiosks issuing or two clerks calling
at once are serialised by SQLite and can never share a number or a ticket.
Events are published only after the transaction committed, so a listener
never sees a change that was rolled back.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from hall.config.schema import HallConfig
from hall.queue import window_tools as tools
from hall.queue.clock import Clock, epoch_us, iso, parse_iso
from hall.queue.errors import QueueError, invalid, not_found
from hall.queue.models import ACTIVE_STATES, LANES, CardHolder, Lane, Ticket, WindowView
from hall.queue.models import IssueResult as IssueResult
from hall.store.db import Database

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], object]


def _no_publish(kind: str, payload: dict[str, Any]) -> object:
    return None


class QueueEngine:
    def __init__(
        self,
        db: Database,
        config: HallConfig,
        *,
        clock: Clock | None = None,
        publish: Publish | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.policy = config.queue
        self.clock = clock or Clock(config.hall.timezone)
        self.publish: Publish = publish or _no_publish
        with self.db.write() as c:
            for w in config.windows:
                c.execute("INSERT OR IGNORE INTO windows (number) VALUES (?)", (w.number,))
            latest = c.execute("SELECT MAX(service_date) FROM tickets").fetchone()[0]
        # The latest day numbers were issued for: the service day never steps back onto it from a
        # clock set backwards across midnight (see service_day).
        self._latest_day: date | None = date.fromisoformat(latest) if latest else None
        self._clock_back_logged: date | None = None

    # ------------------------------------------------------------------ helpers
    def service_day(self, now: datetime | None = None) -> date:
        """The day numbers are issued for: the clock's date, except just after it was set back across midnight.

        A PC clock corrected backwards by a few minutes over midnight would
        otherwise put the hall back on yesterday (yesterday's numbers go on,
        today's queue vanishes) and restart numbering a second time when the
        clock passes midnight again. Within one day of the latest day already
        issued, the service day holds; a larger step back is a deliberate
        correction (a clock that had run into the future) and is followed.
        """
        clock_day = (now or self.clock.now()).date()
        latest = self._latest_day
        if latest is not None and clock_day < latest and (latest - clock_day).days <= 1:
            if self._clock_back_logged != latest:
                self._clock_back_logged = latest
                log.warning("hall clock is back on %s after numbers were issued for %s: numbering stays on %s",
                            clock_day, latest, latest)
            return latest
        return clock_day

    def _today(self) -> str:
        return self.service_day().isoformat()

    def _category(self, prefix: str) -> Any:
        cat = self.config.category(prefix)
        if cat is None:
            raise QueueError("unknown_category", f"业务类别 {prefix} 不存在", 404)
        return cat

    def _window(self, number: int) -> Any:
        w = self.config.window(number)
        if w is None:
            raise QueueError("unknown_window", f"{number}号窗口不存在", 404)
        return w

    def _ticket(self, c: sqlite3.Connection, ticket_id: int) -> Ticket:
        row = c.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise not_found(f"票号 {ticket_id} ")
        return Ticket.from_row(row)

    def _current(self, c: sqlite3.Connection, window: int) -> Ticket | None:
        row = c.execute(
            "SELECT * FROM tickets WHERE window = ? AND state IN ('called', 'serving') ORDER BY id DESC LIMIT 1",
            (window,),
        ).fetchone()
        return Ticket.from_row(row) if row else None

    def _event(self, c: sqlite3.Connection, ticket_id: int, action: str, window: int | None,
               clerk: str | None, detail: dict[str, Any] | None = None) -> None:
        c.execute(
            "INSERT INTO ticket_events (ticket_id, at, action, window, clerk, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (ticket_id, iso(self.clock.now()), action, window, clerk,
             json.dumps(detail, ensure_ascii=False) if detail else None),
        )
        # a staff action (call, recall, no-show, start, finish, transfer) is audited; cancel audits itself
        if clerk is not None and action not in ("transfer_in", "cancel"):
            number = c.execute("SELECT number FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
            info = {"number": number[0] if number else None, "window": window, **(detail or {})}
            self._audit(c, clerk, f"ticket.{action}", f"ticket:{ticket_id}",
                        json.dumps(info, ensure_ascii=False, sort_keys=True))

    def _audit(self, c: sqlite3.Connection, actor: str, action: str, target: str, detail: str = "") -> None:
        c.execute(
            "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (iso(self.clock.now()), actor, action, target, detail),
        )

    def _rank(self, t: Ticket, now: datetime) -> tuple[int, int, int]:
        """Sort key of a waiting ticket: lane rank by policy, then FIFO.

        An appointment whose slot has not begun yet ranks as a normal ticket,
        so an early arrival is not stuck behind an empty hall.
        """
        lane = t.lane
        if lane == "appointment" and (t.slot_start is None or parse_iso(t.slot_start) > now):
            lane = "normal"
        return (self.policy.call_order.index(lane), t.queue_key, t.id)

    def _lane_rank_sql(self) -> tuple[str, list[Any]]:
        """The `_rank` lane order as an SQL expression (ISO times in the hall's zone compare as text)."""
        order = self.policy.call_order
        expr = ("CASE WHEN lane = 'appointment' AND slot_start IS NOT NULL AND slot_start <= ? THEN ? "
                "WHEN lane = 'priority' THEN ? ELSE ? END")
        params = [iso(self.clock.now()), order.index("appointment"), order.index("priority"), order.index("normal")]
        return expr, params

    def _waiting(self, c: sqlite3.Connection, categories: list[str]) -> list[Ticket]:
        marks = ",".join("?" * len(categories))
        rows = c.execute(
            f"SELECT * FROM tickets WHERE service_date = ? AND state = 'waiting' AND category IN ({marks})",
            (self._today(), *categories),
        ).fetchall()
        return [Ticket.from_row(r) for r in rows]

    def _waiting_counts(self, c: sqlite3.Connection) -> dict[str, int]:
        counts = {cat.prefix: 0 for cat in self.config.categories}
        for row in c.execute(
            "SELECT category, COUNT(*) FROM tickets WHERE service_date = ? AND state = 'waiting' GROUP BY category",
            (self._today(),),
        ):
            counts[row[0]] = row[1]
        return counts

    def _open_windows(self, c: sqlite3.Connection, category: str) -> int:
        serving = [w.number for w in self.config.windows if category in w.categories]
        if not serving:
            return 0
        marks = ",".join("?" * len(serving))
        row = c.execute(
            f"""SELECT COUNT(DISTINCT s.window) FROM window_sessions s JOIN windows w ON w.number = s.window
                WHERE s.logout_at IS NULL AND w.paused = 0 AND s.window IN ({marks})""",
            serving,
        ).fetchone()
        return int(row[0])

    def mean_service_seconds(self, c: sqlite3.Connection, category: str) -> float:
        """Recent mean service time of a category today, or its configured default."""
        rows = c.execute(
            """SELECT serving_at, finished_at, parked_seconds FROM tickets
               WHERE service_date = ? AND category = ? AND state = 'done' AND serving_at IS NOT NULL
               ORDER BY finished_at DESC LIMIT ?""",
            (self._today(), category, self.policy.mean_service_window),
        ).fetchall()
        durations = [(parse_iso(r[1]) - parse_iso(r[0])).total_seconds() - r[2] for r in rows]
        durations = [d for d in durations if d >= 0]
        if len(durations) >= 3:
            return statistics.fmean(durations)
        return float(self._category(category).default_service_minutes * 60)

    def _estimate(self, c: sqlite3.Connection, category: str, ahead: int) -> int:
        if ahead == 0:
            return 0
        windows = max(1, self._open_windows(c, category))
        return round(ahead * self.mean_service_seconds(c, category) / windows / 60)

    def _ahead(self, c: sqlite3.Connection, t: Ticket) -> int:
        """Waiting tickets of the same category that will be called before `t`."""
        rank, key, tid = self._rank(t, self.clock.now())
        expr, params = self._lane_rank_sql()
        row = c.execute(
            f"""SELECT COUNT(*) FROM tickets
                WHERE service_date = ? AND state = 'waiting' AND category = ? AND id != ?
                  AND ({expr} < ? OR ({expr} = ? AND (queue_key < ? OR (queue_key = ? AND id < ?))))""",
            (t.service_date, t.category, tid, *params, rank, *params, rank, key, key, tid),
        ).fetchone()
        return int(row[0])

    def no_show_rule(self) -> str:
        p = self.policy
        if p.no_show == "void" or p.max_requeues == 0:
            return "过号作废，请重新取号"
        return f"过号后顺延{p.requeue_after}位重新排队"

    def is_open(self, when: datetime | None = None) -> bool:
        when = when or self.clock.now()
        hours = self.config.hall.hours
        if when.isoweekday() not in hours.weekdays:
            return False
        t = when.timetz().replace(tzinfo=None)
        return any(p.start <= t < p.end for p in hours.periods)

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
            t = self._current(c, window)
            if t is None or t.state != "called":
                raise QueueError("nothing_called", "当前没有已叫号待到的号", 409)
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
            t = self._current(c, window)
            if t is None or t.state != "called":
                raise QueueError("nothing_called", "当前没有已叫号待到的号", 409)
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
            t = self._current(c, window)
            if t is None or t.state != "called":
                raise QueueError("nothing_called", "当前没有已叫号待到的号", 409)
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

    # ------------------------------------------------------------------ views
    def snapshot(self) -> dict[str, Any]:
        """Everything a screen needs to draw the queue from scratch."""
        with self.db.read() as c:
            waiting = self._waiting_counts(c)
            cats = []
            for cat in self.config.categories:
                n = waiting.get(cat.prefix, 0)
                issued = c.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM tickets WHERE service_date = ? AND category = ?",
                    (self._today(), cat.prefix),
                ).fetchone()[0]
                cats.append({
                    "prefix": cat.prefix,
                    "name": cat.name,
                    "waiting": n,
                    "wait_minutes": self._estimate(c, cat.prefix, n),
                    "full": issued >= cat.daily_cap,
                    "remaining": max(0, cat.daily_cap - issued),
                })
            windows = [self.window_view(w.number, c).as_dict() for w in self.config.windows]
            recent = [
                {"number": r["number"], "window": r["window"], "at": r["at"], "recall": r["action"] == "recall",
                 "resumed": r["action"] == "resume"}
                for r in c.execute(
                    """SELECT t.number, e.window, e.at, e.action FROM ticket_events e
                       JOIN tickets t ON t.id = e.ticket_id
                       WHERE e.action IN ('call', 'recall', 'call_chosen', 'resume') AND t.service_date = ?
                       ORDER BY e.id DESC LIMIT 10""",
                    (self._today(),),
                )
            ]
        return {
            "hall": self.config.hall.name,
            "date": self._today(),
            "open": self.is_open(),
            "categories": cats,
            "windows": windows,
            "recent_calls": recent,
        }

    def figures(self, day: date | None = None) -> dict[str, Any]:
        """Today's (or a given day's) counts and mean times, per category and in all."""
        d = (day or self.service_day()).isoformat()
        with self.db.read() as c:
            rows = [Ticket.from_row(r) for r in c.execute("SELECT * FROM tickets WHERE service_date = ?", (d,))]
        originals = [t for t in rows if t.transferred_from is None]

        def summary(ts: list[Ticket], orig: list[Ticket]) -> dict[str, Any]:
            waits = [(parse_iso(t.called_at) - parse_iso(t.issued_at)).total_seconds()
                     for t in ts if t.called_at]
            # time parked (挂起: the citizen away fetching a document) is not service time
            services = [(parse_iso(t.finished_at) - parse_iso(t.serving_at)).total_seconds() - t.parked_seconds
                        for t in ts if t.state == "done" and t.serving_at and t.finished_at]
            done = sum(1 for t in ts if t.state == "done")
            no_show = sum(1 for t in ts if t.state == "no_show")
            return {
                "issued": len(orig),
                "waiting": sum(1 for t in ts if t.state == "waiting"),
                "in_service": sum(1 for t in ts if t.state in ACTIVE_STATES),
                "served": done,
                "no_show": no_show,
                "transferred": sum(1 for t in ts if t.state == "transferred"),
                "cancelled": sum(1 for t in ts if t.state == "cancelled"),
                "parked": sum(1 for t in ts if t.state == "parked"),
                "no_show_rate": round(no_show / (done + no_show), 4) if done + no_show else 0.0,
                "mean_wait_seconds": round(statistics.fmean(waits), 1) if waits else None,
                "mean_service_seconds": round(statistics.fmean(services), 1) if services else None,
            }

        per_cat = {
            cat.prefix: summary([t for t in rows if t.category == cat.prefix],
                                [t for t in originals if t.category == cat.prefix])
            for cat in self.config.categories
        }
        return {"date": d, "total": summary(rows, originals), "categories": per_cat}

    def roll_over(self) -> int:
        """Close yesterday's leftovers: numbers restart at local midnight, old tickets cannot be called."""
        today = self._today()
        with self.db.write() as c:
            cur = c.execute(
                "UPDATE tickets SET state = 'cancelled', finished_at = ? "
                "WHERE service_date < ? AND state IN ('waiting', 'called', 'serving', 'parked')",
                (iso(self.clock.now()), today),
            )
            n = cur.rowcount
        if n:
            log.info("closed %d ticket(s) left over from earlier days", n)
        return n

    def next_midnight(self) -> datetime:
        now = self.clock.now()
        return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
