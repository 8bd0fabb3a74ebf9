"""`kiosk backup`, `kiosk restore`, `kiosk migrate`, `kiosk version`: the contract the update script calls.

    kiosk backup  [--config CFG] [--data-dir DIR] [--to DIR_OR_FILE]   last stdout line: the file's absolute path
    kiosk restore [--config CFG] [--data-dir DIR] FILE [--yes]         exit 2: damaged file or service running
    kiosk migrate [--config CFG] [--data-dir DIR]                      exit 1: a migration failed, DB unchanged
    kiosk version                                                      the installed package's version

Keep these names, options and exit codes: the Linux package's update and
rollback script (and its install test) depend on them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hall.cli import load_config_reported
from hall.config.loader import ConfigError, load_config
from hall.config.schema import HallConfig


def register(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("backup", help="备份数据 / back up the hall's data into one file")
    _common(b)
    b.add_argument("--to", help="目标目录或 .zip 文件 / target folder or .zip file (default: [backup] folder)")
    b.set_defaults(handler=backup_cmd)
    r = sub.add_parser("restore", help="从备份恢复（须先停止服务）/ restore a backup into a stopped service")
    _common(r)
    r.add_argument("file", help="备份文件 / backup file")
    r.add_argument("--yes", "-y", action="store_true", help="不再询问 / do not ask for confirmation")
    r.set_defaults(handler=restore_cmd)
    m = sub.add_parser("migrate", help="升级数据库结构 / apply pending database migrations")
    _common(m)
    m.set_defaults(handler=migrate_cmd)
    v = sub.add_parser("version", help="程序版本 / print the program version")
    v.set_defaults(handler=version_cmd)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", help="hall config (TOML)")
    p.add_argument("--data-dir", help="数据目录 / data folder")


def _load(args: argparse.Namespace) -> tuple[HallConfig | None, Path | None, Path] | None:
    """(config or None, its path, data folder); None, the cause printed, for a broken config."""
    from hall.paths import data_dir

    path = Path(args.config) if args.config else None
    config = load_config_reported(path) if path is not None else None
    if path is not None and config is None:
        return None
    ddir = data_dir(args.data_dir or (config.server.data_dir if config is not None else ""))
    return config, path, ddir


def backup_cmd(args: argparse.Namespace) -> int:
    from hall.backup.archive import BackupError
    from hall.backup.take import backup_hall

    loaded = _load(args)
    if loaded is None:
        return 2
    config, path, ddir = loaded
    if config is None:
        print("注意：未指定 --config，备份中不含配置文件 / note: no --config given, the config is not in the backup",
              file=sys.stderr)
    try:
        result = backup_hall(config, ddir, config_path=path, dest=Path(args.to) if args.to else None)
    except BackupError as exc:
        print(f"备份失败 / backup failed: {exc}", file=sys.stderr)
        return 1
    db = result.manifest.get("database", {})
    print(f"已备份 / backed up: {db.get('tickets', 0)} tickets, {result.sizes['members']} files, "
          f"{result.sizes['file'] / 1e6:.1f} MB in {result.seconds:.1f} s", file=sys.stderr)
    print(result.path, flush=True)
    return 0


def restore_cmd(args: argparse.Namespace) -> int:
    from hall.backup.archive import BackupError
    from hall.backup.restore import restore
    from hall.paths import data_dir
    from hall.runlock import AlreadyRunning, is_running

    path = Path(args.config) if args.config else None
    configured = ""
    if path is not None and path.exists():
        try:
            configured = load_config(path).server.data_dir
        except ConfigError:
            configured = ""  # the backup brings its own config; a broken one here is replaced
    ddir = data_dir(args.data_dir or configured)
    if is_running(ddir):
        print(f"拒绝恢复：服务正在运行，请先停止服务（数据目录 {ddir}）/ refused: the service is running",
              file=sys.stderr)
        return 2
    if not args.yes:
        if not sys.stdin.isatty():
            print("恢复会替换数据目录中的数据（旧数据移到 restore-saved/）：加 --yes 确认 / add --yes to confirm",
                  file=sys.stderr)
            return 2
        answer = input(f"用 {args.file} 替换 {ddir} 中的数据？旧数据会移到 restore-saved/ [y/N] ")
        if answer.strip().lower() not in ("y", "yes", "是"):
            print("已取消 / cancelled", file=sys.stderr)
            return 1
    try:
        result = restore(Path(args.file), ddir, config_path=path)
    except (BackupError, AlreadyRunning) as exc:
        print(f"拒绝恢复 / refused: {exc}", file=sys.stderr)
        return 2
    m = result.manifest
    print(f"已恢复 / restored: {m.get('hall', {}).get('name', '')} 备份于 {m.get('created_at')}"
          f"（{m.get('program_version')} 版），{result.files} 个文件 → {ddir}")
    if result.saved_to is not None:
        print(f"原有数据已移到 / previous data moved to: {result.saved_to}")
    if result.config_written is not None:
        print(f"配置文件 / config: {result.config_written}")
    if result.note:
        print(f"注意 / note: {result.note}", file=sys.stderr)
    return 0


def migrate_cmd(args: argparse.Namespace) -> int:
    from hall.store.db import Database, StoreError

    loaded = _load(args)
    if loaded is None:
        return 1
    ddir = loaded[2]
    db_path = ddir / "hall.db"
    try:
        db = Database(db_path)
    except StoreError as exc:
        print(f"迁移失败 / migration failed: {exc}", file=sys.stderr)
        return 1
    try:
        n = db.conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
        print(f"数据库已是最新 / database up to date: {db_path} ({n} migrations)")
    finally:
        db.close()
    return 0


def version_cmd(args: argparse.Namespace) -> int:
    from hall import __version__

    print(__version__)
    return 0
