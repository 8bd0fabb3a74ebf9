"""受理回执 and 一次性告知单 (issue 11 item 5): the receipt page's data and QR, read back through the kiosk's
camera and progress query; the 告知单 slip's ESC/POS bytes on the asking kiosk's printer; the A4 page."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hall.config.loader import demo_config_path, load_config
from hall.queue.clock import FixedClock
from hall.services import Services, build_services

from tests.conftest import T0, pair_device
from tests.waiting import WAIT_SECONDS, wait_until

DEMO = demo_config_path().read_text(encoding="utf-8")
FAST = "probe_interval = 0.05, status_timeout = 0.4, reconnect_max = 0.2"
ITEM = "11430224MB0DEMO00X05105001000001"       # 临时救助申请 in the demo catalog (category B)
ID = "11010519491231002X"
PHONE = "13812345678"


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The demo hall with its two kiosk printers and a document camera, all emulated; no county link."""
    tmp = tmp_path_factory.mktemp("receipts")
    text = re.sub(r"\[\[devices\]\][^\[]*", "", DEMO)
    text = re.sub(r'endpoint = "emulator://".*\n', "", text)
    text = re.sub(r"(?m)^idcard = .*\n", "", text)         # the kiosks' card readers are devices too
    text += (f'\n[[devices]]\nname = "printer"\nkind = "printer"\nurl = "emulator://"\n'
             f'options = {{ qr = "native", {FAST} }}\n'
             f'\n[[devices]]\nname = "printer-2"\nkind = "printer"\nurl = "emulator://"\n'
             f'options = {{ profile = "POS-5890", cut = true, {FAST} }}\n'
             '\n[[devices]]\nname = "camera"\nkind = "camera"\nurl = "emulator://"\n'
             'options = { emulator_width = 1280, emulator_height = 720, idle_timeout = 2 }\n')
    (tmp / "hall.toml").write_text(text, encoding="utf-8")
    svc = build_services(load_config(tmp / "hall.toml"), tmp, clock=FixedClock(T0))
    svc.start()
    assert wait_until(lambda: all(d.state == "ready" for d in svc.devices.by_kind("printer")))
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def api(hall: Services) -> Any:
    from hall.web.app import create_app

    return create_app(hall, {"TESTING": True}).test_client(use_cookies=False)


def _clerk(api: Any, window: int = 2) -> dict[str, str]:
    r = api.post("/api/session", json={"staff_id": "1002", "pin": "123456", "window": window})
    assert r.status_code == 201, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


@pytest.fixture(scope="module")
def case(hall: Services, api: Any) -> dict[str, Any]:
    """A 临时救助申请 registered by the clerk at window 2 for the citizen being served."""
    h = _clerk(api)
    t = api.post("/api/tickets", json={"category": "B"})
    assert t.status_code == 201
    # its ticket is on the default printer's paper before any test counts that printer's jobs
    assert wait_until(lambda: hall.engine.ticket_status(t.get_json()["ticket"]["id"])["ticket"]["print_status"]
                      == "printed")
    assert api.post("/api/windows/2/call", headers=h).status_code == 200
    assert api.post("/api/windows/2/start", headers=h).status_code == 200
    r = api.post("/api/cases", headers=h, json={
        "item_code": ITEM, "item_name": "临时救助申请", "limit_value": 10, "limit_unit": "工作日", "category": "B",
        "applicant": {"name": "张桂英", "cert_type": "111", "cert_no": ID, "phone": PHONE}})
    assert r.status_code == 201, r.get_json()
    data: dict[str, Any] = r.get_json()["case"]
    return data


def _decode_png(data_uri: str) -> str:
    import zxingcpp
    from PIL import Image

    assert data_uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    found = zxingcpp.read_barcodes(img)
    assert len(found) == 1
    return str(found[0].text)


def test_receipt_page_holds_the_case_masked(hall: Services, api: Any, case: dict[str, Any]) -> None:
    r = api.get(f"/clerk/cases/{case['id']}/receipt", headers=_clerk(api))
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = html.unescape(r.get_data(as_text=True))
    assert case["receipt_no"] in page and "临时救助申请" in page
    assert "张**" in page and "张桂英" not in page and ID not in page and PHONE not in page
    assert case["promised_finish_at"][:10] in page and "10个工作日" in page
    assert hall.config.hall.phone and hall.config.hall.phone in page         # the hall's phone
    assert "@page" in api.get("/screens/static/css/printout.css").get_data(as_text=True)


def test_receipt_qr_read_by_the_kiosk_camera_finds_the_case(hall: Services, api: Any, case: dict[str, Any]) -> None:
    page = api.get(f"/clerk/cases/{case['id']}/receipt", headers=_clerk(api)).get_data(as_text=True)
    src = re.search(r'<img data-testid="receipt-qr" src="([^"]+)"', page)
    assert src is not None
    payload = _decode_png(src.group(1))
    # a link at the hall's public address that a phone on the LAN opens
    assert payload.startswith(("http://", "https://")) and payload.endswith("/c/" + case["receipt_no"])
    # the printed receipt under the document camera → the kiosk's 办件进度
    hall.devices.emulators["camera"].fault(f"payload {payload}")
    scan = api.post("/api/camera/scan", json={"symbologies": ["qr"]})
    assert scan.status_code == 200, scan.get_json()
    assert scan.get_json()["text"] == payload
    r = api.get("/api/cases/progress", query_string={"q": scan.get_json()["text"]})
    assert r.status_code == 200, r.get_json()
    found = r.get_json()["case"]
    assert found["receipt_no"] == case["receipt_no"] and found["status"] == "受理"
    assert found["applicant_name"] == "张**"
    # the phone's view of the same link: masked progress, no login
    phone = api.get("/c/" + case["receipt_no"])
    text = html.unescape(phone.get_data(as_text=True))
    assert phone.status_code == 200 and "受理" in text and case["receipt_no"] in text and "张桂英" not in text
    assert api.get("/c/20260101999ZZZ").status_code == 404


def test_receipt_needs_a_clerk_who_may_see_the_case(api: Any, case: dict[str, Any]) -> None:
    assert api.get(f"/clerk/cases/{case['id']}/receipt").status_code == 401
    other = api.post("/api/session", json={"staff_id": "1003", "pin": "123456", "window": 3})
    assert other.status_code == 201
    r = api.get(f"/clerk/cases/{case['id']}/receipt",
                headers={"Authorization": f"Bearer {other.get_json()['token']}"})
    assert r.status_code == 403


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_notice_slip_prints_the_materials_on_that_kiosks_printer(hall: Services, api: Any) -> None:
    item = hall.catalog.current.get(ITEM)
    assert item is not None
    emu, other = hall.devices.emulators["printer-2"], hall.devices.emulators["printer"]
    before, before_other = len(emu.jobs), len(other.jobs)
    r = api.post(f"/api/catalog/items/{ITEM}/notice/print", json={"kiosk": "k2"}, headers=pair_device(api, kiosk="k2"))
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["printer"]["name"] == "printer-2"
    assert emu.wait_for_jobs(before + 1, WAIT_SECONDS)
    job = emu.jobs[-1]
    assert b"\x1c\x26" in bytes(job.raw)                # Chinese mode: the text went out as GB18030
    text = _flat(job.text)
    assert "一次性告知单" in text and _flat(item.name) in text
    for m in item.materials:
        assert _flat(m.name) in text
        if m.originals:
            assert f"原件{m.originals}份" in text
        if m.copies:
            assert f"复印件{m.copies}份" in text
    for must in (_flat(item.promised_limit.text), _flat(item.location), _flat(item.hours), item.phone.replace(" ", "")):
        assert must in text
    assert len(other.jobs) == before_other              # nothing on the other kiosk's printer


def test_notice_print_refuses_unknown_items_and_kiosks(api: Any) -> None:
    k1 = pair_device(api, kiosk="k1")          # a paired kiosk asks (unpaired: tests/test_lan_followups.py)
    r = api.post("/api/catalog/items/NOPE12345678/notice/print", json={}, headers=k1)
    assert r.status_code == 404 and "未找到该事项" in r.get_json()["error"]["message"]
    assert api.post(f"/api/catalog/items/{ITEM}/notice/print", json={"kiosk": "k9"}).status_code == 404


def test_notice_a4_page_lists_materials_conditions_and_fee(hall: Services, api: Any) -> None:
    item = hall.catalog.current.get(ITEM)
    assert item is not None
    r = api.get(f"/guide/{ITEM}/notice")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = html.unescape(r.get_data(as_text=True))
    for m in item.materials:
        assert m.name in page
    assert item.conditions[0] in page and item.fee.text in page and item.hours in page and item.location in page
    assert api.get("/guide/NOPE12345678/notice").status_code == 404
