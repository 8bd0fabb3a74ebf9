"""A hall day compressed into a few minutes, against a real `kiosk serve`, with its RSS curve.

Several kiosks take numbers, clerks at windows 1–4 call, start and finish (and
ask for a rating on the window's tablet), some of them register a case, and
board/tablet SSE streams connect, read a while and drop. Every `--every`
seconds one sample is printed as a JSON line (time, tickets so far, RSS,
threads); at the end a summary: RSS after warm-up and at the end, the growth per
1,000 tickets after warm-up (least squares over the samples), and RSS and CPU
over the quiet `--idle` seconds after the day (devices still at the busy pace),
then, with devices, the same again once the hall is at rest (REST_AFTER seconds
after the last ticket, hall.drivers.pace: devices poll less often).
Bounded: it stops after `--seconds`, whatever happens.

    ./scripts/soak                  # 180 s with the demo's emulated devices
    ./scripts/soak --seconds 60 --no-devices
    ./scripts/soak --devices-apart  # each demo device its own `kiosk emulate` process (scripts/devices_apart.py)
Only the service's process is measured: with --devices-apart the emulator processes are started
before and stopped after (the devices of a real hall are other hardware).
Targets (issue 10): after warm-up RSS within +10 MB to the end, ≤ 2 MB per
1,000 tickets, idle RSS ≤ 90 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from hall.drivers.pace import REST_AFTER

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import bench_config, start_server
from devices_apart import running_apart

CATS = "ABCDEF"
CLERKS = {1: "1001", 2: "1002", 3: "1003", 4: "1004"}
HEADERS = {"Content-Type": "application/json", "Origin": "http://127.0.0.1"}


class Hall:
    """A tiny HTTP client for one simulated person: one keep-alive connection, counts what it got."""

    def __init__(self, port: int, counts: dict[str, int], lock: threading.Lock) -> None:
        self.port, self.counts, self.lock = port, counts, lock
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        self.token = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             device: str = "") -> tuple[int, Any]:
        headers = dict(HEADERS, Origin=f"http://127.0.0.1:{self.port}")
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if device:
            headers["X-Hall-Device"] = device      # a paired tablet's token (issue 10 item 4)
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=json.dumps(body or {}), headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                if attempt == 2:
                    self._count("neterr")
                    return 0, None
        self._count(str(r.status))
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, None

    def _count(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1


def kiosk(h: Hall, stop: threading.Event, issued: list[int], rate: float) -> None:
    while not stop.is_set():
        status, _ = h.call("POST", "/api/tickets", {"category": random.choice(CATS)})
        if status == 201:
            with h.lock:
                issued[0] += 1
        stop.wait(random.expovariate(rate))


def pair_tablet(h: Hall, window: int) -> str:
    """The window's tablet paired as a technician does it (code made on /tech, entered on the tablet).

    The evaluator takes a rating only from the window's paired tablet; without this every soak
    rating was a 403 and the day had no ratings in it."""
    tech = Hall(h.port, h.counts, h.lock)
    status, body = tech.call("POST", "/api/session", {"staff_id": "9101", "pin": "tech-6666"})
    if status != 201:
        return ""
    tech.token = body["token"]
    status, made = tech.call("POST", "/api/tech/pairings", {"kind": "evaluator", "window": window})
    tech.conn.close()
    if status != 201:
        return ""
    status, paired = h.call("POST", "/api/pairing", {"code": made["code"]})
    return str(paired["token"]) if status == 201 else ""


def clerk(h: Hall, window: int, stop: threading.Event) -> None:
    device = pair_tablet(h, window)
    status, body = h.call("POST", "/api/session", {"staff_id": CLERKS[window], "pin": "123456", "window": window})
    if status != 201:
        return
    h.token = body["token"]
    n = 0
    while not stop.is_set():
        status, _ = h.call("POST", f"/api/windows/{window}/call")
        if status != 200:
            stop.wait(0.2)
            continue
        h.call("POST", f"/api/windows/{window}/start")
        n += 1
        if n % 5 == 0:
            h.call("POST", "/api/cases", {"item_code": "430224100LS01", "item_name": "临时救助申请", "category": "A",
                                          "case_kind": "即办件", "note": "soak",
                                          "applicant": {"name": "张桂英", "cert_type": "111",
                                                        "cert_no": "11010519491231002X", "phone": "13812345678"}})
        h.call("POST", f"/api/windows/{window}/finish")
        if n % 3 == 0:
            s, prompt = h.call("POST", f"/api/windows/{window}/rate-prompt")
            if s == 201 and prompt:
                tablet = Hall(h.port, h.counts, h.lock)
                tablet.call("POST", f"/api/evaluator/{window}/rating",
                            {"level": random.choice(["非常满意", "满意", "基本满意"])}, device=device)
                tablet.conn.close()
        stop.wait(random.uniform(0.05, 0.3))


def stream(port: int, stop: threading.Event, counts: dict[str, int], lock: threading.Lock) -> None:
    """A board or tablet page: connect to /api/events, read for a few seconds, drop (as a page reload does)."""
    while not stop.is_set():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request("GET", "/api/events")
            r = c.getresponse()
            until = time.monotonic() + random.uniform(1, 8)
            while time.monotonic() < until and not stop.is_set():
                if not r.fp or not r.fp.readline():
                    break
            with lock:
                counts["streams"] = counts.get("streams", 0) + 1
        except (OSError, http.client.HTTPException):
            with lock:
                counts["stream_err"] = counts.get("stream_err", 0) + 1
        finally:
            c.close()
        stop.wait(random.uniform(0.1, 1.0))


def slope_per_1000(samples: list[dict[str, Any]]) -> float:
    xs = [s["tickets"] for s in samples]
    ys = [s["rss_mb"] for s in samples]
    if len(xs) < 2 or max(xs) == min(xs):
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return round(num / den * 1000, 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--seconds", type=float, default=180.0, help="length of the compressed day (default 180)")
    ap.add_argument("--every", type=float, default=5.0, help="sample RSS every N seconds")
    ap.add_argument("--kiosks", type=int, default=4)
    ap.add_argument("--streams", type=int, default=6)
    ap.add_argument("--rate", type=float, default=6.0, help="tickets per second per kiosk (mean)")
    ap.add_argument("--warmup", type=float, default=0.25, help="share of the run counted as warm-up")
    ap.add_argument("--idle", type=float, default=30.0, help="quiet seconds at the end (idle RSS and CPU)")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--no-devices", action="store_true", help="without the demo's emulated devices")
    where.add_argument("--devices-apart", action="store_true",
                       help="the demo's devices each in its own `kiosk emulate` process, not inside the service")
    args = ap.parse_args()
    run(args.seconds, every=args.every, kiosks=args.kiosks, streams=args.streams, rate=args.rate,
        warmup=args.warmup, idle=args.idle, devices=not args.no_devices, apart=args.devices_apart, echo=True)
    return 0


def quiet_share(p: psutil.Process, seconds: float) -> tuple[float, float]:
    """The process's CPU share (% of one core) over `seconds` of quiet, and its RSS (MB) at the end."""
    cpu0, w0 = p.cpu_times(), time.monotonic()
    time.sleep(seconds)
    cpu1 = p.cpu_times()
    share = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / (time.monotonic() - w0) * 100
    return share, p.memory_info().rss / 1e6


def run(seconds: float, *, every: float = 5.0, kiosks: int = 4, streams: int = 6, rate: float = 6.0,
        warmup: float = 0.25, idle: float = 30.0, devices: bool = True, apart: bool = False,
        echo: bool = False) -> dict[str, Any]:
    """One compressed day; returns the summary (with the samples under "curve"). Also used by bench --soak.

    `apart`: the devices run as separate emulator processes (ready in /api/devices and one ticket
    printed there before the day starts); only the service's process is sampled."""
    args = argparse.Namespace(seconds=seconds, every=every, kiosks=kiosks, streams=streams, rate=rate,
                              warmup=warmup, idle=idle, no_devices=not devices)
    checks: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hallsoak") as d, contextlib.ExitStack() as emulators:
        tmp = Path(d)
        devs = emulators.enter_context(running_apart(tmp)) if apart and devices else None
        cfg = bench_config(tmp, devices=not args.no_devices, apart=devs.urls if devs else None)
        proc, port, _ = start_server(tmp, devices=not args.no_devices, config=cfg)
        p = psutil.Process(proc.pid)
        stop = threading.Event()
        counts: dict[str, int] = {}
        lock = threading.Lock()
        issued = [0]
        workers = [threading.Thread(target=kiosk, args=(Hall(port, counts, lock), stop, issued, args.rate))
                   for _ in range(args.kiosks)]
        workers += [threading.Thread(target=clerk, args=(Hall(port, counts, lock), w, stop)) for w in CLERKS]
        workers += [threading.Thread(target=stream, args=(port, stop, counts, lock)) for _ in range(args.streams)]
        samples: list[dict[str, Any]] = []
        try:
            if devs is not None:
                checks = {"device_states": devs.wait_ready(port), "ticket_printed": devs.check_print(port),
                          "camera_streams": devs.stream_answers(), **devs.note()}
            t0 = time.monotonic()
            for w in workers:
                w.daemon = True
                w.start()
            while (elapsed := time.monotonic() - t0) < args.seconds:
                time.sleep(min(args.every, max(0.0, args.seconds - elapsed)))
                s = {"t": round(time.monotonic() - t0, 1), "tickets": issued[0],
                     "rss_mb": round(p.memory_info().rss / 1e6, 1), "threads": p.num_threads()}
                samples.append(s)
                if echo:
                    print(json.dumps(s), flush=True)
            stop.set()
            for w in workers:
                w.join(20)
            quiet_from = time.monotonic()
            time.sleep(2.0)
            idle_cpu, idle_rss = quiet_share(p, args.idle)
            if not args.no_devices:   # then the hall is at rest (hall.drivers.pace): devices poll less often
                time.sleep(max(0.0, quiet_from + REST_AFTER + 2.0 - time.monotonic()))
                rest_cpu, rest_rss = quiet_share(p, args.idle)
                rest = {"rest_cpu_percent": round(rest_cpu, 3), "rest_rss_mb": round(rest_rss, 1),
                        "rest_after_s": REST_AFTER}
        finally:
            stop.set()
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                print(json.dumps({"warning": "server did not stop within 15 s of SIGTERM; killed"}), flush=True)
                proc.kill()
                proc.wait(10)
    after = [s for s in samples if s["t"] >= args.seconds * args.warmup] or samples
    summary = {
        "seconds": args.seconds, "devices": not args.no_devices, "devices_apart": devs is not None,
        "tickets": issued[0],
        "responses": dict(sorted(counts.items())),
        "rss_after_warmup_mb": after[0]["rss_mb"], "rss_end_mb": samples[-1]["rss_mb"],
        "rss_max_after_warmup_mb": max(s["rss_mb"] for s in after),
        "growth_after_warmup_mb": round(max(s["rss_mb"] for s in after) - after[0]["rss_mb"], 1),
        "growth_mb_per_1000_tickets": slope_per_1000(after),
        "idle_rss_mb": round(idle_rss, 1), "idle_cpu_percent": round(idle_cpu, 3), "idle_seconds": args.idle,
    } | rest | checks
    if echo:
        print(json.dumps({"summary": summary}, ensure_ascii=False))
    return summary | {"curve": [[x["tickets"], x["rss_mb"]] for x in samples]}


if __name__ == "__main__":
    sys.exit(main())
