"""Hall broadcast, service-level targets and the Excel download in a real Chromium (issue 13 items 3, 4, 5).

One browser and one hall for the module (`browser_hall`, with the screens' tests' `Pages`,
so console errors fail a test). The manager sends from the manager page; the board and the kiosk
show the banner, lose it when it is withdrawn or expires; the LED emulator scrolls it; the board
and the manager page mark a category over its target in words.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hall.queue.clock import iso

from tests.browser_support import BROWSER_MARKS, Hall, Pages, browser_hall, shot, sign_in, wait_js
from tests.waiting import WAIT_SECONDS

pytestmark = BROWSER_MARKS

hall, browser, pages = browser_hall("broadcasthall", pages=Pages)


def banner_shows(page: Any, text: str) -> None:
    wait_js(page,
        "(t) => { const b = document.querySelector('[data-testid=broadcast-banner]');"
        " return b && !b.hidden && b.textContent.includes(t); }", arg=text, timeout=15000)


def banner_gone(page: Any) -> None:
    wait_js(page, "document.querySelector('[data-testid=broadcast-banner]').hidden", timeout=15000)


def led_lines(hall: Hall) -> list[str]:
    emu = hall.services.devices.emulators["led-board"]
    lines: list[str] = emu.lines()
    return lines


def test_manager_sends_a_broadcast_board_kiosk_and_led_show_it_until_withdrawn(pages: Pages, hall: Hall) -> None:
    board = pages.open("/board?chime=0", name="board-broadcast")
    kiosk = pages.open("/kiosk", name="kiosk-broadcast")
    page = pages.open("/manager#broadcast", name="manager-broadcast")
    sign_in(page, "9001", "hall-8888")
    msg = "系统维护，请稍候，预计十分钟后恢复"
    page.get_by_test_id("broadcast-message").fill(msg)
    page.get_by_test_id("broadcast-to-led").check()
    page.get_by_test_id("broadcast-send").click()
    page.get_by_test_id("broadcasts-active").get_by_text(msg).wait_for()
    banner_shows(board, msg)
    banner_shows(kiosk, msg)
    emu = hall.services.devices.emulators["led-board"]
    assert emu.wait_for(lambda e: bool(e.lines()) and e.lines()[-1] == msg, WAIT_SECONDS)
    shot(board, "board-broadcast")
    shot(kiosk, "kiosk-broadcast")
    shot(page, "manager-broadcast")
    # audited as the manager's act, with where it went
    rows = hall.services.db.conn.execute("SELECT actor, action FROM audit WHERE action LIKE 'broadcast.%'").fetchall()
    assert [tuple(r) for r in rows] == [("9001", "broadcast.send")]
    bid = hall.api("GET", "/api/broadcasts")[1]["broadcasts"][0]["id"]
    page.get_by_test_id(f"broadcast-withdraw-{bid}").click()
    banner_gone(board)
    banner_gone(kiosk)
    assert emu.wait_for(lambda e: bool(e.lines()) and e.lines()[-1].startswith("等候"), WAIT_SECONDS)
    page.get_by_test_id("broadcasts-table").get_by_text("已撤回").wait_for()


def test_a_broadcast_ends_on_the_screens_at_its_expiry(pages: Pages, hall: Hall) -> None:
    board = pages.open("/board?chime=0", name="board-expiry")
    kiosk = pages.open("/kiosk", name="kiosk-expiry")
    for page in (board, kiosk):             # both pages running (banner built, its first load asked) before sending
        page.wait_for_selector("[data-testid=broadcast-banner]", state="attached", timeout=15000)
    manager = hall.login("9001", "hall-8888")
    until = hall.services.clock.now() + timedelta(seconds=5)
    status, body = hall.api("POST", "/api/manage/broadcasts", {
        "message": "停电检修，暂停取号", "targets": ["board", "kiosk"], "expires_at": iso(until)}, manager)
    assert status == 201, body
    banner_shows(board, "停电检修")
    banner_shows(kiosk, "停电检修")
    banner_gone(board)                      # the service's expiry thread ends it and tells the screens
    banner_gone(kiosk)
    assert hall.services.broadcasts.get(body["broadcast"]["id"])["end_reason"] == "expired"


def test_board_and_manager_mark_a_category_over_its_target_in_words(pages: Pages, hall: Hall) -> None:
    status, ticket = hall.api("POST", "/api/tickets", {"category": "D"})
    assert status == 201, ticket
    # this citizen took a number 45 minutes ago (the demo hall's wait target is 30 minutes)
    with hall.services.db.write() as c:
        c.execute("UPDATE tickets SET issued_at = ? WHERE number = ? AND state = 'waiting'",
                  (iso(hall.services.clock.now() - timedelta(minutes=45)), ticket["number"]))
    board = pages.open("/board?chime=0", name="board-targets")
    mark = board.get_by_test_id("over-D")
    mark.wait_for(timeout=15000)
    assert "等候超时" in mark.inner_text()
    assert board.get_by_test_id("over-A").count() == 0
    page = pages.open("/manager", name="manager-targets")
    sign_in(page, "9001", "hall-8888")
    badge = page.get_by_test_id("over-target-D")
    badge.wait_for(timeout=15000)
    assert "等候超时" in badge.inner_text() and "目标 30 分钟" in badge.inner_text()
    shot(board, "board-over-target")
    page.get_by_test_id("tab-month").click()
    page.get_by_test_id("targets-table").wait_for(timeout=15000)
    assert "D " in page.get_by_test_id("targets-table").inner_text()
    # and the printed 一月一通报 carries the same table
    page.goto(hall.url + "/manager/report")
    page.get_by_test_id("report-targets").wait_for(timeout=15000)
    text = page.get_by_test_id("report-targets").inner_text()
    assert "D 自然资源、林业、住建" in text and "30 分钟" in text


def test_manager_downloads_the_monthly_workbook_from_the_month_tab(pages: Pages, hall: Hall, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    page = pages.open("/manager#month", name="manager-xlsx")
    sign_in(page, "9001", "hall-8888")
    page.get_by_test_id("xlsx-monthly").wait_for(timeout=15000)
    with page.expect_download(timeout=30000) as dl:
        page.get_by_test_id("xlsx-monthly").click()
    assert dl.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / dl.value.suggested_filename
    dl.value.save_as(saved)
    book = load_workbook(saved)
    assert book.sheetnames[:4] == ["总体情况", "各窗口", "工作人员", "业务类别"]
    rows = hall.services.db.conn.execute("SELECT target FROM audit WHERE action = 'export'").fetchall()
    assert any(r[0].startswith("月度通报-") and r[0].endswith(".xlsx") for r in rows)
