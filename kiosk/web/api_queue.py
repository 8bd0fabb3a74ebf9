"""Queue routes: citizens take numbers, clerks work their window."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify
from hall.web.api_cards import READ_ID, issue_with_card
from hall.web.api_printer import KIOSK_ID, asking_kiosk, printer_summary
from hall.web.auth import on_post, require_role
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("queue", __name__)


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(pattern=r"^[A-Z]$")
    lane: Literal["normal", "priority"] = "normal"
    kiosk: str | None = Field(default=None, pattern=KIOSK_ID)   # the terminal pressed: its printer prints
    card_read: str | None = Field(default=None, pattern=READ_ID)  # 刷身份证取号: the read this kiosk was sent


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(pattern=r"^[A-Z]$")


class PauseRequest(BaseModel):
    """A coded pause (`code` from config queue.pause_reasons, `reason` the words, needed for 其他);
    `reason` alone (older consoles) is counted under the reason that takes free text."""

    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,23}$")
    reason: str = Field(default="", max_length=100)


class ChosenCallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_id: int = Field(ge=1, le=2**62)
    reason: str = Field(min_length=1, max_length=60)


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=60)


@bp.post("/api/tickets")
def issue_ticket() -> tuple[Response, int]:
    req = body(IssueRequest)
    svc = services()
    kiosk = asking_kiosk(svc, req.kiosk)     # a paired plain /kiosk page: its own terminal
    if req.card_read is not None:
        card_result, status = issue_with_card(svc, req.category, req.lane, req.card_read, kiosk)
        return jsonify({**card_result, "print_status": card_result["ticket"]["print_status"],
                        "printer": printer_summary(svc, kiosk)}), status
    result = svc.engine.issue(req.category, req.lane, terminal=kiosk)
    # The kiosk shows the number whatever the printer does: `printer` says whether paper will come out,
    # `print_status` (pending → printed | failed, event "ticket.print") how it went.
    return jsonify({**result.as_dict(), "print_status": result.ticket.print_status,
                    "printer": printer_summary(svc, kiosk)}), 201


@bp.get("/api/tickets/<int:ticket_id>")
def ticket_status(ticket_id: int) -> Response:
    return jsonify(services().engine.ticket_status(ticket_id))


@bp.get("/api/queue")
def queue_snapshot() -> Response:
    return jsonify(services().engine.snapshot())


@bp.get("/api/queue/figures")
@require_role("clerk", "manager", "technician")
def queue_figures() -> Response:
    return jsonify(services().engine.figures())


def _window_clerk(n: int) -> str:
    """The clerk on duty at window n (managers may act on any window)."""
    return on_post(n).staff_id


def _ticket(t: Any) -> Response:
    return jsonify({"ticket": t.public()})


# dup-ok: one route per clerk action (call … finish); the URL table reads better than a loop that registers them
@bp.post("/api/windows/<int:n>/call")
@require_role("clerk", "manager")
def call(n: int) -> Response:
    return _ticket(services().engine.call_next(n, _window_clerk(n)))


@bp.post("/api/windows/<int:n>/recall")
@require_role("clerk", "manager")
def recall(n: int) -> Response:
    return _ticket(services().engine.recall(n, _window_clerk(n)))


@bp.post("/api/windows/<int:n>/no-show")
@require_role("clerk", "manager")
def no_show(n: int) -> Response:
    return _ticket(services().engine.no_show(n, _window_clerk(n)))


@bp.post("/api/windows/<int:n>/start")
@require_role("clerk", "manager")
def start(n: int) -> Response:
    return _ticket(services().engine.start(n, _window_clerk(n)))


# dup-ok: one route per clerk action, like call/recall/no-show/start above
@bp.post("/api/windows/<int:n>/finish")
@require_role("clerk", "manager")
def finish(n: int) -> Response:
    return _ticket(services().engine.finish(n, _window_clerk(n)))


@bp.post("/api/windows/<int:n>/transfer")
@require_role("clerk", "manager")
def transfer(n: int) -> Response:
    req = body(TransferRequest)
    return _ticket(services().engine.transfer(n, _window_clerk(n), req.category))


@bp.post("/api/windows/<int:n>/pause")
@require_role("clerk", "manager")
def pause(n: int) -> Response:
    req = body(PauseRequest)
    services().engine.pause(n, _window_clerk(n), req.reason, code=req.code)
    return jsonify({"window": services().engine.window_view(n).as_dict()})


@bp.post("/api/windows/<int:n>/resume")
@require_role("clerk", "manager")
def resume(n: int) -> Response:
    services().engine.resume(n, _window_clerk(n))
    return jsonify({"window": services().engine.window_view(n).as_dict()})


@bp.get("/api/windows/<int:n>")
def window_view(n: int) -> Response:
    return jsonify({"window": services().engine.window_view(n).as_dict()})


# ------------------------------------------------------------------ 选号叫号, 挂起/恢复, 作废
@bp.get("/api/windows/<int:n>/waiting")
@require_role("clerk", "manager")
def window_waiting(n: int) -> Response:
    """The window's waiting tickets in call order, for choosing one (due appointments marked)."""
    on_post(n)
    return jsonify({"tickets": services().engine.waiting_for_window(n)})


@bp.post("/api/windows/<int:n>/call-chosen")
@require_role("clerk", "manager")
def call_chosen(n: int) -> Response:
    req = body(ChosenCallRequest)
    return jsonify(services().engine.call_chosen(n, _window_clerk(n), req.ticket_id, req.reason).as_dict())


@bp.post("/api/windows/<int:n>/park")
@require_role("clerk", "manager")
def park(n: int) -> Response:
    return _ticket(services().engine.park(n, _window_clerk(n)))


@bp.post("/api/windows/<int:n>/parked/<int:ticket_id>/resume")
@require_role("clerk", "manager")
def resume_parked(n: int, ticket_id: int) -> Response:
    return _ticket(services().engine.resume_parked(n, _window_clerk(n), ticket_id))


@bp.post("/api/windows/<int:n>/tickets/<int:ticket_id>/cancel")
@require_role("clerk", "manager")
def cancel_ticket(n: int, ticket_id: int) -> Response:
    req = body(CancelRequest)
    return _ticket(services().engine.cancel_at(n, _window_clerk(n), ticket_id, req.reason))
