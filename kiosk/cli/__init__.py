"""The `kiosk` command: one entry point, one module per subcommand.

Each module in `COMMANDS` exposes `register(subparsers)`; its handler returns
the exit code. Modules are imported only to register, and heavy imports
(OpenCV, escpos) stay inside handlers so `kiosk --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hall.config.schema import HallConfig

COMMANDS = [
    "hall.cli.serve",
    "hall.cli.config_cmd",
    "hall.cli.scan",
    "hall.cli.emulate",
    "hall.cli.diag",
    "hall.cli.relay",
    "hall.cli.county_sim",
    "hall.cli.backup_cmd",
    "hall.cli.setup_cmd",
    "hall.cli.autostart",
    "hall.cli.audit_cmd",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="乡镇便民服务中心大厅服务 / township hall service"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def load_config_reported(path: str | Path) -> HallConfig | None:
    """The config for a technician's command, or None once the cause is printed (bilingual) to stderr:
    every command answers a broken config the same way, then returns its own exit code."""
    from hall.config.loader import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["serve"]:
        # Only the process's own command line: a test calling main([...]) must never be replaced.
        from hall.memory import rerun_with_lean_malloc

        rerun_with_lean_malloc()
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
