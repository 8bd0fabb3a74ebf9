"""Backup and restore: a consistent snapshot while serving, refusals that touch nothing, a hall that continues."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hall.backup.archive import MANIFEST, BackupError, verify, write_backup
from hall.backup.take import backup_hall
from hall.cli import main
from hall.config.loader import demo_config_path
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.relay.county_sim import CountySimulator
from hall.relay.outbox import enqueue
from hall.runlock import RunLock, is_running
from hall.services import build_services

from tests.conftest import T0
from tests.waiting import wait_until

SECRET = "backup-test-secret-0123456789"


def _last_line(out: str) -> Path:
    return Path(out.strip().splitlines()[-1])


def _complaint(c: sqlite3.Connection, i: int) -> None:
    enqueue(c, kind="complaint", message_id=f"H:complaint:{i}:1", order_key=f"complaint:{i}",
            payload={"complaint_id": i, "ref_no": f"YJ{i}", "kind": "建议",
                     "created_at": "2026-11-25T09:00:00+08:00"})


def test_backup_while_writing_is_a_consistent_prefix(tmp_path: Path, config: HallConfig) -> None:
    svc = build_services(config, tmp_path / "data", clock=FixedClock(T0), with_devices=False)
    try:
        for _ in range(20):
            svc.engine.issue("A")
        stop = threading.Event()
        issued: list[int] = []

        def writer() -> None:
            while not stop.is_set():
                issued.append(svc.engine.issue("B" if len(issued) % 2 else "C").ticket.id)

        t = threading.Thread(target=writer)
        t.start()
        try:
            assert wait_until(lambda: len(issued) >= 20)  # the writer is really running when the snapshot starts
            result = backup_hall(config, tmp_path / "data", dest=tmp_path / "bk")
        finally:
            stop.set()
            t.join()
        manifest = verify(result.path, tmp_path / "check")
        snap = sqlite3.connect(tmp_path / "check" / "data" / "hall.db")
        assert snap.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in snap.execute("SELECT id FROM tickets ORDER BY id")]
        # a prefix of what was written: ids 1..n with no gap, each with its issue event (same transaction)
        assert ids == list(range(1, len(ids) + 1))
        assert 20 < len(ids) <= 20 + len(issued)
        issue_events = snap.execute("SELECT COUNT(*) FROM ticket_events WHERE action = 'issue'").fetchone()[0]
        assert issue_events == len(ids)
        assert manifest["database"]["tickets"] == len(ids)
        assert manifest["hall"]["region_code"] == config.hall.region_code
        assert manifest["created_at"].endswith("+08:00")
        assert "0001_queue.sql" in manifest["database"]["migrations"]
        snap.close()
    finally:
        svc.stop()


def test_restored_hall_continues_numbering_and_sends_only_the_backlog(
        tmp_path: Path, config: HallConfig, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HALL_COUNTY_SECRET", SECRET)
    old, new = tmp_path / "old-pc", tmp_path / "new-pc"
    with CountySimulator(secrets={"430224100-BMFW": SECRET.encode()}) as sim:
        county = config.county.model_copy(update={"endpoint": sim.url, "timeout_seconds": 2.0})
        cfg = config.model_copy(update={"county": county})
        svc = build_services(cfg, old, clock=FixedClock(T0), with_devices=False)
        assert svc.relay is not None
        numbers = [svc.engine.issue("A").ticket.number for _ in range(5)]
        with svc.db.write() as c:
            for i in range(3):
                _complaint(c, i)
        assert svc.relay.drain(timeout=10)
        with svc.db.write() as c:  # the county is unreachable for these two: they stay pending
            for i in range(3, 5):
                _complaint(c, i)
        (old / "village" / "photos").mkdir(parents=True)
        (old / "village" / "photos" / "p1.jpg").write_bytes(b"\xff\xd8photo-bytes")
        (old / "logs").mkdir(exist_ok=True)
        (old / "logs" / "hall.log").write_text("not backed up")
        svc.stop()
        assert sim.stats.messages == 3

        assert main(["backup", "--config", str(demo_config_path()), "--data-dir", str(old),
                     "--to", str(tmp_path / "usb")]) == 0
        file = _last_line(capsys.readouterr().out)
        assert file.is_absolute() and file.exists() and file.parent == tmp_path / "usb"

        cfg_path = tmp_path / "etc" / "hall.toml"
        assert main(["restore", "--config", str(cfg_path), "--data-dir", str(new), str(file), "--yes"]) == 0
        capsys.readouterr()
        assert cfg_path.read_bytes() == demo_config_path().read_bytes()
        assert (new / "village" / "photos" / "p1.jpg").read_bytes() == b"\xff\xd8photo-bytes"
        assert not (new / "logs" / "hall.log").exists()

        svc2 = build_services(cfg, new, clock=FixedClock(T0.replace(minute=30)), with_devices=False)
        try:
            assert numbers[-1] == "A005"
            assert svc2.engine.issue("A").ticket.number == "A006"  # today's numbering continues
            assert svc2.relay is not None and svc2.relay.backlog() == 2
            assert svc2.relay.drain(timeout=10)
        finally:
            svc2.stop()
        # the two pending ones arrived once; the three acknowledged before the backup never again
        assert sim.stats.messages == 5
        assert sorted(m["message_id"] for m in sim.messages()) == [f"H:complaint:{i}:1" for i in range(5)]


@pytest.fixture
def backup_file(tmp_path: Path, config: HallConfig) -> Path:
    svc = build_services(config, tmp_path / "src", clock=FixedClock(T0), with_devices=False)
    svc.engine.issue("A")
    svc.stop()
    return backup_hall(config, tmp_path / "src", dest=tmp_path / "bk").path


def _rewrite(src: Path, dest: Path, change: dict[str, bytes], manifest_fix: bool = False) -> None:
    """Copy a backup, replacing members; optionally recompute their checksums (a consistent but bad file)."""
    import hashlib

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        manifest: dict[str, Any] = json.loads(zin.read(MANIFEST))
        for name in zin.namelist():
            if name == MANIFEST:
                continue
            data = change.get(name, zin.read(name))
            zout.writestr(name, data)
            if manifest_fix and name in change:
                manifest["members"][name]["sha256"] = hashlib.sha256(data).hexdigest()
        zout.writestr(MANIFEST, json.dumps(manifest))


def _restore_refused(tmp_path: Path, file: Path, capsys: pytest.CaptureFixture[str]) -> str:
    target = tmp_path / "target"
    target.mkdir(exist_ok=True)
    (target / "hall.db").write_bytes(b"the hall's current data")
    assert main(["restore", "--data-dir", str(target), str(file), "--yes"]) == 2
    assert (target / "hall.db").read_bytes() == b"the hall's current data"  # nothing touched
    assert sorted(p.name for p in target.iterdir()) == ["hall.db"]
    return capsys.readouterr().err


def test_restore_refuses_a_truncated_file(tmp_path: Path, backup_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(backup_file.read_bytes()[: backup_file.stat().st_size // 2])
    assert "备份文件已损坏" in _restore_refused(tmp_path, bad, capsys)


def test_restore_refuses_a_changed_member(tmp_path: Path, backup_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(backup_file) as z:
        db = bytearray(z.read("data/hall.db"))
    db[5000] ^= 0xFF
    _rewrite(backup_file, bad, {"data/hall.db": bytes(db)})
    err = _restore_refused(tmp_path, bad, capsys)
    assert "data/hall.db" in err and "校验值不符" in err


def test_restore_refuses_a_database_that_fails_integrity_check(tmp_path: Path, backup_file: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with zipfile.ZipFile(backup_file) as z:
        db = bytearray(z.read("data/hall.db"))
    page = 4096
    assert len(db) > 4 * page
    db[3 * page + 8: 3 * page + 200] = b"\x07" * 192  # garbage in a b-tree page, checksums made to match
    bad = tmp_path / "bad.zip"
    _rewrite(backup_file, bad, {"data/hall.db": bytes(db)}, manifest_fix=True)
    err = _restore_refused(tmp_path, bad, capsys)
    assert "integrity_check" in err


def test_restore_refuses_while_the_service_runs(tmp_path: Path, backup_file: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "target"
    with RunLock(target):
        assert is_running(target)
        (target / "hall.db").write_bytes(b"live")
        assert main(["restore", "--data-dir", str(target), str(backup_file), "--yes"]) == 2
        assert "服务正在运行" in capsys.readouterr().err
        assert (target / "hall.db").read_bytes() == b"live"
    assert not is_running(target)


def test_restore_moves_the_old_data_aside(tmp_path: Path, backup_file: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "hall.db").write_bytes(b"old data")
    assert main(["restore", "--data-dir", str(target), str(backup_file), "--yes"]) == 0
    saved = list((target / "restore-saved").glob("*/hall.db"))
    assert len(saved) == 1 and saved[0].read_bytes() == b"old data"
    c = sqlite3.connect(target / "hall.db")
    assert c.execute("SELECT number FROM tickets").fetchall() == [("A001",)]
    c.close()


def test_backup_to_a_missing_drive_fails_clearly(tmp_path: Path, config: HallConfig,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    build_services(config, tmp_path / "src", clock=FixedClock(T0), with_devices=False).stop()
    blocker = tmp_path / "usb"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(BackupError, match="不可写"):
        write_backup(tmp_path / "src", blocker / "hall", created_at=T0, hall={})
    assert main(["backup", "--data-dir", str(tmp_path / "src"), "--to", str(blocker / "hall")]) == 1
    assert "备份失败" in capsys.readouterr().err
    assert [p.name for p in blocker.parent.iterdir() if p.name.startswith(".hall-backup")] == []


@pytest.mark.slow
def test_live_service_backs_up_and_blocks_restore_until_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess

    from tests.test_serve import KIOSK, _no_devices_config, _port, _post, _start

    cfg = _no_devices_config(tmp_path)
    data = tmp_path / "data"
    port = _port()
    proc = _start(["--config", str(cfg), "--data-dir", str(data)], port)
    try:
        assert _post(port, "/api/tickets", {"category": "B"})[1]["number"] == "B001"
        assert is_running(data)
        run = subprocess.run([KIOSK, "backup", "--config", str(cfg), "--data-dir", str(data),
                              "--to", str(tmp_path / "usb")], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        file = _last_line(run.stdout)
        refused = subprocess.run([KIOSK, "restore", "--data-dir", str(data), str(file), "--yes"],
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "服务正在运行" in refused.stderr
        second = subprocess.run([KIOSK, "serve", "--config", str(cfg), "--data-dir", str(data),
                                 "--port", str(_port())], capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "正被运行中的大厅服务使用" in second.stderr
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # a crash releases the lock too
        proc.wait(10)
    assert not is_running(data)
    fresh = tmp_path / "fresh"
    ok = subprocess.run([KIOSK, "restore", "--data-dir", str(fresh), str(file), "--yes"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    c = sqlite3.connect(fresh / "hall.db")
    assert c.execute("SELECT number FROM tickets").fetchall() == [("B001",)]
    c.close()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (sudo kiosk restore)")
def test_sudo_backup_and_restore_leave_the_files_to_the_service_user(tmp_path: Path, backup_file: Path,
                                                                     config: HallConfig) -> None:
    service_uid = 54321
    data = tmp_path / "var-lib-hall"
    data.mkdir()
    os.chown(data, service_uid, service_uid)
    assert main(["restore", "--data-dir", str(data), str(backup_file), "--yes"]) == 0
    owners = {p.relative_to(data).as_posix(): p.stat().st_uid for p in data.rglob("*")}
    assert owners and set(owners.values()) == {service_uid}, owners
    # a backup reading the stopped service's WAL database leaves its -wal/-shm to the service too
    backup_hall(config, data, dest=tmp_path / "bk2")
    for side in ("hall.db-wal", "hall.db-shm"):
        if (data / side).exists():
            assert (data / side).stat().st_uid == service_uid


def test_restore_puts_the_config_beside_the_data_when_it_cannot_write_it(
        tmp_path: Path, config: HallConfig, capsys: pytest.CaptureFixture[str]) -> None:
    build_services(config, tmp_path / "src", clock=FixedClock(T0), with_devices=False).stop()
    file = backup_hall(config, tmp_path / "src", config_path=demo_config_path(), dest=tmp_path / "bk").path
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where /etc/hall should be")
    assert main(["restore", "--config", str(blocked / "hall.toml"), "--data-dir", str(tmp_path / "new"),
                 str(file), "--yes"]) == 0
    placed = tmp_path / "new" / "restored-config" / demo_config_path().name
    assert placed.read_bytes() == demo_config_path().read_bytes()
    assert "配置文件无法写入" in capsys.readouterr().err


def test_a_backup_sweeps_what_dead_backups_left_behind(tmp_path: Path, config: HallConfig) -> None:
    """A backup killed midway leaves a database snapshot (personal data) and a half archive: the next one removes
    them, but not the scratch of a backup that may still be running (touched recently)."""
    src, bk = tmp_path / "src", tmp_path / "bk"
    build_services(config, src, clock=FixedClock(T0), with_devices=False).stop()
    bk.mkdir()
    old_dir, fresh_dir = src / ".backup-tmp-dead", src / ".backup-tmp-running"
    for d in (old_dir, fresh_dir):
        d.mkdir()
        (d / "hall.db").write_bytes(b"snapshot")
    old_zip = bk / ".hall-backup-dead.tmp"
    old_zip.write_bytes(b"PK half")
    stale = time.time() - 2 * 3600
    for p in (old_dir / "hall.db", old_dir, old_zip):
        os.utime(p, (stale, stale))
    result = write_backup(src, bk, created_at=T0, hall={})
    assert not old_dir.exists() and not old_zip.exists()
    assert fresh_dir.exists()
    assert [p.name for p in bk.iterdir()] == [result.path.name]
    with zipfile.ZipFile(result.path) as zf:
        assert not [n for n in zf.namelist() if "backup-tmp" in n]   # another backup's scratch is not data
