"""What the hall hands a citizen on paper: the 受理回执 and the 一次性告知单.

Both are built here as plain data (sections of lines) so one source feeds the
A4 page a clerk prints through the browser and the thermal slip a kiosk prints
on its own printer: the two can never disagree about the materials. The QR is
drawn server-side with `qrcode` (an inline PNG), so no screen needs a QR library
or the internet.

Personal data: the receipt shows only the masked applicant (mask_name); the
case view it starts from is already masked.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

from hall.records.cases import RECEIPT_PATH
from hall.records.catalog_model import ServiceItem


def receipt_path(receipt_no: str) -> str:
    """Where the receipt's QR points (at the hall's public address)."""
    return RECEIPT_PATH + receipt_no


def qr_png_data_uri(text: str) -> str:
    """The QR as an inline PNG (data: URI): no external asset, and the exact image a test can decode.

    10-pixel modules printed at ~34 mm stay sharp (CSS `image-rendering: pixelated`)."""
    import qrcode

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)


def material_line(m: Any) -> str:
    paper = []
    if m.originals:
        paper.append(f"原件{m.originals}份")
    if m.copies:
        paper.append(f"复印件{m.copies}份")
    need = "" if m.required else "（如有）"
    note = f"；{m.note}" if m.note else ""
    return f"{m.name}{need}：{'，'.join(paper)}{note}"


def notice_sections(item: ServiceItem, *, hall_phone: str = "") -> list[Section]:
    """一次性告知单: everything a citizen needs to come back once with the right papers."""
    fee = item.fee.text + (f"（依据：{item.fee.basis}）" if item.fee.charged and item.fee.basis else "")
    limit = item.promised_limit.text
    if item.legal_limit is not None and item.legal_limit.value:
        limit += f"（法定时限 {item.legal_limit.text}）"
    phones = [f"咨询电话：{item.phone}"]
    if hall_phone and hall_phone != item.phone:
        phones.append(f"大厅电话：{hall_phone}")
    phones.append(f"投诉电话：{item.complaint_phone}")
    return [
        Section("申请材料", [f"{i}. {material_line(m)}" for i, m in enumerate(item.materials, 1)]),
        Section("申请条件", [f"{i}. {c}" for i, c in enumerate(item.conditions, 1)]),
        Section("办理时限", [limit]),
        Section("收费标准", [fee]),
        Section("办理地点", [item.location]),
        Section("办理时间", [item.hours]),
        Section("联系电话", phones),
    ]


def notice_view(item: ServiceItem, *, hall_name: str, hall_phone: str = "") -> dict[str, Any]:
    return {"title": "一次性告知单", "hall": hall_name, "item_name": item.name, "impl_code": item.impl_code,
            "department": item.department,
            "sections": [{"heading": s.heading, "lines": s.lines}
                         for s in notice_sections(item, hall_phone=hall_phone)],
            "closing": "以上材料一次性告知，材料齐全后可一次办结；如有疑问请咨询窗口工作人员。"}


def notice_slip_lines(item: ServiceItem, *, hall_name: str, hall_phone: str = "") -> list[tuple[str, str]]:
    """The same notice as (style, text) lines for a thermal slip (styles: hall.drivers.printer.slip)."""
    v = notice_view(item, hall_name=hall_name, hall_phone=hall_phone)
    out: list[tuple[str, str]] = [("center", hall_name), ("title", v["title"]), ("center", item.name), ("rule", "")]
    for s in v["sections"]:
        out.append(("heading", f"【{s['heading']}】"))
        out.extend(("text", line) for line in s["lines"])
    out += [("rule", ""), ("text", v["closing"])]
    return out


def receipt_view(case: dict[str, Any], *, hall_name: str, hall_phone: str, qr_text: str,
                 item: ServiceItem | None = None) -> dict[str, Any]:
    """受理回执 fields from a (masked) staff case view."""
    limit = case.get("time_limit")
    promised = (case.get("promised_finish_at") or "")[:10]
    deadline = case.get("deadline") or {}
    return {
        "hall": hall_name, "receipt_no": case["receipt_no"], "official_no": case.get("official_no"),
        "item_name": case["item_name"], "case_kind": case.get("case_kind") or "",
        "limit_text": (f"{limit['value']}{'个工作日' if limit['unit'] == '工作日' else limit['unit']}"
                       if limit else "即时办结"),
        "promised": promised, "deadline_note": deadline.get("note") or "",
        "applicant": (case.get("applicant") or {}).get("name") or "", "accepted_at": case["accepted_at"][:16]
        .replace("T", " "), "window": case.get("window"), "clerk_name": case.get("clerk_name") or "",
        "phone": hall_phone or (item.phone if item is not None else ""), "qr_text": qr_text,
        "qr_png": qr_png_data_uri(qr_text),
    }
