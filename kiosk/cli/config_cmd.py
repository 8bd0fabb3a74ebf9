"""`kiosk config check FILE` and `kiosk config hash-pin`: config tools for technicians."""

from __future__ import annotations

import argparse
import getpass
import sys

from hall.config.loader import ConfigError, load_config
from hall.security import hash_pin


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="检查配置 / check a config file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    check = csub.add_parser("check", help="校验配置文件 / validate a config file")
    check.add_argument("file")
    check.set_defaults(handler=check_cmd)
    hp = csub.add_parser("hash-pin", help="生成密码哈希 / hash a staff PIN for the config")
    hp.add_argument("--pin", help="PIN (prompted when omitted)")
    hp.set_defaults(handler=hash_pin_cmd)


def check_cmd(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    print(f"配置有效 / config OK: {args.file}")
    print(f"  {cfg.hall.name}: {len(cfg.categories)} categories, {len(cfg.windows)} windows, "
          f"{len(cfg.staff)} staff, {len(cfg.devices)} devices")
    return 0


def hash_pin_cmd(args: argparse.Namespace) -> int:
    pin = args.pin or getpass.getpass("PIN: ")
    if len(pin) < 4:
        print("PIN 至少 4 位 / PIN must have at least 4 digits", file=sys.stderr)
        return 2
    print(hash_pin(pin))
    return 0
