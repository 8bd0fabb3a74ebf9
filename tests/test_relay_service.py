"""The relay inside the service: records reach the county intact, /healthz, technician API, CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.records.base import ItemInfo
from hall.records.models import AppointmentIn, CaseIn, ComplaintIn, RatingIn
from hall.records.util import Actor
from hall.relay import wire
from hall.relay.county_sim import CountySimulator
from hall.relay.outbox import enqueue
from hall.services import Services, build_services

from tests import relay_support
from tests.conftest import login
from tests.waiting import wait_until

SECRET = "service-test-secret-0123456789"
CLERK = Actor("1002", "clerk", "10.0.0.5")
CITIZEN = Actor("tablet-2", "citizen")
ITEM = ItemInfo("430224100DB01", "最低生活保障申请", "B", 15, "工作日", "承诺件")


def make_id(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


sim = relay_support.county_sim(SECRET)


@pytest.fixture
def relay_services(tmp_path: Path, config: HallConfig, clock: FixedClock, sim: CountySimulator,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    for svc in relay_support.hall_on_county(tmp_path, config, clock, sim, monkeypatch, SECRET):
        assert svc.relay is not None
        svc.relay.poll_seconds = 0.05
        svc.relay.backoff_base, svc.relay.backoff_cap = 0.02, 0.2
        yield svc


def test_records_of_every_kind_reach_the_county_valid_with_only_needed_personal_data(
        relay_services: Services, sim: CountySimulator) -> None:
    svc = relay_services
    rec = svc.records
    assert rec is not None
    rec.ctx.items = {ITEM.impl_code: ITEM}.get
    e = svc.engine
    e.login(2, "1002")
    e.issue("B")
    e.call_next(2, "1002")
    e.start(2, "1002")
    applicant_id, agent_id = make_id("43022419560312002"), make_id("43022419800101123")
    case = rec.cases.register(CaseIn.model_validate({
        "item_code": ITEM.impl_code,
        "applicant": {"name": "张桂英", "cert_no": applicant_id, "phone": "13812345678"},
        "agent": {"name": "李代办", "cert_no": agent_id, "phone": "13900001111", "village": "新村"}}), CLERK, 2)
    rec.cases.transition(case["id"], "办理中", CLERK, 2, note="电话13812345678已告知")
    rec.ratings.open_prompt(2, CLERK, case_id=case["id"])
    rec.ratings.rate_prompt(2, RatingIn(level="不满意", reasons=["R04"], comment="等太久"), CITIZEN)
    rec.complaints.submit(ComplaintIn(kind="建议", text="希望增加座椅，联系我13812345678",
                                      contact_name="王五", contact_phone="13700001111"), CITIZEN)
    rec.appointments.book(AppointmentIn.model_validate({
        "category": "C", "slot_start": "2026-11-26T09:00:00+08:00", "slot_end": "2026-11-26T09:30:00+08:00",
        "name": "赵六", "phone": "13600001111"}), Actor("9001", "manager"))

    svc.start()
    kinds = {"case", "case_status", "rating", "rectification", "complaint", "appointment"}
    ok = wait_until(lambda: {m["kind"] for m in sim.messages()} >= kinds and svc.relay_status()["state"] == "idle")
    assert ok, (sim.rejections(), svc.relay_status())
    st = svc.relay_status()
    assert st["dead_letters"] == 0 and st["state"] == "idle" and st["running"]
    assert [f for f in wire.dropped_fields() if f.split(".")[0] in kinds and "secret_note" not in f] == []
    by_kind = {m["kind"]: m["body"] for m in sim.messages()}
    for kind, body in by_kind.items():
        assert wire.check_body(kind, body) == [], kind
    assert by_kind["case"]["applicant"]["cert_no"] == applicant_id  # the county needs it
    assert by_kind["case"]["agent"]["cert_no"] == agent_id
    assert "13812345678" not in by_kind["case_status"]["note"]  # free text masked
    assert by_kind["rating"]["level"] == "不满意" and by_kind["rating"]["level_code"] == 2
    assert "13812345678" not in by_kind["complaint"]["text"]
    assert by_kind["complaint"]["contact_phone"] == "13700001111"  # left to be answered
    raw = json.dumps([by_kind["rating"], by_kind["rectification"], by_kind["case_status"]], ensure_ascii=False)
    assert applicant_id not in raw and "张桂英" not in raw  # no applicant data where it is not needed
    # The county's 办件编号 comes back on the acknowledgement and the records code adopts it.
    (case_msg,) = sim.messages("case")
    assert case_msg["county_ref"]
    rec.tick()
    row = svc.db.conn.execute("SELECT official_no FROM cases WHERE id = ?", (case["id"],)).fetchone()
    assert row[0] == case_msg["county_ref"]


def test_service_keeps_issuing_tickets_while_the_county_is_down(relay_services: Services,
                                                                 sim: CountySimulator) -> None:
    svc = relay_services
    sim.fault("partition")
    with svc.db.write() as c:
        for i in range(50):
            enqueue(c, kind="complaint", message_id=f"H:complaint:{i}:1", order_key=f"complaint:{i}",
                    payload={"complaint_id": i, "ref_no": f"YJ{i}", "kind": "建议",
                             "created_at": "2026-11-25T09:00:00+08:00"})
    svc.start()
    assert wait_until(lambda: svc.relay_status()["consecutive_failures"] >= 1)
    numbers = [svc.engine.issue("A").ticket.number for _ in range(20)]
    assert numbers == [f"A{i:03d}" for i in range(1, 21)]
    sim.clear()
    assert wait_until(lambda: svc.relay_status()["backlog"] == 0)
    assert sim.count() == 50


def test_healthz_reports_the_relay(client: Any, services: Services) -> None:
    with services.db.write() as c:
        enqueue(c, kind="complaint", message_id="H:complaint:1:1", order_key="complaint:1", payload={})
    relay = client.get("/healthz").get_json()["relay"]
    assert relay["configured"] is False and relay["state"] == "not_configured" and relay["backlog"] == 1


def test_relay_api_roles_and_dead_letter_retry(client: Any, services: Services) -> None:
    with services.db.write() as c:
        enqueue(c, kind="complaint", message_id="H:complaint:1:1", order_key="complaint:1", payload={"x": 1})
        c.execute("UPDATE outbox SET state = 'dead', dead_code = 'invalid_message', dead_reason = 'x', "
                  "dead_at = '2026-11-25T09:00:00+08:00'")
    assert client.get("/api/relay").status_code == 401
    login(client, "1001", "123456", 1)
    assert client.get("/api/relay").status_code == 403
    login(client, "9001", "hall-8888", None)
    r = client.get("/api/relay")
    assert r.status_code == 200 and r.get_json()["status"]["dead_letters"] == 1
    (dl,) = r.get_json()["dead_letters"]
    assert "payload" not in dl and dl["dead_code"] == "invalid_message"
    assert client.post(f"/api/relay/dead-letters/{dl['id']}/retry").status_code == 403  # managers look only
    login(client, "9101", "tech-6666", None)
    assert client.post("/api/relay/dead-letters/999/retry").status_code == 404
    r = client.post(f"/api/relay/dead-letters/{dl['id']}/retry")
    assert r.status_code == 202
    assert client.get("/api/relay").get_json()["status"]["backlog"] == 1
    audit = services.db.conn.execute("SELECT actor, action FROM audit WHERE action = 'relay.retry'").fetchall()
    assert [tuple(a) for a in audit] == [("9101", "relay.retry")]


def test_cli_status_dead_letters_and_retry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hall.cli import main
    from hall.store.db import Database

    db = Database(tmp_path / "hall.db")
    with db.write() as c:
        for i in range(3):
            enqueue(c, kind="complaint", message_id=f"H:complaint:{i}:1", order_key=f"complaint:{i}", payload={})
        c.execute("UPDATE outbox SET state = 'dead', dead_code = 'invalid_message', dead_reason = '缺少字段',"
                  " dead_at = '2026-11-25T09:00:00+08:00' WHERE id = 1")
    db.close()
    assert main(["relay", "status", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "待发送 backlog:         2" in out and "死信 dead letters:      1" in out
    assert main(["relay", "status", "--data-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dead_letters"] == 1
    assert main(["relay", "dead-letters", "--data-dir", str(tmp_path)]) == 0
    assert "缺少字段" in capsys.readouterr().out
    assert main(["relay", "retry", "1", "--data-dir", str(tmp_path)]) == 0
    assert "已重新排队" in capsys.readouterr().out
    assert main(["relay", "retry", "1", "--data-dir", str(tmp_path)]) == 1
    assert "不是死信" in capsys.readouterr().err
    assert main(["relay", "status", "--data-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["backlog"] == 3


def test_cli_county_sim_runs_on_loopback(tmp_path: Path) -> None:
    env = dict(os.environ, HALL_COUNTY_SECRET=SECRET)
    proc = subprocess.Popen([sys.executable, "-m", "hall.cli", "county-sim", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.stderr else "")
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)  # type: ignore[union-attr]
        with urllib.request.urlopen(url + "/_sim/stats", timeout=5) as r:
            assert json.loads(r.read())["stored"] == 0
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "stored 0" in out


def test_demo_county_emulator_relays_for_real(tmp_path: Path) -> None:
    """`endpoint = "emulator://"` (the demo) starts a simulator on loopback and the relay drains to it."""
    from hall.config.loader import demo_config_path, load_config

    cfg = load_config(demo_config_path())
    assert cfg.county.endpoint == "emulator://"
    cfg = cfg.model_copy(update={"devices": []})
    svc = build_services(cfg, tmp_path, with_devices=True)
    try:
        assert svc.relay is not None and svc.relay_status()["configured"] is True
        sim = svc.devices.emulators["county"]
        svc.start()
        assert svc.records is not None
        svc.records.complaints.submit(ComplaintIn(kind="建议", text="希望增加老花镜"), CITIZEN)
        svc.relay.wake()
        assert wait_until(lambda: sim.count() == 1)
        assert [m["kind"] for m in sim.messages()] == ["complaint"] and sim.rejections() == []
        assert wait_until(lambda: svc.relay_status()["backlog"] == 0)
    finally:
        svc.stop()
