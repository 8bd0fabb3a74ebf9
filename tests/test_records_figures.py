"""Manager figures (评价率, 满意率, 差评 per window and clerk), the monthly report and masked CSV exports."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hall.records.models import AppointmentIn, CaseIn, ComplaintIn, RatingIn
from hall.records.util import Actor
from hall.services import Services

from tests import records_support

CITIZEN = Actor("phone", "citizen")
ITEM = records_support.DEMO_ITEM
ID = "11010519491231002X"   # valid check digit (GB 11643)
PHONE = "13812345678"


services = records_support.services
rec = records_support.records_fixture({ITEM.impl_code: ITEM})


def serve_and_finish(services: Services, window: int, clerk: str, category: str) -> int:
    e = services.engine
    e.login(window, clerk)
    t = e.issue(category)
    e.call_next(window, clerk)
    e.start(window, clerk)
    e.finish(window, clerk)
    return int(t.ticket.id)


def test_rating_rate_and_satisfaction_per_window_and_clerk(services: Services, rec: Any) -> None:
    # Window 1 (李明): three served, two rated (满意, 不满意). Window 3 (刘洋): one served, rated 非常满意 + added.
    t1 = [serve_and_finish(services, 1, "1001", "A") for _ in range(3)]
    t3 = serve_and_finish(services, 3, "1003", "C")
    rec.ratings.rate_token(rec.ratings.ticket_token(t1[0]), RatingIn(level="满意"), CITIZEN)
    rec.ratings.rate_token(rec.ratings.ticket_token(t1[1]), RatingIn(level="不满意", reasons=["R04"]), CITIZEN)
    tok3 = rec.ratings.ticket_token(t3)
    rec.ratings.rate_token(tok3, RatingIn(level="非常满意"), CITIZEN)
    rec.ratings.rate_token(tok3, RatingIn(level="满意"), CITIZEN, assess_number=2)
    f = rec.records_figures("2026-11-25")
    assert f["total"]["served"] == 4 and f["total"]["rated"] == 3 and f["total"]["rating_rate"] == 0.75
    assert f["total"]["ratings"] == 4 and f["total"]["added"] == 1 and f["total"]["bad"] == 1
    assert f["total"]["satisfaction_rate"] == 0.75
    w = {x["window"]: x for x in f["windows"]}
    assert (w[1]["served"], w[1]["rated"], w[1]["rating_rate"], w[1]["bad"]) == (3, 2, round(2 / 3, 4), 1)
    assert w[3]["satisfaction_rate"] == 1.0 and w[2]["rating_rate"] is None
    clerks = {x["clerk"]: x for x in f["clerks"]}
    assert clerks["1001"]["name"] == "李明" and clerks["1001"]["satisfaction_rate"] == 0.5
    assert f["by_channel"] == {"二维码": 4}
    month = rec.records_figures("2026-11")
    assert month["period"] == "2026-11" and month["total"]["ratings"] == 4
    assert rec.records_figures("2026-10")["total"]["ratings"] == 0


def test_monthly_report_lists_bad_ratings_and_rectification(services: Services, rec: Any) -> None:
    t = serve_and_finish(services, 1, "1001", "A")
    rec.ratings.rate_token(rec.ratings.ticket_token(t), RatingIn(level="非常不满意", reasons=["R06"]), CITIZEN)
    rec.complaints.submit(ComplaintIn(kind="投诉", reasons=["C01"]), CITIZEN)
    report = rec.figures.monthly_report("2026-11")
    assert report["title"] == "示范镇便民服务中心2026年11月政务服务“好差评”情况通报"
    (b,) = report["bad_ratings"]
    assert b["reasons"] == ["工作人员服务态度差"] and b["rectification_state"] == "待整改"
    assert b["clerk_name"] == "李明"
    assert report["complaint_topics"] == {"服务态度": 1}


def test_csv_exports_are_masked(services: Services, rec: Any) -> None:
    services.engine.login(1, "1001")
    case = CaseIn.model_validate({"item_code": ITEM.impl_code, "applicant": {
        "name": "张桂英", "cert_no": ID, "phone": PHONE},
        "agent": {"name": "李德明", "cert_no": ID, "phone": "13900001111"}})
    rec.cases.register(case, Actor("1001", "clerk"), 1)
    rec.complaints.submit(ComplaintIn(kind="建议", text=f"请回电 {PHONE}，身份证 {ID}", contact_name="钱多多",
                                      contact_phone=PHONE), CITIZEN)
    rec.appointments.book(AppointmentIn.model_validate({
        "category": "B", "slot_start": "2026-11-25T10:00:00+08:00", "slot_end": "2026-11-25T10:30:00+08:00",
        "name": "赵小红", "phone": PHONE}), Actor("9001", "manager"))
    t = serve_and_finish(services, 1, "1001", "A")
    rec.ratings.rate_token(rec.ratings.ticket_token(t), RatingIn(level="不满意", reasons=["R04"],
                                                                 comment=f"联系我 {PHONE}"), CITIZEN)
    for kind in ("cases", "complaints", "appointments", "ratings", "rectifications"):
        text = rec.figures.export_csv(kind, "2026-11")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert len(rows) >= 2, kind
        for secret in (ID, PHONE, "13900001111", "张桂英", "李德明", "钱多多", "赵小红"):
            assert secret not in text, (kind, secret)
    cases = list(csv.reader(io.StringIO(rec.figures.export_csv("cases", "2026-11").lstrip("\ufeff"))))
    assert cases[1][6:10] == ["张**", "111", "110***********002X", "138****5678"]
    with pytest.raises(Exception, match="导出类型"):
        rec.figures.export_csv("tickets", "2026-11")


def test_complaint_free_text_is_redacted_at_once(services: Services, rec: Any) -> None:
    r = rec.complaints.submit(ComplaintIn(kind="投诉", reasons=["C02"], text=f"我的电话 {PHONE}"), CITIZEN)
    assert r["ref_no"].startswith("YJ20261125001")
    stored = services.db.conn.execute("SELECT text FROM complaints").fetchone()[0]
    assert PHONE not in stored and "138****5678" in stored
    with pytest.raises(ValueError, match="至少选择一项原因或填写内容"):
        ComplaintIn(kind="建议")
    (row,) = services.db.conn.execute("SELECT * FROM outbox WHERE kind = 'complaint'").fetchall()
    assert row["order_key"] == f"complaint:{r['id']}"
