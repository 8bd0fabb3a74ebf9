"""Property tests: random operation sequences keep the queue's invariants."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hall.config.loader import demo_config_path, load_config
from hall.queue.clock import FixedClock, parse_iso
from hall.queue.errors import QueueError
from hall.queue.models import STATES, Ticket
from hall.services import build_services
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

CONFIG = load_config(demo_config_path())
WINDOWS = [w.number for w in CONFIG.windows]
CATS = [c.prefix for c in CONFIG.categories]
CLERK = "9001"  # actions are recorded under this id; the engine does not check posts for actions


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="hallprop"))
        self.clock = FixedClock(datetime(2026, 11, 25, 9, 0))
        self.svc = build_services(CONFIG, self.dir, clock=self.clock, with_devices=False)
        self.engine = self.svc.engine
        self.violations: list[str] = []
        self.appointments = 0
        self.parked_where: dict[int, int] = {}

    def teardown(self) -> None:
        self.svc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _waiting_tickets(self, categories: list[str]) -> list[Ticket]:
        with self.svc.db.read() as c:
            return self.engine._waiting(c, list(categories))  # type: ignore[no-any-return]

    def _rows(self) -> list[dict[str, object]]:
        return [dict(r) for r in self.svc.db.conn.execute("SELECT * FROM tickets")]

    @rule(cat=st.sampled_from(CATS), lane=st.sampled_from(["normal", "normal", "priority"]))
    def issue(self, cat: str, lane: str) -> None:
        self.engine.issue(cat, lane)  # type: ignore[arg-type]

    @rule(window=st.sampled_from(WINDOWS))
    def call(self, window: int) -> None:
        w = CONFIG.window(window)
        assert w is not None
        before = [r for r in self._rows() if r["state"] == "waiting" and r["category"] in w.categories]
        try:
            t = self.engine.call_next(window, CLERK)
        except QueueError:
            return
        same = [r for r in before if r["category"] == t.category and r["lane"] == t.lane and r["id"] != t.id]
        picked = next(r for r in before if r["id"] == t.id)
        # FIFO within a lane: nothing older in the same category and lane was passed over
        if any((r["queue_key"], r["id"]) < (picked["queue_key"], picked["id"]) for r in same):  # type: ignore[operator]
            self.violations.append(f"FIFO broken calling {t.number}")
        # lane order: a normal ticket is never called while a priority one waits for this window
        if t.lane == "normal" and any(r["lane"] == "priority" for r in before):
            self.violations.append(f"priority skipped when calling {t.number}")

    # dup-ok: one hypothesis rule per clerk action (recall, no_show, start, finish below): each must be its own rule
    # so hypothesis chooses and shrinks the actions apart; their bodies look alike because each may be refused
    @rule(window=st.sampled_from(WINDOWS))
    def recall(self, window: int) -> None:
        try:
            self.engine.recall(window, CLERK)
        except QueueError:
            pass

    @rule(window=st.sampled_from(WINDOWS))
    def no_show(self, window: int) -> None:
        try:
            self.engine.no_show(window, CLERK)
        except QueueError:
            pass

    # dup-ok: one hypothesis rule per clerk action, like recall and no_show above
    @rule(window=st.sampled_from(WINDOWS))
    def start(self, window: int) -> None:
        try:
            self.engine.start(window, CLERK)
        except QueueError:
            pass

    @rule(window=st.sampled_from(WINDOWS))
    def finish(self, window: int) -> None:
        try:
            self.engine.finish(window, CLERK)
        except QueueError:
            pass

    @rule(window=st.sampled_from(WINDOWS), cat=st.sampled_from(CATS))
    def transfer(self, window: int, cat: str) -> None:
        try:
            self.engine.transfer(window, CLERK, cat)
        except QueueError:
            pass

    @rule(window=st.sampled_from(WINDOWS), pause=st.booleans())
    def pause_resume(self, window: int, pause: bool) -> None:
        try:
            if pause:
                self.engine.pause(window, CLERK, "测试暂停")
            else:
                self.engine.resume(window, CLERK)
        except QueueError:
            pass

    # ---- appointments, chosen call, park/resume, cancel (issue 13)
    @rule(cat=st.sampled_from(CATS), slot=st.integers(min_value=-30, max_value=30))
    def issue_appointment(self, cat: str, slot: int) -> None:
        """A checked-in appointment whose slot began `-slot` minutes ago (or begins later)."""
        self.appointments += 1
        self.engine.issue(cat, "appointment", appointment_id=self.appointments,
                          slot_start=self.clock.now() + timedelta(minutes=slot))

    @rule(window=st.sampled_from(WINDOWS), pick=st.integers(min_value=0, max_value=50))
    def call_chosen(self, window: int, pick: int) -> None:
        rows = self._rows()
        waiting = [r for r in rows if r["state"] == "waiting"]
        if not waiting:
            return
        chosen = waiting[pick % len(waiting)]
        w = CONFIG.window(window)
        assert w is not None
        now = self.clock.now()
        # what call-next would have called before the chosen one: due appointments ranked ahead of it
        ticket = {t.id: t for t in self._waiting_tickets(w.categories)}
        mine = self.engine._rank(ticket[chosen["id"]], now) if chosen["id"] in ticket else None
        try:
            res = self.engine.call_chosen(window, CLERK, int(chosen["id"]), "群众只需盖章")  # type: ignore[arg-type]
        except QueueError:
            return
        if chosen["category"] not in w.categories:
            self.violations.append(f"window {window} called {chosen['number']} of a category it does not serve")
            return
        assert mine is not None
        due = {t.number for t in ticket.values()
               if t.id != chosen["id"] and t.lane == "appointment" and t.slot_start is not None
               and self.engine._rank(t, now) < mine and parse_iso(t.slot_start) <= now}
        said = {t.number for t in res.passed_over}
        if due != said:
            self.violations.append(f"chosen call {res.ticket.number} passed over {due} but said {said}")

    @rule(window=st.sampled_from(WINDOWS))
    def park(self, window: int) -> None:
        try:
            t = self.engine.park(window, CLERK)
        except QueueError:
            return
        self.parked_where[t.id] = window

    @rule(window=st.sampled_from(WINDOWS), pick=st.integers(min_value=0, max_value=50))
    def resume_parked(self, window: int, pick: int) -> None:
        parked = [r for r in self._rows() if r["state"] == "parked"]
        if not parked:
            return
        t = parked[pick % len(parked)]
        try:
            self.engine.resume_parked(window, CLERK, int(t["id"]))  # type: ignore[arg-type]
        except QueueError:
            return
        if self.parked_where.get(int(t["id"])) != window:  # type: ignore[arg-type]
            self.violations.append(f"{t['number']} parked at {self.parked_where.get(t['id'])} resumed at {window}")

    @rule(window=st.sampled_from(WINDOWS), pick=st.integers(min_value=0, max_value=50))
    def cancel(self, window: int, pick: int) -> None:
        rows = self._rows()
        if not rows:
            return
        t = rows[pick % len(rows)]
        try:
            self.engine.cancel_at(window, CLERK, int(t["id"]), "群众已离开")  # type: ignore[arg-type]
        except QueueError:
            return
        if t["state"] != "waiting":
            self.violations.append(f"cancelled {t['number']} in state {t['state']}")

    @invariant()
    def parked_ticket_in_exactly_one_state(self) -> None:
        """Parked: listed at its own window only, never current, never waiting, never live elsewhere."""
        snap = self.engine.snapshot()
        listed = [(p["id"], w["number"]) for w in snap["windows"] for p in w["parked"]]
        parked = {(int(r["id"]), r["window"]) for r in self._rows() if r["state"] == "parked"}  # type: ignore[arg-type]
        assert sorted(listed) == sorted(parked)
        assert all(self.parked_where.get(i) == w for i, w in parked)
        current = {w["current"]["id"] for w in snap["windows"] if w["current"]}
        assert not current & {i for i, _ in parked}

    @rule(minutes=st.integers(min_value=0, max_value=30))
    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    @invariant()
    def no_violations(self) -> None:
        assert not self.violations, self.violations

    @invariant()
    def numbers_unique_per_day_and_category(self) -> None:
        originals = [(r["service_date"], r["category"], r["number"]) for r in self._rows()
                     if r["transferred_from"] is None]
        assert len(originals) == len(set(originals))

    @invariant()
    def each_ticket_in_one_state_and_one_window(self) -> None:
        rows = self._rows()
        assert all(r["state"] in STATES for r in rows)
        active = [r for r in rows if r["state"] in ("called", "serving")]
        assert all(r["window"] is not None for r in active)
        windows = [r["window"] for r in active]
        assert len(windows) == len(set(windows)), "a window holds two active tickets"
        # a citizen's number is live (waiting/called/serving) in at most one place at a time
        live = [(r["service_date"], r["number"]) for r in rows
                if r["state"] in ("waiting", "called", "serving", "parked")]
        assert len(live) == len(set(live))

    @invariant()
    def counts_match_snapshot(self) -> None:
        snap = self.engine.snapshot()
        waiting = sum(c["waiting"] for c in snap["categories"])
        assert waiting == sum(1 for r in self._rows() if r["state"] == "waiting")


QueueMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueMachine = QueueMachine.TestCase
