"""The 代办 ledger (台账): a village agent's requests for villagers, from registration to result.

States: 登记 → 材料齐全 → 已送乡镇 (handover) → 乡镇已接件 → 办结 / 退回补正, each change
with its time and person. The agent moves a request through the village states;
the township clerk receives it (接件) or sends it back, and registers a case from
it through the records (hall.records.cases), so the case is relayed to the county
like any other. The case's own progress flows back: `follow_cases` turns a case's
补正/退回 into 退回补正 and its 办结 into 办结 (with the case's own time and clerk).
A request finished in the village (在村办结) also becomes a case, registered and
closed by the agent, so the county hears of it too.

Scope is enforced here, not only in the web layer: every read and write takes a
`Who`, and an agent's `Who` only ever reaches records of their own village (a
record of another village is "not found", so ids reveal nothing).

Personal data: the villager's ID number is stored only to be copied into the
township case for the relay; every view and export masks names, ID numbers and
phones (hall.security), and free text passes through `redact_text`.

The ledger is split by job: rows and state changes (ledger_core), case links
(ledger_cases), views (ledger_views), photos (ledger_photos) and the CSV export
(ledger_export); each part extends the one before, and this module adds the
agent's and the township's steps to make the `Ledger` the routes use.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hall.records.util import audit, dumps
from hall.security import redact_text
from hall.village.base import Who, conflict, forbidden, invalid
from hall.village.ledger_cases import CASE_TO_STATE
from hall.village.ledger_core import Publish
from hall.village.ledger_export import ledger_csv
from hall.village.ledger_photos import LedgerPhotos
from hall.village.models import AGENT_MOVES, EDITABLE, RecordIn, RecordUpdate

__all__ = ["CASE_TO_STATE", "Ledger", "Publish"]


class Ledger(LedgerPhotos):
    """The ledger the routes use: the agent's and the township's steps on top of the shared parts."""

    # ------------------------------------------------------------------ agent: register and edit
    def register(self, req: RecordIn, who: Who) -> tuple[dict[str, Any], bool]:
        """A new request (idempotent on the device's client key); (view, created)."""
        if not who.is_agent or who.village_id is None:
            raise forbidden("只有村代办员可以登记代办")
        vid = who.village_id
        with self.db.read() as c:
            existing = c.execute(
                "SELECT id FROM village_records WHERE village_id = ? AND client_key = ?",
                (vid, req.client_key),
            ).fetchone()
        if existing is not None:
            return self.get(int(existing[0]), who), False
        item = self._item(req.item_code)
        village_level = self._village_level(item)
        self._check_kind(req.kind, village_level, item.name)
        checklist = self._checklist(item, req.materials_done)
        a = req.applicant
        now = self._now()
        day = self.clock.today()
        try:
            with self.db.write() as c:
                again = c.execute(
                    "SELECT id FROM village_records WHERE village_id = ? AND client_key = ?",
                    (vid, req.client_key),
                ).fetchone()
                if again is not None:  # the same request raced in on another connection
                    record_id, created = int(again[0]), False
                else:
                    seq = self._next_seq(c, f"ref:{vid}:{day.isoformat()}")
                    ref = f"V{vid:02d}{day:%y%m%d}{seq:03d}"
                    cur = c.execute(
                        """INSERT INTO village_records (village_id, client_key, ref_no, item_code, item_name,
                               category, village_level, kind, special_group, state, applicant_name,
                               cert_type, cert_no, phone,
                               materials, note, agent_id, registered_at, pending_since, updated_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '登记', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                        (
                            vid,
                            req.client_key,
                            ref,
                            item.impl_code,
                            item.name,
                            item.category,
                            int(village_level),
                            req.kind,
                            req.special_group,
                            a.name,
                            a.cert_type,
                            a.cert_no,
                            a.phone,
                            dumps(checklist),
                            redact_text(req.note) if req.note else req.note,   # stored masked, like complaints
                            self._agent_number(who),
                            now,
                            now,
                            now,
                        ),
                    )
                    record_id, created = int(cur.lastrowid or 0), True
                    self._history(c, record_id, None, "登记", who.id, who.name, None, now)
                    audit(
                        c,
                        now,
                        who.actor(),
                        "village.register",
                        f"village_record:{record_id}",
                        f"{item.impl_code} {ref} {req.kind}",
                    )
        except sqlite3.IntegrityError:
            # UNIQUE (village_id, client_key) from another process: the request exists, answer with it
            row = self.db.conn.execute(
                "SELECT id FROM village_records WHERE village_id = ? AND client_key = ?",
                (vid, req.client_key),
            ).fetchone()
            if row is None:
                raise
            record_id, created = int(row[0]), False
        view = self.get(record_id, who)
        if created:
            self.publish("village.updated", {"record_id": record_id, "village_id": vid, "state": "登记"})
        return view, created
    def update(self, record_id: int, req: RecordUpdate, who: Who) -> dict[str, Any]:
        """The agent ticks materials, changes the kind or the note while the request is in the village."""
        if not who.is_agent:
            raise forbidden("只有本村代办员可以修改代办记录")
        changes = req.model_dump(exclude_unset=True)
        if not changes:
            raise invalid("没有要修改的内容")
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            if row["state"] not in EDITABLE:
                raise conflict("not_editable", f"代办已{row['state']}，不能再修改")
            materials = self._materials(row)
            sets: dict[str, Any] = {}
            if req.materials_done is not None:
                names = [m["name"] for m in materials]
                unknown = [d for d in req.materials_done if d not in names]
                if unknown:
                    raise invalid(f"材料“{unknown[0]}”不在该事项的材料清单中")
                for m in materials:
                    m["done"] = m["name"] in req.materials_done
                sets["materials"] = dumps(materials)
            if "note" in changes:
                sets["note"] = redact_text(req.note) if req.note else req.note
            if req.kind is not None:
                self._check_kind(req.kind, bool(row["village_level"]), row["item_name"])
                group = req.special_group if req.kind == "上门代办" else None
                if req.kind == "上门代办" and group is None and row["special_group"] is None:
                    raise invalid("上门代办须选择服务对象类别（孤寡老人、病残、五保户、留守家庭或其他）")
                sets["kind"] = req.kind
                sets["special_group"] = group or (row["special_group"] if req.kind == "上门代办" else None)
            elif req.special_group is not None:
                if row["kind"] != "上门代办":
                    raise invalid("只有上门代办需要选择服务对象类别")
                sets["special_group"] = req.special_group
            now = self._now()
            cols = "".join(f", {k} = ?" for k in sets)
            c.execute(
                f"UPDATE village_records SET version = version + 1, updated_at = ?{cols} WHERE id = ?",
                (now, *sets.values(), record_id),
            )
            audit(
                c,
                now,
                who.actor(),
                "village.update",
                f"village_record:{record_id}",
                ",".join(sorted(changes)),
            )
            if row["state"] == "材料齐全" and self._missing(materials):
                # a required material un-ticked: the request is no longer complete
                self._set_state(c, self._row(c, record_id, who), "登记", who, "材料不全，退回登记")
            row = self._row(c, record_id, who)
        self._event(row)
        return self.get(record_id, who)

    def move(self, record_id: int, to: str, who: Who, note: str | None = None) -> dict[str, Any]:
        """The agent's own steps: 材料齐全, back to 登记, 已送乡镇 (handover), 办结 (done in the village)."""
        if not who.is_agent:
            raise forbidden("乡镇工作人员请使用接件、退回补正或登记办件")
        note = (note or "").strip() or None
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            old = row["state"]
            allowed = AGENT_MOVES.get(old, frozenset())
            if to not in allowed:
                can = "、".join(sorted(allowed)) or "无（等待乡镇处理或已办结）"
                raise conflict("bad_transition", f"代办当前为“{old}”，不能改为“{to}”（可改为：{can}）")
            missing = self._missing(self._materials(row))
            if to in ("材料齐全", "已送乡镇", "办结") and missing:
                raise conflict("materials_missing", f"还缺必需材料：{'、'.join(missing)}")
            if to == "已送乡镇":
                if row["kind"] == "在村办结":
                    raise conflict(
                        "bad_transition",
                        "在村办结的事项无需送乡镇；如须乡镇办理，请先把办理方式改为“代办到乡镇”",
                    )
                self._set_state(c, row, "已送乡镇", who, note, handed_at=self._now())
            elif to == "办结":
                if not row["village_level"] or row["kind"] == "代办到乡镇":
                    raise conflict("bad_transition", "该事项须送乡镇办理，不能在村办结")
                case = self._village_case(c, row, who, note)
                self._set_state(
                    c,
                    row,
                    "办结",
                    who,
                    note,
                    finished_at=self._now(),
                    case_id=case["id"],
                    case_status=case["status"],
                )
            else:
                self._set_state(c, row, to, who, note)
            row = self._row(c, record_id, who)
        self._event(row)
        if to == "已送乡镇":
            self.publish(
                "village.incoming", {"village_id": row["village_id"], "count": self.incoming_count()}
            )
        return self.get(record_id, who)

    def make_case(self, record_id: int, who: Who, note: str | None = None) -> dict[str, Any]:
        """The clerk registers the township case (受理登记) from a received 代办; the link is kept."""
        if who.is_agent:
            raise forbidden("只有乡镇工作人员可以登记办件")
        cases = self._cases()
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            if row["state"] != "乡镇已接件":
                raise conflict("bad_transition", f"代办当前为“{row['state']}”，须先接件才能登记办件")
            if row["case_id"] is not None:
                status = c.execute("SELECT status FROM cases WHERE id = ?", (row["case_id"],)).fetchone()
                if status is not None and status[0] != "退回":
                    raise conflict("case_exists", "该代办已登记办件，请在办件中继续办理")
            case = cases.register(self._case_request(c, row, note), who.actor(), None)
            now = self._now()
            c.execute(
                "UPDATE village_records SET case_id = ?, case_status = ?, version = version + 1, "
                "updated_at = ? "
                "WHERE id = ?",
                (case["id"], case["status"], now, record_id),
            )
            self._history(
                c,
                record_id,
                row["state"],
                row["state"],
                who.id,
                who.name,
                f"已登记办件，回执号 {case['receipt_no']}",
                now,
            )
            audit(c, now, who.actor(), "village.case", f"village_record:{record_id}", f"case:{case['id']}")
            row = self._row(c, record_id, who)
        self._event(row)
        return {"record": self.get(record_id, who), "case": case}

    # ------------------------------------------------------------------ township: receive, send back
    def receive(self, record_id: int, who: Who, note: str | None = None) -> dict[str, Any]:
        """接件: the clerk takes the handed-over request (and its paper materials) in."""
        if who.is_agent:
            raise forbidden("只有乡镇工作人员可以接件")
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            if row["state"] != "已送乡镇":
                raise conflict("bad_transition", f"代办当前为“{row['state']}”，只有“已送乡镇”的代办可以接件")
            where = f"{who.window}号窗口" if who.window else None
            text = "；".join(x for x in (where, (note or "").strip() or None) if x) or None
            self._set_state(c, row, "乡镇已接件", who, text, received_at=self._now(), received_by=who.id)
            row = self._row(c, record_id, who)
        self._event(row)
        return self.get(record_id, who)

    def send_back(self, record_id: int, who: Who, note: str) -> dict[str, Any]:
        """退回补正 at intake: materials missing or wrong; the note says what to bring (一次性告知)."""
        if who.is_agent:
            raise forbidden("只有乡镇工作人员可以退回")
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            open_case = row["case_id"] is not None and row["case_status"] not in (None, "退回")
            if row["state"] not in ("已送乡镇", "乡镇已接件") or open_case:
                raise conflict(
                    "bad_transition",
                    f"代办当前为“{row['state']}”，不能退回"
                    + ("（已登记办件：请在办件中改为补正或退回）" if open_case else ""),
                )
            self._set_state(c, row, "退回补正", who, note.strip())
            row = self._row(c, record_id, who)
        self._event(row)
        return self.get(record_id, who)
    def export_csv(self, who: Who, **filters: Any) -> str:
        """The ledger as CSV for Excel (UTF-8 with BOM), personal data masked."""
        return ledger_csv(self.search(who, limit=5000, **filters))
