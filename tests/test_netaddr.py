"""The hall's public address: never loopback or 0.0.0.0 in a link a phone opens."""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from hall.config.loader import demo_config_path, load_config
from hall.config.schema import Server
from hall.drivers.emulators.printer import PrinterEmulator
from hall.drivers.printer.render import render
from hall.netaddr import lan_addresses, public_link, resolve, usable_lan_address
from pydantic import ValidationError

from tests.waiting import WAIT_SECONDS

KIOSK = str(Path(sys.executable).with_name("kiosk"))


def _machine_addresses() -> set[str]:
    """Every address this machine's interfaces carry (psutil: the OS's own list, not our discovery)."""
    return {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs
            if a.family in (socket.AF_INET, socket.AF_INET6)}


# ------------------------------------------------------------------ resolve()
def test_configured_public_url_wins_and_loses_its_trailing_slash() -> None:
    addr = resolve(Server(host="0.0.0.0", public_url="http://hall.lan:8080/"), lan=["192.168.1.9"])
    assert (addr.url, addr.host, addr.source) == ("http://hall.lan:8080", "hall.lan", "configured")


def test_all_interfaces_picks_the_first_usable_lan_address() -> None:
    addr = resolve(Server(host="0.0.0.0", port=8123), lan=["127.0.0.1", "169.254.3.4", "10.1.2.3", "192.168.0.5"])
    assert addr.url == "http://10.1.2.3:8123" and addr.source == "discovered" and addr.ok
    assert "10.1.2.3" in addr.reason and "192.168.0.5" in addr.reason   # says which and what else there was


def test_no_lan_address_is_said_loudly_and_the_service_keeps_a_working_url() -> None:
    addr = resolve(Server(host="::", port=8080), lan=["127.0.0.1", "fe80::1"])
    assert not addr.ok and addr.loopback and addr.url == "http://127.0.0.1:8080"
    assert "未找到局域网地址" in addr.reason and "public_url" in addr.reason


def test_a_specific_bind_address_is_used_as_is_ipv6_in_brackets() -> None:
    assert resolve(Server(host="192.168.3.4", port=80)).url == "http://192.168.3.4:80"
    assert resolve(Server(host="fd00::7", port=8080)).url == "http://[fd00::7]:8080"
    demo = resolve(Server(host="127.0.0.1", port=8080))
    assert demo.loopback and demo.ok and demo.source == "loopback"


def test_public_link_joins_paths() -> None:
    s = Server(public_url="http://10.0.0.2:8080")
    assert public_link(s, "/r/") == "http://10.0.0.2:8080/r/"
    assert public_link(s, "station/3") == "http://10.0.0.2:8080/station/3"


@pytest.mark.parametrize("bad", ["192.168.1.10:8080", "ftp://x", "http://0.0.0.0:8080", "http://h:99999",
                                 "http://h/?a=1"])
def test_bad_public_urls_are_refused_at_start(bad: str) -> None:
    with pytest.raises(ValidationError):
        Server(public_url=bad)


def test_discovery_finds_a_real_interface_address_of_this_machine() -> None:
    found = lan_addresses()
    mine = _machine_addresses()
    usable = {a for a in mine if usable_lan_address(a) and ":" not in a}
    if not usable:
        pytest.skip("this machine has no IPv4 LAN address")
    assert found and set(found) <= usable


# ------------------------------------------------------------------ end to end
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hall_config(tmp: Path, printer_port: int, port: int) -> Path:
    """The demo hall with one real (socket) printer, bound to all interfaces, no public_url."""
    text = demo_config_path().read_text(encoding="utf-8")
    text = re.sub(r"\[\[(?:devices|kiosks)\]\][^\[]*", "", text)
    text = re.sub(r'endpoint = "emulator://".*\n', "", text)
    text = re.sub(r"\[server\][^\[]*", f"[server]\nhost = \"0.0.0.0\"\nport = {port}\n", text)
    text += (f'\n[[devices]]\nname = "printer"\nkind = "printer"\nurl = "socket://127.0.0.1:{printer_port}"\n'
             'options = { qr = "image" }\n')
    p = tmp / "hall.toml"
    p.write_text(text, encoding="utf-8")
    load_config(p)      # a broken test config fails here, not as a server that never comes up
    return p


@pytest.mark.slow
def test_ticket_qr_of_a_hall_on_all_interfaces_carries_a_lan_address(tmp_path: Path) -> None:
    usable = {a for a in _machine_addresses() if usable_lan_address(a)}
    if not usable:
        pytest.skip("this machine has no LAN address")
    emu = PrinterEmulator(columns=42)
    printer_port = emu.start_tcp("127.0.0.1", 0)
    port = _port()
    cfg = _hall_config(tmp_path, printer_port, port)
    proc = subprocess.Popen([KIOSK, "serve", "--config", str(cfg), "--data-dir", str(tmp_path / "data")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server exited"
            assert time.monotonic() < deadline, "server did not start"
            try:        # up, and its printer connected (a ticket issued before would not print)
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/api/printer")
                if json.loads(c.getresponse().read()).get("ready"):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("POST", "/api/tickets", body='{"category": "B"}', headers={"Content-Type": "application/json"})
        assert c.getresponse().status == 201
        assert emu.wait_for_jobs(1, WAIT_SECONDS), "nothing printed"
        raw = bytes(emu.jobs[-1].raw)
        assert b"\x1dv0" in raw                     # an image QR: the text is only in the pixels
        jobs = [j for j in render(raw) if j.qr]     # decode the QR image from the printer's bytes
        assert jobs, "no QR decoded from the printed bytes"
        url = jobs[0].qr[0]
        host = urlsplit(url).hostname or ""
        assert host in usable, f"QR host {host} is not a LAN address of this machine {sorted(usable)}"
        assert urlsplit(url).port == port and urlsplit(url).path.startswith("/r/")
        # and a device on the LAN can open it: the page answers on that address
        c = http.client.HTTPConnection(host, port, timeout=5)
        c.request("GET", urlsplit(url).path)
        assert c.getresponse().status == 200
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
        emu.stop()
    assert "public address" in out and host in out       # it said at start which address it picked


# ------------------------------------------------------------------ kiosk config check
def _demo_with(tmp: Path, *, server: str, printer_url: str) -> Path:
    text = demo_config_path().read_text(encoding="utf-8")
    text = text.replace('url = "emulator://"\noptions = { qr = "native" }',
                        f'url = "{printer_url}"\noptions = {{ qr = "native" }}', 1)
    text = re.sub(r"\[server\][^\[]*", f"[server]\n{server}\n", text)
    p = tmp / "hall.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall.cli", "config", "check", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_config_check_warns_on_a_loopback_address_with_real_devices(tmp_path: Path) -> None:
    real = _demo_with(tmp_path, server='host = "127.0.0.1"', printer_url="socket://192.168.1.50:9100")
    r = _check(real)
    assert r.returncode == 0, r.stderr
    assert "警告 / warning: server.public_url" in r.stdout and "回环地址" in r.stdout and "printer" in r.stdout


def test_config_check_is_quiet_for_the_demo_and_for_a_lan_hall(tmp_path: Path) -> None:
    demo = _check(demo_config_path())          # emulated devices on loopback: fine
    assert demo.returncode == 0 and "警告" not in demo.stdout
    lan = _demo_with(tmp_path, server='host = "0.0.0.0"\npublic_url = "http://192.168.1.10:8080"',
                     printer_url="socket://192.168.1.50:9100")
    r = _check(lan)
    assert r.returncode == 0 and "警告" not in r.stdout, r.stdout


def test_config_check_warns_when_public_url_cannot_be_reached(tmp_path: Path) -> None:
    p = _demo_with(tmp_path, server='host = "127.0.0.1"\npublic_url = "http://192.168.1.10:8080"',
                   printer_url="socket://192.168.1.50:9100")
    r = _check(p)
    assert "server.host" in r.stdout and "0.0.0.0" in r.stdout


def test_page_qr_by_path_encodes_the_public_address(client: Any, services: Any) -> None:
    from hall.netaddr import public_url

    base = public_url(services.config.server)
    by_path = client.get("/screens/qr.svg?path=/station/1")
    by_text = client.get(f"/screens/qr.svg?text={base}/station/1")
    assert by_path.status_code == 200 and by_path.data == by_text.data
    assert client.get("/screens/qr.svg?path=//evil.example/x").status_code == 400


def test_technician_page_shows_the_public_address(client: Any, services: Any) -> None:
    from hall.netaddr import public_url

    from tests.conftest import login

    token = login(client, "9101", "tech-6666", None)
    checks = client.get("/api/tech/config", headers={"Authorization": f"Bearer {token}"}).get_json()["checks"]
    [addr] = [c for c in checks if c["item"] == "对外地址"]
    assert addr["level"] == "ok" and public_url(services.config.server) in addr["message"]
