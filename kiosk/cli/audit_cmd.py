"""`kiosk audit verify`: check the audit trail's hash chain (等保2.0 tamper evidence).

Opens the database read-only, so it runs beside the service and never
migrates or changes anything. Exit 0 when every row fits the chain, 1 when
a row was edited or deleted behind the service's back, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="审计日志 / audit trail tools")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.required = True
    v = asub.add_parser("verify", help="校验审计日志哈希链 / verify the audit hash chain")
    v.add_argument("--config", "-c", help="hall config (TOML); its server.data_dir locates the database")
    v.add_argument("--data-dir", help="the service's data folder (holds hall.db)")
    v.set_defaults(handler=verify_cmd)


def _db_path(args: argparse.Namespace) -> Path:
    from hall.config.loader import ConfigError, load_config
    from hall.paths import data_dir

    configured = ""
    if args.config:
        try:
            configured = load_config(args.config).server.data_dir
        except ConfigError as exc:
            print(exc.render(), file=sys.stderr)
            raise SystemExit(2) from exc
    path = data_dir(args.data_dir or configured) / "hall.db"
    if not path.exists():
        print(f"数据库不存在 / no database at {path} (use --data-dir)", file=sys.stderr)
        raise SystemExit(2)
    return path


def verify_cmd(args: argparse.Namespace) -> int:
    from hall.store.audit_chain import verify_audit

    path = _db_path(args)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        result = verify_audit(conn)
    except sqlite3.Error as exc:
        print(f"无法读取审计日志 / cannot read the audit trail: {exc}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    if result.anchor:
        a = result.anchor
        print(f"已按保留期限清理 {a['rows_pruned']} 条（{a['pruned_before']} 之前）/ "
              f"{a['rows_pruned']} rows pruned by retention before {a['pruned_before']}")
    if result.ok:
        print(f"审计日志完整 / audit trail intact: {result.rows} rows")
        return 0
    print(f"审计日志被篡改 / audit trail TAMPERED: {len(result.problems)}+ problem(s) in {result.rows} rows",
          file=sys.stderr)
    for line in result.problems:
        print(f"  {line}", file=sys.stderr)
    return 1
