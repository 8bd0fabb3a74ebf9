"""The demo's devices as separate `kiosk emulate <kind>` processes, for bench/soak's `--devices-apart` mode.

A hall's service drives real devices over real channels, and the devices are
other hardware: their work is not the service's. The demo starts its
emulators inside the service process, so its idle CPU and RSS include theirs;
"no devices" leaves out the drivers' own cost. Here every emulated device of
config/demo.toml except the voice runs in its own process on a TCP port, the
bench config points the device at that process's URL (the form each emulator
prints in its config hint), and only the service's process is measured.

The voice stays `emulator://`: a virtual speaker inside the service that
renders real WAVs with espeak-ng but plays nothing, since a bench cannot
count on a sound card (the figures say whether this machine has one).
Not named bench_*.py on purpose: bench.py runs every scripts/bench_*.py as a
figures module.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
KIOSK = str(Path(sys.executable).with_name("kiosk"))
WAIT = 120.0   # a busy 2-core machine took over 30 s to start one Python process
HINT = re.compile(r'配置 / config: \[\[devices\]\] kind = "\w+", url = "([^"]+)"')
# The state a working device rests in: a camera opens its stream only when a clerk scans (it stays "idle",
# its stream is checked by the bench instead: `stream_answers`), the others keep their channel open ("ready").
AT_REST = {"camera": "idle"}
# Characters per line of font A by python-escpos profile: only the emulator's text view uses it.
PROFILE_COLUMNS = {"POS-5890": 32}


def emulator_args(device: dict[str, Any]) -> list[str]:
    """`kiosk emulate` arguments that make the process the same device the in-process emulator would be."""
    kind, opts = device["kind"], device.get("options", {})
    args = ["emulate", kind, "--port", "0", "--host", "127.0.0.1"]
    if kind == "printer":
        args += ["--columns", str(opts.get("columns", PROFILE_COLUMNS.get(opts.get("profile", ""), 42)))]
    elif kind == "led":
        args += ["--width", str(opts.get("width", 256)), "--height", str(opts.get("height", 48)),
                 "--address", str(opts.get("address", 1))]
    elif kind == "evaluator":
        args += ["--address", str(opts.get("address", 1))]
    elif kind == "camera":
        args += ["--width", str(opts.get("emulator_width", 1920)), "--height", str(opts.get("emulator_height", 1080)),
                 "--fps", str(opts.get("emulator_fps", 5.0))]
    return args


def sound_card() -> bool:
    return Path("/dev/snd").is_dir() or sys.platform == "win32"


@dataclass
class Apart:
    """The running emulator processes: device name → URL, process and output file."""

    urls: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    def note(self) -> dict[str, Any]:
        voice = ("emulator:// — virtual speaker inside the service (WAVs rendered with espeak-ng, not played): "
                 + ("this machine has a sound card, but a bench does not play aloud" if sound_card()
                    else "this machine has no sound card"))
        return {"emulator_processes": len(self.procs), "urls": dict(self.urls), "voice": voice,
                "county": 'endpoint "" (the county platform is remote)'}

    def wait_ready(self, port: int, timeout: float = WAIT) -> dict[str, str]:
        """Block until every device on a separate process reports `ready` in /api/devices (technician view)."""
        token = _post(port, "/api/session", {"staff_id": "9101", "pin": "tech-6666"})["token"]
        deadline = time.monotonic() + timeout
        while True:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/api/devices", headers={"Authorization": f"Bearer {token}"})
            devices = json.loads(c.getresponse().read())["devices"]
            c.close()
            states = {d["name"]: d["state"] for d in devices}
            kinds = {d["name"]: d["kind"] for d in devices}
            if all(states.get(name) == AT_REST.get(kinds.get(name, ""), "ready") for name in self.urls):
                return states
            if time.monotonic() > deadline:
                raise SystemExit(f"devices not ready within {timeout:g} s: {states}")
            time.sleep(0.2)

    def stream_answers(self) -> dict[str, str]:
        """Each camera process serves its MJPEG stream (the service opens it only on a scan, so ask it here)."""
        out = {}
        for name, url in self.urls.items():
            if url.startswith("http://"):
                host, _, rest = url.removeprefix("http://").partition("/")
                h, _, p = host.partition(":")
                c = http.client.HTTPConnection(h, int(p or 80), timeout=30)
                c.request("GET", "/" + rest)
                r = c.getresponse()
                out[name] = f"HTTP {r.status} {r.getheader('Content-Type', '')}"
                c.close()
                if r.status != 200:
                    raise SystemExit(f"camera {name} at {url}: {out[name]}")
        return out

    def check_print(self, port: int, printer: str = "printer", timeout: float = WAIT) -> dict[str, Any]:
        """Take a number on the default kiosk printer and wait for the ticket to come out of its process."""
        number = _post(port, "/api/tickets", {"category": "A"})["number"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.logs[printer].read_text(encoding="utf-8", errors="replace")
            if (m := re.search(r"—— 第 (\d+) 张，(\d+) 字节", text)) and str(number) in text[m.start():]:
                return {"number": number, "printer": printer, "jobs": int(m[1]), "bytes": int(m[2])}
            time.sleep(0.2)
        raise SystemExit(f"ticket {number} did not come out of the {printer} emulator process within {timeout:g} s")


def _post(port: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data: dict[str, Any] = json.loads(r.read() or b"{}")
    c.close()
    if r.status >= 300:
        raise SystemExit(f"POST {path}: HTTP {r.status} {data}")
    return data


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the emulator and anything it started: its process group on POSIX, the process on Windows."""
    if proc.poll() is not None:
        return
    if sys.platform == "win32":
        proc.terminate()
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        if sys.platform == "win32":
            proc.kill()
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@contextlib.contextmanager
def running_apart(tmp: Path, config: Path = ROOT / "config" / "demo.toml") -> Iterator[Apart]:
    """One emulator process per emulated device (not the voice); all stopped on the way out, whatever happened."""
    devices = tomllib.loads(config.read_text(encoding="utf-8")).get("devices", [])
    apart = Apart()
    outputs: list[IO[bytes]] = []
    # A `kill` of the bench (SIGTERM) would skip the finally below and leave the emulators, each in its own
    # session, running: turn it into SystemExit while they live. Ctrl-C already unwinds.
    previous = signal.signal(signal.SIGTERM, _exit_on_term)
    try:
        for dev in devices:
            if dev.get("url") != "emulator://" or dev["kind"] == "voice":
                continue
            log = tmp / f"emulator-{dev['name']}.log"
            out = log.open("wb")
            outputs.append(out)
            # its own process group, so stopping it stops anything it started too
            new_group: dict[str, Any] = ({"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
                                         if sys.platform == "win32" else {"start_new_session": True})
            apart.procs[dev["name"]] = subprocess.Popen(
                [KIOSK, *emulator_args(dev)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"), **new_group)
            apart.logs[dev["name"]] = log
        deadline = time.monotonic() + WAIT   # all start at once; each prints its URL when it listens
        for name, proc in apart.procs.items():
            while not (m := HINT.search(apart.logs[name].read_text(encoding="utf-8", errors="replace"))):
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = apart.logs[name].read_text(encoding="utf-8", errors="replace")[-500:]
                    raise SystemExit(f"emulator {name} did not start: {tail}")
                time.sleep(0.05)
            apart.urls[name] = m[1]
        yield apart
    finally:
        for proc in apart.procs.values():
            _stop(proc)
        for f in outputs:
            f.close()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")
