"""Villages and their agents (代办员), administered by the township manager in the database.

Agents are not config staff: they sign in with a login and a PIN kept here as a
salted hash (hall.security.hash_pin), and their sessions are resolved through
`principal()` on every request, so a disabled agent or one moved to another
village is out of the old village at once.

What the station page shows is public by design (the county plan requires the
agents' names and phones to be posted); the agents' ID numbers are kept only
for the case records that go to the county and are always shown masked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from hall.queue.clock import Clock, iso
from hall.records.util import audit
from hall.security import hash_pin, mask_id, verify_pin
from hall.sessions import Principal
from hall.store.db import Database
from hall.village.base import Who, agent_id_of, agent_principal_id, conflict, invalid, not_found
from hall.village.models import AgentIn, AgentUpdate, VillageIn, VillageUpdate, check_cert

# A PIN that never verifies: checking it costs the same time as a real one (no login enumeration).
_DUMMY_HASH = hash_pin("not-a-pin-000000", iterations=120_000, salt=b"\0" * 16)


class Directory:
    def __init__(self, db: Database, clock: Clock, staff_ids: Callable[[], set[str]]) -> None:
        self.db = db
        self.clock = clock
        self._staff_ids = staff_ids

    def _now(self) -> str:
        return iso(self.clock.now())

    # ------------------------------------------------------------------ villages
    # dup-ok: row-or-404 and a view per table; _agent_row/agent_view below (and ledger_views) are alike
    def _village_row(self, c: sqlite3.Connection, village_id: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM villages WHERE id = ?", (village_id,)).fetchone()
        if row is None:
            raise not_found(f"村（社区）{village_id} ")
        return row

    @staticmethod
    def _village_view(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "station_name": row["station_name"],
            "address": row["address"],
            "phone": row["phone"],
            "hours": row["hours"],
            "active": bool(row["active"]),
        }

    def villages(self, *, active_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT * FROM villages" + (" WHERE active = 1" if active_only else "") + " ORDER BY id"
        return [self._village_view(r) for r in self.db.conn.execute(sql)]

    def village(self, village_id: int) -> dict[str, Any]:
        return self._village_view(self._village_row(self.db.conn, village_id))

    def add_village(self, req: VillageIn, who: Who) -> dict[str, Any]:
        now = self._now()
        station = req.station_name or f"{req.name}便民服务站"
        with self.db.write() as c:
            try:
                cur = c.execute(
                    "INSERT INTO villages (name, station_name, address, phone, hours, active, created_at, "
                    "updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (req.name, station, req.address, req.phone or "", req.hours, int(req.active), now, now),
                )
            except sqlite3.IntegrityError as exc:
                raise conflict("duplicate", f"已有名为“{req.name}”的村（社区）") from exc
            vid = int(cur.lastrowid or 0)
            audit(c, now, who.actor(), "village.add", f"village:{vid}", req.name)
            return self._village_view(self._village_row(c, vid))

    def update_village(self, village_id: int, req: VillageUpdate, who: Who) -> dict[str, Any]:
        changes = req.model_dump(exclude_unset=True)
        if "phone" in changes and changes["phone"] is None:
            changes["phone"] = ""
        if not changes:
            raise invalid("没有要修改的内容")
        now = self._now()
        with self.db.write() as c:
            self._village_row(c, village_id)
            sets = ", ".join(f"{k} = ?" for k in changes)
            values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
            try:
                c.execute(
                    f"UPDATE villages SET {sets}, updated_at = ? WHERE id = ?", (*values, now, village_id)
                )
            except sqlite3.IntegrityError as exc:
                raise conflict("duplicate", f"已有名为“{changes.get('name')}”的村（社区）") from exc
            audit(c, now, who.actor(), "village.update", f"village:{village_id}", ",".join(sorted(changes)))
            return self._village_view(self._village_row(c, village_id))

    # ------------------------------------------------------------------ agents
    # dup-ok: row-or-404 and a view per table, like _village_row above
    def _agent_row(self, c: sqlite3.Connection, agent_id: int) -> sqlite3.Row:
        row = c.execute("SELECT * FROM village_agents WHERE id = ?", (agent_id,)).fetchone()
        if row is None:
            raise not_found(f"代办员 {agent_id} ")
        return row

    @staticmethod
    def agent_view(row: sqlite3.Row) -> dict[str, Any]:
        """The manager's view: public contact details, the ID number masked, never the PIN hash."""
        return {
            "id": row["id"],
            "village_id": row["village_id"],
            "login": row["login"],
            "name": row["name"],
            "duty": row["duty"],
            "phone": row["phone"],
            "cert_type": row["cert_type"],
            "cert_no": mask_id(row["cert_no"]),
            "active": bool(row["active"]),
        }

    @staticmethod
    def public_agent(row: sqlite3.Row) -> dict[str, Any]:
        """What the station page posts: name, duty and phone (as the county plan requires)."""
        return {"id": row["id"], "name": row["name"], "duty": row["duty"], "phone": row["phone"]}

    def agents(self, village_id: int | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM village_agents", []
        if village_id is not None:
            sql += " WHERE village_id = ?"
            args.append(village_id)
        return [self.agent_view(r) for r in self.db.conn.execute(sql + " ORDER BY village_id, id", args)]

    def agent(self, agent_id: int) -> dict[str, Any]:
        return self.agent_view(self._agent_row(self.db.conn, agent_id))

    def agent_row(self, c: sqlite3.Connection, agent_id: int) -> sqlite3.Row:
        return self._agent_row(c, agent_id)

    def _check_login(self, login: str) -> None:
        if login.lower() in {s.lower() for s in self._staff_ids()}:
            raise conflict("duplicate", f"登录名“{login}”与大厅工作人员工号相同，请换一个")

    def add_agent(self, req: AgentIn, who: Who) -> dict[str, Any]:
        self._check_login(req.login)
        pin_hash = hash_pin(req.pin)
        now = self._now()
        with self.db.write() as c:
            self._village_row(c, req.village_id)
            try:
                cur = c.execute(
                    "INSERT INTO village_agents (village_id, login, name, duty, phone, cert_type, cert_no, "
                    "pin_hash, "
                    "active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        req.village_id,
                        req.login,
                        req.name,
                        req.duty,
                        req.phone,
                        req.cert_type,
                        req.cert_no,
                        pin_hash,
                        int(req.active),
                        now,
                        now,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise conflict("duplicate", f"登录名“{req.login}”已被使用") from exc
            aid = int(cur.lastrowid or 0)
            audit(
                c,
                now,
                who.actor(),
                "village.agent.add",
                agent_principal_id(aid),
                f"village:{req.village_id} {req.login}",
            )
            return self.agent_view(self._agent_row(c, aid))

    def update_agent(self, agent_id: int, req: AgentUpdate, who: Who) -> dict[str, Any]:
        changes = req.model_dump(exclude_unset=True)
        pin = changes.pop("pin", None)
        if not changes and pin is None:
            raise invalid("没有要修改的内容")
        now = self._now()
        with self.db.write() as c:
            row = self._agent_row(c, agent_id)
            if "village_id" in changes:
                self._village_row(c, changes["village_id"])
            cert_type = changes.get("cert_type", row["cert_type"])
            if "cert_type" in changes or "cert_no" in changes:
                try:
                    changes["cert_no"] = check_cert(cert_type, changes.get("cert_no", row["cert_no"]))
                except ValueError as exc:
                    raise invalid(str(exc)) from exc
            if "phone" in changes and not changes["phone"]:
                raise invalid("请填写代办员联系电话（将在服务站公示）")
            if pin is not None:
                changes["pin_hash"] = hash_pin(pin)
            sets = ", ".join(f"{k} = ?" for k in changes)
            values = [int(v) if isinstance(v, bool) else v for v in changes.values()]
            c.execute(
                f"UPDATE village_agents SET {sets}, updated_at = ? WHERE id = ?", (*values, now, agent_id)
            )
            what = sorted(k if k != "pin_hash" else "pin" for k in changes)
            audit(c, now, who.actor(), "village.agent.update", agent_principal_id(agent_id), ",".join(what))
            return self.agent_view(self._agent_row(c, agent_id))

    # ------------------------------------------------------------------ sign-in
    def check_pin(self, login: str, pin: str) -> Principal | None:
        """The agent for this login and PIN, or None (same work either way)."""
        row = self.db.conn.execute(
            "SELECT a.*, v.active AS village_active FROM village_agents a "
            "JOIN villages v ON v.id = a.village_id "
            "WHERE a.login = ?",
            (login.strip(),),
        ).fetchone()
        ok = verify_pin(pin, row["pin_hash"] if row is not None else _DUMMY_HASH)
        if row is None or not ok or not row["active"] or not row["village_active"]:
            return None
        return self._principal(row)

    @staticmethod
    def _principal(row: sqlite3.Row) -> Principal:
        return Principal(agent_principal_id(row["id"]), row["name"], "agent", row["duty"], row["village_id"])

    def principal(self, principal_id: str) -> Principal | None:
        """Session resolver: the agent as they are now, None if disabled (or their village is)."""
        aid = agent_id_of(principal_id)
        if aid is None:
            return None
        row = self.db.conn.execute(
            "SELECT a.*, v.active AS village_active FROM village_agents a "
            "JOIN villages v ON v.id = a.village_id "
            "WHERE a.id = ?",
            (aid,),
        ).fetchone()
        if row is None or not row["active"] or not row["village_active"]:
            return None
        return self._principal(row)

    def name_of(self, principal_id: str) -> str | None:
        aid = agent_id_of(principal_id)
        if aid is None:
            return None
        row = self.db.conn.execute("SELECT name FROM village_agents WHERE id = ?", (aid,)).fetchone()
        return str(row[0]) if row else None
