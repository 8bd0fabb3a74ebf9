"""The real `kiosk serve` process: start-up, demo banner, power-cut survival, log masking."""

from __future__ import annotations

import http.client
import json
import logging
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hall.config.loader import demo_config_path

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _no_devices_config(tmp: Path) -> Path:
    import re

    text = demo_config_path().read_text(encoding="utf-8")
    text = re.sub(r"\[\[(?:devices|kiosks)\]\][^\[]*", "", text)
    p = tmp / "hall.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _start(args: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen([KIOSK, "serve", *args, "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.05)
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read() if proc.stdout else "server exited")
    proc.kill()
    raise AssertionError("server did not start")


def _post(port: int, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read())


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_ticket_survives_a_power_cut(tmp_path: Path) -> None:
    cfg = _no_devices_config(tmp_path)
    port = _port()
    args = ["--config", str(cfg), "--data-dir", str(tmp_path / "data")]
    proc = _start(args, port)
    status, body = _post(port, "/api/tickets", {"category": "B"})
    assert status == 201 and body["number"] == "B001"
    os.kill(proc.pid, signal.SIGKILL)  # no shutdown, no close: like pulling the plug
    proc.wait(10)
    proc = _start(args, port)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", f"/api/tickets/{body['ticket']['id']}")
        assert json.loads(c.getresponse().read())["ticket"]["number"] == "B001"
        status, body2 = _post(port, "/api/tickets", {"category": "B"})
        assert body2["number"] == "B002"  # numbering continues, no number handed out twice
        # both starts loaded the config: audited, the second with nothing changed
        with sqlite3.connect(tmp_path / "data" / "hall.db") as db:
            loads = [json.loads(r[0])["changed"] for r in db.execute(
                "SELECT detail FROM audit WHERE action = 'config.load' ORDER BY id")]
        assert loads == ["first", []]
    finally:
        proc.terminate()
        proc.wait(10)


def test_demo_prints_where_to_go_and_who_to_sign_in_as(tmp_path: Path) -> None:
    port = _port()
    proc = _start(["--demo", "--data-dir", str(tmp_path / "data")], port)
    try:
        # a fresh start (the port given on the command line) is no edit of the config file
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("POST", "/api/session", body=json.dumps({"staff_id": "9101", "pin": "tech-6666"}),
                  headers={"Content-Type": "application/json", **origin})
        token = json.loads(c.getresponse().read())["token"]
        c.request("GET", "/api/tech/config", headers={"Authorization": f"Bearer {token}"})
        checks = json.loads(c.getresponse().read())["checks"]
        assert [x["level"] for x in checks if x["item"] == "配置文件"] == ["ok"], checks
        # a screen's live stream is open while the service stops
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        stream.request("GET", "/api/events")
        assert stream.getresponse().status == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}/kiosk" in out and "/clerk" in out and "/board" in out
    assert "1001 / 123456" in out and "9001 / hall-8888" in out
    # a normal stop logs no traceback; log lines carry hall time (+0800), whatever zone the PC runs in
    assert "Traceback" not in out and "stopping (signal" in out, out[-2000:]
    log_line = next(x for x in out.splitlines() if "stopping (signal" in x)
    assert log_line[24:29] == "+0800", log_line


def test_log_lines_mask_id_and_phone(tmp_path: Path) -> None:
    from hall.logsetup import RedactFilter

    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "申请人 %s 电话 %s", ("430102199001011234", "13812341234"),
                            None)
    RedactFilter().filter(rec)
    msg = rec.getMessage()
    assert "430102199001011234" not in msg and "13812341234" not in msg and "138****1234" in msg


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"),
                    reason="glibc's tunables")
@pytest.mark.parametrize(("given", "expected"), [
    (None, "glibc.malloc.tcache_count=0"),                                     # re-run with the caches off
    ("glibc.malloc.tcache_count=3", "glibc.malloc.tcache_count=3"),           # a technician's choice stands
])   # (added to other tunables: tests/test_memory.py; glibc cuts /proc's copy of a list at its first ":")
def test_the_service_process_runs_without_glibcs_per_thread_caches(tmp_path: Path, given: str | None,
                                                                    expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if given is not None:
        env["GLIBC_TUNABLES"] = given
    port = _port()
    proc = _start(["--config", str(_no_devices_config(tmp_path)), "--data-dir", str(tmp_path / "data")], port, env)
    try:
        # the process started is the one serving (execve keeps the pid), now with the setting
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        assert [e for e in environ if e.startswith(b"GLIBC_TUNABLES=")] == [f"GLIBC_TUNABLES={expected}".encode()]
        assert Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[1:3] == [KIOSK.encode(), b"serve"]
    finally:
        proc.terminate()
        proc.wait(15)
