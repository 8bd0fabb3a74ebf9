"""Ticket printer figures for scripts/bench: ticket bytes, time to paper at 9600 baud, touch → ticket bytes.

`run()` returns a dict (scripts/bench.py calls it; `python scripts/bench_printer.py` prints it):

* ticket_bytes — one demo ticket built by the real template, native QR (GS ( k) against image QR
  (raster), on an 80 mm profile (42 columns) and a 58 mm one (POS-5890, 32 columns).
* time_to_paper_9600 — computed (bytes × 10 bits ÷ 9600 baud) and measured: the real driver
  (SerialTransport, status round trips before and after included) writes to the printer emulator
  on a pty, which takes the bytes at the pace of a 9600-baud line; time from the print command to
  the cut arriving. A pty has no baud rate of its own, so the pacing is the emulator's.
* issue_to_printer — HTTP clients (in a separate process) POST /api/tickets to a real waitress
  server on a random port, demo config (caps raised; every demo device and emulator running), temp
  data dir, printer emulator on TCP 127.0.0.1 with native QR; one kiosk alone, then 8 at once,
  back to back. For each ticket: HTTP latency, and time from the request being sent to the
  ticket's last byte (the cut) accepted by the emulator; p50/p99.

Target (issue 3): a native-QR ticket ≤ 1 KB on the wire; touch → ticket bytes p99 ≤ 50 ms with 8 kiosks.
Target (issue 9): an image-QR ticket ≤ 1.5 KB on the wire, on paper in < 2 s at 9600 baud (the QR is sent at
module resolution and scaled 2× by the printer: hall.drivers.printer.qr_image).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BAUD = 9600

PAYLOAD = {
    "ticket": {"id": 1234}, "number": "B017", "category": "B", "category_name": "民政、退役军人事务",
    "lane": "normal", "ahead": 4, "wait_minutes": 18, "issued_at": "2026-11-25T09:03:00.000+08:00",
    "no_show_rule": "过号后顺延3位重新排队",
}

CLIENT = r"""
import http.client, json, sys, threading, time
port, clients, per_client = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cats = "ABCDEF"
out, lock = [], threading.Lock()
go = threading.Event()
def client(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    go.wait()
    for n in range(per_client):
        body = json.dumps({"category": cats[(i + n) % len(cats)]})
        t0 = time.time()
        conn.request("POST", "/api/tickets", body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        data = json.loads(resp.read())
        t1 = time.time()
        with lock:
            out.append({"status": resp.status, "t0": t0, "t1": t1, "id": data.get("ticket", {}).get("id"),
                        "ready": data.get("printer", {}).get("ready")})
    conn.close()
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads: t.start()
go.set()
for t in threads: t.join()
print(json.dumps(out))
"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 2) if s else float("nan")


def layout(**options: Any) -> Any:
    from hall.drivers.printer.ticket import TicketLayout
    from hall.security import redact_text

    lay = TicketLayout.from_options(options, hall_name="示范镇便民服务中心",
                                    default_qr_base="http://192.168.1.10:8080/r/", redact=redact_text)
    lay.qr_path = lambda i: f"/r/{i}-{'x' * 16}"      # the shape of a real signed rating link (records.ratings)
    return lay


def ticket_bytes() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, profile in (("80mm", "default"), ("58mm", "POS-5890")):
        native = len(layout(profile=profile, qr="native").ticket(PAYLOAD))
        image = len(layout(profile=profile, qr="image").ticket(PAYLOAD))
        out[name] = {"native_qr": native, "image_qr": image, "no_qr": len(layout(profile=profile, qr="none")
                                                                          .ticket(PAYLOAD))}
    return out


class _Engine:
    """Just enough engine for a PrinterDevice outside the service."""

    def __init__(self) -> None:
        from hall.queue.clock import Clock

        self.clock = Clock()

    def set_print_status(self, ticket_id: int, status: str) -> None:
        pass


def time_to_paper(sizes: dict[str, Any], rounds: int = 3) -> dict[str, Any]:
    computed = {k: round(v * 10 / BAUD * 1000, 1) for k, v in sizes["80mm"].items()}
    computed_58 = {k: round(v * 10 / BAUD * 1000, 1) for k, v in sizes["58mm"].items()}
    out: dict[str, Any] = {"computed_ms": computed, "computed_58mm_ms": computed_58, "bits_per_byte": 10,
                           "baud": BAUD}
    if not hasattr(os, "openpty") or sys.platform == "win32":
        out["measured_ms"] = "pty not available on this platform"
        return out
    from hall.drivers.base import wait_until
    from hall.drivers.emulators.printer import PrinterEmulator
    from hall.drivers.printer.device import PrinterDevice
    from hall.drivers.transport import SerialTransport
    from hall.events import EventHub

    measured: dict[str, Any] = {}
    for qr in ("native", "image"):
        emu = PrinterEmulator()
        emu.baud = BAUD
        path = emu.start_pty()
        dev = PrinterDevice("bench", SerialTransport(path, baudrate=BAUD), layout=layout(qr=qr),
                            engine=_Engine(), hub=EventHub(), baudrate=BAUD, probe_interval=30.0)
        dev.start()
        try:
            if not wait_until(lambda: dev.state == "ready", 5):     # noqa: B023 - used at once
                measured[qr] = f"printer not ready: {dev.last_error}"
                continue
            data = dev.layout.ticket(PAYLOAD)
            times = []
            for i in range(rounds):
                t0 = time.monotonic()
                outcome = dev.enqueue(lambda: data, "bench").result(30)   # noqa: B023
                if not outcome.ok or not emu.wait_for_jobs(i + 1, 10):
                    measured[qr] = f"failed: {outcome.message}"
                    break
                times.append((emu.jobs[-1].finished_mono or 0) - t0)
            else:
                measured[qr] = {"bytes": len(data), "median_ms": round(statistics.median(times) * 1000, 1),
                                "max_ms": round(max(times) * 1000, 1), "rounds": rounds}
        finally:
            dev.stop()
            emu.stop()
    out["measured_pty_ms"] = measured
    return out


def issue_to_printer(scenarios: tuple[tuple[int, int], ...] = ((1, 40), (8, 25))) -> dict[str, Any]:
    """Each scenario is (clients, tickets per client), run in turn against one server."""
    import waitress
    from hall.config.loader import demo_config_path
    from hall.config.schema import HallConfig
    from hall.drivers.base import wait_until
    from hall.services import build_services
    from hall.web.app import create_app

    text = demo_config_path().read_text("utf-8")
    text = re.sub(r"daily_cap = \d+", "daily_cap = 999", text)
    config = HallConfig.model_validate(tomllib.loads(text))
    out: dict[str, Any] = {
        "devices": [d.name for d in config.devices],
        "note": "request sent → cut byte accepted by the TCP printer emulator; HTTP clients in a separate "
                "process; server, devices and emulators in this one",
    }
    with tempfile.TemporaryDirectory(prefix="hallbench-printer") as d:
        svc = build_services(config, Path(d))
        svc.start()
        server = waitress.create_server(create_app(svc), host="127.0.0.1", port=0,
                                        threads=config.server.threads, ident="hall-bench")
        port = server.effective_port
        threading.Thread(target=server.run, name="bench-waitress", daemon=True).start()
        try:
            printer: Any = next(iter(svc.devices.by_kind("printer")), None)
            emu = svc.devices.emulators.get(printer.name) if printer else None
            if printer is None or emu is None:
                return {"error": "the demo config has no emulated printer"}
            if not wait_until(lambda: printer.state == "ready", 10):
                return {"error": f"printer not ready: {printer.status()}"}
            emu.jobs = type(emu.jobs)(maxlen=sum(c * n for c, n in scenarios) + 50)
            for clients, per_client in scenarios:
                out[f"clients_{clients}"] = _load(svc, emu, port, clients, per_client)
        finally:
            server.close()
            svc.stop()
    return out


def _load(svc: Any, emu: Any, port: int, clients: int, per_client: int) -> dict[str, Any]:
    from hall.drivers.base import wait_until

    proc = subprocess.run([sys.executable, "-c", CLIENT, str(port), str(clients), str(per_client)],
                          capture_output=True, text=True, timeout=300, check=True)
    results = json.loads(proc.stdout)
    ids = [r["id"] for r in results if r["status"] == 201]
    wait_until(lambda: all(svc.engine.ticket_status(i)["ticket"]["print_status"] != "pending" for i in ids), 30)
    done_at: dict[int, float] = {}
    for job in list(emu.jobs):
        for q in job.qr:
            tail = q.rsplit("/", 1)[-1].split("-", 1)[0]   # /r/<ticket id>-<signature>
            if tail.isdigit() and job.cut and job.finished_at is not None:
                done_at.setdefault(int(tail), job.finished_at)
    http_ms = [(r["t1"] - r["t0"]) * 1000 for r in results]
    paper_ms = [(done_at[r["id"]] - r["t0"]) * 1000 for r in results if r["id"] in done_at]
    statuses = [svc.engine.ticket_status(i)["ticket"]["print_status"] for i in ids]
    return {
        "tickets": len(results),
        "http_errors": sum(1 for r in results if r["status"] != 201),
        "printed": statuses.count("printed"),
        "failed": statuses.count("failed"),
        "http_p50_ms": pct(http_ms, 50),
        "http_p99_ms": pct(http_ms, 99),
        "to_printer_bytes_p50_ms": pct(paper_ms, 50),
        "to_printer_bytes_p99_ms": pct(paper_ms, 99),
        "to_printer_bytes_max_ms": round(max(paper_ms), 2) if paper_ms else None,
    }


def run() -> dict[str, Any]:
    sizes = ticket_bytes()
    return {
        "ticket_bytes": sizes,
        "time_to_paper_9600": time_to_paper(sizes),
        "issue_to_printer": issue_to_printer(),
        "targets": {"native_ticket_bytes_max": 1024, "image_ticket_bytes_max": 1536,
                    "image_time_to_paper_9600_ms_max": 2000, "issue_to_printer_p99_ms_max": 50},
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
