"""The village stations part of the service, built once by the composition root.

`VillageService` bundles the directory of villages and agents, the 代办 ledger,
the duty roster and the township's oversight over the shared store, and lets
agents hold sessions (role "agent", bound to their village) by registering the
directory as the session resolver for that role.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import Clock
from hall.sessions import Principal, SessionStore
from hall.store.db import Database
from hall.village.base import Who, not_found
from hall.village.directory import Directory
from hall.village.ledger import Ledger
from hall.village.oversight import Oversight
from hall.village.roster import VillageRoster


class VillageService:
    # dup-ok: takes the collaborators it hands on to ledger_core.py, hence the same parameters
    def __init__(
        self,
        config: HallConfig,
        data_dir: Path,
        db: Database,
        clock: Clock,
        *,
        calendar: Any,
        catalog: Callable[[], Any],
        records: Callable[[], Any],
        publish: Callable[[str, dict[str, Any]], Any] | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.directory = Directory(db, clock, lambda: {s.id for s in config.staff})
        is_workday: Callable[[date], bool] = (
            calendar.is_workday if calendar is not None else (lambda d: d.isoweekday() <= 5)
        )
        self.ledger = Ledger(
            db,
            clock,
            data_dir,
            calendar=calendar,
            catalog=catalog,
            records=records,
            names=self.name_of,
            publish=publish,
        )
        self.roster = VillageRoster(db, clock, is_workday)
        self.oversight = Oversight(db, clock, self.ledger, self.roster)

    def attach(self, sessions: SessionStore) -> None:
        """Agents sign in and hold sessions with role "agent" (resolved from the database on each request)."""
        sessions.register_resolver("agent", self.directory.principal)

    def login(self, sessions: SessionStore, login: str, pin: str, remote: str = "") -> Principal:
        return sessions.authenticate_principal(
            f"agent-login:{login.lower()}", lambda: self.directory.check_pin(login, pin), "登录名或密码错误",
            remote=remote,
        )

    def name_of(self, principal_id: str | None) -> str | None:
        """A display name for an agent ("agent:<id>") or a staff id."""
        if not principal_id:
            return None
        name = self.directory.name_of(principal_id)
        if name is not None:
            return name
        staff = self.config.staff_member(principal_id)
        return staff.name if staff else None

    # ------------------------------------------------------------------ demo
    DEMO_PIN = "246810"

    def seed_demo(self) -> bool:
        """Two villages with agents and this fortnight's duty roster, for a demo hall with none yet."""
        from hall.village.models import AgentIn, VillageIn

        if self.directory.villages():
            return False
        system = Who("system", "演示数据", "manager")
        demo = [
            (
                VillageIn(
                    name="青石村",
                    address="青石村村部一楼",
                    phone="0731-5201234",
                    hours="工作日 8:30–12:00，14:00–17:30",
                ),
                [
                    ("qs01", "李春花", "村委委员", "13812345678", "430224198001011237"),
                    ("qs02", "王建国", "村支书", "13907311234", "430224197811083318"),
                ],
            ),
            (
                VillageIn(name="红星社区", address="红星社区服务中心", hours="工作日 8:30–17:30"),
                [("hx01", "赵大成", "代办员", "13787654321", "430224196203154528")],
            ),
        ]
        today = self.clock.today()
        for village, agents in demo:
            v = self.directory.add_village(village, system)
            ids = [
                self.directory.add_agent(
                    AgentIn(
                        village_id=v["id"],
                        login=login,
                        name=name,
                        duty=duty,
                        phone=phone,
                        cert_no=cert,
                        pin=self.DEMO_PIN,
                    ),
                    system,
                )["id"]
                for login, name, duty, phone, cert in agents
            ]
            self.roster.rotate(system, v["id"], today, today + timedelta(days=13), ids)
        return True

    # ------------------------------------------------------------------ the public station page
    def station(self, village_id: int) -> dict[str, Any]:
        """What the station page shows: the station, its agents' names and phones, today's duty agent."""
        village = self.directory.village(village_id)
        if not village["active"]:
            raise not_found(f"村（社区）{village_id} ")
        today = self.clock.today()
        rows = self.db.conn.execute(
            "SELECT * FROM village_agents WHERE village_id = ? AND active = 1 ORDER BY id", (village_id,)
        ).fetchall()
        week = self.roster.village_days(village_id, today, date.fromordinal(today.toordinal() + 6))
        return {
            "village": village,
            "agents": [self.directory.public_agent(r) for r in rows],
            "today": today.isoformat(),
            "workday": self.roster.is_workday(today),
            "on_duty": self.roster.on_duty(village_id, today),
            "week": [{"day": d["day"], "workday": d["workday"], "agent": d["agent"]} for d in week],
        }

    def me(self, who: Who) -> dict[str, Any]:
        """An agent's own page header: their village, their colleagues, who is on duty today."""
        assert who.village_id is not None
        station = self.station(who.village_id)
        return {"agent": {"id": who.id, "name": who.name}, **station}
