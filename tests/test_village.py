"""Village service stations through the HTTP API: agents and their scope, the 代办 ledger, handover to the
township and back, photos, the duty roster, oversight and exports.

Two villages, one agent each: everything agent B tries on village A's records must fail and leave them as
they were, through every /api/village route (the enumeration test fails when a new route is added without
a scoping case here).
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import HallConfig
from hall.queue.clock import FixedClock
from hall.services import Services, build_services
from PIL import Image

from tests.conftest import login

MEDIATION = "11430224MB0DEMO00X20101000100001"  # 人民调解申请: township level (A), 3 materials, 2 required
MEMBERSHIP = "54430224MF0DEMO01A20114003400001"  # 农村集体经济组织成员身份确认申请: village level (E)
VILLAGER_ID = "430224195001011233"
VILLAGER_PHONE = "13912345678"
AGENT_A_ID = "430224198001011237"
AGENT_B_ID = "430224197811083318"


@dataclass
class World:
    svc: Services
    manager: Any
    clerk: Any
    agent_a: Any
    agent_b: Any
    village_a: int
    village_b: int
    agent_a_id: int
    agent_b_id: int

    def new_client(self) -> Any:
        return self.manager.application.test_client()


@pytest.fixture
def svc(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    s = build_services(config, tmp_path, clock=clock, with_devices=False)
    yield s
    s.stop()


def _agent_login(client: Any, login_name: str, pin: str = "246810") -> dict[str, Any]:
    r = client.post("/api/village/session", json={"login": login_name, "pin": pin})
    assert r.status_code == 201, r.get_json()
    session: dict[str, Any] = r.get_json()["session"]
    return session


@pytest.fixture
def world(svc: Services) -> World:
    from hall.web.app import create_app

    app = create_app(svc, {"TESTING": True})
    manager, clerk = app.test_client(), app.test_client()
    login(manager, "9001", "hall-8888", None)
    login(clerk, "1001", "123456", 1)
    va = manager.post(
        "/api/village/villages",
        json={
            "name": "青石村",
            "address": "青石村村部一楼",
            "phone": "0731-5201234",
            "hours": "工作日 8:30–17:30",
        },
    )
    vb = manager.post("/api/village/villages", json={"name": "红星村"})
    assert va.status_code == vb.status_code == 201
    a = manager.post(
        "/api/village/agents",
        json={
            "village_id": va.get_json()["village"]["id"],
            "login": "qs01",
            "name": "李春花",
            "duty": "村委委员",
            "phone": "13812345678",
            "cert_no": AGENT_A_ID,
            "pin": "246810",
        },
    )
    b = manager.post(
        "/api/village/agents",
        json={
            "village_id": vb.get_json()["village"]["id"],
            "login": "hx01",
            "name": "赵大成",
            "phone": "13787654321",
            "cert_no": AGENT_B_ID,
            "pin": "246810",
        },
    )
    assert a.status_code == b.status_code == 201, (a.get_json(), b.get_json())
    agent_a, agent_b = app.test_client(), app.test_client()
    _agent_login(agent_a, "qs01")
    _agent_login(agent_b, "HX01")  # logins are not case-sensitive
    return World(
        svc,
        manager,
        clerk,
        agent_a,
        agent_b,
        va.get_json()["village"]["id"],
        vb.get_json()["village"]["id"],
        a.get_json()["agent"]["id"],
        b.get_json()["agent"]["id"],
    )


def _register(
    agent: Any,
    key: str = "draft-0001",
    *,
    item: str = MEDIATION,
    kind: str = "代办到乡镇",
    done: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "client_key": key,
        "item_code": item,
        "kind": kind,
        "applicant": {"name": "王大爷", "cert_no": VILLAGER_ID, "phone": VILLAGER_PHONE},
        "materials_done": done if done is not None else ["申请人居民身份证", "人民调解申请书"],
        "note": "老人腿脚不便，电话 13912345678",
        **extra,
    }
    r = agent.post("/api/village/records", json=body)
    assert r.status_code in (200, 201), r.get_json()
    record: dict[str, Any] = r.get_json()["record"]
    return record


def _jpeg(
    size: tuple[int, int] = (640, 480), exif: bytes | None = None, color: tuple[int, int, int] = (180, 90, 40)
) -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", size, color)
    if exif is not None:
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def _upload(
    agent: Any, record_id: int, data: bytes, key: str = "photo-0001", material: str = "申请人居民身份证"
) -> Any:
    return agent.post(
        f"/api/village/records/{record_id}/photos",
        content_type="multipart/form-data",
        data={"client_key": key, "material": material, "file": (io.BytesIO(data), "p.jpg")},
    )


def _state(agent: Any, record_id: int, state: str, note: str | None = None) -> Any:
    return agent.post(f"/api/village/records/{record_id}/state", json={"state": state, "note": note})


def _hand_over(w: World, key: str = "draft-0001") -> dict[str, Any]:
    rec = _register(w.agent_a, key)
    assert _state(w.agent_a, rec["id"], "材料齐全").status_code == 200
    r = _state(w.agent_a, rec["id"], "已送乡镇")
    assert r.status_code == 200, r.get_json()
    out: dict[str, Any] = r.get_json()["record"]
    return out


# ---------------------------------------------------------------------- agents and sessions
def test_agent_session_is_bound_to_the_village(world: World) -> None:
    r = world.agent_a.get("/api/session")
    s = r.get_json()["session"]
    assert s["role"] == "agent" and s["village_id"] == world.village_a and s["name"] == "李春花"
    me = world.agent_a.get("/api/village/me").get_json()
    assert me["village"]["name"] == "青石村" and me["agent"]["name"] == "李春花"
    # agents are not staff: staff routes stay closed
    assert world.agent_a.get("/api/cases").status_code == 403
    assert world.agent_a.get("/api/manage/overview").status_code == 403
    assert world.agent_a.post("/api/calls", json={}).status_code in (403, 404, 405)


def test_agent_login_failures_lock_and_disabling_ends_the_session(world: World) -> None:
    c = world.new_client()
    assert c.post("/api/village/session", json={"login": "qs01", "pin": "000000"}).status_code == 401
    assert c.post("/api/village/session", json={"login": "nobody", "pin": "246810"}).status_code == 401
    for _ in range(3):
        c.post("/api/village/session", json={"login": "qs01", "pin": "111111"})
    assert c.post("/api/village/session", json={"login": "qs01", "pin": "246810"}).status_code == 429
    # the manager disables agent A: the open session stops working at once
    r = world.manager.patch(f"/api/village/agents/{world.agent_a_id}", json={"active": False})
    assert r.status_code == 200 and r.get_json()["agent"]["active"] is False
    assert world.agent_a.get("/api/village/records").status_code == 401
    # staff ids cannot be taken as agent logins; PINs are never echoed
    r = world.manager.post(
        "/api/village/agents",
        json={
            "village_id": world.village_a,
            "login": "1001",
            "name": "张三",
            "phone": "13800000000",
            "cert_no": AGENT_A_ID,
            "pin": "246810",
        },
    )
    assert r.status_code == 409
    agents = world.manager.get("/api/village/agents").get_json()["agents"]
    assert all("pin" not in json.dumps(a) and a["cert_no"].startswith("430***") for a in agents)


def test_moving_an_agent_moves_their_scope(world: World) -> None:
    rec = _register(world.agent_a)
    assert world.agent_a.get(f"/api/village/records/{rec['id']}").status_code == 200
    r = world.manager.patch(f"/api/village/agents/{world.agent_a_id}", json={"village_id": world.village_b})
    assert r.status_code == 200
    assert world.agent_a.get("/api/session").get_json()["session"]["village_id"] == world.village_b
    assert world.agent_a.get(f"/api/village/records/{rec['id']}").status_code == 404


# ---------------------------------------------------------------------- scope: every route
def _routes(client: Any) -> set[tuple[str, str]]:
    out = set()
    for rule in client.application.url_map.iter_rules():
        if rule.rule.startswith("/api/village"):
            for m in rule.methods - {"HEAD", "OPTIONS"}:
                out.add((m, rule.rule))
    return out


def test_an_agent_cannot_reach_another_village_through_any_route(world: World) -> None:
    """Agent B against village A's record, photo, roster and village, through each /api/village route."""
    w = world
    rec = _register(w.agent_a)
    rid = rec["id"]
    photo = _upload(w.agent_a, rid, _jpeg()).get_json()["photo"]
    pid = photo["id"]
    r = w.agent_a.put("/api/village/roster", json={"day": "2026-11-26", "agent_id": w.agent_a_id})
    assert r.status_code == 200, r.get_json()
    handed = _hand_over(w, "draft-0002")
    spot = w.manager.post("/api/village/spot-checks", json={"count": 1}).get_json()["checks"][0]
    before = w.manager.get(f"/api/village/records?village_id={w.village_a}").get_json()["records"]
    b = w.agent_b
    jpeg = _jpeg()

    def photo_post() -> Any:
        return _upload(b, rid, jpeg, key="intruder-01")

    def no_a_records(resp: Any) -> bool:
        return resp.status_code == 200 and all(
            x["village_id"] == w.village_b for x in resp.get_json()["records"]
        )

    refused = {403, 404}
    # dup-ok: one entry per village route, read route by route against the url map; the entries look alike
    # (method, rule) -> (request made by agent B, check on the response)
    cases: dict[tuple[str, str], tuple[Any, Any]] = {
        ("POST", "/api/village/session"): (
            lambda: b.post("/api/village/session", json={"login": "qs01", "pin": "000000"}),
            lambda r: r.status_code == 401,
        ),
        ("GET", "/api/village/me"): (
            lambda: b.get("/api/village/me"),
            lambda r: r.get_json()["village"]["id"] == w.village_b,
        ),
        ("GET", "/api/village/stations"): (  # public by design: names of the stations
            lambda: b.get("/api/village/stations"),
            lambda r: r.status_code == 200,
        ),
        ("GET", "/api/village/stations/<int:village_id>"): (  # public by design: agents' names and phones
            lambda: b.get(f"/api/village/stations/{w.village_a}"),
            lambda r: (
                r.status_code == 200
                and "records" not in r.get_json()
                and VILLAGER_PHONE not in r.get_data(as_text=True)
            ),
        ),
        ("GET", "/api/village/villages"): (
            lambda: b.get("/api/village/villages"),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/villages"): (
            lambda: b.post("/api/village/villages", json={"name": "假村"}),
            lambda r: r.status_code == 403,
        ),
        ("PATCH", "/api/village/villages/<int:village_id>"): (
            lambda: b.patch(f"/api/village/villages/{w.village_a}", json={"name": "改名"}),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/agents"): (
            lambda: b.get("/api/village/agents"),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/agents"): (
            lambda: b.post("/api/village/agents", json={}),
            lambda r: r.status_code == 403,
        ),
        ("PATCH", "/api/village/agents/<int:agent_id>"): (
            lambda: b.patch(f"/api/village/agents/{w.agent_a_id}", json={"pin": "135790"}),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/settings"): (
            lambda: b.get("/api/village/settings"),
            lambda r: r.status_code == 403,
        ),
        ("PUT", "/api/village/settings"): (
            lambda: b.put("/api/village/settings", json={"overdue_days": 9}),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/records"): (
            lambda: b.get(f"/api/village/records?village_id={w.village_a}"),
            no_a_records,
        ),
        ("POST", "/api/village/records"): (  # the same client key as A's: a new record of B's own village
            lambda: b.post(
                "/api/village/records",
                json={
                    "client_key": "draft-0001",
                    "item_code": MEDIATION,
                    "kind": "代办到乡镇",
                    "applicant": {"name": "钱二", "cert_no": VILLAGER_ID},
                },
            ),
            lambda r: (
                r.status_code == 201
                and r.get_json()["record"]["village_id"] == w.village_b
                and r.get_json()["record"]["id"] != rid
            ),
        ),
        ("GET", "/api/village/records/export"): (
            lambda: b.get(f"/api/village/records/export?village_id={w.village_a}"),
            lambda r: (
                r.status_code == 200
                and rec["ref_no"] not in r.get_data(as_text=True)
                and "青石村" not in r.get_data(as_text=True)
            ),
        ),
        ("GET", "/api/village/records/<int:record_id>"): (
            lambda: b.get(f"/api/village/records/{rid}"),
            lambda r: r.status_code == 404,
        ),
        ("PATCH", "/api/village/records/<int:record_id>"): (
            lambda: b.patch(f"/api/village/records/{rid}", json={"note": "改了"}),
            lambda r: r.status_code == 404,
        ),
        ("POST", "/api/village/records/<int:record_id>/state"): (
            lambda: _state(b, rid, "材料齐全"),
            lambda r: r.status_code == 404,
        ),
        ("POST", "/api/village/records/<int:record_id>/photos"): (photo_post, lambda r: r.status_code == 404),
        ("GET", "/api/village/records/<int:record_id>/photos/<int:photo_id>"): (
            lambda: b.get(f"/api/village/records/{rid}/photos/{pid}"),
            lambda r: r.status_code == 404,
        ),
        ("DELETE", "/api/village/records/<int:record_id>/photos/<int:photo_id>"): (
            lambda: b.delete(f"/api/village/records/{rid}/photos/{pid}"),
            lambda r: r.status_code == 404,
        ),
        ("GET", "/api/village/incoming"): (
            lambda: b.get("/api/village/incoming"),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/records/<int:record_id>/receive"): (
            lambda: b.post(f"/api/village/records/{handed['id']}/receive", json={}),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/records/<int:record_id>/return"): (
            lambda: b.post(f"/api/village/records/{handed['id']}/return", json={"note": "缺材料"}),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/records/<int:record_id>/case"): (
            lambda: b.post(f"/api/village/records/{handed['id']}/case", json={}),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/roster"): (
            lambda: b.get(f"/api/village/roster?village_id={w.village_a}"),
            lambda r: r.status_code in refused,
        ),
        ("PUT", "/api/village/roster"): (
            lambda: b.put(
                "/api/village/roster",
                json={"village_id": w.village_a, "day": "2026-11-26", "agent_id": w.agent_b_id},
            ),
            lambda r: r.status_code in refused,
        ),
        ("POST", "/api/village/roster/rotate"): (
            lambda: b.post(
                "/api/village/roster/rotate",
                json={
                    "village_id": w.village_a,
                    "start": "2026-11-26",
                    "end": "2026-11-30",
                    "agent_ids": [w.agent_a_id],
                },
            ),
            lambda r: r.status_code in refused,
        ),
        ("GET", "/api/village/duty-gaps"): (
            lambda: b.get("/api/village/duty-gaps"),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/oversight"): (
            lambda: b.get("/api/village/oversight"),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/oversight/monthly"): (
            lambda: b.get("/api/village/oversight/monthly?format=csv"),
            lambda r: r.status_code == 403,
        ),
        ("GET", "/api/village/spot-checks"): (
            lambda: b.get("/api/village/spot-checks"),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/spot-checks"): (
            lambda: b.post("/api/village/spot-checks", json={"count": 1}),
            lambda r: r.status_code == 403,
        ),
        ("POST", "/api/village/spot-checks/<int:check_id>"): (
            lambda: b.post(f"/api/village/spot-checks/{spot['id']}", json={"result": "合格"}),
            lambda r: r.status_code == 403,
        ),
    }
    assert _routes(b) == set(cases), "every /api/village route needs a scoping case here"
    for (method, rule), (call, ok) in sorted(cases.items()):
        resp = call()
        assert ok(resp), (method, rule, resp.status_code, resp.get_data(as_text=True)[:300])
    # and village A's ledger, photos and roster are exactly as they were
    after = w.manager.get(f"/api/village/records?village_id={w.village_a}").get_json()["records"]
    assert after == before
    assert w.agent_a.get(f"/api/village/records/{rid}/photos/{pid}").status_code == 200
    days = w.agent_a.get("/api/village/roster?start=2026-11-26&end=2026-11-26").get_json()["days"]
    assert days[0]["agent"]["id"] == w.agent_a_id
    assert w.manager.get(f"/api/village/agents?village_id={w.village_a}").get_json()["agents"][0]["active"]


def test_clerks_see_every_village_but_cannot_administer(world: World) -> None:
    rec = _register(world.agent_a)
    assert world.clerk.get(f"/api/village/records/{rec['id']}").status_code == 200
    assert world.clerk.post("/api/village/villages", json={"name": "x"}).status_code == 403
    assert world.clerk.get("/api/village/oversight").status_code == 403
    assert world.clerk.patch(f"/api/village/records/{rec['id']}", json={"note": "x"}).status_code == 403
    # a technician sees no villager data at all
    tech = world.new_client()
    login(tech, "9101", "tech-6666", None)
    assert tech.get("/api/village/records").status_code == 403
    assert tech.get("/api/village/incoming").status_code == 403


# ---------------------------------------------------------------------- the ledger
def test_registration_masks_personal_data_and_builds_the_checklist(world: World, svc: Services) -> None:
    rec = _register(world.agent_a, special_group=None)
    text = json.dumps(rec, ensure_ascii=False)
    assert VILLAGER_ID not in text and VILLAGER_PHONE not in text and "王大爷" not in text
    assert rec["applicant"] == {
        "name": "王**",
        "cert_type": "111",
        "cert_no": "430***********1233",
        "phone": "139****5678",
    }
    assert "139****5678" in rec["note"]
    assert [m["name"] for m in rec["materials"]] == [
        "申请人居民身份证",
        "人民调解申请书",
        "与纠纷有关的证据材料（合同、收据、照片等）",
    ]
    assert (
        rec["missing"] == [] and rec["state"] == "登记" and re.fullmatch(r"V\d{2}261125\d{3}", rec["ref_no"])
    )
    assert rec["history"][0]["actor_name"] == "李春花" and rec["history"][0]["to"] == "登记"
    # the certificate number is kept for the case (and the relay) only
    stored = svc.db.conn.execute("SELECT cert_no FROM village_records WHERE id = ?", (rec["id"],)).fetchone()[
        0
    ]
    assert stored == VILLAGER_ID


def test_registration_rules(world: World) -> None:
    a = world.agent_a
    base = {"item_code": MEDIATION, "applicant": {"name": "王大爷", "cert_no": VILLAGER_ID}}
    r = a.post("/api/village/records", json={**base, "client_key": "k-00000001", "kind": "上门代办"})
    assert r.status_code == 400 and "服务对象类别" in r.get_json()["error"]["message"]
    r = a.post("/api/village/records", json={**base, "client_key": "k-00000002", "kind": "在村办结"})
    assert r.status_code == 400 and "乡镇办理" in r.get_json()["error"]["message"]
    r = a.post(
        "/api/village/records",
        json={
            **base,
            "client_key": "k-00000003",
            "kind": "代办到乡镇",
            "applicant": {"name": "王大爷", "cert_no": "430224195001011234"},
        },
    )
    assert r.status_code == 400 and r.get_json()["error"]["message"] == "申请人证件号码校验位不正确，请逐位核对"
    r = a.post(
        "/api/village/records",
        json={**base, "client_key": "k-00000004", "kind": "代办到乡镇", "item_code": "NOSUCHITEM0001"},
    )
    assert r.status_code == 400 and "事项目录" in r.get_json()["error"]["message"]
    r = a.post(
        "/api/village/records",
        json={**base, "client_key": "k-00000005", "kind": "代办到乡镇", "materials_done": ["不存在的材料"]},
    )
    assert r.status_code == 400
    rec = _register(a, "k-00000006", kind="上门代办", special_group="五保户", done=["申请人居民身份证"])
    assert rec["special_group"] == "五保户" and rec["missing"] == ["人民调解申请书"]
    r = _state(a, rec["id"], "材料齐全")
    assert r.status_code == 409 and "人民调解申请书" in r.get_json()["error"]["message"]
    r = _state(a, rec["id"], "已送乡镇")
    assert r.status_code == 409


def test_resubmitting_a_draft_never_creates_a_duplicate(world: World, svc: Services) -> None:
    body = {
        "client_key": "offline-draft-42",
        "item_code": MEDIATION,
        "kind": "代办到乡镇",
        "applicant": {"name": "王大爷", "cert_no": VILLAGER_ID},
    }
    first = world.agent_a.post("/api/village/records", json=body)
    again = world.agent_a.post("/api/village/records", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["record"]["id"] == again.get_json()["record"]["id"]
    assert again.get_json()["created"] is False
    # the same key sent at the same moment from two connections (a retry racing the first try)
    body2 = {**body, "client_key": "offline-draft-43"}
    answers: list[int] = []
    clients = [world.new_client() for _ in range(4)]
    for c in clients:
        _agent_login(c, "qs01")
    barrier = threading.Barrier(len(clients))

    def post(c: Any) -> None:
        barrier.wait()
        answers.append(c.post("/api/village/records", json=body2).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 200, 200, 201]
    n = svc.db.conn.execute(
        "SELECT COUNT(*) FROM village_records WHERE client_key LIKE 'offline-draft-4%'"
    ).fetchone()
    assert n[0] == 2
    # photos too: the same photo key twice is one photo
    rid = first.get_json()["record"]["id"]
    p1, p2 = _upload(world.agent_a, rid, _jpeg()), _upload(world.agent_a, rid, _jpeg())
    assert (p1.status_code, p2.status_code) == (201, 200)
    assert len(world.agent_a.get(f"/api/village/records/{rid}").get_json()["record"]["photos"]) == 1


def test_editing_ticks_and_untick_returns_to_registration(world: World) -> None:
    a = world.agent_a
    rec = _register(a, done=[])
    r = a.patch(
        f"/api/village/records/{rec['id']}", json={"materials_done": ["申请人居民身份证", "人民调解申请书"]}
    )
    assert r.get_json()["record"]["missing"] == []
    assert _state(a, rec["id"], "材料齐全").get_json()["record"]["state"] == "材料齐全"
    r = a.patch(f"/api/village/records/{rec['id']}", json={"materials_done": ["申请人居民身份证"]})
    view = r.get_json()["record"]
    assert view["state"] == "登记" and view["history"][-1]["note"] == "材料不全，退回登记"
    r = a.patch(f"/api/village/records/{rec['id']}", json={"kind": "上门代办"})
    assert r.status_code == 400
    r = a.patch(f"/api/village/records/{rec['id']}", json={"kind": "上门代办", "special_group": "病残"})
    assert r.get_json()["record"]["special_group"] == "病残"


# ---------------------------------------------------------------------- photos
def test_photos_are_checked_and_cleaned(world: World, svc: Services) -> None:
    a = world.agent_a
    rid = _register(a)["id"]
    # not an image, a lie about the type, a truncated file
    assert _upload(a, rid, b"%PDF-1.4 not a photo", key="bad-00001").status_code == 415
    assert _upload(a, rid, b"\xff\xd8\xff" + b"\0" * 100, key="bad-00002").status_code == 415
    assert _upload(a, rid, _jpeg()[:200], key="bad-00003").status_code == 415
    too_big = b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024 + 10)
    assert _upload(a, rid, too_big, key="bad-00004").status_code == 413
    assert _upload(a, rid, _jpeg(), key="bad-00005", material="不在清单").status_code == 400
    # a phone photo, stored sideways with EXIF orientation 6 and a GPS position: upright and without metadata
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif[0x8825] = {1: "N", 2: (28.0, 30.0, 0.0)}  # GPSInfo
    r = _upload(a, rid, _jpeg((400, 300), exif=exif.tobytes()), key="good-0001")
    assert r.status_code == 201, r.get_json()
    photo = r.get_json()["photo"]
    assert (photo["width"], photo["height"]) == (300, 400)
    got = a.get(f"/api/village/records/{rid}/photos/{photo['id']}")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    img = Image.open(io.BytesIO(got.data))
    assert img.size == (300, 400) and not img.getexif()
    png = io.BytesIO()
    Image.new("RGB", (50, 40), (0, 128, 0)).save(png, "PNG")
    assert _upload(a, rid, png.getvalue(), key="good-0002", material="").status_code == 201
    files = list((svc.data_dir / "village" / str(world.village_a) / str(rid)).iterdir())
    assert len(files) == 2 and all(f.suffix == ".jpg" for f in files)
    # deleting is the agent's, while the request is still in the village
    assert a.delete(f"/api/village/records/{rid}/photos/{photo['id']}").status_code == 200
    folder = svc.data_dir / "village" / str(world.village_a) / str(rid)
    assert len(list(folder.iterdir())) == 1
    # once handed over, the photos go with the paper: no more added or removed, and no stray files
    _state(a, rid, "材料齐全")
    _state(a, rid, "已送乡镇")
    assert _upload(a, rid, _jpeg(), key="late-0001").status_code == 409
    remaining = a.get(f"/api/village/records/{rid}").get_json()["record"]["photos"]
    assert a.delete(f"/api/village/records/{rid}/photos/{remaining[0]['id']}").status_code == 409
    assert len(list(folder.iterdir())) == 1


# ---------------------------------------------------------------------- handover and back
def test_full_flow_village_to_township_case_and_back(world: World, svc: Services, clock: FixedClock) -> None:
    w = world
    rec = _register(w.agent_a)
    assert _upload(w.agent_a, rec["id"], _jpeg()).status_code == 201
    assert _state(w.agent_a, rec["id"], "材料齐全").status_code == 200
    clock.advance(minutes=30)
    seen: list[tuple[str, dict[str, Any]]] = []
    svc.hub.add_listener(lambda ev: seen.append((ev.kind, ev.data)))
    handed = _state(w.agent_a, rec["id"], "已送乡镇").get_json()["record"]
    assert handed["state"] == "已送乡镇" and handed["next"] == []
    # the hub hears of it, without any personal data
    kinds = [k for k, _ in seen]
    assert "village.updated" in kinds and "village.incoming" in kinds
    assert all("王" not in json.dumps(d, ensure_ascii=False) for _, d in seen)
    # the clerk's console: incoming 代办
    incoming = w.clerk.get("/api/village/incoming").get_json()["records"]
    assert [x["id"] for x in incoming] == [rec["id"]]
    assert incoming[0]["village"] == "青石村" and incoming[0]["applicant"]["name"] == "王**"
    # the agent cannot receive their own handover, and the clerk cannot make a case before receiving
    assert w.agent_a.post(f"/api/village/records/{rec['id']}/receive", json={}).status_code == 403
    assert w.clerk.post(f"/api/village/records/{rec['id']}/case", json={}).status_code == 409
    clock.advance(hours=1)
    got = w.clerk.post(f"/api/village/records/{rec['id']}/receive", json={"note": "纸质材料已收"})
    assert got.status_code == 200 and got.get_json()["record"]["state"] == "乡镇已接件"
    assert got.get_json()["record"]["next"] == ["登记办件", "退回补正"]
    made = w.clerk.post(f"/api/village/records/{rec['id']}/case", json={})
    assert made.status_code == 201, made.get_json()
    case = made.get_json()["case"]
    assert case["agent"]["village"] == "青石村" and case["agent"]["name"] == "李**"
    assert case["applicant"]["cert_no"] == "430***********1233" and case["clerk"] == "1001"
    assert [m["name"] for m in case["materials"]] == ["申请人居民身份证"]
    assert w.clerk.post(f"/api/village/records/{rec['id']}/case", json={}).status_code == 409
    # still incoming until the case exists; then gone from the list
    assert w.clerk.get("/api/village/incoming").get_json()["records"] == []
    # the case goes to the county with the full data (the relay's outbox)
    payload = json.loads(
        svc.db.conn.execute(
            "SELECT payload FROM outbox WHERE kind = 'case' AND order_key = ?", (f"case:{case['id']}",)
        ).fetchone()[0]
    )
    assert payload["applicant"]["cert_no"] == VILLAGER_ID and payload["agent"]["cert_no"] == AGENT_A_ID
    assert payload["agent"]["village"] == "青石村" and "V01" in (payload.get("note") or "V01")
    # the agent sees the case and its progress
    view = w.agent_a.get(f"/api/village/records/{rec['id']}").get_json()["record"]
    assert view["state"] == "乡镇已接件" and view["case"]["receipt_no"] == case["receipt_no"]
    clock.advance(hours=5)
    assert w.clerk.post(f"/api/cases/{case['id']}/status", json={"status": "办结"}).status_code == 200
    view = w.agent_a.get(f"/api/village/records/{rec['id']}").get_json()["record"]
    assert view["state"] == "办结" and view["case"]["status"] == "办结"
    last = view["history"][-1]
    assert last["to"] == "办结" and last["actor_name"] == "李明" and last["at"].startswith("2026-11-25T15:30")
    steps = [(h["to"], h["actor_name"]) for h in view["history"]]
    assert steps == [
        ("登记", "李春花"),
        ("材料齐全", "李春花"),
        ("已送乡镇", "李春花"),
        ("乡镇已接件", "李明"),
        ("乡镇已接件", "李明"),
        ("办结", "李明"),
    ]
    assert all(h["at"] for h in view["history"])


def test_sent_back_and_case_correction_flow_back_to_the_agent(world: World, svc: Services) -> None:
    w = world
    rec = _hand_over(w)
    r = w.clerk.post(f"/api/village/records/{rec['id']}/return", json={"note": "缺人民调解申请书原件签字"})
    view = r.get_json()["record"]
    assert view["state"] == "退回补正" and "签字" in view["history"][-1]["note"]
    assert w.agent_a.get(f"/api/village/records/{rec['id']}").get_json()["record"]["next"] == ["材料齐全"]
    # the agent supplements, hands over again; the clerk receives and registers the case
    assert _state(w.agent_a, rec["id"], "材料齐全").status_code == 200
    assert _state(w.agent_a, rec["id"], "已送乡镇").status_code == 200
    w.clerk.post(f"/api/village/records/{rec['id']}/receive", json={})
    case = w.clerk.post(f"/api/village/records/{rec['id']}/case", json={}).get_json()["case"]
    # the case needs a correction (补正): back to the agent with the note
    w.clerk.post(f"/api/cases/{case['id']}/status", json={"status": "补正", "note": "请补充证据材料照片"})
    view = w.agent_a.get(f"/api/village/records/{rec['id']}").get_json()["record"]
    assert view["state"] == "退回补正" and "请补充证据材料照片" in view["history"][-1]["note"]
    # the agent brings the materials; the clerk continues the same case (no second case)
    assert _state(w.agent_a, rec["id"], "材料齐全").status_code == 200
    assert _state(w.agent_a, rec["id"], "已送乡镇").status_code == 200
    w.clerk.post(f"/api/village/records/{rec['id']}/receive", json={})
    assert w.clerk.post(f"/api/village/records/{rec['id']}/case", json={}).status_code == 409
    assert w.clerk.post(f"/api/village/records/{rec['id']}/return", json={"note": "x" * 3}).status_code == 409
    w.clerk.post(f"/api/cases/{case['id']}/status", json={"status": "办理中"})
    assert w.agent_a.get(f"/api/village/records/{rec['id']}").get_json()["record"]["state"] == "乡镇已接件"
    w.clerk.post(f"/api/cases/{case['id']}/status", json={"status": "办结"})
    assert w.agent_a.get(f"/api/village/records/{rec['id']}").get_json()["record"]["state"] == "办结"
    assert svc.db.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 1


def test_finished_in_the_village_is_a_relayed_case(world: World, svc: Services) -> None:
    a = world.agent_a
    rec = _register(
        a, item=MEMBERSHIP, kind="在村办结", done=["申请人居民身份证、户口簿", "成员身份确认申请书"]
    )
    assert rec["village_level"] is True
    assert _state(a, rec["id"], "办结").status_code == 409  # materials first
    assert _state(a, rec["id"], "材料齐全").get_json()["record"]["next"] == ["办结", "登记"]
    r = _state(a, rec["id"], "已送乡镇")
    assert r.status_code == 409 and "无需送乡镇" in r.get_json()["error"]["message"]
    done = _state(a, rec["id"], "办结", "当场办结").get_json()["record"]
    assert done["state"] == "办结" and done["case"]["status"] == "办结"
    kinds = [
        r[0]
        for r in svc.db.conn.execute(
            "SELECT kind FROM outbox WHERE order_key = ? ORDER BY id", (f"case:{done['case']['id']}",)
        )
    ]
    assert kinds == ["case", "case_status"]
    clerk_of_case = svc.db.conn.execute(
        "SELECT clerk FROM cases WHERE id = ?", (done["case"]["id"],)
    ).fetchone()[0]
    assert clerk_of_case == f"agent:{world.agent_a_id}"
    # a township-level item can never be finished in the village
    other = _register(a, "draft-0009", kind="上门代办", special_group="孤寡老人")
    _state(a, other["id"], "材料齐全")
    assert _state(a, other["id"], "办结").status_code == 409


# ---------------------------------------------------------------------- ledger list and export
def test_ledger_filters_and_csv_export_are_masked(world: World) -> None:
    w = world
    r1 = _register(w.agent_a, "draft-0001")
    _register(w.agent_a, "draft-0002", kind="上门代办", special_group="留守家庭")
    _register(w.agent_b, "draft-0003")
    listed = w.agent_a.get("/api/village/records?kind=上门代办").get_json()["records"]
    assert [x["special_group"] for x in listed] == ["留守家庭"]
    assert len(w.agent_a.get("/api/village/records").get_json()["records"]) == 2
    assert len(w.manager.get("/api/village/records").get_json()["records"]) == 3
    assert w.agent_a.get("/api/village/records?state=乱写").status_code == 400
    resp = w.agent_a.get("/api/village/records/export")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["台账编号", "村（社区）", "登记时间", "事项"]
    assert [r[0] for r in rows[1:]] == [r1["ref_no"], rows[2][0]] and len(rows) == 3
    assert VILLAGER_ID not in text and VILLAGER_PHONE not in text and "王大爷" not in text
    assert "430***********1233" in text and "139****5678" in text and "王**" in text
    assert "红星村" not in text
    everything = w.manager.get("/api/village/records/export").get_data(as_text=True)
    assert "红星村" in everything and "青石村" in everything and VILLAGER_ID not in everything


# ---------------------------------------------------------------------- duty roster and station page
def test_duty_roster_station_page_and_gaps(world: World, clock: FixedClock) -> None:
    w = world
    # 2026-11-25 is a Wednesday; 11-28/29 is a weekend
    r = w.agent_a.put("/api/village/roster", json={"day": "2026-11-25", "agent_id": w.agent_a_id})
    assert r.status_code == 200
    r = w.agent_a.put("/api/village/roster", json={"day": "2026-11-28", "agent_id": w.agent_a_id})
    assert r.status_code == 400 and "不是工作日" in r.get_json()["error"]["message"]
    r = w.agent_a.put("/api/village/roster", json={"day": "2026-11-26", "agent_id": w.agent_b_id})
    assert r.status_code == 400  # not an agent of this village
    r = w.manager.post(
        "/api/village/roster/rotate",
        json={
            "village_id": w.village_b,
            "start": "2026-11-25",
            "end": "2026-12-04",
            "agent_ids": [w.agent_b_id],
        },
    )
    assert [d["day"] for d in r.get_json()["days"]][:4] == [
        "2026-11-25",
        "2026-11-26",
        "2026-11-27",
        "2026-11-30",
    ]
    public = w.new_client().get(f"/api/village/stations/{w.village_a}").get_json()
    assert public["village"]["station_name"] == "青石村便民服务站"
    assert public["agents"] == [
        {"id": w.agent_a_id, "name": "李春花", "duty": "村委委员", "phone": "13812345678"}
    ]
    assert public["on_duty"]["name"] == "李春花" and len(public["week"]) == 7
    assert "cert_no" not in json.dumps(public) and "login" not in json.dumps(public)
    gaps = w.manager.get("/api/village/duty-gaps?start=2026-11-25&end=2026-12-04").get_json()["villages"]
    by_name = {g["village"]: g for g in gaps}
    assert by_name["红星村"]["count"] == 0
    assert by_name["青石村"]["days"] == [
        "2026-11-26",
        "2026-11-27",
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
    ]
    # clearing a day
    w.agent_a.put("/api/village/roster", json={"day": "2026-11-25", "agent_id": None})
    assert w.new_client().get(f"/api/village/stations/{w.village_a}").get_json()["on_duty"] is None
    assert w.new_client().get("/api/village/stations/999").status_code == 404


# ---------------------------------------------------------------------- oversight
def test_oversight_overdue_incomplete_spot_checks_and_monthly_table(world: World, clock: FixedClock) -> None:
    w = world
    late = _register(w.agent_a, "draft-0001")  # complete, never handed over
    incomplete = _register(w.agent_a, "draft-0002", done=[])  # materials missing
    _register(w.agent_b, "draft-0003", kind="上门代办", special_group="孤寡老人")
    handed = _hand_over(w, "draft-0004")
    ov = w.manager.get("/api/village/oversight").get_json()
    assert ov["overdue"] == [] and [x["id"] for x in ov["incomplete"]] == [incomplete["id"]]
    assert ov["incoming"] == 1 and ov["settings"] == {"overdue_days": 3, "intake_days": 1}
    # four working days later (Wed 25 → Tue 1 Dec): over the 3-day limit; the handover was not received
    clock.set(datetime(2026, 12, 1, 10, 0))
    login(w.manager, "9001", "hall-8888", None)  # sessions last 12 hours
    _agent_login(w.agent_a, "qs01")
    ov = w.manager.get("/api/village/oversight?month=2026-11").get_json()
    assert {x["id"] for x in ov["overdue"]} >= {late["id"], incomplete["id"]}
    assert [x["id"] for x in ov["late_intake"]] == [handed["id"]]
    row_a = next(v for v in ov["villages"] if v["village"] == "青石村")
    assert (
        row_a["registered"] == 3
        and row_a["handed"] == 1
        and row_a["overdue"] == 2
        and row_a["incomplete"] == 1
    )
    row_b = next(v for v in ov["villages"] if v["village"] == "红星村")
    assert row_b["at_home"] == 1 and row_b["special"] == 1
    assert w.agent_a.get("/api/village/records?overdue=1").get_json()["records"][0]["overdue"] is True
    # a longer limit: nothing overdue
    assert w.manager.put("/api/village/settings", json={"overdue_days": 10}).get_json()["overdue_days"] == 10
    assert w.manager.get("/api/village/oversight?month=2026-11").get_json()["overdue"] == []
    # spot checks: drawn at random from the month, never twice, each with a result and finding
    picked = w.manager.post("/api/village/spot-checks", json={"count": 3, "month": "2026-11"}).get_json()[
        "checks"
    ]
    assert len(picked) == 3 and len({p["record_id"] for p in picked}) == 3
    assert all(p["applicant_name"] in ("王**", "") for p in picked)
    more = w.manager.post("/api/village/spot-checks", json={"count": 5, "month": "2026-11"}).get_json()[
        "checks"
    ]
    assert len(more) == 1 and more[0]["record_id"] not in {p["record_id"] for p in picked}
    assert (
        w.manager.post("/api/village/spot-checks", json={"count": 1, "month": "2026-11"}).status_code == 400
    )
    r = w.manager.post(f"/api/village/spot-checks/{picked[0]['id']}", json={"result": "有问题"})
    assert r.status_code == 400  # a problem needs its finding
    r = w.manager.post(
        f"/api/village/spot-checks/{picked[0]['id']}",
        json={"result": "有问题", "finding": "纸质台账缺申请人签字"},
    )
    assert r.get_json()["check"]["checked_by"] == "9001"
    checks = w.manager.get("/api/village/spot-checks?month=2026-12").get_json()["checks"]
    assert len(checks) == 4  # picked in December
    # the monthly table for the assessment, as CSV
    resp = w.manager.get("/api/village/oversight/monthly?month=2026-11&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][0] == "村（社区）" and rows[-1][0] == "合计"
    by_village = {r[0]: r for r in rows[2:]}
    assert by_village["青石村"][1] == "3" and by_village["红星村"][4] == "1" and by_village["合计"][1] == "4"
    december = w.manager.get("/api/village/oversight/monthly?month=2026-12").get_json()
    assert december["total"]["spot_checks"] == 4 and december["total"]["spot_problems"] == 1
    assert w.manager.get("/api/village/oversight/monthly?month=2026-13").status_code == 400


# ---------------------------------------------------------------------- pages
def test_village_pages_are_served_from_the_hall(world: World) -> None:
    c = world.new_client()
    for path, screen in (
        ("/agent", "agent"),
        ("/station", "station"),
        (f"/station/{world.village_a}", "station"),
        ("/villages", "villages"),
    ):
        r = c.get(path)
        assert r.status_code == 200, path
        html = r.get_data(as_text=True)
        assert f'data-screen="{screen}"' in html and f"/screens/static/js/{screen}.js" in html
        assert "http://" not in html and "https://" not in html
        # the page carries no staff list, no personal data
        assert "李春花" not in html and "pin_hash" not in html
    assert c.get("/station/999").status_code == 404
    world.manager.patch(f"/api/village/villages/{world.village_b}", json={"active": False})
    assert c.get(f"/station/{world.village_b}").status_code == 404
    assert "clerk_village.js" in c.get("/clerk").get_data(as_text=True)
    for asset in (
        "js/agent.js",
        "js/agent_drafts.js",
        "js/station.js",
        "js/villages.js",
        "js/clerk_village.js",
        "css/agent.css",
        "css/station.css",
        "css/villages.css",
        "css/clerk_village.css",
        "i18n/agent.js",
        "i18n/station.js",
        "i18n/villages.js",
        "i18n/clerk_village.js",
    ):
        r = c.get(f"/screens/static/{asset}")
        assert r.status_code == 200, asset
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", r.get_data(as_text=True)), asset


def test_demo_hall_gets_villages_agents_and_a_roster_once(svc: Services) -> None:
    from hall.web.app import create_app

    village = svc.village
    assert village is not None
    assert village.seed_demo() is True and village.seed_demo() is False
    assert [v["name"] for v in village.directory.villages()] == ["青石村", "红星社区"]
    c = create_app(svc, {"TESTING": True}).test_client()
    session = _agent_login(c, "qs01", village.DEMO_PIN)
    me = c.get("/api/village/me").get_json()
    assert session["village_id"] == me["village"]["id"] and me["on_duty"] is not None   # a Wednesday
