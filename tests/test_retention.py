"""Retention: old tickets, events and audit rows pruned in batches; personal data of acked messages removed."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hall.config.schema import HallConfig, Retention
from hall.queue.clock import FixedClock, iso
from hall.relay.outbox import enqueue
from hall.retention import PRUNED_MARK, Pruner
from hall.services import build_services

NOW = datetime(2026, 11, 25, 9, 0)


def _count(c: sqlite3.Connection, sql: str) -> int:
    return int(c.execute(sql).fetchone()[0])


def test_tickets_events_and_audit_older_than_the_retention_go_in_batches(tmp_path: Path, config: HallConfig) -> None:
    hours = config.hall.hours.model_copy(update={"enforce": False})
    cfg = config.model_copy(update={"hall": config.hall.model_copy(update={"hours": hours})})
    clock = FixedClock(NOW - timedelta(days=420))
    svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
    try:
        eng = svc.engine
        old = [eng.issue("A").ticket for _ in range(120)]
        eng.cancel(old[0].id, "1001", "test")  # an audit row of the old day
        with svc.db.write() as c:  # a record that points at an old ticket keeps its row, loses the link
            c.execute("INSERT INTO rating_prompts (window, ticket_id, clerk, opened_at, expires_at, state) "
                      "VALUES (1, ?, '1001', ?, ?, 'expired')", (old[5].id, iso(clock.now()), iso(clock.now())))
        clock.set(NOW - timedelta(days=399))  # just inside the 400 days: kept
        kept_old = eng.issue("B").ticket
        clock.set(NOW)
        new = eng.issue("C").ticket
        eng.cancel(new.id, "1001", "test")
        db = svc.db.conn
        assert _count(db, "SELECT COUNT(*) FROM audit") == 2

        pruner = Pruner(svc.db, Retention(days=400, batch_rows=50), pause=0)
        batches: list[int] = []
        real_write = svc.db.write

        def counting_write():  # type: ignore[no-untyped-def]
            batches.append(1)
            return real_write()

        svc.db.write = counting_write  # type: ignore[method-assign]
        result = pruner.tick(clock.now())
        svc.db.write = real_write  # type: ignore[method-assign]
        assert result is not None and result["tickets"] == 120 and result["audit"] == 1
        assert len(batches) >= 3  # 120 tickets at 50 a transaction: three of them, not one big one
        left = [r[0] for r in db.execute("SELECT id FROM tickets ORDER BY id")]
        assert left == [kept_old.id, new.id]
        assert _count(db, "SELECT COUNT(*) FROM ticket_events WHERE ticket_id NOT IN (SELECT id FROM tickets)") == 0
        assert [tuple(r) for r in db.execute("SELECT ticket_id FROM rating_prompts")] == [(None,)]
        assert [r[0] for r in db.execute("SELECT target FROM audit")] == [new.number]
        assert pruner.tick(clock.now()) is None  # once a day
        assert eng.issue("C").ticket.number == "C002"  # today's numbering untouched
    finally:
        svc.stop()


def test_retention_below_six_months_is_refused() -> None:
    with pytest.raises(ValueError):
        Retention(days=90)


def test_acknowledged_relay_payloads_lose_personal_data_after_the_configured_days(tmp_path: Path,
                                                                                 config: HallConfig) -> None:
    svc = build_services(config, tmp_path, clock=FixedClock(NOW), with_devices=False)
    try:
        payload = {"case_id": 1, "applicant": {"name": "张三", "cert_no": "430224199001011234", "phone": "13800001234"},
                   "item_code": "430224100DB01", "status": "受理"}
        with svc.db.write() as c:
            for i, acked in enumerate(["2026-10-01T10:00:00.000+08:00", "2026-11-20T10:00:00.000+08:00", None]):
                enqueue(c, kind="case", message_id=f"H:case:{i}:1", order_key=f"case:{i}", payload=payload)
                if acked:
                    c.execute("UPDATE outbox SET state = 'acked', acked_at = ?, ack_status = 'accepted' "
                              "WHERE message_id = ?", (acked, f"H:case:{i}:1"))
        n = Pruner(svc.db, Retention(relay_acked_days=30), pause=0).scrub_relay(
            FixedClock(NOW).now() - timedelta(days=30))
        assert n == 1
        rows = {r[0]: json.loads(r[1]) for r in svc.db.conn.execute("SELECT message_id, payload FROM outbox")}
        scrubbed = rows["H:case:0:1"]
        assert "applicant" not in scrubbed and "430224199001011234" not in json.dumps(scrubbed)
        assert scrubbed["item_code"] == "430224100DB01" and PRUNED_MARK in scrubbed
        assert rows["H:case:1:1"]["applicant"]["cert_no"] == "430224199001011234"  # acked 5 days ago: kept
        assert rows["H:case:2:1"]["applicant"]["phone"] == "13800001234"  # never acked: untouched, still to send
    finally:
        svc.stop()


def test_hash_chained_audit_is_pruned_through_its_own_hook_and_still_verifies(tmp_path: Path,
                                                                               config: HallConfig) -> None:
    chain = pytest.importorskip("hall.store.audit_chain")  # the tamper-evident audit table (security work)
    clock = FixedClock(NOW - timedelta(days=500))
    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    try:
        with svc.db.write() as c:
            for i in range(30):
                c.execute("INSERT INTO audit (at, actor, action, target) VALUES (?, 'tech', 'test.old', ?)",
                          (iso(clock.now() + timedelta(minutes=i)), str(i)))
            for i in range(5):
                c.execute("INSERT INTO audit (at, actor, action, target) VALUES (?, 'tech', 'test.new', ?)",
                          (iso(NOW.replace(tzinfo=clock.tz) - timedelta(days=1, minutes=i)), str(i)))
        before = _count(svc.db.conn, "SELECT COUNT(*) FROM audit")
        n = Pruner(svc.db, Retention(days=400), pause=0).prune_audit(NOW.replace(tzinfo=clock.tz) - timedelta(days=400))
        assert n >= 30 and _count(svc.db.conn, "SELECT COUNT(*) FROM audit") == before - n
        assert _count(svc.db.conn, "SELECT COUNT(*) FROM audit WHERE action = 'test.new'") == 5
        assert chain.verify_audit(svc.db.conn).ok
    finally:
        svc.stop()
