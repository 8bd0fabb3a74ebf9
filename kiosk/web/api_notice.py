"""一次性告知单 on paper at the kiosk: printed as a thermal slip on THAT kiosk's printer.

Like a reprint, the request thread does no device I/O: it checks the printer
is ready (so the citizen hears why not, in words), queues the slip on the
printer's worker and answers 202. The A4 version for the clerk console is a
page (hall.screens.printout_routes), built from the same sections
(hall.records.printouts), so the slip and the page list the same materials.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from hall.records.printouts import notice_slip_lines
from hall.web.api_printer import KIOSK_ID, known_kiosk, printer_summary, ticket_printer
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("notice", __name__)


class NoticePrintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kiosk: str | None = Field(default=None, pattern=KIOSK_ID)


@bp.post("/api/catalog/items/<impl_code>/notice/print")
def print_notice(impl_code: str) -> tuple[Response, int]:
    """Print the item's 一次性告知单 on the asking kiosk's printer (body {"kiosk": id}), else the default."""
    svc = services()
    req = body(NoticePrintRequest) if request.get_data() else NoticePrintRequest()
    kiosk = known_kiosk(svc, req.kiosk)
    item = svc.catalog.current.get(impl_code)
    if item is None:
        raise ApiError("not_found", "未找到该事项，目录可能已更新，请返回重新选择", 404)
    dev = ticket_printer(svc, kiosk)
    if dev is None:
        raise ApiError("no_printer", "本机未配置打印机，请到窗口领取告知单", 503)
    ready = dev.readiness()
    if not ready["ready"]:
        raise ApiError("printer_not_ready", f"{ready['message']}，暂时不能打印告知单，请到窗口领取", 503)
    hall = svc.config.hall
    dev.print_slip(notice_slip_lines(item, hall_name=hall.name, hall_phone=hall.phone), f"告知单 {impl_code}")
    return jsonify({"impl_code": impl_code, "item_name": item.name, "status": "queued",
                    "message": "告知单正在打印，请在出票口取走", "printer": printer_summary(svc, kiosk)}), 202
