"""ID-card routes: a ticket taken with a card read, and what the clerk sees of the card.

The kiosk never holds the ID number: it received a read id on its own live
stream (`card.read`) and names it in the ticket request. The clerk console
gets the masked name and an age band; a case registration asks the service to
fill the applicant from the card (`applicant_from_card`), so the full number
goes from the reader's memory straight into the case record.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from hall.cardreads import CardRead, CardReadError, CardReads, age_band
from hall.queue.models import Lane
from hall.records.models import CaseIn
from hall.security import mask_id, mask_name
from hall.services import Services
from hall.web.api_cases import citizen_actor, records
from hall.web.api_pairing import paired_device
from hall.web.auth import on_post, require_role
from hall.web.errors import ApiError
from hall.web.util import services

bp = Blueprint("cards", __name__)

READ_ID = r"^[A-Za-z0-9_-]{8,40}$"


def _cards(svc: Services) -> CardReads:
    if svc.cards is None:
        raise ApiError("no_card_reader", "本大厅未启用身份证阅读器", 409)
    return svc.cards


def _claim(svc: Services, read_id: str, kiosk: str | None) -> CardRead:
    """The read, only for the paired kiosk that read it: a read id seen on the LAN is worth nothing elsewhere."""
    dev = paired_device()
    if dev is None or dev.kind != "kiosk":
        raise ApiError("card_needs_pairing", "本机未配对，不能刷身份证取号（可直接点选业务取号）；"
                       "请技术员在运维页面为本机生成配对码并在本机输入", 403)
    if kiosk is not None and kiosk != dev.kiosk:
        raise ApiError("card_wrong_kiosk",
                       f"本机已配对为「{dev.name}」，不是自助终端 {kiosk}，不能用它刷身份证取号", 403)
    try:
        return _cards(svc).claim(read_id, dev.kiosk)
    except CardReadError as exc:
        raise ApiError(exc.code, exc.message, exc.status) from None


def issue_with_card(svc: Services, category: str, lane: Lane, read_id: str,
                    kiosk: str | None) -> tuple[dict[str, Any], int]:
    """A number for the person whose card was just read at `kiosk`: their booking for today in that
    category is checked in; otherwise a normal or priority ticket within the per-person daily limit."""
    cards = _cards(svc)
    read = _claim(svc, read_id, kiosk)
    holder = cards.holder(read)
    try:
        appt = read.appointment
        code = (records().appointments.code_for_card(int(appt["id"]), read.id_hash)
                if appt is not None and appt.get("category") == category else None)
        if appt is not None and code is not None:
            checked = records().appointments.check_in(code, citizen_actor("kiosk"), terminal=kiosk, holder=holder)
            ticket = checked["ticket"]
            result = {**checked, "number": ticket["number"], "category": ticket["category"],
                      "category_name": appt["category_name"], "lane": ticket["lane"], "holder_name": read.name,
                      "no_show_rule": svc.engine.no_show_rule()}
            status = 200 if checked["already"] else 201
        else:
            result = svc.engine.issue(category, lane, terminal=kiosk, holder=holder).as_dict()
            status = 201
    except Exception:
        cards.put_back(read)       # refused (limit, closed…): the citizen may choose another category
        raise
    cards.hold_for_ticket(int(result["ticket"]["id"]), read)
    return result, status


# ---------------------------------------------------------------------- clerk
def _current_ticket(svc: Services, n: int) -> dict[str, Any] | None:
    cur = svc.engine.window_view(n).current
    return cur if isinstance(cur, dict) else None


@bp.get("/api/windows/<int:n>/card")
@require_role("clerk", "manager")
def window_card(n: int) -> Response:
    """The served ticket's card holder (masked name, age band) and whether a case can be prefilled
    from a card (the window's own reader, or the card the ticket was taken with)."""
    on_post(n)
    svc = services()
    if svc.config.window(n) is None:
        raise ApiError("unknown_window", f"{n}号窗口不存在", 404)
    cur = _current_ticket(svc, n)
    holder = svc.engine.holder(int(cur["id"])) if cur else None
    prefill = None
    if svc.cards is not None:
        found = svc.cards.record_for(n, int(cur["id"]) if cur else None)
        if found is not None:
            source, rec = found
            prefill = {"source": source, "name": mask_name(rec.name), "cert_no": mask_id(rec.id_number),
                       "cert_type": "111"}
    return jsonify({
        "window": n,
        "ticket": {"id": cur["id"], "number": cur["number"]} if cur else None,
        "holder": {"name": holder["name"], "age_band": age_band(holder["age"])} if holder else None,
        "prefill": prefill,
    })


def case_from_request(model: type[CaseIn], window: int | None) -> tuple[CaseIn, bool]:
    """The case registration body; with `"applicant_from_card": true` the applicant's name and ID number
    come from the card (server-side) and whatever the browser sent for them is replaced.
    Returns (request, whether a card was used)."""
    if not request.is_json:
        raise ApiError("not_json", "请求内容须为 JSON（Content-Type: application/json）", 415)
    data: Any = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("bad_json", "请求内容不是有效的 JSON 对象", 400)
    from_card = data.pop("applicant_from_card", False)
    if from_card is not True:
        if from_card not in (False, None):
            raise ApiError("invalid", "applicant_from_card 须为 true 或 false", 400)
        return model.model_validate(data), False
    svc = services()
    if window is None or svc.cards is None:
        raise ApiError("no_card", "没有可用的身份证信息：请让群众在窗口阅读器上放置身份证", 409)
    ticket_id = data.get("ticket_id") if isinstance(data.get("ticket_id"), int) else None
    if ticket_id is None:
        cur = _current_ticket(svc, window)
        ticket_id = int(cur["id"]) if cur else None
    found = svc.cards.record_for(window, ticket_id)
    if found is None:
        raise ApiError("no_card", "没有可用的身份证信息：请让群众在窗口阅读器上放置身份证", 409)
    rec = found[1]
    sent = data.get("applicant")
    applicant: dict[str, Any] = sent if isinstance(sent, dict) else {}
    data["applicant"] = {**applicant, "name": rec.name, "cert_type": "111", "cert_no": rec.id_number}
    return model.model_validate(data), True


def forget_card(window: int | None, ticket_id: int | None) -> None:
    """After a registration that used the card: the case now holds the number, memory lets go."""
    svc = services()
    if svc.cards is not None and window is not None:
        svc.cards.take_for(window, ticket_id)
