"""Cases (办件): registration, status transitions, promised dates, 限时办结 flags, masking, outbox atomicity."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

import pytest
from hall.queue.clock import FixedClock
from hall.records.base import ItemInfo
from hall.records.models import TRANSITIONS, CaseIn, Material, id_number_valid
from hall.records.util import Actor, RecordError
from hall.services import Services
from pydantic import ValidationError

from tests import records_support

CLERK = Actor("1001", "clerk", "10.0.0.5")
ITEMS = {
    "430224100DB01": ItemInfo("430224100DB01", "最低生活保障申请", "B", 15, "工作日", "承诺件"),
    "430224100YB01": ItemInfo("430224100YB01", "城乡居民医保参保登记", "C", 0, "工作日", "即办件"),
    "430224100CJ01": ItemInfo("430224100CJ01", "残疾人证申领", "F", 20, "天", "承诺件"),
}


def make_id(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


ID1 = make_id("43022419560312002")
ID_AGENT = make_id("43022419800101123")


services = records_support.services
rec = records_support.records_fixture(ITEMS)


def serve(services: Services, window: int = 2, clerk: str = "1002", category: str = "B") -> int:
    e = services.engine
    e.login(window, clerk)
    t = e.issue(category)
    e.call_next(window, clerk)
    e.start(window, clerk)
    return int(t.ticket.id)


def case_in(item: str = "430224100DB01", **extra: Any) -> CaseIn:
    data: dict[str, Any] = {"item_code": item,
                            "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID1,
                                          "phone": "13812345678"}}
    data.update(extra)
    return CaseIn.model_validate(data)


def outbox(services: Services) -> list[sqlite3.Row]:
    return services.db.conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()


def test_register_computes_promised_date_and_writes_audit_and_outbox(services: Services, rec: Any) -> None:
    ticket = serve(services)
    v = rec.cases.register(case_in(), Actor("1002", "clerk"), 2)
    assert v["status"] == "受理" and v["official_no"] is None            # never invented
    assert v["ticket_id"] == ticket and v["window"] == 2 and v["category"] == "B"
    # Wed 25 Nov 2026 + 15 working days = Wed 16 Dec 2026, at close of business.
    assert v["promised_finish_at"] == "2026-12-16T17:30:00.000+08:00"
    assert v["deadline"] == {"due_at": v["promised_finish_at"], "estimated": False, "note": "", "days_left": 15,
                             "near": False, "overdue": False}
    assert v["receipt_no"].startswith("20261125001") and len(v["receipt_no"]) == 14
    assert v["qr"] == "hall://case/" + v["receipt_no"]
    assert v["applicant"] == {"type": "自然人", "name": "张**", "cert_type": "111",
                              "cert_no": ID1[:3] + "*" * 11 + ID1[-4:], "phone": "138****5678"}
    rows = outbox(services)
    assert [(r["kind"], r["order_key"]) for r in rows] == [("case", f"case:{v['id']}")]
    payload = json.loads(rows[0]["payload"])
    assert payload["applicant"]["cert_no"] == ID1 and payload["status"] == "受理"   # the relay gets it in full
    assert payload["official_no"] is None
    audit = services.db.conn.execute("SELECT * FROM audit WHERE action = 'case.register'").fetchone()
    assert audit["actor"] == "1002" and audit["target"] == f"case:{v['id']}"
    assert ID1 not in (audit["detail"] or "")


def test_id_number_check_digit_is_verified() -> None:
    assert id_number_valid(ID1)
    bad = ID1[:-1] + ("0" if ID1[-1] != "0" else "1")
    with pytest.raises(ValidationError, match="证件号码校验位不正确"):
        case_in(applicant={"name": "张三", "cert_no": bad})


def test_unknown_item_needs_name_and_time_limit(services: Services, rec: Any) -> None:
    with pytest.raises(RecordError, match="事项目录中没有"):
        rec.cases.register(case_in("999999999999"), CLERK, 1)
    with pytest.raises(RecordError, match="承诺时限"):
        rec.cases.register(case_in("999999999999", item_name="临时救助申请"), CLERK, 1)
    v = rec.cases.register(case_in("999999999999", item_name="临时救助申请", limit_value=10,
                                   limit_unit="工作日", category="B"), CLERK, 1)
    assert v["item_name"] == "临时救助申请" and v["promised_finish_at"].startswith("2026-12-09")


def test_immediate_item_is_promised_the_same_day(services: Services, rec: Any) -> None:
    v = rec.cases.register(case_in("430224100YB01"), CLERK, 1)
    assert v["case_kind"] == "即办件" and v["promised_finish_at"] == "2026-11-25T17:30:00.000+08:00"


def test_transition_table_and_history(services: Services, rec: Any) -> None:
    v = rec.cases.register(case_in(), CLERK, 1)
    cid = v["id"]
    for status, note in (("办理中", None), ("补正", "请补充户口簿复印件"), ("办理中", None), ("办结", None)):
        v = rec.cases.transition(cid, status, CLERK, 1, note)
        assert v["status"] == status
    assert v["finished_at"] is not None and v["next"] == []
    assert [(h["from"], h["to"]) for h in v["history"]] == [
        (None, "受理"), ("受理", "办理中"), ("办理中", "补正"), ("补正", "办理中"), ("办理中", "办结")]
    assert all(h["actor"] == "1001" and h["actor_name"] == "李明" for h in v["history"])
    with pytest.raises(RecordError, match="不能改为") as exc:
        rec.cases.transition(cid, "办理中", CLERK, 1)
    assert exc.value.status == 409
    # The outbox carries every change for this case in order, each with its own stable id.
    rows = [r for r in outbox(services) if r["order_key"] == f"case:{cid}"]
    assert [r["kind"] for r in rows] == ["case"] + ["case_status"] * 4
    assert len({r["message_id"] for r in rows}) == 5
    assert [json.loads(r["payload"])["status"] for r in rows] == ["受理", "办理中", "补正", "办理中", "办结"]


def test_every_pair_outside_the_table_is_refused(services: Services, rec: Any) -> None:
    # From 受理 the table allows all four others; from 补正 only 办理中 and 退回.
    v = rec.cases.register(case_in(), CLERK, 1)
    rec.cases.transition(v["id"], "补正", CLERK, 1, "缺材料")
    for bad in ("受理", "补正", "办结"):
        with pytest.raises(RecordError):
            rec.cases.transition(v["id"], bad, CLERK, 1, "x")
    assert TRANSITIONS["办结"] == frozenset() and TRANSITIONS["退回"] == frozenset()


def test_correction_and_return_need_a_note(services: Services, rec: Any) -> None:
    v = rec.cases.register(case_in(), CLERK, 1)
    with pytest.raises(RecordError, match="一次性告知"):
        rec.cases.transition(v["id"], "补正", CLERK, 1, "  ")
    with pytest.raises(RecordError, match="理由"):
        rec.cases.transition(v["id"], "退回", CLERK, 1)


def test_materials_supplied_restart_the_time_limit(services: Services, rec: Any, clock: FixedClock) -> None:
    v = rec.cases.register(case_in(), CLERK, 1)
    rec.cases.transition(v["id"], "补正", CLERK, 1, "缺户口簿")
    assert rec.cases.get(v["id"])["deadline"]["overdue"] is False     # waiting for the citizen: no flag
    clock.set(datetime(2026, 11, 30, 10, 0))                           # Monday
    v = rec.cases.transition(v["id"], "办理中", CLERK, 1)
    assert v["promised_finish_at"].startswith("2026-12-21")            # 15 working days from 30 Nov


def test_promised_date_across_new_year_2027_falls_back_and_says_so(services: Services, rec: Any,
                                                                   clock: FixedClock) -> None:
    clock.set(datetime(2026, 12, 16, 9, 30))
    v = rec.cases.register(case_in(), CLERK, 1)
    assert v["promised_finish_at"].startswith("2027-01-06")
    assert v["deadline"]["estimated"] is True and "2027年" in v["deadline"]["note"]
    assert "周一至周五" in rec.cases.lookup(v["receipt_no"])["deadline_note"]
    # Once the hall installs the 2027 list, new cases are exact (1 Jan 2027 is a holiday).
    rec.calendar.set_year(2027, {"holidays": ["2027-01-01", "2027-01-02", "2027-01-03"], "workdays": []})
    v2 = rec.cases.register(case_in(), CLERK, 1)
    assert v2["promised_finish_at"].startswith("2027-01-07") and v2["deadline"]["estimated"] is False


def test_near_and_overdue_flags(services: Services, rec: Any, clock: FixedClock) -> None:
    v = rec.cases.register(case_in(), CLERK, 1)
    assert rec.cases.deadline_alerts()["cases"] == []
    clock.set(datetime(2026, 12, 14, 9, 0))          # 2 working days left: near (records.near_due_days = 2)
    alerts = rec.cases.deadline_alerts()
    assert alerts["near"] == 1 and alerts["overdue"] == 0 and alerts["cases"][0]["id"] == v["id"]
    assert rec.cases.deadline_alerts(clerk="1002")["cases"] == []       # another clerk's list is empty
    clock.set(datetime(2026, 12, 16, 17, 31))
    assert rec.cases.deadline_alerts()["overdue"] == 1
    rec.cases.transition(v["id"], "办结", CLERK, 1)
    assert rec.cases.deadline_alerts()["cases"] == []


def test_progress_lookup_is_masked(services: Services, rec: Any) -> None:
    agent = {"name": "李德明", "cert_no": ID_AGENT, "phone": "13900001111", "village": "东风村"}
    v = rec.cases.register(case_in(agent=agent), CLERK, 1)
    for text in (v["receipt_no"], v["qr"], v["receipt_no"].lower()):
        found = rec.cases.lookup(text)
        assert found["receipt_no"] == v["receipt_no"] and found["applicant_name"] == "张**"
        assert found["agent"] is True
        dumped = json.dumps(found, ensure_ascii=False)
        for secret in (ID1, ID_AGENT, "13812345678", "13900001111", "张桂英", "李德明", "1001"):
            assert secret not in dumped
    staff = json.dumps(rec.cases.get(v["id"]), ensure_ascii=False)
    for secret in (ID1, ID_AGENT, "13812345678", "13900001111", "张桂英", "李德明"):
        assert secret not in staff
    assert rec.cases.get(v["id"])["agent"]["village"] == "东风村"
    with pytest.raises(RecordError) as exc:
        rec.cases.lookup("20261125999XXX")
    assert exc.value.status == 404


def test_materials_must_be_files_in_the_data_folder(services: Services, rec: Any, tmp_path: Any) -> None:
    scans = services.data_dir / "scans"
    scans.mkdir()
    (scans / "p1.jpg").write_bytes(b"\xff\xd8\xff")
    v = rec.cases.register(case_in(materials=[{"name": "身份证复印件", "path": "scans/p1.jpg"}]), CLERK, 1)
    assert v["materials"][0]["name"] == "身份证复印件" and v["materials"][0]["file"] == "p1.jpg"
    outside = tmp_path.parent / "elsewhere.jpg"
    outside.write_bytes(b"x")
    with pytest.raises(RecordError, match="不在本机数据目录"):
        rec.cases.register(case_in(materials=[{"name": "x", "path": str(outside)}]), CLERK, 1)
    with pytest.raises(RecordError, match="不存在"):
        rec.cases.add_material(v["id"], Material(name="户口簿", path="scans/no.jpg"), CLERK)


def test_official_number_comes_only_from_the_county(services: Services, rec: Any) -> None:
    v = rec.cases.register(case_in(), CLERK, 1)
    rec.tick()
    assert rec.cases.get(v["id"])["official_no"] is None
    # The relay acknowledged the "case" message and stored the county's 办件编号 on it.
    services.db.conn.execute("UPDATE outbox SET state = 'acked', county_ref = '11430224MB1234567X2026112500001' "
                             "WHERE kind = 'case'")
    rec.tick()
    assert rec.cases.get(v["id"])["official_no"] == "11430224MB1234567X2026112500001"
    assert rec.cases.lookup(v["receipt_no"])["official_no"] == "11430224MB1234567X2026112500001"
    with pytest.raises(RecordError):
        rec.cases.assign_official_no(v["id"], "OTHER", Actor("county", "county"))


def test_outbox_row_commits_with_the_case_or_not_at_all(services: Services, rec: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import hall.records.base as base

    def broken_enqueue(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    def count() -> tuple[int, int, int]:
        c = services.db.conn
        return (c.execute("SELECT COUNT(*) FROM cases").fetchone()[0],
                c.execute("SELECT COUNT(*) FROM outbox").fetchone()[0],
                c.execute("SELECT COUNT(*) FROM audit WHERE action LIKE 'case.%'").fetchone()[0])

    # 1. The outbox write fails after the case row was inserted: neither stays.
    monkeypatch.setattr(base, "enqueue", broken_enqueue)
    with pytest.raises(OSError):
        rec.cases.register(case_in(), CLERK, 1)
    assert count() == (0, 0, 0)
    monkeypatch.undo()
    # 2. Both rows written, then a failure before commit: neither stays either.
    rec.ctx.items = ITEMS.get
    real_view = rec.cases._view

    def failing_view(*args: Any) -> Any:
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(rec.cases, "_view", failing_view)
    with pytest.raises(RuntimeError):
        rec.cases.register(case_in(), CLERK, 1)
    assert count() == (0, 0, 0)
    monkeypatch.setattr(rec.cases, "_view", real_view)
    rec.cases.register(case_in(), CLERK, 1)
    assert count() == (1, 1, 1)


def test_items_come_from_the_shipped_catalog(services: Services) -> None:
    """Without an injected look-up the records read the hall's service catalog (demo catalog here)."""
    rec = services.records
    assert rec is not None
    dibao = rec.ctx.items("11430224MB0DEMO00X05105000800001")
    if dibao is None:
        pytest.skip("demo catalog not shipped in this build")
    v = rec.cases.register(case_in("11430224MB0DEMO00X05105000800001"), CLERK, 1)
    assert v["item_name"] == "最低生活保障申请" and v["category"] == "B" and v["case_kind"] == "承诺件"
    assert v["time_limit"] == {"value": 25, "unit": "工作日"}
    quick = rec.cases.register(case_in("11430224MB0DEMO00X20107001700001"), CLERK, 1)
    assert quick["case_kind"] == "即办件" and quick["promised_finish_at"].startswith("2026-11-25")


def test_a_catalog_items_time_limit_cannot_be_changed_per_case(services: Any) -> None:
    """Issue 10: a requested limit was silently ignored when the catalog knew the item; now it is refused
    with the catalog's limit named, and a matching or absent one is accepted."""
    rec = services.records
    infos = (rec.ctx.items(i.impl_code) for i in services.catalog.current.items)
    item = next(i for i in infos if i is not None and i.case_kind == "承诺件" and i.limit_value)
    value, unit = item.limit_value, item.limit_unit
    applicant = {"name": "张桂英", "cert_type": "111", "cert_no": "11010519491231002X"}
    clerk = Actor("1001", "clerk", "")
    with pytest.raises(RecordError) as bad:
        rec.cases.register(CaseIn(item_code=item.impl_code, limit_value=value + 7, limit_unit=unit,
                                  applicant=applicant), clerk, 1)
    assert f"{value}{unit}" in bad.value.message and bad.value.status == 400
    with pytest.raises(RecordError) as bad_kind:
        rec.cases.register(CaseIn(item_code=item.impl_code, case_kind="即办件", applicant=applicant), clerk, 1)
    assert "承诺件" in bad_kind.value.message
    same = rec.cases.register(CaseIn(item_code=item.impl_code, limit_value=value, limit_unit=unit,
                                     applicant=applicant), clerk, 1)
    plain = rec.cases.register(CaseIn(item_code=item.impl_code, applicant=applicant), clerk, 1)
    assert same["promised_finish_at"] == plain["promised_finish_at"] is not None
