"""Config loads are audited (issue 10 item 6): each start of `kiosk serve` says which file, and what changed."""

from __future__ import annotations

import json
from pathlib import Path

from hall.config.loader import demo_config_path, load_config
from hall.manage.config_audit import ACTION, record_config_load
from hall.queue.clock import FixedClock
from hall.store.audit_chain import verify_audit
from hall.store.db import Database


def _rows(db: Database) -> list[dict[str, object]]:
    return [dict(r) for r in db.conn.execute("SELECT * FROM audit WHERE action = ? ORDER BY id", (ACTION,))]


def test_each_load_is_chained_and_a_changed_section_is_named_without_its_values(tmp_path: Path,
                                                                               clock: FixedClock) -> None:
    db = Database(tmp_path / "hall.db")
    path = tmp_path / "hall.toml"
    text = demo_config_path().read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    assert record_config_load(db, clock, load_config(path), path) is None      # the first load ever
    assert record_config_load(db, clock, load_config(path), path) == []        # a restart, nothing edited
    # a technician edits the file: window 1 also serves category B now
    edited = text.replace('categories = ["A", "E"]', 'categories = ["A", "B", "E"]', 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    assert record_config_load(db, clock, load_config(path), path) == ["windows"]
    rows = _rows(db)
    assert [json.loads(str(r["detail"]))["changed"] for r in rows] == ["first", [], ["windows"]]
    assert all(r["actor"] == "system" and r["target"] == "config:hall.toml" for r in rows)
    assert '"B"' not in str(rows[-1]["detail"]) and "pin_hash" not in str(rows[-1]["detail"])
    assert verify_audit(db.conn).ok
    db.close()
