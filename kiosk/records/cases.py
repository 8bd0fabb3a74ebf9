"""Cases (办件): registration at the window, status changes, 限时办结 flags, progress look-up.

The official 办件编号 is minted by the county system and stays empty until the
county returns it (through the relay's acknowledgement); the hall never makes
one up. What the citizen gets instead is a receipt number (回执号) with a QR.

The certificate number is stored only for the relay: every view here masks
names, ID numbers and phones (hall.security).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from hall.queue.clock import iso
from hall.records.base import ItemInfo, RecordContext
from hall.records.models import CLOSED_STATUSES, TRANSITIONS, CaseIn, Material
from hall.records.util import Actor, RecordError, conflict, dumps, invalid, not_found, short_code
from hall.security import mask_id, mask_name, mask_phone, redact_text

log = logging.getLogger(__name__)

#: What the receipt's QR code carries; the kiosk's scanner hands it to `lookup`.
CASE_QR_PREFIX = "hall://case/"


def case_qr_payload(receipt_no: str) -> str:
    return CASE_QR_PREFIX + receipt_no


#: The printed receipt's QR is a link at the hall's public address (a phone opens it): /c/<receipt>.
RECEIPT_PATH = "/c/"


def parse_receipt(text: str) -> str:
    """A receipt number from what was typed or scanned: a bare number, the `hall://case/…` payload,
    or the printed receipt's link (http://<hall>/c/<no>, whatever address the hall had when printed)."""
    t = text.strip()
    if t.startswith(CASE_QR_PREFIX):
        t = t[len(CASE_QR_PREFIX):]
    elif t.lower().startswith(("http://", "https://")):
        path = unquote(urlsplit(t).path)
        if RECEIPT_PATH in path:
            t = path.rsplit(RECEIPT_PATH, 1)[1].strip("/")
    return t.strip().upper()


def _masked_person(name: str | None, cert_type: str | None, cert_no: str | None,
                   phone: str | None) -> dict[str, Any]:
    return {"name": mask_name(name), "cert_type": cert_type, "cert_no": mask_id(cert_no),
            "phone": mask_phone(phone)}


def _masked(note: str | None) -> str | None:
    """Free text is stored masked, like complaints: a typed ID or phone number has no place in a note
    (the applicant's own numbers have their fields, which only the relay's outbox carries to the county)."""
    return redact_text(note) if note else note


class CaseService:
    def __init__(self, ctx: RecordContext, data_dir: Path) -> None:
        self.ctx = ctx
        self.data_dir = data_dir.resolve()

    # ------------------------------------------------------------------ helpers
    # dup-ok: row-or-404 naming its own table and noun, like appointments.py _row
    def _row(self, c: sqlite3.Connection, case_id: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise not_found(f"办件 {case_id} ")
        return row

    def _item(self, req: CaseIn) -> ItemInfo:
        item = self.ctx.items(req.item_code)
        if item is not None:
            self._same_as_catalog(req, item)
            return item
        # Catalog not synced yet (or a new item): the clerk supplies what the guide says.
        if not req.item_name:
            raise invalid(f"事项目录中没有实施编码 {req.item_code}，请填写事项名称和承诺时限")
        kind = req.case_kind or ("即办件" if req.limit_value == 0 else "承诺件")
        if kind == "承诺件" and (req.limit_value is None or req.limit_unit is None):
            raise invalid("承诺件须填写承诺时限（数值和单位：天/工作日/月/年）")
        return ItemInfo(req.item_code, req.item_name, req.category, req.limit_value, req.limit_unit, kind)

    @staticmethod
    def _same_as_catalog(req: CaseIn, item: ItemInfo) -> None:
        """A catalog item's kind and time limit are the county's published promise (承诺时限), the same for
        every applicant: a case cannot change them. A request that asks for other ones is refused, naming the
        catalog's, instead of being registered quietly with a deadline the clerk did not ask for."""
        asked_kind = req.case_kind or (("即办件" if req.limit_value == 0 else "承诺件")
                                       if req.limit_value is not None else None)
        if asked_kind is not None and asked_kind != item.case_kind:
            raise invalid(f"事项“{item.name}”在事项目录中为{item.case_kind}，不能按{asked_kind}受理"
                          "（时限以县级事项目录为准；不填即按目录）")
        if item.case_kind != "承诺件" or (req.limit_value is None and req.limit_unit is None):
            return
        if (req.limit_value, req.limit_unit or item.limit_unit) != (item.limit_value, item.limit_unit):
            asked = f"{req.limit_value if req.limit_value is not None else item.limit_value}" \
                    f"{req.limit_unit or item.limit_unit}"
            raise invalid(f"事项“{item.name}”的承诺时限在事项目录中为 {item.limit_value}{item.limit_unit}，"
                          f"不能逐件改为 {asked}（时限以县级事项目录为准；不填即按目录）")

    def _material_path(self, m: Material) -> str:
        """Only files under the data folder (where the document camera saves) can be attached."""
        try:  # a NUL byte or a name over the file system's limit raises instead of answering "no"
            p = Path(m.path)
            p = (p if p.is_absolute() else self.data_dir / p).resolve()
            inside = p.is_relative_to(self.data_dir)
            exists = inside and p.is_file()
        except (OSError, ValueError):
            raise invalid(f"材料“{m.name}”的文件路径无效") from None
        if not inside:
            raise invalid(f"材料“{m.name}”的文件不在本机数据目录中，不能附加")
        if not exists:
            raise invalid(f"材料“{m.name}”的文件不存在：{p.name}")
        return str(p)

    def _ticket(self, c: sqlite3.Connection, ticket_id: int | None, window: int | None) -> int | None:
        if ticket_id is not None:
            if c.execute("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).fetchone() is None:
                raise not_found(f"票号 {ticket_id} ")
            return ticket_id
        if window is None:
            return None
        # The citizen in front of the clerk: the window's called/serving ticket, if any.
        row = c.execute(
            "SELECT id FROM tickets WHERE window = ? AND state IN ('called', 'serving') ORDER BY id DESC LIMIT 1",
            (window,),
        ).fetchone()
        return int(row[0]) if row else None

    def _payload(self, row: sqlite3.Row, c: sqlite3.Connection) -> dict[str, Any]:
        """The full case for the county (the relay trims it to the fields the county needs)."""
        agent = json.loads(row["agent"]) if row["agent"] else None
        materials = [r["name"] for r in c.execute(
            "SELECT name FROM case_materials WHERE case_id = ? ORDER BY id", (row["id"],))]
        return {
            "case_id": row["id"], "receipt_no": row["receipt_no"], "official_no": row["official_no"],
            "item_code": row["item_code"], "item_name": row["item_name"], "category": row["category"],
            "case_kind": row["case_kind"],
            "time_limit": ({"value": row["limit_value"], "unit": row["limit_unit"]}
                           if row["limit_unit"] else None),
            "status": row["status"],
            "applicant": {"type": row["applicant_type"], "name": row["applicant_name"],
                          "cert_type": row["cert_type"], "cert_no": row["cert_no"], "phone": row["phone"]},
            "agent": agent, "ticket_id": row["ticket_id"], "window": row["window"],
            "clerk_id": row["clerk"], "clerk_name": self.ctx.staff_name(row["clerk"]),
            "accepted_at": row["accepted_at"], "promised_finish_at": row["promised_finish_at"],
            "deadline_estimated": bool(row["deadline_estimated"]), "finished_at": row["finished_at"],
            "materials": materials, "version": row["version"],
        }

    def _history(self, c: sqlite3.Connection, case_id: int, from_status: str | None, to_status: str,
                 actor: Actor, window: int | None, note: str | None) -> None:
        c.execute(
            "INSERT INTO case_history (case_id, at, from_status, to_status, actor, window, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_id, self.ctx.now_iso(), from_status, to_status, actor.id, window, _masked(note)),
        )

    def _publish(self, row: sqlite3.Row) -> None:
        self.ctx.publish("case.updated", {"case_id": row["id"], "status": row["status"],
                                          "window": row["window"], "clerk": row["clerk"]})

    # ------------------------------------------------------------------ writes
    def register(self, req: CaseIn, actor: Actor, window: int | None) -> dict[str, Any]:
        """受理登记: the case, its first history row, materials, audit and outbox, in one transaction."""
        item = self._item(req)
        now = self.ctx.now()
        today = now.date()
        if item.case_kind == "即办件":
            value, unit = 0, "工作日"
        elif item.limit_value is None or item.limit_unit is None:
            raise invalid(f"事项“{item.name}”缺少承诺时限，请先同步事项目录")
        else:
            value, unit = item.limit_value, item.limit_unit
        due_at, deadline = self.ctx.due(today, value, unit)
        paths = [(m.name, self._material_path(m)) for m in req.materials]
        a = req.applicant
        agent = req.agent.model_dump() if req.agent else None
        with self.ctx.db.write() as c:
            ticket_id = self._ticket(c, req.ticket_id, window)
            category = item.category
            if category is None and ticket_id is not None:
                category = c.execute("SELECT category FROM tickets WHERE id = ?", (ticket_id,)).fetchone()[0]
            seq = self.ctx.next_seq(c, f"receipt:{today.isoformat()}")
            # Date + daily sequence + 3 random characters: short enough to type, not guessable.
            receipt = f"{today:%Y%m%d}{seq:03d}{short_code(3)}"
            cur = c.execute(
                """INSERT INTO cases (receipt_no, item_code, item_name, category, case_kind, limit_value,
                       limit_unit, status, applicant_type, applicant_name, cert_type, cert_no, phone, agent,
                       ticket_id, window, clerk, accepted_at, promised_finish_at, deadline_estimated, note,
                       updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, '受理', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (receipt, item.impl_code, item.name, category, item.case_kind,
                 item.limit_value if item.case_kind == "承诺件" else 0,
                 item.limit_unit if item.case_kind == "承诺件" else "工作日",
                 a.type, a.name, a.cert_type, a.cert_no, a.phone, dumps(agent) if agent else None,
                 ticket_id, window, actor.id, self.ctx.now_iso(), due_at, int(deadline.estimated),
                 _masked(req.note), self.ctx.now_iso()),
            )
            case_id = int(cur.lastrowid or 0)
            for name, path in paths:
                c.execute("INSERT INTO case_materials (case_id, name, path, added_at, added_by) "
                          "VALUES (?, ?, ?, ?, ?)", (case_id, name, path, self.ctx.now_iso(), actor.id))
            self._history(c, case_id, None, "受理", actor, window, None)
            self.ctx.audit(c, actor, "case.register", f"case:{case_id}",
                           f"{item.impl_code} {receipt}" + (" 代办" if agent else ""))
            row = self._row(c, case_id)
            self.ctx.relay(c, "case", case_id, 1, f"case:{case_id}", self._payload(row, c))
            view = self._view(c, row)
        self._publish(row)
        return view

    def transition(self, case_id: int, to_status: str, actor: Actor, window: int | None,
                   note: str | None = None) -> dict[str, Any]:
        if to_status not in TRANSITIONS:
            raise invalid(f"办件状态“{to_status}”无效")
        note = (note or "").strip() or None
        if to_status == "补正" and not note:
            raise invalid("补正须一次性告知需补正的材料（请填写说明）")
        if to_status == "退回" and not note:
            raise invalid("退回须填写理由")
        with self.ctx.db.write() as c:
            row = self._row(c, case_id)
            old = row["status"]
            if to_status not in TRANSITIONS[old]:
                allowed = "、".join(sorted(TRANSITIONS[old])) or "无（已结束）"
                raise conflict("bad_transition", f"办件当前为“{old}”，不能改为“{to_status}”（可改为：{allowed}）")
            now = self.ctx.now_iso()
            due_at, estimated = row["promised_finish_at"], row["deadline_estimated"]
            if old == "补正" and to_status == "办理中" and row["limit_unit"]:
                # Complete materials received today: the time limit runs again from here.
                due_at, dl = self.ctx.due(self.ctx.now().date(), row["limit_value"], row["limit_unit"])
                estimated = int(dl.estimated)
            finished = now if to_status in CLOSED_STATUSES else None
            version = row["version"] + 1
            c.execute(
                "UPDATE cases SET status = ?, finished_at = COALESCE(?, finished_at), promised_finish_at = ?, "
                "deadline_estimated = ?, version = ?, updated_at = ? WHERE id = ?",
                (to_status, finished, due_at, estimated, version, now, case_id),
            )
            self._history(c, case_id, old, to_status, actor, window, note)
            self.ctx.audit(c, actor, "case.status", f"case:{case_id}", f"{old}->{to_status}")
            row = self._row(c, case_id)
            self.ctx.relay(c, "case_status", case_id, version, f"case:{case_id}", {
                "case_id": case_id, "receipt_no": row["receipt_no"], "official_no": row["official_no"],
                "item_code": row["item_code"], "from_status": old, "status": to_status, "at": now,
                "note": note, "promised_finish_at": row["promised_finish_at"],
                "deadline_estimated": bool(row["deadline_estimated"]), "finished_at": row["finished_at"],
                "clerk_id": actor.id, "version": version,
            })
            view = self._view(c, row)
        self._publish(row)
        return view

    def add_material(self, case_id: int, material: Material, actor: Actor) -> dict[str, Any]:
        path = self._material_path(material)
        with self.ctx.db.write() as c:
            row = self._row(c, case_id)
            if row["status"] in CLOSED_STATUSES:
                raise conflict("case_closed", f"办件已{row['status']}，不能再附加材料")
            c.execute("INSERT INTO case_materials (case_id, name, path, added_at, added_by) VALUES (?, ?, ?, ?, ?)",
                      (case_id, material.name, path, self.ctx.now_iso(), actor.id))
            self.ctx.audit(c, actor, "case.material", f"case:{case_id}", material.name)
            view = self._view(c, row)
        return view

    def hand_over(self, case_id: int, to_clerk: str, to_window: int | None, actor: Actor,
                  reason: str) -> dict[str, Any]:
        """移交: another clerk (at their window) takes the case; the old clerk and window lose it."""
        with self.ctx.db.write() as c:
            row = self._row(c, case_id)
            if row["status"] in CLOSED_STATUSES:
                raise conflict("case_closed", f"办件已{row['status']}，不能再移交")
            if row["clerk"] == to_clerk and row["window"] == to_window:
                raise conflict("same_clerk", "办件已由该工作人员负责")
            now = self.ctx.now_iso()
            c.execute("UPDATE cases SET clerk = ?, window = ?, updated_at = ? WHERE id = ?",
                      (to_clerk, to_window, now, case_id))
            who = self.ctx.staff_name(to_clerk) or to_clerk
            note = redact_text(f"移交给{who}" + (f"（{to_window}号窗口）" if to_window else "") + f"：{reason}")
            self._history(c, case_id, row["status"], row["status"], actor, to_window, note)
            self.ctx.audit(c, actor, "case.handover", f"case:{case_id}",
                           dumps({"from_clerk": row["clerk"], "from_window": row["window"], "to_clerk": to_clerk,
                                  "to_window": to_window, "reason": reason}))
            row = self._row(c, case_id)
            view = self._view(c, row)
        self._publish(row)
        return view

    def assign_official_no(self, case_id: int, official_no: str, actor: Actor) -> bool:
        """Record the 办件编号 the county minted; True if it changed anything."""
        official_no = official_no.strip()
        if not official_no:
            raise invalid("办件编号为空")
        with self.ctx.db.write() as c:
            row = self._row(c, case_id)
            if row["official_no"] == official_no:
                return False
            if row["official_no"]:
                raise conflict("official_no_set",
                               f"办件已有编号 {row['official_no']}，县级平台又返回 {official_no}")
            try:
                c.execute("UPDATE cases SET official_no = ?, updated_at = ? WHERE id = ?",
                          (official_no, self.ctx.now_iso(), case_id))
            except sqlite3.IntegrityError as exc:
                raise conflict("official_no_taken", f"办件编号 {official_no} 已属于另一办件") from exc
            self.ctx.audit(c, actor, "case.official_no", f"case:{case_id}", official_no)
            row = self._row(c, case_id)
        self._publish(row)
        return True

    def adopt_county_refs(self, actor: Actor) -> int:
        """Take 办件编号s the county returned on acknowledged "case" messages (relay outbox.county_ref)."""
        rows = self.ctx.db.conn.execute(
            """SELECT o.order_key, o.county_ref FROM outbox o
               WHERE o.kind = 'case' AND o.state = 'acked' AND o.county_ref IS NOT NULL AND o.county_ref != ''
                 AND EXISTS (SELECT 1 FROM cases k WHERE 'case:' || k.id = o.order_key AND k.official_no IS NULL)
               LIMIT 500"""
        ).fetchall()
        n = 0
        for order_key, ref in rows:
            try:
                n += self.assign_official_no(int(order_key.split(":", 1)[1]), str(ref), actor)
            except (RecordError, ValueError) as exc:
                log.error("county returned %s for %s but it cannot be recorded: %s", ref, order_key, exc)
        return n

    # ------------------------------------------------------------------ views
    def _view(self, c: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
        """Staff view: everything except unmasked personal data."""
        agent = json.loads(row["agent"]) if row["agent"] else None
        closed = row["status"] in CLOSED_STATUSES
        paused = row["status"] == "补正"    # waiting for the citizen: no 限时 flag
        deadline = self.ctx.deadline_view(row["promised_finish_at"], bool(row["deadline_estimated"]),
                                          closed or paused)
        history = [
            {"at": h["at"], "from": h["from_status"], "to": h["to_status"], "actor": h["actor"],
             "actor_name": self.ctx.staff_name(h["actor"]), "window": h["window"],
             "note": redact_text(h["note"]) if h["note"] else None}
            for h in c.execute("SELECT * FROM case_history WHERE case_id = ? ORDER BY id", (row["id"],))
        ]
        materials = [
            {"id": m["id"], "name": m["name"], "file": Path(m["path"]).name, "added_at": m["added_at"]}
            for m in c.execute("SELECT * FROM case_materials WHERE case_id = ? ORDER BY id", (row["id"],))
        ]
        return {
            "id": row["id"], "receipt_no": row["receipt_no"], "qr": case_qr_payload(row["receipt_no"]),
            "official_no": row["official_no"], "item_code": row["item_code"], "item_name": row["item_name"],
            "category": row["category"], "case_kind": row["case_kind"],
            "time_limit": ({"value": row["limit_value"], "unit": row["limit_unit"]}
                           if row["case_kind"] == "承诺件" else None),
            "status": row["status"],
            "applicant": {"type": row["applicant_type"],
                          **_masked_person(row["applicant_name"], row["cert_type"], row["cert_no"],
                                           row["phone"])},
            "agent": ({**_masked_person(agent.get("name"), agent.get("cert_type"), agent.get("cert_no"),
                                        agent.get("phone")), "village": agent.get("village", "")}
                      if agent else None),
            "ticket_id": row["ticket_id"], "window": row["window"], "clerk": row["clerk"],
            "clerk_name": self.ctx.staff_name(row["clerk"]),
            "accepted_at": row["accepted_at"], "promised_finish_at": row["promised_finish_at"],
            "finished_at": row["finished_at"], "deadline": deadline,
            "next": sorted(TRANSITIONS[row["status"]]), "history": history, "materials": materials,
            "note": redact_text(row["note"]) if row["note"] else None,
        }

    def get(self, case_id: int) -> dict[str, Any]:
        with self.ctx.db.read() as c:
            return self._view(c, self._row(c, case_id))

    def lookup(self, text: str) -> dict[str, Any]:
        """The kiosk's 办件进度 by receipt number or QR: masked, no staff ids, no notes."""
        receipt = parse_receipt(text)
        with self.ctx.db.read() as c:
            row = c.execute("SELECT * FROM cases WHERE receipt_no = ?", (receipt,)).fetchone()
            if row is None:
                raise RecordError("not_found", "未找到该回执号对应的办件，请核对后重试", 404)
            v = self._view(c, row)
        return {
            "receipt_no": v["receipt_no"], "official_no": v["official_no"], "item_name": v["item_name"],
            "case_kind": v["case_kind"], "status": v["status"], "applicant_name": v["applicant"]["name"],
            "agent": bool(v["agent"]), "accepted_at": v["accepted_at"],
            "promised_finish_at": v["promised_finish_at"], "finished_at": v["finished_at"],
            "deadline_note": v["deadline"]["note"], "window": v["window"],
            "steps": [{"at": h["at"], "status": h["to"]} for h in v["history"]],
        }

    def search(self, *, status: str | None = None, clerk: str | None = None, window: int | None = None,
             flagged: bool = False, limit: int = 200, since: date | None = None) -> list[dict[str, Any]]:
        """Cases for the clerk (own) or manager; `flagged` keeps only near/overdue open cases."""
        # dup-ok: each search builds its WHERE from its own filters (complaints.py, village/ledger_views.py alike)
        sql = "SELECT * FROM cases WHERE 1=1"
        args: list[Any] = []
        if status:
            sql += " AND status = ?"
            args.append(status)
        if clerk:
            sql += " AND clerk = ?"
            args.append(clerk)
        if window is not None:
            sql += " AND window = ?"
            args.append(window)
        if flagged:
            horizon = self.ctx.calendar.add_workdays(self.ctx.now().date(), self.ctx.policy.near_due_days)
            sql += " AND status IN ('受理', '办理中') AND promised_finish_at <= ?"
            args.append(iso(self.ctx.close_of_business(horizon.date)))
        if since:
            sql += " AND accepted_at >= ?"
            args.append(self.ctx.day_start(since))
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 1000)))
        with self.ctx.db.read() as c:
            views = [self._view(c, r) for r in c.execute(sql, args).fetchall()]
        if flagged:
            views = [v for v in views if v["deadline"]["near"] or v["deadline"]["overdue"]]
            views.sort(key=lambda v: v["promised_finish_at"] or "")
        for v in views:  # lists stay light
            v.pop("history", None)
        return views

    def deadline_alerts(self, clerk: str | None = None) -> dict[str, Any]:
        """限时办结: counts and the open cases near or past their promised date."""
        cases = self.search(flagged=True, clerk=clerk, limit=1000)
        return {
            "near": sum(1 for v in cases if v["deadline"]["near"]),
            "overdue": sum(1 for v in cases if v["deadline"]["overdue"]),
            "cases": cases,
        }

    def for_ticket(self, c: sqlite3.Connection, ticket_id: int) -> list[sqlite3.Row]:
        return c.execute("SELECT * FROM cases WHERE ticket_id = ? ORDER BY id", (ticket_id,)).fetchall()
