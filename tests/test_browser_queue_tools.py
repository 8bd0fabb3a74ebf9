"""The clerk console's queue tools in a real Chromium against a real hall: 挂起, 选号叫号, 恢复, 作废, coded pause.

One hall for the module (its own: window 1, categories A/E, with the emulated LED strip led-w1);
one Chromium for the module, with the screens' tests' `Pages`. The board (with the speech stub) and the LED emulator are
checked for what a citizen sees and hears.
"""

from __future__ import annotations

import time
from typing import Any

from tests.browser_support import BROWSER_MARKS, Hall, Pages, browser_hall, hotkey, shot, spoken, wait_js
from tests.waiting import wait_until

pytestmark = BROWSER_MARKS

CONSOLE = {"width": 1366, "height": 768}

hall, browser, pages = browser_hall("queuetools", pages=Pages)


def _spell(number: str) -> str:
    return number[0] + "".join("零一二三四五六七八九"[int(c)] for c in number[1:])


def _current_is(page: Any, number: str) -> None:
    wait_js(page, f"document.querySelector('[data-testid=current-number]').textContent === '{number}'")


def _console(pages: Pages, staff_id: str, window: int, name: str) -> Any:
    """A clerk console signed in at `window` (demo PIN)."""
    clerk = pages.open("/clerk", CONSOLE, name=name)
    clerk.get_by_test_id("staff-id").fill(staff_id)
    clerk.get_by_test_id("pin").fill("123456")
    clerk.get_by_test_id(f"win-{window}").click()
    clerk.get_by_test_id("login").click()
    return clerk


def _led_w1(hall: Hall) -> str:
    return " / ".join(hall.services.devices.emulators["led-w1"].lines())


def test_clerk_parks_chooses_resumes_and_cancels(pages: Pages, hall: Hall) -> None:
    numbers = [hall.api("POST", "/api/tickets", {"category": "A"})[1]["number"] for _ in range(4)]
    first, second, third, _fourth = numbers
    board = pages.open("/board", name="board")
    board.get_by_test_id("hero").wait_for()
    clerk = _console(pages, "1001", 1, "clerk")
    clerk.get_by_test_id("queue-tools").wait_for()
    clerk.locator(f"[data-testid=waiting-tickets] [data-number={third}]").wait_for()

    # call the first, start, then 挂起: it moves to the parked list; the board lists it under window 1
    hotkey(clerk, "F1", "call")
    _current_is(clerk, first)
    hotkey(clerk, "F4", "start")
    wait_js(clerk, "document.querySelector('[data-testid=current-state]').textContent.includes('办理')")
    clerk.get_by_test_id("act-park").click()
    clerk.get_by_test_id(f"resume-{first}").wait_for()
    _current_is(clerk, "当前没有叫号")
    wait_js(board, f"(document.querySelector('[data-testid=parked-1]') || {{}}).textContent"
                            f"?.includes('{first}')")
    assert wait_until(lambda: "欢迎办理" in _led_w1(hall)), _led_w1(hall)

    # 选号叫号 the third (a citizen who only needs a stamp), with a reason
    clerk.get_by_test_id(f"choose-{third}").click()
    clerk.get_by_test_id("choose-confirm").click()                    # no reason yet: refused in the dialog
    assert clerk.get_by_test_id("choose-dialog").is_visible()
    clerk.get_by_test_id("choose-reason-quick").click()
    clerk.get_by_test_id("choose-confirm").click()
    _current_is(clerk, third)
    wait_js(board, f"document.querySelector('[data-testid=hero-number]').textContent === '{third}'")
    assert wait_until(lambda: f"请{third}号" in _led_w1(hall)), _led_w1(hall)
    wait_js(clerk, f"!document.querySelector('[data-testid=waiting-tickets] [data-number={third}]')")

    # resume the parked one: refused while the third is called, so finish it first
    assert clerk.get_by_test_id(f"resume-{first}").is_disabled()
    hotkey(clerk, "F4", "start")
    wait_js(clerk, "document.querySelector('[data-testid=current-state]').textContent.includes('办理')")
    hotkey(clerk, "F5", "finish")
    _current_is(clerk, "当前没有叫号")
    wait_js(clerk, f"!document.querySelector('[data-testid=resume-{first}]').disabled")
    clerk.get_by_test_id(f"resume-{first}").click()
    _current_is(clerk, first)
    wait_js(board, f"document.querySelector('[data-testid=hero-number]').textContent === '{first}'")
    assert "请回到 1 号窗口" in board.get_by_test_id("hero-window").inner_text()
    wait_js(board, "!document.querySelector('[data-testid=parked-1]')")
    wait_js(board, "window.__speech.log.filter(e => e[0] === 'start').length >= 3", timeout=15000)
    said = spoken(board)
    assert said[-1] == f"请{_spell(first)}号回到1号窗口", said
    assert said[-2] == f"请{_spell(third)}号到1号窗口办理", said
    assert wait_until(lambda: f"请{first}号" in _led_w1(hall)), _led_w1(hall)
    # the hall's speaker (service-side voice) says it too, after the earlier calls, in order
    speaker = hall.services.devices.emulators["voice"]
    assert wait_until(lambda: any(x["text"] == f"请{first}号回到1号窗口" for x in list(speaker.history)), 60)
    texts = [x["text"] for x in list(speaker.history)]
    assert texts.index(f"请{third}号到1号窗口办理") < texts.index(f"请{first}号回到1号窗口"), texts
    led_board = hall.services.devices.emulators["led-board"]
    assert wait_until(lambda: f"请{first}号回到1号窗口" in led_board.lines()), led_board.lines()

    # 作废 the second: the citizen left
    clerk.get_by_test_id(f"cancel-{second}").click()
    clerk.get_by_test_id("cancel-reason-left").click()
    clerk.get_by_test_id("cancel-confirm").click()
    wait_js(clerk, f"!document.querySelector('[data-testid=waiting-tickets] [data-number={second}]')")
    assert second in clerk.get_by_test_id("status").inner_text()
    shot(clerk, "clerk-queue-tools")
    state = {t["number"]: t["state"] for t in (hall.services.engine.ticket_status(i)["ticket"] for i in range(1, 5))}
    assert state[second] == "cancelled" and state[first] == "serving" and state[third] == "done"

    # a coded pause: the picker asks for a reason, the board and the LED strip say why
    wait_js(clerk, "document.querySelector('[data-testid=current-state]').textContent.includes('办理')")
    hotkey(clerk, "F7", "pause")                                     # the resumed ticket is being served
    clerk.get_by_test_id("pause-reason-other").click()
    clerk.get_by_test_id("pause-confirm").click()                     # 其他 without words: refused
    assert clerk.get_by_test_id("pause-dialog").is_visible()
    clerk.get_by_test_id("pause-reason-meeting").click()
    clerk.get_by_test_id("pause-confirm").click()
    clerk.get_by_test_id("paused-note").wait_for()
    wait_js(board, "document.querySelector('[data-testid=window-1]').textContent.includes('会议')")
    assert wait_until(lambda: "暂停服务：会议" in _led_w1(hall)), _led_w1(hall)
    shot(board, "board-parked-paused")


def test_hot_key_pressed_while_an_action_is_in_flight_is_announced_not_lost(pages: Pages, hall: Hall) -> None:
    """A key pressed while the previous request is still on its way is not done, and the clerk is told so
    (it used to vanish): the call is held at the network until the console has answered the second key."""
    issued = hall.api("POST", "/api/tickets", {"category": "C"})[1]
    first = issued["number"]
    clerk = _console(pages, "1003", 3, "clerk-busy")
    clerk.get_by_test_id("act-call").wait_for()
    held: list[Any] = []
    clerk.route("**/api/windows/3/call", lambda route: held.append(route))   # released below
    hotkey(clerk, "F1", "call")
    wait_js(clerk, "document.querySelector('[data-testid=act-finish]').disabled")
    clerk.keyboard.press("F5")                                 # 办结, while the call is in flight
    toast = clerk.get_by_test_id("toast")
    toast.wait_for()
    text = toast.inner_text()
    assert "上一操作进行中" in text and "F5" in text and "办结" in text and "未执行" in text, text
    shot(clerk, "clerk-hotkey-while-busy")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        clerk.wait_for_timeout(20)                             # lets Playwright deliver the held route
    assert held, "the call never reached the network"
    held[0].continue_()
    _current_is(clerk, first)
    status, view = hall.api("GET", f"/api/tickets/{issued['ticket']['id']}")
    assert status == 200 and view["ticket"]["state"] == "called", view   # F5 did nothing behind the clerk's back
