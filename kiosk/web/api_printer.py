"""Ticket printer routes: can the kiosk print, and reprint a ticket.

No route here does device I/O: readiness is the state the printer's probe
keeps fresh, and a reprint is queued to the printer's worker thread (202);
its outcome arrives as the ticket's `print_status` (event "ticket.print").
The emulated printer's paper and faults are under /api/devices/emulators
(hall.web.api_devices), like every other emulator's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify
from hall.queue.clock import parse_iso
from hall.web.auth import current_session
from hall.web.errors import ApiError
from hall.web.util import services

bp = Blueprint("printer", __name__)

# A citizen at the kiosk may reprint their own fresh ticket a couple of times; staff at any time.
KIOSK_REPRINT_MINUTES = 5
KIOSK_REPRINTS_PER_TICKET = 2
REPRINTABLE_STATES = ("waiting", "called", "serving")
HINT = "号码已保留：请记住屏幕上的号码，打印机恢复后可补打小票"


def ticket_printer(svc: Any) -> Any | None:
    """The printer that prints queue tickets (the first configured one that does)."""
    for dev in svc.devices.by_kind("printer"):
        if getattr(dev, "prints_tickets", True):
            return dev
    return None


def printer_summary(svc: Any) -> dict[str, Any]:
    """What the kiosk needs to know before and after a citizen presses: ready or not, and why."""
    dev = ticket_printer(svc)
    if dev is None:
        return {"ready": False, "state": "none", "name": None, "message": "本机未配置取号打印机",
                "hint": HINT}
    info: dict[str, Any] = {"name": dev.name, **dev.readiness()}
    if not info["ready"]:
        info["hint"] = HINT
    return info


@bp.get("/api/printer")
def printer_state() -> Response:
    return jsonify(printer_summary(services()))


@bp.post("/api/tickets/<int:ticket_id>/reprint")
def reprint(ticket_id: int) -> tuple[Response, int]:
    svc = services()
    status = svc.engine.ticket_status(ticket_id)          # 404 for an unknown ticket
    ticket = status["ticket"]
    if ticket["state"] not in REPRINTABLE_STATES:
        raise ApiError("bad_state", f"{ticket['number']} 已{_state_name(ticket['state'])}，不能补打小票", 409)
    session = current_session()
    staff = session is not None and session.role in ("clerk", "manager", "technician")
    dev = ticket_printer(svc)
    if not staff:
        age = svc.clock.now() - parse_iso(ticket["issued_at"])
        if age > timedelta(minutes=KIOSK_REPRINT_MINUTES) or ticket["state"] != "waiting":
            raise ApiError("reprint_expired",
                           f"自助补打仅限取号后 {KIOSK_REPRINT_MINUTES} 分钟内，请到窗口请工作人员补打", 403)
        if dev is not None and dev.kiosk_reprints.get(ticket_id, 0) >= KIOSK_REPRINTS_PER_TICKET:
            raise ApiError("reprint_limit", "该号已补打过，请到窗口请工作人员补打", 429)
    if dev is None:
        raise ApiError("no_printer", "本机未配置取号打印机", 503)
    ready = dev.readiness()
    if not ready["ready"]:
        raise ApiError("printer_not_ready", f"{ready['message']}，暂时不能补打；{HINT}", 503)
    if not staff:
        if len(dev.kiosk_reprints) > 10_000:     # a day's tickets at most; never grows without bound
            dev.kiosk_reprints.clear()
        dev.kiosk_reprints[ticket_id] = dev.kiosk_reprints.get(ticket_id, 0) + 1
    svc.engine.set_print_status(ticket_id, "pending")
    dev.reprint(ticket_id)
    return jsonify({"ticket_id": ticket_id, "number": ticket["number"], "print_status": "pending",
                    "printer": printer_summary(svc)}), 202


def _state_name(state: str) -> str:
    from hall.queue.models import STATE_NAMES

    return STATE_NAMES.get(state, state)
