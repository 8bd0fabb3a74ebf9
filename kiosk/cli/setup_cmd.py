"""`kiosk setup`: the first-run step that writes a hall's config from its answers.

A technician installing a hall should not hand-edit TOML or compute PIN
hashes: this asks for the hall's name, region code, windows and staff (or
takes them as flags, for scripted installs and tests), hashes every PIN,
checks the result with the same loader the service uses, and only then
writes the file (atomically, readable by the service's group only: it holds
PIN hashes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hall.config.loader import ConfigError, parse_config
from hall.security import hash_pin
from hall.sessions import PASSWORD_MIN

ROLES = {"clerk": "窗口人员", "manager": "管理员", "technician": "技术员"}


class SetupError(Exception):
    """An answer that cannot be used; the message names it."""


@dataclass
class StaffAnswer:
    id: str
    name: str
    role: str
    pin: str
    windows: list[int] = field(default_factory=list)
    post: str = "A"


@dataclass
class Answers:
    name: str
    region_code: str
    windows: dict[int, list[str]]
    staff: list[StaffAnswer]
    host: str = "0.0.0.0"
    port: int = 8080
    data_dir: str = ""
    public_url: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("setup", help="首次配置：生成大厅配置文件 / first run: write the hall's config")
    p.add_argument("--out", default="/etc/hall/hall.toml", help="config file to write (default /etc/hall/hall.toml)")
    p.add_argument("--name", help="大厅名称 / hall name")
    p.add_argument("--region-code", help="行政区划代码（6、9 或 12 位）/ region code")
    p.add_argument("--window", action="append", default=[], metavar="N=CATS",
                   help='窗口及其业务类别 / a window and its categories, e.g. "1=A,B" (repeat)')
    p.add_argument("--staff", action="append", default=[], metavar="ID:NAME:ROLE:PIN[:WINDOWS[:POST]]",
                   help='人员 / staff, e.g. "1001:王芳:clerk:135790:1,2:A" (repeat); ROLE clerk|manager|technician')
    p.add_argument("--host", default="0.0.0.0", help="bind address (default: all interfaces, for the hall LAN)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--public-url", default="", help="address LAN devices use, e.g. http://192.168.1.10:8080 "
                                                     "(default: found from the PC's LAN address at start)")
    p.add_argument("--data-dir", default="/var/lib/hall", help="data folder written into the config")
    p.add_argument("--group", default="hall", help="group that may read the file (default hall, when it exists)")
    p.add_argument("--force", action="store_true", help="overwrite an existing config")
    p.set_defaults(handler=setup_cmd)


def setup_cmd(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"{out} 已存在，未改动；要重写请加 --force / already exists, not changed (use --force)", file=sys.stderr)
        return 2
    try:
        answers = collect(args, input if sys.stdin.isatty() else None)
        text = render_toml(answers)
        parse_config(tomllib.loads(text), str(out))
    except SetupError as exc:
        print(f"配置未生成 / not written: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    write_private(out, text, args.group)
    print(f"已生成配置 / config written: {out}")
    print(f"  {answers.name}: {len(answers.windows)} 个窗口 windows, {len(answers.staff)} 名人员 staff")
    if not any(s.role == "technician" for s in answers.staff):
        print("  注意：没有技术员账号，设备检测页面将无法登录 / note: no technician account")
    return 0


def collect(args: argparse.Namespace, ask: Callable[[str], str] | None) -> Answers:
    """Flags first; what is missing is asked for when there is a terminal, else an error."""

    def need(value: str | None, prompt: str, flag: str) -> str:
        if value:
            return value
        if ask is None:
            raise SetupError(f"缺少 {flag} / {flag} is required without a terminal")
        return ask(prompt).strip()

    name = need(args.name, "大厅名称（如 青石镇便民服务中心）: ", "--name")
    region = need(args.region_code, "行政区划代码（6、9 或 12 位数字）: ", "--region-code")
    def need_list(values: list[str], prompt: str, missing: str) -> list[str]:
        """Repeated flags, or lines asked for until an empty one."""
        specs = list(values)
        if not specs:
            if ask is None:
                raise SetupError(missing)
            while spec := ask(prompt).strip():
                specs.append(spec)
        return specs

    window_specs = need_list(args.window, '窗口（如 1=A,B；空行结束）: ',
                             "缺少 --window / at least one --window N=CATS is required")
    staff_specs = need_list(args.staff,
                            "人员 工号:姓名:角色(clerk/manager/technician):PIN或密码[:窗口[:岗]]（空行结束）: ",
                            "缺少 --staff / at least one --staff is required")
    return Answers(
        name=name, region_code=region,
        windows=parse_windows(window_specs), staff=[parse_staff(s) for s in staff_specs],
        host=args.host, port=args.port, data_dir=args.data_dir, public_url=args.public_url,
    )


def parse_windows(specs: list[str]) -> dict[int, list[str]]:
    windows: dict[int, list[str]] = {}
    for spec in specs:
        number, sep, cats = spec.partition("=")
        if not sep or not number.strip().isdigit():
            raise SetupError(f'窗口格式应为 "1=A,B"，而不是 "{spec}" / window must look like 1=A,B')
        categories = [c.strip().upper() for c in cats.split(",") if c.strip()]
        if not categories:
            raise SetupError(f"窗口 {number} 没有业务类别 / window {number} has no categories")
        windows[int(number)] = categories
    if not windows:
        raise SetupError("至少需要一个窗口 / at least one window")
    return windows


def parse_staff(spec: str) -> StaffAnswer:
    parts = spec.split(":")
    if len(parts) < 4:
        raise SetupError(f'人员格式应为 "工号:姓名:角色:PIN[:窗口[:岗]]"，而不是 "{_mask_pin(parts)}"')
    sid, name, role, pin = (p.strip() for p in parts[:4])
    if role not in ROLES:
        raise SetupError(f"人员 {sid} 的角色 {role} 无效（clerk、manager、technician）/ unknown role")
    if role == "clerk" and not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
        raise SetupError(f"窗口人员 {sid} 的 PIN 须为 6 位数字 / a clerk PIN is 6 digits")
    if role != "clerk" and len(pin) < PASSWORD_MIN:
        raise SetupError(f"{sid}（{role}）须使用至少 {PASSWORD_MIN} 位的密码 / "
                         f"managers and technicians need a password of at least {PASSWORD_MIN} characters")
    windows: list[int] = []
    if len(parts) > 4 and parts[4].strip():
        try:
            windows = [int(w) for w in parts[4].split(",") if w.strip()]
        except ValueError:
            raise SetupError(f"人员 {sid} 的窗口应为数字，如 1,2 / windows must be numbers") from None
    post = parts[5].strip().upper() if len(parts) > 5 and parts[5].strip() else "A"
    return StaffAnswer(id=sid, name=name, role=role, pin=pin, windows=windows, post=post)


def _mask_pin(parts: list[str]) -> str:
    # Never echo a PIN back, even in an error.
    return ":".join(parts[:3] + ["****"] * (len(parts) > 3))


def _s(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes; non-ASCII kept as is).
    return json.dumps(value, ensure_ascii=False)


def render_toml(a: Answers) -> str:
    lines = [
        "# 大厅配置，由 `kiosk setup` 生成；修改后请运行 `kiosk config check` 检查。",
        "# Hall config written by `kiosk setup`; check edits with `kiosk config check`.",
        "",
        "[hall]",
        f"name = {_s(a.name)}",
        f"region_code = {_s(a.region_code)}",
        "",
        "[server]",
        f"host = {_s(a.host)}",
        f"port = {a.port}",
    ]
    if a.public_url:
        lines.append(f"public_url = {_s(a.public_url)}")
    if a.data_dir:
        lines.append(f"data_dir = {_s(a.data_dir)}")
    for number, cats in sorted(a.windows.items()):
        lines += ["", "[[windows]]", f"number = {number}", f"categories = [{', '.join(_s(c) for c in cats)}]"]
    for s in a.staff:
        lines += [
            "", "[[staff]]", f"id = {_s(s.id)}", f"name = {_s(s.name)}", f"role = {_s(s.role)}",
            f"post = {_s(s.post)}", f"windows = [{', '.join(str(w) for w in s.windows)}]",
            # clerks: a PIN; manager and technician: a password (hall.sessions.PASSWORD_MIN)
            f"{'pin_hash' if s.role == 'clerk' else 'password_hash'} = {_s(hash_pin(s.pin))}",
        ]
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str, group: str) -> None:
    """Temp file, fsync, rename: a power cut leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    if group and hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            shutil.chown(tmp, group=group)
        except (LookupError, OSError):
            pass   # no such group (e.g. a developer's machine): root-only is still safe
    os.replace(tmp, path)
