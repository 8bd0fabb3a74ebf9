"""Notes written before masking existed are masked by migration 0070 (issue 10 item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

ID, PHONE = "11010519491231002X", "13812345678"
NOTE = f"申请人身份证 {ID}，电话 {PHONE}，下午来取"


def test_migration_masks_case_and_village_notes_written_in_clear(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import hall.store.db as store

    every = store.migrations()
    monkeypatch.setattr(store, "migrations", lambda: [m for m in every if m[0] < 70])
    old = store.Database(tmp_path / "old.db")
    old.conn.execute("PRAGMA foreign_keys = OFF")   # bare rows: no ticket, village or agent behind them
    with old.write() as c:
        c.execute("INSERT INTO cases (receipt_no, item_code, item_name, case_kind, status, applicant_type, "
                  "applicant_name, cert_type, cert_no, clerk, accepted_at, note, updated_at) VALUES "
                  "('R1', 'X', '事项', '即办件', '受理', '自然人', '张桂英', '111', ?, '1001', 't', ?, 't')",
                  (ID, NOTE))
        c.execute("INSERT INTO cases (receipt_no, item_code, item_name, case_kind, status, applicant_type, "
                  "applicant_name, cert_type, cert_no, clerk, accepted_at, note, updated_at) VALUES "
                  "('R2', 'X', '事项', '即办件', '受理', '自然人', '李四', '111', ?, '1001', 't', NULL, 't')", (ID,))
        c.execute("INSERT INTO case_history (case_id, at, to_status, actor, note) VALUES (1, 't', '受理', '1001', ?)",
                  (NOTE,))
        c.execute("INSERT INTO village_records (village_id, client_key, ref_no, item_code, item_name, kind, state, "
                  "applicant_name, cert_type, cert_no, note, agent_id, registered_at, pending_since, updated_at) "
                  "VALUES (1, 'k', 'V1', 'X', '事项', '在村办结', '登记', '钱奶奶', '111', ?, ?, 1, 't', 't', 't')",
                  (ID, NOTE))
        c.execute("INSERT INTO village_record_history (record_id, at, to_state, actor, note) "
                  "VALUES (1, 't', '登记', 'agent:1', ?)", (NOTE,))
    old.close()
    monkeypatch.setattr(store, "migrations", lambda: every)
    db = store.Database(tmp_path / "old.db")
    notes = [r[0] for r in db.conn.execute(
        "SELECT note FROM cases UNION ALL SELECT note FROM case_history "
        "UNION ALL SELECT note FROM village_records UNION ALL SELECT note FROM village_record_history")]
    assert None in notes                                       # an empty note stays empty
    masked = [n for n in notes if n is not None]
    assert len(masked) == 4
    for note in masked:
        assert ID not in note and PHONE not in note and "下午来取" in note and "138****5678" in note
    # what the relay needs is untouched: the certificate number column itself
    assert db.conn.execute("SELECT cert_no FROM cases WHERE id = 1").fetchone()[0] == ID
    db.close()
