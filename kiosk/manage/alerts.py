"""Warnings for the manager (预警): long waits, empty posts, long pauses."""

from __future__ import annotations

from typing import Any

from hall.manage.targets import target_for
from hall.queue.clock import parse_iso
from hall.queue.engine import QueueEngine


def alerts(engine: QueueEngine) -> list[dict[str, Any]]:
    policy = engine.policy
    now = engine.clock.now()
    out: list[dict[str, Any]] = []
    for n in engine.empty_posts(now):
        out.append({"kind": "empty_post", "level": "high", "window": n,
                    "message": f"{n}号窗口无人在岗（空岗），请安排B岗补位"})
    with engine.db.read() as c:
        rows = c.execute(
            "SELECT category, MIN(issued_at) AS oldest, COUNT(*) AS n FROM tickets "
            "WHERE service_date = ? AND state = 'waiting' GROUP BY category",
            (now.date().isoformat(),),
        ).fetchall()
        paused = c.execute("SELECT number, pause_reason, paused_at FROM windows WHERE paused = 1").fetchall()
    for r in rows:
        waited = (now - parse_iso(r["oldest"])).total_seconds() / 60
        target = target_for(engine.config, r["category"]).wait_minutes   # the category's, else the hall's
        if waited >= target:
            cat = engine.config.category(r["category"])
            name = cat.name if cat else r["category"]
            out.append({"kind": "long_wait", "level": "medium", "category": r["category"],
                        "minutes": round(waited), "waiting": r["n"], "target_minutes": target,
                        "message": f"{name}：最长已等候 {round(waited)} 分钟"
                                   f"（目标 {target} 分钟，{r['n']} 人等候）"})
    for p in paused:
        if not p["paused_at"]:
            continue
        minutes = (now - parse_iso(p["paused_at"])).total_seconds() / 60
        # A B post signed in at the window since the pause began is covering it (AB岗): no alert.
        if minutes >= policy.alert_pause_minutes and not _b_post_since(engine, p["number"], p["paused_at"]):
            out.append({"kind": "long_pause", "level": "medium", "window": p["number"],
                        "minutes": round(minutes), "reason": p["pause_reason"],
                        "message": f"{p['number']}号窗口已暂停 {round(minutes)} 分钟（{p['pause_reason']}），"
                                   f"无B岗补位"})
    return out


def _b_post_since(engine: QueueEngine, window: int, since: str) -> bool:
    with engine.db.read() as c:
        row = c.execute(
            "SELECT 1 FROM window_sessions WHERE window = ? AND post = 'B' AND logout_at IS NULL AND login_at >= ?",
            (window, since),
        ).fetchone()
    return row is not None
