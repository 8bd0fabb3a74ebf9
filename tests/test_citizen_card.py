"""刷身份证取号 through the HTTP API: a card read is scoped to its paired kiosk, used once, never carries the number;
the ticket keeps only a keyed hash; the per-person daily limit; appointment check-in by card; what the
clerk sees and the case prefill; the phone page's progress by the ticket's QR token."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from hall.cardreads import age_band, age_on
from hall.drivers.idcard.record import CardRecord, id_check_char, id_hash
from hall.events import Event
from hall.pairing import PairedDevice
from hall.services import Services
from hall.web.api_events import _event, _for_stream

from tests import records_support
from tests.conftest import auth, login, pair_device

PHONE = "13812345678"


def id_number(birth: str, seq: str = "001") -> str:
    first = "110105" + birth + seq
    return first + id_check_char(first)


OLD = CardRecord(name="张桂英", sex="2", ethnicity="01", birth="19510301", address="北京市朝阳区某街1号",
                 id_number=id_number("19510301"), authority="北京市公安局朝阳分局", valid_from="20100101",
                 valid_to="长期")
YOUNG = CardRecord(name="李强", sex="1", ethnicity="01", birth="19900615", address="某村2组",
                   id_number=id_number("19900615", "013"), authority="某县公安局", valid_from="20150101",
                   valid_to="20350101")


class FakeReader:
    """Stands in for the reader's memory (`take_card`): the emulator-driven path is in the browser test."""

    def __init__(self) -> None:
        self.cards: dict[str, CardRecord] = {}

    def take_card(self, hash_hex: str) -> CardRecord | None:
        return self.cards.pop(hash_hex, None)


services = records_support.services


@pytest.fixture
def k1(api: Any) -> dict[str, str]:
    """Kiosk k1, paired the technician's way: its X-Hall-Device header."""
    return pair_device(api, kiosk="k1")


@pytest.fixture
def reader(services: Services) -> FakeReader:
    fake = FakeReader()
    assert services.cards is not None
    services.cards.get_device = lambda name: fake
    return fake


def place(services: Services, reader: FakeReader, rec: CardRecord, device: str = "idcard-k1") -> dict[str, Any]:
    """What the reader's worker publishes for a placed card; returns the kiosk's `card.read` event."""
    assert services.records is not None
    key = services.records.id_key
    reader.cards[id_hash(rec.id_number, key)] = rec
    seen: list[dict[str, Any]] = []
    services.hub.add_listener(lambda ev: seen.append(ev.data) if ev.kind == "card.read" else None)
    services.hub.publish("idcard.read", {"device": device, "window": None, "read_at": 0.0, **rec.public(key)})
    assert seen, "no card.read event"
    return seen[-1]


def db_text(services: Services) -> str:
    con = sqlite3.connect(services.db.path)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def test_age_and_band() -> None:
    from datetime import date

    assert age_on("19510301", date(2026, 11, 25)) == 75
    assert age_on("19511126", date(2026, 11, 25)) == 74      # birthday tomorrow
    assert age_on("1951xx01", date(2026, 11, 25)) is None
    assert [age_band(a) for a in (None, 10, 30, 65, 75, 88)] == ["年龄不详", "18岁以下", "18–59岁", "60–69岁",
                                                                "70–79岁", "80岁以上"]


def test_card_ticket_priority_masked_and_hashed(api: Any, services: Services, reader: FakeReader,
        k1: dict[str, str]) -> None:
    ev = place(services, reader, OLD)
    assert ev["kiosk"] == "k1" and ev["name"] == "张**" and ev["age"] == 75 and ev["priority_offer"] is True
    assert OLD.id_number not in json.dumps(ev, ensure_ascii=False) and "id_hash" not in ev
    r = api.post("/api/tickets", json={"category": "B", "lane": "priority", "kiosk": "k1",
                                       "card_read": ev["read_id"]}, headers=k1)
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert got["lane"] == "priority" and got["holder_name"] == "张**"
    # used once
    r = api.post("/api/tickets", json={"category": "B", "kiosk": "k1", "card_read": ev["read_id"]},
                 headers=k1)
    assert r.status_code == 410
    text = db_text(services)
    assert OLD.id_number not in text and "张桂英" not in text
    assert services.records is not None
    assert id_hash(OLD.id_number, services.records.id_key) in text     # matching works by the keyed hash
    assert services.engine.holder(got["ticket"]["id"]) == {"name": "张**", "age": 75}
    # the young person is not offered the green lane
    assert place(services, reader, YOUNG)["priority_offer"] is False


def test_daily_limit_per_person_and_category(api: Any, services: Services, reader: FakeReader,
        k1: dict[str, str]) -> None:
    limit = services.config.citizen.daily_limit_per_category
    for _ in range(limit):
        ev = place(services, reader, YOUNG)
        assert api.post("/api/tickets", json={"category": "C", "kiosk": "k1",
                                              "card_read": ev["read_id"]}, headers=k1).status_code == 201
    ev = place(services, reader, YOUNG)
    r = api.post("/api/tickets", json={"category": "C", "kiosk": "k1", "card_read": ev["read_id"]},
                 headers=k1)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "person_limit"
    assert f"每天最多 {limit} 次" in r.get_json()["error"]["message"]
    # the refused read is still there: another category is fine; so is another person in C
    assert api.post("/api/tickets", json={"category": "D", "kiosk": "k1",
                                          "card_read": ev["read_id"]}, headers=k1).status_code == 201
    ev = place(services, reader, OLD)
    assert api.post("/api/tickets", json={"category": "C", "kiosk": "k1",
                                          "card_read": ev["read_id"]}, headers=k1).status_code == 201


def test_booking_under_the_id_number_is_checked_in_by_card(api: Any, services: Services, reader: FakeReader,
        k1: dict[str, str]) -> None:
    m = auth(api, "9001", "hall-8888", None)
    body = {"category": "B", "slot_start": "2026-11-25T09:00:00+08:00", "slot_end": "2026-11-25T09:30:00+08:00",
            "name": "张桂英", "phone": PHONE, "id_number": OLD.id_number}
    r = api.post("/api/appointments", headers=m, json=body)
    assert r.status_code == 201, r.get_json()
    ev = place(services, reader, OLD)
    assert ev["appointment"]["category"] == "B" and ev["appointment"]["slot_start"].startswith("2026-11-25T09:00")
    r = api.post("/api/tickets", json={"category": "B", "kiosk": "k1", "card_read": ev["read_id"]},
                 headers=k1)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["ticket"]["lane"] == "appointment" and r.get_json()["holder_name"] == "张**"
    listed = api.get("/api/appointments", headers=m).get_json()["appointments"]
    assert listed[0]["state"] == "checked_in"
    assert OLD.id_number not in db_text(services)


def test_clerk_sees_masked_holder_and_registers_case_from_card(api: Any, services: Services,
                                                               reader: FakeReader,
        k1: dict[str, str]) -> None:
    ev = place(services, reader, OLD)
    tid = api.post("/api/tickets", json={"category": "A", "kiosk": "k1",
                                         "card_read": ev["read_id"]}, headers=k1).get_json()["ticket"]["id"]
    h = auth(api)
    assert api.post("/api/windows/1/call", headers=h).status_code == 200
    r = api.get("/api/windows/1/card", headers=h)
    assert r.status_code == 200
    card = r.get_json()
    assert card["ticket"]["id"] == tid and card["holder"] == {"name": "张**", "age_band": "70–79岁"}
    assert card["prefill"]["source"] == "ticket" and card["prefill"]["cert_no"] == "110***********" + OLD.id_number[-4:]
    assert OLD.id_number not in r.get_data(as_text=True)
    assert api.get("/api/windows/1/card").status_code == 401
    assert api.get("/api/windows/2/card", headers=h).status_code == 403
    assert api.post("/api/windows/1/start", headers=h).status_code == 200
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "limit_value": 10, "limit_unit": "工作日",
            "category": "A", "applicant": {"name": "张*", "cert_type": "111", "cert_no": "x", "phone": PHONE},
            "applicant_from_card": True}
    r = api.post("/api/cases", headers=h, json=body)
    assert r.status_code == 201, r.get_json()
    assert OLD.id_number not in r.get_data(as_text=True)
    con = sqlite3.connect(services.db.path)
    row = con.execute("SELECT applicant_name, cert_no FROM cases").fetchone()
    con.close()
    assert row == ("张桂英", OLD.id_number)     # the full number only in the case record (for the relay)
    # used up: a second registration from the card is refused with a clear message
    r = api.post("/api/cases", headers=h, json=body)
    assert r.status_code == 409 and "身份证" in r.get_json()["error"]["message"]


def test_a_windows_own_reader_prefills_that_windows_registration(api: Any, services: Services,
                                                                 reader: FakeReader) -> None:
    h = auth(api)
    seen: list[tuple[str, dict[str, Any]]] = []
    services.hub.add_listener(lambda ev: seen.append((ev.kind, ev.data)))
    assert services.records is not None
    key = services.records.id_key
    reader.cards[id_hash(YOUNG.id_number, key)] = YOUNG
    services.hub.publish("idcard.read", {"device": "idcard-w1", "window": 1, "read_at": 0.0, **YOUNG.public(key)})
    assert ("card.window", {"window": 1}) in seen and not any(k == "card.read" for k, _ in seen)
    card = api.get("/api/windows/1/card", headers=h).get_json()
    assert card["ticket"] is None and card["holder"] is None
    assert card["prefill"] == {"source": "window", "name": "李*", "cert_no": "110***********" + YOUNG.id_number[-4:],
                               "cert_type": "111"}
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "category": "A", "limit_value": 10,
            "limit_unit": "工作日",
            "applicant": {"name": "x", "cert_type": "111", "cert_no": "x"}, "applicant_from_card": True}
    r = api.post("/api/cases", headers=h, json=body)
    assert r.status_code == 201, r.get_json()
    with services.db.read() as c:
        assert c.execute("SELECT cert_no FROM cases").fetchone()[0] == YOUNG.id_number
    assert api.get("/api/windows/1/card", headers=h).get_json()["prefill"] is None
    # another window's clerk gets nothing from window 1's reader
    assert api.post("/api/cases", headers=auth(api, "1002", window=2), json=body).status_code == 409


def test_phone_progress_by_qr_token(api: Any, services: Services) -> None:
    assert services.records is not None
    first = api.post("/api/tickets", json={"category": "C"}).get_json()["ticket"]["id"]
    mine = api.post("/api/tickets", json={"category": "C"}).get_json()["ticket"]["id"]
    token = services.records.ratings.ticket_token(mine)
    p = api.get(f"/api/progress/{token}").get_json()
    assert p["ahead"] == 1 and p["near"] is True and p["headline"] == "还有1位，请回到大厅等候"
    assert p["poll_seconds"] == services.config.citizen.phone_poll_seconds
    h = auth(api, "1003", window=3)
    assert api.post("/api/windows/3/call", headers=h).get_json()["ticket"]["id"] == first
    assert api.get(f"/api/progress/{token}").get_json()["ahead"] == 0
    assert api.post("/api/windows/3/start", headers=h).status_code == 200
    api.post("/api/windows/3/call", headers=h)
    p = api.get(f"/api/progress/{token}").get_json()
    assert p["called"] is True and p["headline"] == "请到3号窗口办理" and p["window"] == 3
    assert api.get(f"/api/progress/{mine}-AAAAAAAAAAAAAAAA").status_code == 404
    page = api.get(f"/r/{token}").get_data(as_text=True)
    assert "请到3号窗口办理" in page and "/api/progress/" in page


def test_stream_scoping_and_no_hash_on_streams() -> None:
    k1 = PairedDevice(1, "kiosk", None, "k1", "自助终端 k1")
    k2 = PairedDevice(2, "kiosk", None, "k2", "自助终端 k2")
    tablet = PairedDevice(3, "evaluator", 1, None, "1号窗口评价器")
    read = Event(1, "card.read", {"kiosk": "k1", "read_id": "x"}, 0.0)
    assert _for_stream(read, "kiosk:k1", k1)
    assert not _for_stream(read, "kiosk:k1", None) and not _for_stream(read, "kiosk:k1", k2)
    assert not _for_stream(read, "kiosk:k1", tablet) and not _for_stream(read, "kiosk:k2", k1)
    assert not _for_stream(read, "", k1)
    # the plain /kiosk page paired as k1 gets k1's reads; a read of no kiosk (a reader bound to none,
    # which hall.cardreads no longer publishes) goes to no stream at all (tests/test_lan_followups.py)
    assert _for_stream(read, "kiosk", k1) and not _for_stream(read, "kiosk", k2)
    default = Event(2, "card.read", {"kiosk": None}, 0.0)
    assert not _for_stream(default, "kiosk", k1) and not _for_stream(default, "kiosk", None)
    assert not _for_stream(default, "kiosk:k1", k1)
    assert _for_stream(Event(3, "ticket.issued", {}, 0.0), "kiosk:k1", None)
    raw = Event(4, "idcard.read", {"device": "idcard-w1", "id_hash": "abc", "name": "张*"}, 0.0)
    assert _for_stream(raw, "", None, staff=True) and not _for_stream(raw, "kiosk:k1", k1)
    assert "abc" not in _event(raw) and "张*" in _event(raw)


def stream_kinds(api: Any, services: Services, since: int, headers: dict[str, str] | None = None,
                 **query: str) -> list[tuple[str, dict[str, Any]]]:
    """The (kind, data) a kiosk stream sends after event `since`, up to a marker published for this purpose."""
    services.hub.publish("test.marker", {})
    got: list[tuple[str, dict[str, Any]]] = []
    resp = api.get("/api/events", query_string={"last_event_id": str(since), **query}, headers=headers or {},
                   buffered=False)
    try:
        text = ""
        for chunk in resp.response:
            text += chunk.decode() if isinstance(chunk, bytes) else chunk
            if "event: test.marker" in text:
                break
    finally:
        resp.close()
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            got.append((lines["event"], json.loads(lines["data"])))
    return got


def test_attack_an_unpaired_or_other_kiosk_neither_sees_nor_uses_a_read(
        api: Any, services: Services, reader: FakeReader, k1: dict[str, str]) -> None:
    """The reported gap: anyone on the LAN opened /api/events?scope=kiosk:k1 and took a number on the card."""
    k2 = pair_device(api, kiosk="k2")
    tablet = pair_device(api, window=1)
    since = services.hub.last_id
    ev = place(services, reader, OLD)
    scope = {"scope": "kiosk:k1"}
    for who in ({}, {"device": "not-a-token"}, {"device": k2["X-Hall-Device"]},
                {"device": tablet["X-Hall-Device"]}):
        kinds = [k for k, _ in stream_kinds(api, services, since, **scope, **who)]
        assert "test.marker" in kinds and "card.read" not in kinds and "idcard.read" not in kinds, who
        assert "ticket.issued" not in kinds   # (nothing else happened: the marker shows the stream ran)
    mine = stream_kinds(api, services, since, **scope, device=k1["X-Hall-Device"])
    assert [d["read_id"] for k, d in mine if k == "card.read"] == [ev["read_id"]]
    # the reader's raw event (张*, masked number, no read id) reaches a technician's stream only
    tech = {"Authorization": f"Bearer {login(api, '9101', 'tech-6666', window=None)}"}
    seen = stream_kinds(api, services, since, tech)
    assert [d["name"] for k, d in seen if k == "idcard.read"] == ["张**"]
    assert "card.read" not in [k for k, _ in seen]
    # nor can they use the read id: each refusal says why, in Chinese, and leaves the read for k1
    body = {"category": "B", "kiosk": "k1", "card_read": ev["read_id"]}
    r = api.post("/api/tickets", json=body)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "card_needs_pairing"
    assert "本机未配对" in r.get_json()["error"]["message"]
    r = api.post("/api/tickets", json=body, headers=tablet)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "card_needs_pairing"
    r = api.post("/api/tickets", json=body, headers=k2)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "card_wrong_kiosk"
    assert "自助终端 k2" in r.get_json()["error"]["message"]
    r = api.post("/api/tickets", json={**body, "kiosk": "k2"}, headers=k2)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "card_other_kiosk"
    assert "不是在本机读取" in r.get_json()["error"]["message"]
    r = api.post("/api/tickets", json=body, headers=k1)
    assert r.status_code == 201, r.get_json()
    # a revoked kiosk stops seeing reads at once (the stream re-checks the token per read)
    rows = api.get("/api/tech/pairings", headers=tech).get_json()["pairings"]
    (pid,) = [p["id"] for p in rows if p["kiosk"] == "k1" and p["state"] == "paired"]
    since = services.hub.last_id
    assert api.post(f"/api/tech/pairings/{pid}/revoke", headers=tech).status_code == 200
    place(services, reader, YOUNG)
    kinds = [k for k, _ in stream_kinds(api, services, since, **scope, device=k1["X-Hall-Device"])]
    assert "test.marker" in kinds and "card.read" not in kinds


def test_device_token_in_a_stream_url_is_masked_in_logs() -> None:
    from hall.security import redact_text

    line = "GET /api/events?scope=kiosk%3Ak1&device=AbC-123_xyz&last_event_id=4"
    assert "AbC-123_xyz" not in redact_text(line) and "last_event_id=4" in redact_text(line)
