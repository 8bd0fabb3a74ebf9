"""Excel reports (.xlsx) for the county offices: daily, monthly (一月一通报), per-clerk performance,
ratings and rectification, cases and deadlines.

Every figure comes from the same functions as the JSON report routes (hall.manage.figures,
hall.manage.targets, hall.records.figures), so a workbook can never disagree with the manager
page; record lists reuse the records' masked CSV export, so personal data is masked exactly as
there. Each sheet has a Chinese name, a title line, one bold header row frozen below it, and
real numbers with number formats (rates as percentages), so the county can sum and chart them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from hall.config.schema import HallConfig
from hall.manage.figures import month_bounds, period_figures
from hall.store.db import Database

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

KINDS = ("daily", "monthly", "clerks", "ratings", "cases")
KIND_NAMES = {"daily": "日报", "monthly": "月度通报", "clerks": "人员绩效", "ratings": "评价与整改",
              "cases": "办件时限"}

PCT, MIN, INT = "0.0%", "0.0", "0"


@cache
def _styles() -> dict[str, Any]:
    """openpyxl is imported on the first workbook, not with the service: it pulls in numpy too (~20 MB
    resident, 0.4 s) for a report asked for a few times a month."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="B7C3D0")
    return {"head_font": Font(bold=True, color="FFFFFF"), "head_fill": PatternFill("solid", fgColor="1F4E79"),
            "title_font": Font(bold=True, size=14), "box": Border(left=thin, right=thin, top=thin, bottom=thin),
            "head_align": Alignment(horizontal="center", vertical="center", wrap_text=True)}


@dataclass(frozen=True)
class Col:
    head: str
    get: Callable[[dict[str, Any]], Any]
    fmt: str | None = None
    width: int = 12


def _sheet(wb: Workbook, name: str, title: str, cols: Sequence[Col], rows: Sequence[dict[str, Any]]) -> Worksheet:
    """A sheet: title on row 1, bold filled header on row 2 (frozen with the title), data below."""
    from openpyxl.utils import get_column_letter

    st = _styles()
    ws = wb.create_sheet(name)
    ws.cell(row=1, column=1, value=title).font = st["title_font"]
    for j, c in enumerate(cols, start=1):
        cell = ws.cell(row=2, column=j, value=c.head)
        cell.font, cell.fill, cell.border = st["head_font"], st["head_fill"], st["box"]
        cell.alignment = st["head_align"]
        ws.column_dimensions[get_column_letter(j)].width = c.width
    for i, r in enumerate(rows, start=3):
        for j, c in enumerate(cols, start=1):
            cell = ws.cell(row=i, column=j, value=c.get(r))
            cell.border = st["box"]
            if c.fmt:
                cell.number_format = c.fmt
    ws.freeze_panes = "A3"
    ws.row_dimensions[2].height = 30
    return ws


def _csv_rows(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    return (rows[0], rows[1:]) if rows else ([], [])


def _csv_sheet(wb: Workbook, name: str, title: str, text: str) -> Worksheet:
    """A sheet from a records CSV export (already masked); numbers stay numbers."""
    head, rows = _csv_rows(text)

    def value(v: str) -> Any:
        return int(v) if v.isdigit() and len(v) < 10 else v

    def col(j: int, h: str) -> Col:
        return Col(h, lambda r: r.get(f"c{j}", ""), width=max(10, min(40, len(h) * 3)))

    cols = [col(j, h) for j, h in enumerate(head)]
    return _sheet(wb, name, title, cols, [{f"c{j}": value(v) for j, v in enumerate(r)} for r in rows])


# ---------------------------------------------------------------------- column sets
def _queue_cols(label: str, get_label: Callable[[dict[str, Any]], Any], width: int = 14) -> list[Col]:
    return [
        Col(label, get_label, width=width),
        Col("取号数", lambda r: r["issued"], INT), Col("办结数", lambda r: r["served"], INT),
        Col("过号数", lambda r: r["no_show"], INT), Col("转移数", lambda r: r["transferred"], INT),
        Col("过号率", lambda r: r["no_show_rate"], PCT),
        Col("平均等候(分)", lambda r: r["mean_wait_minutes"], MIN),
        Col("平均办理(分)", lambda r: r["mean_service_minutes"], MIN),
    ]


def _clerk_cols(rc: dict[str, dict[str, Any]]) -> list[Col]:
    return [Col("工号", lambda r: r["staff_id"], width=10), Col("岗位", lambda r: f"{r['post']}岗", width=8),
            *_queue_cols("姓名", lambda r: r["name"]), *_rating_cols(lambda r: rc.get(r["staff_id"]))]


def _rating_cols(get: Callable[[dict[str, Any]], dict[str, Any] | None]) -> list[Col]:
    def f(key: str) -> Callable[[dict[str, Any]], Any]:
        return lambda r: (get(r) or {}).get(key)

    return [Col("评价数", f("ratings"), INT), Col("评价率", f("rating_rate"), PCT),
            Col("满意率", f("satisfaction_rate"), PCT), Col("差评数", f("bad"), INT)]


TARGET_COLS = [
    Col("业务类别", lambda r: f"{r['prefix']} {r['name']}", width=26),
    Col("取号数", lambda r: r["issued"], INT), Col("办结数", lambda r: r["served"], INT),
    Col("目标等候(分)", lambda r: r["target_wait_minutes"], INT),
    Col("平均等候(分)", lambda r: r["mean_wait_minutes"], MIN),
    Col("等候达标率", lambda r: r["wait_within_target"], PCT),
    Col("目标办理(分)", lambda r: r["target_service_minutes"], INT),
    Col("平均办理(分)", lambda r: r["mean_service_minutes"], MIN),
    Col("办理达标率", lambda r: r["service_within_target"], PCT),
]


def _summary_rows(f: dict[str, Any], rec: dict[str, Any] | None) -> list[dict[str, Any]]:
    t = f["total"]
    r = rec["total"] if rec else {}
    cases = rec["cases"] if rec else {}
    items: list[tuple[str, Any, str]] = [
        ("取号数", t["issued"], INT), ("办结数", t["served"], INT), ("过号数", t["no_show"], INT),
        ("转移数", t["transferred"], INT), ("过号率", t["no_show_rate"], PCT),
        ("平均等候(分)", t["mean_wait_minutes"], MIN), ("平均办理(分)", t["mean_service_minutes"], MIN),
        ("等候达标率", t.get("wait_within_target"), PCT), ("办理达标率", t.get("service_within_target"), PCT),
    ]
    if rec:
        items += [("评价数", r.get("ratings"), INT), ("评价率", r.get("rating_rate"), PCT),
                  ("满意率", r.get("satisfaction_rate"), PCT), ("差评数", r.get("bad"), INT),
                  ("受理办件", cases.get("accepted"), INT), ("办结办件", cases.get("finished"), INT),
                  ("超期办结", cases.get("finished_late"), INT)]
    return [{"name": n, "value": v, "fmt": fmt} for n, v, fmt in items]


def _summary_sheet(wb: Workbook, name: str, title: str, f: dict[str, Any], rec: dict[str, Any] | None) -> None:
    ws = _sheet(wb, name, title, [Col("指标", lambda r: r["name"], width=18), Col("数值", lambda r: r["value"])],
                _summary_rows(f, rec))
    for i, row in enumerate(_summary_rows(f, rec), start=3):     # each value its own format
        ws.cell(row=i, column=2).number_format = row["fmt"]


# ---------------------------------------------------------------------- workbooks
class ExcelReports:
    """Builds the workbooks; `records` is the records service (None when records are off)."""

    def __init__(self, db: Database, config: HallConfig, records: Any = None) -> None:
        self.db = db
        self.config = config
        self.records = records

    def build(self, kind: str, *, day: date | None = None, month: str | None = None) -> tuple[bytes, str]:
        """(xlsx bytes, file name) for one kind; daily takes `day`, the others `month` ('YYYY-MM')."""
        if kind not in KINDS:
            raise ValueError(kind)
        from openpyxl import Workbook

        wb = Workbook()
        wb.remove(wb.active)
        hall = self.config.hall.name
        if kind == "daily":
            assert day is not None
            self._daily(wb, hall, day)
            label = day.isoformat()
        else:
            assert month is not None
            getattr(self, f"_{kind}")(wb, hall, month)
            label = month
        wb.properties.title = f"{hall} {KIND_NAMES[kind]} {label}"
        wb.properties.creator = hall
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue(), f"{KIND_NAMES[kind]}-{label}.xlsx"

    def _bounds(self, month: str) -> tuple[date, date]:
        y, m = month.split("-")
        return month_bounds(int(y), int(m))

    def _rec(self, period: str) -> dict[str, Any] | None:
        return self.records.records_figures(period) if self.records is not None else None

    def _daily(self, wb: Workbook, hall: str, day: date) -> None:
        f = period_figures(self.db, self.config, day, day)
        rec = self._rec(day.isoformat())
        self._queue_sheets(wb, hall, f"{day:%Y年%m月%d日}", f, rec)
        _sheet(wb, "分时段取号", f"{hall} {day:%Y年%m月%d日} 分时段取号",
               [Col("时段", lambda r: f"{r['hour']:02d}:00–{r['hour'] + 1:02d}:00", width=16),
                Col("取号数", lambda r: r["issued"], INT)], f["per_hour"])

    def _monthly(self, wb: Workbook, hall: str, month: str) -> None:
        start, end = self._bounds(month)
        f = period_figures(self.db, self.config, start, end)
        rec = self._rec(month)
        self._queue_sheets(wb, hall, f"{start:%Y年%m月}", f, rec)
        _sheet(wb, "每日情况", f"{hall} {start:%Y年%m月} 每日情况", _queue_cols("日期", lambda r: r["date"]), f["days"])
        if self.records is not None:
            self._bad_and_late(wb, hall, month)

    def _queue_sheets(self, wb: Workbook, hall: str, label: str, f: dict[str, Any], rec: dict[str, Any] | None) -> None:
        _summary_sheet(wb, "总体情况", f"{hall} {label} 总体情况", f, rec)
        rw = {w["window"]: w for w in (rec or {}).get("windows", [])}
        rc = {c["clerk"]: c for c in (rec or {}).get("clerks", [])}
        _sheet(wb, "各窗口", f"{hall} {label} 各窗口情况",
               _queue_cols("窗口", lambda r: f"{r['window']}号窗口") + _rating_cols(lambda r: rw.get(r["window"])),
               f["windows"])
        _sheet(wb, "工作人员", f"{hall} {label} 工作人员情况",
               _clerk_cols(rc), f["clerks"])
        _sheet(wb, "业务类别", f"{hall} {label} 各业务类别与服务时限目标", TARGET_COLS, f["categories"])

    def _bad_and_late(self, wb: Workbook, hall: str, month: str) -> None:
        rep = self.records.figures.monthly_report(month)
        _sheet(wb, "差评及整改", f"{hall} {month} 差评及整改情况", [
            Col("评价时间", lambda r: r["rated_at"][:16].replace("T", " "), width=18),
            Col("窗口", lambda r: r["window"], INT, 8), Col("工作人员", lambda r: r["clerk_name"]),
            Col("评价", lambda r: r["level"]), Col("原因", lambda r: "；".join(r["reasons"]), width=30),
            Col("渠道", lambda r: r["channel"]), Col("整改状态", lambda r: r["rectification_state"] or "未生成"),
            Col("整改期限", lambda r: (r["due_at"] or "")[:10], width=14),
        ], rep["bad_ratings"])
        _sheet(wb, "超期办结", f"{hall} {month} 超期办结办件", [
            Col("回执号", lambda r: r["receipt_no"], width=18), Col("事项", lambda r: r["item_name"], width=30),
            Col("窗口", lambda r: r["window"], INT, 8), Col("受理人", lambda r: r["clerk_name"]),
            Col("承诺办结", lambda r: (r["promised_finish_at"] or "")[:10], width=14),
            Col("实际办结", lambda r: (r["finished_at"] or "")[:10], width=14),
        ], rep["late_cases"])

    def _clerks(self, wb: Workbook, hall: str, month: str) -> None:
        start, end = self._bounds(month)
        f = period_figures(self.db, self.config, start, end)
        rec = self._rec(month)
        rc = {c["clerk"]: c for c in (rec or {}).get("clerks", [])}
        rows = sorted(f["clerks"], key=lambda c: -c["served"])
        _sheet(wb, "人员绩效", f"{hall} {start:%Y年%m月} 工作人员绩效",
               _clerk_cols(rc), rows)

    def _ratings(self, wb: Workbook, hall: str, month: str) -> None:
        rec = self._require_records()
        figs = rec.records_figures(month)
        levels = figs["total"]["levels"]
        _sheet(wb, "评价概况", f"{hall} {month} 评价概况",
               [Col("满意度", lambda r: r["level"], width=14), Col("条数", lambda r: r["n"], INT)],
               [{"level": k, "n": v} for k, v in levels.items()])
        _csv_sheet(wb, "评价明细", f"{hall} {month} 评价明细（已脱敏）", rec.figures.export_csv("ratings", month))
        _csv_sheet(wb, "整改明细", f"{hall} {month} 差评整改明细", rec.figures.export_csv("rectifications", month))
        self._bad_and_late(wb, hall, month)
        del wb["超期办结"]

    def _cases(self, wb: Workbook, hall: str, month: str) -> None:
        rec = self._require_records()
        figs = rec.records_figures(month)["cases"]
        names = {"accepted": "受理", "finished": "办结", "returned": "退回", "finished_late": "超期办结",
                 "open_overdue_now": "目前已超期未办结"}
        _sheet(wb, "办件概况", f"{hall} {month} 办件概况",
               [Col("项目", lambda r: r["name"], width=20), Col("件数", lambda r: r["n"], INT)],
               [{"name": names[k], "n": v} for k, v in figs.items() if k in names])
        _csv_sheet(wb, "办件明细", f"{hall} {month} 办件明细（已脱敏）", rec.figures.export_csv("cases", month))
        # 限时办结 as the manager's tab shows it now: open cases near or past their promised date
        open_cases = rec.cases.deadline_alerts()["cases"]
        _sheet(wb, "临期及超期在办", f"{hall} 临期及超期在办办件（截至生成时）", [
            Col("回执号", lambda r: r["receipt_no"], width=18), Col("事项", lambda r: r["item_name"], width=30),
            Col("状态", lambda r: r["status"], width=8), Col("窗口", lambda r: r["window"], INT, 8),
            Col("受理人", lambda r: rec.ctx.staff_name(r["clerk"]) or r["clerk"]),
            Col("受理时间", lambda r: (r["accepted_at"] or "")[:16].replace("T", " "), width=18),
            Col("承诺办结", lambda r: (r["promised_finish_at"] or "")[:10], width=14),
            Col("剩余工作日", lambda r: r["deadline"]["days_left"], INT),
            Col("期限情况", lambda r: "已超期" if r["deadline"]["overdue"] else "临期", width=10),
        ], open_cases)
        self._bad_and_late(wb, hall, month)
        del wb["差评及整改"]

    def _require_records(self) -> Any:
        if self.records is None:
            raise ValueError("records are not enabled")
        return self.records
