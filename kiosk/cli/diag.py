"""`kiosk diag` and `kiosk diag bundle`: what a technician runs first on a hall PC.

`kiosk diag` lists the serial ports and USB devices the PC sees, builds the
configured devices (from `--config FILE` or `--demo`, on a temporary data
folder unless `--data-dir` is given), waits for them to connect, prints each
device's state, last error and round-trip time, and runs each device's test
action (test ticket, LED test pattern…) with one PASS/FAIL line each. The exit
code is 0 only when every test passed.

`kiosk diag bundle [-o FILE.zip]` zips what support needs: the config with
secrets redacted (PIN hashes and any secret, token or password value), the
recent log files (ID and phone numbers masked again, in case), the port and
USB listing, the device states and the software versions. It never includes
the county secret: the config only names where that lives.

Run both with the hall service stopped when devices are on serial ports: a
port the service holds open cannot be opened twice. With the service running,
the technician page (`/api/devices`) shows the same states and tests.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from hall.cli import load_config_reported
from hall.config.loader import ConfigError, demo_config_path, load_config
from hall.security import redact_text

LOG_FILES = 8                 # newest log files in a bundle
LOG_TAIL_BYTES = 2_000_000    # per file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diag", help="设备诊断与支持包 / device diagnostics and support bundle")
    _source_args(p, argparse.SUPPRESS)
    p.set_defaults(config=None, demo=False, data_dir=None, settle=5.0)
    p.add_argument("--no-test", action="store_true", help="只看状态，不执行测试动作 / states only, no test actions")
    p.add_argument("--device", action="append", metavar="NAME", help="只测试这些设备 / test only these devices")
    p.set_defaults(handler=diag_cmd)
    dsub = p.add_subparsers(dest="diag_command", metavar="ACTION")
    b = dsub.add_parser("bundle", help="生成支持包（已隐去密钥）/ support bundle with secrets redacted")
    _source_args(b, argparse.SUPPRESS)
    b.add_argument("-o", "--output", help="zip file (default hall-diag-YYYYmmdd-HHMMSS.zip)")
    b.add_argument("--no-devices", action="store_true", help="不连接设备 / do not open the devices")
    b.set_defaults(handler=bundle_cmd)


def _source_args(p: argparse.ArgumentParser, default: Any) -> None:
    # SUPPRESS keeps `kiosk diag --demo bundle` working: the sub-command does not reset what the parent parsed.
    p.add_argument("--config", "-c", default=default, help="hall config (TOML)")
    p.add_argument("--demo", action="store_true", default=default, help="the demo hall (emulated devices)")
    p.add_argument("--data-dir", default=default, help="data folder (default: a temporary one for diag)")
    p.add_argument("--settle", type=float, default=default, help="seconds to wait for devices (default 5)")


# ================================================================== listings
def serial_ports() -> list[dict[str, Any]]:
    from serial.tools import list_ports

    out = []
    for port in sorted(list_ports.comports(), key=lambda x: x.device):
        out.append({
            "device": port.device,
            "description": port.description,
            "hwid": port.hwid,
            "vid_pid": f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else None,
        })
    return out


def usb_devices() -> tuple[list[dict[str, Any]], str | None]:
    """USB devices through pyusb, or why they cannot be listed (libusb missing, no pyusb)."""
    try:
        import usb.core
        import usb.util
    except ImportError:
        return [], "未安装 pyusb / pyusb is not installed"
    try:
        found = list(usb.core.find(find_all=True))
    except usb.core.NoBackendError:
        return [], ("未找到 libusb，无法列出 USB 设备（Debian: apt-get install libusb-1.0-0；"
                    "Windows: 用 Zadig 安装 WinUSB/libusb 驱动）/ libusb is missing")
    except usb.core.USBError as exc:
        return [], f"无法列出 USB 设备 / cannot list USB devices: {exc}"
    out = []
    for dev in found:
        entry: dict[str, Any] = {
            "vid_pid": f"{dev.idVendor:04x}:{dev.idProduct:04x}",
            "bus": getattr(dev, "bus", None),
            "address": getattr(dev, "address", None),
            "class": dev.bDeviceClass,
            "product": None,
            "manufacturer": None,
        }
        for key, index in (("product", "iProduct"), ("manufacturer", "iManufacturer")):
            try:
                idx = getattr(dev, index, 0)
                entry[key] = usb.util.get_string(dev, idx) if idx else None
            except (usb.core.USBError, ValueError, NotImplementedError):
                entry[key] = None      # no permission to read strings: the ids still say what it is
        out.append(entry)
    return out, None


# ================================================================== devices
def _config_path(args: argparse.Namespace) -> Path | None:
    if args.config:
        return Path(args.config)
    if args.demo:
        return demo_config_path()
    return None


def _build(config: Any, data_dir: Path, settle: float) -> Any:
    from hall.drivers.base import wait_until
    from hall.services import build_services

    services = build_services(config, data_dir)
    services.devices.start()
    wait_until(lambda: all(d.status().get("state") != "connecting" for d in services.devices.devices.values()),
               timeout=settle, interval=0.05)
    return services


def _device_line(s: dict[str, Any]) -> str:
    rtt = f"{s['rtt_ms']:g} ms" if isinstance(s.get("rtt_ms"), int | float) else "—"
    emu = " [模拟器]" if s.get("emulated") else ""
    line = f"  {s['name']:<12} {s.get('kind', ''):<9} {s.get('state_name', s.get('state', '')):<4} " \
           f"往返 {rtt:<9} {s.get('url', '')}{emu}"
    if s.get("detail"):
        line += f"\n  {'':<12} 状态说明：{s['detail']}"
    if s.get("last_error"):
        line += f"\n  {'':<12} 最近错误：{s['last_error']}"
    return line


def diag_cmd(args: argparse.Namespace) -> int:
    print("== 串口 / serial ports ==")
    ports = serial_ports()
    for p in ports:
        print(f"  {p['device']:<16} {p['description']}  {p['vid_pid'] or ''}")
    if not ports:
        print("  （无 / none）")
    print("== USB 设备 / USB devices ==")
    usb, why = usb_devices()
    if why:
        print(f"  {why}")
    for d in usb:
        name = " ".join(x for x in (d["manufacturer"], d["product"]) if x)
        print(f"  {d['vid_pid']}  bus {d['bus']} addr {d['address']}  {name}")
    if not usb and not why:
        print("  （无 / none）")

    path = _config_path(args)
    if path is None:
        print("（未指定配置：用 --config FILE 或 --demo 检查设备 / give --config or --demo to check devices）")
        return 0
    config = load_config_reported(path)
    if config is None:
        return 2
    with tempfile.TemporaryDirectory(prefix="hall-diag-") as tmp:
        ddir = Path(args.data_dir) if args.data_dir else Path(tmp)
        services = _build(config, ddir, args.settle)
        try:
            return _report(services, args)
        finally:
            services.stop()


def _report(services: Any, args: argparse.Namespace) -> int:
    from hall.cli.config_cmd import config_warnings

    warnings = config_warnings(services.config)   # what the hall would get wrong with these devices
    if warnings:
        print(f"== 配置提醒 / config warnings ({len(warnings)}) ==")
        for w in warnings:
            print(f"  WARN  {w}")
    states = services.devices.states()
    print(f"== 设备 / devices ({len(states)}) ==")
    if services.devices.emulators_active:
        print("  注意：有设备使用模拟器 / emulated devices are active")
    for s in states:
        print(_device_line(s))
    if not states:
        print("  （配置中没有设备 / no devices configured）")
    if args.no_test:
        return 0
    print("== 测试 / tests ==")
    failed = 0
    wanted = set(args.device or [])
    for name, dev in services.devices.devices.items():
        if wanted and name not in wanted:
            continue
        test = getattr(dev, "test", None)
        if not callable(test):
            print(f"SKIP  {name:<12} 无测试动作 / no test action")
            continue
        t0 = time.monotonic()
        try:
            result = test()
        except Exception as exc:     # a driver bug must not hide the other devices' results
            result = {"ok": False, "message": f"测试出错 / test crashed: {exc}"}
        ms = (time.monotonic() - t0) * 1000
        ok = bool(result.get("ok"))
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name:<12} {result.get('message', '')}  ({ms:.0f} ms)")
    unknown = wanted - set(services.devices.devices)
    for name in sorted(unknown):
        print(f"FAIL  {name:<12} 配置中没有这个设备 / no such device")
        failed += 1
    return 1 if failed else 0


# ================================================================== bundle
_SECRET_KEY = r"(?:pin_hash|secret|password|passwd|token|api_key|private_key|hmac_key)"
_SECRET_RE = re.compile(rf"(\b{_SECRET_KEY}\b\s*=\s*)(\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^,}}\s#]+)")
_HASH_RE = re.compile(r"pbkdf2_sha256\$[^\"'\s,}]+")
REDACTED = "<已隐去 redacted>"


def redact_config(text: str) -> str:
    """A config file with secret values replaced; key names, comments and layout kept for support."""
    text = _SECRET_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    text = _HASH_RE.sub(REDACTED, text)
    return redact_text(text)


def _log_dir(args: argparse.Namespace, config: Any) -> Path:
    from hall.paths import data_dir

    configured = args.data_dir or (config.server.data_dir if config is not None else "")
    return data_dir(configured) / "logs"


def _tail(path: Path, limit: int) -> str:
    size = path.stat().st_size
    with path.open("rb") as fh:
        if size > limit:
            fh.seek(size - limit)
            fh.readline()           # start at a whole line
        data = fh.read()
    return redact_text(data.decode("utf-8", errors="replace"))


def _versions() -> dict[str, Any]:
    from hall import __version__

    pkgs: dict[str, str | None] = {}
    for name in ("flask", "waitress", "pydantic", "pyserial", "pyusb", "python-escpos", "opencv-python-headless",
                 "pyzbar", "zxing-cpp", "chinesecalendar"):
        try:
            pkgs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pkgs[name] = None
    return {"hall": __version__, "python": sys.version.split()[0], "platform": platform.platform(),
            "machine": platform.machine(), "packages": pkgs}


def bundle_cmd(args: argparse.Namespace) -> int:
    path = _config_path(args)
    config = None
    config_text = ""
    if path is not None:
        try:
            config_text = path.read_text("utf-8")
            config = load_config(path)
        except OSError as exc:
            print(f"无法读取配置 / cannot read the config: {exc}", file=sys.stderr)
            return 2
        except ConfigError as exc:
            print(exc.render(), file=sys.stderr)      # a broken config is still worth sending
    out = Path(args.output or f"hall-diag-{datetime.now():%Y%m%d-%H%M%S}.zip")
    usb, usb_why = usb_devices()
    states: list[dict[str, Any]] = []
    emulators: dict[str, Any] = {}
    devices_note = "未连接设备（--no-devices）" if args.no_devices else ""
    if config is not None and not args.no_devices:
        with tempfile.TemporaryDirectory(prefix="hall-diag-") as tmp:
            services = _build(config, Path(tmp), args.settle)
            try:
                states = services.devices.states()
                for name, emu in services.devices.emulators.items():
                    view = getattr(emu, "view", None)
                    emulators[name] = view() if callable(view) else None
            finally:
                services.stop()
    elif config is None:
        devices_note = "未指定配置 / no config given"
    logs = _log_dir(args, config)
    log_files = sorted(logs.glob("*.log*"), key=lambda f: f.stat().st_mtime, reverse=True)[:LOG_FILES] \
        if logs.is_dir() else []
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", (
            "大厅服务支持包 / hall service support bundle\n"
            f"生成时间 / made at: {datetime.now().isoformat(timespec='seconds')}\n"
            f"配置 / config: {path or '（无 / none）'}（密钥已隐去 / secrets redacted）\n"
            f"日志目录 / logs: {logs}\n"
            "devices.json: 设备状态（在临时数据目录中重新连接得到 / from a fresh connect）\n"
        ))
        if config_text:
            z.writestr("config.toml", redact_config(config_text))
        for f in log_files:
            z.writestr(f"logs/{f.name}", _tail(f, LOG_TAIL_BYTES))
        z.writestr("ports.json", json.dumps({"serial": serial_ports(), "usb": usb, "usb_error": usb_why},
                                            ensure_ascii=False, indent=1, default=str))
        z.writestr("devices.json", json.dumps({"note": devices_note, "devices": states, "emulators": emulators},
                                              ensure_ascii=False, indent=1, default=str))
        z.writestr("system.json", json.dumps(_versions(), ensure_ascii=False, indent=1))
    print(f"支持包已生成 / bundle written: {out} ({out.stat().st_size} 字节, {len(log_files)} 个日志文件)")
    return 0
