"""The daily automatic backup: when it runs, GFS rotation, and a missing USB disk as a warning, not a failure."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hall.backup.archive import verify
from hall.backup.auto import AutoBackup
from hall.backup.rotation import auto_backups, keep
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.services import build_services

from tests.conftest import T0


def _names(days: list[datetime]) -> list[tuple[datetime, Path]]:
    return [(d, Path(f"hall-backup-1-{d:%Y%m%d-%H%M%S}-auto.zip")) for d in days]


def test_rotation_keeps_7_daily_4_weekly_12_monthly() -> None:
    start = datetime(2025, 1, 1, 12, 15)
    backups = _names([start + timedelta(days=i) for i in range(500)])  # one a day for 500 days
    kept = sorted(p.name for p in keep(backups, 7, 4, 12))
    newest = start + timedelta(days=499)
    dailies = {f"hall-backup-1-{newest - timedelta(days=i):%Y%m%d}-121500-auto.zip" for i in range(7)}
    assert dailies <= set(kept)
    # 7 days + up to 4 week ends + up to 12 month ends, overlapping where they coincide
    assert 12 <= len(kept) <= 7 + 4 + 12
    months = {n[14:20] for n in kept}
    assert len(months) == 12  # one per month for the last 12 months
    # two backups on one day: only the newer of the day counts
    twice = _names([start, start + timedelta(hours=3)])
    assert keep(twice, 1, 0, 0) == {twice[1][1]}


def _auto(tmp_path: Path, config: HallConfig, **backup: Any) -> tuple[AutoBackup, FixedClock]:
    cfg = config.model_copy(update={"backup": config.backup.model_copy(update=backup)})
    clock = FixedClock(T0)
    svc = build_services(cfg, tmp_path / "data", clock=clock, with_devices=False)
    svc.engine.issue("A")
    svc.stop()
    return AutoBackup(cfg, tmp_path / "data", settle_seconds=0), clock


def test_runs_once_a_day_after_its_time_and_rotates(tmp_path: Path, config: HallConfig) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    auto, clock = _auto(tmp_path, config, folder=str(folder), keep_daily=3, keep_weekly=0, keep_monthly=0)
    assert auto.tick(clock.now()) is None  # 09:00 is before daily_at (12:15)
    clock.set(T0.replace(hour=12, minute=20))
    first = auto.tick(clock.now())
    assert first is not None and first.parent == folder and first.name.endswith("-auto.zip")
    assert verify(first, tmp_path / "v")["database"]["tickets"] == 1
    clock.advance(hours=2)
    assert auto.tick(clock.now()) is None  # already done today
    for _ in range(5):
        clock.advance(days=1)
        assert auto.tick(clock.now()) is not None
    (folder / "hall-backup-manual-20200101-000000.zip").write_bytes(b"a technician's own copy")
    assert len(auto_backups(folder)) == 3  # rotated down to keep_daily
    assert (folder / "hall-backup-manual-20200101-000000.zip").exists()  # hand-made backups are never pruned
    st = auto.status(clock.now())
    assert st["state"] == "ok" and st["warning"] == "" and st["last_backup_at"].startswith("2026-11-30")


def test_missing_usb_disk_is_a_warning_on_healthz_and_the_hall_keeps_serving(tmp_path: Path,
                                                                             config: HallConfig) -> None:
    usb = tmp_path / "media" / "usb"  # the disk is not plugged in: its mount point does not exist
    cfg = config.model_copy(update={"backup": config.backup.model_copy(update={"folder": str(usb)})})
    clock = FixedClock(T0.replace(hour=13))
    svc = build_services(cfg, tmp_path / "data", clock=clock, with_devices=False)
    try:
        from hall.web.app import create_app

        client = create_app(svc, {"TESTING": True}).test_client()
        assert svc.backups is not None
        assert svc.backups.tick(clock.now()) is None  # just started: the folder is checked, no backup yet
        assert svc.backups.status(clock.now())["state"] == "warning"
        svc.backups.not_before = 0.0  # the service has settled
        assert svc.backups.tick(clock.now()) is None
        assert not usb.exists()  # never created on the system disk
        body = client.get("/healthz").get_json()
        assert body["backup"]["state"] == "warning"
        assert [w["item"] for w in body["warnings"]] == ["backup"]
        assert "不存在" in body["warnings"][0]["message"] and str(usb) in body["warnings"][0]["message"]
        assert client.post("/api/tickets", json={"category": "A"}).status_code == 201
        usb.mkdir(parents=True)  # plugged in again: the next check backs up and the warning goes
        assert svc.backups.tick(clock.now()) is not None
        body = client.get("/healthz").get_json()
        assert body["warnings"] == [] and body["backup"]["state"] == "ok"
    finally:
        svc.stop()


def test_config_check_notes_backups_on_the_data_disk_and_an_unchecked_clock(config: HallConfig) -> None:
    from hall.cli.config_cmd import config_notes, config_warnings

    real = config.model_copy(update={"server": config.server.model_copy(update={"demo": False})})
    notes = config_notes(real)
    assert [n.split(":")[0] for n in notes] == ["backup.folder", "clock"]
    assert "U盘或网络共享" in notes[0]
    assert config_notes(config) == ["clock: " + notes[1].split(": ", 1)[1]]  # a demo keeps its backups local
    good = real.model_copy(update={
        "backup": real.backup.model_copy(update={"folder": "/media/hall-backup"}),
        "server": real.server.model_copy(update={"data_dir": "/var/lib/hall"}),
        "clock": real.clock.model_copy(update={"ntp_servers": ["10.1.1.1"]}),
    })
    assert config_notes(good) == []
    inside = good.model_copy(update={"backup": good.backup.model_copy(update={"folder": "/var/lib/hall/bk"})})
    assert [n.split(":")[0] for n in config_notes(inside)] == ["backup.folder"]
    off = good.model_copy(update={"backup": good.backup.model_copy(update={"enabled": False})})
    assert [w.split(":")[0] for w in config_warnings(off) if w.startswith("backup")] == ["backup.enabled"]
