"""Camera routes against the MJPEG camera emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hall.config.schema import Device, HallConfig
from hall.queue.clock import FixedClock
from hall.services import Services, build_services

from tests.conftest import app_client, running_hall


@pytest.fixture
def hall(tmp_path: Path, config: HallConfig, clock: FixedClock) -> Iterator[Services]:
    cam = Device(name="camera", kind="camera", url="emulator://",
                 options={"emulator_width": 1280, "emulator_height": 720, "idle_timeout": 2})
    yield from running_hall(config.model_copy(update={"devices": [cam]}), tmp_path, clock)


@pytest.fixture
def api(hall: Services) -> Any:
    return app_client(hall)


def test_scan_reads_the_qr_under_the_camera(hall: Services, api: Any) -> None:
    hall.devices.emulators["camera"].fault("payload YY-482913")  # an appointment code on the page
    r = api.post("/api/camera/scan", json={"symbologies": ["qr"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["text"] == "YY-482913"


def test_capture_saves_the_page_and_gives_a_pickup_code(hall: Services, api: Any) -> None:
    r = api.post("/api/camera/capture", json={})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["code"] in body["message"] and body["page_found"] is True
    page = hall.data_dir / body["files"]["pages"][0]
    assert page.exists() and page.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    # filed under the hall's date (the fixed clock: 2026-11-25 in Asia/Shanghai), not the PC's
    assert page.relative_to(hall.data_dir).parts[:2] == ("scans", hall.clock.now().date().isoformat())


def test_blurred_page_is_refused_with_a_reason(hall: Services, api: Any) -> None:
    hall.devices.emulators["camera"].fault("blur")
    r = api.post("/api/camera/capture", json={})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "blurry"


def test_unplugged_camera_answers_503(hall: Services, api: Any) -> None:
    hall.devices.emulators["camera"].fault("unplug")
    r = api.post("/api/camera/scan", json={})
    assert r.status_code == 503 and "高拍仪" in r.get_json()["error"]["message"]


def test_no_camera_configured(tmp_path: Path, config: HallConfig, clock: FixedClock) -> None:
    from hall.web.app import create_app

    svc = build_services(config.model_copy(update={"devices": []}), tmp_path, clock=clock)
    r = create_app(svc, {"TESTING": True}).test_client().post("/api/camera/scan", json={})
    svc.stop()
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "no_camera"
