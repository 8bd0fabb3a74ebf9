"""Health: what a technician (or a monitoring script) checks first."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify
from hall import __version__
from hall.web.util import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    svc = services()
    db_ok = True
    try:
        svc.db.conn.execute("SELECT 1").fetchone()
    except Exception:
        db_ok = False
    devices = svc.devices.states()
    degraded = [d["name"] for d in devices if d.get("state") not in ("ready", "idle")]
    relay = svc.relay_status() if hasattr(svc, "relay_status") else {"configured": False, "backlog": 0}
    status = "ok" if db_ok and not degraded else ("degraded" if db_ok else "down")
    body = {
        "status": status,
        "version": __version__,
        "hall": svc.config.hall.name,
        "database": "ok" if db_ok else "error",
        "devices": devices,
        "relay": relay,
        "emulators_active": svc.devices.emulators_active,
        "uptime_seconds": round(time.time() - svc.started_at, 1),
        "live_streams": svc.hub.streams,
        "backup": svc.backups.status(svc.clock.now()) if svc.backups is not None else {"state": "disabled"},
        "clock": svc.clock_check.status() if svc.clock_check is not None else None,
        # Conditions a technician must act on while the hall keeps serving (backup folder, clock).
        "warnings": svc.health_warnings(),
    }
    return jsonify(body), 200 if db_ok else 503
