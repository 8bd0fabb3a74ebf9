"""What screens and the manager read from the queue: the snapshot, a day's figures, and the day's end.

Part of the queue engine (see `hall.queue.engine_core`); reads only, apart from the midnight
roll-over that closes tickets left over from earlier days.
"""

from __future__ import annotations

import logging
import statistics
from datetime import date, datetime, timedelta
from typing import Any

from hall.queue.clock import iso, parse_iso
from hall.queue.engine_posts import WindowPosts
from hall.queue.models import ACTIVE_STATES, Ticket

log = logging.getLogger(__name__)


class EngineViews(WindowPosts):
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
