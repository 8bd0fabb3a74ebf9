"""The audit trail (issue 10, item 6): every staff action, from where, masked, append-only, hash-chained."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hall.cli import main
from hall.queue.clock import FixedClock
from hall.services import Services
from hall.store.audit_chain import prune_audit, verify_audit

from tests import records_support
from tests.conftest import auth as _auth

ID = "11010519491231002X"
PHONE = "13812345678"
CLERK_PC = {"REMOTE_ADDR": "10.0.0.31", "HTTP_USER_AGENT": "Chromium clerk-pc-3"}


services = records_support.services


def _rows(services: Services, where: str = "1 = 1", args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in services.db.conn.execute(f"SELECT * FROM audit WHERE {where} ORDER BY id", args)]


def _a_day_at_window_3(api: Any) -> dict[str, str]:
    """Sign-in failures and a sign-in, then a clerk's working morning, from the clerk's PC."""
    assert api.post("/api/session", json={"staff_id": "1003", "pin": "000000", "window": 3},
                    environ_base=CLERK_PC).status_code == 401
    h = _auth(api, "1003", "123456", 3, CLERK_PC)
    for cat in ("C", "C", "C"):
        api.post("/api/tickets", json={"category": cat})
    for step in ("call", "recall", "start", "finish", "call", "no-show", "call", "start"):
        assert api.post(f"/api/windows/3/{step}", headers=h, environ_base=CLERK_PC).status_code == 200, step
    assert api.post("/api/windows/3/transfer", json={"category": "D"}, headers=h,
                    environ_base=CLERK_PC).status_code == 200
    r = api.post("/api/windows/3/pause", json={"reason": "午休"}, headers=h, environ_base=CLERK_PC)
    assert r.status_code == 200
    assert api.post("/api/windows/3/resume", headers=h, environ_base=CLERK_PC).status_code == 200
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "limit_value": 10, "limit_unit": "工作日",
            "category": "C", "note": f"申请人电话 {PHONE}，身份证 {ID}",
            "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID, "phone": PHONE}}
    r = api.post("/api/cases", json=body, headers=h, environ_base=CLERK_PC)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case"]["id"]
    assert api.post(f"/api/cases/{case_id}/status", json={"status": "办理中"}, headers=h,
                    environ_base=CLERK_PC).status_code == 200
    assert api.post("/api/windows/3/rate-prompt", headers=h, environ_base=CLERK_PC).status_code in (200, 201, 409)
    assert api.delete("/api/session", headers=h, environ_base=CLERK_PC).status_code == 200
    return h


def test_every_staff_action_of_a_morning_is_recorded_with_who_what_when_and_where(api: Any,
                                                                                  services: Services) -> None:
    _a_day_at_window_3(api)
    rows = _rows(services, "actor = ?", ("1003",))
    actions = [r["action"] for r in rows]
    for expected in ("auth.fail", "auth.login", "window.login", "ticket.call", "ticket.recall", "ticket.start",
                     "ticket.finish", "ticket.requeue", "ticket.transfer", "window.pause", "window.resume",
                     "case.register", "case.status", "auth.logout", "window.logout"):
        assert expected in actions, (expected, actions)
    for r in rows:
        assert r["remote"] == "10.0.0.31" and r["device"] == "Chromium clerk-pc-3", r
        assert r["role"] == "clerk" and r["at"].startswith("2026-11-25T09:00:00") and r["at"].endswith("+08:00")
        assert r["at_utc"] == "2026-11-25T01:00:00Z" and len(r["hash"]) == 64
    call = next(r for r in rows if r["action"] == "ticket.call")
    assert call["target"].startswith("ticket:") and json.loads(call["detail"])["number"] == "C001"
    assert json.loads(call["detail"])["window"] == 3
    # personal data never sits in the trail in clear
    dump = json.dumps(_rows(services), ensure_ascii=False)
    assert ID not in dump and PHONE not in dump


def test_rows_are_masked_whoever_writes_them_and_refuse_update_and_delete(services: Services) -> None:
    with services.db.write() as c:
        c.execute("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, 'x', 'test', ?, ?)",
                  ("2026-11-25T09:00:00+08:00", f"phone:{PHONE}", f"证件 {ID}"))
    row = _rows(services, "action = 'test'")[0]
    assert ID not in row["detail"] and "110***********002X" in row["detail"] and PHONE not in row["target"]
    assert row["role"] == "system"                     # not in a request: the service itself
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), services.db.write() as c:
        c.execute("UPDATE audit SET detail = 'nothing happened' WHERE id = ?", (row["id"],))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"), services.db.write() as c:
        c.execute("DELETE FROM audit WHERE id = ?", (row["id"],))


def _tamper(db_path: Path, *sql: str) -> None:
    """What someone with the database file and the sqlite3 tool could do behind the service's back."""
    conn = sqlite3.connect(db_path)
    for s in sql:
        conn.execute(s)
    conn.commit()
    conn.close()


def test_audit_verify_detects_an_edited_row_and_a_deleted_row(api: Any, services: Services, tmp_path: Path,
                                                             capsys: Any) -> None:
    _a_day_at_window_3(api)
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    assert "intact" in capsys.readouterr().out
    finish = _rows(services, "action = 'ticket.finish'")[0]["id"]
    _tamper(tmp_path / "hall.db", "DROP TRIGGER audit_no_update",
            f"UPDATE audit SET actor = '1001' WHERE id = {finish}")
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"row {finish}: content does not match its hash" in err and "TAMPERED" in err
    # put the actor back (verify passes again), then delete a row instead
    _tamper(tmp_path / "hall.db", f"UPDATE audit SET actor = '1003' WHERE id = {finish}")
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    _tamper(tmp_path / "hall.db", "DROP TRIGGER audit_no_delete", f"DELETE FROM audit WHERE id = {finish}")
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
    assert f"row {finish + 1}: chain broken" in capsys.readouterr().err
    assert not verify_audit(services.db.conn).ok


def test_pruning_by_retention_keeps_the_chain_verifiable(services: Services, clock: FixedClock) -> None:
    for i in range(6):
        services.sessions.audit("9001", "manager", "test.old", f"n:{i}")
    clock.advance(days=200)
    services.sessions.audit("9001", "manager", "test.new", "n:new")
    n = prune_audit(services.db.conn, datetime(2026, 12, 1, tzinfo=UTC))
    assert n >= 6 and not _rows(services, "action = 'test.old'")
    result = verify_audit(services.db.conn)
    assert result.ok and result.anchor is not None and result.anchor["rows_pruned"] == n
    # a later deletion of the oldest kept row is still caught: it no longer chains to the anchor
    new_id = _rows(services, "action = 'test.new'")[0]["id"]
    services.sessions.audit("9001", "manager", "test.newer", "n:newer")
    services.db.conn.execute("DROP TRIGGER audit_no_delete")
    services.db.conn.execute("DELETE FROM audit WHERE id = ?", (new_id,))
    assert not verify_audit(services.db.conn).ok


def test_rows_written_before_the_chain_are_sealed_by_the_migration(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import hall.store.db as store

    every = store.migrations()
    monkeypatch.setattr(store, "migrations", lambda: [m for m in every if m[0] < 20])
    old = store.Database(tmp_path / "old.db")
    with old.write() as c:
        for i in range(3):
            c.execute("INSERT INTO audit (at, actor, action, target, remote) VALUES (?, ?, 'case.status', ?, ?)",
                      (f"2026-11-0{i + 1}T10:00:00+08:00", "1001", f"case:{i}", "10.0.0.5"))
    old.close()
    monkeypatch.setattr(store, "migrations", lambda: every)
    db = store.Database(tmp_path / "old.db")
    rows = [dict(r) for r in db.conn.execute("SELECT * FROM audit ORDER BY id")]
    assert [r["target"] for r in rows] == ["case:0", "case:1", "case:2"] and all(r["hash"] for r in rows)
    assert rows[0]["role"] == "legacy" and rows[1]["prev_hash"] == rows[0]["hash"]
    assert verify_audit(db.conn).ok
    db.close()


def test_manager_filters_and_exports_the_trail_and_the_export_is_audited(api: Any, services: Services) -> None:
    _a_day_at_window_3(api)
    clerk = _auth(api, "1001", "123456", 1)
    assert api.get("/api/audit", headers=clerk).status_code == 403
    m = _auth(api, "9001", "hall-8888", None)
    r = api.get("/api/audit?actor=1003&action=ticket&date_from=2026-11-25&date_to=2026-11-25", headers=m)
    entries = r.get_json()["entries"]
    assert entries and {e["actor"] for e in entries} == {"1003"} and all(e["action"].startswith("ticket.")
                                                                          for e in entries)
    assert entries[0]["id"] > entries[-1]["id"] and entries[0]["actor_name"] == "刘洋"
    assert api.get("/api/audit?date_from=2026-11-26", headers=m).get_json()["entries"] == []
    paged = api.get("/api/audit?limit=2", headers=m).get_json()
    assert len(paged["entries"]) == 2 and paged["next_before_id"] == paged["entries"][1]["id"]
    older = api.get(f"/api/audit?limit=2&before_id={paged['next_before_id']}", headers=m).get_json()["entries"]
    assert older[0]["id"] < paged["next_before_id"]
    assert api.get("/api/audit?date_from=yesterday", headers=m).status_code == 400
    r = api.get("/api/audit/export?actor=1003", headers=m)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert table[0][:5] == ["时间（大厅）", "时间（UTC）", "人员", "角色", "操作"]
    assert len(table) - 1 == len(_rows(services, "actor = '1003'")) and "刘洋（1003）" in table[1][2]
    assert _rows(services, "action = 'audit.export'")[0]["actor"] == "9001"
    v = api.get("/api/audit/verify", headers=m).get_json()
    assert v["ok"] is True and v["rows"] == len(_rows(services))
