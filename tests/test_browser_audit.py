"""The manager's audit tab in a real Chromium: a day's staff actions, filtered, exported, chain checked."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.browser_support import BROWSER_MARKS, Hall, Pages, browser_hall, shot, sign_in, wait_js

pytestmark = BROWSER_MARKS


def _clerks_morning(h: Hall, _folder: Path) -> None:
    # a clerk's morning at window 3, with a wrong PIN first
    status, _ = h.api("POST", "/api/session", {"staff_id": "1003", "pin": "000000", "window": 3})
    assert status == 401
    clerk = h.login("1003", window=3)
    for _ in range(2):
        h.api("POST", "/api/tickets", {"category": "C"})
    for step in ("call", "start", "finish", "call", "no-show"):
        assert h.api("POST", f"/api/windows/3/{step}", {}, clerk)[0] == 200, step
    assert h.api("POST", "/api/windows/3/pause", {"reason": "午间休息"}, clerk)[0] == 200


hall, browser, pages = browser_hall("audithall", prepare=_clerks_morning, pages=Pages)


def _sign_in(page: Any) -> None:
    sign_in(page, "9001", "hall-8888")


def test_the_manager_sees_a_days_actions_filters_them_and_exports_them(pages: Pages, hall: Hall,
                                                                        tmp_path: Path) -> None:
    page = pages.open("/manager", name="manager-audit")
    _sign_in(page)
    page.get_by_test_id("tab-audit").click()
    table = page.get_by_test_id("audit-table")
    table.wait_for()
    text = table.inner_text()
    for word in ("密码错误", "登录", "上岗", "叫号", "开始办理", "办结", "暂停服务", "刘洋（1003）", "127.0.0.1"):
        assert word in text, word
    chain = page.get_by_test_id("audit-chain")
    chain.get_by_text("哈希链校验通过").wait_for()
    # only the calls of clerk 1003
    page.get_by_test_id("audit-actor").select_option("1003")
    page.get_by_test_id("audit-action").select_option("ticket")
    page.get_by_test_id("audit-apply").click()
    wait_js(page, "() => { const t = document.querySelector('[data-testid=audit-table]');"
                           " return t && !t.innerText.includes('暂停服务'); }")
    rows = page.locator("[data-testid=audit-table] tbody tr")
    actions = [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]
    assert sorted(actions) == sorted(["叫号", "开始办理", "办结", "叫号", "过号顺延"]), actions
    shot(page, "manager-audit")
    with page.expect_download() as dl:
        page.get_by_test_id("audit-csv").click()
    path = tmp_path / "audit.csv"
    dl.value.save_as(path)
    csv_text = path.read_text(encoding="utf-8-sig")
    assert csv_text.count("ticket.") == 5 and "刘洋（1003）" in csv_text
    # the export itself is on the record
    db = sqlite3.connect(hall.services.data_dir / "hall.db")
    assert db.execute("SELECT actor FROM audit WHERE action = 'audit.export'").fetchall() == [("9001",)]
    db.close()
