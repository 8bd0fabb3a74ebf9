"""What every record service shares: store, clock, calendar, events, outbox, catalog look-up.

Record services import neither Flask nor drivers (DESIGN.md §2). Each change
runs in one write transaction that also writes its audit row and its outbox
message (hall.relay.outbox.enqueue, same connection), and events are published
only after the commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from hall.config.schema import HallConfig
from hall.queue.clock import Clock, iso
from hall.records.util import Actor, audit, invalid
from hall.records.workdays import Deadline, WorkCalendar
from hall.relay.outbox import enqueue
from hall.store.db import Database

Publish = Callable[[str, dict[str, Any]], Any]
CaseKind = Literal["即办件", "承诺件"]


# dup-ok: a frozen record of optional fields, shaped like relay/wire.py Result only
@dataclass(frozen=True)
class ItemInfo:
    """What the records need to know about a service item (事项) from the catalog."""

    impl_code: str
    name: str
    category: str | None = None
    limit_value: int | None = None
    limit_unit: str | None = None        # 天 / 工作日 / 月 / 年
    case_kind: CaseKind = "承诺件"


ItemLookup = Callable[[str], "ItemInfo | None"]


def _no_items(code: str) -> ItemInfo | None:
    return None


def _no_publish(kind: str, payload: dict[str, Any]) -> None:
    return None


class RecordContext:
    """Shared plumbing of the record services."""

    def __init__(self, db: Database, config: HallConfig, clock: Clock, calendar: WorkCalendar,
                 publish: Publish | None = None, items: ItemLookup | None = None) -> None:
        self.db = db
        self.config = config
        self.policy = config.records
        self.clock = clock
        self.calendar = calendar
        self.publish: Publish = publish or _no_publish
        self.items: ItemLookup = items or _no_items
        self.hall_id = config.county.hall_id or config.hall.region_code

    # ------------------------------------------------------------------ time
    def now(self) -> datetime:
        return self.clock.now()

    def now_iso(self) -> str:
        return iso(self.clock.now())

    def close_of_business(self, d: date) -> datetime:
        """End of the last opening period on day d: a promised date means "by the end of that day"."""
        periods = self.config.hall.hours.periods
        end = max((p.end for p in periods), default=time(17, 30))
        return datetime.combine(d, end, tzinfo=self.clock.tz)

    def due(self, start: date, value: int, unit: str) -> tuple[str, Deadline]:
        """A deadline as stored (ISO at close of business) and the calendar's answer."""
        try:
            dl = self.calendar.add_time_limit(start, value, unit)
        except ValueError as exc:
            raise invalid(str(exc)) from exc
        return iso(self.close_of_business(dl.date)), dl

    def deadline_view(self, due_at: str | None, estimated: bool, closed: bool) -> dict[str, Any]:
        """How a screen shows a deadline: date, estimate note, working days left, near/overdue flags."""
        if not due_at:
            return {"due_at": None, "estimated": False, "note": "", "days_left": None,
                    "near": False, "overdue": False}
        due = datetime.fromisoformat(due_at)
        now = self.clock.now()
        left, guessed = self.calendar.count_workdays(now.date(), due.date())
        overdue = not closed and now > due
        near = not closed and not overdue and left <= self.policy.near_due_days
        note = ""
        if estimated or guessed:
            note = Deadline(due.date(), (due.year,)).note
        return {"due_at": due_at, "estimated": bool(estimated or guessed), "note": note,
                "days_left": left, "near": near, "overdue": overdue}

    # ------------------------------------------------------------------ writes
    def message_id(self, kind: str, local_id: int, version: int) -> str:
        return f"{self.hall_id}:{kind}:{local_id}:{version}"

    def relay(self, c: sqlite3.Connection, kind: str, local_id: int, version: int, order_key: str,
              payload: dict[str, Any]) -> None:
        """The outbox message for this change, in the caller's transaction."""
        enqueue(c, kind=kind, message_id=self.message_id(kind, local_id, version), order_key=order_key,
                payload={"hall_id": self.hall_id, **payload})

    def audit(self, c: sqlite3.Connection, actor: Actor, action: str, target: str, detail: str = "") -> None:
        audit(c, self.now_iso(), actor, action, target, detail)

    def setting(self, c: sqlite3.Connection, name: str) -> str | None:
        row = c.execute("SELECT value FROM records_settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    # dup-ok: village/ledger_core.py counts in its own village_settings table; each room owns its settings
    def next_seq(self, c: sqlite3.Connection, name: str) -> int:
        """A per-name counter (inside the caller's transaction)."""
        c.execute(
            "INSERT INTO records_settings (name, value) VALUES (?, '1') "
            "ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (name,),
        )
        return int(c.execute("SELECT value FROM records_settings WHERE name = ?", (name,)).fetchone()[0])

    def staff_name(self, staff_id: str | None) -> str | None:
        if not staff_id:
            return None
        s = self.config.staff_member(staff_id)
        return s.name if s else None

    def month_range(self, month: str) -> tuple[str, str]:
        """['YYYY-MM-01T00:00+08:00', first of next month) as ISO strings for range queries."""
        try:
            first = date.fromisoformat(month + "-01")
        except ValueError as exc:
            raise invalid(f"月份“{month}”格式应为 YYYY-MM") from exc
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return self.day_start(first), self.day_start(nxt)

    def day_start(self, d: date) -> str:
        return iso(datetime.combine(d, time(0), tzinfo=self.clock.tz))
