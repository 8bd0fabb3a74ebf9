"""`kiosk diag` and `kiosk diag bundle`: listings, PASS/FAIL lines, redaction, missing libusb."""

from __future__ import annotations

import json
import re
import socket
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hall.cli import main
from hall.cli.diag import redact_config, usb_devices
from hall.config.loader import demo_config_path

DEMO_TEXT = demo_config_path().read_text("utf-8")


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


def _config_with_devices(tmp_path: Path, devices_toml: str) -> Path:
    """The demo hall with its [[devices]] replaced."""
    text = re.sub(r"\n\[\[(?:devices|kiosks)\]\]\n(?:(?!\n\[).)*", "\n", DEMO_TEXT, flags=re.S)
    path = tmp_path / "hall.toml"
    path.write_text(text + "\n" + devices_toml, "utf-8")
    return path


def test_diag_demo_leds_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["diag", "--demo", "--data-dir", str(tmp_path), "--device", "led-board", "--device", "led-w1"])
    out = capsys.readouterr().out
    assert "== 串口 / serial ports ==" in out and "== USB 设备 / USB devices ==" in out
    assert re.search(r"led-board\s+led\s+正常", out)
    assert re.search(r"^PASS  led-board\s+测试图案已点亮", out, re.M)
    assert re.search(r"^PASS  led-w1\s+", out, re.M)
    assert "led-w2" not in out.split("== 测试 / tests ==")[1]
    assert code == 0


def test_diag_fails_for_an_unreachable_screen(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = _config_with_devices(tmp_path, f"""
[[devices]]
name = "led-board"
kind = "led"
url = "tcp://127.0.0.1:{_closed_port()}"
options = {{ role = "board" }}
""")
    code = main(["diag", "--config", str(cfg), "--settle", "2"])
    out = capsys.readouterr().out
    assert re.search(r"led-board\s+led\s+离线", out)
    assert "最近错误" in out and "连接失败" in out
    assert re.search(r"^FAIL  led-board\s+显示屏离线", out, re.M)
    assert code == 1


def test_diag_without_config_lists_ports_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diag"]) == 0
    out = capsys.readouterr().out
    assert "--config" in out and "PASS" not in out


def test_usb_listing_says_when_libusb_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import usb.core

    def no_backend(*a: Any, **kw: Any) -> Any:
        raise usb.core.NoBackendError("No backend available")

    monkeypatch.setattr(usb.core, "find", no_backend)
    devices, why = usb_devices()
    assert devices == [] and why is not None and "libusb" in why


def test_redact_config() -> None:
    text = redact_config(DEMO_TEXT + '\n[extra]\npassword = "hunter2"\ntoken=abc123 # note\nsecret_env = "HALL_X"\n'
                         'phone = "13812345678"\n')
    assert "pbkdf2_sha256$" not in text and "hunter2" not in text and "abc123" not in text
    assert 'pin_hash = "<已隐去 redacted>"' in text
    assert 'secret_env = "HALL_X"' in text         # where the secret lives is kept; the secret never is here
    assert "138****5678" in text and "# note" in text


def test_bundle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "hall.log").write_text(
        "2026-11-25 09:00:00 INFO x: 办件 申请人 430224199001011234 电话 13912345678\n", "utf-8")
    out = tmp_path / "bundle.zip"
    code = main(["diag", "bundle", "-o", str(out), "--demo", "--data-dir", str(data), "--settle", "3"])
    assert code == 0 and "bundle written" in capsys.readouterr().out
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"README.txt", "config.toml", "logs/hall.log", "ports.json", "devices.json", "system.json"} <= names
        config = z.read("config.toml").decode()
        log = z.read("logs/hall.log").decode()
        devices = json.loads(z.read("devices.json"))
        ports = json.loads(z.read("ports.json"))
    assert "pbkdf2_sha256$" not in config and "led-board" in config
    assert "430224199001011234" not in log and "430***********1234" in log and "139****5678" in log
    states = {d["name"]: d for d in devices["devices"]}
    assert states["led-board"]["state"] == "ready"
    assert devices["emulators"]["led-board"]["kind"] == "led"
    assert "serial" in ports and "usb" in ports
