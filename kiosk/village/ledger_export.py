"""The 代办 ledger as a CSV file for Excel: one row per request, personal data already masked.

Takes the views `Ledger.search` returns (names, ID numbers and phones masked
there), so the export can show nothing the screen does not.
"""

from __future__ import annotations

import csv
import io
from typing import Any


def ledger_csv(rows: list[dict[str, Any]]) -> str:
    """UTF-8 with a BOM, oldest first, so Excel opens the Chinese headers right."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "台账编号",
            "村（社区）",
            "登记时间",
            "事项",
            "实施编码",
            "办理方式",
            "服务对象类别",
            "申请人",
            "证件号码",
            "联系电话",
            "材料",
            "缺少材料",
            "照片数",
            "状态",
            "送乡镇时间",
            "接件时间",
            "办结时间",
            "办件回执号",
            "办件状态",
            "代办员",
            "超期未送",
            "备注",
        ]
    )
    for v in reversed(rows):
        case = v["case"] or {}
        done = sum(1 for m in v["materials"] if m.get("done"))
        w.writerow(
            [
                v["ref_no"],
                v["village"],
                v["registered_at"],
                v["item_name"],
                v["item_code"],
                v["kind"],
                v["special_group"] or "",
                v["applicant"]["name"],
                v["applicant"]["cert_no"],
                v["applicant"]["phone"],
                f"{done}/{len(v['materials'])}",
                "、".join(v["missing"]),
                v["photo_count"],
                v["state"],
                v["handed_at"] or "",
                v["received_at"] or "",
                v["finished_at"] or "",
                case.get("receipt_no", ""),
                case.get("status", ""),
                v["agent_name"] or "",
                "是" if v["overdue"] else "",
                v["note"] or "",
            ]
        )
    return "\ufeff" + out.getvalue()
