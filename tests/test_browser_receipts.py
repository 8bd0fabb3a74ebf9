"""The 受理回执 in a real Chromium on the demo hall: the clerk registers a case at the console and opens
its receipt; the receipt's QR (decoded from the page's own image) goes under the kiosk's emulated document
camera, and the kiosk's 办件进度 reads it back to the case. The kiosk's guide prints the item's
一次性告知单 on that kiosk's own printer."""

from __future__ import annotations

import base64
import io
import re

from hall.drivers.idcard.record import id_check_char

from tests.browser_support import BROWSER_MARKS, LANDSCAPE, BrowserPages, Hall, browser_hall, shot
from tests.waiting import WAIT_SECONDS

pytestmark = BROWSER_MARKS

CONSOLE = {"width": 1366, "height": 768}
ITEM = "11430224MB0DEMO00X05105001000001"       # 临时救助申请


hall, browser, pages = browser_hall("receipts")


def _decode(data_uri: str) -> str:
    import zxingcpp
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    found = zxingcpp.read_barcodes(img)
    assert len(found) == 1
    return str(found[0].text)


def test_clerk_prints_a_receipt_whose_qr_the_kiosk_camera_reads_back(pages: BrowserPages, hall: Hall) -> None:
    ctx = pages.context(CONSOLE)
    clerk = pages.open_in(ctx, "/clerk?window=3", "clerk")
    clerk.get_by_test_id("staff-id").fill("1004")
    clerk.get_by_test_id("pin").fill("123456")
    clerk.get_by_test_id("pin").press("Enter")
    clerk.get_by_test_id("case-open").click()          # 受理登记 opens the registration drawer
    clerk.get_by_test_id("case-item").fill("临时救助")
    clerk.locator(".suggest-list button", has_text="临时救助申请").click()
    notice = clerk.get_by_test_id("case-notice")
    assert notice.get_attribute("href") == f"/guide/{ITEM}/notice?print=1"
    clerk.get_by_test_id("case-name").fill("李秀兰")
    clerk.get_by_test_id("case-cert").fill("43022419570302002" + id_check_char("43022419570302002"))
    clerk.get_by_test_id("case-submit").click()
    done = clerk.get_by_test_id("case-done")
    clerk.wait_for_selector("[data-testid=case-done], .case-result .note.bad")
    assert done.count() == 1, clerk.inner_text(".case-result")
    receipt_no = re.search(r"回执号 (\w+)", done.inner_text())
    assert receipt_no, done.inner_text()
    href = done.get_by_test_id("case-receipt").get_attribute("href")
    assert href is not None and href.endswith("/receipt?print=1")

    # the receipt page, as the clerk's browser opens it (same session); without ?print=1 the test's
    # browser shows it instead of opening a print dialog
    page = pages.open_in(ctx, href.replace("?print=1", ""), "receipt")
    page.get_by_test_id("receipt").wait_for()
    text = page.inner_text("[data-testid=receipt]")
    assert receipt_no.group(1) in text and "临时救助申请" in text and "李**" in text and "李秀兰" not in text
    shot(page, "clerk-receipt")
    payload = _decode(page.get_attribute("[data-testid=receipt-qr]", "src") or "")
    assert payload.endswith("/c/" + receipt_no.group(1))

    # the printed receipt under the kiosk's document camera
    hall.services.devices.emulators["camera"].fault(f"payload {payload}")
    kiosk = pages.open_in(pages.context(LANDSCAPE), "/kiosk/k1", "kiosk")
    kiosk.get_by_test_id("tile-progress").click()
    kiosk.get_by_test_id("scan-qr").click()
    result = kiosk.get_by_test_id("case-result")
    result.wait_for(timeout=20000)
    found = result.inner_text()
    assert "临时救助申请" in found and "受理" in found and "李秀兰" not in found
    shot(kiosk, "kiosk-progress-from-receipt-qr")


def test_kiosk_guide_prints_the_notice_on_its_own_printer(pages: BrowserPages, hall: Hall) -> None:
    emu = hall.services.devices.emulators["printer-2"]      # kiosk k2's printer
    before = len(emu.jobs)
    kiosk = pages.open_in(pages.context(LANDSCAPE), "/kiosk/k2", "kiosk-guide")
    kiosk.get_by_test_id("tile-guide").click()
    kiosk.locator(".guide-side [data-key=B]").click()
    kiosk.get_by_test_id(f"item-{ITEM}").click()
    kiosk.get_by_test_id("print-notice").click()
    assert emu.wait_for_jobs(before + 1, WAIT_SECONDS)
    slip = re.sub(r"\s+", "", emu.jobs[-1].text)
    assert "一次性告知单" in slip and "临时救助申请书" in slip and "原件1份" in slip


def test_manager_uploads_a_face_and_rules_the_kiosk_and_evaluator_show(pages: BrowserPages, hall: Hall) -> None:
    """公示栏 (issue 11 item 7): the manager's upload and rules text appear on the kiosk and the window tablet."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (900, 1200), (20, 90, 160)).save(buf, format="JPEG")
    ctx = pages.context(CONSOLE)
    manager = pages.open_in(ctx, "/manager", "manager")
    manager.get_by_test_id("staff-id").fill("9001")
    manager.get_by_test_id("pin").fill("hall-8888")
    manager.get_by_test_id("login").click()
    manager.get_by_test_id("tab-faces").click()
    manager.get_by_test_id("photo-file-1001").set_input_files(
        files=[{"name": "face.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}])
    manager.locator("[data-testid=face-item-1001] img").wait_for()
    manager.get_by_test_id("rules-text").fill("首问负责制：第一位接待的人负责到底。\n办事不求人：按指南办理，无需托人。")
    manager.get_by_test_id("rules-save").click()
    manager.get_by_text("已保存").first.wait_for()
    shot(manager, "manager-faces")

    token = hall.login("1001", window=1)
    assert token
    kiosk = pages.open_in(pages.context(LANDSCAPE), "/kiosk", "kiosk-board")
    kiosk.get_by_test_id("tile-board").click()
    kiosk.locator("[data-testid=staff-grid] [data-testid=face-1001] img").wait_for(timeout=15000)
    kiosk.get_by_test_id("board-rules").click()
    kiosk.get_by_test_id("rules").get_by_text("办事不求人").wait_for()
    shot(kiosk, "kiosk-board-rules")
    tablet = pages.open_in(pages.context({"width": 1280, "height": 800}), "/evaluator/1", "evaluator")
    tablet.locator("[data-testid=idle] [data-testid=face-1001] img").wait_for(timeout=15000)
