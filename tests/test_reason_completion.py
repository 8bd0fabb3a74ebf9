"""原因待补: a keypad 差评 without reason keys is stored at once, marked pending, and completed by the citizen
on the window tablet, the ticket's phone page or the kiosk (by the QR token); the manager counts the
pending ones; the county gets the rating again with the real reasons."""

from __future__ import annotations

import json
from typing import Any

from hall.services import Services

from tests import records_support
from tests.conftest import auth, pair_device

services = records_support.services


def keypad_bad_rating(api: Any, services: Services, h: dict[str, str]) -> tuple[int, str]:
    """Serve a ticket at window 1 and rate it 非常不满意 on the window's keypad; (ticket id, QR token)."""
    assert services.records is not None
    tid = api.post("/api/tickets", json={"category": "A"}).get_json()["ticket"]["id"]
    assert api.post("/api/windows/1/call", headers=h).status_code == 200
    assert api.post("/api/windows/1/start", headers=h).status_code == 200
    r = api.post("/api/windows/1/rate-prompt", headers=h)
    assert r.status_code == 201, r.get_json()
    assert services.records.rating_sink(1, "非常不满意", "窗口评价器", r.get_json()["prompt"]["prompt_id"]) is True
    assert api.post("/api/windows/1/finish", headers=h).status_code == 200
    return tid, services.records.ratings.ticket_token(tid)


def reason_codes(api: Any) -> list[str]:
    return [r["code"] for r in api.get("/api/reasons").get_json()["rating_reasons"]]


def test_keypad_bad_rating_is_pending_and_completed_by_qr_token(api: Any, services: Services) -> None:
    h = auth(api)
    m = auth(api, "9001", "hall-8888", None)
    _, token = keypad_bad_rating(api, services, h)
    rects = api.get("/api/rectifications", headers=m).get_json()
    assert rects["reason_pending"] == 1 and rects["rectifications"][0]["rating"]["reason_pending"] is True
    view = api.get(f"/api/ratings/ticket/{token}").get_json()
    (p,) = view["pending"]
    assert p["level"] == "非常不满意" and p["text"] == "原因待补"
    # the keypad's placeholder is not a citizen's reason; staff cannot complete for the citizen
    r = api.post("/api/ratings/reason", json={"token": token, "rating_id": p["rating_id"], "reasons": ["R00"]})
    assert r.status_code == 400
    codes = reason_codes(api)
    r = api.post("/api/ratings/reason", headers=h, json={"token": token, "rating_id": p["rating_id"],
                                                         "reasons": codes[:1]})
    assert r.status_code == 403
    r = api.post("/api/ratings/reason", json={"token": token, "rating_id": p["rating_id"], "reasons": codes[:2],
                                              "comment": "等了很久没人理"})
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/rectifications", headers=m).get_json()["reason_pending"] == 0
    rating = api.get("/api/rectifications", headers=m).get_json()["rectifications"][0]["rating"]
    assert [x["code"] for x in rating["reasons"]] == codes[:2] and rating["reason_pending"] is False
    assert rating["comment"] == "等了很久没人理"
    # done once
    r = api.post("/api/ratings/reason", json={"token": token, "rating_id": p["rating_id"], "reasons": codes[:1]})
    assert r.status_code == 409
    # the county gets the rating's second version with the real reasons
    with services.db.read() as c:
        rows = c.execute("SELECT message_id, payload FROM outbox WHERE kind = 'rating' ORDER BY id").fetchall()
    assert [row[0].rsplit(":", 1)[1] for row in rows] == ["1", "2"]
    assert [x["code"] for x in json.loads(rows[1][1])["reasons"]] == codes[:2]


def test_window_tablet_and_phone_page_complete_the_reason(api: Any, services: Services) -> None:
    h = auth(api)
    codes = reason_codes(api)
    keypad_bad_rating(api, services, h)
    pending = api.get("/api/evaluator/1/pending-reason").get_json()["pending"]
    assert pending is not None and api.get("/api/evaluator/2/pending-reason").get_json()["pending"] is None
    r = api.post("/api/evaluator/1/reason", json={"rating_id": pending["rating_id"], "reasons": codes[:1]})
    assert r.status_code == 403                  # any host on the LAN: only the window's paired tablet
    r = api.post("/api/evaluator/2/reason", json={"rating_id": pending["rating_id"], "reasons": codes[:1]},
                 headers=pair_device(api, window=2))
    assert r.status_code == 409                  # not that window's rating
    r = api.post("/api/evaluator/1/reason", json={"rating_id": pending["rating_id"], "reasons": codes[:1]},
                 headers=pair_device(api, window=1))
    assert r.status_code == 200, r.get_json()
    assert api.get("/api/evaluator/1/pending-reason").get_json()["pending"] is None
    # the phone page offers the next one as a plain form (works without JavaScript)
    _, token = keypad_bad_rating(api, services, h)
    page = api.get(f"/r/{token}").get_data(as_text=True)
    assert "原因待补" in page and 'name="pending_rating"' in page
    rid = api.get(f"/api/ratings/ticket/{token}").get_json()["pending"][0]["rating_id"]
    r = api.post(f"/r/{token}", data={"pending_rating": str(rid), "reasons": codes[1:2]},
                 headers={"Origin": "http://localhost"})
    assert r.status_code == 200 and "感谢您补充原因" in r.get_data(as_text=True), r.get_data(as_text=True)[:300]
    assert api.get(f"/api/ratings/ticket/{token}").get_json()["pending"] == []
