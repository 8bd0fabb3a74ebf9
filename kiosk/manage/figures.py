"""Queue figures over a period for the manager: per window, per clerk, per day, per hour.

Read-only over the tickets table; rating figures are merged in by the caller
from the records module, so this file knows nothing of ratings.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from hall.config.schema import HallConfig
from hall.manage.targets import category_figures, within_target
from hall.queue.clock import parse_iso
from hall.store.db import Database

# Wait-time buckets (minutes) for the distribution chart.
WAIT_BUCKETS = [5, 10, 15, 20, 30, 45, 60]


def _rows(db: Database, start: date, end: date) -> list[dict[str, Any]]:
    with db.read() as c:
        return [dict(r) for r in c.execute(
            "SELECT * FROM tickets WHERE service_date >= ? AND service_date <= ?",
            (start.isoformat(), end.isoformat()),
        )]


def _seconds(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    d = (parse_iso(b) - parse_iso(a)).total_seconds()
    return d if d >= 0 else None


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    waits = [w for r in rows if (w := _seconds(r["issued_at"], r["called_at"])) is not None]
    done = [r for r in rows if r["state"] == "done"]
    # time parked (挂起: the citizen away fetching a document) is not service time
    services = [s - (r.get("parked_seconds") or 0) for r in done
                if (s := _seconds(r["serving_at"], r["finished_at"])) is not None]
    served = sum(1 for r in rows if r["state"] == "done")
    no_show = sum(1 for r in rows if r["state"] == "no_show")
    return {
        "issued": sum(1 for r in rows if r["transferred_from"] is None),
        "served": served,
        "no_show": no_show,
        "transferred": sum(1 for r in rows if r["state"] == "transferred"),
        # the citizen left (作废) or was never resumed before the day closed (挂起): neither served nor 过号
        "cancelled": sum(1 for r in rows if r["state"] == "cancelled"),
        "parked": sum(1 for r in rows if r["state"] == "parked"),
        "no_show_rate": round(no_show / (served + no_show), 4) if served + no_show else 0.0,
        "mean_wait_minutes": round(statistics.fmean(waits) / 60, 1) if waits else None,
        "mean_service_minutes": round(statistics.fmean(services) / 60, 1) if services else None,
    }


def period_figures(db: Database, config: HallConfig, start: date, end: date) -> dict[str, Any]:
    """Totals, per window, per clerk, per day, tickets per hour and the wait distribution."""
    rows = _rows(db, start, end)
    by_window: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_clerk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_day[r["service_date"]].append(r)
        if r["window"] is not None and r["state"] in ("done", "no_show", "transferred", "called", "serving", "parked"):
            by_window[r["window"]].append(r)
        if r["clerk"]:
            by_clerk[r["clerk"]].append(r)
    per_hour = Counter(parse_iso(r["issued_at"]).hour for r in rows if r["transferred_from"] is None)
    waits = [w / 60 for r in rows if (w := _seconds(r["issued_at"], r["called_at"])) is not None]
    buckets = [0] * (len(WAIT_BUCKETS) + 1)
    for w in waits:
        i = next((i for i, edge in enumerate(WAIT_BUCKETS) if w < edge), len(WAIT_BUCKETS))
        buckets[i] += 1
    labels = [f"<{WAIT_BUCKETS[0]}"] + [f"{a}-{b}" for a, b in pairwise(WAIT_BUCKETS)]
    labels.append(f"≥{WAIT_BUCKETS[-1]}")
    days = []
    d = start
    while d <= end:
        days.append({"date": d.isoformat(), **_summary(by_day.get(d.isoformat(), []))})
        d += timedelta(days=1)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "total": {**_summary(rows), **within_target(rows, config)},
        "categories": category_figures(rows, config),
        "windows": [{"window": w.number, **_summary(by_window.get(w.number, []))} for w in config.windows],
        "clerks": [
            {"staff_id": s.id, "name": s.name, "post": s.post, **_summary(by_clerk.get(s.id, []))}
            for s in config.staff if s.role == "clerk" or s.id in by_clerk
        ],
        "days": days,
        # the usual day (07–19 h), widened to any hour a ticket was issued in (evening duty, demo halls)
        "per_hour": [{"hour": h, "issued": per_hour.get(h, 0)}
                     for h in range(min([7, *per_hour]), max([19, *per_hour]) + 1)],
        "wait_distribution": [{"minutes": lab, "count": n} for lab, n in zip(labels, buckets, strict=True)],
    }


def month_bounds(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, nxt - timedelta(days=1)
