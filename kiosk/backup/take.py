"""One backup of a hall from its config: what the CLI and the daily scheduler both call."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hall.backup.archive import BackupResult, write_backup
from hall.config.schema import HallConfig


def default_folder(config: HallConfig | None, data_dir: Path) -> Path:
    """[backup] folder, or `backups/` in the data folder when none is configured."""
    if config is not None and config.backup.folder:
        return Path(config.backup.folder)
    return Path(data_dir) / "backups"


def secret_files(config: HallConfig | None, data_dir: Path, config_path: Path | None) -> dict[str, Path]:
    """The county key when it lives outside the data folder (inside, the folder copy has it)."""
    if config is None or not config.county.secret_file:
        return {}
    p = Path(config.county.secret_file)
    if not p.is_absolute() and config_path is not None:
        p = config_path.parent / p
    if not p.is_file():
        return {}
    try:
        p.resolve().relative_to(Path(data_dir).resolve())
        return {}
    except ValueError:
        return {f"secrets/{p.name}": p}


def backup_hall(config: HallConfig | None, data_dir: Path, *, config_path: Path | None = None,
                dest: Path | None = None, now: datetime | None = None, auto: bool = False) -> BackupResult:
    """Snapshot the hall into `dest` (a folder or a .zip path); the default folder when None."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(config.hall.timezone if config is not None else "Asia/Shanghai")
    when = now or datetime.now(tz)
    hall = ({"name": config.hall.name, "region_code": config.hall.region_code} if config is not None else {})
    # A configured folder is a mount point: never create it (an unplugged USB disk's empty mount
    # point would fill the system disk). A folder named on the command line is created.
    create = dest is not None or config is None or not config.backup.folder
    return write_backup(Path(data_dir), dest if dest is not None else default_folder(config, data_dir),
                        created_at=when, hall=hall, config_path=config_path,
                        extra_files=secret_files(config, data_dir, config_path), auto=auto,
                        create_folder=create)
