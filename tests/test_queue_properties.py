"""Property tests: random operation sequences keep the queue's invariants."""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from hall.config.loader import demo_config_path, load_config
from hall.queue.clock import FixedClock
from hall.queue.errors import QueueError
from hall.queue.models import STATES
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

    def teardown(self) -> None:
        self.svc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

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
        live = [(r["service_date"], r["number"]) for r in rows if r["state"] in ("waiting", "called", "serving")]
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
