"""Device routes for technicians: states, test actions, and what the emulators show.

No route here does device I/O on the request thread. A test runs on the
device's own worker: a device offers `test_async() -> Future[dict]` (the LED
screens do), or a blocking `test(timeout) -> dict` that itself submits its
I/O to the worker (the printer does), which this module then calls from a
small pool; either way the request thread only waits on a Future, briefly.

Emulator convention: an emulator may implement `view() -> dict`, a
JSON-ready picture of what the emulated device shows (the LED areas as they
would light, the last printed tickets…), and `fault(command) -> str` for
fault injection; `GET /api/devices/emulators` and the fault route use them.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from hall.queue.clock import iso
from hall.web.auth import current_session, require_role
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

bp = Blueprint("devices", __name__)

TEST_WAIT = 12.0        # seconds a request waits for a test (a test ticket at 9600 baud takes a few)
_POOL_KEY = "hall.device_tests"


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    command: str = Field(min_length=1, max_length=80)


def _pool() -> ThreadPoolExecutor:
    pool: ThreadPoolExecutor | None = current_app.extensions.get(_POOL_KEY)
    if pool is None:
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="device-test")
        current_app.extensions[_POOL_KEY] = pool
    return pool


def _device(name: str) -> Any:
    dev = services().devices.get(name)
    if dev is None:
        raise ApiError("unknown_device", f"没有名为 {name} 的设备", 404)
    return dev


def _audit(action: str, target: str, detail: str) -> None:
    """Technician actions on devices are audited like any other staff action."""
    from hall.records.util import Actor, audit

    s = current_session()
    svc = services()
    actor = Actor(s.staff_id if s else "?", s.role if s else "technician", request.remote_addr or "")
    try:
        with svc.db.write() as c:
            audit(c, iso(svc.clock.now()), actor, action, target, detail)
    except Exception:           # an audit hiccup must not hide the test result from the technician
        log.exception("could not audit %s on %s", action, target)


@bp.get("/api/devices")
@require_role("technician")
def list_devices() -> Response:
    svc = services()
    return jsonify({"devices": svc.devices.states(), "emulators_active": svc.devices.emulators_active,
                    "pace": svc.devices.pace.status()})


@bp.post("/api/devices/<name>/test")
@require_role("technician")
def test_device(name: str) -> Response:
    dev = _device(name)
    test_async = getattr(dev, "test_async", None)
    test = getattr(dev, "test", None)
    fut: Future[dict[str, Any]]
    if callable(test_async):
        fut = test_async()
    elif callable(test):
        fut = _pool().submit(test)
    else:
        raise ApiError("no_test", f"设备 {name} 没有测试动作", 409)
    try:
        result = dict(fut.result(timeout=TEST_WAIT))
    except FutureTimeout:
        result = {"ok": False, "message": f"测试未在 {TEST_WAIT:g} 秒内完成，请查看设备状态"}
    except Exception as exc:
        log.exception("test of device %s failed", name)
        result = {"ok": False, "message": f"测试出错：{exc}"}
    result["ok"] = bool(result.get("ok"))
    _audit("device.test", name, f"{'PASS' if result['ok'] else 'FAIL'} {result.get('message', '')}")
    return jsonify({"name": name, "kind": dev.kind, **result, "status": dev.status()})


def _view(emu: Any) -> dict[str, Any] | None:
    view = getattr(emu, "view", None)
    if callable(view):
        data: dict[str, Any] = view()
        return data
    status = getattr(emu, "status", None)
    return status() if callable(status) else None


@bp.get("/api/devices/emulators")
@require_role("technician")
def list_emulators() -> Response:
    svc = services()
    out = [{"name": name, "kind": getattr(emu, "kind", ""), "view": _view(emu),
            "faults": callable(getattr(emu, "fault", None))}
           for name, emu in svc.devices.emulators.items()]
    return jsonify({"emulators_active": svc.devices.emulators_active, "emulators": out})


@bp.post("/api/devices/emulators/<name>/fault")
@require_role("technician")
def emulator_fault(name: str) -> Response:
    req = body(FaultRequest)
    emu = services().devices.emulators.get(name)
    if emu is None:
        raise ApiError("no_emulator", f"没有名为 {name} 的模拟器", 404)
    # an emulator whose `fault` is a Python API (the county simulator) takes the text command elsewhere
    fault = getattr(emu, "fault_command", None) or getattr(emu, "fault", None)
    if not callable(fault):
        raise ApiError("no_faults", f"模拟器 {name} 不支持故障注入", 409)
    try:
        message = fault(req.command)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ApiError("fault_failed", str(exc), 409) from exc
    # a placed test card's name and number are personal data even when typed by hand: masked in the audit
    audit_text = getattr(emu, "audit_text", None)
    _audit("emulator.fault", name, audit_text(req.command) if callable(audit_text) else req.command)
    return jsonify({"name": name, "message": message, "view": _view(emu)})
