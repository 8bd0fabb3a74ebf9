"""The ID-card reader driver against its emulator over a real pty and TCP: reads, faults, privacy."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hall.drivers.base import DeviceState
from hall.drivers.emulators.idcard import IdCardEmulator, make_card
from hall.drivers.idcard import protocol as P
from hall.drivers.idcard.device import IdCardReader
from hall.drivers.idcard.record import id_hash
from hall.drivers.transport import SerialTransport, TcpTransport

from tests.waiting import wait_until

KEY = b"hall-key" * 4
ZHANG = ("张三", "男", "19491231", "11010519491231002X")
LI = ("李四", "女", "19800101", "110101198001010045")

channels = ["tcp"] + (["pty"] if sys.platform != "win32" else [])


class Rig:
    def __init__(self, channel: str) -> None:
        self.emu = IdCardEmulator(name="idcard-test")
        self.events: list[tuple[str, dict[str, Any]]] = []
        if channel == "pty":
            transport: Any = SerialTransport(self.emu.start_pty(), baudrate=115200)
        else:
            transport = TcpTransport("127.0.0.1", self.emu.start_tcp(), connect_timeout=1.0, io_timeout=2.0)
        self.reader = IdCardReader("idcard-test", transport, publish=lambda k, d: self.events.append((k, d)),
                                   hash_key=KEY, window=1, poll_every=0.02, reply_timeout=0.3, read_timeout=0.5,
                                   sam_recheck=0.2,
                                   backoff_min=0.05, backoff_max=0.2)

    def polled_again(self) -> bool:
        """Wait until the emulator has answered several more host frames than now (never a fixed sleep)."""
        start = self.emu.stats.frames
        return wait_until(lambda: self.emu.stats.frames >= start + 5)


@pytest.fixture(params=channels)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    r = Rig(request.param)
    r.reader.start()
    assert wait_until(lambda: r.reader.state == DeviceState.READY), r.reader.status()
    yield r
    r.reader.stop()
    r.emu.stop()


def reads(rig: Rig) -> list[dict[str, Any]]:
    return [d for k, d in rig.events if k == "idcard.read"]


def test_a_placement_is_read_once_and_the_event_is_masked(rig: Rig) -> None:
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 1)
    assert rig.polled_again()               # the card still lies there: no second read
    assert len(reads(rig)) == 1
    ev = reads(rig)[0]
    assert ev["device"] == "idcard-test" and ev["window"] == 1
    assert (ev["name"], ev["sex"], ev["id_masked"], ev["id_valid"]) == ("张*", "男", "110***********002X", True)
    assert ev["id_hash"] == id_hash(ZHANG[3], KEY)
    text = json.dumps(ev, ensure_ascii=False) + json.dumps(rig.reader.status(), ensure_ascii=False)
    for secret in ("张三", ZHANG[3], "19491231", "某某村"):
        assert secret not in text
    assert rig.emu.reads == 1


def test_lifting_and_placing_again_reads_again(rig: Rig) -> None:
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 1)
    rig.emu.remove()
    rig.emu.place(make_card(*LI))
    assert wait_until(lambda: len(reads(rig)) == 2)
    assert reads(rig)[1]["name"] == "李*" and reads(rig)[1]["sex"] == "女"


def test_same_card_placed_again_at_once_is_not_a_new_read(rig: Rig) -> None:
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 1)
    rig.emu.remove()
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: rig.emu.reads == 2)
    assert wait_until(lambda: rig.reader.counters["repeats"] == 1)
    assert len(reads(rig)) == 1
    rig.reader.same_card_quiet = 0.0
    rig.emu.remove()
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 2)


def test_card_pulled_mid_read_is_retried_without_error(rig: Rig) -> None:
    rig.emu.fault("pull")
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: rig.reader.counters["interrupted"] >= 1)
    assert rig.emu.card is None
    assert rig.polled_again()
    assert reads(rig) == []
    assert rig.reader.state == DeviceState.READY and rig.reader.last_error == ""
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 1)


@pytest.mark.parametrize("fault", ["badsum", "noise"])
def test_damaged_answers_are_asked_again(rig: Rig, fault: str) -> None:
    rig.emu.place(make_card(*ZHANG))
    rig.emu.fault(fault)
    assert wait_until(lambda: len(reads(rig)) == 1)
    dropped = rig.reader.status()["dropped"]
    if fault == "badsum":
        assert dropped["bad_checksum"] >= 1 and rig.reader.counters["resent"] >= 1
    else:
        assert dropped["noise_bytes"] >= 1
    assert rig.reader.state == DeviceState.READY
    assert reads(rig)[0]["id_masked"] == "110***********002X"


def test_missing_sam_is_a_fault_with_a_chinese_message_and_recovers(rig: Rig) -> None:
    rig.emu.fault("nosam on")
    assert wait_until(lambda: rig.reader.state == DeviceState.DEGRADED)
    st = rig.reader.status()
    assert "安全模块" in st["detail"] and "00 00 60" in st["detail"] and st["sam"] == st["detail"]
    res = rig.reader.test()
    assert res["ok"] is False and "安全模块自检失败" in res["message"]
    rig.emu.fault("nosam off")
    assert wait_until(lambda: rig.reader.state == DeviceState.READY)
    assert rig.reader.test()["ok"] is True
    rig.emu.place(make_card(*LI))
    assert wait_until(lambda: len(reads(rig)) == 1)


def test_a_silent_reader_goes_offline_and_comes_back(rig: Rig) -> None:
    rig.emu.fault("silent on")
    assert wait_until(lambda: rig.reader.state == DeviceState.OFFLINE)
    assert "无应答" in rig.reader.last_error
    rig.emu.fault("silent off")
    assert wait_until(lambda: rig.reader.state == DeviceState.READY)
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 1)


def test_take_card_hands_out_the_full_record_once_by_hash(rig: Rig) -> None:
    rig.emu.place(make_card(*ZHANG))
    assert wait_until(lambda: len(reads(rig)) == 1)
    h = reads(rig)[0]["id_hash"]
    assert rig.reader.take_card("0" * 64) is None
    rec = rig.reader.take_card(h)
    assert rec is not None and rec.id_number == ZHANG[3] and rec.name == "张三"
    assert "张三" not in repr(rec)
    assert rig.reader.take_card(h) is None


def test_emulator_refuses_a_bad_card_in_chinese() -> None:
    emu = IdCardEmulator()
    for cmd, word in (("place 张三 男 1949 11010519491231002X", "出生日期"),
                      ("place 张三 X 19491231 11010519491231002X", "性别"),
                      ("place 张三 男 19491231 1101", "身份证号"),
                      ("place 张三", "放卡需要")):
        with pytest.raises(ValueError, match=word):
            emu.fault(cmd)
    assert emu.card is None
    assert "张三" not in emu.audit_text("place 张三 男 19491231 11010519491231002X")
    assert "11010519491231002X" not in emu.audit_text("place 张三 男 19491231 11010519491231002X")


def test_emulator_answers_unknown_commands_and_short_frames() -> None:
    emu = IdCardEmulator()
    assert emu.answer(b"\x99\x01") == P.encode_answer(P.ST_BAD_COMMAND)
    assert emu.answer(b"\x99") == P.encode_answer(P.ST_BAD_LENGTH)
    assert emu.answer(bytes(P.FIND_CARD)) == P.encode_answer(P.ST_NO_CARD, bytes(4))


def test_demo_reader_on_healthz_tech_api_and_place_card_action(client: Any, services: Any,
                                                               events: list[tuple[str, dict[str, Any]]]) -> None:
    from tests.conftest import login

    dev = services.devices.get("idcard-w1")
    assert dev is not None and dev.kind == "idcard"
    services.devices.start()
    assert wait_until(lambda: dev.status()["state"] == "ready"), dev.status()
    hz = client.get("/healthz").get_json()
    assert {d["name"]: d["state"] for d in hz["devices"]}["idcard-w1"] == "ready"
    headers = {"Authorization": f"Bearer {login(client, '9101', 'tech-6666', window=None)}"}
    r = client.post("/api/devices/emulators/idcard-w1/fault", headers=headers,
                    json={"command": "place 张三 男 19491231 11010519491231002X"})
    assert r.status_code == 200 and r.get_json()["view"]["card"]["id_masked"] == "110***********002X"
    assert wait_until(lambda: any(k == "idcard.read" for k, _ in events))
    (read,) = [d for k, d in events if k == "idcard.read"]
    assert read["window"] == 1 and read["id_hash"] and len(read["id_hash"]) == 64
    # keyed with the hall's own key (records_settings "id_hash_key"), the one bookings and tickets match by
    assert services.records is not None and read["id_hash"] == id_hash("11010519491231002X", services.records.id_key)
    assert not (services.data_dir / "idcard.key").exists()
    st = {d["name"]: d for d in client.get("/api/devices", headers=headers).get_json()["devices"]}["idcard-w1"]
    assert st["reads"] == 1 and st["last_card"]["name"] == "张*"
    test = client.post("/api/devices/idcard-w1/test", headers=headers).get_json()
    assert test["ok"] is True and "安全模块正常" in test["message"]
    bad = client.post("/api/devices/emulators/idcard-w1/fault", headers=headers,
                      json={"command": "place 张三 男 1949 11010519491231002X"})
    assert bad.status_code == 409 and "出生日期" in bad.get_json()["error"]["message"]
    with services.db.read() as c:
        details = [row[0] for row in c.execute("SELECT detail FROM audit WHERE action = 'emulator.fault'")]
    assert details and not any("张三" in d or "11010519491231002X" in d for d in details)
    everything = json.dumps([hz, st, events], ensure_ascii=False, default=str)
    assert "11010519491231002X" not in everything and "张三" not in everything
