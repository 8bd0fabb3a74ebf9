"""Ratings (好差评): prompts and expiry, one rating per service, 差评 reasons, added rating, clerk cannot rate,
rectification with working-day due dates, QR tokens, and the evaluator sink."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.records.models import CaseIn, RatingIn
from hall.records.util import Actor, RecordError
from hall.services import Services, build_services

from tests import records_support
from tests.waiting import wait_until

CLERK = Actor("1001", "clerk")
MANAGER = Actor("9001", "manager")
CITIZEN = Actor("phone", "citizen")
ITEM = records_support.DEMO_ITEM


services = records_support.services
rec = records_support.records_fixture({ITEM.impl_code: ITEM})


def served_ticket(services: Services, *, finish: bool = False, window: int = 1, clerk: str = "1001") -> int:
    e = services.engine
    e.login(window, clerk)
    t = e.issue("A")
    e.call_next(window, clerk)
    e.start(window, clerk)
    if finish:
        e.finish(window, clerk)
    return int(t.ticket.id)


def register_case(rec: Any, window: int = 1) -> dict[str, Any]:
    req = CaseIn.model_validate({"item_code": ITEM.impl_code, "applicant": {
        "name": "王大山", "cert_no": _id(), "phone": "13812345678"}})
    return rec.cases.register(req, CLERK, window)


def _id() -> str:
    body = "43022419560312002"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def good(level: str = "满意") -> RatingIn:
    return RatingIn(level=level)


def bad(*reasons: str, level: str = "不满意") -> RatingIn:
    return RatingIn(level=level, reasons=list(reasons))


# ---------------------------------------------------------------------- prompts
def test_prompt_needs_a_service_at_the_window(services: Services, rec: Any) -> None:
    with pytest.raises(RecordError, match="没有可评价的服务") as exc:
        rec.ratings.open_prompt(1, CLERK)
    assert exc.value.status == 409


def test_prompt_publishes_and_expires(services: Services, rec: Any, events: list[Any],
                                      clock: FixedClock) -> None:
    tid = served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    assert p["ticket_id"] == tid and p["clerk_name"] == "李明" and p["case_id"] is None
    assert p["expires_at"] == "2026-11-25T09:02:00.000+08:00"          # records.prompt_seconds = 120
    kinds = [k for k, _ in events]
    assert "rating.prompt" in kinds
    prompt_event = next(d for k, d in events if k == "rating.prompt")
    assert {"window", "prompt_id", "ticket_id", "expires_at", "clerk_name"} <= set(prompt_event)
    assert rec.ratings.current_prompt(1)["prompt_id"] == p["prompt_id"]
    clock.advance(seconds=121)
    assert rec.ratings.current_prompt(1) is None                    # no late rating even before the sweep
    with pytest.raises(RecordError, match="没有待评价"):
        rec.ratings.rate_prompt(1, good(), CITIZEN)
    assert rec.ratings.expire_prompts() == 1
    closed = [d for k, d in events if k == "rating.closed"]
    assert closed == [{"window": 1, "prompt_id": p["prompt_id"], "reason": "expired"}]
    assert rec.ratings.prompt_state(1)["prompt"]["state"] == "expired"


def test_just_finished_ticket_can_be_prompted_for_a_while(services: Services, rec: Any,
                                                          clock: FixedClock) -> None:
    served_ticket(services, finish=True)
    clock.advance(minutes=29)
    assert rec.ratings.open_prompt(1, CLERK)["number"] == "A001"
    clock.advance(minutes=5)
    with pytest.raises(RecordError):
        rec.ratings.open_prompt(1, CLERK)


def test_new_prompt_replaces_the_open_one(services: Services, rec: Any, events: list[Any]) -> None:
    served_ticket(services)
    p1 = rec.ratings.open_prompt(1, CLERK)
    p2 = rec.ratings.open_prompt(1, CLERK)
    assert ("rating.closed", {"window": 1, "prompt_id": p1["prompt_id"], "reason": "replaced"}) in events
    assert rec.ratings.current_prompt(1)["prompt_id"] == p2["prompt_id"]
    assert rec.ratings.cancel_prompt(1, CLERK) is True
    assert rec.ratings.current_prompt(1) is None


def test_prompt_is_tied_to_the_case_when_there_is_one(services: Services, rec: Any) -> None:
    served_ticket(services)
    case = register_case(rec)
    p = rec.ratings.open_prompt(1, CLERK)
    assert p["case_id"] == case["id"] and p["item_name"] == "最低生活保障申请"
    r = rec.ratings.rate_prompt(1, good("非常满意"), CITIZEN, prompt_id=p["prompt_id"])
    assert r["service_key"] == f"case:{case['id']}"
    row = services.db.conn.execute("SELECT * FROM outbox WHERE kind = 'rating'").fetchone()
    assert row["order_key"] == f"case:{case['id']}"                 # follows the case's own messages
    assert json.loads(row["payload"])["level"] == "非常满意"          # a name, never a code


# ---------------------------------------------------------------------- the device sink
def test_sink_records_only_during_the_prompt(services: Services, rec: Any, clock: FixedClock) -> None:
    assert rec.rating_sink(1, "满意", "窗口评价器", 1) is False      # no prompt at all
    served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    assert rec.rating_sink(1, "满意", "窗口评价器", p["prompt_id"] + 1) is False   # another prompt's id
    assert rec.rating_sink(2, "满意", "窗口评价器", p["prompt_id"]) is False       # another window
    assert rec.rating_sink(1, "满意", "窗口评价器", p["prompt_id"]) is True
    assert rec.rating_sink(1, "非常满意", "窗口评价器", p["prompt_id"]) is False   # second press
    assert rec.rating_sink(1, "很好", "窗口评价器", p["prompt_id"]) is False       # not a level
    n = services.db.conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
    assert n == 1


def test_keypad_bad_rating_carries_the_device_reason(services: Services, rec: Any) -> None:
    served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    assert rec.rating_sink(1, "非常不满意", "窗口评价器", p["prompt_id"]) is True
    (r,) = rec.ratings.search()
    assert r["bad"] and [x["code"] for x in r["reasons"]] == ["R00"]
    assert len(rec.ratings.rectifications()) == 1
    # Citizens cannot pick the keypad's entry themselves.
    assert "R00" not in [x["code"] for x in rec.reasons.public()["rating_reasons"]]


def test_sink_after_expiry_records_nothing(services: Services, rec: Any, clock: FixedClock) -> None:
    served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    clock.advance(seconds=125)
    assert rec.rating_sink(1, "满意", "窗口评价器", p["prompt_id"]) is False


# ---------------------------------------------------------------------- rules
def test_one_rating_per_service(services: Services, rec: Any) -> None:
    tid = served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    rec.ratings.rate_prompt(1, good(), CITIZEN, prompt_id=p["prompt_id"])
    token = rec.ratings.ticket_token(tid)
    with pytest.raises(RecordError, match="一次一评") as exc:
        rec.ratings.rate_token(token, good(), CITIZEN)
    assert exc.value.status == 409
    with pytest.raises(RecordError, match="已评价"):
        rec.ratings.open_prompt(1, CLERK)


def test_bad_rating_needs_a_reason_from_the_list(services: Services, rec: Any) -> None:
    tid = served_ticket(services)
    token = rec.ratings.ticket_token(tid)
    with pytest.raises(RecordError, match="至少选择一项原因"):
        rec.ratings.rate_token(token, bad(), CITIZEN, channel="二维码")
    with pytest.raises(RecordError, match="无效"):
        rec.ratings.rate_token(token, bad("NOPE"), CITIZEN)
    with pytest.raises(RecordError, match="只有"):
        rec.ratings.rate_token(token, RatingIn(level="满意", reasons=["R04"]), CITIZEN)
    r = rec.ratings.rate_token(token, bad("R04", "R06", level="非常不满意"), CITIZEN, channel="二维码")
    assert r["bad"] and r["rectification_id"] is not None
    (row,) = rec.ratings.search()
    assert [x["text"] for x in row["reasons"]] == ["等候时间过长", "工作人员服务态度差"]
    assert row["channel"] == "二维码"


def test_added_rating_once(services: Services, rec: Any) -> None:
    tid = served_ticket(services)
    token = rec.ratings.ticket_token(tid)
    with pytest.raises(RecordError, match="尚未评价"):
        rec.ratings.rate_token(token, good(), CITIZEN, assess_number=2)
    rec.ratings.rate_token(token, bad("R05"), CITIZEN)
    r2 = rec.ratings.rate_token(token, good("基本满意"), CITIZEN, assess_number=2)
    assert r2["assess_number"] == 2
    with pytest.raises(RecordError, match="已追加"):
        rec.ratings.rate_token(token, good(), CITIZEN, assess_number=2)
    view = rec.ratings.token_view(token)
    assert view["services"] == [{"case_id": None, "label": "窗口服务", "rated": True, "can_add": False}]


def test_clerk_cannot_rate(services: Services, rec: Any) -> None:
    tid = served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    for actor in (CLERK, MANAGER, Actor("9101", "technician")):
        with pytest.raises(RecordError, match="工作人员不能代替群众评价") as exc:
            rec.ratings.rate_prompt(1, good(), actor, prompt_id=p["prompt_id"])
        assert exc.value.status == 403
        with pytest.raises(RecordError, match="工作人员不能代替群众评价"):
            rec.ratings.rate_token(rec.ratings.ticket_token(tid), good(), actor)
    assert rec.ratings.search() == []


def test_clerk_sees_a_rating_only_once_final(services: Services, rec: Any, events: list[Any],
                                             clock: FixedClock) -> None:
    served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    rec.ratings.rate_prompt(1, bad("R06"), CITIZEN, prompt_id=p["prompt_id"])
    assert rec.ratings.for_clerk("1001") == []
    assert rec.ratings.prompt_state(1)["prompt"]["state"] == "rated"
    # Nothing on the live stream tells the level.
    for kind, data in events:
        if kind.startswith("rating"):
            assert "level" not in data and "不满意" not in json.dumps(data, ensure_ascii=False)
    clock.advance(minutes=31)
    (mine,) = rec.ratings.for_clerk("1001")
    assert mine["level"] == "不满意"


def test_token_is_unguessable_and_checked(services: Services, rec: Any) -> None:
    tid = served_ticket(services)
    token = rec.ratings.ticket_token(tid)
    assert rec.ratings.rating_url(tid) == f"/r/{token}" and token.startswith(f"{tid}-")
    assert len(token.split("-", 1)[1]) == 16
    from hall.records.ratings import rating_url
    assert rating_url(tid) == f"/r/{token}"
    for forged in (f"{tid}-AAAAAAAAAAAAAAAA", f"{tid + 1}-{token.split('-', 1)[1]}", "x", ""):
        with pytest.raises(RecordError) as exc:
            rec.ratings.token_view(forged)
        assert exc.value.status == 404


def test_unserved_ticket_cannot_be_rated(services: Services, rec: Any) -> None:
    t = services.engine.issue("A")
    with pytest.raises(RecordError, match="尚未办理"):
        rec.ratings.rate_token(rec.ratings.ticket_token(t.ticket.id), good(), CITIZEN)


def test_transferred_ticket_is_rated_where_it_was_served(services: Services, rec: Any) -> None:
    e = services.engine
    e.login(1, "1001")
    e.login(3, "1003")
    t = e.issue("A")
    e.call_next(1, "1001")
    e.start(1, "1001")
    e.transfer(1, "1001", "C")
    e.call_next(3, "1003")
    e.start(3, "1003")
    r = rec.ratings.rate_token(rec.ratings.ticket_token(t.ticket.id), good(), CITIZEN)
    (row,) = rec.ratings.search()
    assert r["rating_id"] == row["id"] and row["window"] == 3 and row["clerk"] == "1003"


# ---------------------------------------------------------------------- rectification
def test_rectification_due_in_working_days_and_followed_to_closure(services: Services, rec: Any,
                                                                    clock: FixedClock) -> None:
    tid = served_ticket(services)
    r = rec.ratings.rate_token(rec.ratings.ticket_token(tid), bad("R06"), CITIZEN)
    rid = r["rectification_id"]
    x = rec.ratings.rectification(rid)
    assert x["state"] == "待整改"
    assert x["deadline"]["due_at"] == "2026-12-16T17:30:00.000+08:00"     # 15 working days
    with pytest.raises(RecordError, match="负责人"):
        rec.ratings.reply(rid, "已批评教育", CLERK)
    with pytest.raises(RecordError, match="不能执行"):
        rec.ratings.close(rid, MANAGER)
    rec.ratings.reply(rid, "已约谈当事工作人员并组织服务规范培训", MANAGER)
    assert rec.ratings.verify(rid, False, "群众回访仍不满意", MANAGER)["state"] == "待整改"
    rec.ratings.reply(rid, "再次上门说明并道歉", MANAGER)
    assert rec.ratings.verify(rid, True, "回访满意", MANAGER)["state"] == "已核实"
    done = rec.ratings.close(rid, MANAGER)
    assert done["state"] == "已关闭" and done["deadline"]["overdue"] is False
    assert [e["action"] for e in done["events"]] == ["open", "reply", "verify_fail", "reply", "verify_pass",
                                                     "close"]
    rows = services.db.conn.execute("SELECT * FROM outbox WHERE kind = 'rectification' ORDER BY id").fetchall()
    assert [json.loads(r["payload"])["state"] for r in rows] == ["待整改", "已回复", "待整改", "已回复", "已核实",
                                                                 "已关闭"]
    assert {r["order_key"] for r in rows} == {f"ticket:{tid}"}
    assert len({r["message_id"] for r in rows}) == 6


def test_rectification_overdue_flag_and_configurable_days(tmp_path: Path, config: HallConfig,
                                                          clock: FixedClock) -> None:
    cfg = config.model_copy(update={"records": config.records.model_copy(update={"rectification_days": 5})})
    svc = build_services(cfg, tmp_path, clock=clock, with_devices=False)
    try:
        rec = svc.records
        assert rec is not None
        tid = served_ticket(svc)
        r = rec.ratings.rate_token(rec.ratings.ticket_token(tid), bad("R01"), CITIZEN)
        x = rec.ratings.rectification(r["rectification_id"])
        assert x["deadline"]["due_at"].startswith("2026-12-02")          # Wed + 5 working days
        clock.set(datetime(2026, 12, 3, 9, 0))
        assert rec.ratings.rectification(r["rectification_id"])["deadline"]["overdue"] is True
        assert rec.records_figures("2026-11")["rectifications"]["open_overdue_now"] == 1
    finally:
        svc.stop()


def test_rectification_due_across_new_year_is_marked_estimated(services: Services, rec: Any,
                                                               clock: FixedClock) -> None:
    clock.set(datetime(2026, 12, 21, 9, 0))
    tid = served_ticket(services)
    r = rec.ratings.rate_token(rec.ratings.ticket_token(tid), bad("R02"), CITIZEN)
    d = rec.ratings.rectification(r["rectification_id"])["deadline"]
    assert d["estimated"] is True and "2027年" in d["note"]


def test_background_thread_closes_prompts_on_time(services: Services, rec: Any, events: list[Any],
                                                  clock: FixedClock) -> None:
    served_ticket(services)
    p = rec.ratings.open_prompt(1, CLERK)
    clock.advance(seconds=200)
    rec.start()
    try:
        wait_until(lambda: ("rating.closed", {"window": 1, "prompt_id": p["prompt_id"], "reason": "expired"}) in events)
    finally:
        rec.stop()
    assert ("rating.closed", {"window": 1, "prompt_id": p["prompt_id"], "reason": "expired"}) in events


def test_a_visit_with_a_rated_case_is_not_rated_again_as_a_bare_ticket(services: Services, rec: Any) -> None:
    served_ticket(services)
    register_case(rec)
    register_case(rec)
    for _ in range(2):
        p = rec.ratings.open_prompt(1, CLERK)
        rec.ratings.rate_prompt(1, good(), CITIZEN, prompt_id=p["prompt_id"])
    with pytest.raises(RecordError, match="已评价"):
        rec.ratings.open_prompt(1, CLERK)
    keys = sorted(r["service_key"] for r in rec.ratings.search())
    assert keys == ["case:1", "case:2"]
