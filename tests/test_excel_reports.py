"""Excel reports (issue 13 item 5): the workbooks opened with openpyxl itself carry the month's figures
equal to the JSON report's, with Chinese sheet names, a bold frozen header and number formats; the
download is manager-only and audited; the month's workbook lands in the backup folder by itself."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.records.models import CaseIn, RatingIn
from hall.records.util import Actor
from hall.services import Services, build_services
from openpyxl import load_workbook

from tests.conftest import auth
from tests.conftest import serve_ticket as _serve

MONTH = "2026-11"
PHONE = "13812345678"
ID = "11010519491231002X"


def _case_in() -> CaseIn:
    """A 1-working-day 承诺件: near its date the day it is accepted, overdue a few days later."""
    return CaseIn.model_validate({
        "item_code": "430224100LS01", "item_name": "临时救助申请", "limit_value": 1, "limit_unit": "工作日",
        "category": "C", "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID, "phone": PHONE}})


@pytest.fixture
def services(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    svc = build_services(config, tmp_path, clock=clock, with_devices=False)
    _a_month(svc, clock)
    yield svc
    svc.stop()


def _a_month(svc: Services, clock: FixedClock) -> None:
    """Two working days of November at windows 3 and 4, a no-show (re-queued), a 差评 with a phone number in it."""
    svc.engine.login(3, "1003")
    svc.engine.login(4, "1004")
    _serve(svc, clock, "C", 3, "1003", 4, 6)
    _serve(svc, clock, "D", 4, "1004", 35, 12)
    assert svc.records is not None
    svc.records.ratings.open_prompt(4, Actor("1004", "clerk"))
    svc.records.ratings.rate_prompt(4, RatingIn(level="不满意", reasons=["R04"], comment=f"请回电 {PHONE}"),
                                    Actor("tablet", "citizen"))
    # a case accepted at window 3, still open when the month's reports are made
    case = svc.records.cases.register(_case_in(), Actor("1003", "clerk"), window=3)
    assert case["status"] in ("受理", "办理中")
    clock.advance(days=1)
    svc.engine.roll_over()
    svc.engine.login(3, "1003")
    _serve(svc, clock, "C", 3, "1003", 12, 3)
    svc.engine.issue("C")
    svc.engine.call_next(3, "1003")
    svc.engine.no_show(3, "1003")


def _token(api: Any, staff_id: str, secret: str, window: int | None = None) -> dict[str, str]:
    return auth(api, staff_id, secret, window)


def _table(ws: Any) -> list[dict[str, Any]]:
    """Rows under the header (row 2) as {header: value}."""
    head = [c.value for c in ws[2]]
    return [dict(zip(head, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=3)]


def _close(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and abs(float(a) - float(b)) < 1e-9)


def _check_month(book: Any, report: dict[str, Any], rec: dict[str, Any]) -> None:
    summary = {r["指标"]: r["数值"] for r in _table(book["总体情况"])}
    t = report["total"]
    for name, key in [("取号数", "issued"), ("办结数", "served"), ("过号数", "no_show"), ("过号率", "no_show_rate"),
                      ("平均等候(分)", "mean_wait_minutes"), ("平均办理(分)", "mean_service_minutes"),
                      ("等候达标率", "wait_within_target"), ("办理达标率", "service_within_target")]:
        assert _close(summary[name], t[key]), (name, summary[name], t[key])
    for name, key in [("评价数", "ratings"), ("评价率", "rating_rate"), ("满意率", "satisfaction_rate"),
                      ("差评数", "bad")]:
        assert _close(summary[name], rec["total"][key]), (name, summary[name], rec["total"][key])
    windows = {r["窗口"]: r for r in _table(book["各窗口"])}
    for w in report["windows"]:
        row = windows[f"{w['window']}号窗口"]
        assert (row["取号数"], row["办结数"], row["过号数"]) == (w["issued"], w["served"], w["no_show"])
        assert _close(row["平均等候(分)"], w["mean_wait_minutes"]) and _close(row["过号率"], w["no_show_rate"])
    clerks = {r["工号"]: r for r in _table(book["工作人员"])}
    for c in report["clerks"]:
        assert (clerks[c["staff_id"]]["姓名"], clerks[c["staff_id"]]["办结数"]) == (c["name"], c["served"])
    cats = {r["业务类别"][:1]: r for r in _table(book["业务类别"])}
    for c in report["categories"]:
        assert _close(cats[c["prefix"]]["等候达标率"], c["wait_within_target"])
    days = {r["日期"]: r for r in _table(book["每日情况"])}
    assert [days[d["date"]]["办结数"] for d in report["days"]] == [d["served"] for d in report["days"]]


def test_monthly_workbook_equals_the_json_report_and_is_audited(api: Any, services: Services) -> None:
    mgr = _token(api, "9001", "hall-8888")
    r = api.get(f"/api/manage/xlsx/monthly?month={MONTH}", headers=mgr)
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["总体情况", "各窗口", "工作人员", "业务类别", "每日情况", "差评及整改", "超期办结"]
    report = api.get(f"/api/manage/report?month={MONTH}", headers=mgr).get_json()
    rec = api.get(f"/api/records/figures?period={MONTH}", headers=mgr).get_json()
    assert report["total"]["served"] == 3 and report["total"]["issued"] == 4 and rec["total"]["bad"] == 1
    _check_month(book, report, rec)
    # the look county offices expect: a title, a bold filled header frozen with it, percentages as numbers
    ws = book["各窗口"]
    assert "2026年11月" in ws["A1"].value and ws.freeze_panes == "A3"
    assert ws["A2"].font.bold and ws["A2"].fill.fgColor.rgb.endswith("1F4E79")
    rate_col = [c.value for c in ws[2]].index("过号率")
    assert ws.cell(row=3, column=rate_col + 1).number_format == "0.0%"
    bad = _table(book["差评及整改"])
    assert len(bad) == 1 and bad[0]["评价"] == "不满意" and bad[0]["窗口"] == 4
    audit = services.db.conn.execute("SELECT actor, action, target FROM audit WHERE action = 'export'").fetchall()
    assert [tuple(a) for a in audit] == [("9001", "export", f"月度通报-{MONTH}.xlsx")]


def test_other_workbooks_open_with_their_sheets_and_mask_personal_data(api: Any, services: Services,
                                                                       clock: FixedClock) -> None:
    mgr = _token(api, "9001", "hall-8888")
    expected = {"daily": ["总体情况", "各窗口", "工作人员", "业务类别", "分时段取号"],
                "clerks": ["人员绩效"], "ratings": ["评价概况", "评价明细", "整改明细", "差评及整改"],
                "cases": ["办件概况", "办件明细", "临期及超期在办", "超期办结"]}
    books = {}
    for kind, sheets in expected.items():
        q = f"date={clock.today():%Y-%m-%d}" if kind == "daily" else f"month={MONTH}"
        r = api.get(f"/api/manage/xlsx/{kind}?{q}", headers=mgr)
        assert r.status_code == 200, (kind, r.get_json())
        books[kind] = load_workbook(io.BytesIO(r.data))
        assert books[kind].sheetnames == sheets
        assert all(ws.freeze_panes == "A3" for ws in books[kind].worksheets)
    day = {r["指标"]: r["数值"] for r in _table(books["daily"]["总体情况"])}
    assert (day["取号数"], day["办结数"]) == (2, 1)                       # the second day only
    perf = _table(books["clerks"]["人员绩效"])
    assert [(r["工号"], r["办结数"]) for r in perf[:2]] == [("1003", 2), ("1004", 1)]
    assert next(r for r in perf if r["工号"] == "1004")["差评数"] == 1
    ratings = _table(books["ratings"]["评价明细"])
    assert len(ratings) == 1 and PHONE not in str(ratings[0]) and "138****5678" in ratings[0]["意见"]
    assert len(_table(books["ratings"]["整改明细"])) == 1
    cases = _table(books["cases"]["办件明细"])
    assert len(cases) == 1 and ID not in str(cases) and PHONE not in str(cases) and "张桂英" not in str(cases)
    (open_case,) = _table(books["cases"]["临期及超期在办"])
    assert open_case["事项"] == "临时救助申请" and open_case["窗口"] == 3 and open_case["期限情况"] == "临期"
    assert open_case["回执号"] == cases[0]["回执号"]
    levels = {r["满意度"]: r["条数"] for r in _table(books["ratings"]["评价概况"])}
    assert levels["不满意"] == 1 and sum(levels.values()) == 1


def test_downloads_are_manager_only_and_check_their_parameters(api: Any) -> None:
    assert api.get("/api/manage/xlsx/monthly").status_code == 401
    clerk = _token(api, "1001", "123456", 1)
    assert api.get("/api/manage/xlsx/monthly", headers=clerk).status_code == 403
    mgr = _token(api, "9001", "hall-8888")
    assert api.get("/api/manage/xlsx/yearly", headers=mgr).status_code == 404
    r = api.get("/api/manage/xlsx/monthly?month=2026-13", headers=mgr)
    assert r.status_code == 400 and "YYYY-MM" in r.get_json()["error"]["message"]
    assert api.get("/api/manage/xlsx/daily?date=yesterday", headers=mgr).status_code == 400


def test_the_months_workbook_is_written_to_the_backup_folder_once_the_month_ends(
        api: Any, services: Services, clock: FixedClock, tmp_path: Path) -> None:
    writer = services.monthly_report
    assert writer is not None
    october = tmp_path / "backups" / "月度通报-2026-10.xlsx"
    assert writer.tick(clock.now()) == october and october.exists()      # a fresh hall: last month's, at once
    clock.set(datetime(2026, 12, 1, 8, 5))                  # the month is over: the first check writes it
    path = writer.tick(clock.now())
    assert path == tmp_path / "backups" / f"月度通报-{MONTH}.xlsx" and path.exists()
    assert writer.tick(clock.now() + timedelta(hours=1)) is None               # written once
    mgr = _token(api, "9001", "hall-8888")
    report = api.get(f"/api/manage/report?month={MONTH}", headers=mgr).get_json()
    rec = api.get(f"/api/records/figures?period={MONTH}", headers=mgr).get_json()
    _check_month(load_workbook(path), report, rec)
    assert not list(path.parent.glob("*.tmp"))
    # it runs among the housekeeping chores, next to the daily backup
    assert "monthly-report" in [name for name, _ in services.chores()]


def test_an_unplugged_backup_disk_is_not_created_and_is_retried(tmp_path: Path, config: HallConfig,
                                                                clock: FixedClock) -> None:
    disk = tmp_path / "usb"
    cfg = config.model_copy(update={"backup": config.backup.model_copy(update={"folder": str(disk)})})
    svc = build_services(cfg, tmp_path / "data", clock=clock, with_devices=False)
    try:
        writer = svc.monthly_report
        assert writer is not None
        assert writer.tick(clock.now()) is None and not disk.exists() and "不存在" in writer.last_error
        disk.mkdir()
        assert writer.tick(clock.now()) == disk / "月度通报-2026-10.xlsx"
    finally:
        svc.stop()


# The chore's workbook is built in a child process: run the chore in a fresh interpreter, as the service would.
_CHORE_IN_A_SERVICE = """
import json, sys
from datetime import datetime
from pathlib import Path
from hall.config.loader import demo_config_path, load_config
from hall.queue.clock import FixedClock
from hall.services import build_services

cfg = load_config(demo_config_path())
cfg = cfg.model_copy(update={"county": cfg.county.model_copy(update={"endpoint": ""})})
svc = build_services(cfg, Path(sys.argv[1]), clock=FixedClock(datetime(2026, 12, 1, 8, 5)), with_devices=False)
try:
    chores = dict(svc.chores())
    written = chores["monthly-report"](svc.clock.now())
finally:
    svc.stop()
print(json.dumps({"written": str(written), "loaded": sorted(m for m in ("openpyxl", "numpy") if m in sys.modules)}))
"""


def test_the_service_process_does_not_load_openpyxl_for_the_months_workbook(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _CHORE_IN_A_SERVICE, str(tmp_path)], capture_output=True,
                         text=True, check=True, timeout=300).stdout
    result = json.loads(out.strip().splitlines()[-1])
    path = tmp_path / "backups" / f"月度通报-{MONTH}.xlsx"
    assert result == {"written": str(path), "loaded": []}
    assert load_workbook(path).sheetnames[0] == "总体情况"


def test_a_failing_workbook_child_is_logged_and_retried(services: Services, clock: FixedClock, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    writer = services.monthly_report
    assert writer is not None
    real_db, broken = writer.db_path, tmp_path / "not-a-database.db"
    broken.write_bytes(b"this is not SQLite" * 100)
    writer.db_path = str(broken)
    october = tmp_path / "backups" / "月度通报-2026-10.xlsx"
    with caplog.at_level("WARNING"):
        assert writer.tick(clock.now()) is None
    assert "2026-10 月度通报写出失败" in writer.last_error and "not a database" in writer.last_error
    assert writer.last_error in caplog.text
    assert not october.exists() and not list(october.parent.glob("*.tmp"))
    writer.db_path = real_db                                   # the next check writes it
    assert writer.tick(clock.now()) == october and writer.last_error == ""
