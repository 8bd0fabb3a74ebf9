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

from flask import Blueprint, Response, jsonify, request
from hall.netaddr import public_link
from hall.queue.clock import parse_iso
from hall.web.api_pairing import paired_device
from hall.web.auth import current_session
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("printer", __name__)

# A citizen at the issuing kiosk may reprint their own fresh ticket a couple of times (within
# [security] reprint_minutes); staff at any time.
KIOSK_REPRINTS_PER_TICKET = 2
REPRINTABLE_STATES = ("waiting", "called", "serving")
KIOSK_ID = r"^[0-9A-Za-z_-]{1,32}$"
HINT = "号码已保留：请记住屏幕上的号码，打印机恢复后可补打小票"


class ReprintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kiosk: str | None = Field(default=None, pattern=KIOSK_ID)


def known_kiosk(svc: Any, kiosk: str | None) -> str | None:
    """A kiosk id from a request: None stays None, an id the config does not name is a 404."""
    if kiosk is not None and svc.config.kiosk(kiosk) is None:
        raise ApiError("unknown_kiosk", f"未知的自助终端 {kiosk}（配置 [[kiosks]] 中没有）", 404)
    return kiosk


def asking_kiosk(svc: Any, kiosk: str | None) -> str | None:
    """The kiosk a request names, else the paired kiosk sending it: the plain /kiosk page names no
    terminal, but once paired its tickets are that kiosk's (its printer, its self-service reprint)."""
    named = known_kiosk(svc, kiosk)
    if named is not None:
        return named
    dev = paired_device()
    return dev.kiosk if dev is not None and dev.kind == "kiosk" else None


def ticket_printer(svc: Any, kiosk: str | None = None) -> Any | None:
    """The printer for tickets taken at `kiosk` (its own), or without a kiosk (the hall's default)."""
    name = svc.config.ticket_printer_for(kiosk)
    dev = svc.devices.get(name) if name else None
    return dev if dev is not None and dev.kind == "printer" else None


def printer_summary(svc: Any, kiosk: str | None = None) -> dict[str, Any]:
    """What the kiosk needs to know before and after a citizen presses: ready or not, and why."""
    dev = ticket_printer(svc, kiosk)
    if dev is None:
        configured = svc.config.ticket_printer_for(kiosk)
        message = f"打印机 {configured} 未能启动（见运维页面）" if configured else "本机未配置取号打印机"
        return {"ready": False, "state": "none", "name": configured, "message": message, "hint": HINT}
    info: dict[str, Any] = {"name": dev.name, **dev.readiness()}
    if not info["ready"]:
        info["hint"] = HINT
    return info


@bp.get("/api/printer")
def printer_state() -> Response:
    """The ticket printer's state; ?kiosk=<id> asks for that kiosk's own printer."""
    svc = services()
    kiosk = request.args.get("kiosk") or None
    return jsonify(printer_summary(svc, known_kiosk(svc, kiosk)))


@bp.get("/api/kiosks")
def kiosks() -> Response:
    """The hall's kiosk terminals ([[kiosks]]) and the state of each one's printer."""
    svc = services()
    return jsonify({"default_printer": svc.config.default_ticket_printer(), "kiosks": [
        {"id": k.id, "name": k.name, "printer": k.printer, "a4_printer": k.a4_printer, "url": f"/kiosk/{k.id}",
         # what the kiosk PC's browser opens (autostart, pairing): at the hall's public address
         "link": public_link(svc.config.server, f"/kiosk/{k.id}"),
         "printer_state": printer_summary(svc, k.id)}
        for k in svc.config.kiosks
    ]})


@bp.post("/api/tickets/<int:ticket_id>/reprint")
def reprint(ticket_id: int) -> tuple[Response, int]:
    """Print a ticket again on the asking kiosk's printer (body {"kiosk": id}), else where it was taken."""
    svc = services()
    req = body(ReprintRequest) if request.get_data() else ReprintRequest()
    status = svc.engine.ticket_status(ticket_id)          # 404 for an unknown ticket
    ticket = status["ticket"]
    kiosk = known_kiosk(svc, req.kiosk) or ticket.get("terminal")
    if ticket["state"] not in REPRINTABLE_STATES:
        raise ApiError("bad_state", f"{ticket['number']} 已{_state_name(ticket['state'])}，不能补打小票", 409)
    session = current_session()
    staff = session is not None and session.role in ("clerk", "manager", "technician")
    dev = ticket_printer(svc, kiosk)
    if not staff:
        dev_asking = paired_device()
        if dev_asking is None or dev_asking.kind != "kiosk":
            raise ApiError("device_not_paired", "本机未配对，不能自助补打小票。请到窗口请工作人员补打；"
                           "如需在本机补打，请技术员在运维页面为本机生成配对码并在本机输入", 403)
        if ticket.get("terminal") is None:
            raise ApiError("not_issuing_kiosk", "此号取号时本机尚未配对，不能自助补打，请到窗口请工作人员补打", 403)
        if dev_asking.kiosk != ticket.get("terminal"):
            raise ApiError("not_issuing_kiosk", "只能在取号的那台自助终端上补打小票，请到窗口请工作人员补打", 403)
        minutes = svc.config.security.reprint_minutes
        age = svc.clock.now() - parse_iso(ticket["issued_at"])
        if age > timedelta(minutes=minutes) or ticket["state"] != "waiting":
            raise ApiError("reprint_expired", f"自助补打仅限取号后 {minutes} 分钟内，请到窗口请工作人员补打", 403)
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
                    "printer": printer_summary(svc, kiosk)}), 202


def _state_name(state: str) -> str:
    from hall.queue.models import STATE_NAMES

    return STATE_NAMES.get(state, state)
