"""The screens in a real Chromium against a real hall service: a citizen's visit end to end.

One browser and one server for the module; each test opens its own pages.
Tests keep to their own categories and windows so their order does not matter:
kiosk → F (window 2), calls → C (window 3, only C), rating → D (window 4).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import (
    BROWSER_MARKS,
    LANDSCAPE,
    PORTRAIT,
    Hall,
    Pages,
    browser_hall,
    hotkey,
    shot,
    spoken,
    take_ticket,
    wait_js,
)
from tests.waiting import wait_until

pytestmark = BROWSER_MARKS


def _policy_notice(h: Hall, _folder: Path) -> None:
    # a policy notice the manager published, for the kiosk's 政策宣传 and the board's ticker
    manager = h.login("9001", "hall-8888")
    status, body = h.api("POST", "/api/manage/notices", {
        "title": "城乡居民医保2027年度参保缴费开始", "kind": "policy",
        "body": "2027年度城乡居民基本医疗保险集中缴费期为即日起至12月31日，"
                "可在窗口、手机或村代办员处缴费。"}, manager)
    assert status == 201, body


hall, browser, pages = browser_hall("screens", prepare=_policy_notice, pages=Pages)


def printer_texts(hall: Hall) -> list[str]:
    emus = [e for e in hall.services.devices.emulators.values() if getattr(e, "kind", "") == "printer"]
    assert emus, "the demo hall has an emulated ticket printer"
    return [j["text"] for j in emus[0].last_jobs(50)]


# ---------------------------------------------------------------------- the citizen's visit
def test_citizen_takes_a_number_and_the_printer_prints_it(pages: Pages, hall: Hall) -> None:
    page = pages.open("/kiosk", name="kiosk")
    page.get_by_test_id("demo-banner").wait_for()            # emulated devices are never a silent stand-in
    text = take_ticket(page, "F")
    assert re.fullmatch(r"F\d{3}", text)
    # the on-screen ticket turns to "printed" once the printer worker reports it
    page.wait_for_selector("[data-testid=print-status][data-state=ok]", timeout=10000)
    assert any(text in t for t in printer_texts(hall)), printer_texts(hall)
    shot(page, "kiosk-landscape-ticket-printed")


def test_printer_failure_shows_the_number_and_offers_a_reprint(pages: Pages, hall: Hall) -> None:
    emu = next(e for e in hall.services.devices.emulators.values() if getattr(e, "kind", "") == "printer")
    emu.fault("paper out")
    try:
        page = pages.open("/kiosk", name="kiosk-paper-out")
        # the printer's probe must have noticed before the citizen presses
        assert wait_until(lambda: not hall.api("GET", "/api/printer")[1]["ready"], 30)
        page.get_by_test_id("tile-take").click()
        page.get_by_test_id("cat-F").click()
        page.wait_for_selector("[data-testid=print-status][data-state=bad]", timeout=10000)
        assert re.fullmatch(r"F\d{3}", page.get_by_test_id("ticket-number").inner_text())
        assert "打印失败" in page.get_by_test_id("print-status").inner_text()
        assert page.get_by_test_id("reprint").is_visible()
        shot(page, "kiosk-landscape-ticket-print-failed")
    finally:
        emu.fault("paper ok")


def test_clerk_calls_and_the_board_shows_and_announces_in_order(pages: Pages, hall: Hall) -> None:
    board = pages.open("/board?chime=1", name="board")
    wait_js(board, "window.hallBoard && window.hallBoard.live.snapshots > 0")
    first = hall.api("POST", "/api/tickets", {"category": "C"})[1]["number"]
    second = hall.api("POST", "/api/tickets", {"category": "C"})[1]["number"]

    clerk = pages.open("/clerk", name="clerk")
    # sign in with the on-screen keypad for the id and the physical keyboard for the PIN
    clerk.get_by_test_id("staff-id").click()
    for d in "1003":
        clerk.locator(f"[data-testid=keypad] [data-key='{d}']").click()
    clerk.get_by_test_id("pin").fill("123456")
    clerk.get_by_test_id("win-3").click()
    clerk.get_by_test_id("login").click()
    clerk.get_by_test_id("act-call").wait_for()
    clerk.keyboard.press("F1")                      # 叫号
    wait_js(clerk, f"document.querySelector('[data-testid=current-number]').textContent === '{first}'")
    wait_js(board, f"document.querySelector('[data-testid=hero-number]').textContent === '{first}'")
    assert "3 号窗口" in board.get_by_test_id("hero-window").inner_text()
    clerk.keyboard.press("F2")                      # 重呼
    clerk.wait_for_selector("[data-testid=status].ok")
    wait_js(board, "window.__speech.log.filter(e => e[0] === 'end').length >= 2", timeout=10000)
    spelled = first[0] + "".join("零一二三四五六七八九"[int(c)] for c in first[1:])
    assert spoken(board) == [f"请{spelled}号到3号窗口办理", f"请{spelled}号到3号窗口办理，重呼"]
    log = board.evaluate("window.__speech.log")
    assert [k for k, _, _ in log] == ["start", "end", "start", "end"], log   # one after the other, none cut off
    assert board.evaluate("window.__speech.cancels") == 0
    shot(board, "board-landscape-calling")
    shot(clerk, "clerk-console-called")

    # a network blip: the stream is cut while the clerk calls the next one; on return the board catches up
    board.route("**/api/events*", lambda route: route.abort())
    board.evaluate("window.hallBoard.live.reconnect()")
    board.get_by_test_id("offline-banner").wait_for(state="visible", timeout=10000)
    clerk.get_by_test_id("act-start").click()
    wait_js(clerk, "document.querySelector('[data-testid=current-state]').textContent.includes('办理')")
    hotkey(clerk, "F1", "call")
    wait_js(clerk, f"document.querySelector('[data-testid=current-number]').textContent === '{second}'")
    shot(board, "board-landscape-offline")
    board.unroute("**/api/events*")
    wait_js(board, f"document.querySelector('[data-testid=hero-number]').textContent === '{second}'",
                            timeout=20000)
    board.get_by_test_id("offline-banner").wait_for(state="hidden", timeout=10000)
    wait_js(board, "window.__speech.log.filter(e => e[0] === 'end').length >= 3", timeout=10000)
    spelled2 = second[0] + "".join("零一二三四五六七八九"[int(c)] for c in second[1:])
    assert spoken(board)[-1] == f"请{spelled2}号到3号窗口办理"
    assert board.locator("[data-testid=recent] li.newest").inner_text().startswith(second)

    # pausing the window shows on the board, in words
    hotkey(clerk, "F4", "start")                      # 开始办理
    wait_js(clerk, "document.querySelector('[data-testid=current-state]').textContent.includes('办理')")
    hotkey(clerk, "F7", "pause")                      # 暂停 → choose a reason
    clerk.get_by_test_id("pause-reason-break").click()   # coded reasons from the config: 休息
    clerk.get_by_test_id("pause-confirm").click()
    wait_js(board, "document.querySelector('[data-testid=window-3]').textContent.includes('暂停服务')")
    assert "休息" in board.get_by_test_id("window-3").inner_text()
    clerk.get_by_test_id("paused-note").wait_for()
    clerk.keyboard.press("F1")                      # refused while paused: the button is off
    assert clerk.get_by_test_id("act-call").is_disabled()
    # the pause request may still be finishing (buttons are off while busy): wait until 恢复 is live
    wait_js(clerk, "!document.querySelector('[data-testid=act-resume]').disabled")
    clerk.keyboard.press("F8")                      # 恢复
    wait_js(board, "!document.querySelector('[data-testid=window-3]').textContent.includes('暂停服务')")


def test_evaluator_records_a_bad_rating_with_a_reason(pages: Pages, hall: Hall) -> None:
    if hall.services.records is None:
        pytest.skip("records (ratings) service not enabled")
    jar = hall.login("1004", window=4)
    ticket = hall.serve(jar, 4, "D")

    tablet = pages.open("/evaluator/4", {"width": 1280, "height": 800}, name="evaluator")
    tablet.get_by_test_id("clerk-name").wait_for()
    assert "陈静" in tablet.get_by_test_id("clerk-name").inner_text()
    shot(tablet, "evaluator-idle")
    # no prompt: nothing to press
    assert tablet.get_by_test_id("levels").count() == 0

    # a prompt the clerk withdraws (or that expires) takes the tablet back to idle
    assert hall.api("POST", "/api/windows/4/rate-prompt", {}, jar)[0] == 201
    tablet.get_by_test_id("levels").wait_for()
    assert hall.api("DELETE", "/api/windows/4/rate-prompt", None, jar)[0] == 200
    tablet.get_by_test_id("idle").wait_for()

    status, body = hall.api("POST", "/api/windows/4/rate-prompt", {}, jar)
    assert status == 201, body
    tablet.get_by_test_id("level-very_bad").wait_for()
    for word in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert tablet.get_by_text(word, exact=True).count() == 1      # words, not colour alone
    assert tablet.locator(".level svg.face").count() == 5              # and faces
    shot(tablet, "evaluator-prompt")
    tablet.get_by_test_id("level-very_bad").click()
    submit = tablet.get_by_test_id("submit")
    assert submit.is_disabled()                                         # a 差评 needs a reason
    tablet.locator("[data-testid=reasons] .chip").first.click()
    shot(tablet, "evaluator-reasons")
    submit.click()
    tablet.get_by_test_id("thanks").wait_for()
    shot(tablet, "evaluator-thanks")
    rows = hall.services.db.conn.execute(
        "SELECT level, channel, window, reasons FROM ratings WHERE ticket_id = ?", (ticket["id"],)).fetchall()
    assert [tuple(r)[:3] for r in rows] == [("非常不满意", "平板", 4)]
    assert rows[0][3] != "[]"
    tablet.get_by_test_id("idle").wait_for(timeout=10000)   # back to idle after the thanks


def _id_number(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def test_clerk_registers_a_case_and_the_kiosk_shows_its_progress_masked(pages: Pages, hall: Hall) -> None:
    if hall.services.records is None:
        pytest.skip("records (cases) service not enabled")
    id_no = _id_number("43022419570302002")
    clerk = pages.open("/clerk?window=5", name="clerk-case")
    clerk.get_by_test_id("staff-id").fill("1001")
    clerk.get_by_test_id("pin").fill("123456")
    clerk.get_by_test_id("pin").press("Enter")
    clerk.get_by_test_id("case-item").fill("dbsq")              # pinyin initials find 最低生活保障申请
    clerk.locator(".suggest-list button", has_text="最低生活保障申请").click()
    clerk.get_by_test_id("case-name").fill("张三丰")
    clerk.get_by_test_id("case-cert").fill(id_no)
    clerk.get_by_test_id("case-phone").fill("13812345678")
    clerk.get_by_test_id("case-submit").click()
    done = clerk.get_by_test_id("case-done")
    done.wait_for()
    receipt = re.search(r"回执号 (\w+)", done.inner_text())
    assert receipt, done.inner_text()
    assert clerk.get_by_test_id("case-name").input_value() == ""          # the citizen's data left the form
    assert "张三丰" not in clerk.locator("body").inner_text()             # the list shows masked names
    shot(clerk, "clerk-case-registered")

    kiosk = pages.open("/kiosk", name="kiosk-progress")
    kiosk.get_by_test_id("tile-progress").click()
    for ch in receipt.group(1):
        kiosk.locator(f"[data-testid=keyboard] [data-key='{ch.upper()}']").first.click()
    kiosk.get_by_test_id("query").click()
    result = kiosk.get_by_test_id("case-result")
    result.wait_for()
    text = result.inner_text()
    assert "最低生活保障申请" in text and "受理" in text and "张*" in text
    assert "张三丰" not in text and id_no not in kiosk.content() and "13812345678" not in kiosk.content()
    shot(kiosk, "kiosk-landscape-progress-result")


def test_appointment_check_in_gives_a_ticket_in_the_appointment_lane(pages: Pages, hall: Hall) -> None:
    if hall.services.records is None:
        pytest.skip("records (appointments) service not enabled")
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = now - timedelta(minutes=5)
    end = max(now + timedelta(minutes=55), start + timedelta(minutes=1))
    if end.date() != start.date():
        pytest.skip("too close to midnight for a same-day slot")
    manager = hall.login("9001", "hall-8888")
    status, body = hall.api("POST", "/api/appointments", {
        "category": "B", "slot_start": start.isoformat(), "slot_end": end.isoformat(),
        "name": "李四", "phone": "13900001111"}, manager)
    assert status == 201, body
    code = body["appointment"]["code"]

    kiosk = pages.open("/kiosk", name="kiosk-appointment")
    kiosk.get_by_test_id("tile-appointment").click()
    for ch in code:
        kiosk.locator(f"[data-testid=keyboard] [data-key='{ch}']").first.click()
    kiosk.get_by_test_id("check-in").click()
    number = kiosk.get_by_test_id("ticket-number")
    number.wait_for()
    assert re.fullmatch(r"B\d{3}", number.inner_text())
    assert "预约" in kiosk.get_by_test_id("ticket").inner_text()
    shot(kiosk, "kiosk-landscape-appointment-ticket")


# ---------------------------------------------------------------------- kiosk behaviour
def test_idle_timeout_returns_home_and_clears_input(pages: Pages) -> None:
    page = pages.open("/kiosk?idle=2", name="kiosk-idle")
    page.get_by_test_id("tile-guide").click()
    page.wait_for_selector("body[data-view=guide]")
    assert "秒后自动返回首页" in page.get_by_test_id("countdown").inner_text()
    page.get_by_test_id("toggle-large").click()
    page.wait_for_selector("body[data-view=home]")
    assert page.evaluate("document.documentElement.classList.contains('large')") is False   # reset for the next person

    # mid-input: never cleared silently; it asks first, then clears
    page.get_by_test_id("tile-progress").click()
    page.locator("[data-testid=keyboard] [data-key='7']").click()
    assert page.get_by_test_id("progress-input").input_value() == "7"
    page.get_by_test_id("still-there").wait_for()
    assert page.evaluate("document.body.dataset.view") == "progress"
    page.wait_for_selector("body[data-view=home]")
    assert page.get_by_test_id("progress-input").count() == 0


_MEASURE = (Path(__file__).parent / "browser_measure.js").read_text(encoding="utf-8")

# Each kiosk screen as a short walk from home; the same walks take the screenshots.
KIOSK_WALKS: dict[str, list[str]] = {
    "home": [],
    "take": ["tile-take"],
    "take-priority": ["tile-take", "lane-priority"],
    "ticket": ["tile-take", "cat-A", "wait:ticket-number"],
    "guide": ["tile-guide"],
    "guide-department": ["tile-guide", "guide-department"],
    "guide-search": ["tile-guide", "guide-search", "key:D", "key:B", "key:S", "key:Q", "wait:search-count"],
    "item-materials": ["tile-guide", "item:first"],
    "item-process": ["tile-guide", "item:first", "item-tab-process"],
    "item-basics": ["tile-guide", "item:first", "item-tab-basics"],
    "progress": ["tile-progress", "key:2"],
    "appointment": ["tile-appointment"],
    "rate": ["tile-rate"],
    "suggest": ["tile-suggest", "chip:first"],
    "scan": ["tile-scan"],
    "board-staff": ["tile-board"],
    "board-rules": ["tile-board", "board-rules"],
    "board-map": ["tile-board", "board-map"],
    "board-notices": ["tile-board", "board-notices"],
}


SETTLED = """() => {
  const busy = [...document.querySelectorAll('.screen .empty')].some((e) => e.textContent.includes('正在加载'));
  return !busy && document.fonts.status === 'loaded';
}"""


def walk(page: Any, steps: list[str]) -> None:
    page.evaluate("window.hallKiosk.goHome()")
    for step in steps:
        if step.startswith("key:"):
            page.locator(f"[data-testid=keyboard] [data-key='{step[4:]}']").first.click()
        elif step == "item:first":
            page.locator(".item-row").first.click()
            page.get_by_test_id("item-panel").wait_for()
        elif step.startswith("wait:"):
            wait_js(page, f"(document.querySelector('[data-testid={step[5:]}]')?.textContent || '') !== ''")
        elif step == "chip:first":
            page.locator("[data-testid=reasons] .chip").first.click()
        else:
            page.get_by_test_id(step).click()
    wait_js(page, SETTLED)     # fetched content in place before measuring or taking the picture


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_large_mode_meets_the_size_and_contrast_rules(pages: Pages, orientation: str) -> None:
    """长辈模式: body ≥ 18 pt (24 px), main buttons ≥ 30 pt (40 px), targets ≥ 60×60, contrast ≥ 4.5:1."""
    size = LANDSCAPE if orientation == "landscape" else PORTRAIT
    page = pages.open("/kiosk?idle=600", size, name=f"kiosk-large-{orientation}")
    page.get_by_test_id("toggle-large").click()
    problems: dict[str, Any] = {}
    for name, steps in KIOSK_WALKS.items():
        walk(page, steps)
        found = page.evaluate(_MEASURE)
        box = page.get_by_test_id("toggle-voice").bounding_box()
        if not (box and box["x"] > size["width"] * 0.6 and box["y"] > size["height"] * 0.85):
            found["togglesMoved"] = [str(box)]
        found = {k: v for k, v in found.items() if v}
        if found:
            problems[name] = found
        shot(page, f"kiosk-{orientation}-large-{name}")
    assert not problems, problems


STAFF_ROUTES = re.compile(r"/api/(session|windows/\d+/(call|recall|no-show|start|finish|transfer|pause|resume"
                          r"|rate-prompt|call-chosen|park|parked/\d+/resume|tickets/\d+/cancel|waiting)|manage|devices|cases(?!/progress)|queue/figures|printer/emulator)")
STAFF_WORDS = ("叫号", "重呼", "过号", "办结", "暂停", "登录")


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_every_kiosk_screen_in_both_orientations(pages: Pages, orientation: str) -> None:
    """Screenshots of each screen; each keeps 返回首页 and the toggles in place; no staff action anywhere."""
    size = LANDSCAPE if orientation == "landscape" else PORTRAIT
    page = pages.open("/kiosk?idle=600", size, name=f"kiosk-{orientation}")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    for name, steps in KIOSK_WALKS.items():
        walk(page, steps)
        if name != "home":
            assert page.get_by_test_id("home").is_visible(), name
        box = page.get_by_test_id("toggle-voice").bounding_box()
        assert box and box["x"] > size["width"] * 0.6 and box["y"] > size["height"] * 0.85, name
        labels = {t.split("\n")[0].strip() for t in page.locator("button:visible").all_inner_texts()}
        assert not labels & set(STAFF_WORDS), (name, labels)
        shot(page, f"kiosk-{orientation}-{name}")
    assert not [r for r in requests if STAFF_ROUTES.search(r)], requests


def test_board_and_tablet_make_no_staff_requests(pages: Pages) -> None:
    requests: list[str] = []
    for path in ("/board?chime=0", "/evaluator/1"):
        page = pages.open(path, name=f"roles {path}")
        page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
        # both pages end their start-up by opening the live stream: wait for that, not for a fixed time
        with page.expect_request(lambda r: "/api/events" in r.url, timeout=30000):
            page.reload()
        page.wait_for_load_state("load")
        labels = {t.split("\n")[0].strip() for t in page.locator("button").all_inner_texts()}
        assert not labels & set(STAFF_WORDS), (path, labels)
    assert not [r for r in requests if STAFF_ROUTES.search(r)], requests


def test_a_full_category_says_so_in_words(pages: Pages, hall: Hall) -> None:
    """今日已满: shown in words and the tile cannot be taken (the service also refuses, 409)."""
    import json

    snap = hall.api("GET", "/api/queue")[1]
    for c in snap["categories"]:
        if c["prefix"] == "D":
            c.update(full=True, remaining=0)
    page = pages.open("/kiosk", name="kiosk-full")
    page.route("**/api/queue", lambda route: route.fulfill(status=200, content_type="application/json",
                                                            body=json.dumps(snap)))
    page.get_by_test_id("tile-take").click()
    tile = page.get_by_test_id("cat-D")
    wait_js(page, "document.querySelector('[data-testid=cat-D]').getAttribute('aria-disabled') === 'true'")
    assert "今日已满" in tile.inner_text()
    tile.click(force=True)                                             # a citizen presses it anyway
    assert page.evaluate("document.body.dataset.view") == "take"       # no ticket screen
    assert "今日" in page.get_by_test_id("toast").inner_text()


def test_voice_reads_the_screen_in_mandarin(pages: Pages) -> None:
    page = pages.open("/kiosk?idle=600", name="kiosk-voice")
    page.get_by_test_id("toggle-voice").click()
    page.get_by_test_id("tile-take").click()
    wait_js(page, "window.__speech.log.some(e => e[1].includes('请点选要办理的业务类别'))")
    assert any("取号" in t for t in spoken(page))              # the pressed tile is read out too


def test_other_screens(pages: Pages) -> None:
    page = pages.open("/", name="index")
    page.get_by_test_id("go-kiosk").wait_for()
    shot(page, "index")
    board = pages.open("/board?chime=0", PORTRAIT, name="board-portrait")
    wait_js(board, "window.hallBoard.live.snapshots > 0")
    assert "医保" in board.get_by_test_id("ticker").inner_text()     # the manager's notice scrolls
    shot(board, "board-portrait")
    clerk = pages.open("/clerk", {"width": 1366, "height": 768}, name="clerk-login")
    clerk.get_by_test_id("login").click()
    clerk.get_by_test_id("login-error").wait_for()
    shot(clerk, "clerk-login-error")
