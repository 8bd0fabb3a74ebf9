"""Two kiosk terminals in a real Chromium: each shows ITS printer's state on 取号 before anyone presses,
and its ticket comes out of its own printer. The demo hall: k1 → "printer", k2 → "printer-2"."""

from __future__ import annotations

import re
from typing import Any

from tests.browser_support import BROWSER_MARKS, LANDSCAPE, BrowserPages, Hall, browser_hall, shot, take_ticket

pytestmark = BROWSER_MARKS

LIVE_MS = 15000    # under the page's 30 s poll: the state arrives by the live stream (8 s was short on a busy machine)


hall, browser, pages = browser_hall("kiosks")


def _emu(hall: Hall, name: str) -> Any:
    return hall.services.devices.emulators[name]


def _open(pages: BrowserPages, path: str) -> Any:
    page = pages.open_in(pages.context(LANDSCAPE), path, path)
    # the page has asked its printer's state (data-state is set once the answer came)
    page.wait_for_selector("[data-testid=take-printer][data-state=ready]", state="attached", timeout=LIVE_MS)
    return page


def test_each_kiosk_shows_its_own_printer_state_on_the_take_tile(pages: BrowserPages, hall: Hall) -> None:
    k1, k2 = _open(pages, "/kiosk/k1"), _open(pages, "/kiosk/k2")
    assert "2号自助终端" in k2.locator("#masthead").inner_text()
    assert not k2.get_by_test_id("take-printer").is_visible()
    _emu(hall, "printer-2").fault("paper out")
    try:
        badge = k2.get_by_test_id("take-printer")
        k2.wait_for_selector("[data-testid=take-printer][data-state=paper_out]", timeout=LIVE_MS)
        assert badge.is_visible() and badge.inner_text().strip() == "缺纸"
        shot(k2, "kiosk-k2-paper-out-tile")
        # the other kiosk's printer is fine: no badge there
        assert k1.get_by_test_id("take-printer").get_attribute("data-state") == "ready"
        assert not k1.get_by_test_id("take-printer").is_visible()
        # on the category screen the citizen is told before choosing
        k2.get_by_test_id("tile-take").click()
        note = k2.get_by_test_id("take-printer-note")
        note.wait_for()
        assert "缺纸" in note.inner_text() and "记住号码" in note.inner_text()
        k2.get_by_test_id("home").click()
    finally:
        _emu(hall, "printer-2").fault("paper ok")
    k2.wait_for_selector("[data-testid=take-printer][data-state=ready]", state="attached", timeout=LIVE_MS)
    assert not k2.get_by_test_id("take-printer").is_visible()


def test_kiosk_printer_unplugged_shows_offline(pages: BrowserPages, hall: Hall) -> None:
    k2 = _open(pages, "/kiosk/k2")
    _emu(hall, "printer-2").unplug()
    try:
        # the probe finds it gone (status timeout), then the worker reports offline
        k2.wait_for_selector("[data-testid=take-printer][data-state=offline]", timeout=15000)
        assert k2.get_by_test_id("take-printer").inner_text().strip() == "离线"
    finally:
        _emu(hall, "printer-2").replug()
    k2.wait_for_selector("[data-testid=take-printer][data-state=ready]", state="attached", timeout=15000)


def test_a_ticket_taken_at_k2_prints_on_k2s_printer(pages: BrowserPages, hall: Hall) -> None:
    k2 = _open(pages, "/kiosk/k2")
    default_before = len(_emu(hall, "printer").jobs)
    text = take_ticket(k2, "E")
    assert re.fullmatch(r"E\d{3}", text)
    k2.wait_for_selector("[data-testid=print-status][data-state=ok]", timeout=10000)
    assert any(text in j["text"] for j in _emu(hall, "printer-2").last_jobs(20))
    assert not any(text in j.text for j in list(_emu(hall, "printer").jobs)[default_before:])
