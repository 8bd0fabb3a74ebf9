"""The core runs on Windows too: no POSIX-only call outside a guard, and COM port names work.

The scan reads the source (AST), so it also covers code paths no Linux test
executes. A use counts as guarded when it sits
  - in an `if` or conditional expression that tests `sys.platform`, `os.name`
    or `hasattr(...)` (its own test included), or after such an `if` that returns or raises,
  - in a `try` whose handlers catch ImportError or AttributeError (a missing name),
  - in a function that first calls `require_pty()` (the emulators' own guard),
  - or on a line marked `# posix-only: <why>` by someone who checked it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ("kiosk", "queue", "drivers", "config", "screens")

POSIX_MODULES = {"fcntl", "termios", "pwd", "grp", "pty", "tty", "resource", "posix", "crypt", "syslog",
                 "spwd"}
POSIX_OS = {"fork", "forkpty", "openpty", "ttyname", "getuid", "geteuid", "getgid", "getegid", "setuid",
            "setgid", "seteuid", "setsid", "setpgid", "getpgid", "killpg", "chown", "lchown", "fchown",
            "mkfifo", "mknod", "symlink", "sync", "statvfs", "fstatvfs", "uname", "getloadavg", "nice",
            "wait3", "wait4", "WNOHANG", "sched_getaffinity", "O_NOFOLLOW", "O_NONBLOCK", "pipe2",
            "sysconf", "getpriority", "setpriority", "posix_fadvise", "initgroups", "getgroups"}
POSIX_SIGNAL = {"SIGKILL", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGQUIT", "SIGPIPE",
                "SIGSTOP", "SIGCONT", "SIGTSTP", "alarm", "pause", "setitimer", "getitimer", "pthread_kill",
                "sigwait", "siginterrupt"}
POSIX_SELECT = {"poll", "epoll", "kqueue"}
GUARD_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "AttributeError"}
MARK = "# posix-only:"


def _mentions_platform_test(node: ast.expr) -> bool:
    text = ast.unparse(node)
    return "sys.platform" in text or "os.name" in text or "hasattr(" in text


def _catches_guard(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(handler.type) if isinstance(n, ast.Attribute)}
    return bool(names & GUARD_EXCEPTIONS)


def _calls_require_pty(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(n, ast.Call) and ast.unparse(n.func).endswith("require_pty") for n in ast.walk(fn))


def _uses(node: ast.AST) -> str | None:
    """What POSIX-only thing `node` names, if any."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] in POSIX_MODULES:
                return f"import {alias.name}"
    if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in POSIX_MODULES:
        return f"from {node.module} import"
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        base, attr = node.value.id, node.attr
        if (base == "os" and attr in POSIX_OS) or (base == "signal" and attr in POSIX_SIGNAL) or \
                (base == "select" and attr in POSIX_SELECT):
            return f"{base}.{attr}"
    return None


def find_posix_only(source: str, filename: str = "<src>") -> list[str]:
    """Unguarded POSIX-only uses in `source`, as 'file:line: what'."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    found: list[str] = []

    def visit(node: ast.AST, guarded: bool) -> None:
        what = _uses(node)
        if what and not guarded:
            line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""   # type: ignore[attr-defined]
            if MARK not in line:
                found.append(f"{filename}:{node.lineno}: {what}")   # type: ignore[attr-defined]
        if isinstance(node, ast.If | ast.IfExp | ast.While):
            # `hasattr(os, "geteuid") and os.geteuid() == 0` guards its own second half too.
            test_guard = _mentions_platform_test(node.test)
            visit(node.test, guarded or test_guard)
            for child in node.body if isinstance(node.body, list) else [node.body]:
                visit(child, guarded or test_guard)
            for child in node.orelse if isinstance(node.orelse, list) else [node.orelse]:
                visit(child, guarded or test_guard)
            return
        if isinstance(node, ast.Try):
            body_guard = any(_catches_guard(h) for h in node.handlers)
            visit_block(node.body, guarded or body_guard)
            for child in node.handlers:
                visit(child, guarded)
            visit_block(node.orelse, guarded)
            visit_block(node.finalbody, guarded)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            guarded = guarded or _calls_require_pty(node)
        for _field, value in ast.iter_fields(node):
            if isinstance(value, list) and value and all(isinstance(v, ast.stmt) for v in value):
                visit_block(value, guarded)
            elif isinstance(value, list):
                for v in value:
                    if isinstance(v, ast.AST):
                        visit(v, guarded)
            elif isinstance(value, ast.AST):
                visit(value, guarded)

    def visit_block(stmts: list[ast.stmt], guarded: bool) -> None:
        """Statements in order: after `if not hasattr(os, "x"): return`, the rest of the block is guarded."""
        for stmt in stmts:
            visit(stmt, guarded)
            if isinstance(stmt, ast.If) and not stmt.orelse and _mentions_platform_test(stmt.test) and \
                    isinstance(stmt.body[-1], ast.Return | ast.Raise):
                guarded = True

    visit(tree, False)
    return found


def core_files() -> list[Path]:
    return sorted(p for d in CORE for p in (ROOT / d).rglob("*.py") if "__pycache__" not in p.parts)


def test_scan_finds_unguarded_and_accepts_guarded_uses() -> None:
    """The scanner itself: it must catch what it claims to catch, or the real scan proves nothing."""
    bad = (
        "import os, signal\n"
        "import fcntl\n"
        "def f():\n"
        "    os.kill(1, signal.SIGKILL)\n"
        "    return os.getuid()\n"
        "from pwd import getpwnam\n"
    )
    assert find_posix_only(bad, "bad.py") == [
        "bad.py:2: import fcntl", "bad.py:4: signal.SIGKILL", "bad.py:5: os.getuid", "bad.py:6: from pwd import"]
    good = (
        "import os, sys, signal\n"
        "try:\n"
        "    import termios\n"
        "except ImportError:\n"
        "    termios = None\n"
        "if sys.platform != 'win32':\n"
        "    uid = os.getuid()\n"
        "sig = signal.SIGHUP if hasattr(signal, 'SIGHUP') else signal.SIGTERM\n"
        "def emu():\n"
        "    require_pty()\n"
        "    return os.openpty()\n"
        "os.mkfifo('x')  # posix-only: a test fixture for Linux evdev keypads\n"
        "def chown_if_root(p):\n"
        "    if not hasattr(os, 'geteuid') or os.geteuid() != 0:\n"
        "        return\n"
        "    os.chown(p, 0, 0)\n"
    )
    assert find_posix_only(good, "good.py") == []
    # The early return guards what follows it only: the same chown before it is caught.
    early = "import os\ndef f(p):\n    os.chown(p, 0, 0)\n    if not hasattr(os, 'chown'):\n        return\n"
    assert find_posix_only(early, "early.py") == ["early.py:3: os.chown"]


def test_core_has_no_unguarded_posix_only_call() -> None:
    files = core_files()
    assert len(files) > 50, "the scan must see the core's files"
    problems = [hit for f in files for hit in find_posix_only(f.read_text(encoding="utf-8"),
                                                                str(f.relative_to(ROOT)))]
    assert not problems, "POSIX-only calls outside a guard (Windows hall PCs would fail):\n" + "\n".join(problems)


# --- COM port names, as a Windows technician writes them -------------------------------------------

@pytest.mark.parametrize("url", ["COM3", "com4", r"\\.\COM10", "COM256"])
def test_com_port_names_are_serial_transports(url: str) -> None:
    from hall.drivers.transport import SerialTransport, open_transport

    t = open_transport(url, {"baudrate": 9600})
    assert isinstance(t, SerialTransport)
    assert t.url == url and t.settings["baudrate"] == 9600


@pytest.mark.parametrize("url", ["COM3", r"\\.\COM10"])
def test_com_port_names_pass_config_validation(url: str) -> None:
    from hall.config.schema import Device

    dev = Device(name="printer", kind="printer", url=url, options={"baudrate": 19200})
    assert dev.url == url


@pytest.mark.parametrize("url", ["COM3", r"\\.\COM10"])
def test_missing_com_port_fails_with_a_message_naming_it(url: str) -> None:
    """Here (Linux) the name does not exist, as on a Windows PC whose adapter is unplugged."""
    from hall.drivers.transport import TransportError, open_transport

    t = open_transport(url)
    with pytest.raises(TransportError) as err:
        t.open()
    assert url in str(err.value) and "串口" in str(err.value)
    assert not t.is_open
