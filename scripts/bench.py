"""Benchmark of the hall service: prints one JSON document of figures.

Core figures (issue #2): start-up time to the first /healthz 200, RSS after
start, idle CPU over 10 s, ticket issue latency p50/p99 and throughput with 8
concurrent HTTP clients against a real `kiosk serve` process. Device, camera
and relay figures come from the scripts/bench_*.py modules when present.

Three ways to run the hall's devices, each measured on the service's process only:
(a) demo (`demo_idle`): config/demo.toml as shipped, every device an `emulator://` inside the
    service process, the county simulator too: the demo PC's figure, devices' work included;
(b) no devices (`core`): no device, kiosk or county configured at all: the service alone;
(c) devices apart (`devices_apart`, `--devices-apart`): what a hall runs: the service drives
    the demo's devices over real channels, each device a separate `kiosk emulate` process
    (the hardware's stand-in, started before and stopped after; see scripts/devices_apart.py),
    the voice a virtual speaker and the county remote (endpoint "").

Targets on a 2-core machine: p99 ≤ 50 ms, ≥ 300 tickets/s, RSS ≤ 90 MB idle,
idle CPU ≤ 0.1 % without emulators (core) and ≤ 0.5 % in the demo (demo_idle),
start-up ≤ 1.5 s. The RSS curve under a compressed hall day is scripts/soak's; `--soak 180` adds it
(with and without devices, and with them apart under `--devices-apart`: after warm-up ≤ +10 MB,
≤ 2 MB per 1,000 tickets, idle RSS ≤ 90 MB).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
KIOSK = str(Path(sys.executable).with_name("kiosk"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_config(tmp: Path, devices: bool, apart: dict[str, str] | None = None) -> Path:
    """The demo config with caps raised so the load test never hits 今日已满.

    `apart` (device name → URL of its separate emulator process) points those devices there
    instead of at an in-process emulator, and the county is remote (not simulated here)."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = re.sub(r"daily_cap = \d+", "daily_cap = 999", text)
    if not devices:   # no emulator at all: devices, kiosks and the county simulator go
        text = re.sub(r"\[\[(?:devices|kiosks)\]\][^\[]*", "", text)
        text = text.replace('endpoint = "emulator://"', 'endpoint = ""')
    elif apart:
        urls = apart

        def point(m: re.Match[str]) -> str:
            return m[1] + f'url = "{urls[m[2]]}"' if m[2] in urls else m[0]

        text = re.sub(r'(\[\[devices\]\]\nname = "([^"]+)"\n(?:.*\n)*?)url = "emulator://"', point, text)
        text = text.replace('endpoint = "emulator://"', 'endpoint = ""')
        missing = {name for name, url in urls.items() if f'url = "{url}"' not in text}
        if missing:
            raise SystemExit(f"bench config: devices not repointed: {missing}")
    path = tmp / "bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 2)


def start_server(tmp: Path, devices: bool, config: Path | None = None) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    cfg = config or bench_config(tmp, devices)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [KIOSK, "serve", "--config", str(cfg), "--port", str(port), "--data-dir", str(tmp / "data")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit("server did not start")
        if time.perf_counter() - t0 > 120:   # a busy 2-core machine took over 30 s
            proc.kill()
            raise SystemExit("server did not answer /healthz within 120 s")
        time.sleep(0.01)
    return proc, port, time.perf_counter() - t0


def issue_load(port: int, clients: int, per_client: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    cats = "ABCDEF"

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        for n in range(per_client):
            body = json.dumps({"category": cats[(i + n) % len(cats)]})
            t0 = time.perf_counter()
            conn.request("POST", "/api/tickets", body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if resp.status != 201:
                with lock:
                    errors.append(str(resp.status))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {
        "clients": clients,
        "tickets": len(latencies),
        "errors": len(errors),
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "throughput_per_s": round(len(latencies) / elapsed, 1),
    }


def call_to_board(port: int, calls: int) -> dict[str, Any]:
    """Clerk's call (HTTP) → `ticket.called` on a board's SSE stream: the board's view of a call."""
    import queue as stdqueue

    def post(path: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        c.request("POST", path, body=json.dumps(body), headers=headers)
        r = c.getresponse()
        data = json.loads(r.read() or b"{}")
        c.close()
        return data

    token = post("/api/session", {"staff_id": "1003", "pin": "123456", "window": 3})["token"]
    arrivals: stdqueue.Queue[float] = stdqueue.Queue()
    stream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    stream.request("GET", "/api/events")
    resp = stream.getresponse()

    def read() -> None:
        kind = ""
        try:
            while True:
                line = resp.readline().decode("utf-8")
                if not line:
                    return
                if line.startswith("event: "):
                    kind = line[7:].strip()
                elif line.startswith("data: ") and kind == "ticket.called":
                    arrivals.put(time.perf_counter())
        except OSError:
            return

    threading.Thread(target=read, daemon=True).start()
    time.sleep(0.3)
    lat: list[float] = []
    for _ in range(calls):
        post("/api/tickets", {"category": "C"})
        t0 = time.perf_counter()
        post("/api/windows/3/call", {}, token)
        lat.append((arrivals.get(timeout=10) - t0) * 1000)
        post("/api/windows/3/start", {}, token)
    stream.close()
    return {"calls": calls, "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": round(max(lat), 2)}


def core(idle_seconds: float, per_client: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hallbench") as d:
        tmp = Path(d)
        proc, port, startup = start_server(tmp, devices=False)
        try:
            p = psutil.Process(proc.pid)
            rss_start = p.memory_info().rss / 1e6
            time.sleep(1.0)
            cpu0 = p.cpu_times()
            t0 = time.perf_counter()
            time.sleep(idle_seconds)
            cpu1 = p.cpu_times()
            wall = time.perf_counter() - t0
            idle_cpu = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall * 100
            rss_idle = p.memory_info().rss / 1e6
            load = issue_load(port, 8, per_client)
            board = call_to_board(port, 50 if per_client < 100 else 200)
            rss_after = p.memory_info().rss / 1e6
        finally:
            proc.terminate()
            proc.wait(10)
    return {
        "startup_to_healthz_s": round(startup, 3),
        "rss_after_start_mb": round(rss_start, 1),
        "rss_idle_mb": round(rss_idle, 1),
        "rss_after_load_mb": round(rss_after, 1),
        "idle_cpu_percent": round(idle_cpu, 3),
        "idle_seconds": idle_seconds,
        "ticket_issue": load,
        "call_to_board_event": board,
    }


def measure_idle(proc: subprocess.Popen[bytes], idle_seconds: float) -> dict[str, Any]:
    """The server process's CPU share over an idle window and its RSS at the end, after 3 s to settle."""
    p = psutil.Process(proc.pid)
    time.sleep(3.0)          # devices connect and sync their screens first
    cpu0, t0 = p.cpu_times(), time.perf_counter()
    time.sleep(idle_seconds)
    cpu1, wall = p.cpu_times(), time.perf_counter() - t0
    rss = p.memory_info().rss / 1e6
    return {"idle_cpu_percent": round(((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / wall * 100, 3),
            "rss_idle_mb": round(rss, 1), "idle_seconds": idle_seconds}


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM first, so the service shuts down as a hall PC's would (streams end, the database closes)."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def demo_idle(idle_seconds: float) -> dict[str, Any]:
    """Idle CPU and RSS of the demo hall: every device emulated in-process, the county simulator too."""
    with tempfile.TemporaryDirectory(prefix="hallbench") as d:
        proc, _, _ = start_server(Path(d), devices=True)
        try:
            return measure_idle(proc, idle_seconds)
        finally:
            stop_server(proc)


def devices_apart_idle(idle_seconds: float) -> dict[str, Any]:
    """Idle CPU and RSS of the service alone while it drives the demo's devices, each in its own process."""
    from devices_apart import running_apart  # scripts/ is on sys.path: this file's folder

    with tempfile.TemporaryDirectory(prefix="hallbench") as d, running_apart(Path(d)) as apart:
        tmp = Path(d)
        proc, port, startup = start_server(tmp, True, config=bench_config(tmp, True, apart.urls))
        try:
            checks = {"device_states": apart.wait_ready(port), "ticket_printed": apart.check_print(port),
                      "camera_streams": apart.stream_answers()}
            idle = measure_idle(proc, idle_seconds)   # the print's aftermath and the screens' sync settle first
        finally:
            stop_server(proc)
    return idle | {"startup_to_healthz_s": round(startup, 3)} | checks | apart.note()


def extra_modules() -> dict[str, Any]:
    """Figures from scripts/bench_*.py (devices, camera, relay) when they exist."""
    out: dict[str, Any] = {}
    for path in sorted((ROOT / "scripts").glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            continue
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)
            out[path.stem.removeprefix("bench_")] = mod.run()
        except Exception as exc:  # one broken module must not hide the others' figures
            out[path.stem.removeprefix("bench_")] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="shorter idle window and load, for a smoke run")
    ap.add_argument("--core-only", action="store_true", help="skip the device/camera/relay modules")
    ap.add_argument("--soak", type=float, metavar="SECONDS", default=0.0,
                    help="also run scripts/soak for SECONDS with and without the demo's devices (about SECONDS + 70 s "
                         "each): the RSS curve per 1,000 tickets and idle RSS/CPU after a quiet minute")
    ap.add_argument("--devices-apart", action="store_true",
                    help="also measure the service with each demo device in its own `kiosk emulate` process "
                         "(key devices_apart; with --soak, a third soak run)")
    args = ap.parse_args()
    figures: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}
    if args.soak:
        from soak import run as soak_run  # scripts/ is on sys.path: this file's folder

        figures["soak"] = {name: soak_run(args.soak, idle=60.0, devices=devices)
                           for name, devices in (("demo", True), ("core", False))}
        if args.devices_apart:
            figures["soak"]["devices_apart"] = soak_run(args.soak, idle=60.0, devices=True, apart=True)
    figures["core"] = core(2.0 if args.quick else 10.0, 50 if args.quick else 250)   # no emulator at all
    figures["demo_idle"] = demo_idle(2.0 if args.quick else 20.0)
    if args.devices_apart:
        figures["devices_apart"] = devices_apart_idle(2.0 if args.quick else 20.0)
    if not args.core_only:
        figures.update(extra_modules())
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
