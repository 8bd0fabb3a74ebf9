"""Device pairing on the web: technicians make codes, devices trade a code for a token.

Every request that carries `X-Hall-Device: <token>` is looked up once (before
the audit context is set), so `g.hall_device` names the paired device in
audit rows and the rating/reprint routes can ask `paired_device()`.
"""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Flask, Response, g, jsonify, request
from hall import pairing
from hall.manage.audit_log import record
from hall.pairing import PairedDevice
from hall.store.audit_chain import update_context
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("pairing", __name__)

HEADER = "X-Hall-Device"


class NewPairing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["evaluator", "kiosk"]
    window: int | None = Field(default=None, ge=1, le=999)
    kiosk: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_-]{1,32}$")


class PairRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[0-9]{6}$")
    # the page the code is typed on (/evaluator/<window>, /kiosk/<id>): a code for another device is refused
    kind: Literal["evaluator", "kiosk"] | None = None
    window: int | None = Field(default=None, ge=1, le=999)
    kiosk: str | None = Field(default=None, pattern=r"^[0-9A-Za-z_-]{1,32}$")


def paired_device() -> PairedDevice | None:
    """The paired device that sent this request (its token header), or None."""
    return getattr(g, "hall_paired", None)


def require_tablet_of(window: int) -> PairedDevice:
    """Refuse (403) unless this request comes from the paired rating tablet of `window`.

    Every tablet path that records or completes a rating goes through here: a rating that any
    host on the LAN could post while a prompt is open would be worth nothing.
    """
    dev = paired_device()
    if dev is None or dev.kind != "evaluator" or dev.window != window:
        raise ApiError("device_not_paired",
                       f"本设备不是{window}号窗口已配对的评价器，不能提交评价；请技术员在运维页面配对", 403)
    return dev


def _identify() -> None:
    token = request.headers.get(HEADER, "")
    dev = pairing.device_for_token(services().db, token) if token else None
    g.hall_paired = dev
    g.hall_device = dev.name if dev else None


def install(app: Flask) -> None:
    """Identify the device before any other before-request hook (the audit context reads it)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _identify)


def _actor() -> tuple[str, str]:
    s = current_session()
    return (s.staff_id, s.role) if s else ("anonymous", "anonymous")


@bp.post("/api/tech/pairings")
@require_role("technician")
def create_pairing() -> tuple[Response, int]:
    """A one-time 6-digit code for a window's tablet or a kiosk; shown once, valid 10 minutes."""
    svc = services()
    req = body(NewPairing)
    if req.kind == "evaluator":
        if req.window is None or svc.config.window(req.window) is None:
            raise ApiError("unknown_window", f"{req.window}号窗口不存在", 404)
        kiosk = None
        window: int | None = req.window
    else:
        if req.kiosk is None or svc.config.kiosk(req.kiosk) is None:
            raise ApiError("unknown_kiosk", f"未知的自助终端 {req.kiosk}（配置 [[kiosks]] 中没有）", 404)
        kiosk, window = req.kiosk, None
    actor, role = _actor()
    made = pairing.create_code(svc.db, svc.clock, kind=req.kind, window=window, kiosk=kiosk, by=actor,
                               minutes=svc.config.security.pairing_code_minutes)
    record(svc.db, svc.clock, actor, role, "pairing.code", made["name"], {"step": "code", "id": made["id"]})
    return jsonify(made), 201


@bp.get("/api/tech/pairings")
@require_role("technician")
def list_pairings() -> Response:
    svc = services()
    rows = pairing.list_pairings(svc.db)
    shown = getattr(svc, "demo_pairing_codes", None) or {}
    for r in rows:    # the demo hall's start-up codes stay readable on /tech while they wait
        if r["state"] == "waiting" and r["id"] in shown:
            r["code"] = shown[r["id"]]
    kiosks = [{"id": k.id, "name": k.name} for k in svc.config.kiosks]
    return jsonify({"pairings": rows, "windows": [w.number for w in svc.config.windows], "kiosks": kiosks,
                    "code_minutes": svc.config.security.pairing_code_minutes})


@bp.post("/api/tech/pairings/<int:pid>/revoke")
@require_role("technician")
def revoke_pairing(pid: int) -> Response:
    svc = services()
    done = pairing.revoke(svc.db, svc.clock, pid)
    if done is None:
        raise ApiError("not_found", f"没有编号为 {pid} 的设备配对", 404)
    actor, role = _actor()
    record(svc.db, svc.clock, actor, role, "pairing.revoke", done["name"], {"step": "revoke", "id": pid})
    # the revoked tablet/kiosk page hears it at once and asks for a new code (pairing_pad.js)
    svc.hub.publish("device.revoked", {"id": pid, "name": done["name"]})
    return jsonify(done)


@bp.get("/api/pairing/me")
def this_device() -> Response:
    """Which paired device this is (by its X-Hall-Device token).

    Unpaired is an answer, not an error: `refused` says a token was sent but is unknown or
    revoked, so the page drops it and asks for a new code.
    """
    dev = paired_device()
    if dev is None:
        return jsonify({"paired": False, "refused": bool(request.headers.get(HEADER))})
    return jsonify({"paired": True, "kind": dev.kind, "window": dev.window, "kiosk": dev.kiosk, "name": dev.name})


@bp.post("/api/pairing")
def pair_device() -> tuple[Response, int]:
    """The device page trades the technician's code for its token (kept in the browser)."""
    svc = services()
    req = body(PairRequest)
    try:
        expect = (req.kind, req.window if req.kind == "evaluator" else None,
                  req.kiosk if req.kind == "kiosk" else None) if req.kind else None
        token, dev, replaced = pairing.redeem(svc.db, svc.clock, req.code, request.remote_addr or "", expect)
    except pairing.PairingError as e:
        raise ApiError(e.code, e.message, e.status) from None
    g.hall_device = dev.name
    update_context(device=dev.name)    # the audit row names the device just paired, not its browser
    record(svc.db, svc.clock, "device", "anonymous", "pairing.paired", dev.name, {"step": "paired", "id": dev.id})
    for old_id, old_name in replaced:  # one device per window/kiosk: the one it replaces stops at once
        record(svc.db, svc.clock, "device", "anonymous", "pairing.replaced", old_name,
               {"step": "replaced", "id": old_id, "by": dev.id})
        svc.hub.publish("device.revoked", {"id": old_id, "name": old_name, "replaced_by": dev.id})
    return jsonify({"token": token, "kind": dev.kind, "window": dev.window, "kiosk": dev.kiosk,
                    "name": dev.name, "header": HEADER}), 201
