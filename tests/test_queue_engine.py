from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.queue.engine import QueueEngine
from hall.queue.errors import QueueError
from hall.services import build_services


def test_numbers_per_category_per_day(engine: QueueEngine) -> None:
    assert engine.issue("A").ticket.number == "A001"
    assert engine.issue("A").ticket.number == "A002"
    assert engine.issue("B").ticket.number == "B001"


def test_numbers_restart_at_local_midnight(engine: QueueEngine, clock: FixedClock) -> None:
    engine.issue("A")
    clock.set(datetime(2026, 11, 25, 23, 59, 59))
    assert engine.issue("A").ticket.number == "A002"
    clock.set(datetime(2026, 11, 26, 0, 0, 1))  # local midnight, not UTC midnight
    assert engine.issue("A").ticket.number == "A001"


def test_daily_cap(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    cats = [c.model_copy(update={"daily_cap": 2}) if c.prefix == "A" else c for c in config.categories]
    cfg = config.model_copy(update={"categories": cats})
    svc = build_services(cfg, tmp_path, clock=clock)
    svc.engine.issue("A")
    svc.engine.issue("A")
    with pytest.raises(QueueError) as ei:
        svc.engine.issue("A")
    assert ei.value.code == "category_full" and "今日已满" in ei.value.message
    assert next(c for c in svc.engine.snapshot()["categories"] if c["prefix"] == "A")["full"] is True
    svc.stop()


def test_unknown_category(engine: QueueEngine) -> None:
    with pytest.raises(QueueError) as ei:
        engine.issue("Z")
    assert ei.value.status == 404


def test_closed_hours_refuse_when_enforced(tmp_path: Path, config: HallConfig) -> None:
    hours = config.hall.hours.model_copy(update={"enforce": True, "weekdays": [1, 2, 3, 4, 5]})
    cfg = config.model_copy(update={"hall": config.hall.model_copy(update={"hours": hours})})
    clock = FixedClock(datetime(2026, 11, 25, 12, 30))  # lunch break
    svc = build_services(cfg, tmp_path, clock=clock)
    with pytest.raises(QueueError) as ei:
        svc.engine.issue("A")
    assert ei.value.code == "closed"
    clock.set(datetime(2026, 11, 25, 14, 5))
    assert svc.engine.issue("A").ticket.number == "A001"
    svc.stop()


def test_call_order_appointment_then_priority_then_fifo(engine: QueueEngine, clock: FixedClock) -> None:
    n1 = engine.issue("C").ticket
    clock.advance(seconds=10)
    n2 = engine.issue("C").ticket
    clock.advance(seconds=10)
    p1 = engine.issue("C", "priority").ticket
    clock.advance(seconds=10)
    ap = engine.issue("C", "appointment", appointment_id=7, slot_start=clock.now() - timedelta(minutes=1)).ticket
    engine.login(3, "1003")
    order = []
    for _ in range(4):
        t = engine.call_next(3, "1003")
        order.append(t.id)
        engine.start(3, "1003")
    assert order == [ap.id, p1.id, n1.id, n2.id]


def test_early_appointment_ranks_as_normal(engine: QueueEngine, clock: FixedClock) -> None:
    n1 = engine.issue("C").ticket
    clock.advance(seconds=5)
    engine.issue("C", "appointment", appointment_id=1, slot_start=clock.now() + timedelta(hours=1))
    assert engine.call_next(3, "1003").id == n1.id


def test_window_only_calls_its_categories(engine: QueueEngine) -> None:
    engine.issue("D")
    with pytest.raises(QueueError) as ei:
        engine.call_next(3, "1003")  # window 3 serves C only
    assert ei.value.code == "queue_empty"
    assert engine.call_next(4, "1004").number == "D001"


def test_call_next_refuses_while_called_and_finishes_serving(engine: QueueEngine) -> None:
    engine.issue("C")
    engine.issue("C")
    first = engine.call_next(3, "1003")
    with pytest.raises(QueueError) as ei:
        engine.call_next(3, "1003")
    assert ei.value.code == "current_open"
    engine.start(3, "1003")
    second = engine.call_next(3, "1003")
    assert second.number == "C002"
    assert engine.ticket_status(first.id)["ticket"]["state"] == "done"


def test_recall_limit(engine: QueueEngine, events: list[tuple[str, dict[str, Any]]]) -> None:
    engine.issue("C")
    engine.call_next(3, "1003")
    engine.recall(3, "1003")
    engine.recall(3, "1003")
    with pytest.raises(QueueError) as ei:
        engine.recall(3, "1003")
    assert ei.value.code == "recall_limit"
    calls = [d for k, d in events if k == "ticket.called"]
    assert [c["recall"] for c in calls] == [False, True, True]
    assert calls[1]["text"] == "请C001号到3号窗口办理（重呼）"


def test_no_show_requeues_after_k_then_voids(engine: QueueEngine, clock: FixedClock) -> None:
    ids = []
    for _ in range(6):
        ids.append(engine.issue("C").ticket.id)
        clock.advance(seconds=1)
    first = engine.call_next(3, "1003")
    t = engine.no_show(3, "1003")
    assert t.state == "waiting" and t.requeue_count == 1
    called = []
    for _ in range(4):
        called.append(engine.call_next(3, "1003").id)
        engine.start(3, "1003")
    # re-queued behind the next 3 waiting tickets (K = 3)
    assert called == [ids[1], ids[2], ids[3], first.id]
    engine.finish(3, "1003")
    # second absence: the limit of one re-queue is used up, so the ticket is void
    again = engine.call_next(3, "1003")
    assert again.id == ids[4]
    engine.start(3, "1003")
    engine.finish(3, "1003")
    engine.call_next(3, "1003")
    engine.no_show(3, "1003")  # ids[5], first absence → requeued to the back (no one behind)
    t = engine.call_next(3, "1003")
    assert t.id == ids[5]
    assert engine.no_show(3, "1003").state == "no_show"


def test_no_show_void_policy(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    cfg = config.model_copy(update={"queue": config.queue.model_copy(update={"no_show": "void"})})
    svc = build_services(cfg, tmp_path, clock=clock)
    svc.engine.issue("C")
    svc.engine.call_next(3, "1003")
    assert svc.engine.no_show(3, "1003").state == "no_show"
    assert "作废" in svc.engine.no_show_rule()
    svc.stop()


def test_transfer_keeps_number_and_issue_time(engine: QueueEngine, clock: FixedClock) -> None:
    t = engine.issue("C").ticket
    clock.advance(minutes=5)
    later = engine.issue("B").ticket
    engine.call_next(3, "1003")
    engine.start(3, "1003")
    new = engine.transfer(3, "1003", "B")
    assert new.number == "C001" and new.category == "B" and new.issued_at == t.issued_at
    assert engine.ticket_status(t.id)["ticket"]["state"] == "transferred"
    # it keeps its place by issue time: ahead of B001, which came later
    assert engine.call_next(2, "1002").id == new.id
    assert engine.ticket_status(later.id)["ahead"] == 0


def test_pause_blocks_calls_until_resume(engine: QueueEngine) -> None:
    engine.issue("C")
    with pytest.raises(QueueError):
        engine.pause(3, "1003", "  ")
    engine.pause(3, "1003", "临时外出")
    view = engine.window_view(3)
    assert view.paused and view.pause_reason == "临时外出"
    with pytest.raises(QueueError) as ei:
        engine.call_next(3, "1003")
    assert ei.value.code == "window_paused"
    engine.resume(3, "1003")
    assert engine.call_next(3, "1003").number == "C001"


def test_login_handover_and_empty_posts(engine: QueueEngine) -> None:
    assert set(engine.empty_posts()) == {1, 2, 3, 4, 5, 6}
    engine.login(1, "1001")
    assert engine.window_view(1).clerk_name == "李明"
    engine.login(1, "1004")  # B post takes over window 1
    v = engine.window_view(1)
    assert v.clerk_id == "1004" and v.post == "B"
    with pytest.raises(QueueError) as ei:
        engine.login(3, "1001")  # 1001 may only sit at windows 1 and 5
    assert ei.value.code == "not_assigned"
    engine.logout(1, "1004")
    assert 1 in engine.empty_posts()


def test_empty_posts_only_during_opening_hours(engine: QueueEngine, clock: FixedClock) -> None:
    assert engine.empty_posts(datetime(2026, 11, 25, 20, 0, tzinfo=clock.tz)) == []


def test_people_ahead_and_wait_estimate(engine: QueueEngine, clock: FixedClock) -> None:
    engine.login(3, "1003")
    for _ in range(3):  # three services of exactly 4 minutes give the category its own mean
        engine.issue("C")
        engine.call_next(3, "1003")
        engine.start(3, "1003")
        clock.advance(minutes=4)
        engine.finish(3, "1003")
    engine.issue("C")
    engine.issue("C")
    r = engine.issue("C")
    assert r.ahead == 2
    # 2 ahead × 4 min ÷ 2 open windows serving C (3 and 6 → only 3 has a clerk) = 8 min
    assert r.wait_minutes == 8
    engine.login(6, "1002")
    assert engine.ticket_status(r.ticket.id)["wait_minutes"] == 4
    pr = engine.issue("C", "priority")
    assert pr.ahead == 0


def test_figures(engine: QueueEngine, clock: FixedClock) -> None:
    engine.issue("C")
    engine.issue("C")
    clock.advance(minutes=2)
    engine.call_next(3, "1003")
    engine.start(3, "1003")
    clock.advance(minutes=3)
    engine.finish(3, "1003")
    engine.call_next(3, "1003")
    engine.no_show(3, "1003")
    f = engine.figures()
    tot = f["total"]
    assert tot["issued"] == 2 and tot["served"] == 1 and tot["waiting"] == 1
    assert tot["mean_service_seconds"] == 180.0
    assert f["categories"]["C"]["issued"] == 2


def test_roll_over_cancels_yesterdays_leftovers(engine: QueueEngine, clock: FixedClock) -> None:
    t = engine.issue("A").ticket
    clock.advance(days=1)
    assert engine.roll_over() == 1
    assert engine.ticket_status(t.id)["ticket"]["state"] == "cancelled"
    with pytest.raises(QueueError):
        engine.call_next(1, "1001")


def test_events_published_after_commit(engine: QueueEngine, events: list[tuple[str, dict[str, Any]]]) -> None:
    engine.issue("A")
    engine.call_next(1, "1001")
    kinds = [k for k, _ in events]
    assert kinds == ["ticket.issued", "ticket.called"]
    assert events[1][1]["text"] == "请A001号到1号窗口办理"
    assert events[1][1]["waiting"]["A"] == 0


def test_failed_action_publishes_nothing(engine: QueueEngine, events: list[tuple[str, dict[str, Any]]]) -> None:
    with pytest.raises(QueueError):
        engine.call_next(1, "1001")
    assert events == []


def test_concurrent_kiosks_never_share_a_number(services: Any) -> None:
    engine = services.engine
    numbers: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def kiosk() -> None:
        try:
            for _ in range(25):
                n = engine.issue("B").ticket.number
                with lock:
                    numbers.append(n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=kiosk) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(numbers) == 200 and len(set(numbers)) == 200


def test_concurrent_clerks_never_get_the_same_ticket(services: Any) -> None:
    engine = services.engine
    for _ in range(60):
        engine.issue("E")  # windows 1, 4 and 5 all serve E
    got: dict[int, list[int]] = {1: [], 4: [], 5: []}
    clerks = {1: "1001", 4: "1004", 5: "1002"}

    def clerk(window: int) -> None:
        while True:
            try:
                t = engine.call_next(window, clerks[window])
            except QueueError as exc:
                if exc.code == "queue_empty":
                    return
                raise
            got[window].append(t.id)
            engine.start(window, clerks[window])

    threads = [threading.Thread(target=clerk, args=(w,)) for w in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    all_ids = [i for ids in got.values() for i in ids]
    assert len(all_ids) == 60 and len(set(all_ids)) == 60


def test_prefer_primary_category(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    cfg = config.model_copy(update={"queue": config.queue.model_copy(update={"prefer_primary": True})})
    svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
    svc.engine.issue("E")  # older, but window 1's primary is A
    clock.advance(seconds=30)
    a = svc.engine.issue("A").ticket
    assert svc.engine.call_next(1, "1001").id == a.id
    svc.stop()
    # without the preference the older E ticket goes first
    svc2 = build_services(config, tmp_path / "b", clock=clock, with_devices=False)
    e = svc2.engine.issue("E").ticket
    svc2.engine.issue("A")
    assert svc2.engine.call_next(1, "1001").id == e.id
    svc2.stop()
