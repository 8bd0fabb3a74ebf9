"""The screens blueprint: pages, their static files, the QR helper, and what the pages may know."""

from __future__ import annotations

import json
import re
from typing import Any

from tests import records_support
from tests.conftest import login
from tests.conftest import page_data as _page_data

# the pages need no devices: the conftest client on a service without device workers (fast)
services = records_support.services


def test_every_screen_is_served(client: Any) -> None:
    for path, screen in (("/", "index"), ("/kiosk", "kiosk"), ("/board", "board"), ("/clerk", "clerk"),
                         ("/evaluator/1", "evaluator")):
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.get_data(as_text=True)
        assert f'data-screen="{screen}"' in html
        assert f"/screens/static/js/{screen}.js" in html
        assert _page_data(html)["hall"] == "示范镇便民服务中心"


def test_unknown_evaluator_window_is_404(client: Any) -> None:
    assert client.get("/evaluator/99").status_code == 404


def test_static_assets_are_local(client: Any) -> None:
    html = client.get("/kiosk").get_data(as_text=True)
    assert "http://" not in html and "https://" not in html, "pages must not load anything from outside the hall"
    for asset in ("css/theme.css", "css/kiosk.css", "js/kiosk.js", "js/ui.js", "i18n/kiosk.js", "img/favicon.svg"):
        r = client.get(f"/screens/static/{asset}")
        assert r.status_code == 200, asset
        text = r.get_data(as_text=True)
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), f"{asset} refers outside the hall"


def test_page_data_carries_no_secrets(client: Any) -> None:
    data = _page_data(client.get("/kiosk").get_data(as_text=True))
    text = json.dumps(data, ensure_ascii=False)
    assert "pbkdf2" not in text and "pin" not in text
    assert {s["id"] for s in data["staff"]} == {"1001", "1002", "1003", "1004"}   # clerks only
    assert data["timezone"] == "Asia/Shanghai"


def test_idle_setting_is_clamped(client: Any) -> None:
    assert _page_data(client.get("/kiosk?idle=5").get_data(as_text=True))["settings"]["idle"] == 5
    assert _page_data(client.get("/kiosk?idle=0").get_data(as_text=True))["settings"]["idle"] == 2
    assert _page_data(client.get("/kiosk?idle=abc").get_data(as_text=True))["settings"]["idle"] == 90


def test_qr_svg(client: Any) -> None:
    r = client.get("/screens/qr.svg?text=http://hall.local/r/1-abc")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    assert b"<svg" in r.data
    assert client.get("/screens/qr.svg").status_code == 400
    assert client.get("/screens/qr.svg?text=" + "x" * 601).status_code == 400


def test_pages_need_no_login_and_clerk_actions_still_do(client: Any) -> None:
    assert client.get("/clerk").status_code == 200
    assert client.post("/api/windows/1/call").status_code == 401
    login(client, "1001", "123456", 1)
    assert client.get("/clerk").status_code == 200
