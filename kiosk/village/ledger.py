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
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hall.queue.clock import Clock, iso
from hall.records.util import audit, dumps
from hall.security import mask_id, mask_name, mask_phone, redact_text
from hall.store.db import Database
from hall.village import photos
from hall.village.base import Who, agent_id_of, conflict, forbidden, get_setting, invalid, not_found
from hall.village.models import AGENT_MOVES, AT_VILLAGE, EDITABLE, STATES, RecordIn, RecordUpdate

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], Any]

#: What a township case's status means for the 代办 it was made from.
CASE_TO_STATE: dict[str, str] = {
    "受理": "乡镇已接件",
    "办理中": "乡镇已接件",
    "补正": "退回补正",
    "退回": "退回补正",
    "办结": "办结",
}


def _stamp(at: str) -> datetime:
    return datetime.fromisoformat(at)


class Ledger:
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

    @staticmethod
    def _agent_number(who: Who) -> int:
        aid = agent_id_of(who.id)
        if aid is None:
            raise forbidden("只有村代办员可以登记代办")
        return aid

    def _next_seq(self, c: sqlite3.Connection, name: str) -> int:
        c.execute(
            "INSERT INTO village_settings (name, value) VALUES (?, '1') "
            "ON CONFLICT (name) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
            (name,),
        )
        return int(c.execute("SELECT value FROM village_settings WHERE name = ?", (name,)).fetchone()[0])

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

    # ------------------------------------------------------------------ cases (through the records)
    def _case_request(self, c: sqlite3.Connection, row: sqlite3.Row, note: str | None) -> Any:
        from hall.records.models import Agent, Applicant, CaseIn, Material

        agent = c.execute(
            "SELECT a.*, v.name AS village FROM village_agents a JOIN villages v ON v.id = a.village_id "
            "WHERE a.id = ?",
            (row["agent_id"],),
        ).fetchone()
        mats = [
            Material(name=(p["material"] or "村代办照片")[:100], path=str(self.data_dir / p["path"]))
            for p in c.execute(
                "SELECT material, path FROM village_photos WHERE record_id = ? ORDER BY id", (row["id"],)
            )
        ]
        village = c.execute("SELECT name FROM villages WHERE id = ?", (row["village_id"],)).fetchone()[0]
        text = f"村代办 {row['ref_no']}（{village}，{row['kind']}"
        text += f"，{row['special_group']}" if row["special_group"] else ""
        text += "）" + (f" {row['note']}" if row["note"] else "") + (f" {note}" if note else "")
        return CaseIn(
            item_code=row["item_code"],
            item_name=row["item_name"],
            category=row["category"],
            applicant=Applicant(
                name=row["applicant_name"],
                cert_type=row["cert_type"],
                cert_no=row["cert_no"],
                phone=row["phone"],
            ),
            agent=Agent(
                name=agent["name"],
                cert_type=agent["cert_type"],
                cert_no=agent["cert_no"],
                phone=agent["phone"],
                village=agent["village"],
            ),
            materials=mats,
            note=text[:500],
        )

    def _cases(self) -> Any:
        rec = self._records()
        if rec is None:
            raise conflict("unavailable", "办件服务未启用，不能登记办件")
        return rec.cases

    def _village_case(
        self, c: sqlite3.Connection, row: sqlite3.Row, who: Who, note: str | None
    ) -> dict[str, Any]:
        """A request finished in the village: registered and closed as a case (relayed like any other)."""
        cases = self._cases()
        view = cases.register(self._case_request(c, row, note), who.actor(), None)
        done: dict[str, Any] = cases.transition(view["id"], "办结", who.actor(), None, "在村办结")
        return done

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

    def follow_cases(self) -> int:
        """Carry township case progress into the 代办 it came from; the number of requests changed.

        Reads the case's own history for the time, person and note, so the agent
        sees when and by whom the case was finished or sent back, whenever this runs.
        """
        rows = self.db.conn.execute(
            "SELECT r.id, k.status AS cs FROM village_records r JOIN cases k ON k.id = r.case_id "
            "WHERE r.case_status IS NULL OR r.case_status != k.status"
        ).fetchall()
        changed: list[sqlite3.Row] = []
        for r in rows:
            with self.db.write() as c:
                row = c.execute("SELECT * FROM village_records WHERE id = ?", (r["id"],)).fetchone()
                case = c.execute("SELECT status FROM cases WHERE id = ?", (row["case_id"],)).fetchone()
                if case is None or case[0] == row["case_status"]:
                    continue
                cs = case[0]
                h = c.execute(
                    "SELECT * FROM case_history WHERE case_id = ? AND to_status = ? ORDER BY id DESC LIMIT 1",
                    (row["case_id"], cs),
                ).fetchone()
                new = CASE_TO_STATE.get(cs, row["state"])
                at = h["at"] if h is not None else self._now()
                cols: dict[str, Any] = {"case_status": cs}
                if new != row["state"]:
                    actor = h["actor"] if h is not None else "system"
                    words = f"乡镇办件{cs}" + (f"：{h['note']}" if h is not None and h["note"] else "")
                    self._history(c, row["id"], row["state"], new, actor, self._names(actor), words, at)
                    cols["state"] = new
                    if new == "办结":
                        cols["finished_at"] = at
                    if new == "退回补正":
                        cols["pending_since"] = at
                sets = ", ".join(f"{k} = ?" for k in cols)
                c.execute(
                    f"UPDATE village_records SET {sets}, version = version + 1, updated_at = ? WHERE id = ?",
                    (*cols.values(), self._now(), row["id"]),
                )
                if new != row["state"]:
                    changed.append(
                        c.execute("SELECT * FROM village_records WHERE id = ?", (row["id"],)).fetchone()
                    )
        for row in changed:
            self._event(row)
        return len(changed)

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

    def incoming(self, who: Who) -> list[dict[str, Any]]:
        """For clerks: handed over and not yet received, or received and still waiting for a case."""
        if who.is_agent:
            raise forbidden()
        self.follow_cases()
        rows = self.db.conn.execute(
            """SELECT r.* FROM village_records r LEFT JOIN cases k ON k.id = r.case_id
               WHERE r.state = '已送乡镇'
                  OR (r.state = '乡镇已接件' AND (r.case_id IS NULL OR k.status = '退回'))
               ORDER BY r.handed_at, r.id"""
        ).fetchall()
        return [self._summary(r) for r in rows]

    def incoming_count(self) -> int:
        return int(
            self.db.conn.execute("SELECT COUNT(*) FROM village_records WHERE state = '已送乡镇'").fetchone()[
                0
            ]
        )

    # ------------------------------------------------------------------ photos
    def add_photo(
        self, record_id: int, who: Who, client_key: str, material: str, data: bytes
    ) -> tuple[dict[str, Any], bool]:
        if not who.is_agent:
            raise forbidden("只有本村代办员可以上传材料照片")
        with self.db.read() as c:
            row = self._row(c, record_id, who)
            existing = c.execute(
                "SELECT * FROM village_photos WHERE record_id = ? AND client_key = ?", (record_id, client_key)
            ).fetchone()
            count = c.execute(
                "SELECT COUNT(*) FROM village_photos WHERE record_id = ?", (record_id,)
            ).fetchone()[0]
        if existing is not None:
            return self._photo_view(existing), False
        if row["state"] not in EDITABLE:
            raise conflict("not_editable", f"代办已{row['state']}，不能再添加照片")
        names = [m["name"] for m in self._materials(row)]
        if material and material not in names:
            raise invalid(f"材料“{material}”不在该事项的材料清单中")
        if count >= photos.MAX_PHOTOS_PER_RECORD:
            raise conflict("too_many", f"每条代办最多 {photos.MAX_PHOTOS_PER_RECORD} 张照片")
        stored = photos.store(self.data_dir, row["village_id"], record_id, data)
        now = self._now()
        try:
            with self.db.write() as c:
                state = c.execute("SELECT state FROM village_records WHERE id = ?", (record_id,)).fetchone()[
                    0
                ]
                if state not in EDITABLE:  # handed over while the photo was on its way
                    raise conflict("not_editable", f"代办已{state}，不能再添加照片")
                cur = c.execute(
                    "INSERT INTO village_photos (record_id, client_key, material, path, bytes, width, "
                    "height, added_at, "
                    "added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record_id,
                        client_key,
                        material,
                        stored.relpath,
                        stored.size,
                        stored.width,
                        stored.height,
                        now,
                        who.id,
                    ),
                )
                audit(c, now, who.actor(), "village.photo", f"village_record:{record_id}", material or "其他")
                photo = c.execute("SELECT * FROM village_photos WHERE id = ?", (cur.lastrowid,)).fetchone()
        except sqlite3.IntegrityError:
            (self.data_dir / stored.relpath).unlink(missing_ok=True)  # the same photo won a race
            photo = self.db.conn.execute(
                "SELECT * FROM village_photos WHERE record_id = ? AND client_key = ?", (record_id, client_key)
            ).fetchone()
            if photo is None:
                raise
            return self._photo_view(photo), False
        except BaseException:
            (self.data_dir / stored.relpath).unlink(missing_ok=True)  # no row, no file
            raise
        return self._photo_view(photo), True

    def photo_file(self, record_id: int, photo_id: int, who: Who) -> Path:
        with self.db.read() as c:
            self._row(c, record_id, who)
            p = c.execute(
                "SELECT path FROM village_photos WHERE id = ? AND record_id = ?", (photo_id, record_id)
            ).fetchone()
        if p is None:
            raise not_found("照片")
        path = photos.resolve(self.data_dir, p[0])
        if not path.is_file():
            raise not_found("照片文件")
        return path

    def delete_photo(self, record_id: int, photo_id: int, who: Who) -> None:
        if not who.is_agent:
            raise forbidden("只有本村代办员可以删除材料照片")
        with self.db.write() as c:
            row = self._row(c, record_id, who)
            if row["state"] not in EDITABLE:
                raise conflict("not_editable", f"代办已{row['state']}，照片已随材料送出，不能删除")
            p = c.execute(
                "SELECT * FROM village_photos WHERE id = ? AND record_id = ?", (photo_id, record_id)
            ).fetchone()
            if p is None:
                raise not_found("照片")
            c.execute("DELETE FROM village_photos WHERE id = ?", (photo_id,))
            audit(
                c,
                self._now(),
                who.actor(),
                "village.photo.delete",
                f"village_record:{record_id}",
                str(photo_id),
            )
        photos.resolve(self.data_dir, p["path"]).unlink(missing_ok=True)

    @staticmethod
    def _photo_view(p: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": p["id"],
            "client_key": p["client_key"],
            "material": p["material"],
            "bytes": p["bytes"],
            "width": p["width"],
            "height": p["height"],
            "added_at": p["added_at"],
        }

    # ------------------------------------------------------------------ views
    def _case_view(self, c: sqlite3.Connection, case_id: int | None) -> dict[str, Any] | None:
        if case_id is None:
            return None
        k = c.execute(
            "SELECT id, receipt_no, official_no, status, promised_finish_at, finished_at FROM cases "
            "WHERE id = ?",
            (case_id,),
        ).fetchone()
        if k is None:
            return None
        return {
            "id": k["id"],
            "receipt_no": k["receipt_no"],
            "official_no": k["official_no"],
            "status": k["status"],
            "promised_finish_at": k["promised_finish_at"],
            "finished_at": k["finished_at"],
        }

    def _village_name(self, c: sqlite3.Connection, village_id: int) -> str:
        row = c.execute("SELECT name FROM villages WHERE id = ?", (village_id,)).fetchone()
        return str(row[0]) if row else ""

    def _summary(self, row: sqlite3.Row) -> dict[str, Any]:
        c = self.db.conn
        materials = self._materials(row)
        photo_count = c.execute(
            "SELECT COUNT(*) FROM village_photos WHERE record_id = ?", (row["id"],)
        ).fetchone()[0]
        return {
            "id": row["id"],
            "ref_no": row["ref_no"],
            "client_key": row["client_key"],
            "village_id": row["village_id"],
            "village": self._village_name(c, row["village_id"]),
            "item_code": row["item_code"],
            "item_name": row["item_name"],
            "category": row["category"],
            "village_level": bool(row["village_level"]),
            "kind": row["kind"],
            "special_group": row["special_group"],
            "state": row["state"],
            "applicant": {
                "name": mask_name(row["applicant_name"]),
                "cert_type": row["cert_type"],
                "cert_no": mask_id(row["cert_no"]),
                "phone": mask_phone(row["phone"]),
            },
            "materials": materials,
            "missing": self._missing(materials),
            "photo_count": photo_count,
            "note": redact_text(row["note"]) if row["note"] else None,
            "agent_id": row["agent_id"],
            "agent_name": self._names(f"agent:{row['agent_id']}"),
            "registered_at": row["registered_at"],
            "handed_at": row["handed_at"],
            "received_at": row["received_at"],
            "received_by": row["received_by"],
            "received_by_name": self._names(row["received_by"]) if row["received_by"] else None,
            "finished_at": row["finished_at"],
            "case": self._case_view(c, row["case_id"]),
            "overdue": self._overdue(row),
        }

    def _overdue(self, row: sqlite3.Row) -> bool:
        """Still in the village (to be handed over) longer than the configured number of working days."""
        if row["state"] not in AT_VILLAGE or row["kind"] == "在村办结":
            return False
        limit = get_setting(self.db.conn, "overdue_days")
        return self.working_days_since(row["pending_since"]) > limit

    def working_days_since(self, at: str) -> int:
        start = _stamp(at).astimezone(self.clock.tz).date()
        today = self.clock.today()
        if today <= start:
            return 0
        try:
            n, _guessed = self.calendar.count_workdays(start, today)
        except ValueError:
            n = (today - start).days
        return int(n)

    def get(self, record_id: int, who: Who) -> dict[str, Any]:
        self.follow_cases()
        with self.db.read() as c:
            row = self._row(c, record_id, who)
            view = self._summary(row)
            view["history"] = [
                {
                    "at": h["at"],
                    "from": h["from_state"],
                    "to": h["to_state"],
                    "actor": h["actor"],
                    "actor_name": h["actor_name"],
                    "note": redact_text(h["note"]) if h["note"] else None,
                }
                for h in c.execute(
                    "SELECT * FROM village_record_history WHERE record_id = ? ORDER BY id", (record_id,)
                )
            ]
            view["photos"] = [
                self._photo_view(p)
                for p in c.execute(
                    "SELECT * FROM village_photos WHERE record_id = ? ORDER BY id", (record_id,)
                )
            ]
        view["next"] = self.next_steps(view, who)
        return view

    def next_steps(self, view: dict[str, Any], who: Who) -> list[str]:
        """What this viewer may do next (the page shows only these buttons)."""
        state = view["state"]
        if who.is_agent:
            steps = sorted(AGENT_MOVES.get(state, frozenset()))
            if view["missing"]:  # these need every required material
                steps = [s for s in steps if s not in ("材料齐全", "已送乡镇", "办结")]
            if "已送乡镇" in steps and view["kind"] == "在村办结":
                steps.remove("已送乡镇")
            if "办结" in steps and (not view["village_level"] or view["kind"] == "代办到乡镇"):
                steps.remove("办结")
            return steps
        if state == "已送乡镇":
            return ["接件", "退回补正"]
        if state == "乡镇已接件":
            case = view["case"]
            if case is None or case["status"] == "退回":
                return ["登记办件", "退回补正"]
        return []

    def search(
        self,
        who: Who,
        *,
        village_id: int | None = None,
        state: str | None = None,
        kind: str | None = None,
        start: date | None = None,
        end: date | None = None,
        overdue: bool = False,
        states: tuple[str, ...] = (),
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """The ledger: an agent's own village always; township staff any village or all."""
        self.follow_cases()
        scope = who.scope if who.is_agent else village_id
        sql = "SELECT * FROM village_records WHERE 1=1"
        args: list[Any] = []
        if scope is not None:
            sql += " AND village_id = ?"
            args.append(scope)
        if state:
            if state not in STATES:
                raise invalid(f"状态“{state}”无效")
            sql += " AND state = ?"
            args.append(state)
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args.extend(states)
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        if start:
            sql += " AND registered_at >= ?"
            args.append(iso(datetime.combine(start, time(0), tzinfo=self.clock.tz)))
        if end:
            sql += " AND registered_at < ?"
            args.append(iso(datetime.combine(end + timedelta(days=1), time(0), tzinfo=self.clock.tz)))
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 5000)))
        views = [self._summary(r) for r in self.db.conn.execute(sql, args).fetchall()]
        if overdue:
            views = [v for v in views if v["overdue"]]
        return views

    def export_csv(self, who: Who, **filters: Any) -> str:
        """The ledger as CSV for Excel (UTF-8 with BOM), personal data masked."""
        rows = self.search(who, limit=5000, **filters)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(
            [
                "台账编号",
                "村（社区）",
                "登记时间",
                "事项",
                "实施编码",
                "办理方式",
                "服务对象类别",
                "申请人",
                "证件号码",
                "联系电话",
                "材料",
                "缺少材料",
                "照片数",
                "状态",
                "送乡镇时间",
                "接件时间",
                "办结时间",
                "办件回执号",
                "办件状态",
                "代办员",
                "超期未送",
                "备注",
            ]
        )
        for v in reversed(rows):
            case = v["case"] or {}
            done = sum(1 for m in v["materials"] if m.get("done"))
            w.writerow(
                [
                    v["ref_no"],
                    v["village"],
                    v["registered_at"],
                    v["item_name"],
                    v["item_code"],
                    v["kind"],
                    v["special_group"] or "",
                    v["applicant"]["name"],
                    v["applicant"]["cert_no"],
                    v["applicant"]["phone"],
                    f"{done}/{len(v['materials'])}",
                    "、".join(v["missing"]),
                    v["photo_count"],
                    v["state"],
                    v["handed_at"] or "",
                    v["received_at"] or "",
                    v["finished_at"] or "",
                    case.get("receipt_no", ""),
                    case.get("status", ""),
                    v["agent_name"] or "",
                    "是" if v["overdue"] else "",
                    v["note"] or "",
                ]
            )
        return "\ufeff" + out.getvalue()
