"""Write and check a backup file: a zip with `manifest.json` and the sha256 of every member.

The database is copied with SQLite's online backup API in one step, which
reads one consistent snapshot while the service keeps writing (WAL readers
never block writers). Everything else in the data folder that a hall needs
to continue — the service guide cache, holiday and reason lists, keys,
village photos and camera scans — is copied as files; caches that rebuild
themselves (logs, voice clips, emulator channels) are left out. The file is
written under a temporary name, synced and renamed, so a folder never holds
half a backup under a real name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.paths import match_owner
from hall.store.db import Migration, migrations, program_version, schema_state

FORMAT = "hall-backup/1"
MANIFEST = "manifest.json"
DB_NAME = "hall.db"
FILE_RE = re.compile(r"^hall-backup-[0-9A-Za-z]*-?(\d{8}-\d{6})(-auto)?\.zip$")
# Rebuilt by the service, private to this machine, or being written right now.
SKIP_DIRS = {"logs", "emulators", "voice", "backups", "restore-saved", "restored-config", "__pycache__"}
SKIP_SUFFIXES = (".db-wal", ".db-shm", ".db-journal", ".tmp", ".lock")
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup cannot be written, or a file is not a sound backup (message names the cause)."""


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    seconds: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)


def backup_name(region: str, when: datetime, auto: bool = False) -> str:
    return f"hall-backup-{region}-{when:%Y%m%d-%H%M%S}{'-auto' if auto else ''}.zip"


def _skipped(rel: Path) -> bool:
    if rel.parts and (rel.parts[0] in SKIP_DIRS or rel.parts[0].startswith(".backup-tmp")):
        return True
    return rel.name.endswith(SKIP_SUFFIXES) or rel.name.startswith(".")


def data_files(data_dir: Path, exclude: Path | None = None) -> Iterator[Path]:
    """Files of the data folder that belong in a backup, as paths relative to it."""
    excl = exclude.resolve() if exclude is not None else None
    for root, dirs, files in os.walk(data_dir):
        rel_root = Path(root).relative_to(data_dir)
        kept = []
        for d in sorted(dirs):
            full = Path(root, d).resolve()
            if _skipped(rel_root / d) or (excl is not None and full == excl):
                continue
            kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            rel = rel_root / name
            if not _skipped(rel):
                yield rel


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def snapshot_db(src: Path, dest: Path) -> None:
    """A consistent copy of a live database: one backup step under one read snapshot."""
    source = sqlite3.connect(f"file:{src.as_posix()}?mode=ro", uri=True, timeout=15.0)
    try:
        target = sqlite3.connect(dest)
        try:
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            target.close()
    finally:
        source.close()
    # Reading a WAL database leaves (or creates) its -wal and -shm files: they must stay the service's.
    for sidecar in (src.with_name(src.name + "-wal"), src.with_name(src.name + "-shm")):
        if sidecar.exists():
            match_owner(sidecar, src)


def integrity(path: Path) -> str:
    """`ok`, or what SQLite's integrity check reports."""
    try:
        c = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)
        try:
            rows = [r[0] for r in c.execute("PRAGMA integrity_check")]
        finally:
            c.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "ok" if rows == ["ok"] else "; ".join(rows[:5])


def _db_facts(path: Path) -> dict[str, Any]:
    c = sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        facts: dict[str, Any] = {"user_version": c.execute("PRAGMA user_version").fetchone()[0]}
        if "schema_migrations" in tables:
            facts["migrations"] = [r[0] for r in c.execute("SELECT name FROM schema_migrations ORDER BY name")]
        if "tickets" in tables:
            facts["tickets"] = c.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
        if "outbox" in tables:
            facts["outbox"] = {r[0]: r[1] for r in c.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")}
        return facts
    finally:
        c.close()


def _add_file(zf: zipfile.ZipFile, src: Path, arcname: str, compress: bool) -> dict[str, Any]:
    h = hashlib.sha256()
    info = zipfile.ZipInfo.from_file(src, arcname)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    size = 0
    with open(src, "rb") as f, zf.open(info, "w") as out:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return {"sha256": h.hexdigest(), "size": size}


_STORED = (".jpg", ".jpeg", ".png", ".pdf", ".zip", ".gz", ".webp")


#: a backup's scratch left this long untouched belongs to a backup that died (power cut, kill); a running
#: one keeps touching its files (snapshot per database, the growing zip)
STALE_AFTER_S = 1800.0


def sweep_leftovers(data_dir: Path, folder: Path | None = None, *, older_than: float = STALE_AFTER_S) -> list[Path]:
    """Remove scratch of backups that never finished: `.backup-tmp-*` in the data directory (whole database
    snapshots, personal data included) and `.hall-backup-*.tmp` half-written archives in the backup folder."""
    import time

    now = time.time()
    found = [*Path(data_dir).glob(".backup-tmp-*")]
    if folder is not None and folder.is_dir():
        found += Path(folder).glob(".hall-backup-*.tmp")
    removed: list[Path] = []
    for path in found:
        try:
            if now - path.stat().st_mtime < older_than:
                continue           # perhaps another backup's, still running
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            continue               # in use (Windows) or gone already: the next backup tries again
    return removed


def write_backup(data_dir: Path, dest: Path, *, created_at: datetime, hall: dict[str, str],
                 config_path: Path | None = None, extra_files: dict[str, Path] | None = None,
                 auto: bool = False, create_folder: bool = True) -> BackupResult:
    """Snapshot `data_dir` (+ the config file and keys kept elsewhere) into one new file in/at `dest`."""
    import time

    t0 = time.monotonic()
    data_dir = Path(data_dir)
    if not (data_dir / DB_NAME).exists():
        raise BackupError(f"数据目录 {data_dir} 中没有数据库 {DB_NAME} / no database in {data_dir}")
    if dest.suffix.lower() == ".zip" and not dest.is_dir():
        folder, final = dest.parent, dest
    else:
        folder, final = dest, dest / backup_name(hall.get("region_code", ""), created_at, auto)
    if not create_folder and not folder.is_dir():
        raise BackupError(f"备份目录 {folder} 不存在（U盘未插入或网络共享未连接？）/ backup folder missing")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".hall-backup-", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise BackupError(f"备份目录 {folder} 不可写（U盘未插入或网络共享断开？）：{exc.strerror or exc} / "
                          f"backup folder not writable") from exc
    tmp_zip = Path(tmp_name)
    sweep_leftovers(data_dir, folder)
    members: dict[str, Any] = {}
    origins: dict[str, str] = {}
    db_facts: dict[str, Any] = {}
    try:
        # ignore_cleanup_errors: a snapshot still open elsewhere (Windows) must not hide the backup's own
        # outcome; what stays behind is swept by the next backup
        with tempfile.TemporaryDirectory(dir=data_dir, prefix=".backup-tmp-", ignore_cleanup_errors=True) as work, \
                zipfile.ZipFile(tmp_zip, "w", compresslevel=6, allowZip64=True) as zf:
            for rel in data_files(data_dir, exclude=folder):
                src = data_dir / rel
                arc = "data/" + rel.as_posix()
                if rel.suffix == ".db" and _is_sqlite(src):
                    snap = Path(work) / rel.name
                    snapshot_db(src, snap)
                    if rel.as_posix() == DB_NAME:
                        db_facts = _db_facts(snap)
                    members[arc] = _add_file(zf, snap, arc, compress=True) | {"role": "database"}
                    snap.unlink()
                else:
                    try:
                        members[arc] = _add_file(zf, src, arc, compress=rel.suffix.lower() not in _STORED)
                    except FileNotFoundError:
                        continue  # removed while we walked (a draft photo replaced); not part of the snapshot
            if config_path is not None:
                arc = f"config/{config_path.name}"
                members[arc] = _add_file(zf, config_path, arc, compress=True) | {"role": "config"}
                origins[arc] = str(config_path.resolve())
            for arc, src in (extra_files or {}).items():
                members[arc] = _add_file(zf, src, arc, compress=True) | {"role": "secret"}
                origins[arc] = str(src.resolve())
            manifest = {
                "format": FORMAT,
                "program_version": program_version(),
                "created_at": created_at.isoformat(timespec="seconds"),
                "hall": hall,
                "data_dir": str(data_dir.resolve()),
                "database": db_facts,
                "origins": origins,
                "members": members,
            }
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        with open(tmp_zip, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_zip, final)
        _fsync_dir(final.parent)
    except BaseException as exc:
        tmp_zip.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BackupError(f"写入备份 {final} 失败：{exc.strerror or exc} / writing the backup failed") from exc
        raise
    return BackupResult(final.resolve(), manifest, time.monotonic() - t0,
                        {"file": final.stat().st_size, "members": len(members)})


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some network shares refuse a directory sync; the file itself is synced
    finally:
        os.close(fd)


# ------------------------------------------------------------------ checking a file

def _safe_arcname(name: str) -> bool:
    p = Path(name)
    return not (p.is_absolute() or ".." in p.parts or name.startswith(("/", "\\")) or ":" in name)


def read_manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError as exc:
        raise BackupError(f"{path} 不是大厅备份文件（缺少 manifest.json）/ not a hall backup") from exc
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"备份文件已损坏：清单 manifest.json 无法读取（{exc}）/ damaged manifest") from exc
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("members"), dict):
        raise BackupError(f"{path} 的格式 {manifest.get('format')!r} 不是本程序能恢复的 {FORMAT}")
    return manifest


def verify(path: Path, work: Path, steps: list[Migration] | None = None) -> dict[str, Any]:
    """Check every member's sha256 and the database's integrity; extract into `work`. Raises BackupError."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise BackupError(f"找不到备份文件 {path} / backup file not found") from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"备份文件已损坏，无法打开：{path}（{exc}）/ damaged backup file") from exc
    with zf:
        manifest = read_manifest(zf, path)
        members: dict[str, dict[str, Any]] = manifest["members"]
        names = set(zf.namelist()) - {MANIFEST}
        missing = sorted(set(members) - names)
        if missing:
            raise BackupError(f"备份文件不完整：缺少 {', '.join(missing[:5])} / backup incomplete")
        extra = sorted(names - set(members))
        if extra:
            raise BackupError(f"备份文件被改动：含清单外的文件 {', '.join(extra[:5])} / unexpected members")
        for name, meta in members.items():
            if not _safe_arcname(name):
                raise BackupError(f"备份文件含不安全的路径 {name!r}，拒绝恢复 / unsafe member path")
            target = work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            h = hashlib.sha256()
            try:
                with zf.open(name) as src, open(target, "wb") as out:
                    while chunk := src.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:  # zip CRC errors land here
                raise BackupError(f"备份文件已损坏：{name} 无法读出（{exc}）/ damaged member") from exc
            if h.hexdigest() != meta.get("sha256"):
                raise BackupError(f"备份文件已损坏：{name} 的校验值不符（sha256），拒绝恢复 / checksum mismatch")
    db = work / "data" / DB_NAME
    if not db.exists():
        raise BackupError(f"备份文件中没有数据库 data/{DB_NAME} / no database in the backup")
    for name, meta in members.items():
        if meta.get("role") == "database":
            verdict = integrity(work / name)
            if verdict != "ok":
                raise BackupError(f"备份中的数据库 {name} 未通过完整性检查（PRAGMA integrity_check：{verdict}）"
                                  "，拒绝恢复 / database integrity check failed")
    c = sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True)
    try:
        _, unknown, newer = schema_state(c, steps if steps is not None else migrations())
    finally:
        c.close()
    if unknown:
        made_by = newer or manifest.get("program_version") or "较新"
        raise BackupError(f"备份由 {made_by} 版写入（含本程序不认识的迁移 {', '.join(unknown)}），本程序为 "
                          f"{program_version()} 版：请用 {made_by} 版或更新的版本恢复 / backup is from a newer version")
    return manifest


def copy_tree_atomic(src: Path, dest: Path) -> None:
    """Place one extracted file: temp name beside the target, synced, renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.restore.tmp")
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest)


def move_atomic(src: Path, dest: Path) -> None:
    """Place a checked file from a work folder on the same disk: synced, then renamed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(src, dest)
