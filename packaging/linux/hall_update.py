#!/usr/bin/python3
"""hall-update NEW.deb: update an installed hall, and put it back by itself if anything fails.

Order: stop → `kiosk backup` → install the package (postinst builds the new
release beside the old one and points /opt/hall/current at it) → `kiosk
migrate` → start → health check (/healthz answers with the new version). Any
failure after the backup rolls back: the service is stopped, /opt/hall/current
points at the previous release again (its .deb is re-installed when
hall-update kept a copy, so dpkg agrees), the pre-update backup is restored
with `kiosk restore`, and the old version is started and checked.

Runs with Debian's python3 and the standard library only: it must work while
the hall's own virtualenvs are being replaced. Without systemd (a chroot, a
container) it starts the unit's ExecStart= itself as the unit's User= and
tracks it with /run/hall/hall.pid, so the same path is testable anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

UNIT = Path("/lib/systemd/system/hall.service")
OPT = Path("/opt/hall")
CURRENT = OPT / "current"
PIDFILE = Path("/run/hall/hall.pid")
KEEP_DEBS = Path("/var/cache/hall/packages")
LOG = Path("/var/log/hall/update.log")
# Outside the data folder: a restore moves the data folder's contents aside, and must not move its own source.
BACKUPS = Path("/var/backups/hall")


class UpdateError(Exception):
    """One step failed; the message says which and why."""


def say(msg: str) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
    print(line, flush=True)
    try:
        LOG.parent.mkdir(parents=True, exist_ok=True)
        with LOG.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        pass


def run(cmd: list[str], *, env: dict[str, str] | None = None, what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-1500:]
        raise UpdateError(f"{what} 失败 / failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def unit_settings() -> tuple[list[str], str]:
    """ExecStart= and User= of the installed unit: the service's one true command line."""
    exec_start, user = "", "root"
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("ExecStart="):
            exec_start = line.split("=", 1)[1].lstrip("-@+!")
        elif line.startswith("User="):
            user = line.split("=", 1)[1]
    if not exec_start:
        raise UpdateError(f"{UNIT} 没有 ExecStart= / has no ExecStart=")
    return shlex.split(exec_start), user


def as_service_user(cmd: list[str]) -> list[str]:
    _, user = unit_settings()
    if os.geteuid() != 0 or user == "root":
        return cmd
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]


def kiosk(*args: str) -> list[str]:
    return as_service_user([str(CURRENT / "venv" / "bin" / "kiosk"), *args])


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir()


def stop_service() -> None:
    if has_systemd():
        run(["systemctl", "stop", "hall.service"], what="停止服务 / stopping the service")
        return
    try:
        pid = int(PIDFILE.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        PIDFILE.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    PIDFILE.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours counts as gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start_service() -> None:
    if has_systemd():
        run(["systemctl", "start", "hall.service"], what="启动服务 / starting the service")
        return
    cmd, _ = unit_settings()
    PIDFILE.parent.mkdir(parents=True, exist_ok=True)
    with open("/var/log/hall/console.log", "ab") as out:
        proc = subprocess.Popen(as_service_user(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    PIDFILE.write_text(f"{proc.pid}\n")


def service_url(config: Path) -> str:
    server = tomllib.loads(config.read_text(encoding="utf-8")).get("server", {})
    host = str(server.get("host", "127.0.0.1"))
    if host in ("", "0.0.0.0", "::", "*"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{int(server.get('port', 8080))}"


def health_check(config: Path, version: str, timeout: float) -> None:
    """/healthz answers 200 with the expected version and a working database."""
    url = service_url(config) + "/healthz"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                body = json.loads(resp.read())
            if body.get("version") == version and body.get("database") == "ok":
                return
            last = f"version {body.get('version')}, database {body.get('database')}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        if not has_systemd() and not _pid_alive_from_file():
            raise UpdateError(f"服务启动后退出 / the service exited after start (/var/log/hall/console.log): {last}")
        time.sleep(0.5)
    raise UpdateError(f"健康检查失败 / health check failed at {url}: {last}")


def _pid_alive_from_file() -> bool:
    try:
        return _alive(int(PIDFILE.read_text().strip()))
    except (OSError, ValueError):
        return False


def deb_version(deb: Path) -> str:
    return run(["dpkg-deb", "-f", str(deb), "Version"], what="读取安装包 / reading the package").strip()


def check_package(deb: Path) -> None:
    """The right package for this machine, before anything is stopped."""
    name = run(["dpkg-deb", "-f", str(deb), "Package"], what="读取安装包 / reading the package").strip()
    arch = run(["dpkg-deb", "-f", str(deb), "Architecture"], what="读取安装包 / reading the package").strip()
    mine = run(["dpkg", "--print-architecture"], what="dpkg").strip()
    if name != "hall-kiosk":
        raise UpdateError(f"{deb.name} 不是大厅服务安装包（{name}）/ not a hall-kiosk package")
    if arch not in (mine, "all"):
        raise UpdateError(f"{deb.name} 是 {arch} 版本，本机是 {mine} / built for {arch}, this machine is {mine}")


def running_release() -> Path:
    try:
        return Path(os.readlink(CURRENT))
    except OSError as exc:
        raise UpdateError(f"{CURRENT} 不存在：大厅服务尚未安装 / the hall service is not installed") from exc


def point_current_at(release: Path) -> None:
    tmp = OPT / "current.rollback"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(release)
    tmp.replace(CURRENT)


def install(deb: Path) -> None:
    env = {"HALL_UPDATE": "1", "DEBIAN_FRONTEND": "noninteractive"}
    # apt pulls any new system dependency; with them all present it needs no network.
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "--allow-downgrades", str(deb.resolve())],
        env=env, what=f"安装 / installing {deb.name}")


def kept_deb(version: str) -> Path | None:
    found = sorted(KEEP_DEBS.glob(f"hall-kiosk_{version}_*.deb"))
    return found[-1] if found else None


def keep_deb(deb: Path, version: str) -> None:
    """A copy under its canonical name, so a later rollback can put dpkg back on this version."""
    arch = run(["dpkg-deb", "-f", str(deb), "Architecture"], what="读取安装包 / reading the package").strip()
    KEEP_DEBS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(deb, KEEP_DEBS / f"hall-kiosk_{version}_{arch}.deb")
    for old in sorted(KEEP_DEBS.glob("*.deb"), key=lambda p: p.stat().st_mtime)[:-3]:
        old.unlink()


def update(deb: Path, config: Path, data_dir: Path, timeout: float) -> int:
    new_version = deb_version(deb)
    previous = running_release()
    old_version = (previous / ".complete").read_text().strip() if (previous / ".complete").exists() else previous.name
    check_package(deb)
    say(f"更新 / update {old_version} → {new_version}")
    stop_service()
    try:
        BACKUPS.mkdir(parents=True, exist_ok=True, mode=0o750)
        shutil.chown(BACKUPS, *_owner(data_dir))
        out = run(kiosk("backup", "--config", str(config), "--data-dir", str(data_dir), "--to", str(BACKUPS)),
                  what="备份 / backup")
        backup = Path(out.strip().splitlines()[-1])
    except (UpdateError, OSError) as exc:
        # Nothing was changed yet: the hall goes back to serving with what it had.
        start_service()
        raise UpdateError(f"{exc}; 服务已按原版本重新启动 / the service was restarted unchanged") from exc
    say(f"备份 / backup: {backup}")
    try:
        install(deb)
        say(f"已安装 / installed {new_version}")
        run(kiosk("migrate", "--config", str(config), "--data-dir", str(data_dir)), what="数据库迁移 / migration")
        say("数据库已迁移 / database migrated")
        start_service()
        health_check(config, new_version, timeout)
    except UpdateError as exc:
        say(f"更新失败 / update failed: {exc}")
        try:
            rollback(previous, old_version, backup, config, data_dir, timeout)
        except UpdateError as again:
            say(f"回滚也失败，请联系技术支持 / ROLLBACK FAILED, call support: {again}")
            return 3
        say(f"已回滚到 {old_version} 并恢复更新前的备份 / rolled back to {old_version} with the pre-update backup")
        return 1
    keep_deb(deb, new_version)
    for old in sorted(BACKUPS.glob("*.zip"), key=lambda p: p.stat().st_mtime)[:-5]:
        old.unlink()   # pre-update backups: the last five are enough, daily backups go elsewhere
    say(f"更新完成 / update done: {new_version}")
    return 0


def rollback(previous: Path, old_version: str, backup: Path, config: Path, data_dir: Path, timeout: float) -> None:
    try:
        stop_service()
    except UpdateError as exc:
        say(f"停止新版本失败，继续回滚 / could not stop the new version, rolling back anyway: {exc}")
    old_deb = kept_deb(old_version)
    if old_deb is not None and (previous / ".complete").exists():
        install(old_deb)   # postinst finds the old venv complete and only switches the link back
    point_current_at(previous)
    if old_deb is None:
        say(f"注意：dpkg 仍记录新版本；{old_version} 正在运行 / note: dpkg still lists the new version")
    run(kiosk("restore", "--config", str(config), "--data-dir", str(data_dir), str(backup), "--yes"),
        what="恢复备份 / restore")
    start_service()
    health_check(config, old_version, timeout)


def _owner(path: Path) -> tuple[str, str]:
    st = path.stat()
    import grp
    import pwd

    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hall-update",
                                description="更新大厅服务，失败时自动回滚 / update the hall, rolling back on failure")
    p.add_argument("deb", type=Path, help="the new hall-kiosk_*.deb")
    p.add_argument("--config", type=Path, default=Path("/etc/hall/hall.toml"))
    p.add_argument("--data-dir", type=Path, default=Path("/var/lib/hall"))
    p.add_argument("--timeout", type=float, default=90, help="seconds to wait for /healthz after start")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("hall-update 需要 root 权限 / must run as root (sudo hall-update …)", file=sys.stderr)
        return 2
    if not args.deb.is_file():
        print(f"找不到安装包 / no such package: {args.deb}", file=sys.stderr)
        return 2
    try:
        return update(args.deb, args.config, args.data_dir, args.timeout)
    except UpdateError as exc:   # before the backup: nothing was changed
        say(f"未更新 / not updated: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
