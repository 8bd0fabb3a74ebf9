"""The repository layout must never shadow the standard library's `queue`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_stdlib_queue_not_shadowed_from_repo_root() -> None:
    r = subprocess.run(
        [sys.executable, "-c", "import queue, logging.handlers; queue.Queue(); print(queue.__file__)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert str(ROOT / "queue") not in r.stdout


def test_queue_folder_is_not_a_regular_package() -> None:
    assert not (ROOT / "queue" / "__init__.py").exists()


def test_product_namespace_imports_from_repo_root() -> None:
    r = subprocess.run(
        [sys.executable, "-c", "import hall.queue.engine, hall.web.app, serial; print('ok')"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr


def test_pyserial_loop_url_works_from_repo_root() -> None:
    """pyserial's loop:// uses the stdlib queue; it broke when queue/ shadowed it."""
    code = "import serial; s = serial.serial_for_url('loop://', timeout=1); s.write(b'hi'); print(s.read(2))"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "b'hi'" in r.stdout, r.stderr
