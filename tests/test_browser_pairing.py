"""Pairing a window tablet and a kiosk in a real Chromium (issue 10, item 4).

The technician makes a code (API, as /tech does), the unpaired tablet shows 设备未配对
with its number pad, the code is typed by clicking keys, and only then does a rating
from that tablet count; a revoke on /tech sends the tablet back to the pad. The kiosk
keeps serving while unpaired and offers the same pad from its footer status.
One server and one browser for the module.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import BROWSER_MARKS, BrowserPages, Hall, browser_hall, shot, wait_js

pytestmark = BROWSER_MARKS

TABLET = {"width": 1280, "height": 800}


hall, browser, pages = browser_hall("pairing")


def _code(hall: Hall, tech: str, spec: dict[str, Any]) -> dict[str, Any]:
    status, made = hall.api("POST", "/api/tech/pairings", spec, tech)
    assert status == 201, made
    return made


def _type(page: Any, code: str) -> None:
    for digit in code:
        page.locator(f"[data-testid=pairing-lock] [data-key='{digit}']").click()


def test_tablet_pairs_by_code_then_rates_and_a_revoke_locks_it_again(pages: BrowserPages, hall: Hall) -> None:
    if hall.services.records is None:
        pytest.skip("records (ratings) service not enabled")
    tech = hall.login("9101", "tech-6666")
    tablet = pages.open_in(pages.context(TABLET), "/evaluator/5", "tablet", paired=False)
    lock = tablet.get_by_test_id("pairing-lock")
    lock.wait_for()
    assert "设备未配对" in lock.inner_text() and "5号窗口评价器" in lock.inner_text()
    keys = lock.locator(".pairing-key")
    assert keys.count() == 12
    for i in range(keys.count()):
        box = keys.nth(i).bounding_box()
        assert box is not None and box["width"] >= 60 and box["height"] >= 60, box
    shot(tablet, "pairing-evaluator-pad")

    # a code made for another window is refused on this tablet, and this window's code still pairs it
    other = _code(hall, tech, {"kind": "evaluator", "window": 6})
    _type(tablet, other["code"])
    tablet.get_by_test_id("pairing-msg").filter(has_text="6号窗口评价器").wait_for()
    made = _code(hall, tech, {"kind": "evaluator", "window": 5})
    _type(tablet, made["code"])
    lock.wait_for(state="detached")
    assert tablet.evaluate("localStorage.getItem('hall.deviceToken')")

    # the clerk at window 5 asks for a rating: the paired tablet's answer is accepted
    clerk = hall.login("1001", window=5)
    ticket = hall.serve(clerk, 5, "E")
    assert hall.api("POST", "/api/windows/5/rate-prompt", {}, clerk)[0] == 201
    tablet.get_by_test_id("level-good").click()
    tablet.get_by_test_id("thanks").wait_for()
    rows = hall.services.db.conn.execute(
        "SELECT level, channel, window FROM ratings WHERE ticket_id = ?", (ticket["id"],)).fetchall()
    assert [tuple(r) for r in rows] == [("满意", "平板", 5)]

    # /tech lists the tablet as paired; revoking it sends the tablet back to the pad at once
    _status, listed = hall.api("GET", "/api/tech/pairings", None, tech)
    row = next(p for p in listed["pairings"] if p["id"] == made["id"])
    assert row["state"] == "paired" and row["created_by"] == "9101" and row["last_seen"]
    assert hall.api("POST", f"/api/tech/pairings/{made['id']}/revoke", {}, tech)[0] == 200
    lock.wait_for()
    wait_js(tablet, "localStorage.getItem('hall.deviceToken') === null")
    shot(tablet, "pairing-evaluator-revoked")


def test_kiosk_serves_unpaired_and_pairs_from_its_footer(pages: BrowserPages, hall: Hall) -> None:
    from tests.waiting import wait_until

    tech = hall.login("9101", "tech-6666")
    kiosk = pages.open_in(pages.context(TABLET), "/kiosk/k2", "kiosk", paired=False)
    status = kiosk.get_by_test_id("pairing-status")
    status.wait_for()
    assert status.inner_text().strip() == "本机未配对"
    assert kiosk.get_by_test_id("pairing-lock").count() == 0      # citizens are not locked out

    # a citizen still takes a number; its reprint (the printer failed) says why this kiosk cannot
    emu = hall.services.devices.emulators["printer-2"]
    emu.fault("paper out")
    try:
        def k2_ready() -> bool:
            k2 = next(k for k in hall.api("GET", "/api/kiosks")[1]["kiosks"] if k["id"] == "k2")
            return bool(k2["printer_state"]["ready"])

        assert wait_until(lambda: not k2_ready(), 30)
        kiosk.get_by_test_id("tile-take").click()
        kiosk.get_by_test_id("cat-F").click()
        kiosk.get_by_test_id("reprint").click()
        kiosk.get_by_test_id("toast").filter(has_text="本机未配对").wait_for()
    finally:
        emu.fault("paper ok")
    kiosk.get_by_test_id("done").click()
    status.click()
    kiosk.get_by_test_id("pairing-lock").wait_for()
    assert "自助终端 k2" in kiosk.get_by_test_id("pairing-lock").inner_text()
    _type(kiosk, _code(hall, tech, {"kind": "kiosk", "kiosk": "k2"})["code"])
    kiosk.get_by_test_id("pairing-lock").wait_for(state="detached")
    status.wait_for(state="hidden")
    token = kiosk.evaluate("localStorage.getItem('hall.deviceToken')")
    status_code, me = hall.api("GET", "/api/pairing/me", headers={"X-Hall-Device": token})
    assert status_code == 200 and me["kiosk"] == "k2"


def test_technician_makes_a_code_sees_the_device_paired_and_revokes_it(pages: BrowserPages, hall: Hall) -> None:
    page = pages.open_in(pages.context({"width": 1366, "height": 768}), "/tech#pairing", "tech")
    page.get_by_test_id("staff-id").fill("9101")
    page.get_by_test_id("pin").fill("tech-6666")
    page.get_by_test_id("login").click()
    page.get_by_test_id("pairing-target").select_option("kiosk:k1")
    page.get_by_test_id("pairing-create").click()
    code = page.get_by_test_id("pairing-code-shown").inner_text().strip()
    assert len(code) == 6 and code.isdigit()
    assert "分" in page.get_by_test_id("pairing-expires").inner_text()      # the expiry counts down
    status, made = hall.api("GET", "/api/tech/pairings", None, hall.login("9101", "tech-6666"))
    pid = next(p["id"] for p in made["pairings"] if p["kiosk"] == "k1" and p["state"] == "waiting")
    state = page.get_by_test_id(f"pairing-state-{pid}")
    assert "等待输入配对码" in state.inner_text()
    shot(page, "pairing-tech")

    # the kiosk's pad takes the code (as the device page posts it); the list says paired within a refresh
    status, paired = hall.api("POST", "/api/pairing", {"code": code, "kind": "kiosk", "kiosk": "k1"})
    assert status == 201, paired
    state.filter(has_text="已配对").wait_for()
    page.get_by_test_id(f"revoke-{pid}").click()
    page.get_by_test_id("revoke-yes").click()
    state.filter(has_text="已撤销").wait_for()
    assert hall.api("GET", "/api/pairing/me", headers={"X-Hall-Device": paired["token"]})[1]["paired"] is False
