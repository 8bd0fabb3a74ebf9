"""Each (re)load of the hall's configuration as an audit entry: which file, its fingerprint, what changed.

The service reads its config once at start, so a restart is how a technician's
edit takes effect: staff accounts, windows, devices or the county endpoint can
change that way without any web action. 等保 asks who changed what and when;
the file itself cannot say, so every load is chained into the audit trail with
a fingerprint per section, and a load that differs from the previous one names
the sections that changed (values are not written: they hold password hashes
and secrets).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from hall.config.schema import HallConfig
from hall.manage.audit_log import record
from hall.queue.clock import Clock
from hall.store.db import Database

ACTION = "config.load"


def _digest(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def fingerprint(config: HallConfig) -> dict[str, str]:
    """A short hash per top-level section (a change of any value, secrets included, changes its section's hash)."""
    data = config.model_dump(mode="json")
    return {name: _digest(data[name]) for name in sorted(data)}


def last_fingerprint(db: Database) -> dict[str, str] | None:
    row = db.conn.execute("SELECT detail FROM audit WHERE action = ? ORDER BY id DESC LIMIT 1", (ACTION,)).fetchone()
    if row is None:
        return None
    try:
        sections = json.loads(row[0] or "{}").get("sections")
    except (ValueError, AttributeError):
        return None
    return sections if isinstance(sections, dict) else None


def record_config_load(db: Database, clock: Clock, config: HallConfig, path: Path | None) -> list[str] | None:
    """Audit this load; returns the changed sections (None on the first load this database has seen)."""
    now = fingerprint(config)
    before = last_fingerprint(db)
    changed = None if before is None else sorted(k for k in now.keys() | before.keys() if now.get(k) != before.get(k))
    detail: dict[str, Any] = {"file": path.name if path is not None else "", "demo": config.server.demo,
                              "changed": changed if changed is not None else "first", "sections": now}
    record(db, clock, "system", "system", ACTION, f"config:{path.name if path is not None else '-'}", detail)
    return changed
