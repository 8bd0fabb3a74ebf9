"""`kiosk config check FILE` and `kiosk config hash-pin`: config tools for technicians."""

from __future__ import annotations

import argparse
import getpass
import sys

from hall.config.loader import ConfigError, load_config
from hall.config.schema import HallConfig
from hall.security import hash_pin
from hall.sessions import PASSWORD_MIN


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
    hw = csub.add_parser("hash-password",
                         help=f"管理员/技术员密码哈希（至少 {PASSWORD_MIN} 位）/ hash a manager or technician password")
    hw.add_argument("--password", help="password (prompted when omitted)")
    hw.set_defaults(handler=hash_password_cmd)


def check_cmd(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.file)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    print(f"配置有效 / config OK: {args.file}")
    print(f"  {cfg.hall.name}: {len(cfg.categories)} categories, {len(cfg.windows)} windows, "
          f"{len(cfg.staff)} staff, {len(cfg.devices)} devices")
    print(f"  设备配对 / pairing: 自助补打 {cfg.security.reprint_minutes} 分钟内 (reprint window), "
          f"配对码 {cfg.security.pairing_code_minutes} 分钟有效 (code lifetime)")
    for w in config_warnings(cfg):
        print(f"  警告 / warning: {w}")
    for n in config_notes(cfg):
        print(f"  提示 / note: {n}")
    return 0


def config_warnings(cfg: HallConfig) -> list[str]:
    """Things a valid config may still get wrong in a real hall (also shown on the technician page).

    Each area has its own helper so owners can add theirs without touching the others.
    """
    return [*_address_warnings(cfg), *_printer_warnings(cfg), *_backup_clock_warnings(cfg),
            *_security_warnings(cfg), *card_reader_warnings(cfg)]


def card_reader_warnings(cfg: HallConfig) -> list[str]:
    """An ID-card reader bound to no kiosk and no window reads for nobody (hall.cardreads says why)."""
    bound = {k.idcard for k in cfg.kiosks if k.idcard}
    return [
        f'devices.{d.name}: 身份证阅读器「{d.name}」未绑定自助终端或窗口，刷卡不会送到任何自助终端；请在该终端的 '
        f'[[kiosks]] 中写 idcard = "{d.name}"，或在该设备下写 window = 窗口号 / ID-card reader bound to no kiosk '
        "or window: its reads go to no kiosk"
        for d in cfg.devices if d.kind == "idcard" and d.window is None and d.name not in bound
    ]


def _real_devices(cfg: HallConfig) -> list[str]:
    return [d.name for d in cfg.devices if not d.url.startswith("emulator://")]


def _address_warnings(cfg: HallConfig) -> list[str]:
    """The public address must be one a phone or another PC can open once real devices are in use."""
    from hall.netaddr import ALL_INTERFACES, is_loopback, public_address

    out: list[str] = []
    addr = public_address(cfg.server)
    real = _real_devices(cfg)
    if not addr.ok:
        out.append(f"server: {addr.reason}")
    elif addr.loopback and real:
        out.append(f"server.public_url: 对外地址是本机回环地址 {addr.url}，但已配置真实设备（{'、'.join(real[:5])}）："
                   "手机扫号票二维码、其他电脑和平板都打不开。请设置 host = \"0.0.0.0\" 或 public_url = "
                   "\"http://<本机局域网地址>:端口\" / public address is loopback while real devices are configured")
    host = cfg.server.host.strip()
    if cfg.server.public_url and not addr.loopback and host not in ALL_INTERFACES and is_loopback(host):
        out.append(f"server.host: 服务只监听 {host}，其他设备无法访问 public_url {addr.url}；"
                   "请把 host 设为 \"0.0.0.0\" / bound to loopback, public_url unreachable")
    return out


def config_notes(cfg: HallConfig) -> list[str]:
    """Worth a look but fine for a demo or a first start (printed by `kiosk config check` as notes)."""
    from pathlib import Path

    out: list[str] = []
    b = cfg.backup
    if b.enabled and not cfg.server.demo:
        folder = Path(b.folder).resolve() if b.folder else None
        ddir = Path(cfg.server.data_dir).resolve() if cfg.server.data_dir else None
        if folder is None or (ddir is not None and folder.is_relative_to(ddir)):
            out.append("backup.folder: 自动备份存放在数据目录所在的硬盘上，硬盘损坏时会一起丢失；请设为U盘或网络共享"
                       "（如 /media/hall-backup 或 \\\\server\\share）/ backups sit on the same disk as the data")
    if not cfg.county.endpoint and not cfg.clock.ntp_servers:
        out.append("clock: 未配置县级平台（county.endpoint）也没有 clock.ntp_servers，无法核对本机时钟 / "
                   "nothing to check the PC clock against")
    return out


def _backup_clock_warnings(cfg: HallConfig) -> list[str]:
    """No automatic backup at all."""
    if not cfg.backup.enabled:
        return ["backup.enabled: 自动备份已关闭，硬盘损坏时数据无法恢复 / automatic backup is off"]
    return []


def _security_warnings(cfg: HallConfig) -> list[str]:
    """Manager/technician entries still on a PIN: they work, loudly, until given a password."""
    return [
        f"staff[{i}].pin_hash: {s.name}（{s.id}，{s.role}）仍使用 PIN 登录，请用 `kiosk config hash-password` "
        f"生成至少 {PASSWORD_MIN} 位的密码，把 pin_hash 换成 password_hash / WARNING still signs in with a PIN, "
        "replace pin_hash with password_hash"
        for i, s in enumerate(cfg.staff) if s.needs_password
    ]


def hash_pin_cmd(args: argparse.Namespace) -> int:
    pin = args.pin or getpass.getpass("PIN: ")
    if not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
        print("窗口人员 PIN 须为 6 位数字 / a clerk PIN is 6 digits "
              "(管理员、技术员请用 / manager, technician: kiosk config hash-password)", file=sys.stderr)
        return 2
    print(hash_pin(pin))
    return 0


def _printer_warnings(cfg: HallConfig) -> list[str]:
    """Printer options the profile contradicts, or that would stop the printer at start."""
    from hall.drivers.printer.ticket import TicketLayout, qr_profile_warning
    from hall.security import redact_text

    out: list[str] = []
    for i, d in enumerate(cfg.devices):
        if d.kind != "printer":
            continue
        warning = qr_profile_warning(d.options)
        if warning:
            out.append(f"devices[{i}].options.qr: {warning}")
        try:
            TicketLayout.from_options(d.options, hall_name=cfg.hall.name, default_qr_base="http://hall/r/",
                                      redact=redact_text)
        except ValueError as exc:
            out.append(f"devices[{i}].options: 打印机 {d.name} 将无法启动：{exc}")
    return out


def hash_password_cmd(args: argparse.Namespace) -> int:
    password = args.password or getpass.getpass("密码 / password: ")
    if len(password) < PASSWORD_MIN or password.isspace():
        print(f"密码至少 {PASSWORD_MIN} 位 / a password has at least {PASSWORD_MIN} characters", file=sys.stderr)
        return 2
    print(hash_pin(password))
    return 0
