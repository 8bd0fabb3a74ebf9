"""The ticket on the citizen's phone: where the ticket's QR (/r/<token>) says how the queue moves.

The QR's signed token (hall.records.ratings: HMAC of the ticket id under the
hall's key) is the only key: no login, and the page shows no personal data
(number, category, people ahead, estimated wait, the window when called).
The phone asks `/api/progress/<token>` every few seconds rather than holding a
live stream: a stream holds a server thread (DESIGN.md §7) and a hall may have
dozens of phones waiting; polling a small JSON works on every stock browser.
The texts come from here so the page's script holds no words.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from hall.web.errors import ApiError
from hall.web.util import services

bp = Blueprint("phone", __name__)

WAITING_STATES = ("waiting",)
CALLED_STATES = ("called",)
SERVED_STATES = ("serving", "done")


def progress(token: str) -> dict[str, Any]:
    """Where the ticket of `token` stands, with the phone page's texts."""
    svc = services()
    if svc.records is None:
        raise ApiError("unavailable", "服务暂不可用", 503)
    ticket_id = svc.records.ratings.current_ticket_of_token(token)   # a bad token: RecordError, 404
    st = svc.engine.ticket_status(ticket_id)
    t = st["ticket"]
    cat = svc.config.category(t["category"])
    near_n = svc.config.citizen.near_ahead
    ahead = int(st["ahead"])
    state = str(t["state"])
    near = state == "waiting" and ahead <= near_n
    if state == "waiting":
        headline = "下一位就是您，请到等候区留意叫号" if ahead == 0 else (
            f"还有{ahead}位，请回到大厅等候" if near else f"前面还有 {ahead} 人等候")
        detail = "" if ahead == 0 else f"预计等候约 {max(1, int(st['wait_minutes']))} 分钟"
    elif state == "called":
        headline = f"请到{t['window']}号窗口办理"
        detail = f"{t['number']} 号已叫号，请尽快前往"
    elif state in SERVED_STATES:
        headline = "正在办理" if state == "serving" else "已办结，感谢您的耐心"
        detail = "办理后请在下方为本次服务评价"
    elif state == "no_show":
        headline = "您已过号"
        detail = svc.engine.no_show_rule()
    elif state == "parked":     # 挂起: the citizen stepped out (a copy, a document) and returns to the same window
        headline = f"您的号已挂起，备齐材料后请回到{t['window']}号窗口"
        detail = "窗口会为您恢复办理，恢复时大厅将广播“请回到窗口”"
    elif state == "transferred":
        headline = "您的号已转到其他业务，请留意叫号"
        detail = ""
    else:
        headline = "该号已作废"
        detail = "如需办理，请重新取号"
    return {
        "number": t["number"], "category": t["category"], "category_name": cat.name if cat else t["category"],
        "state": state, "ahead": ahead if state == "waiting" else 0,
        "wait_minutes": int(st["wait_minutes"]) if state == "waiting" else 0,
        "window": t["window"] if state in (*CALLED_STATES, *SERVED_STATES, "parked") else None,
        "near": near, "called": state == "called", "servable": state in SERVED_STATES,
        "headline": headline, "detail": detail, "poll_seconds": svc.config.citizen.phone_poll_seconds,
    }


@bp.get("/api/progress/<token>")
def ticket_progress(token: str) -> Response:
    """The phone page's position in the queue (people ahead, wait, the window when called)."""
    if len(token) > 64:
        raise ApiError("bad_token", "二维码无效，请扫描票据上的二维码", 404)
    resp = jsonify(progress(token))
    resp.headers["Cache-Control"] = "no-store"
    return resp
