"""Restore a backup into a stopped hall: check everything first, move the old data aside, then place the files.

Nothing in the data folder is touched until the whole file has passed its
checksums, the database its integrity check and the schema check (a backup
from a newer program is refused like the newer database itself), and the
service's lock was taken: the service cannot be running, nor start while
files are being placed. The data that was there is moved to
`restore-saved/<time>/`, never deleted, so a wrong restore can be undone.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hall.backup.archive import DB_NAME, copy_tree_atomic, move_atomic, verify
from hall.paths import match_owner
from hall.runlock import LOCK_NAME, RunLock

SAVED_DIR = "restore-saved"
WORK_PREFIX = ".restore-tmp-"
RESTORED_CONFIG_DIR = "restored-config"


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    saved_to: Path | None          # where the previous data went (None when the folder was empty)
    config_written: Path | None
    files: int
    note: str = ""


def _move_aside(data_dir: Path, stamp: str) -> Path | None:
    entries = [p for p in data_dir.iterdir()
               if p.name not in (LOCK_NAME, SAVED_DIR) and not p.name.startswith(WORK_PREFIX)]
    if not entries:
        return None
    saved = data_dir / SAVED_DIR / stamp
    saved.mkdir(parents=True, exist_ok=False)
    match_owner(saved.parent, data_dir)
    match_owner(saved, data_dir)
    for p in entries:
        p.rename(saved / p.name)
    return saved


def _place_config(src: Path, config_path: Path | None, data_dir: Path, stamp: str) -> tuple[Path, str]:
    """Where the backup's config now is, and a note when it could not go where asked."""
    fallback = data_dir / RESTORED_CONFIG_DIR / src.name
    if config_path is None:
        copy_tree_atomic(src, fallback)
        return fallback, ""
    target = config_path
    try:
        if target.exists():
            if target.read_bytes() == src.read_bytes():
                return target, ""
            target.rename(target.with_name(f"{target.name}.before-restore-{stamp}"))
        copy_tree_atomic(src, target)
        return target, ""
    except OSError as exc:  # e.g. run as the service user, who may not write /etc/hall
        copy_tree_atomic(src, fallback)
        match_owner(fallback, data_dir)
        return fallback, (f"配置文件无法写入 {target}（{exc.strerror or exc}），备份中的配置已放在 {fallback}，"
                          "请核对后复制过去 / could not write the config; placed beside the data instead")


def restore(file: Path, data_dir: Path, *, config_path: Path | None = None,
            now: datetime | None = None) -> RestoreResult:
    """Verify `file`, then replace the hall's data with it. Raises BackupError or AlreadyRunning, untouched."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    # Unpacked beside the data (same disk: no RAM-backed /tmp filling up with photos, and the
    # checked files are renamed into place rather than copied a second time).
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=WORK_PREFIX) as tmp:
        work = Path(tmp)
        manifest = verify(file, work)
        with RunLock(data_dir, what="恢复操作"):
            saved = _move_aside(data_dir, stamp)
            count = 0
            data_root = work / "data"
            # The database last: a half-placed restore without it is visibly unfinished.
            files = sorted(p for p in data_root.rglob("*") if p.is_file())
            files.sort(key=lambda p: p.relative_to(data_root).as_posix() == DB_NAME)
            for src in files:
                target = data_dir / src.relative_to(data_root)
                move_atomic(src, target)
                # restored with sudo, the files still belong to the service's user (the data folder's owner)
                for p in (target, *target.relative_to(data_dir).parents):
                    match_owner(data_dir / p, data_dir)
                count += 1
            config_written, note = None, ""
            configs = sorted((work / "config").glob("*")) if (work / "config").exists() else []
            if configs:
                config_written, note = _place_config(configs[0], config_path, data_dir, stamp)
            if not note:
                _place_secrets(work, manifest, config_written)
    return RestoreResult(manifest, saved, config_written, count, note)


def _place_secrets(work: Path, manifest: dict[str, Any], config_written: Path | None) -> None:
    """Keys kept outside the data folder go back only where the restored config says they live."""
    if config_written is None or not (work / "secrets").exists():
        return
    from hall.config.loader import ConfigError, load_config

    try:
        cfg = load_config(config_written)
    except ConfigError:
        return
    wanted = cfg.county.secret_file
    if not wanted:
        return
    target = Path(wanted) if Path(wanted).is_absolute() else config_written.parent / wanted
    for arc, origin in manifest.get("origins", {}).items():
        if arc.startswith("secrets/") and Path(origin).name == target.name and not target.exists():
            try:
                copy_tree_atomic(work / arc, target)
            except OSError:
                continue  # the relay says which key is missing; the data itself is restored
            with contextlib.suppress(OSError):
                os.chmod(target, 0o600)  # a key readable only by its owner
