"""Where an idle service spends its CPU, thread by thread: busy pace first, then at rest (Linux only).

`./scripts/bench` gives the process's idle CPU; this says which thread it is.
It builds the service in this process (so every thread has its name: device
workers are `device-<name>`), with the demo's devices either as separate
`kiosk emulate` processes (default, as in bench --devices-apart) or inside
the process (`--demo`), leaves it alone for `--settle` seconds, then counts
each thread's CPU time (`/proc/self/task/<tid>/schedstat`, nanoseconds) and
context switches over `--seconds`; then it waits until the hall is at rest
(hall.drivers.pace: no ticket, call, rating or card for 120 s) and counts again.

    .venv/bin/python scripts/idle_threads.py            # devices apart
    .venv/bin/python scripts/idle_threads.py --demo --seconds 30
Not named bench_*.py on purpose: bench.py runs every scripts/bench_*.py as a figures module.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def cpu_ns(tid: int) -> int:
    with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as f:
        return int(f.read().split()[0])


def switches(tid: int) -> int:
    n = 0
    with open(f"/proc/self/task/{tid}/status", encoding="ascii") as f:
        for line in f:
            if "ctxt_switches" in line:
                n += int(line.split(":")[1])
    return n


def phase(label: str, seconds: float, top: int) -> None:
    threads = [t for t in threading.enumerate() if t.native_id]
    before = {t.native_id: (cpu_ns(t.native_id), switches(t.native_id)) for t in threads if t.native_id}
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    rows = []
    for t in threading.enumerate():
        if t.native_id in before:
            ns0, sw0 = before[t.native_id]
            rows.append(((cpu_ns(t.native_id) - ns0) / 1e9 / wall * 100, (switches(t.native_id) - sw0) / wall, t.name))
    rows.sort(reverse=True)
    print(f"{label}: {sum(r[0] for r in rows):.3f} % of one core over {wall:.0f} s, {len(rows)} threads")
    for share, wakes, name in rows[:top]:
        print(f"  {share:7.3f} %  {wakes:6.1f} switches/s  {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demo", action="store_true", help="the demo's emulators inside the process")
    ap.add_argument("--seconds", type=float, default=60.0, help="length of each counted window")
    ap.add_argument("--settle", type=float, default=20.0, help="seconds after start before the first window")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    if not Path("/proc/self/task").is_dir():
        print("needs Linux /proc (per-thread CPU time)", file=sys.stderr)
        return 2
    from bench import bench_config
    from devices_apart import running_apart
    from hall.config.loader import load_config
    from hall.services import build_services

    with tempfile.TemporaryDirectory(prefix="hallthreads") as d:
        tmp = Path(d)
        apart = contextlib.nullcontext() if args.demo else running_apart(tmp)
        with apart as devs:
            cfg = load_config(bench_config(tmp, True, None if devs is None else devs.urls))
            svc = build_services(cfg, tmp / "data", with_devices=True)
            svc.start()
            try:
                time.sleep(args.settle)
                mode = "demo (emulators in process)" if args.demo else "devices apart"
                phase(f"{mode}, busy pace", args.seconds, args.top)
                while not svc.devices.pace.resting():
                    time.sleep(1.0)
                phase(f"{mode}, at rest", args.seconds, args.top)
            finally:
                svc.stop()
    return 0


if __name__ == "__main__":     # the monthly report's spawned child imports this module again
    sys.exit(main())
