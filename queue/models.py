"""Plain data the queue engine hands out: tickets, windows, results."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Lane = Literal["normal", "priority", "appointment"]
LANES: tuple[Lane, ...] = ("normal", "priority", "appointment")
STATES = ("waiting", "called", "serving", "done", "no_show", "transferred", "cancelled", "parked")
ACTIVE_STATES = ("called", "serving")

LANE_NAMES = {"normal": "普通", "priority": "优先", "appointment": "预约"}
STATE_NAMES = {
    "waiting": "等候中",
    "called": "已叫号",
    "serving": "办理中",
    "done": "已办结",
    "no_show": "过号",
    "transferred": "已转移",
    "cancelled": "已作废",
    "parked": "挂起",
}


@dataclass(frozen=True)
class Ticket:
    id: int
    service_date: str
    category: str
    seq: int | None
    number: str
    lane: Lane
    state: str
    issued_at: str
    queue_key: int
    slot_start: str | None
    window: int | None
    clerk: str | None
    call_count: int
    requeue_count: int
    called_at: str | None
    serving_at: str | None
    finished_at: str | None
    transferred_from: int | None
    appointment_id: int | None
    print_status: str
    terminal: str | None = None      # the kiosk ([[kiosks]] id) it was taken at; None: no kiosk
    parked_at: str | None = None     # 挂起 since (state parked), else None
    parked_seconds: int = 0          # all parks added up: not service time

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Ticket:
        return cls(**{k: row[k] for k in row.keys()})  # noqa: SIM118 - sqlite3.Row has no __iter__ of keys

    def public(self) -> dict[str, Any]:
        """What any screen may show: no clerk identity beyond the window."""
        return {
            "id": self.id,
            "number": self.number,
            "category": self.category,
            "lane": self.lane,
            "state": self.state,
            "issued_at": self.issued_at,
            "window": self.window,
            "call_count": self.call_count,
            "called_at": self.called_at,
            "print_status": self.print_status,
            "terminal": self.terminal,
            "parked_at": self.parked_at,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CardHolder:
    """Who took a ticket with an ID card, as the queue may keep it: a keyed hash of the number (never
    the number), the masked name and the age. `daily_limit` numbers per category per day per person."""

    id_hash: str
    name: str
    age: int | None
    daily_limit: int


@dataclass(frozen=True)
class IssueResult:
    ticket: Ticket
    ahead: int
    wait_minutes: int
    category_name: str
    no_show_rule: str
    holder_name: str | None = None     # masked (张*) when the ticket was taken with an ID card

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket.public(),
            "number": self.ticket.number,
            "category": self.ticket.category,
            "category_name": self.category_name,
            "lane": self.ticket.lane,
            "ahead": self.ahead,
            "wait_minutes": self.wait_minutes,
            "issued_at": self.ticket.issued_at,
            "no_show_rule": self.no_show_rule,
            "holder_name": self.holder_name,
        }


@dataclass
class WindowView:
    number: int
    name: str
    categories: list[str]
    paused: bool
    pause_reason: str | None
    clerk_id: str | None
    clerk_name: str | None
    post: str | None
    current: dict[str, Any] | None
    empty_post: bool = False
    pause_code: str | None = None
    parked: list[dict[str, Any]] = field(default_factory=list)   # 挂起 here, to be resumed at this window
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
