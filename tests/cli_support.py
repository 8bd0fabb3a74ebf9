"""`kiosk emulate …` run as a technician runs it: a child process whose output the test reads line by line
and whose stdin takes the emulator's typed commands (place a card, paper out, quit)."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator


class EmulatorCli:
    """The running emulator; `seen` holds every output line a `wait_for` has read, for messages and checks."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(x) for x in proc.stdout or []], daemon=True).start()

    def wait_for(self, pattern: str) -> str:
        """The next output line matching `pattern`; fails after 10 s without a new line."""
        while True:
            try:
                line = self._lines.get(timeout=10)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in output:\n{''.join(self.seen)}") from None
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def send(self, cmd: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()


@contextlib.contextmanager
def emulator_cli(*args: str) -> Iterator[EmulatorCli]:
    """`python -m hall.cli emulate <args>`; on leaving, typed `quit` and waited for (killed after 10 s).

    The caller checks `cli.proc.returncode` after the block: a clean quit is part of what is tested."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall.cli", "emulate", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        encoding="utf-8", env=env,
    )
    cli = EmulatorCli(proc)
    try:
        yield cli
    finally:
        with contextlib.suppress(OSError):
            cli.send("quit")
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
