"""The manager's and technician's page shells: served to anyone, holding no data and nothing from outside."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests import records_support
from tests.conftest import page_data as _page_data

STATIC = Path(__file__).resolve().parents[1] / "screens" / "static"
OWN_ASSETS = ["js/staff.js", "js/charts.js", "js/manager.js", "js/manager_admin.js", "js/manager_report.js",
              "js/tech.js", "js/tech_pairing.js", "i18n/manager.js", "i18n/tech.js", "css/staff.css", "css/manager.css",
              "css/tech.css", "css/report.css", "js/manager_report_pauses.js", "i18n/manager_pauses.js"]


# the pages need no devices: the conftest client on a service without device workers (fast)
services = records_support.services


@pytest.mark.parametrize("path,screen", [("/manager", "manager"), ("/tech", "tech"),
                                         ("/manager/report", "manager_report")])
def test_staff_pages_are_served_without_data(client: Any, path: str, screen: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert f'data-screen="{screen}"' in html and f"/screens/static/js/{screen}.js" in html
    data = _page_data(html)
    text = json.dumps(data, ensure_ascii=False)
    assert "pbkdf2" not in text and "9001" not in text and "9101" not in text   # clerks only, no secrets
    assert "today" not in data and "snapshot" not in data


def test_report_month_is_checked(client: Any) -> None:
    def month(query: str) -> Any:
        return _page_data(client.get(f"/manager/report{query}").get_data(as_text=True))["settings"]["month"]

    assert month("?month=2026-11") == "2026-11"
    assert month("?month=2026-13") is None and month("?month=x") is None and month("") is None


@pytest.mark.parametrize("asset", OWN_ASSETS)
def test_staff_assets_are_local(client: Any, asset: str) -> None:
    r = client.get(f"/screens/static/{asset}")
    assert r.status_code == 200, asset
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", r.get_data(as_text=True)), asset


def test_staff_scripts_hold_no_chinese_words() -> None:
    """Words live in i18n/<screen>.js; the scripts only compare with the server's own state names."""
    allowed = {"待整改", "已回复", "已核实", "已关闭", "已处理", "投诉"}
    for name in ("staff.js", "charts.js", "manager.js", "manager_admin.js", "manager_report.js", "tech.js",
                 "manager_report_pauses.js", "clerk_queue_tools.js", "tech_pairing.js", "tech_panel.js",
                 "tech_devices.js", "tech_emulators.js", "tech_led_matrix.js", "tech_relay.js", "tech_config.js",
                 "tech_logs.js", "manager_admin_kit.js", "manager_attendance.js", "manager_roster.js",
                 "manager_notices.js", "manager_rectify.js", "manager_appointments.js", "manager_cases.js"):
        code = "\n".join(line for line in (STATIC / "js" / name).read_text("utf-8").splitlines()
                         if not line.lstrip().startswith(("//", "*", "/*")))
        words = set(re.findall(r"[\u4e00-\u9fff]+", code)) - allowed
        assert not words, (name, words)
