"""Kiosk and board PCs: the autostart entry, the browser wrapper that restarts Chromium,
and the local "正在连接服务…" page that moves on once the hall answers."""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.cli import main

from tests.browser_support import chromium_available, chromium_browser, wait_js
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
WRAPPER = ROOT / "packaging" / "linux" / "hall-browser"
CONNECTING = ROOT / "packaging" / "linux" / "connecting.html"


def entry_of(home: Path) -> str:
    return (home / ".config" / "autostart" / "hall-browser.desktop").read_text(encoding="utf-8")


def test_kiosk_entry_opens_its_own_kiosk_page(tmp_path: Path) -> None:
    user = os.environ.get("USER") or "root"
    assert main(["autostart", "--user", user, "--home", str(tmp_path), "--hall", "http://192.168.10.5:8080/",
                 "--kiosk-id", "k2"]) == 0
    text = entry_of(tmp_path)
    assert "Exec=/usr/lib/hall/hall-browser http://192.168.10.5:8080/kiosk/k2\n" in text
    assert text.startswith("[Desktop Entry]\nType=Application\n")
    validator = shutil.which("desktop-file-validate")
    if validator:
        proc = subprocess.run([validator, str(tmp_path / ".config/autostart/hall-browser.desktop")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_board_takes_the_public_address_from_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "hall.toml"
    hall_answers = ["--name", "青石镇便民服务中心", "--region-code", "430121", "--window", "1=A",
                    "--staff", "9101:刘工:technician:liugong-565"]
    assert main(["setup", "--out", str(cfg), "--public-url", "http://10.1.2.3:8080", *hall_answers]) == 0
    assert main(["autostart", "--user", "root", "--home", str(tmp_path), "--role", "board",
                 "--config", str(cfg)]) == 0
    assert "Exec=/usr/lib/hall/hall-browser http://10.1.2.3:8080/board\n" in entry_of(tmp_path)
    assert main(["autostart", "--user", "root", "--home", str(tmp_path), "--remove"]) == 0
    assert not (tmp_path / ".config/autostart/hall-browser.desktop").exists()


def test_no_address_is_an_error_not_a_loopback_guess(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["autostart", "--user", "root", "--home", str(tmp_path), "--config", str(tmp_path / "none.toml")]) == 2
    assert "--hall" in capsys.readouterr().err
    assert main(["autostart", "--user", "root", "--home", str(tmp_path), "--hall", "192.168.1.2"]) == 2
    assert not (tmp_path / ".config").exists()


@pytest.mark.slow
def test_wrapper_restarts_a_browser_that_dies_with_touch_kiosk_flags(tmp_path: Path) -> None:
    log = tmp_path / "launches"
    fake = tmp_path / "browser"
    # A "browser" that records its command line and dies at once, like a crash.
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexit 1\n')
    fake.chmod(0o755)
    env = {**os.environ, "HALL_BROWSER": str(fake), "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "st")}
    proc = subprocess.Popen([str(WRAPPER), "http://192.168.10.5:8080/kiosk"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 2)
        launches = log.read_text().splitlines()
        assert len(launches) >= 2, "the wrapper did not start the browser again"
        flags = launches[0].split()
        for flag in ("--kiosk", "--kiosk-printing", "--noerrdialogs", "--disable-pinch",
                     "--overscroll-history-navigation=0", "--disable-translate"):
            assert flag in flags
        assert any(f.startswith("--disable-features=") and "Translate" in f for f in flags)
        assert flags[-1] == "file:///usr/share/hall/connecting.html#http://192.168.10.5:8080/kiosk"
        assert launches[1] == launches[0]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


class _Hall(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status":"ok"}' if self.path == "/healthz" else "<h1>大厅触摸屏</h1>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if self.path == "/healthz" else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not chromium_available():
        pytest.skip("Chromium not installed (scripts/setup installs it)")
    yield from chromium_browser()


@pytest.mark.browser
def test_connecting_page_waits_for_the_hall_then_opens_it(browser: Any) -> None:
    with socket.socket() as s:          # a port nobody listens on yet: the hall PC is still booting
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    target = f"http://127.0.0.1:{port}/kiosk"
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    server: http.server.ThreadingHTTPServer | None = None
    try:
        page.goto(f"{CONNECTING.as_uri()}#{target}")
        wait_js(page, "document.getElementById('tries').textContent.includes('2')", timeout=15000)
        assert page.title() == "正在连接服务…"
        assert "正在连接服务…" in page.inner_text("h1")
        assert f"127.0.0.1:{port}" in page.inner_text("#target")
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Hall)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        page.wait_for_url(target, timeout=15000)
        assert "大厅触摸屏" in page.inner_text("h1")
    finally:
        ctx.close()
        if server is not None:
            server.shutdown()
            server.server_close()


@pytest.mark.browser
def test_connecting_page_without_an_address_says_so(browser: Any) -> None:
    ctx = browser.new_context(locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(CONNECTING.as_uri())
        assert "未设置大厅服务地址" in page.inner_text("#detail")
    finally:
        ctx.close()
