"""The Linux package end to end, in a fresh Debian 12 root: the issue's "Done when".

`scripts/package` builds three packages (this version; one with an extra
migration; one whose migration fails), the first is installed with apt into a
throw-away copy of a cached bookworm root, `kiosk setup` writes the config, and
the service is started from the installed unit's ExecStart= as its User= (no
systemd in a chroot), telling us READY=1 over a real NOTIFY_SOCKET. Then: a
ticket whose QR carries a LAN address; backup, wipe, restore, ticket found;
`hall-update` to the failing build rolls back with the data unchanged;
`hall-update` to the good build migrates and serves the new version.

The chroot shares this machine's network, so the service's LAN address is this
machine's. Needs root, debootstrap and dpkg-deb (scripts/setup installs them);
elsewhere the module is skipped with the reason. Figures (install time,
package size) go to test-output/package-figures.json.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import debian_root
from tests.debian_root import chroot

REPO = Path(__file__).resolve().parents[1]
FIGURES = REPO / "test-output" / "package-figures.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(debian_root.why_not_available() is not None,
                       reason=f"install test: {debian_root.why_not_available()}"),
]

GOOD_MIGRATION = """-- test build only: one more table, one row
CREATE TABLE update_probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
INSERT INTO update_probe (note) VALUES ('added by 0900');
"""
BAD_MIGRATION = """-- test build only: the first statement works, the second fails
CREATE TABLE broken_probe (id INTEGER PRIMARY KEY);
INSERT INTO no_such_table (x) VALUES (1);
"""


def project_version() -> str:
    import tomllib

    return str(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])


def build(out: Path, version: str, migration: Path | None = None) -> Path:
    cmd = [sys.executable, str(REPO / "scripts" / "package_linux.py"), "--version", version, "--out", str(out)]
    if migration is not None:
        cmd += ["--extra-migration", str(migration)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (deb,) = out.glob(f"hall-kiosk_{version}_*.deb")
    return deb


def depends_of(deb: Path) -> list[str]:
    field_ = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                            check=True).stdout
    return [d.split("(")[0].strip() for d in field_.split(",") if d.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return int(s.getsockname()[1])


@dataclass
class Hall:
    root: Path
    port: int
    debs: dict[str, Path]
    versions: dict[str, str]
    figures: dict[str, Any] = field(default_factory=dict)
    notify: socket.socket | None = None
    ticket: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Origin": self.url})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def unit(self) -> tuple[list[str], str]:
        """ExecStart= and User= of the installed unit."""
        cmd, user = [], "root"
        for line in (self.root / "lib/systemd/system/hall.service").read_text(encoding="utf-8").splitlines():
            if line.startswith("ExecStart="):
                cmd = shlex.split(line.split("=", 1)[1])
            elif line.startswith("User="):
                user = line.split("=", 1)[1].strip()
        return cmd, user

    def start(self) -> None:
        """The unit's command line as its user, with a NOTIFY_SOCKET like systemd's; waits for READY=1."""
        cmd, user = self.unit()
        sock_path = self.root / "run" / "hall-test-notify.sock"
        sock_path.unlink(missing_ok=True)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(sock_path))
        sock_path.chmod(0o777)
        self.notify.settimeout(90)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
               "NOTIFY_SOCKET": "/run/hall-test-notify.sock", "WATCHDOG_USEC": "2000000"}
        out = open(self.root / "var/log/hall/test-console.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(["chroot", str(self.root), "setpriv", f"--reuid={user}", f"--regid={user}",
                                 "--init-groups", "--", *cmd], env=env, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        (self.root / "run/hall").mkdir(exist_ok=True)
        (self.root / "run/hall/hall.pid").write_text(f"{proc.pid}\n")   # where hall-update looks without systemd
        messages = []
        while not any(m.startswith("READY=1") for m in messages):
            try:
                messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                raise AssertionError(f"no READY=1 from the service; console:\n{self.console()}") from None
        assert self.notify.recv(4096).decode() == "WATCHDOG=1"        # the watchdog is fed
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                status, body = self.api("GET", "/healthz")
                if status == 200:
                    return dict(body)
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"/healthz did not answer; console:\n{self.console()}")
            time.sleep(0.2)

    def pid(self) -> int | None:
        try:
            return int((self.root / "run/hall/hall.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)   # our child: reap it
                if done:
                    break
            except ChildProcessError:                   # started by hall-update: poll
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        (self.root / "run/hall/hall.pid").unlink(missing_ok=True)

    def console(self) -> str:
        text = ""
        for name in ("test-console.log", "console.log"):
            p = self.root / "var/log/hall" / name
            if p.exists():
                text += f"--- {name}\n" + p.read_text(errors="replace")[-3000:]
        return text

    def as_hall(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return chroot(self.root, "setpriv", "--reuid=hall", "--regid=hall", "--init-groups", "--", *args,
                      check=check)

    def db_rows(self) -> dict[str, Any]:
        """What must survive a failed update: the tickets and the applied migrations."""
        db = sqlite3.connect(f"file:{self.root / 'var/lib/hall/hall.db'}?mode=ro", uri=True)
        try:
            return {
                "tickets": db.execute("SELECT * FROM tickets ORDER BY id").fetchall(),
                "migrations": [r[0] for r in db.execute("SELECT name FROM schema_migrations ORDER BY name")],
                "tables": sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")),
            }
        finally:
            db.close()


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    work = tmp_path_factory.mktemp("package")
    base = project_version()
    versions = {"base": base, "good": f"{base}+mig1", "bad": f"{base}+bad1"}
    (work / "0900_update_probe.sql").write_text(GOOD_MIGRATION, encoding="utf-8")
    (work / "0901_broken_probe.sql").write_text(BAD_MIGRATION, encoding="utf-8")
    t0 = time.monotonic()
    migrations = {"base": None, "good": work / "0900_update_probe.sql", "bad": work / "0901_broken_probe.sql"}
    with ThreadPoolExecutor(max_workers=3) as pool:   # mostly waiting on pip and disk: build side by side
        futures = {k: pool.submit(build, work / "dist", versions[k], m) for k, m in migrations.items()}
        debs = {k: f.result() for k, f in futures.items()}
    figures: dict[str, Any] = {"build_seconds_3_packages": round(time.monotonic() - t0, 1),
                               "package_bytes": debs["base"].stat().st_size}
    t0 = time.monotonic()
    # systemd only so `systemd-analyze verify` can check the unit against the installed files.
    cached = debian_root.cached_root([*depends_of(debs["base"]), "systemd"])
    figures["root_ready_seconds"] = round(time.monotonic() - t0, 1)
    with debian_root.fresh_copy(cached) as root:
        for name, deb in debs.items():
            shutil.copy(deb, root / "tmp" / f"{name}.deb")
        h = Hall(root=root, port=free_port(), debs=debs, versions=versions, figures=figures)
        try:
            yield h
        finally:
            h.stop()
            if h.notify is not None:
                h.notify.close()
            FIGURES.parent.mkdir(parents=True, exist_ok=True)
            FIGURES.write_text(json.dumps(h.figures, indent=2) + "\n", encoding="utf-8")


def test_installs_with_apt_into_a_fresh_root(hall: Hall) -> None:
    t0 = time.monotonic()
    chroot(hall.root, "apt-get", "install", "-y", "-q", "--no-install-recommends", "/tmp/base.deb",
           env={"DEBIAN_FRONTEND": "noninteractive"})
    hall.figures["install_seconds"] = round(time.monotonic() - t0, 1)
    r = hall.root
    assert chroot(r, "kiosk", "version").stdout.strip() == hall.versions["base"]
    assert os.readlink(r / "opt/hall/current") == f"/opt/hall/releases/{hall.versions['base']}"
    groups = chroot(r, "id", "-nG", "hall").stdout.split()
    assert "dialout" in groups                       # serial ports
    for d in ("var/lib/hall", "var/log/hall"):
        st = (r / d).stat()
        assert (st.st_mode & 0o777) == 0o750
        assert chroot(r, "stat", "-c", "%U", f"/{d}").stdout.strip() == "hall"
    assert chroot(r, "getent", "passwd", "hall").stdout.strip().endswith(":/usr/sbin/nologin")
    # The unit, checked by the root's own systemd against the installed files.
    verify = chroot(r, "systemd-analyze", "verify", "/lib/systemd/system/hall.service", check=False)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stdout + verify.stderr
    unit = (r / "lib/systemd/system/hall.service").read_text(encoding="utf-8")
    for line in ("Type=notify", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=yes",
                 "ReadWritePaths=/var/lib/hall /var/log/hall", "User=hall"):
        assert f"\n{line}\n" in unit


def test_first_run_writes_the_config_and_the_service_starts_from_its_unit(hall: Hall) -> None:
    r = hall.root
    chroot(r, "kiosk", "setup", "--name", "青石镇便民服务中心", "--region-code", "430121101",
           "--window", "1=A,B,C", "--window", "2=D,E,F", "--staff", "1001:王芳:clerk:135790:1",
           "--staff", "9101:刘工:technician:liugong-565", "--port", str(hall.port))
    cfg = r / "etc/hall/hall.toml"
    assert "135790" not in cfg.read_text(encoding="utf-8")
    assert chroot(r, "stat", "-c", "%a %U:%G", "/etc/hall/hall.toml").stdout.strip() == "640 root:hall"
    # The commissioning step a technician adds: the ticket printer (here a file the test reads),
    # and tickets at any hour for the test.
    with cfg.open("a", encoding="utf-8") as fh:
        fh.write('\n[hall.hours]\nenforce = false\n\n[[devices]]\nname = "ticket"\nkind = "printer"\n'
                 'url = "file:///var/lib/hall/printer.out"\n')
    hall.as_hall("kiosk", "config", "check", "/etc/hall/hall.toml")
    t0 = time.monotonic()
    hall.start()
    hall.figures["start_seconds"] = round(time.monotonic() - t0, 1)
    health = hall.wait_healthy()
    assert health["version"] == hall.versions["base"]


def test_a_ticket_prints_a_qr_with_a_lan_address(hall: Hall) -> None:
    from hall.drivers.printer.render import render

    status, body = hall.api("POST", "/api/tickets", {"category": "A"})
    assert status == 201, body
    hall.ticket = body["ticket"]
    printed = hall.root / "var/lib/hall/printer.out"
    deadline = time.monotonic() + 30
    qrs: list[str] = []
    while time.monotonic() < deadline and not qrs:
        if printed.exists():
            qrs = [q for job in render(printed.read_bytes()) for q in job.qr]
        time.sleep(0.2)
    assert qrs, f"no QR printed; console:\n{hall.console()}"
    host = urlsplit(qrs[-1]).hostname or ""
    assert host not in ("127.0.0.1", "localhost", "0.0.0.0", "::", "::1") and not host.startswith("127."), qrs
    mine = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    assert host in mine, f"QR host {host} is not one of this machine's addresses {mine}"
    with urllib.request.urlopen(qrs[-1], timeout=10) as resp:   # a phone on the LAN could open it
        assert resp.status == 200


def test_backup_wipe_restore_finds_the_ticket(hall: Hall) -> None:
    ticket_id = hall.ticket["id"]
    t0 = time.monotonic()
    out = hall.as_hall("kiosk", "backup", "--config", "/etc/hall/hall.toml", "--to", "/tmp")
    backup = out.stdout.strip().splitlines()[-1]
    hall.figures["backup_seconds_one_ticket"] = round(time.monotonic() - t0, 1)
    hall.stop()
    chroot(hall.root, "sh", "-c", "rm -rf /var/lib/hall/* /var/lib/hall/.[!.]*")
    assert not (hall.root / "var/lib/hall/hall.db").exists()
    hall.as_hall("kiosk", "restore", "--config", "/etc/hall/hall.toml", backup, "--yes")
    hall.start()
    status, body = hall.api("GET", f"/api/tickets/{ticket_id}")
    assert status == 200, body
    assert json.dumps(body, ensure_ascii=False).count(hall.ticket["number"]) >= 1


def test_a_wrong_package_is_refused_before_anything_stops(hall: Hall, tmp_path: Path) -> None:
    other = tmp_path / "other"
    (other / "DEBIAN").mkdir(parents=True)
    (other / "DEBIAN" / "control").write_text("Package: not-hall\nVersion: 1.0\nArchitecture: all\n"
                                               "Maintainer: x <x@y>\nDescription: x\n", encoding="utf-8")
    subprocess.run(["dpkg-deb", "--build", str(other), str(hall.root / "tmp/other.deb")], check=True,
                   capture_output=True)
    pid = hall.pid()
    proc = chroot(hall.root, "hall-update", "/tmp/other.deb", check=False)
    assert proc.returncode == 2 and "not a hall-kiosk package" in proc.stdout, proc.stdout + proc.stderr
    assert hall.pid() == pid and pid is not None
    os.kill(pid, 0)                       # the same process still serves
    assert hall.wait_healthy()["version"] == hall.versions["base"]


def _timed_update(hall: Hall, deb: str, figure: str) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """The data before, then `hall-update deb` run and its time kept as `figure` in the run's figures."""
    before = hall.db_rows()
    t0 = time.monotonic()
    proc = chroot(hall.root, "hall-update", deb, check=False, timeout=600)
    hall.figures[figure] = round(time.monotonic() - t0, 1)
    return before, proc


def test_an_update_whose_migration_fails_rolls_back_with_the_data_unchanged(hall: Hall) -> None:
    before, proc = _timed_update(hall, "/tmp/bad.deb", "failed_update_and_rollback_seconds")
    assert proc.returncode == 1, proc.stdout + proc.stderr + hall.console()
    assert "0901_broken_probe.sql" in proc.stdout and "rolled back" in proc.stdout
    assert os.readlink(hall.root / "opt/hall/current") == f"/opt/hall/releases/{hall.versions['base']}"
    assert hall.wait_healthy()["version"] == hall.versions["base"]
    after = hall.db_rows()
    assert after == before
    assert "broken_probe" not in after["tables"]


def test_an_update_with_one_more_migration_succeeds(hall: Hall) -> None:
    before, proc = _timed_update(hall, "/tmp/good.deb", "update_seconds")
    assert proc.returncode == 0, proc.stdout + proc.stderr + hall.console()
    assert hall.wait_healthy()["version"] == hall.versions["good"]
    assert chroot(hall.root, "kiosk", "version").stdout.strip() == hall.versions["good"]
    after = hall.db_rows()
    assert after["tickets"] == before["tickets"]
    assert after["migrations"] == sorted([*before["migrations"], "0900_update_probe.sql"])
    status, body = hall.api("GET", f"/api/tickets/{hall.ticket['id']}")
    assert status == 200, body


def test_a_failed_update_after_a_good_one_puts_dpkg_back_too(hall: Hall) -> None:
    # hall-update kept the good build's .deb: this rollback re-installs it, so dpkg agrees with what runs.
    before = hall.db_rows()
    proc = chroot(hall.root, "hall-update", "/tmp/bad.deb", check=False, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr + hall.console()
    installed = chroot(hall.root, "dpkg-query", "-W", "-f=${Version}", "hall-kiosk").stdout
    assert installed == hall.versions["good"]
    assert os.readlink(hall.root / "opt/hall/current") == f"/opt/hall/releases/{hall.versions['good']}"
    assert hall.wait_healthy()["version"] == hall.versions["good"]
    assert hall.db_rows() == before
