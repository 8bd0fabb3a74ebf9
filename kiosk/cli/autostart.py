"""`kiosk autostart`: make a kiosk or board PC open the hall's screen at every login.

Lays down an XDG autostart entry for a named desktop user. XDG autostart is
what the UOS, Kylin (UKUI), GNOME, Xfce and LXDE sessions all honour; a systemd
user unit would need `graphical-session.target`, which several of those never
reach. The entry runs /usr/lib/hall/hall-browser (shipped in the package),
which shows the local "正在连接服务…" page until the hall PC answers and
restarts Chromium whenever it dies. With the desktop set to log that user in
automatically, the screen comes up by itself after a power cut.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

BROWSER_WRAPPER = "/usr/lib/hall/hall-browser"
ENTRY_NAME = "hall-browser.desktop"
PAGES = {"kiosk": "/kiosk", "board": "/board"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("autostart", help="触摸屏/大屏开机自动打开 / open the kiosk or board at login")
    p.add_argument("--user", required=True, help="desktop user that logs in on this PC")
    p.add_argument("--role", choices=sorted(PAGES), default="kiosk", help="kiosk touchscreen or TV board")
    p.add_argument("--hall", help="hall PC's address, e.g. http://192.168.1.10:8080 "
                                  "(default: the public address of the hall in --config)")
    p.add_argument("--kiosk-id", help="this terminal's id in [[kiosks]] (opens /kiosk/<id>)")
    p.add_argument("--config", default="/etc/hall/hall.toml", help="hall config to take the address from")
    p.add_argument("--home", help="the user's home folder (default: from the password database)")
    p.add_argument("--remove", action="store_true", help="remove the autostart entry")
    p.set_defaults(handler=autostart_cmd)


def autostart_cmd(args: argparse.Namespace) -> int:
    home = Path(args.home) if args.home else user_home(args.user)
    if home is None:
        print(f"找不到用户 {args.user} / no such user", file=sys.stderr)
        return 2
    entry = home / ".config" / "autostart" / ENTRY_NAME
    if args.remove:
        entry.unlink(missing_ok=True)
        print(f"已删除 / removed: {entry}")
        return 0
    base = args.hall or public_url_from(Path(args.config))
    if not base:
        print("请用 --hall 指定大厅服务器地址，如 http://192.168.1.10:8080 / give --hall URL", file=sys.stderr)
        return 2
    try:
        url = page_url(base, args.role, args.kiosk_id)
    except ValueError as exc:
        print(f"地址无效 / bad address: {exc}", file=sys.stderr)
        return 2
    write_entry(entry, desktop_entry(url, args.role), args.user)
    print(f"已设置开机自动打开 / autostart set: {entry}\n  {url}")
    return 0


def user_home(user: str) -> Path | None:
    try:
        import pwd
    except ImportError:  # Windows: the Edge shortcut is the Windows installer's job
        return None
    try:
        return Path(pwd.getpwnam(user).pw_dir)
    except KeyError:
        return None


def public_url_from(config: Path) -> str:
    """On the hall PC itself: the same public address the QR codes carry; "" without a usable config."""
    from hall.config.loader import ConfigError, load_config
    from hall.netaddr import public_address

    if not config.exists():
        return ""
    try:
        addr = public_address(load_config(config).server)
    except ConfigError:
        return ""
    return addr.url if addr.ok else ""


def page_url(base: str, role: str, kiosk_id: str | None) -> str:
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f'"{base}" 不是 http:// 地址 / is not an http:// address')
    if parts.hostname in ("127.0.0.1", "localhost", "::1", "0.0.0.0") and role == "board":
        # A board PC is another machine: loopback would point at itself.
        print("注意：地址是本机回环地址，仅当大屏与服务在同一台电脑时可用 / note: loopback address", file=sys.stderr)
    path = PAGES[role]
    if role == "kiosk" and kiosk_id:
        path += f"/{kiosk_id}"
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}{path}"


def desktop_entry(url: str, role: str) -> str:
    title = {"kiosk": "大厅触摸屏", "board": "大厅叫号大屏"}[role]
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={title}",
        f"Comment=开机自动打开大厅服务页面（{url}）",
        f"Exec={BROWSER_WRAPPER} {url}",
        "Terminal=false",
        "NoDisplay=true",
        "X-GNOME-Autostart-enabled=true",
        "X-GNOME-Autostart-Delay=2",
        "",
    ])


def write_entry(entry: Path, text: str, user: str) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(text, encoding="utf-8")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Written by root for another user: the folders and the file must be theirs.
        for path in (entry.parent.parent, entry.parent, entry):
            try:
                shutil.chown(path, user=user)
            except (LookupError, OSError):
                pass
