"""Figures for the manager: 评价率, 满意率, 差评, per window and clerk; the monthly report; CSV export.

Definitions (stated on the report so nobody has to guess):

* 评价率 = served tickets with at least one first rating (assess 1) ÷ served tickets
  (tickets that reached 办结 in the period; a transferred ticket counts once).
* 满意率 = (非常满意 + 满意 + 基本满意) ÷ all ratings given in the period, added
  ratings (assess 2) included.
* 差评 = ratings 不满意 or 非常不满意 given in the period.

Every export masks names, ID numbers and phone numbers and redacts free text.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from hall.records.base import RecordContext
from hall.records.models import BAD_LEVELS, LEVELS
from hall.records.util import invalid
from hall.security import mask_id, mask_name, mask_phone, redact_text

GOOD_LEVELS = frozenset(LEVELS) - BAD_LEVELS
EXPORT_KINDS = ("ratings", "cases", "complaints", "appointments", "rectifications")


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


class Figures:
    def __init__(self, ctx: RecordContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ periods
    def period(self, when: date | str | None) -> tuple[str, str, str, str, str]:
        """(label, first day, day after last, ISO start, ISO end) for a day or a 'YYYY-MM' month."""
        if when is None:
            when = self.ctx.now().date()
        if isinstance(when, str):
            if re.fullmatch(r"\d{4}-\d{2}", when):
                start, end = self.ctx.month_range(when)
                first = date.fromisoformat(when + "-01")
                nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
                return when, first.isoformat(), nxt.isoformat(), start, end
            try:
                when = date.fromisoformat(when)
            except ValueError as exc:
                raise invalid(f"日期“{when}”格式应为 YYYY-MM-DD 或 YYYY-MM") from exc
        nxt_day = when + timedelta(days=1)
        return (when.isoformat(), when.isoformat(), nxt_day.isoformat(), self.ctx.day_start(when),
                self.ctx.day_start(nxt_day))

    # ------------------------------------------------------------------ figures
    def records_figures(self, when: date | str | None = None) -> dict[str, Any]:
        """评价率, 满意率 and 差评 for a day (date or 'YYYY-MM-DD') or a month ('YYYY-MM'), in all,
        per window and per clerk; plus case, rectification, complaint and appointment counts."""
        label, d0, d1, t0, t1 = self.period(when)
        c = self.ctx.db.conn
        with self.ctx.db.read():
            served = c.execute(
                "SELECT id, window, clerk FROM tickets WHERE service_date >= ? AND service_date < ? AND state = 'done'",
                (d0, d1),
            ).fetchall()
            rated_tickets = {int(r[0]) for r in c.execute(
                """SELECT DISTINCT r.ticket_id FROM ratings r JOIN tickets t ON t.id = r.ticket_id
                   WHERE r.assess_number = 1 AND t.service_date >= ? AND t.service_date < ? AND t.state = 'done'""",
                (d0, d1),
            )}
            ratings = c.execute("SELECT level, window, clerk, assess_number, channel FROM ratings "
                                "WHERE rated_at >= ? AND rated_at < ?", (t0, t1)).fetchall()
            cases = c.execute(
                "SELECT status, promised_finish_at, finished_at FROM cases WHERE accepted_at >= ? AND accepted_at < ?",
                (t0, t1),
            ).fetchall()
            open_overdue = c.execute(
                "SELECT COUNT(*) FROM cases WHERE status IN ('受理', '办理中') AND promised_finish_at < ?",
                (self.ctx.now_iso(),),
            ).fetchone()[0]
            rects = c.execute("SELECT state, due_at FROM rectifications WHERE opened_at >= ? AND opened_at < ?",
                              (t0, t1)).fetchall()
            rect_open_overdue = c.execute(
                "SELECT COUNT(*) FROM rectifications WHERE state != '已关闭' AND due_at < ?", (self.ctx.now_iso(),),
            ).fetchone()[0]
            complaints = c.execute("SELECT kind FROM complaints WHERE created_at >= ? AND created_at < ?",
                                   (t0, t1)).fetchall()
            appts = c.execute("SELECT state FROM appointments WHERE service_date >= ? AND service_date < ?",
                              (d0, d1)).fetchall()

        def block(served_rows: list[Any], rating_rows: list[Any]) -> dict[str, Any]:
            n_served = len(served_rows)
            n_rated = sum(1 for r in served_rows if int(r[0]) in rated_tickets)
            levels = Counter(r[0] for r in rating_rows)
            good = sum(levels[lv] for lv in GOOD_LEVELS)
            bad = sum(levels[lv] for lv in BAD_LEVELS)
            return {
                "served": n_served, "rated": n_rated, "rating_rate": _rate(n_rated, n_served),
                "ratings": len(rating_rows), "added": sum(1 for r in rating_rows if r[3] == 2),
                "levels": {lv: levels[lv] for lv in LEVELS}, "satisfied": good,
                "satisfaction_rate": _rate(good, len(rating_rows)), "bad": bad,
            }

        by_window_s: dict[Any, list[Any]] = defaultdict(list)
        by_window_r: dict[Any, list[Any]] = defaultdict(list)
        by_clerk_s: dict[Any, list[Any]] = defaultdict(list)
        by_clerk_r: dict[Any, list[Any]] = defaultdict(list)
        for r in served:
            by_window_s[r[1]].append(r)
            by_clerk_s[r[2]].append(r)
        for r in ratings:
            by_window_r[r[1]].append(r)
            by_clerk_r[r[2]].append(r)
        windows = sorted({w for w in [*by_window_s, *by_window_r] if w is not None}
                         | {w.number for w in self.ctx.config.windows})
        clerks = sorted({k for k in [*by_clerk_s, *by_clerk_r] if k is not None})
        finished = [r for r in cases if r[0] in ("办结", "退回")]
        late = sum(1 for r in finished if r[1] and r[2] and r[2] > r[1])
        return {
            "period": label,
            "total": block(served, ratings),
            "by_channel": dict(Counter(r[4] for r in ratings)),
            "windows": [{"window": w, **block(by_window_s.get(w, []), by_window_r.get(w, []))} for w in windows],
            "clerks": [{"clerk": k, "name": self.ctx.staff_name(k) or k,
                        **block(by_clerk_s.get(k, []), by_clerk_r.get(k, []))} for k in clerks],
            "cases": {"accepted": len(cases), "finished": sum(1 for r in cases if r[0] == "办结"),
                      "returned": sum(1 for r in cases if r[0] == "退回"), "finished_late": late,
                      "open_overdue_now": int(open_overdue)},
            "rectifications": {"opened": len(rects), "closed": sum(1 for r in rects if r[0] == "已关闭"),
                               "open_overdue_now": int(rect_open_overdue)},
            "complaints": dict(Counter(r[0] for r in complaints)),
            "appointments": {s: sum(1 for r in appts if r[0] == s)
                             for s in ("booked", "checked_in", "no_show", "cancelled")},
            "definitions": {
                "rating_rate": "有评价的已办结号数 ÷ 已办结号数",
                "satisfaction_rate": "（非常满意+满意+基本满意）÷ 评价总数（含追加评价）",
                "bad": "不满意与非常不满意的评价数",
            },
        }

    def monthly_report(self, month: str) -> dict[str, Any]:
        """一月一通报: the month's figures, its 差评 and their rectification, late cases, complaints."""
        figs = self.records_figures(month)
        _, _, _, t0, t1 = self.period(month)
        c = self.ctx.db.conn
        with self.ctx.db.read():
            bad = c.execute(
                """SELECT r.id, r.rated_at, r.level, r.reasons, r.window, r.clerk, r.channel, r.item_code,
                          x.id AS rect_id, x.state, x.due_at, x.closed_at
                   FROM ratings r LEFT JOIN rectifications x ON x.rating_id = r.id
                   WHERE r.bad = 1 AND r.rated_at >= ? AND r.rated_at < ? ORDER BY r.rated_at""",
                (t0, t1),
            ).fetchall()
            late = c.execute(
                """SELECT receipt_no, item_name, window, clerk, promised_finish_at, finished_at, status FROM cases
                   WHERE finished_at >= ? AND finished_at < ? AND finished_at > promised_finish_at
                   ORDER BY finished_at""",
                (t0, t1),
            ).fetchall()
            complaint_reasons: Counter[str] = Counter()
            for (reasons,) in c.execute("SELECT reasons FROM complaints WHERE created_at >= ? AND created_at < ?",
                                        (t0, t1)):
                complaint_reasons.update(r["text"] for r in json.loads(reasons))
        year, mon = month.split("-")
        rated = [w for w in figs["windows"] if w["ratings"]]
        return {
            "title": f"{self.ctx.config.hall.name}{year}年{int(mon)}月政务服务“好差评”情况通报",
            "month": month,
            "generated_at": self.ctx.now_iso(),
            "figures": figs,
            "bad_ratings": [
                {"rating_id": r["id"], "rated_at": r["rated_at"], "level": r["level"],
                 "reasons": [x["text"] for x in json.loads(r["reasons"])], "window": r["window"],
                 "clerk_name": self.ctx.staff_name(r["clerk"]) or r["clerk"], "channel": r["channel"],
                 "item_code": r["item_code"], "rectification_id": r["rect_id"], "rectification_state": r["state"],
                 "due_at": r["due_at"], "closed_at": r["closed_at"]}
                for r in bad
            ],
            "late_cases": [
                {"receipt_no": r["receipt_no"], "item_name": r["item_name"], "window": r["window"],
                 "clerk_name": self.ctx.staff_name(r["clerk"]) or r["clerk"],
                 "promised_finish_at": r["promised_finish_at"], "finished_at": r["finished_at"],
                 "status": r["status"]}
                for r in late
            ],
            "complaint_topics": dict(complaint_reasons.most_common()),
            "best_window": max(rated, key=lambda w: (w["satisfaction_rate"] or 0, w["ratings"]))["window"]
            if rated else None,
        }

    # ------------------------------------------------------------------ CSV
    def export_csv(self, kind: str, month: str) -> str:
        """One month of one record kind as CSV (UTF-8 with BOM so Excel opens it), masked."""
        if kind not in EXPORT_KINDS:
            raise invalid(f"导出类型应为 {'、'.join(EXPORT_KINDS)} 之一")
        _, d0, d1, t0, t1 = self.period(month)
        c = self.ctx.db.conn
        buf = io.StringIO()
        buf.write("\ufeff")
        w = csv.writer(buf, lineterminator="\r\n")

        def txt(v: Any) -> str:
            return redact_text(str(v)) if v is not None else ""

        def reasons(v: str) -> str:
            return "；".join(x["text"] for x in json.loads(v))

        with self.ctx.db.read():
            if kind == "ratings":
                w.writerow(["评价编号", "评价时间", "渠道", "满意度", "差评原因", "意见", "窗口", "工作人员",
                            "事项编码", "评价次数", "服务"])
                for r in c.execute("SELECT * FROM ratings WHERE rated_at >= ? AND rated_at < ? ORDER BY id", (t0, t1)):
                    w.writerow([r["id"], r["rated_at"], r["channel"], r["level"], reasons(r["reasons"]),
                                txt(r["comment"]), r["window"] or "", self.ctx.staff_name(r["clerk"]) or "",
                                r["item_code"] or "", r["assess_number"], r["service_key"]])
            elif kind == "cases":
                w.writerow(["回执号", "办件编号", "事项编码", "事项名称", "办件类型", "状态", "申请人", "证件类型",
                            "证件号码", "联系电话", "代办员", "窗口", "受理人", "受理时间", "承诺办结时间", "办结时间"])
                for r in c.execute("SELECT * FROM cases WHERE accepted_at >= ? AND accepted_at < ? ORDER BY id",
                                   (t0, t1)):
                    agent = json.loads(r["agent"]) if r["agent"] else None
                    w.writerow([r["receipt_no"], r["official_no"] or "", r["item_code"], r["item_name"], r["case_kind"],
                                r["status"], mask_name(r["applicant_name"]), r["cert_type"], mask_id(r["cert_no"]),
                                mask_phone(r["phone"]), mask_name(agent.get("name")) if agent else "",
                                r["window"] or "", self.ctx.staff_name(r["clerk"]) or r["clerk"], r["accepted_at"],
                                r["promised_finish_at"] or "", r["finished_at"] or ""])
            elif kind == "complaints":
                w.writerow(["编号", "时间", "类型", "原因", "内容", "联系人", "联系电话", "窗口", "状态", "处理情况"])
                for r in c.execute("SELECT * FROM complaints WHERE created_at >= ? AND created_at < ? ORDER BY id",
                                   (t0, t1)):
                    w.writerow([r["ref_no"], r["created_at"], r["kind"], reasons(r["reasons"]), txt(r["text"]),
                                mask_name(r["contact_name"]), mask_phone(r["contact_phone"]), r["window"] or "",
                                r["state"], txt(r["reply"])])
            elif kind == "appointments":
                w.writerow(["预约码", "来源", "业务类别", "事项", "预约开始", "预约结束", "姓名", "联系电话", "状态",
                            "签到时间"])
                for r in c.execute("SELECT * FROM appointments WHERE service_date >= ? AND service_date < ? "
                                   "ORDER BY slot_start, id", (d0, d1)):
                    w.writerow([r["code"], "县级平台" if r["source"] == "county" else "大厅", r["category"],
                                r["item_name"] or "", r["slot_start"], r["slot_end"], mask_name(r["name"]),
                                mask_phone(r["phone"]), r["state"], r["checked_in_at"] or ""])
            else:
                w.writerow(["整改编号", "评价编号", "开始时间", "整改期限", "状态", "整改回复", "核实意见", "关闭时间"])
                for r in c.execute("SELECT * FROM rectifications WHERE opened_at >= ? AND opened_at < ? ORDER BY id",
                                   (t0, t1)):
                    w.writerow([r["id"], r["rating_id"], r["opened_at"], r["due_at"], r["state"], txt(r["reply"]),
                                txt(r["verification"]), r["closed_at"] or ""])
        return buf.getvalue()


def month_of(dt: datetime) -> str:
    return f"{dt.year:04d}-{dt.month:02d}"
