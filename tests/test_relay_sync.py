"""Catalog, reason lists and appointments from the county: fetched by the relay, installed by the records."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.relay.county_sim import CountySimulator
from hall.services import Services

from tests import relay_support
from tests.waiting import wait_until

SECRET = "sync-test-secret-0123456789"


sim = relay_support.county_sim(SECRET)


@pytest.fixture
def svc(tmp_path: Path, config: HallConfig, clock: FixedClock, sim: CountySimulator,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    yield from relay_support.hall_on_county(tmp_path, config, clock, sim, monkeypatch, SECRET)


def job(svc: Services, name: str) -> object:
    assert svc.relay is not None
    (j,) = [j for j in svc.relay.sync.jobs if j.name == name]
    return j


def run(svc: Services, name: str) -> bool:
    assert svc.relay is not None
    return svc.relay.sync.run_job(job(svc, name))  # type: ignore[arg-type]


def sync_status(svc: Services, name: str) -> dict:
    st: dict = svc.relay_status()["sync"][name]
    return st


def newer_catalog(sim: CountySimulator, version: str) -> dict:
    doc = copy.deepcopy(sim.catalog)
    doc["version"] = version
    doc["published_at"] = "2026-11-30T08:00:00+08:00"
    doc["items"][0]["name"] = doc["items"][0]["name"] + "（新）"
    return doc


def test_the_service_schedules_catalog_reasons_and_appointments(svc: Services) -> None:
    assert svc.relay is not None
    assert sorted(j.name for j in svc.relay.sync.jobs) == ["appointments", "catalog", "holidays", "reasons"]


def test_a_new_catalog_version_is_fetched_applied_and_then_not_fetched_again(svc: Services,
                                                                              sim: CountySimulator) -> None:
    sim.set_catalog(newer_catalog(sim, "2026.11-county-2"))
    assert run(svc, "catalog")
    assert svc.catalog.current.version == "2026.11-county-2"
    assert sync_status(svc, "catalog")["detail"].startswith("applied")
    assert run(svc, "catalog")
    assert sync_status(svc, "catalog")["detail"] == "unchanged (304)"


def test_an_invalid_catalog_is_refused_and_the_last_good_one_stays(svc: Services, sim: CountySimulator) -> None:
    before = svc.catalog.current.version
    bad = newer_catalog(sim, "broken-1")
    bad["items"][0].pop("name")
    sim.set_catalog(bad)
    assert run(svc, "catalog")  # fetched fine; the catalog store refused it
    assert svc.catalog.current.version == before
    assert sync_status(svc, "catalog")["detail"].startswith("rejected")
    assert run(svc, "catalog")  # a refused version is looked at again, not remembered as current
    assert sync_status(svc, "catalog")["detail"].startswith("rejected")


def test_county_unreachable_keeps_the_kiosk_on_its_catalog(svc: Services, sim: CountySimulator) -> None:
    before = svc.catalog.current.version
    sim.fault("refuse")
    assert not run(svc, "catalog")
    st = sync_status(svc, "catalog")
    assert st["ok"] is False and "连接被拒绝" in st["detail"]
    assert svc.catalog.current.version == before and len(svc.catalog.current) > 0


def test_reason_lists_are_installed_by_version(svc: Services, sim: CountySimulator) -> None:
    assert svc.records is not None
    sim.set_reasons({"version": "county-7", "rating_reasons": [{"code": "R01", "text": "指南不清楚"},
                                                                {"code": "R77", "text": "县里新增的原因"}],
                     "complaint_reasons": [{"code": "C01", "text": "服务态度"}]})
    assert run(svc, "reasons")
    assert svc.records.reasons.current().version == "county-7"
    assert "R77" in {r.code for r in svc.records.reasons.current().rating}
    assert run(svc, "reasons")
    assert sync_status(svc, "reasons")["detail"] == "unchanged (304)"


def test_appointments_booked_on_the_county_platform_arrive_once(svc: Services, sim: CountySimulator) -> None:
    for i in range(3):
        sim.add_appointment({"code": f"YY2026{i:04d}", "category": "C", "slot_start": "2026-11-25T10:00:00+08:00",
                             "slot_end": "2026-11-25T10:30:00+08:00", "name": "张*", "phone": f"1381234000{i}"})
    assert run(svc, "appointments")
    assert sync_status(svc, "appointments")["detail"] == "added 3, updated 0, refused 0"
    assert run(svc, "appointments")
    assert sync_status(svc, "appointments")["detail"] == "added 0, updated 0, refused 0"  # the cursor moved
    sim.add_appointment({"code": "YY20260001", "category": "C", "slot_start": "2026-11-25T10:00:00+08:00",
                         "slot_end": "2026-11-25T10:30:00+08:00", "name": "张*", "phone": "13812340001",
                         "cancelled": True})
    assert run(svc, "appointments")
    assert sync_status(svc, "appointments")["detail"] == "added 0, updated 1, refused 0"
    states = dict(svc.db.conn.execute("SELECT code, state FROM appointments ORDER BY code").fetchall())
    assert states == {"YY20260000": "booked", "YY20260001": "cancelled", "YY20260002": "booked"}


def test_the_sync_thread_runs_the_jobs(svc: Services, sim: CountySimulator) -> None:
    assert svc.relay is not None
    sim.set_catalog(newer_catalog(sim, "thread-1"))
    svc.relay.sync.start(first_delay=0.0)
    wait_until(lambda: svc.catalog.current.version == "thread-1")
    assert svc.catalog.current.version == "thread-1"
    svc.relay.sync.stop()


def test_official_holiday_lists_are_installed_for_years_the_package_does_not_know(
        svc: Services, sim: CountySimulator) -> None:
    from datetime import date

    assert svc.records is not None
    cal = svc.records.calendar
    assert run(svc, "holidays")  # nothing published yet: fine, nothing installed
    assert "not published" in sync_status(svc, "holidays")["detail"]
    sim.set_holidays(2027, {"holidays": ["2027-01-01", "2027-10-01", "2027-10-04"],
                            "workdays": ["2027-10-09"], "source": "模拟器测试数据（非真实安排）"})
    assert run(svc, "holidays")  # the hall's clock says 2026-11: it asks for 2026 and 2027
    assert "2027: installed" in sync_status(svc, "holidays")["detail"]
    assert "2027" in str(cal.years()["hall"])
    assert cal.is_workday(date(2027, 10, 9)) and not cal.is_workday(date(2027, 10, 4))
    assert run(svc, "holidays")
    assert "2027: unchanged" in sync_status(svc, "holidays")["detail"]
    sim.set_holidays(2027, {"holidays": ["2026-12-31"], "workdays": [], "source": "x"})  # wrong year: refused
    assert run(svc, "holidays")
    assert "2027: rejected" in sync_status(svc, "holidays")["detail"]
    assert not cal.is_workday(date(2027, 10, 4))  # the good list stays
