"""一次性告知单 on paper at the kiosk: printed as a thermal slip on THAT kiosk's printer.

Like a reprint, the request thread does no device I/O: it checks the printer
is ready (so the citizen hears why not, in words), queues the slip on the
printer's worker and answers 202. The A4 version for the clerk console is a
page (hall.screens.printout_routes), built from the same sections
(hall.records.printouts), so the slip and the page list the same materials.

Who may print: a slip costs paper and needs no ticket, so a citizen prints
only from a paired kiosk, on that kiosk's own printer, a few slips every ten
minutes (hall.print_quota); staff (signed in) print on any kiosk's printer
without a quota, and each such print is audited.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from hall.manage.audit_log import record
from hall.print_quota import NOTICE_SLIPS, NOTICE_WINDOW_S, SlipQuota
from hall.records.printouts import notice_slip_lines
from hall.web.api_pairing import paired_device
from hall.web.api_printer import KIOSK_ID, known_kiosk, printer_summary, ticket_printer
from hall.web.auth import current_session
from hall.web.errors import ApiError
from hall.web.util import body, services
from pydantic import BaseModel, ConfigDict, Field

bp = Blueprint("notice", __name__)

STAFF_ROLES = ("clerk", "manager", "technician")


class NoticePrintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kiosk: str | None = Field(default=None, pattern=KIOSK_ID)


class QuotaError(ApiError):
    """429 with Retry-After (the error handler sends it)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__("notice_print_limit", message, 429)
        self.retry_after = retry_after


def _quota() -> SlipQuota:
    """One quota per app (tests build several apps in one process)."""
    quota: SlipQuota | None = current_app.extensions.get("hall.notice_quota")
    if quota is None:
        quota = current_app.extensions.setdefault("hall.notice_quota", SlipQuota())
    return quota


def _citizen_kiosk(wanted: str | None) -> str:
    """The paired kiosk asking; a body naming another kiosk is refused (its paper is not ours to use)."""
    dev = paired_device()
    if dev is None or dev.kind != "kiosk" or dev.kiosk is None:
        raise ApiError("device_not_paired", "本机未配对，不能打印告知单，请到窗口领取；"
                       "如需本机打印，请技术员在运维页面为本机生成配对码并在本机输入", 403)
    if wanted is not None and wanted != dev.kiosk:
        raise ApiError("not_this_kiosk", f"本机已配对为「{dev.name}」，只能在本机的打印机上打印告知单", 403)
    return dev.kiosk


@bp.post("/api/catalog/items/<impl_code>/notice/print")
def print_notice(impl_code: str) -> tuple[Response, int]:
    """Print the item's 一次性告知单 on the asking kiosk's printer (its pairing; staff: body {"kiosk": id})."""
    svc = services()
    req = body(NoticePrintRequest) if request.get_data() else NoticePrintRequest()
    session = current_session()
    staff = session is not None and session.role in STAFF_ROLES
    kiosk = known_kiosk(svc, req.kiosk) if staff else _citizen_kiosk(known_kiosk(svc, req.kiosk))
    item = svc.catalog.current.get(impl_code)
    if item is None:
        raise ApiError("not_found", "未找到该事项，目录可能已更新，请返回重新选择", 404)
    dev = ticket_printer(svc, kiosk)
    if dev is None:
        raise ApiError("no_printer", "本机未配置打印机，请到窗口领取告知单", 503)
    ready = dev.readiness()
    if not ready["ready"]:
        raise ApiError("printer_not_ready", f"{ready['message']}，暂时不能打印告知单，请到窗口领取", 503)
    if not staff and kiosk is not None:
        wait = _quota().take(kiosk)
        if wait:
            minutes = max(1, round(wait / 60))
            raise QuotaError(f"本机 {round(NOTICE_WINDOW_S / 60)} 分钟内最多打印 {NOTICE_SLIPS} 张告知单，"
                             f"请约 {minutes} 分钟后再试，或到窗口领取告知单", wait)
    hall = svc.config.hall
    dev.print_slip(notice_slip_lines(item, hall_name=hall.name, hall_phone=hall.phone), f"告知单 {impl_code}")
    if staff and session is not None:
        record(svc.db, svc.clock, session.staff_id, session.role, "notice.print", impl_code,
               {"kiosk": kiosk, "printer": dev.name})
    return jsonify({"impl_code": impl_code, "item_name": item.name, "status": "queued",
                    "message": "告知单正在打印，请在出票口取走", "printer": printer_summary(svc, kiosk)}), 202
