"""The composition root: builds store, engine, hub, devices and relay from a config.

This is the only place that knows how the parts fit together; `create_app`
only wires routes to what is built here.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall.backup.auto import AutoBackup
from hall.backup.monthly_report import MonthlyReportWriter
from hall.cardreads import CardReads
from hall.clockcheck import ClockMonitor
from hall.config.schema import County, HallConfig
from hall.drivers.factory import DeviceContext, build_devices
from hall.drivers.manager import DeviceManager
from hall.events import EventHub
from hall.housekeeping import Housekeeping
from hall.manage.attendance import record_first_days
from hall.manage.broadcast import Broadcasts
from hall.manage.notices import Notices
from hall.manage.roster import DutyRoster
from hall.queue.clock import Clock
from hall.queue.engine import QueueEngine
from hall.records.catalog import CatalogStore
from hall.records.service import CatalogItems, Records
from hall.records.workdays import WorkCalendar
from hall.relay.outbox import outbox_status
from hall.relay.sender import Relay
from hall.retention import Pruner
from hall.security import redact_text
from hall.sessions import SessionStore
from hall.store.db import Database
from hall.village.service import VillageService

log = logging.getLogger(__name__)


@dataclass
class Services:
    config: HallConfig
    data_dir: Path
    db: Database
    hub: EventHub
    engine: QueueEngine
    sessions: SessionStore
    devices: DeviceManager
    clock: Clock
    notices: Notices
    roster: DutyRoster
    catalog: CatalogStore              # the service guide; county versions swap in atomically
    records: Records | None = None
    calendar: WorkCalendar | None = None  # working days (China's holidays, hall list, Mon–Fri fallback)
    relay: Relay | None = None         # the outbox sender; None when no county endpoint is configured
    village: VillageService | None = None  # village stations: agents, 代办 ledger, duty roster, oversight
    backups: AutoBackup | None = None  # the daily automatic backup and its state (/healthz, technician)
    clock_check: ClockMonitor | None = None  # the PC clock against the county's Date header / SNTP
    pruner: Pruner | None = None       # daily pruning by [retention]
    housekeeping: Housekeeping | None = None  # periodic chores: backup, pruning, clock check
    broadcasts: Broadcasts | None = None  # the manager's hall broadcast (board, LED, voice, kiosk) and its expiry
    monthly_report: MonthlyReportWriter | None = None
    cards: CardReads | None = None     # ID-card reads for 刷身份证取号 and case prefill (memory only)
    started_at: float = field(default_factory=time.time)
    log_file: Path | None = None
    config_path: Path | None = None    # the file the running config came from (technician config check)
    # server settings the command line set in memory only (--host/--port): no edit of the file
    config_overrides: dict[str, Any] = field(default_factory=dict)
    demo_pairing_codes: dict[int, str] = field(default_factory=dict)  # demo only: start-up codes shown on /tech
    _threads: list[threading.Thread] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start background work: devices and the midnight roll-over."""
        # dup-ok: optional parts start here and stop in stop() in their own order; each `if part is not None` names one
        self.engine.roll_over()
        self.devices.start()
        if self.broadcasts is not None:
            self.broadcasts.start()
        if self.records is not None:
            self.records.start()
        if self.relay is not None:
            self.relay.start()
        # The guide's pinyin index costs ~0.5 s (pypinyin): build it off the request threads.
        threading.Thread(target=self.catalog.warm, name="catalog-index", daemon=True).start()
        t = threading.Thread(target=self._daily, name="daily-scheduler", daemon=True)
        t.start()
        self._threads.append(t)
        if self.backups is not None:
            self.backups.config_path = self.config_path  # known only once serve set it
        self.housekeeping = Housekeeping(self.clock.now, self.chores(), after=self.db.release)
        self.housekeeping.start()

    def chores(self) -> list[tuple[str, Any]]:
        """What the housekeeping thread runs (each decides itself whether it is due)."""
        out: list[tuple[str, Any]] = []
        if self.clock_check is not None:
            out.append(("clock", self.clock_check.tick))
        if self.backups is not None:
            out.append(("backup", self.backups.tick))
        if self.pruner is not None:
            out.append(("retention", self.pruner.tick))
        if self.monthly_report is not None:
            out.append(("monthly-report", self.monthly_report.tick))
        return out

    def health_warnings(self) -> list[dict[str, str]]:
        """Conditions a technician must see on /healthz and the technician page (the hall still serves)."""
        out: list[dict[str, str]] = []
        if self.backups is not None:
            b = self.backups.status(self.clock.now())
            if b["warning"]:
                out.append({"item": "backup", "message": b["warning"]})
        if self.clock_check is not None:
            c = self.clock_check.status()
            if c["warning"]:
                out.append({"item": "clock", "message": c["warning"]})
        return out

    def _daily(self) -> None:
        # Wake at local midnight (at least hourly, in case the clock jumps) and
        # close the old day's leftovers; roll_over is idempotent and cheap.
        while not self._stop.is_set():
            wait = (self.engine.next_midnight() - self.clock.now()).total_seconds() + 1
            if self._stop.wait(min(max(wait, 1.0), 3600.0)):
                return
            try:
                self.engine.roll_over()
                if self.cards is not None:
                    self.cards.drop_day()
            except Exception:
                log.exception("daily roll-over failed")
            finally:
                self.db.release()      # back to the pool until tomorrow (see Database.release)

    def relay_status(self) -> dict[str, Any]:
        """Backlog, oldest pending age, last success/error, dead letters, drain progress (/healthz, technician)."""
        if self.relay is not None:
            return self.relay.status()
        return outbox_status(self.db) | {"state": "not_configured", "running": False}

    # dup-ok: optional parts stop in the reverse of start()'s order; each `if part is not None` names one
    def stop(self) -> None:
        self._stop.set()
        if self.pruner is not None:
            self.pruner.stop()
        if self.monthly_report is not None:
            self.monthly_report.stop()   # ends a workbook child still running, before housekeeping is joined
        if self.housekeeping is not None:
            self.housekeeping.stop()
        if self.relay is not None:
            self.relay.stop()
        if self.broadcasts is not None:
            self.broadcasts.stop()
        self.hub.close()
        if self.records is not None:
            self.records.stop()
        self.devices.stop()
        self.db.close()


def build_services(config: HallConfig, data_dir: Path, *, clock: Clock | None = None,
                   db_name: str = "hall.db", with_devices: bool = True) -> Services:
    clock = clock or Clock(config.hall.timezone)
    db = Database(data_dir / db_name)
    # event ids start at the boot time in ms: unique across restarts, so screens resync after one
    # 500 events: several minutes of a busy hall for a screen that reconnects; one that missed more
    # resyncs from a snapshot anyway (a larger ring only held more memory)
    hub = EventHub(buffer=500, max_streams=config.server.max_streams, first_id=int(time.time() * 1000))
    engine = QueueEngine(db, config, clock=clock, publish=hub.publish)
    sessions = SessionStore(db, config, clock)
    devices = DeviceManager()
    services = Services(config=config, data_dir=data_dir, db=db, hub=hub, engine=engine, sessions=sessions,
                        devices=devices, clock=clock, notices=Notices(db, clock, hub.publish),
                        roster=DutyRoster(db, config, clock),
                        catalog=CatalogStore(data_dir, categories=[c.prefix for c in config.categories],
                                             now=clock.now, publish=hub.publish))
    record_first_days(db, config, clock.today())    # attendance counts each clerk from their first day
    # Records before devices: evaluators get the rating sink, printers the rating URL.
    services.records = Records(config, data_dir, db, engine, clock, hub.publish,
                               items=CatalogItems(data_dir, [c.prefix for c in config.categories],
                                                  lambda: getattr(services, "catalog", None)))
    services.calendar = services.records.calendar
    services.backups = AutoBackup(config, data_dir)
    services.clock_check = ClockMonitor(config.clock)
    services.pruner = Pruner(db, config.retention)
    services.broadcasts = Broadcasts(db, clock, hub.publish)
    services.monthly_report = MonthlyReportWriter(config, data_dir, db.path)
    services.village = VillageService(config, data_dir, db, clock, calendar=services.calendar,
                                      catalog=lambda: services.catalog.current, records=lambda: services.records,
                                      publish=hub.publish)
    services.village.attach(sessions)      # agents sign in with role "agent", scoped to their village
    county = config.county
    if county.endpoint == "emulator://":  # emulated like the devices, and only when they are
        county = (_start_county_simulator(config, data_dir, devices) if with_devices
                  else county.model_copy(update={"endpoint": ""}))
    if county.endpoint:
        # acknowledged rows stay as long as the records; their personal fields go earlier (hall.retention)
        services.relay = Relay.from_config(db, county, publish=hub.publish, keep_acked_days=config.retention.days)
        services.relay.watch_dates(services.clock_check.observe_date_header)
        hub.add_listener(services.relay.on_event)  # a new record wakes the sender
        # What comes back from the county: fetched by the relay, validated and installed by the records.
        services.relay.sync_into(catalog=services.catalog.apply, reasons=services.records.reasons.install,
                                 appointments=services.records.import_appointments,
                                 holidays=services.records.calendar.set_year,
                                 holiday_years=lambda: [clock.today().year, clock.today().year + 1])
    records = services.records
    services.cards = CardReads(config, clock, devices.get, hub.publish, find_appointment=records.appointments.for_card)
    hub.add_listener(services.cards.on_event)
    if with_devices:
        build_devices(DeviceContext(config=config, hub=hub, engine=engine, data_dir=data_dir, clock=clock,
                                    manager=devices, redact=redact_text, release=db.release,
                                    extra={"rating_sink": records.rating_sink,
                                           "rating_url": records.rating_url,
                                           "id_hash_key": records.id_key,
                                           "broadcasts": services.broadcasts.current}))
    return services


def _start_county_simulator(config: HallConfig, data_dir: Path, devices: DeviceManager) -> County:
    """Demo only (`endpoint = "emulator://"`): a county simulator on loopback, so the relay runs for real.

    The signing secret is made once per data folder and kept there; the
    simulator's received messages live in the same folder for inspection.
    """
    import secrets

    from hall.relay.county_sim import CountySimulator

    key_file = data_dir / "county-sim.key"
    if not key_file.exists():
        tmp = key_file.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32), encoding="utf-8")
        tmp.replace(key_file)
    secret = key_file.read_text(encoding="utf-8").strip().encode()
    hall_id = config.county.hall_id or config.hall.region_code
    sim = CountySimulator(secrets={hall_id: secret}, store_path=data_dir / "county-sim.db").start()
    devices.add_emulator("county", sim)
    log.info("demo county platform simulator at %s", sim.url)
    return config.county.model_copy(update={"endpoint": sim.url, "hall_id": hall_id, "secret_file": str(key_file)})
