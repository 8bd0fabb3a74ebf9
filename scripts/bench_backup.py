"""Backup and restore figures for scripts/bench: a hall with 50,000 tickets.

`run()` returns a dict (scripts/bench.py calls it); run this file alone to print it.

The hall: 50,000 finished tickets over ~170 service days (300 a day, four
events each: issue, call, serve, done), 2,000 acknowledged relay messages, a
few village photos. Timed are the real commands a technician runs, each in
its own process (start-up included): `kiosk backup --to DIR` and
`kiosk restore --data-dir NEW FILE --yes` (checksums, integrity check, move
aside, place files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KIOSK = str(Path(sys.executable).with_name("kiosk"))


def build_hall(data: Path, tickets: int = 50_000) -> None:
    from hall.store.db import Database

    db = Database(data / "hall.db")
    per_day = 300
    start = date(2026, 5, 1)
    rows, events = [], []
    for i in range(tickets):
        day = start + timedelta(days=i // per_day)
        cat = "ABCDEF"[i % 6]
        seq = i % per_day // 6 + 1
        at = datetime(day.year, day.month, day.day, 9, 0) + timedelta(seconds=60 * (i % per_day))
        iso = at.isoformat(timespec="milliseconds") + "+08:00"
        tid = i + 1
        rows.append((tid, day.isoformat(), cat, seq, f"{cat}{seq:03d}", "normal", "done", iso,
                     int(at.timestamp() * 1e6), 1 + i % 6, f"100{1 + i % 4}", 1, iso, iso, iso, "printed"))
        for action in ("issue", "call", "serve", "done"):
            events.append((tid, iso, action, 1 + i % 6, f"100{1 + i % 4}", '{"lane": "normal"}'))
    with db.write() as c:
        c.executemany(
            "INSERT INTO tickets (id, service_date, category, seq, number, lane, state, issued_at, queue_key, window,"
            " clerk, call_count, called_at, serving_at, finished_at, print_status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        c.executemany("INSERT INTO ticket_events (ticket_id, at, action, window, clerk, detail)"
                      " VALUES (?, ?, ?, ?, ?, ?)", events)
        c.executemany(
            "INSERT INTO outbox (message_id, kind, order_key, payload, created_at, state, acked_at, ack_status)"
            " VALUES (?, 'complaint', ?, ?, '2026-11-01T10:00:00.000+08:00', 'acked',"
            " '2026-11-01T10:00:01.000+08:00', 'accepted')",
            [(f"H:complaint:{i}:1", f"complaint:{i}", json.dumps({"complaint_id": i, "text": "建议" * 40}))
             for i in range(2000)])
    db.close()
    photos = data / "village" / "photos"
    photos.mkdir(parents=True)
    for i in range(20):
        (photos / f"p{i}.jpg").write_bytes(os.urandom(200_000))


def run(tickets: int = 50_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        t = Path(tmp)
        data = t / "data"
        build_hall(data, tickets)
        db_mb = (data / "hall.db").stat().st_size / 1e6
        t0 = time.perf_counter()
        out = subprocess.run([KIOSK, "backup", "--data-dir", str(data), "--to", str(t / "usb")],
                             capture_output=True, text=True, check=True)
        backup_s = time.perf_counter() - t0
        file = Path(out.stdout.strip().splitlines()[-1])
        t0 = time.perf_counter()
        subprocess.run([KIOSK, "restore", "--data-dir", str(t / "fresh"), str(file), "--yes"],
                       capture_output=True, text=True, check=True)
        restore_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([KIOSK, "version"], capture_output=True, check=True)
        startup_s = time.perf_counter() - t0
        return {
            "tickets": tickets,
            "database_mb": round(db_mb, 1),
            "backup_file_mb": round(file.stat().st_size / 1e6, 1),
            "backup_seconds": round(backup_s, 2),
            "restore_seconds": round(restore_s, 2),
            "cli_startup_seconds": round(startup_s, 2),
        }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
