"""The 代办 ledger's rows: reading one in scope, writing a state change with its history and audit row.

Every part of the ledger (agent steps, township steps, case links, views, photos)
builds on these helpers, so the rules that must hold everywhere live once:
an agent's `Who` only reaches records of their own village (another village's
record is "not found", so ids reveal nothing), each state change writes its
history and audit rows, and free text is stored through `redact_text`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hall.queue.clock import Clock, iso
from hall.records.util import audit
from hall.security import redact_text
from hall.store.db import Database
from hall.village.base import Who, agent_id_of, forbidden, invalid, not_found

log = logging.getLogger("hall.village.ledger")

Publish = Callable[[str, dict[str, Any]], Any]


class LedgerCore:
    """The services every ledger part needs, and the helpers that keep scope, history and audit in one place."""

    # dup-ok: the ledger takes the same collaborators as village/service.py, which builds it
    def __init__(
        self,
        db: Database,
        clock: Clock,
        data_dir: Path,
        *,
        calendar: Any,
        catalog: Callable[[], Any],
        records: Callable[[], Any],
        names: Callable[[str], str | None],
        publish: Publish | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.data_dir = data_dir.resolve()
        self.calendar = calendar  # hall.records.workdays.WorkCalendar (working days)
        self._catalog = catalog  # () -> hall.records.catalog.Catalog (current version)
        self._records = records  # () -> hall.records.service.Records | None
        self._names = names  # principal id -> display name (agents and staff)
        self.publish: Publish = publish or (lambda kind, data: None)

    # ------------------------------------------------------------------ helpers
    def _now(self) -> str:
        return iso(self.clock.now())

    def _row(self, c: sqlite3.Connection, record_id: int, who: Who) -> sqlite3.Row:
        row = c.execute("SELECT * FROM village_records WHERE id = ?", (record_id,)).fetchone()
        # Another village's record is "not found" for an agent: ids must not tell what exists elsewhere.
        if row is None or (who.scope is not None and row["village_id"] != who.scope):
            raise not_found(f"代办记录 {record_id} ")
        return row

    def _history(
        self,
        c: sqlite3.Connection,
        record_id: int,
        old: str | None,
        new: str,
        who_id: str,
        who_name: str | None,
        note: str | None,
        at: str | None = None,
    ) -> None:
        c.execute(
            "INSERT INTO village_record_history "
            "(record_id, at, from_state, to_state, actor, actor_name, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (record_id, at or self._now(), old, new, who_id, who_name, redact_text(note) if note else note),
        )

    def _set_state(
        self, c: sqlite3.Connection, row: sqlite3.Row, new: str, who: Who, note: str | None, **columns: Any
    ) -> None:
        now = self._now()
        extra = dict(columns)
        if new == "退回补正":
            extra.setdefault("pending_since", now)
        sets = "".join(f", {k} = ?" for k in extra)
        c.execute(
            f"UPDATE village_records SET state = ?, version = version + 1, updated_at = ?{sets} WHERE id = ?",
            (new, now, *extra.values(), row["id"]),
        )
        self._history(c, row["id"], row["state"], new, who.id, who.name, note, now)
        audit(c, now, who.actor(), "village.state", f"village_record:{row['id']}", f"{row['state']}->{new}")

    def _event(self, row: sqlite3.Row) -> None:
        # The hub's stream is readable by any screen: ids and states only, never names or numbers.
        self.publish(
            "village.updated",
            {"record_id": row["id"], "village_id": row["village_id"], "state": row["state"]},
        )

    @staticmethod
    def _materials(row: sqlite3.Row) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(row["materials"] or "[]")
        return data

    @staticmethod
    def _missing(materials: list[dict[str, Any]]) -> list[str]:
        return [m["name"] for m in materials if m.get("required") and not m.get("done")]

    def _item(self, code: str) -> Any:
        try:
            item = self._catalog().get(code)
        except Exception:
            log.exception("service catalog look-up failed for %s", code)
            item = None
        if item is None:
            raise invalid(f"事项目录中没有实施编码为 {code} 的事项，请重新选择事项（目录可能已更新）")
        return item

    @staticmethod
    def _checklist(item: Any, done: list[str]) -> list[dict[str, Any]]:
        names = [m.name for m in item.materials]
        unknown = [d for d in done if d not in names]
        if unknown:
            raise invalid(f"材料“{unknown[0]}”不在该事项的材料清单中")
        return [
            {
                "name": m.name,
                "required": m.required,
                "originals": m.originals,
                "copies": m.copies,
                "done": m.name in done,
            }
            for m in item.materials
        ]

    @staticmethod
    def _village_level(item: Any) -> bool:
        level = getattr(item.exercise_level, "value", item.exercise_level)
        return str(level) == "6"

    def _check_kind(self, kind: str, village_level: bool, item_name: str) -> None:
        if kind == "在村办结" and not village_level:
            raise invalid(f"“{item_name}”须由乡镇办理，不能在村办结；请选择“代办到乡镇”或“上门代办”")

    @staticmethod
    def _agent_number(who: Who) -> int:
        aid = agent_id_of(who.id)
        if aid is None:
            raise forbidden("只有村代办员可以登记代办")
        return aid

    # dup-ok: records/base.py next_seq counts in records_settings; each room owns its settings
    def _next_seq(self, c: sqlite3.Connection, name: str) -> int:
        c.execute(
            "INSERT INTO village_settings (name, value) VALUES (?, '1') "
            "ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (name,),
        )
        return int(c.execute("SELECT value FROM village_settings WHERE name = ?", (name,)).fetchone()[0])
