"""Appointments (预约): imported from the county, or booked by staff; checked in at the kiosk.

Check-in issues a ticket in the appointment lane (the queue engine serves it
first once its slot has begun). A booking nobody checked in for by the end of
its slot becomes a no-show, counted and relayed.

Check-in is idempotent: the ticket carries ``appointment_id``, so a repeated
scan (or a crash between issuing the ticket and marking the appointment)
finds the ticket already issued instead of issuing a second one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import threading
from datetime import datetime
from typing import Any

from hall.queue.clock import iso, parse_iso
from hall.queue.engine import QueueEngine
from hall.queue.models import CardHolder
from hall.records.base import RecordContext
from hall.records.models import AppointmentIn, CountyAppointment, normalise_phone
from hall.records.util import Actor, RecordError, conflict, invalid, not_found, short_code
from hall.security import mask_name, mask_phone
from pydantic import ValidationError

log = logging.getLogger(__name__)

APPT_QR_PREFIX = "hall://appt/"
STATE_NAMES = {"booked": "已预约", "checked_in": "已签到", "no_show": "爽约", "cancelled": "已取消"}


def appointment_qr_payload(code: str) -> str:
    return APPT_QR_PREFIX + code


def parse_code(text: str) -> str:
    t = text.strip()
    if t.startswith(APPT_QR_PREFIX):
        t = t[len(APPT_QR_PREFIX):]
    return t.upper()


class AppointmentService:
    def __init__(self, ctx: RecordContext, engine: QueueEngine, id_key: bytes | None = None) -> None:
        self.ctx = ctx
        self.engine = engine
        self.id_key = id_key        # the hall's key for ID-number hashes (same as the card readers')
        self._checkin_lock = threading.Lock()

    def _id_hash(self, number: str | None) -> str | None:
        if not number or self.id_key is None:
            return None
        return hmac.new(self.id_key, number.strip().upper().encode("ascii", "replace"), hashlib.sha256).hexdigest()

    def for_card(self, id_hash: str) -> dict[str, Any] | None:
        """Today's still-open booking under the ID number whose keyed hash is `id_hash`, for the kiosk's
        刷身份证 (masked view plus its code), or None."""
        now = self.ctx.now()
        with self.ctx.db.read() as c:
            r = c.execute("SELECT * FROM appointments WHERE id_hash = ? AND service_date = ? AND state = 'booked' "
                          "AND slot_end > ? ORDER BY slot_start LIMIT 1",
                          (id_hash, now.date().isoformat(), iso(now))).fetchone()
        if r is None:
            return None
        v = self.view(r)
        return {"id": v["id"], "category": v["category"], "category_name": v["category_name"],
                "item_name": v["item_name"], "slot_start": v["slot_start"], "slot_end": v["slot_end"]}

    def code_for_card(self, appt_id: int, id_hash: str) -> str | None:
        """The code of booking `appt_id` if it was made under this card's number (check-in by card)."""
        with self.ctx.db.read() as c:
            row = c.execute("SELECT code FROM appointments WHERE id = ? AND id_hash = ?", (appt_id, id_hash)).fetchone()
        return str(row[0]) if row else None

    # ------------------------------------------------------------------ helpers
    # dup-ok: row-or-404 naming its own table and noun, like cases.py _row
    def _row(self, c: sqlite3.Connection, appt_id: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM appointments WHERE id = ?", (appt_id,)).fetchone()
        if row is None:
            raise not_found(f"预约 {appt_id} ")
        return row

    def _local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.ctx.clock.tz)

    def _relay(self, c: sqlite3.Connection, r: sqlite3.Row, kind: str = "appointment") -> None:
        self.ctx.relay(c, kind, r["id"], r["version"], f"appointment:{r['id']}", {
            "appointment_id": r["id"], "code": r["code"], "source": r["source"], "category": r["category"],
            "item_code": r["item_code"], "item_name": r["item_name"], "slot_start": r["slot_start"],
            "slot_end": r["slot_end"], "name": r["name"], "phone": r["phone"], "state": r["state"],
            "booked_at": r["booked_at"], "checked_in_at": r["checked_in_at"], "no_show_at": r["no_show_at"],
            "cancelled_at": r["cancelled_at"], "ticket_id": r["ticket_id"], "version": r["version"],
        })

    def _same_day(self, c: sqlite3.Connection, person_key: str, day: str, exclude_code: str = "") -> bool:
        return c.execute(
            "SELECT 1 FROM appointments WHERE person_key = ? AND service_date = ? AND state != 'cancelled' "
            "AND code != ?", (person_key, day, exclude_code),
        ).fetchone() is not None

    def _new_code(self, c: sqlite3.Connection) -> str:
        for _ in range(20):
            code = short_code(6)
            if c.execute("SELECT 1 FROM appointments WHERE code = ?", (code,)).fetchone() is None:
                return code
        raise RuntimeError("could not find a free appointment code")

    def view(self, r: sqlite3.Row) -> dict[str, Any]:
        cat = self.ctx.config.category(r["category"])
        return {
            "id": r["id"], "code": r["code"], "qr": appointment_qr_payload(r["code"]), "source": r["source"],
            "category": r["category"], "category_name": cat.name if cat else r["category"],
            "item_code": r["item_code"], "item_name": r["item_name"], "service_date": r["service_date"],
            "slot_start": r["slot_start"], "slot_end": r["slot_end"], "name": mask_name(r["name"]),
            "phone": mask_phone(r["phone"]), "state": r["state"], "state_name": STATE_NAMES[r["state"]],
            "ticket_id": r["ticket_id"], "booked_at": r["booked_at"], "checked_in_at": r["checked_in_at"],
        }

    # ------------------------------------------------------------------ booking
    def book(self, req: AppointmentIn, actor: Actor) -> dict[str, Any]:
        """Staff book for a caller (manager page): one booking per person per day."""
        if self.ctx.config.category(req.category) is None:
            raise RecordError("unknown_category", f"业务类别 {req.category} 不存在", 404)
        start, end = self._local(req.slot_start), self._local(req.slot_end)
        if start.date() != end.date():
            raise invalid("预约时段不能跨天")
        if end <= self.ctx.now():
            raise invalid("预约时段已过")
        hours = self.ctx.config.hall.hours
        if hours.enforce and not (self.engine.is_open(start) and start.isoweekday() in hours.weekdays):
            raise invalid("预约时段不在办公时间内")
        person = normalise_phone(req.phone)
        day = start.date().isoformat()
        now = self.ctx.now_iso()
        with self.ctx.db.write() as c:
            if self._same_day(c, person, day):
                raise conflict("already_booked", f"该联系人 {day} 已有预约（每人每天限约一次）")
            code = self._new_code(c)
            cur = c.execute(
                """INSERT INTO appointments (code, source, category, item_code, item_name, service_date, slot_start,
                       slot_end, name, phone, person_key, state, booked_at, booked_by, updated_at, id_hash)
                   VALUES (?, 'hall', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?)""",
                (code, req.category, req.item_code, req.item_name, day, iso(start), iso(end), req.name,
                 req.phone, person, now, actor.id, now, self._id_hash(req.id_number)),
            )
            row = self._row(c, int(cur.lastrowid or 0))
            self.ctx.audit(c, actor, "appointment.book", f"appointment:{row['id']}", f"{req.category} {day}")
            self._relay(c, row)
            view = self.view(row)
        self.ctx.publish("appointment.updated", {"appointment_id": view["id"], "state": "booked"})
        return view

    def cancel(self, appt_id: int, actor: Actor) -> dict[str, Any]:
        with self.ctx.db.write() as c:
            r = self._row(c, appt_id)
            if r["state"] != "booked":
                raise conflict("bad_state", f"预约当前为“{STATE_NAMES[r['state']]}”，不能取消")
            now = self.ctx.now_iso()
            c.execute("UPDATE appointments SET state = 'cancelled', cancelled_at = ?, version = version + 1, "
                      "updated_at = ? WHERE id = ?", (now, now, appt_id))
            self.ctx.audit(c, actor, "appointment.cancel", f"appointment:{appt_id}")
            r = self._row(c, appt_id)
            self._relay(c, r)
            view = self.view(r)
        self.ctx.publish("appointment.updated", {"appointment_id": appt_id, "state": "cancelled"})
        return view

    def import_appointments(self, items: list[dict[str, Any]] | list[CountyAppointment],
                            actor: Actor | None = None) -> dict[str, Any]:
        """Appointments from the county sync, idempotent by code. Bad entries are reported, not fatal."""
        actor = actor or Actor("county", "county")
        added = updated = unchanged = 0
        errors: list[dict[str, str]] = []
        parsed: list[CountyAppointment] = []
        for i, it in enumerate(items):
            try:
                a = it if isinstance(it, CountyAppointment) else CountyAppointment.model_validate(it)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                code = str(it.get("code", "")) if isinstance(it, dict) else ""
                errors.append({"index": str(i), "code": code,
                               "error": f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"})
                continue
            if self.ctx.config.category(a.category) is None:
                errors.append({"index": str(i), "code": a.code, "error": f"未知业务类别 {a.category}"})
                continue
            parsed.append(a)
        now = self.ctx.now_iso()
        with self.ctx.db.write() as c:
            for a in parsed:
                code = a.code.upper()
                start, end = self._local(a.slot_start), self._local(a.slot_end)
                fields = (a.category, a.item_code, a.item_name, start.date().isoformat(), iso(start), iso(end),
                          a.name, a.phone, normalise_phone(a.phone))
                old = c.execute("SELECT * FROM appointments WHERE code = ?", (code,)).fetchone()
                if old is None:
                    if a.cancelled:
                        unchanged += 1
                        continue
                    c.execute(
                        """INSERT INTO appointments (code, source, category, item_code, item_name, service_date,
                               slot_start, slot_end, name, phone, person_key, state, booked_at, booked_by, updated_at,
                               id_hash)
                           VALUES (?, 'county', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, 'county', ?, ?)""",
                        (code, *fields, iso(self._local(a.booked_at)) if a.booked_at else now, now,
                         self._id_hash(a.id_number)),
                    )
                    added += 1
                    continue
                if old["state"] != "booked":       # checked in, no-show or cancelled here: the hall's fact stands
                    unchanged += 1
                    continue
                if a.cancelled:
                    c.execute("UPDATE appointments SET state = 'cancelled', cancelled_at = ?, updated_at = ? "
                              "WHERE id = ?", (now, now, old["id"]))
                    updated += 1
                    continue
                current = (old["category"], old["item_code"], old["item_name"], old["service_date"],
                           old["slot_start"], old["slot_end"], old["name"], old["phone"], old["person_key"])
                id_hash = self._id_hash(a.id_number)
                if id_hash is not None and old["id_hash"] != id_hash:
                    c.execute("UPDATE appointments SET id_hash = ? WHERE id = ?", (id_hash, old["id"]))
                if current == fields:
                    unchanged += 1
                    continue
                c.execute(
                    """UPDATE appointments SET category = ?, item_code = ?, item_name = ?, service_date = ?,
                           slot_start = ?, slot_end = ?, name = ?, phone = ?, person_key = ?, updated_at = ?
                       WHERE id = ?""",
                    (*fields, now, old["id"]),
                )
                updated += 1
            if added or updated:
                self.ctx.audit(c, actor, "appointment.import", "appointments",
                               f"新增{added} 更新{updated} 错误{len(errors)}")
        if errors:
            log.warning("appointment import: %d entr(ies) refused: %s", len(errors), errors[:5])
        return {"added": added, "updated": updated, "unchanged": unchanged, "errors": errors}

    # ------------------------------------------------------------------ kiosk
    def check_in(self, text: str, actor: Actor, *, terminal: str | None = None,
                 holder: CardHolder | None = None) -> dict[str, Any]:
        """预约签到 by code or QR: a ticket in the appointment lane (idempotent); `terminal`: the kiosk;
        `holder`: checked in with the ID card the booking was made under."""
        code = parse_code(text)
        if not code:
            raise invalid("请输入预约码")
        now = self.ctx.now()
        with self._checkin_lock:
            with self.ctx.db.read() as c:
                r = c.execute("SELECT * FROM appointments WHERE code = ?", (code,)).fetchone()
                if r is None:
                    raise RecordError("not_found", "未找到该预约码，请核对后重试", 404)
                existing = c.execute(
                    "SELECT id FROM tickets WHERE appointment_id = ? AND state != 'cancelled' ORDER BY id LIMIT 1",
                    (r["id"],),
                ).fetchone()
            state = r["state"]
            if state == "cancelled":
                raise conflict("cancelled", "该预约已取消，请重新预约或取普通号")
            if state == "no_show":
                raise conflict("no_show", "预约时段已过，预约已失效，请取普通号")
            if state == "booked":
                if r["service_date"] != now.date().isoformat():
                    raise conflict("wrong_day", f"您预约的是 {r['service_date']}，今天不能签到")
                if parse_iso(r["slot_end"]) <= now:
                    raise conflict("too_late", "预约时段已过，请取普通号")
            if existing is not None:
                ticket_id = int(existing[0])
            elif state == "checked_in":
                raise conflict("already_checked_in", "该预约已签到")
            else:
                result = self.engine.issue(r["category"], "appointment", appointment_id=r["id"],
                                           slot_start=parse_iso(r["slot_start"]), terminal=terminal,
                                           holder=holder)
                ticket_id = result.ticket.id
            if state == "booked":
                with self.ctx.db.write() as c:
                    ts = self.ctx.now_iso()
                    c.execute("UPDATE appointments SET state = 'checked_in', checked_in_at = ?, ticket_id = ?, "
                              "version = version + 1, updated_at = ? WHERE id = ? AND state = 'booked'",
                              (ts, ticket_id, ts, r["id"]))
                    self.ctx.audit(c, actor, "appointment.check_in", f"appointment:{r['id']}", f"ticket:{ticket_id}")
                    r = self._row(c, r["id"])
                    self._relay(c, r)
                self.ctx.publish("appointment.updated", {"appointment_id": r["id"], "state": "checked_in"})
            with self.ctx.db.read() as c:
                r = self._row(c, r["id"])
        status = self.engine.ticket_status(ticket_id)
        return {"appointment": self.view(r), "already": state == "checked_in", **status}

    # ------------------------------------------------------------------ no-shows
    def mark_no_shows(self) -> int:
        """Bookings whose slot ended without a check-in become no-shows (爽约), relayed."""
        now = self.ctx.now_iso()
        with self.ctx.db.write() as c:
            rows = c.execute("SELECT id FROM appointments WHERE state = 'booked' AND slot_end <= ?",
                             (now,)).fetchall()
            for (appt_id,) in rows:
                c.execute("UPDATE appointments SET state = 'no_show', no_show_at = ?, version = version + 1, "
                          "updated_at = ? WHERE id = ?", (now, now, appt_id))
                self._relay(c, self._row(c, appt_id), "appointment_noshow")
            if rows:
                self.ctx.audit(c, Actor("system", "system"), "appointment.no_show", "appointments", str(len(rows)))
        return len(rows)

    # ------------------------------------------------------------------ reading
    def search(self, *, day: str | None = None, start_day: str | None = None, end_day: str | None = None,
               state: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        sql = "SELECT * FROM appointments WHERE 1=1"
        args: list[Any] = []
        for cond, val in (("service_date = ?", day), ("service_date >= ?", start_day),
                          ("service_date < ?", end_day), ("state = ?", state)):
            if val is not None:
                sql += f" AND {cond}"
                args.append(val)
        sql += " ORDER BY slot_start, id LIMIT ?"
        args.append(max(1, min(limit, 5000)))
        with self.ctx.db.read() as c:
            return [self.view(r) for r in c.execute(sql, args)]
