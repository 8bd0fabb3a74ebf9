"""Printable pages and the receipt QR's phone page.

- /clerk/cases/<id>/receipt: the 受理回执 a clerk prints (A5 through the browser: windows have no
  thermal printer), for a case the clerk may see; QR drawn server-side.
- /guide/<impl_code>/notice: the item's 一次性告知单 as an A4 page (clerk console; public data).
- /c/<receipt>: what a phone shows when it opens the receipt's QR on the hall LAN: the masked
  progress, the same as the kiosk's 办件进度, under the same failed-look-up throttle.
The document texts live in their templates (receipt.html, notice.html, case_phone.html).
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from hall.netaddr import public_link
from hall.records.printouts import notice_view, receipt_path, receipt_view
from hall.records.util import RecordError
from hall.web.api_cases import _case_in_scope, lookup_throttle, records
from hall.web.auth import require_role
from hall.web.errors import ApiError
from hall.web.util import services

bp = Blueprint("printouts", __name__)


def _html(text: str, status: int = 200) -> Response:
    resp = Response(text, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"       # a receipt names a (masked) person: never cached
    return resp


@bp.get("/clerk/cases/<int:case_id>/receipt")
@require_role("clerk", "manager")
def case_receipt(case_id: int) -> Response:
    case = _case_in_scope(case_id, change=False)
    svc = services()
    item = svc.catalog.current.get(case["item_code"])
    view = receipt_view(case, hall_name=svc.config.hall.name, hall_phone=svc.config.hall.phone,
                        qr_text=public_link(svc.config.server, receipt_path(case["receipt_no"])), item=item)
    return _html(render_template("receipt.html", r=view))


@bp.get("/guide/<impl_code>/notice")
def guide_notice(impl_code: str) -> Response:
    svc = services()
    item = svc.catalog.current.get(impl_code)
    if item is None:
        raise ApiError("not_found", "未找到该事项，目录可能已更新，请返回重新选择", 404)
    hall = svc.config.hall
    return _html(render_template("notice.html", n=notice_view(item, hall_name=hall.name, hall_phone=hall.phone)))


@bp.get("/c/<receipt>")
def case_phone(receipt: str) -> Response:
    hall = services().config.hall.name
    who = request.remote_addr or "?"
    lookup_throttle.check(who)
    if len(receipt) > 40:
        return _html(render_template("case_phone.html", hall=hall, error="回执二维码无效"), 404)
    try:
        found = records().cases.lookup(receipt)
    except RecordError as exc:
        if exc.status != 404:
            raise
        lookup_throttle.failed(who)
        return _html(render_template("case_phone.html", hall=hall, error=exc.message), 404)
    return _html(render_template("case_phone.html", hall=hall, c=found))
