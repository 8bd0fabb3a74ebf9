"""Service-level targets per category (target wait, target service time) and who is over them.

A category without its own targets takes the hall-wide defaults in `[queue]`
(`alert_wait_minutes`, `target_service_minutes`), so a hall that sets nothing
keeps the single warning threshold it had. The period figures use the targets
for "share within target"; the live view (board, manager, 预警) for
"over target now": someone still waiting longer than the wait target, or
today's mean service time above the service target.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hall.config.schema import HallConfig
from hall.queue.clock import parse_iso
from hall.store.db import Database


@dataclass(frozen=True)
class Target:
    wait_minutes: int
    service_minutes: int


def target_for(config: HallConfig, prefix: str) -> Target:
    cat = config.category(prefix)
    wait = cat.target_wait_minutes if cat and cat.target_wait_minutes else config.queue.alert_wait_minutes
    service = (cat.target_service_minutes if cat and cat.target_service_minutes
               else config.queue.target_service_minutes)
    return Target(wait, service)


def _minutes(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    d = (parse_iso(b) - parse_iso(a)).total_seconds() / 60
    return d if d >= 0 else None


def _service_minutes(r: dict[str, Any]) -> float | None:
    """Serving to finished, less the time the ticket was parked (挂起: the citizen away, not served)."""
    s = _minutes(r["serving_at"], r["finished_at"])
    return None if s is None else max(0.0, s - (r.get("parked_seconds") or 0) / 60)


def _share(values: list[float], limit: int) -> float | None:
    return round(sum(1 for v in values if v <= limit) / len(values), 4) if values else None


def within_target(rows: list[dict[str, Any]], config: HallConfig) -> dict[str, Any]:
    """Shares of tickets called within their category's wait target and served within its service target."""
    waits_ok = waits = services_ok = services = 0
    for r in rows:
        t = target_for(config, r["category"])
        w = _minutes(r["issued_at"], r["called_at"])
        if w is not None:
            waits += 1
            waits_ok += w <= t.wait_minutes
        if r["state"] == "done" and (s := _service_minutes(r)) is not None:
            services += 1
            services_ok += s <= t.service_minutes
    return {
        "wait_within_target": round(waits_ok / waits, 4) if waits else None,
        "service_within_target": round(services_ok / services, 4) if services else None,
    }


def category_figures(rows: list[dict[str, Any]], config: HallConfig) -> list[dict[str, Any]]:
    """Per category over a period: counts, mean times, targets and the shares within them."""
    out = []
    for cat in config.categories:
        mine = [r for r in rows if r["category"] == cat.prefix]
        t = target_for(config, cat.prefix)
        waits = [w for r in mine if (w := _minutes(r["issued_at"], r["called_at"])) is not None]
        services = [s for r in mine if r["state"] == "done"
                    and (s := _service_minutes(r)) is not None]
        wait_share, service_share = _share(waits, t.wait_minutes), _share(services, t.service_minutes)
        out.append({
            "prefix": cat.prefix, "name": cat.name,
            "issued": sum(1 for r in mine if r["transferred_from"] is None),
            "served": sum(1 for r in mine if r["state"] == "done"),
            "target_wait_minutes": t.wait_minutes, "target_service_minutes": t.service_minutes,
            "mean_wait_minutes": round(statistics.fmean(waits), 1) if waits else None,
            "mean_service_minutes": round(statistics.fmean(services), 1) if services else None,
            "wait_within_target": wait_share, "service_within_target": service_share,
        })
    return out


def live_targets(db: Database, config: HallConfig, now: datetime, service_date: str) -> list[dict[str, Any]]:
    """Per category now: its targets, the longest wait of those still waiting, today's mean service, over or not."""
    with db.read() as c:
        oldest = {r["category"]: r["oldest"] for r in c.execute(
            "SELECT category, MIN(issued_at) AS oldest FROM tickets "
            "WHERE service_date = ? AND state = 'waiting' GROUP BY category", (service_date,))}
        done = [dict(r) for r in c.execute(
            "SELECT category, serving_at, finished_at, parked_seconds FROM tickets "
            "WHERE service_date = ? AND state = 'done'",
            (service_date,))]
    out = []
    for cat in config.categories:
        t = target_for(config, cat.prefix)
        longest = (now - parse_iso(oldest[cat.prefix])).total_seconds() / 60 if cat.prefix in oldest else None
        services = [s for r in done if r["category"] == cat.prefix
                    and (s := _service_minutes(r)) is not None]
        mean_service = statistics.fmean(services) if services else None
        over_wait = longest is not None and longest > t.wait_minutes
        over_service = mean_service is not None and mean_service > t.service_minutes
        out.append({
            "prefix": cat.prefix, "name": cat.name,
            "target_wait_minutes": t.wait_minutes, "target_service_minutes": t.service_minutes,
            "longest_wait_minutes": round(longest) if longest is not None else None,
            "mean_service_minutes": round(mean_service, 1) if mean_service is not None else None,
            "over_wait": over_wait, "over_service": over_service, "over": over_wait or over_service,
        })
    return out
