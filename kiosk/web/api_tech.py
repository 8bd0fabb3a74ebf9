"""Technician routes: the running config (secrets removed) with its checks, and the service log's tail.

`GET /api/tech/config` answers what a technician asks first after "are the
devices up?": which config is running, is it sound, and does the file on disk
still load (an edited file that no longer validates would stop the next
start). Staff PIN hashes never leave the server; secret values, URL
credentials and personal numbers are masked.

`GET /api/tech/logs?lines=N` is the tail of the service log file
(`services.log_file`, rotated with `hall.log.1` …), masked again with
`redact_text` in case a line slipped past the logging filter.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify
from hall.cli.config_cmd import config_warnings
from hall.config.loader import ConfigError, load_config
from hall.config.schema import HallConfig
from hall.netaddr import public_address
from hall.security import redact_text
from hall.services import Services
from hall.web.auth import require_role
from hall.web.util import int_arg, services

bp = Blueprint("tech", __name__)

LOG_LINES_DEFAULT = 200
LOG_LINES_MAX = 2000
LOG_BYTES_MAX = 2_000_000          # never read more than this from the end of the log files
DISK_LOW_BYTES = 1_000_000_000     # warn below 1 GB free in the data folder
REDACTED = "<已隐去>"

_SECRET_KEY = re.compile(r"pin_hash|secret|password|passwd|token|api_key|private_key|hmac", re.I)
# Keys that only say where a secret lives (an environment variable's name, a file path): shown as they are.
_LOCATION_KEYS = {"secret_env", "secret_file"}
_URL_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")


# ---------------------------------------------------------------------- config summary
def scrub(value: Any, key: str = "") -> Any:
    """A JSON value with secret values replaced, URL credentials removed and ID/phone numbers masked."""
    if isinstance(value, dict):
        return {k: scrub(v, k) for k, v in value.items() if k not in ("pin_hash", "password_hash")}
    if isinstance(value, list):
        return [scrub(v, key) for v in value]
    if isinstance(value, str):
        if key not in _LOCATION_KEYS and _SECRET_KEY.search(key) and value:
            return REDACTED
        return redact_text(_URL_USERINFO.sub("***@", value))
    return value


def config_summary(config: HallConfig) -> dict[str, Any]:
    data: dict[str, Any] = scrub(config.model_dump(mode="json"))
    return data


def _check(level: str, item: str, message: str) -> dict[str, str]:
    return {"level": level, "item": item, "message": message}


def config_checks(svc: Services, config_path: Path | None) -> list[dict[str, str]]:
    """What is wrong or worth a look in the running config, most serious first."""
    cfg = svc.config
    out: list[dict[str, str]] = [_check("ok", "配置校验", "运行中的配置已通过校验（服务启动时）")]

    if config_path is not None:
        try:
            on_disk = load_config(config_path)
        except ConfigError as exc:
            out.append(_check("error", "配置文件",
                              f"磁盘上的配置文件已无法通过校验，下次启动将失败：{'；'.join(exc.problems[:5])}"))
        else:
            # `kiosk serve --demo` (and --host/--port) change the config in memory only: no edit of the file
            on_disk = on_disk.model_copy(update={"server": on_disk.server.model_copy(
                update={"demo": cfg.server.demo, **getattr(svc, "config_overrides", {})})})
            if on_disk != cfg:
                out.append(_check("warn", "配置文件", "配置文件已修改，重启服务后生效"))
            else:
                out.append(_check("ok", "配置文件", f"与磁盘上的文件一致：{config_path.name}"))

    emulated = [d.name for d in cfg.devices if d.url.startswith("emulator://")]
    if emulated and not cfg.server.demo:
        out.append(_check("error", "设备", f"非演示模式却配置了模拟设备：{'、'.join(emulated)}"))
    elif emulated:
        out.append(_check("warn", "设备", f"演示模式：{len(emulated)} 台设备为模拟设备"))
    warnings = config_warnings(cfg)
    for warning in warnings:
        item, _, message = warning.partition(": ")
        out.append(_check("warn", item, message))
    if not any(w.startswith("server") for w in warnings):
        # commissioning: the address phones and kiosk PCs must reach (ticket QR, /kiosk/<id>)
        addr = public_address(cfg.server)
        out.append(_check("ok", "对外地址", f"手机、自助终端和其他电脑使用 {addr.url}（{addr.reason}）"))
    kinds = {d.kind for d in cfg.devices}
    if "printer" not in kinds:
        out.append(_check("warn", "设备", "未配置取号打印机：自助终端只能在屏幕上显示号码"))

    clerks = [s for s in cfg.staff if s.role == "clerk"]
    if not clerks:
        out.append(_check("error", "人员", "未配置窗口人员，窗口无法登录"))
    for w in cfg.windows:
        if clerks and not any(not s.windows or w.number in s.windows for s in clerks):
            out.append(_check("warn", "人员", f"{w.number}号窗口没有可登录的窗口人员（AB岗无人可顶）"))
    if not any(s.role == "manager" for s in cfg.staff):
        out.append(_check("warn", "人员", "未配置大厅负责人账号，管理页面无法登录"))

    relay = svc.relay_status()
    if not cfg.county.endpoint:
        out.append(_check("warn", "县级平台", "未配置县级平台地址：办件与评价数据只保存在本地"))
    elif cfg.county.endpoint.startswith("emulator://"):
        level = "warn" if cfg.server.demo else "error"
        out.append(_check(level, "县级平台", "县级平台为本机模拟器（演示），数据不会上报到真实平台"))
    elif relay.get("config_error"):
        out.append(_check("error", "县级平台", f"县级平台连接配置有误：{relay['config_error']}"))
    else:
        out.append(_check("ok", "县级平台", f"已配置：{scrub(cfg.county.endpoint)}"))
    if cfg.county.ca_bundle and not Path(cfg.county.ca_bundle).is_file():
        out.append(_check("error", "县级平台", f"CA 证书文件不存在：{cfg.county.ca_bundle}"))

    cal = svc.calendar
    if cal is not None:
        today = svc.clock.today()
        if not cal.known(today.year):
            out.append(_check("warn", "节假日", f"{today.year} 年的法定节假日未导入，暂按周一至周五计算工作日"))
        if today >= date(today.year, 11, 1) and not cal.known(today.year + 1):
            out.append(_check("warn", "节假日",
                              f"{today.year + 1} 年的节假日安排尚未导入（国务院通常于 11 月发布），请及时导入"))

    try:
        free = shutil.disk_usage(svc.data_dir).free
    except OSError as exc:
        out.append(_check("error", "数据目录", f"无法读取数据目录：{exc}"))
    else:
        gb = free / 1e9
        if free < DISK_LOW_BYTES:
            out.append(_check("error", "数据目录", f"磁盘剩余空间不足：{gb:.1f} GB"))
        else:
            out.append(_check("ok", "数据目录", f"磁盘剩余 {gb:.1f} GB"))
    if svc.log_file is None:
        out.append(_check("warn", "日志", "本服务未写日志文件"))

    order = {"error": 0, "warn": 1, "ok": 2}
    return sorted(out, key=lambda c: order[c["level"]])


@bp.get("/api/tech/config")
@require_role("technician")
def tech_config() -> Response:
    svc = services()
    path = getattr(svc, "config_path", None)
    checks = config_checks(svc, path)
    levels = {c["level"] for c in checks}
    status = "error" if "error" in levels else "warn" if "warn" in levels else "ok"
    cfg = svc.config
    return jsonify({
        "status": status,
        "file": str(path) if path else None,
        "checks": checks,
        "counts": {"categories": len(cfg.categories), "windows": len(cfg.windows), "staff": len(cfg.staff),
                   "devices": len(cfg.devices)},
        "config": config_summary(cfg),
    })


# ---------------------------------------------------------------------- log tail
def tail_lines(path: Path, lines: int, max_bytes: int = LOG_BYTES_MAX) -> list[str]:
    """The last `lines` lines of a log file and, if it is short, of its rotated predecessors."""
    files = [path] + [path.with_name(f"{path.name}.{i}") for i in range(1, 4)]
    out: list[str] = []
    budget = max_bytes
    for f in files:
        if len(out) >= lines or budget <= 0:
            break
        try:
            size = f.stat().st_size
        except OSError:
            continue
        take = min(size, budget)
        with f.open("rb") as fh:
            fh.seek(size - take)
            data = fh.read(take)
        budget -= take
        text = data.decode("utf-8", errors="replace").splitlines()
        if take < size and text:
            text = text[1:]            # the first line was cut
        out = text[-(lines - len(out)):] + out
    return out[-lines:]


@bp.get("/api/tech/logs")
@require_role("technician")
def tech_logs() -> Response:
    svc = services()
    n = int_arg("lines", lo=1, hi=LOG_LINES_MAX) or LOG_LINES_DEFAULT
    path = svc.log_file
    if path is None:
        return jsonify({"file": None, "lines": [],
                        "message": "本服务未写日志文件（以 kiosk serve 启动时写入数据目录 logs/）"})
    if not path.exists():
        return jsonify({"file": path.name, "lines": [], "message": "日志文件尚未生成"})
    return jsonify({"file": path.name, "lines": [redact_text(line) for line in tail_lines(path, n)],
                    "message": ""})
