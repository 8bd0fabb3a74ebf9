"""The queue engine's core state and the helpers every action shares: the service day, lookups,
the audit and ticket-event writes, call order and wait estimates.

The engine is one class (`hall.queue.engine.QueueEngine`) built in layers, one file per job:
this core, window posts (`engine_posts`), screen views and figures (`engine_views`), and the
ticket actions (`engine`). Like the rest of the engine it imports neither Flask nor drivers.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import Clock, iso, parse_iso
from hall.queue.errors import QueueError, not_found
from hall.queue.models import Ticket
from hall.store.db import Database

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], object]


def _no_publish(kind: str, payload: dict[str, Any]) -> object:
    return None


class EngineCore:
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

    def _called(self, c: sqlite3.Connection, window: int) -> Ticket:
        """The window's ticket that was called and is awaited: recall, no-show and start act only on it."""
        t = self._current(c, window)
        if t is None or t.state != "called":
            raise QueueError("nothing_called", "当前没有已叫号待到的号", 409)
        return t

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
