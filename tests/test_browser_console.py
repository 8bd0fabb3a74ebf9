"""Board and clerk console behaviour the fit check cannot see (issue 12 items 3, 4, 6), in Chromium.

- the board's call panel stops saying 请到…窗口 once its ticket is finished, transferred or the window pauses;
- the clerk's actions and current number stay in view at 1366×768 while case registration is open;
- staff date boxes show 2026-12-01 on a browser set to English, and take 2026/12/1 typed.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from tests.browser_support import BROWSER_MARKS, BrowserPages, Hall, browser_hall, shot, wait_js

pytestmark = BROWSER_MARKS
WAIT = 10000


hall, browser, pages = browser_hall("console", pages=partial(BrowserPages, speech=True))


def _hero(board: Any, state: str, text: str) -> str:
    wait_js(board,
        "([s, t]) => { const h = document.querySelector('[data-testid=hero]');"
        " return h.dataset.state === s && h.innerText.includes(t); }", arg=[state, text], timeout=WAIT)
    return str(board.get_by_test_id("hero").inner_text())


def test_board_call_panel_follows_the_ticket_and_the_window(pages: BrowserPages, hall: Hall) -> None:
    board = pages.open_in(pages.context({"width": 1920, "height": 1080}), "/board?chime=0", "board")
    wait_js(board, "window.hallBoard && window.hallBoard.live.snapshots > 0", timeout=WAIT)
    token = hall.login("1003", window=3)

    def call() -> str:
        hall.api("POST", "/api/tickets", {"category": "C"})
        status, body = hall.api("POST", "/api/windows/3/call", {}, token)
        assert status == 200, body
        number = str(body["ticket"]["number"])
        _hero(board, "calling", "请到 3 号窗口")
        assert board.get_by_test_id("hero-number").inner_text() == number
        return number

    # readable from ten metres: the called number is at least a fifth of the screen height
    call()
    size = board.evaluate("[parseFloat(getComputedStyle(document.querySelector('[data-testid=hero-number]')).fontSize),"
                          " innerHeight]")
    assert size[0] >= size[1] / 5, size

    assert hall.api("POST", "/api/windows/3/finish", {}, token)[0] == 200
    text = _hero(board, "ended", "3号窗口 · 已办结")
    assert "请到" not in text and "正在呼叫" not in text
    shot(board, "board-call-finished")

    call()
    assert hall.api("POST", "/api/windows/3/transfer", {"category": "A"}, token)[0] == 200
    assert "请到" not in _hero(board, "ended", "已转其他业务")

    call()
    assert hall.api("POST", "/api/windows/3/start", {}, token)[0] == 200
    assert hall.api("POST", "/api/windows/3/pause", {"reason": "临时离岗"}, token)[0] == 200
    assert "请到" not in _hero(board, "ended", "窗口暂停服务")
    # a reload (snapshot, not events) draws the same: the window's state decides
    board.reload()
    _hero(board, "ended", "窗口暂停服务")
    assert hall.api("POST", "/api/windows/3/resume", {}, token)[0] == 200
    _hero(board, "calling", "请到 3 号窗口")        # the ticket is still in service at window 3


def test_clerk_actions_stay_in_view_with_case_registration_open(pages: BrowserPages, hall: Hall) -> None:
    clerk = pages.open_in(pages.context({"width": 1366, "height": 768}), "/clerk?window=1", "clerk")
    clerk.get_by_test_id("staff-id").fill("1001")
    clerk.get_by_test_id("pin").fill("123456")
    clerk.get_by_test_id("win-1").click()
    clerk.get_by_test_id("login").click()
    hall.api("POST", "/api/tickets", {"category": "A"})
    clerk.get_by_test_id("act-call").click()
    clerk.wait_for_selector("[data-testid=act-start]:not([disabled])", timeout=WAIT)
    clerk.get_by_test_id("act-start").click()
    clerk.wait_for_selector("[data-testid=current-state].ok", timeout=WAIT)
    clerk.get_by_test_id("case-open").click()
    wait_js(clerk, "getComputedStyle(document.querySelector('.col-case')).transform === 'none'", timeout=WAIT)
    shot(clerk, "clerk-1366-case-drawer")
    # every action and the current number: inside the window and not under the drawer
    seen = clerk.evaluate("""() => [...document.querySelectorAll('.actions-grid .btn, [data-testid=current-number]')]
        .map((el) => { const r = el.getBoundingClientRect(); const x = r.left + r.width / 2, y = r.top + r.height / 2;
          const top = document.elementFromPoint(x, y);
          return [el.dataset.testid, r.bottom <= innerHeight && r.right <= innerWidth && r.top >= 0 && r.left >= 0,
                  !!top && (el === top || el.contains(top))]; })""")
    assert len(seen) == 10 and all(inside and on_top for _, inside, on_top in seen), seen
    # the drawer closes with Escape and gives the keyboard back to its button
    clerk.get_by_test_id("case-name").focus()
    clerk.keyboard.press("Escape")
    clerk.wait_for_selector("[data-testid=case-open][aria-expanded=false]", timeout=WAIT)
    assert clerk.evaluate("document.activeElement.dataset.testid") == "case-open"
    # F-keys still work while the drawer's inputs have the focus
    clerk.get_by_test_id("case-open").click()
    clerk.get_by_test_id("case-name").focus()
    clerk.keyboard.press("F5")                      # 办结
    clerk.wait_for_selector("[data-testid=current-number].cur-none", timeout=WAIT)


def test_staff_dates_are_chinese_on_an_english_browser(browser: Any, hall: Hall) -> None:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US", timezone_id="UTC")
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(hall.url + "/manager#appointments")
        page.get_by_test_id("staff-id").fill("9001")
        page.get_by_test_id("pin").fill("hall-8888")
        page.get_by_test_id("login").click()
        day = page.get_by_test_id("appt-day")
        day.wait_for(timeout=WAIT)
        today = hall.services.clock.today().isoformat()
        assert day.get_attribute("type") == "text" and day.input_value() == today   # not 12/06/2026
        # the masthead's date is Chinese too, whatever the browser's language
        assert "年" in page.locator(".masthead .date").inner_text()
        day.fill("2026/12/1")
        day.blur()
        assert day.input_value() == "2026-12-01"
        assert page.evaluate("document.querySelector('[data-testid=appt-day]').parentElement.value") == "2026-12-01"
        typed = page.evaluate("""async () => { const { normalDate } = await import('/screens/static/js/ui.js');
            return ['2026年2月30日', '2026年12月1日', '20261201', '12/01/2026'].map(normalDate); }""")
        assert typed == [None, "2026-12-01", "2026-12-01", None]     # no 30 February; no US order guessing
        assert not errors, errors
    finally:
        ctx.close()
