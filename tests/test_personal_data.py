"""Personal data at rest: free-text notes are stored masked, as complaints are.

Read straight from SQLite: masking on the way out is not enough, the database file
itself (backups, support bundles) must not hold a typed ID or phone number in a note.
"""

from __future__ import annotations

from typing import Any

from hall.services import Services

from tests import records_support

ORIGIN = {"Origin": "http://localhost"}
ID = "430224195001011233"
PHONE = "13912345678"
NOTE = f"家属身份证 {ID}，电话 {PHONE}"
MEDIATION = "11430224MB0DEMO00X20101000100001"


services = records_support.services_with_villages


def _sign_in(client: Any, route: str, body: dict[str, Any]) -> dict[str, str]:
    r = client.post(route, json=body, headers=ORIGIN)
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}", **ORIGIN}


def _all_notes(svc: Services, table: str) -> list[str]:
    return [r[0] for r in svc.db.conn.execute(f"SELECT note FROM {table} WHERE note IS NOT NULL")]


def _assert_masked(notes: list[str]) -> None:
    assert notes, "nothing was stored"
    for note in notes:
        assert ID not in note and PHONE not in note, note
    assert any("430***********1233" in n and "139****5678" in n for n in notes)


def test_case_notes_are_stored_masked(client: Any, services: Services) -> None:
    api = client.application.test_client(use_cookies=False)
    clerk = _sign_in(api, "/api/session", {"staff_id": "1001", "pin": "123456", "window": 1})
    body = {"item_code": "430224100LS01", "item_name": "临时救助申请", "category": "A", "case_kind": "即办件",
            "note": NOTE, "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID, "phone": PHONE}}
    r = api.post("/api/cases", json=body, headers=clerk)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case"]["id"]
    r = api.post(f"/api/cases/{case_id}/status", json={"status": "补正", "note": NOTE}, headers=clerk)
    assert r.status_code == 200, r.get_json()
    _assert_masked(_all_notes(services, "cases"))
    _assert_masked(_all_notes(services, "case_history"))
    # the applicant's own number is kept where the relay needs it, in its own field
    assert services.db.conn.execute("SELECT cert_no FROM cases WHERE id = ?", (case_id,)).fetchone()[0] == ID


def test_village_record_notes_are_stored_masked(client: Any, services: Services) -> None:
    api = client.application.test_client(use_cookies=False)
    agent = _sign_in(api, "/api/village/session", {"login": "qs01", "pin": "246810"})
    body = {"client_key": "draft-0001", "item_code": MEDIATION, "kind": "代办到乡镇", "note": NOTE,
            "materials_done": ["申请人居民身份证", "人民调解申请书"],
            "applicant": {"name": "王大爷", "cert_no": ID, "phone": PHONE}}
    r = api.post("/api/village/records", json=body, headers=agent)
    assert r.status_code in (200, 201), r.get_json()
    rid = r.get_json()["record"]["id"]
    _assert_masked(_all_notes(services, "village_records"))
    r = api.patch(f"/api/village/records/{rid}", json={"note": "改：" + NOTE}, headers=agent)
    assert r.status_code == 200, r.get_json()
    r = api.post(f"/api/village/records/{rid}/state", json={"state": "材料齐全", "note": NOTE}, headers=agent)
    assert r.status_code == 200, r.get_json()
    _assert_masked(_all_notes(services, "village_records"))
    _assert_masked(_all_notes(services, "village_record_history"))
