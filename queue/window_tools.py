"""A clerk's queue tools beyond call-next: call a chosen number, park and resume, cancel, coded pauses.

Kept out of the engine's class (see engine_core.py for its layers) but part of the engine: each function
takes the QueueEngine and works through its store, helpers and events, with
the same rules — one write transaction per action, events only after commit,
every staff action in the audit trail.

Why these rules:
* A chosen call (选号叫号) must not silently jump a citizen who checked in for
  an appointment whose slot has begun: the result names every such
  appointment `call_next` would have called first, and the audit keeps them.
* A parked (挂起) ticket belongs to the window that parked it: only that
  window can call it back, so a citizen sent to fetch a copy returns to the
  clerk who already knows the case.
* Cancel (citizen left) is only for waiting tickets of a category the window
  serves: a clerk cannot void another window's work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hall.queue.clock import iso, parse_iso
from hall.queue.errors import QueueError, invalid, not_found
from hall.queue.models import Ticket

if TYPE_CHECKING:
    import sqlite3

    from hall.queue.engine import QueueEngine
    from hall.queue.engine_core import EngineCore


@dataclass(frozen=True)
class ChosenCall:
    ticket: Ticket
    reason: str
    # checked-in appointments whose slot had begun and that call-next would have called first
    passed_over: list[Ticket] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket.public(),
            "reason": self.reason,
            "passed_over": [{"id": t.id, "number": t.number, "slot_start": t.slot_start} for t in self.passed_over],
        }


def _due_appointment(t: Ticket, now: datetime) -> bool:
    return t.lane == "appointment" and t.slot_start is not None and parse_iso(t.slot_start) <= now


def waiting_for_window(eng: QueueEngine, window: int) -> list[dict[str, Any]]:
    """The window's waiting tickets in call-next order, each marked when it is a due appointment."""
    w = eng._window(window)
    now = eng.clock.now()
    with eng.db.read() as c:
        tickets = sorted(eng._waiting(c, list(w.categories)), key=lambda t: eng._rank(t, now))
    return [{**t.public(), "slot_start": t.slot_start, "due_appointment": _due_appointment(t, now)}
            for t in tickets]


def _finish_or_refuse_current(eng: QueueEngine, c: sqlite3.Connection, window: int, clerk: str) -> Ticket | None:
    """Like call-next: a ticket being served is finished first, a called one must be dealt with."""
    current = eng._current(c, window)
    if current is None:
        return None
    if current.state == "called":
        raise QueueError("current_open", f"{current.number} 已叫号未处理：请先开始办理、重呼或标记过号", 409)
    return eng._finish_locked(c, current, window, clerk)


def call_chosen(eng: QueueEngine, window: int, clerk: str, ticket_id: int, reason: str) -> ChosenCall:
    """Call this waiting ticket out of turn, with a reason; say which due appointments it passed over."""
    w = eng._window(window)
    reason = reason.strip()
    if not reason:
        raise invalid("选号叫号需要填写原因")
    now = eng.clock.now()
    with eng.db.write() as c:
        eng._require_open_window(c, window)
        t = eng._ticket(c, ticket_id)
        if t.service_date != eng._today() or t.state != "waiting":
            raise QueueError("bad_state", f"{t.number} 不在等候中，不能选号叫号", 409)
        if t.category not in w.categories:
            raise QueueError("not_served", f"{window}号窗口不办理 {t.category} 类业务，不能叫 {t.number}", 409)
        finished = _finish_or_refuse_current(eng, c, window, clerk)
        mine = eng._rank(t, now)
        passed = sorted((o for o in eng._waiting(c, list(w.categories))
                         if o.id != t.id and _due_appointment(o, now) and eng._rank(o, now) < mine),
                        key=lambda o: eng._rank(o, now))
        c.execute(
            """UPDATE tickets SET state = 'called', window = ?, clerk = ?, call_count = 1, called_at = ?
               WHERE id = ? AND state = 'waiting'""",
            (window, clerk, iso(now), t.id),
        )
        eng._event(c, t.id, "call_chosen", window, clerk,
                   {"reason": reason[:60], "passed_over": [o.number for o in passed]})
        t = eng._ticket(c, t.id)
        waiting = eng._waiting_counts(c)
    if finished:
        eng.publish("ticket.updated", {"ticket": finished.public(), "waiting": waiting})
    payload = eng._call_payload(t, window, recall=False, waiting=waiting)
    eng.publish("ticket.called", {**payload, "chosen": True})
    return ChosenCall(t, reason[:60], passed)


def park(eng: QueueEngine, window: int, clerk: str) -> Ticket:
    """Set the window's current ticket aside (the citizen fetches a document); the window calls on."""
    eng._window(window)
    now = eng.clock.now()
    with eng.db.write() as c:
        t = eng._current(c, window)
        if t is None:
            raise QueueError("nothing_current", "当前没有可挂起的号", 409)
        c.execute("UPDATE tickets SET state = 'parked', parked_at = ? WHERE id = ?", (iso(now), t.id))
        eng._event(c, t.id, "park", window, clerk, {"from": t.state})
        t = eng._ticket(c, t.id)
    eng.publish("ticket.updated", {"ticket": t.public(), "window": window, "parked": True})
    eng._window_updated(window)
    return t


def resume_parked(eng: QueueEngine, window: int, clerk: str, ticket_id: int) -> Ticket:
    """Call a parked ticket back, only at the window that parked it, announced "请A003号回到3号窗口"."""
    eng._window(window)
    now = eng.clock.now()
    with eng.db.write() as c:
        eng._require_open_window(c, window)
        t = eng._ticket(c, ticket_id)
        if t.state != "parked":
            raise QueueError("bad_state", f"{t.number} 不是挂起状态，不能恢复", 409)
        if t.window != window:
            raise QueueError("wrong_window", f"{t.number} 挂起在{t.window}号窗口，只能在该窗口恢复", 409)
        current = eng._current(c, window)
        if current is not None:
            raise QueueError("current_open", f"请先办结或挂起当前号 {current.number}，再恢复 {t.number}", 409)
        parked_for = max(0, round((now - parse_iso(t.parked_at)).total_seconds())) if t.parked_at else 0
        state = "serving" if t.serving_at else "called"
        c.execute(
            """UPDATE tickets SET state = ?, parked_at = NULL, parked_seconds = parked_seconds + ?,
                                  call_count = call_count + 1, clerk = ? WHERE id = ?""",
            (state, parked_for, clerk, t.id),
        )
        eng._event(c, t.id, "resume", window, clerk, {"parked_seconds": parked_for})
        t = eng._ticket(c, t.id)
        waiting = eng._waiting_counts(c)
    payload = eng._call_payload(t, window, recall=False, waiting=waiting)
    payload["text"] = eng.policy.resume_template.format(number=t.number, window=window)
    # ticket.called alone (no window.updated after it): the window strip shows 请A003号 while the
    # citizen walks back; screens drop the number from their parked list on `resumed`
    eng.publish("ticket.called", {**payload, "resumed": True})
    return t


def parked_at(eng: EngineCore, c: sqlite3.Connection, window: int) -> list[Ticket]:
    rows = c.execute("SELECT * FROM tickets WHERE state = 'parked' AND window = ? ORDER BY parked_at, id",
                     (window,)).fetchall()
    return [Ticket.from_row(r) for r in rows]


def cancel_waiting(eng: QueueEngine, window: int, clerk: str, ticket_id: int, reason: str) -> Ticket:
    """Take a waiting ticket off the queue (the citizen left), from a window that serves its category."""
    w = eng._window(window)
    with eng.db.read() as c:
        row = c.execute("SELECT category FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise not_found(f"票号 {ticket_id} ")
    if row[0] not in w.categories:
        raise QueueError("not_served", f"{window}号窗口不办理 {row[0]} 类业务，不能作废该号", 409)
    return eng.cancel(ticket_id, clerk, reason.strip()[:60] or "群众离开", window=window)


# ---------------------------------------------------------------------- coded pauses
def pause_text(eng: EngineCore, code: str, text: str) -> str:
    """The words screens show: the reason's label, with the clerk's text for a reason that needs it."""
    r = eng.policy.pause_reason(code)
    if r is None:
        raise invalid(f"暂停原因代码 {code} 不存在")
    text = text.strip()
    if r.needs_text and not text:
        raise invalid(f"暂停原因选“{r.label}”时请填写具体原因")
    return f"{r.label}：{text}"[:100] if text else r.label


def open_pause(eng: EngineCore, c: sqlite3.Connection, window: int, clerk: str, code: str, text: str) -> None:
    now = iso(eng.clock.now())
    close_pause(eng, c, window, clerk)
    c.execute("INSERT INTO window_pauses (window, clerk, code, text, started_at) VALUES (?, ?, ?, ?, ?)",
              (window, clerk, code, text.strip()[:100] or None, now))


def close_pause(eng: EngineCore, c: sqlite3.Connection, window: int, clerk: str) -> None:
    c.execute("UPDATE window_pauses SET ended_at = ?, ended_by = ? WHERE window = ? AND ended_at IS NULL",
              (iso(eng.clock.now()), clerk, window))


def audit_detail(**info: Any) -> str:
    return json.dumps(info, ensure_ascii=False, sort_keys=True)
