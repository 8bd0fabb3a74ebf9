"""Case routes: clerks register and move cases; the kiosk looks up progress (masked)."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from flask import Blueprint, Response, jsonify, request
from hall.records.models import CaseIn, HandoverIn, Material, TransitionIn
from hall.records.service import Records
from hall.records.util import Actor, RecordError
from hall.web.auth import current_session, on_post, require_role
from hall.web.errors import ApiError
from hall.web.util import body, enabled, int_arg, services

bp = Blueprint("cases", __name__)


class FailureThrottle:
    """Refuses a caller after too many failed look-ups in a window (receipt numbers are not for guessing)."""

    def __init__(self, limit: int = 30, window_seconds: float = 600.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def check(self, key: str) -> None:
        with self._lock:
            if len(self._recent(key, time.monotonic())) >= self.limit:
                raise ApiError("too_many_failures", "查询失败次数过多，请稍后再试或咨询工作人员", 429)

    def failed(self, key: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(key, now).append(now)
            if len(self._failures) > 10_000:       # bounded memory on a long-running service
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] <= self.window}


lookup_throttle = FailureThrottle()


def records() -> Records:
    return enabled(services().records, "办件与评价服务")


def staff_actor() -> Actor:
    s = current_session()
    assert s is not None  # require_role ran first
    return Actor(s.staff_id, s.role, request.remote_addr or "")


def citizen_actor(channel: str) -> Actor:
    return Actor(channel, "citizen", request.remote_addr or "")



def _case_in_scope(case_id: int, *, change: bool) -> dict[str, Any]:
    """The case, if this session may see (`change=False`) or change it: a clerk only the cases they
    registered or that belong to their window, and to change one they must be on duty there."""
    s = on_post() if change else current_session()
    assert s is not None
    case = records().cases.get(case_id)
    if s.role == "clerk" and case["clerk"] != s.staff_id and (s.window is None or case["window"] != s.window):
        where = f"{case['window']}号窗口" if case["window"] else "其他窗口"
        who = case.get("clerk_name") or case["clerk"]
        raise ApiError("not_your_case", f"该办件由{who}在{where}受理，您不能{'修改' if change else '查看'}；"
                       "如需接办，请原受理人或大厅负责人移交", 403)
    return case


@bp.post("/api/cases")
@require_role("clerk", "manager")
def register_case() -> tuple[Response, int]:
    s = on_post()
    from hall.web.api_cards import case_from_request, forget_card  # api_cards imports this module

    req, from_card = case_from_request(CaseIn, s.window)
    case = records().cases.register(req, staff_actor(), s.window)
    if from_card:
        forget_card(s.window, req.ticket_id if req.ticket_id is not None else _served_ticket(s.window))
    return jsonify({"case": case}), 201


def _served_ticket(window: int | None) -> int | None:
    if window is None:
        return None
    cur = services().engine.window_view(window).current
    return int(cur["id"]) if isinstance(cur, dict) else None


@bp.get("/api/cases")
@require_role("clerk", "manager")
def list_cases() -> Response:
    """Clerks see their own cases; managers all (filters: status, window, flagged=1)."""
    s = current_session()
    assert s is not None
    clerk = s.staff_id if s.role == "clerk" else request.args.get("clerk") or None
    status = request.args.get("status") or None
    cases = records().cases.search(status=status, clerk=clerk, window=int_arg("window", lo=1),
                                   flagged=request.args.get("flagged") in ("1", "true"),
                                   limit=int_arg("limit", lo=1, hi=1000) or 200)
    return jsonify({"cases": cases})


@bp.get("/api/cases/alerts")
@require_role("clerk", "manager")
def case_alerts() -> Response:
    """限时办结: open cases near or past their promised date (a clerk's own, or all for the manager)."""
    s = current_session()
    assert s is not None
    return jsonify(records().cases.deadline_alerts(clerk=s.staff_id if s.role == "clerk" else None))


@bp.get("/api/cases/progress")
def case_progress() -> Response:
    """The kiosk's 办件进度: by receipt number or the receipt's QR text (?q=…); masked."""
    q = (request.args.get("q") or "").strip()
    if not q:
        raise ApiError("invalid", "请输入回执号或扫描回执二维码", 400)
    who = request.remote_addr or "?"
    lookup_throttle.check(who)
    try:
        found = records().cases.lookup(q)
    except RecordError as exc:
        if exc.status == 404:
            lookup_throttle.failed(who)
        raise
    return jsonify({"case": found})


@bp.get("/api/cases/<int:case_id>")
@require_role("clerk", "manager")
def get_case(case_id: int) -> Response:
    return jsonify({"case": _case_in_scope(case_id, change=False)})


# dup-ok: one route per case action (status, handover below): scope check, body, act
@bp.post("/api/cases/<int:case_id>/status")
@require_role("clerk", "manager")
def case_status(case_id: int) -> Response:
    _case_in_scope(case_id, change=True)
    req = body(TransitionIn)
    s = current_session()
    assert s is not None
    return jsonify({"case": records().cases.transition(case_id, req.status, staff_actor(), s.window, req.note)})


@bp.post("/api/cases/<int:case_id>/materials")
@require_role("clerk", "manager")
def case_material(case_id: int) -> Response:
    _case_in_scope(case_id, change=True)
    req = body(Material)
    return jsonify({"case": records().cases.add_material(case_id, req, staff_actor())})


# dup-ok: one route per case action, like status above
@bp.post("/api/cases/<int:case_id>/handover")
@require_role("clerk", "manager")
def case_handover(case_id: int) -> Response:
    """移交: the registering clerk (or the manager) hands the case to another clerk, at that clerk's window."""
    _case_in_scope(case_id, change=True)
    req = body(HandoverIn)
    svc = services()
    target = svc.config.staff_member(req.clerk)
    if target is None or target.role != "clerk":
        raise ApiError("unknown_clerk", f"工号 {req.clerk} 不是窗口工作人员", 400)
    window = next((w.number for w in svc.config.windows
                   if (h := svc.engine.post_holder(w.number)) is not None and h[0] == target.id), None)
    return jsonify({"case": records().cases.hand_over(case_id, target.id, window, staff_actor(), req.reason)})
