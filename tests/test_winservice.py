"""The Windows service wrapper's logic, run here on Linux: paths, argv, and the stop handshake."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path, PureWindowsPath

import pytest
from hall import winservice
from hall.config.loader import demo_config_path


def _windows_dirs(monkeypatch: pytest.MonkeyPatch) -> object:
    """platformdirs' real Windows implementation, with the known-folder lookup (ctypes on Windows)
    answered by its environment-variable resolver: CSIDL_COMMON_APPDATA is %ALLUSERSPROFILE%."""
    from platformdirs import windows
    from platformdirs.windows import Windows

    monkeypatch.setattr(windows, "_RESOLVE_WIN_FOLDER", windows.get_win_folder_from_env_vars)
    monkeypatch.setenv("ALLUSERSPROFILE", r"C:\ProgramData")
    monkeypatch.setenv("PROGRAMDATA", r"C:\ProgramData")
    return Windows(winservice.APP_NAME, appauthor=False, multipath=False)


def test_service_paths_are_machine_wide_programdata(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = winservice.service_paths(_windows_dirs(monkeypatch))
    assert PureWindowsPath(paths.config_file) == PureWindowsPath(r"C:\ProgramData\hall\hall.toml")
    assert PureWindowsPath(paths.data_dir) == PureWindowsPath(r"C:\ProgramData\hall\data")
    assert PureWindowsPath(paths.log_dir) == PureWindowsPath(r"C:\ProgramData\hall\data\logs")
    # Never the LocalSystem profile (C:\Windows\System32\config\systemprofile\AppData\...).
    assert "AppData" not in str(paths.data_dir)


def test_serve_argv_is_kiosk_serve_with_explicit_config_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    from hall.cli import build_parser

    paths = winservice.service_paths(_windows_dirs(monkeypatch))
    argv = winservice.serve_argv(paths)
    args = build_parser().parse_args(argv)
    assert args.command == "serve"
    assert PureWindowsPath(args.config) == PureWindowsPath(r"C:\ProgramData\hall\hall.toml")
    assert PureWindowsPath(args.data_dir) == PureWindowsPath(r"C:\ProgramData\hall\data")
    # The bind address and port come from the config, as with `kiosk serve` on Linux.
    assert args.host is None and args.port is None and not args.demo


def test_module_imports_without_pywin32_and_says_why_it_cannot_install() -> None:
    assert not winservice.HAVE_PYWIN32
    assert not hasattr(winservice, "HallService")
    proc = subprocess.run([sys.executable, "-m", "hall.winservice", "install"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "pywin32" in proc.stderr and "Windows" in proc.stderr


def test_paths_command_prints_the_folders() -> None:
    proc = subprocess.run([sys.executable, "-m", "hall.winservice", "paths"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    expected = winservice.service_paths()
    assert f"config {expected.config_file}" in proc.stdout
    assert f"data   {expected.data_dir}" in proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Run in a child process so the service's logging set-up stays out of pytest's process.
# Like pythonservice.exe, the runner serves on a thread that is not the main thread,
# and the stop request arrives from yet another thread.
_CHILD = textwrap.dedent("""
    import http.client, json, sys, threading, time
    from pathlib import Path
    from hall.winservice import ServicePaths, ServiceRunner, serve_argv

    base, port = Path(sys.argv[1]), int(sys.argv[2])
    paths = ServicePaths(base / "hall.toml", base / "data", base / "data" / "logs")
    runner = ServiceRunner(serve_argv(paths) + ["--host", "127.0.0.1", "--port", str(port)])
    svc = threading.Thread(target=runner.run, name="ServiceMain")
    svc.start()

    def request(method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request(method, path, body=json.dumps(body) if body else None,
                  headers={"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"null")

    deadline = time.monotonic() + 60
    while True:
        try:
            if request("GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        if not svc.is_alive() or time.monotonic() > deadline:
            print(json.dumps({"started": False, "exit": runner.exit_code}))
            sys.exit(1)
        time.sleep(0.05)
    status, ticket = request("POST", "/api/tickets", {"category": "B"})
    threading.Thread(target=runner.stop, name="SvcStop").start()
    svc.join(timeout=60)
    try:
        request("GET", "/healthz")
        still_serving = True
    except OSError:
        still_serving = False
    print(json.dumps({"started": True, "ticket_status": status, "number": ticket.get("number"),
                      "joined": not svc.is_alive(), "exit": runner.exit_code, "still_serving": still_serving}))
""")


def test_stop_request_from_another_thread_shuts_waitress_and_services_down(tmp_path: Path) -> None:
    import re

    text = demo_config_path().read_text(encoding="utf-8")
    (tmp_path / "hall.toml").write_text(re.sub(r"\[\[(?:devices|kiosks)\]\][^\[]*", "", text), encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path), str(port)], capture_output=True,
                          text=True, timeout=110, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stdout + proc.stderr
    result = json.loads(lines[-1])
    assert result["ticket_status"] in (200, 201), result
    assert result["joined"] and result["exit"] == 0 and not result["still_serving"], result
    # Stopped cleanly: the database was closed (SQLite removes the WAL on the last close)
    # and the ticket taken before the stop is in it.
    db = tmp_path / "data" / "hall.db"
    assert db.exists() and not (tmp_path / "data" / "hall.db-wal").exists()
    import sqlite3

    with sqlite3.connect(db) as conn:
        numbers = [r[0] for r in conn.execute("SELECT number FROM tickets")]
    assert result["number"] in numbers


def test_a_broken_install_ends_as_a_failed_run_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under Wine 8 pydantic-core's DLL does not load: the service must report exit 1 (so the SCM's
    recovery actions apply) with the cause, instead of dying inside the SCM's thread."""
    import builtins

    real_import = builtins.__import__

    def failing_import(name: str, *args: object, **kw: object) -> object:
        if name == "hall.cli":
            raise ImportError("DLL load failed while importing _pydantic_core: Module not found.")
        return real_import(name, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", failing_import)
    runner = winservice.ServiceRunner(["serve", "--config", "x.toml"])
    assert runner.run() == 1
    assert "_pydantic_core" in runner.error
