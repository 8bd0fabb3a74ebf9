"""Relay figures for scripts/bench: drain rate, and ticket latency while a backlog drains.

`run()` returns a dict (scripts/bench.py calls it); run this file alone to print it.

1. Drain rate: 20,000 mixed records (cases with status changes, ratings,
   complaints) sent by the relay to `kiosk county-sim` in its own process over
   loopback. Target ≥ 2,000 records/s.
2. Ticket issue latency (HTTP POST /api/tickets on a real `kiosk serve`) while
   the service's relay drains a 50,000-record backlog: first a baseline with the
   county refusing connections, then with the link back, until the backlog is
   empty. Target p99 ≤ 50 ms.

On one machine the simulator competes with the service for the CPUs, which a
real county server would not: the figures are on the pessimistic side.
"""

from __future__ import annotations

import http.client
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

ROOT = Path(__file__).resolve().parents[1]
KIOSK = str(Path(sys.executable).with_name("kiosk"))
SECRET = "bench-relay-secret-0123456789"
HALL_ID = "430224100-BMFW"  # the demo hall's id
T = "2026-11-25T09:30:00.000+08:00"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))], 2)


def _get(port: int, path: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    raw = json.dumps(body).encode() if body is not None else None
    c.request(method, path, body=raw, headers={"Content-Type": "application/json"} if raw else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return json.loads(data) if data else None


class _Sim:
    """`kiosk county-sim` in its own process."""

    def __init__(self) -> None:
        self.port = _free_port()
        env = dict(os.environ, HALL_COUNTY_SECRET=SECRET)
        self.proc = subprocess.Popen([KIOSK, "county-sim", "--port", str(self.port)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if "http://127.0.0.1" not in line:
            self.stop()
            raise RuntimeError(f"county-sim did not start: {line!r}")
        self.url = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        s: dict[str, Any] = _get(self.port, "/_sim/stats")
        return s

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _fill(db: Any, n: int, prefix: str = "") -> int:
    """n outbox rows as the records code writes them: ~1/5 case streams, the rest ratings and complaints."""
    from hall.relay.outbox import enqueue

    written = 0
    i = 0
    with db.write() as c:
        while written < n:
            i += 1
            r = i % 5
            if r == 0 and written + 3 <= n:  # a case and two status changes, one ordered stream
                key = f"case:{prefix}{i}"
                enqueue(c, kind="case", message_id=f"{HALL_ID}:case:{prefix}{i}:1", order_key=key, payload={
                    "case_id": i, "receipt_no": f"HJ{i:08d}", "official_no": None, "item_code": "430224100DB01",
                    "item_name": "最低生活保障申请", "category": "B", "case_kind": "承诺件",
                    "time_limit": {"value": 15, "unit": "工作日"}, "status": "受理",
                    "applicant": {"type": "自然人", "name": "张桂英", "cert_type": "111",
                                  "cert_no": "430224195603120021", "phone": "13812345678"},
                    "agent": None, "ticket_id": i, "window": 2, "clerk_id": "1002", "clerk_name": "王芳",
                    "accepted_at": T, "promised_finish_at": "2026-12-16T17:30:00.000+08:00",
                    "deadline_estimated": False, "finished_at": None, "materials": ["居民身份证", "户口簿"],
                    "version": 1, "hall_id": HALL_ID})
                for v, st in ((2, "办理中"), (3, "办结")):
                    enqueue(c, kind="case_status", message_id=f"{HALL_ID}:case_status:{prefix}{i}:{v}",
                            order_key=key, payload={"case_id": i, "status": st, "at": T, "version": v,
                                                    "receipt_no": f"HJ{i:08d}", "clerk_id": "1002"})
                written += 3
            elif r in (1, 2, 3) or written + 3 > n:
                enqueue(c, kind="rating", message_id=f"{HALL_ID}:rating:{prefix}{i}:1", order_key=f"ticket:{i}",
                        payload={"rating_id": i, "ticket_number": f"B{i % 999:03d}", "channel": "窗口评价器",
                                 "level": "满意", "reasons": [], "comment": None, "clerk_id": "1002",
                                 "window": 2, "rated_at": T, "assess_number": 1, "hall_id": HALL_ID})
                written += 1
            else:
                enqueue(c, kind="complaint", message_id=f"{HALL_ID}:complaint:{prefix}{i}:1",
                        order_key=f"complaint:{i}",
                        payload={"complaint_id": i, "ref_no": f"YJ{i:08d}", "kind": "建议",
                                 "reasons": [{"code": "C01", "text": "服务态度"}], "text": "希望增加座椅",
                                 "created_at": T, "state": "待处理", "version": 1, "hall_id": HALL_ID})
                written += 1
    return written


def drain_rate(sim: _Sim, n: int = 20_000) -> dict[str, Any]:
    from hall.config.schema import County
    from hall.relay.client import CountyClient
    from hall.relay.sender import Relay
    from hall.store.db import Database

    with tempfile.TemporaryDirectory(prefix="hallrelay") as d:
        db = Database(Path(d) / "hall.db")
        _fill(db, n)
        county = County(endpoint=sim.url, hall_id=HALL_ID)
        relay = Relay(db, county, client=CountyClient(sim.url, HALL_ID, SECRET.encode()))
        before = sim.stats()
        t0 = time.perf_counter()
        done = relay.drain(300)
        elapsed = time.perf_counter() - t0
        after = sim.stats()
        db.close()
    stored = after["stored"] - before["stored"]
    return {
        "records": n,
        "drained": done,
        "seconds": round(elapsed, 2),
        "records_per_s": round(n / elapsed, 1),
        "batch_size": county.batch_size,
        "stored_at_county": stored,
        "duplicates_at_county": after["duplicates"] - before["duplicates"],
        "target_records_per_s": 2000,
        "ok": done and stored == n and n / elapsed >= 2000,
    }


def _config(tmp: Path, sim_url: str) -> Path:
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = re.sub(r"daily_cap = \d+", "daily_cap = 999", text)
    text = re.sub(r"\[\[(?:devices|kiosks)\]\][^\[]*", "", text)
    text = re.sub(r'endpoint = ""[^\n]*', f'endpoint = "{sim_url}"', text, count=1)
    path = tmp / "relay-bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def issue_while_draining(sim: _Sim, backlog: int = 50_000, clients: int = 4,
                         pause: float = 0.02, baseline_s: float = 3.0) -> dict[str, Any]:
    from hall.store.db import Database

    with tempfile.TemporaryDirectory(prefix="hallrelay") as d:
        tmp = Path(d)
        data = tmp / "data"
        db = Database(data / "hall.db")  # the backlog is there before the service starts
        _fill(db, backlog, prefix="s")
        db.close()
        settle = 2.0  # start-up work (the guide's search index, first syncs) is not the relay's doing
        _get(sim.port, "/_sim/faults", "POST", {"fault": "refuse", "seconds": settle + baseline_s + 2.0})
        time.sleep(0.3)
        port = _free_port()
        env = dict(os.environ, HALL_COUNTY_SECRET=SECRET)
        proc = subprocess.Popen([KIOSK, "serve", "--config", str(_config(tmp, sim.url)), "--port", str(port),
                                 "--data-dir", str(data)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if _get(port, "/healthz") is not None:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("kiosk serve did not start")
                time.sleep(0.05)
            time.sleep(settle)
            samples: list[tuple[float, float, int]] = []  # (at, ms, status)
            lock = threading.Lock()
            stop = threading.Event()

            def client(i: int) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                n = 0
                while not stop.is_set():
                    body = json.dumps({"category": "ABCDEF"[(i + n) % 6]})
                    t0 = time.perf_counter()
                    conn.request("POST", "/api/tickets", body=body, headers={"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    ms = (time.perf_counter() - t0) * 1000
                    with lock:
                        samples.append((time.monotonic(), ms, r.status))
                    n += 1
                    time.sleep(pause)
                conn.close()

            threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
            for t in threads:
                t.start()
            time.sleep(baseline_s)
            drain_from = time.monotonic()
            first_progress = None
            status: dict[str, Any] = {}
            while time.monotonic() - drain_from < 300:
                status = _get(port, "/healthz")["relay"]
                if first_progress is None and status["backlog"] < backlog:
                    first_progress = time.monotonic()
                if status["backlog"] == 0:
                    break
                time.sleep(0.5)  # /healthz counts the backlog: do not poll it hard
            drained_at = time.monotonic()
            stop.set()
            for t in threads:
                t.join(15)
        finally:
            proc.terminate()
            proc.wait(15)
    base = [ms for at, ms, _ in samples if at < drain_from]
    during = [ms for at, ms, _ in samples if (first_progress or drain_from) <= at <= drained_at]
    errors = sum(1 for _, _, st in samples if st != 201)
    p99 = _pct(during, 99)
    drain_s = drained_at - (first_progress or drain_from)
    return {
        "backlog": backlog,
        "drained": status.get("backlog") == 0,
        "drain_seconds": round(drain_s, 2),
        "drain_records_per_s": round(backlog / drain_s, 1) if drain_s > 0 else None,
        "kiosk_clients": clients,
        "tickets_during_drain": len(during),
        "errors": errors,
        "baseline_p50_ms": _pct(base, 50),
        "baseline_p99_ms": _pct(base, 99),
        "p50_ms": _pct(during, 50),
        "p99_ms": p99,
        "max_ms": round(max(during), 2) if during else None,
        "mean_ms": round(statistics.fmean(during), 2) if during else None,
        "target_p99_ms": 50,
        "ok": status.get("backlog") == 0 and errors == 0 and bool(during) and p99 <= 50,
    }


def run() -> dict[str, Any]:
    sim = _Sim()
    try:
        out = {"drain": drain_rate(sim)}
        out["issue_while_draining"] = issue_while_draining(sim)
        out["county_sim"] = {k: v for k, v in sim.stats().items()
                             if k in ("batches", "messages", "accepted", "duplicates", "conflicts", "rejected",
                                      "auth_failures", "order_violations")}
    finally:
        sim.stop()
    return out


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2))
